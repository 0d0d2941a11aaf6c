"""pytest-bdd step definitions of the conformance scenarios (features/)."""
