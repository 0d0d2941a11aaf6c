"""Unit tests of the embedded reference server (ppreference)."""
