"""Root conftest: loads the conformance plugin and the step definitions.

`pytest` alone runs the conformance suite (testpaths = steps) against the
embedded reference server, or against `--base-url` with `--profile`.
"""

pytest_plugins = [
    "ppconformance.plugin",
    "ppconformance.fuzzplugin",
    "steps.given_steps",
    "steps.when_steps",
    "steps.then_steps",
    "ppconformance.webhooks_plugin",
    "steps.webhook_steps",
]
