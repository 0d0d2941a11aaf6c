"""A run against a target: preflight and discovery, the journal and cleanup, outcome classes and exit codes,
and the scenario state (`World`) the steps share."""
