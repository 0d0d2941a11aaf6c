"""Request bodies and items of the scenarios, built from the profile (no I/O).

The body of each endpoint is made by `contract.endpoints.Endpoint.request_body`; this module makes what goes
into it: the `customer` object identifying a test customer (under AMB-EMPTY-IDENTIFIERS and
AMB-DELINK-MOBILE-TYPE) and the program items (link-customer#body-parameters, delink-customer#request-body-
parameters).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import pytest

from ppconformance.connection.profile import Profile, ProgramProfile
from ppconformance.contract.endpoints import DELINK, PROGRAM_NAME_KEY, Endpoint
from ppconformance.contract.stances import AmbiguityId
from ppconformance.run.provision import Customer

__all__ = ["Bodies"]


@dataclass(frozen=True)
class Bodies:
    """The body builders of one run: `profile` (stances, name), `run_id` (part of every membership id)."""

    profile: Profile
    run_id: str

    def customer_obj(self, customer: Customer, by: str, ep: Endpoint) -> dict[str, Any]:
        """The `customer` object identifying `customer` by `by` (id, mobile, email, externalId) in a request to
        `endpoint`; strict AMB-EMPTY-IDENTIFIERS adds the other identifiers empty, strict AMB-DELINK-MOBILE-TYPE
        sends a delink's mobile as a number. Skips, naming the pool entry, when a pool customer lacks `by`."""
        obj = customer.identifiers(by)
        if obj[by] in ("", None) and customer.id is not None:
            pytest.skip(
                f"profile {self.profile.name}: the pool customer {customer.mobile or customer.email} has no "
                f"{by} (add it to its orgs[].customer_pool entry)"
            )
        if self.profile.is_strict(AmbiguityId.EMPTY_IDENTIFIERS):
            obj = {"mobile": "", "email": "", "externalId": "", **obj}
        if ep is DELINK and by == "mobile" and self.profile.is_strict(AmbiguityId.DELINK_MOBILE_TYPE):
            obj["mobile"] = int(customer.mobile)
        return obj

    @staticmethod
    def middle_tier(program: ProgramProfile) -> str | None:
        """The tier a link names unless its scenario says which: not the lowest where the program has two or more
        (so a target that stores the lowest tier whatever partnerTierName says shows), the middle one of three or
        more (so does one that stores the highest); None for a program without tiers."""
        return program.tiers[len(program.tiers) // 2] if program.tiers else None

    def link_item(self, program: ProgramProfile, **reference: Any) -> dict[str, Any]:
        """A linkToPartnerPrograms item for `program` with a fresh membership id, the middle tier (`middle_tier`,
        when the program has tiers) and the given customerPartnerReference fields (None removes a field)."""
        ref: dict[str, Any] = {"partnerMembershipId": f"M-{self.run_id}-{secrets.token_hex(3)}"}
        if program.tiers:
            ref["partnerTierName"] = self.middle_tier(program)
        ref.update(reference)
        return {
            PROGRAM_NAME_KEY: program.name,
            "customerPartnerReference": {k: v for k, v in ref.items() if v is not None},
        }

    @staticmethod
    def delink_items(names: list[str]) -> list[dict[str, Any]]:
        """The `deLinkFromPartnerPrograms` items naming `names`."""
        return [{PROGRAM_NAME_KEY: n} for n in names]
