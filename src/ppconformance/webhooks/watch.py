"""What the webhook Then steps do: derive the expected event from a recorded action, wait for it, judge it.

`EventWatch.expect(action, event)` builds an `webhooks.match.Expected` from what the action sent (customer,
program, partnerMembershipId, updateType) and answered (the request id header named by the profile).
`EventWatch.arrived(expected, action)` polls the sink every 50 ms until a candidate is there or the
profile's delivery deadline after the action's answer has passed, then judges it.

Proving an absence needs waiting, so it is done relative to a later event (`EventWatch.absent`): the
scenario first sends the rejected item, then a succeeding one for the same customer and program; once the
succeeding item's event has arrived, the suite listens for `quiet_period_seconds` more. An event for the
rejected item that has not arrived by then is taken as not sent: it would have had to be overtaken by
the later one and stay behind by more than the quiet period. This keeps the wait to one quiet period per
scenario (0.3 s with the embedded profile) instead of a full deadline.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from ppconformance.connection.profile import Profile
from ppconformance.contract.endpoints import ENDPOINTS
from ppconformance.judge.verdicts import Action
from ppconformance.webhooks.match import Expected, Finding, candidates, judge
from ppconformance.webhooks.sink import SinkReader

__all__ = ["EventWatch", "RecordedAction"]

RecordedAction = tuple[float, float, Action]
POLL_SECONDS = 0.05


def _header(headers: dict[str, str], name: str | None) -> str | None:
    if not name:
        return None
    return next((v for k, v in headers.items() if k.lower() == name.lower()), None)


class EventWatch:
    """The scenario's view of the sink. Arguments: the sink `reader`, the `profile`, the scenario's
    customer (`customer_id`, `identifiers`) and `types` (program name -> EXTERNAL/SUPPLEMENTARY)."""

    def __init__(
        self,
        reader: SinkReader,
        profile: Profile,
        customer_id: int | None,
        identifiers: dict[str, str],
        types: dict[str, str],
    ) -> None:
        self.reader = reader
        self.profile = profile
        self.customer_id = customer_id
        self.identifiers = identifiers
        self.types = types
        self.latencies: list[float] = []
        #: the judged findings of the scenario's Then steps, by event name (a later step may build on them)
        self.found: dict[str, Finding] = {}

    def expect(self, recorded: RecordedAction, event: str) -> Expected:
        """The event `recorded` (its first item) must have caused."""
        started, _, action = recorded
        body = action.exchange.request_body if isinstance(action.exchange.request_body, dict) else {}
        item: dict[str, Any] = {}
        for ep in ENDPOINTS.values():
            entries = ep.request_entries(body)
            if entries:
                item = (entries[0][1] or [{}])[0]
        program = str(item.get("partnerProgramName", ""))
        reference = item.get("customerPartnerReference") or {}
        return Expected(
            event=event,
            customer_id=self.customer_id,
            identifiers=self.identifiers,
            program_name=program,
            program_type=self.types.get(program),
            membership_number=reference.get("partnerMembershipId"),
            update_type=item.get("updateType"),
            request_id=_header(action.exchange.response_headers, self.profile.webhooks.request_id_header),
            not_before=started,
        )

    def arrived(self, expected: Expected, recorded: RecordedAction) -> Finding:
        """Wait (up to the deadline after the action's answer) for a candidate, then judge it."""
        deadline = recorded[1] + self.profile.webhooks.delivery_deadline_seconds
        while True:
            seen = self.reader.poll()
            if candidates(expected, seen) or time.time() >= deadline:
                break
            time.sleep(POLL_SECONDS)
        finding = judge(expected, seen, strict=self.profile.strict)
        if finding.delivery is not None:
            self.latencies.append(finding.delivery.arrival - recorded[1])
        return finding

    def absent(self, rejected: Expected, later: Finding) -> list[str]:
        """Problems when an event for the `rejected` item arrived by `quiet_period_seconds` after the `later`
        event of the same customer and program (see the module docstring)."""
        assert later.delivery is not None
        time.sleep(max(0.0, later.delivery.arrival + self.profile.webhooks.quiet_period_seconds - time.time()))
        seen = self.reader.poll()
        problems = []
        for delivery, facts in candidates(replace(rejected, membership_number=None), seen):
            if delivery.seq == later.delivery.seq:
                continue
            membership = facts.details.get("membershipNumber")
            if rejected.membership_number is None or membership in (None, rejected.membership_number):
                problems.append(
                    f"delivery #{delivery.seq} is a {facts.name} for the rejected item "
                    f"(membershipNumber {membership!r}, program {facts.program_name!r})"
                )
        return problems
