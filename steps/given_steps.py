"""Given steps: establish state on the target. They assert nothing; a setup the
target refuses raises `PreconditionFailed` with the exchange."""

from __future__ import annotations

from pytest_bdd import given, parsers

from ppconformance.run.scenario import World

__all__ = ["queue_relink"]


def _linked_external(world: World, count: int, position: str | None) -> None:
    """`count` customers linked to the external program only, at its lowest or highest tier (None: any tier; a
    new link is at the middle one), each with a tier expiry and membership id of its own: the first reused, new
    ones linked 50 to a request."""
    program = world.program("external", tiers=2)
    tier = None if position is None else program.tiers[0] if position == "lowest" else program.tiers[-1]
    fresh = [world.register_customer() for _ in range(count - len(world.reuse(count, {program.name: tier})))]
    for start in range(0, len(fresh), 50):
        batch = fresh[start : start + 50]
        items = [[world.link_item(program, partnerTierName=tier or world.bodies.middle_tier(program))] for _ in batch]
        world.establish(world.link(batch, each=items), f"customers linked to {program.name} at {tier or 'a tier'}")


def _linked_supplementary(world: World) -> None:
    """A customer linked to the supplementary program only, since today, with no relink pending."""
    program = world.program("supplementary", period=True)
    if world.reuse(1, {program.name: None}):
        return
    world.register_customer()
    world.establish(world.link([world.customer], [world.link_item(program)]), f"a customer linked to {program.name}")


def queue_relink(world: World) -> None:
    """Link the scenario's customer to the supplementary program again, starting after its membership ends, at
    another tier and tier expiry than the current membership's (`World.relink_item`)."""
    program = world.program("supplementary", period=True)
    start = world.in_days(world.membership_period("supplementary").approx_days() + 5)
    world.establish(
        world.link([world.customer], [world.relink_item(program, start)]),
        f"a relink to {program.name} queued for {start}",
    )


@given(parsers.re(r"an org where membership relinking is (?P<state>enabled|disabled)"))
def _(world: World, state: str) -> None:
    world.use_org(relinking=state == "enabled")


@given("an org whose credentials are a till and password")
def _(world: World) -> None:
    world.use_org_with_auth("basic")


@given("an org whose credentials are an OAuth key and secret")
def _(world: World) -> None:
    world.use_org_with_auth("oauth")


@given("a customer enrolled in the loyalty program")
def _(world: World) -> None:
    world.register_customer()


@given("a customer not enrolled in the loyalty program")
def _(world: World) -> None:
    world.register_customer(enrolled=False)


@given("a customer who is not registered")
def _(world: World) -> None:
    world.customers.append(world.make_identity())


@given(parsers.parse("{count:d} customers who are not registered"))
def _(world: World, count: int) -> None:
    world.customers += [world.make_identity() for _ in range(count)]


@given(parsers.parse("{count:d} customers enrolled in the loyalty program"))
def _(world: World, count: int) -> None:
    for _ in range(count):
        world.register_customer()


@given("a customer linked to the external program")
def _(world: World) -> None:
    _linked_external(world, 1, None)


@given(parsers.re(r"a customer linked to the external program at its (?P<position>lowest|highest) tier"))
def _(world: World, position: str) -> None:
    _linked_external(world, 1, position)


@given(parsers.parse("{count:d} customers linked to the external program at its lowest tier"))
def _(world: World, count: int) -> None:
    _linked_external(world, count, "lowest")


@given(parsers.parse("a customer linked to the external program at its lowest tier until {days:d} days from today"))
def _(world: World, days: int) -> None:
    world.register_customer()
    program = world.program("external", tiers=2)
    item = world.link_item(program, partnerTierName=program.tiers[0], partnerTierExpiryDate=world.in_days(days))
    world.establish(world.link([world.customer], [item]), f"a link to {program.name} until {days} days from today")


@given("a customer linked to the external and the supplementary program")
def _(world: World) -> None:
    external, supplementary = world.program("external", tiers=2), world.program("supplementary", period=True)
    if world.reuse(1, {external.name: None, supplementary.name: None}):
        return
    world.register_customer()
    items = [world.link_item(external), world.link_item(supplementary)]
    world.establish(
        world.link([world.customer], items), f"a customer linked to {external.name} and {supplementary.name}"
    )


@given("the customer was delinked from the supplementary program")
def _(world: World) -> None:
    program = world.program("supplementary")
    world.establish(world.delink([world.customer], [program.name]), f"the customer delinked from {program.name}")


@given("a customer linked to the supplementary program")
def _(world: World) -> None:
    _linked_supplementary(world)


@given("a customer with a pending relink to the supplementary program")
def _(world: World) -> None:
    _linked_supplementary(world)
    queue_relink(world)


@given("the customer's pending relink to the supplementary program was cancelled")
def _(world: World) -> None:
    program = world.program("supplementary")
    world.establish(
        world.update(
            [world.customer], [{"partnerProgramName": program.name, "updateType": "MEMBERSHIP_RELINKING_CANCELLED"}]
        ),
        "the pending relink cancelled",
    )


@given("the customer's linked programs list the external program")
def _(world: World) -> None:
    world.establish_listed(world.customer, world.program("external").name)


@given("the customer was delinked from the external program")
def _(world: World) -> None:
    program = world.program("external")
    world.establish(world.delink([world.customer], [program.name]), f"the customer delinked from {program.name}")
