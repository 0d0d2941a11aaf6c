"""Root conftest of the conformance suite: its fixtures and the step definitions of its scenarios.

`pytest` here runs the suite (testpaths = steps; `pp_conformance = true` in pyproject.toml) against the
embedded reference server, or against `--base-url` with `--profile`; `pp-conformance` runs the same suite
from anywhere (an installed wheel carries this file). The plugins of the package's `pytest11` entry points
(options, run set-up, end of run, fuzz stage, webhooks) are loaded before this file, and stay inert in
runs of `tests/` and of other projects (`ppconformance.plugin.runcontext.runs_scenarios`).
"""

pytest_plugins = [
    "ppconformance.plugin.fixtures",
    "steps.given_steps",
    "steps.when_steps",
    "steps.then_steps",
    "steps.webhook_steps",
]
