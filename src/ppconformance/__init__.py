"""Partner Program conformance suite.

Layers, lowest first (docs/architecture.md; `lint-imports` enforces them): `contract` (what the documents
say), `target` (the HTTP client and the profile), `judge` (verdicts), `run` (preflight, journal, cleanup,
scenario state); `fuzz` and `webhooks` beside `run`; the pytest layer (`plugin`, `fuzz.plugin`,
`webhooks.plugin`) on top. The reference server (`ppreference`) stands apart and is reached only over HTTP.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
