"""Verdicts: a recorded exchange judged against a catalogue requirement under the run's stances."""
