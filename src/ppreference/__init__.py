"""Embedded reference server for the Partner Program conformance suite.

An in-memory implementation of Capillary's Partner Program endpoints
(linkCustomer, customerPartnerProgramUpdate, deLinkCustomer) and the supporting
customer/auth endpoints, following `docs/reference-behaviour.md`. The conformance
suite never imports this package: it reaches the server only over HTTP
(`python -m ppreference --port N`).
"""

from .app import create_app
from .config import ConfigError, OrgConfig, PartnerProgram, load_orgs

__all__ = ["ConfigError", "OrgConfig", "PartnerProgram", "create_app", "load_orgs"]
