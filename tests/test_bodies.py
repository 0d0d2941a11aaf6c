"""The body builders (`run.bodies.Bodies`, no I/O) and the provisioner's identities (`run.provision`)."""

from __future__ import annotations

import pytest

from ppconformance.connection.profile import DEFAULT_PROFILE, ProgramProfile, load_profile
from ppconformance.contract.endpoints import DELINK, LINK
from ppconformance.run.bodies import Bodies
from ppconformance.run.provision import Customer, Provisioner

ENV = {
    "PP_EMBEDDED_ENABLED_PASSWORD": "pw",
    "PP_EMBEDDED_DISABLED_OAUTH_KEY": "k",
    "PP_EMBEDDED_DISABLED_OAUTH_SECRET": "s",
}


def _bodies(*strict: str) -> Bodies:
    return Bodies(load_profile(DEFAULT_PROFILE, env=ENV, strict=list(strict)), "abc123")


def test_the_customer_object_follows_the_identification_stances():
    c = Customer(mobile="919900000001", email="a@b.invalid", external_id="x", id=7)
    assert _bodies().customer_obj(c, "mobile", DELINK) == {"mobile": "919900000001"}
    strict = _bodies("AMB-EMPTY-IDENTIFIERS", "AMB-DELINK-MOBILE-TYPE")
    assert strict.customer_obj(c, "mobile", DELINK) == {"mobile": 919900000001, "email": "", "externalId": ""}
    assert strict.customer_obj(c, "id", LINK) == {"mobile": "", "email": "", "externalId": "", "id": 7}


def test_a_pool_customer_without_the_identifier_asked_for_is_skipped_naming_its_entry():
    with pytest.raises(pytest.skip.Exception, match="customer_pool"):
        _bodies().customer_obj(Customer(mobile="9199", email="", external_id="", id=3), "email", LINK)


def test_link_items_carry_a_fresh_membership_id_of_the_run_and_a_tier_other_than_the_lowest():
    program = ProgramProfile("Ext", ("Bronze", "Silver"))
    one, two = (_bodies().link_item(program) for _ in range(2))
    ref = one["customerPartnerReference"]
    # not the lowest: a target that stores the lowest tier whatever partnerTierName says must show (issue 21)
    assert one["partnerProgramName"] == "Ext" and ref["partnerTierName"] == "Silver"
    three = ProgramProfile("Ext", ("Bronze", "Silver", "Gold"))
    assert _bodies().link_item(three)["customerPartnerReference"]["partnerTierName"] == "Silver"  # not the highest
    assert Bodies.middle_tier(ProgramProfile("One", ("Only",))) == "Only"
    assert Bodies.middle_tier(ProgramProfile("N")) is None
    assert ref["partnerMembershipId"].startswith("M-abc123-") and ref != two["customerPartnerReference"]
    assert "partnerTierName" not in _bodies().link_item(program, partnerTierName=None)["customerPartnerReference"]
    assert Bodies.delink_items(["A", "B"]) == [{"partnerProgramName": "A"}, {"partnerProgramName": "B"}]


def test_identities_are_unique_to_the_run_and_use_the_profiles_test_data():
    profile = load_profile(DEFAULT_PROFILE, env=ENV)
    provisioner = Provisioner(profile, "abc123")
    a, b = provisioner.make_identity(), provisioner.make_identity()
    assert a.mobile.startswith(profile.mobile_prefix) and len(a.mobile) == 12 and a.mobile != b.mobile
    assert a.email.endswith("@" + profile.email_domain) and "abc123" in a.email and a.id is None
