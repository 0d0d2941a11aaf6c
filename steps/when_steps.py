"""When steps: one business action each, sent through the suite's client."""

from __future__ import annotations

from typing import Any

from pytest_bdd import parsers, when

from ppconformance.connection.client import basic_auth_header
from ppconformance.contract.endpoints import LINK, Endpoint
from ppconformance.contract.endpoints import endpoint as endpoint_of
from ppconformance.run.scenario import World

UNKNOWN_PROGRAM = "No-Such-Partner-Program-For-Conformance"
UNKNOWN_TIER = "No-Such-Tier-For-Conformance"


def _link(world: World, role: str, **reference: Any) -> None:
    program = world.program(role)
    world.link([world.customer], [world.link_item(program, **reference)])


def _upgrade_item(world: World, **details: Any) -> dict[str, Any]:
    program = world.program("external", tiers=2)
    return {
        "partnerProgramName": program.name,
        "updateType": "UPGRADE",
        "updateDetails": {"updatedTierName": program.tiers[-1], **details},
    }


# -- linkCustomer ----------------------------------------------------------------------
@when("the customer is linked to the external program")
def _(world: World) -> None:
    _link(world, "external")


@when(
    parsers.re(
        r"the customer is linked to the external program with a tier expiry date of "
        r"(?P<day>today|yesterday)"
    )
)
def _(world: World, day: str) -> None:
    _link(world, "external", partnerTierExpiryDate=world.day(day))


@when(
    parsers.re(
        r"the customer is linked to the supplementary program with a membership start date of "
        r"(?P<day>today|yesterday)"
    )
)
def _(world: World, day: str) -> None:
    _link(world, "supplementary", membershipStartDate=world.day(day))


@when(
    parsers.re(
        r"the customer is linked to the supplementary program with a membership start date "
        r"(?P<when>after|before) the current membership ends"
    )
)
def _(world: World, when: str) -> None:
    period = world.membership_period("supplementary")
    days = period.approx_days() + 5 if when == "after" else 1
    program = world.program("supplementary")
    world.link([world.customer], [world.relink_item(program, world.in_days(days))])


@when("the customer is linked to the supplementary program with a tier expiry before its membership ends")
def _(world: World) -> None:
    world.program("supplementary", period=True)
    _link(world, "supplementary", partnerTierExpiryDate=world.in_days(1))


@when("the customer is linked to a program with an empty name")
def _(world: World) -> None:
    item = world.link_item(world.program("external"))
    world.link([world.customer], [{**item, "partnerProgramName": ""}])


@when(parsers.parse("the customer is upgraded to the external program's highest tier until {days:d} days from today"))
def _(world: World, days: int) -> None:
    world.update([world.customer], [_upgrade_item(world, updatedTierExpiryDate=world.in_days(days))])


@when("the customer is linked to a program item that names no program")
def _(world: World) -> None:
    item = world.link_item(world.program("external"))
    del item["partnerProgramName"]  # no key at all: "empty or null" (link-customer#error-codes 2002)
    world.link([world.customer], [item])


@when("the customer is linked to the external program without a tier or a tier expiry")
def _(world: World) -> None:
    _link(world, "external", partnerTierName=None, partnerTierExpiryDate=None)


@when("the customer is linked to the external program without a membership id")
def _(world: World) -> None:
    _link(world, "external", partnerMembershipId=None)


@when("the customer is linked to a program the org does not have")
def _(world: World) -> None:
    item = world.link_item(world.program("external"), partnerTierName=None)
    world.link([world.customer], [{**item, "partnerProgramName": UNKNOWN_PROGRAM}])


@when("the customer is linked to the external program at a tier it does not have")
def _(world: World) -> None:
    _link(world, "external", partnerTierName=UNKNOWN_TIER)


@when("the customer is linked to the second supplementary program")
def _(world: World) -> None:
    _link(world, "second_supplementary")


@when("the customers are linked to the external program in one request")
def _(world: World) -> None:
    world.link(world.customers, [world.link_item(world.program("external"))])


@when("the customers are linked to the external and the supplementary program in one request")
def _(world: World) -> None:
    """Each customer at tiers and tier expiries of its own (neighbours differ), so a link applied to another
    customer of the request shows; the external tier below the highest, so an upgrade can follow."""
    external, supplementary = world.program("external"), world.program("supplementary")
    below = external.tiers[:-1] or external.tiers
    each = [
        [
            world.link_item(external, partnerTierName=below[i % len(below)] if below else None),
            world.link_item(supplementary, partnerTierName=supplementary.tiers[i % len(supplementary.tiers)])
            if supplementary.tiers
            else world.link_item(supplementary),
        ]
        for i in range(len(world.customers))
    ]
    world.link(world.customers, each=each)


@when(
    "the customer is linked in one request to the supplementary program and to the external program at a tier it "
    "does not have"
)
def _(world: World) -> None:
    items = [
        world.link_item(world.program("supplementary", period=True)),
        world.link_item(world.program("external"), partnerTierName=UNKNOWN_TIER),
    ]
    world.link([world.customer], items)


@when(parsers.parse("the customer, identified only by {identifier}, is linked to the external program"))
def _(world: World, identifier: str) -> None:
    world.link([world.customer], [world.link_item(world.program("external"))], by=identifier)


@when("a customer given by no identifier is linked to the external program")
def _(world: World) -> None:
    world.link([], [world.link_item(world.program("external"))], customer_objs=[{}])


@when(
    parsers.re(
        r"the customer is linked to the external program "
        r"(?P<credentials>without credentials|with a wrong password|with a forged OAuth token)"
    )
)
def _(world: World, credentials: str) -> None:
    body = LINK.request_body([(world.customer.identifiers(), [world.link_item(world.program("external"))])])
    client = world.client
    if credentials == "without credentials":
        world.last_exchange = client.link(body, auth=False)
    elif credentials == "with a wrong password":
        header = basic_auth_header(client.org.auth.till or "conformance", "wrong-password")
        world.last_exchange = client.link(body, auth=False, headers={"Authorization": header})
    else:
        world.last_exchange = client.link(
            body, auth=False, headers={client.org.auth.token_header: "forged.oauth.token"}
        )


# -- customerPartnerProgramUpdate ---------------------------------------------------------
@when("the customer is upgraded to the external program's highest tier")
def _(world: World) -> None:
    world.update([world.customer], [_upgrade_item(world)])


@when(
    parsers.parse("the customer, identified only by {identifier}, is upgraded to the external program's highest tier")
)
def _(world: World, identifier: str) -> None:
    world.update([world.customer], [_upgrade_item(world)], by=identifier)


@when("the customers are upgraded to the external program's highest tier in one request")
def _(world: World) -> None:
    world.update(world.customers, [_upgrade_item(world)])


@when("the customers are upgraded in the external program in one request, each to the tier above its own")
def _(world: World) -> None:
    """Each customer to the tier above the one the model holds for it, until a tier expiry of its own: a customer's
    update applied to its neighbour shows."""
    program = world.program("external", tiers=2)
    each = []
    for customer in world.customers:
        state = world.expected.model.state(customer.id) if customer.id is not None else None
        current = state.programs[program.name].tier.value if state and program.name in state.programs else None
        above = program.tiers.index(current) + 1 if current in program.tiers else len(program.tiers) - 1
        tier = program.tiers[min(above, len(program.tiers) - 1)]
        details = {"updatedTierName": tier, "updatedTierExpiryDate": world.distinct_expiry(program)}
        each.append([{"partnerProgramName": program.name, "updateType": "UPGRADE", "updateDetails": details}])
    world.update(world.customers, each=each)


@when(
    "the customer is upgraded in one request to the external program's highest tier and in the supplementary "
    "program to a tier it does not have"
)
def _(world: World) -> None:
    supplementary = world.program("supplementary")
    unknown: dict[str, Any] = {"partnerProgramName": supplementary.name, "updateType": "UPGRADE"}
    unknown["updateDetails"] = {"updatedTierName": UNKNOWN_TIER}
    world.update([world.customer], [_upgrade_item(world), unknown])


@when("the customer is downgraded to the external program's lowest tier")
def _(world: World) -> None:
    program = world.program("external", tiers=2)
    world.update(
        [world.customer],
        [
            {
                "partnerProgramName": program.name,
                "updateType": "DOWNGRADE",
                "updateDetails": {"updatedTierName": program.tiers[0]},
            }
        ],
    )


@when("the customer's highest tier in the external program is renewed")
def _(world: World) -> None:
    program = world.program("external", tiers=2)
    world.update(
        [world.customer],
        [
            {
                "partnerProgramName": program.name,
                "updateType": "RENEW",
                "updateDetails": {"updatedTierName": program.tiers[-1], "updatedTierExpiryDate": world.in_days(400)},
            }
        ],
    )


@when(parsers.re(r"the customer is upgraded with a tier expiry date of (?P<day>today|yesterday)"))
def _(world: World, day: str) -> None:
    world.update([world.customer], [_upgrade_item(world, updatedTierExpiryDate=world.day(day))])


@when(
    parsers.re(
        r"the customer is upgraded without (?P<missing>update details|an updated tier name|"
        r"a program name|any program name)"
    )
)
def _(world: World, missing: str) -> None:
    item = _upgrade_item(world)
    if missing == "update details":
        del item["updateDetails"]
    elif missing == "an updated tier name":
        item["updateDetails"]["updatedTierName"] = ""
    elif missing == "any program name":
        del item["partnerProgramName"]  # no key at all: "empty or null" (update-partner-program#error-codes)
    else:
        item["partnerProgramName"] = ""
    world.update([world.customer], [item])


@when("the customer is upgraded in a program the org does not have")
def _(world: World) -> None:
    world.update([world.customer], [{**_upgrade_item(world), "partnerProgramName": UNKNOWN_PROGRAM}])


@when("the customer is upgraded to a tier the external program does not have")
def _(world: World) -> None:
    item = _upgrade_item(world)
    item["updateDetails"]["updatedTierName"] = UNKNOWN_TIER
    world.update([world.customer], [item])


@when(parsers.parse('the customer\'s external program is updated with update type "{update_type}"'))
def _(world: World, update_type: str) -> None:
    world.update([world.customer], [{**_upgrade_item(world), "updateType": update_type}])


@when("the customer's pending relink to the supplementary program is cancelled")
def _(world: World) -> None:
    program = world.program("supplementary")
    world.update(
        [world.customer], [{"partnerProgramName": program.name, "updateType": "MEMBERSHIP_RELINKING_CANCELLED"}]
    )


@when("a membership renewal is initiated for the customer in the supplementary program")
def _(world: World) -> None:
    program = world.program("supplementary", tiers=1)
    world.update(
        [world.customer],
        [
            {
                "partnerProgramName": program.name,
                "updateType": "MEMBERSHIP_RENEWAL_INITIATION",
                "updateDetails": {"updatedTierName": program.tiers[0]},
            }
        ],
    )


# -- deLinkCustomer --------------------------------------------------------------------------
@when("the customer is delinked from the external program")
def _(world: World) -> None:
    world.delink([world.customer], [world.program("external").name])


@when("the customer is delinked from a program the org does not have")
def _(world: World) -> None:
    world.delink([world.customer], [UNKNOWN_PROGRAM])


@when(parsers.re(r"the customers are delinked from the (?P<role>external|supplementary) program in one request"))
def _(world: World, role: str) -> None:
    world.delink(world.customers, [world.program(role).name])


@when("the customers are delinked in one request, each from one of its two programs")
def _(world: World) -> None:
    """Every third customer (the third, the sixth, ...) from the external program, the others from the supplementary
    one: neighbours differ, so a delink applied to another customer of the request shows, and the first and the last
    customer keep the external program, so an upgrade left out at either end of the batch shows too."""
    names = [world.program("supplementary").name, world.program("external").name]
    world.delink(world.customers, each=[[names[i % 3 == 2]] for i in range(len(world.customers))])


@when("the customer is delinked in one request from the external program and from a program the org does not have")
def _(world: World) -> None:
    world.delink([world.customer], [world.program("external").name, UNKNOWN_PROGRAM])


# -- malformed requests ------------------------------------------------------------------------
@when(
    parsers.re(
        r"a (?P<malformation>body that is not JSON|body without its customer list|customer list of "
        r"the wrong type|body that is a JSON array|body of non-UTF-8 bytes) is sent to "
        r"(?P<endpoint>linkCustomer|customerPartnerProgramUpdate|deLinkCustomer)"
    ),
    converters={"endpoint": endpoint_of},
)
def _(world: World, malformation: str, endpoint: Endpoint) -> None:
    key = endpoint.request_key
    content: bytes = {
        "body that is not JSON": b'{"' + key.encode() + b'": [',
        "body without its customer list": b'{"unexpected": []}',
        "customer list of the wrong type": b'{"' + key.encode() + b'": "not-a-list"}',
        "body that is a JSON array": b"[]",
        "body of non-UTF-8 bytes": b'\xff\xfe{"' + key.encode() + b'": []}',
    }[malformation]
    world.last_exchange = world.client.send("POST", world.profile.paths[endpoint.name], content=content, harmless=True)


# -- tenant isolation: the profile's other org ---------------------------------------------------
@when(
    parsers.re(
        r"another org (?P<what>links the customer to its external program|upgrades the customer to its external "
        r"program's highest tier|delinks the customer from its external program)"
    )
)
def _(world: World, what: str) -> None:
    customer = world.customer
    with world.in_org(world.other_org()):
        if what.startswith("links"):
            world.link([customer], [world.link_item(world.program("external"))])
        elif what.startswith("upgrades"):
            world.update([customer], [_upgrade_item(world)])
        else:
            world.delink([customer], [world.program("external").name])


@when("another org looks the customer up and reads its loyalty details")
def _(world: World) -> None:
    customer = world.customer
    with world.in_org(world.other_org()):
        world.read_elsewhere(customer)
