"""Binds every feature file under features/ to pytest (one test per scenario/example)."""

from pytest_bdd import scenarios

scenarios(".")
