"""Partner Program conformance suite: the client, profile, catalogue, schemas and verdicts.

Dependency direction: features → steps → ppconformance → HTTP → target.
The reference server (`ppreference`) stands apart and is reached only over HTTP.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
