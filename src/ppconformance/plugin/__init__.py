"""The pytest layer: the conformance plugin (options, target, fixtures, allure), the run context handed to
xdist workers, and the command line (`pp-conformance`, options given with a space)."""
