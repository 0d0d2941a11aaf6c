"""Root conftest: the step definitions of the conformance scenarios.

`pytest` alone runs the conformance suite (testpaths = steps) against the
embedded reference server, or against `--base-url` with `--profile`. The
conformance plugins (`ppconformance.plugin.core`, `.fuzz.plugin`, `.webhooks.plugin`)
are registered through the package's `pytest11` entry points, so their options
are parsed before this file loads, and stay inert in runs of `tests/`.
"""

pytest_plugins = [
    "steps.given_steps",
    "steps.when_steps",
    "steps.then_steps",
    "steps.webhook_steps",
]
