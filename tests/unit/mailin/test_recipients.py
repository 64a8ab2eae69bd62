from services.mailin.recipients import IngestUser, RecentIngestUsers, judge, split_address
from services.mailin.smtp.handler import ConnectionCounter, is_trusted

DOMAIN = "in.crm.test"
CLAIRE = IngestUser(org_id="org-pomme", user_id="claire", active=True)


def test_an_address_is_read_without_case():
    assert split_address("UClaire@IN.CRM.Test.") == ("uclaire", "in.crm.test")
    assert split_address("postmaster") == ("postmaster", "")


def test_a_known_active_address_is_accepted_for_its_user():
    verdict = judge("uclaire@in.crm.test", DOMAIN, CLAIRE)
    assert verdict.reply.startswith("250") and verdict.user == CLAIRE


def test_an_unknown_or_deactivated_address_is_550_5_1_1():
    assert judge("nobody@in.crm.test", DOMAIN, None).reply.startswith("550 5.1.1")
    gone = IngestUser(org_id="org-pomme", user_id="bruno", active=False)
    assert judge("ubruno@in.crm.test", DOMAIN, gone).reply.startswith("550 5.1.1")


def test_another_domain_is_never_relayed():
    assert judge("claire@pomme-siege-central.fr", DOMAIN, CLAIRE).reply.startswith("550 5.7.1")
    assert judge("claire", DOMAIN, None).reply.startswith("550 5.7.1")


def test_only_trusted_networks_deliver_without_authentication():
    import ipaddress

    office = [ipaddress.ip_network("192.168.0.0/16"), ipaddress.ip_network("::1/128")]
    assert is_trusted(("192.168.1.20", 50000), office)
    assert is_trusted(("::ffff:192.168.1.20", 50000, 0, 0), office)
    assert is_trusted(("::1", 50000, 0, 0), office)
    assert not is_trusted(("203.0.113.9", 50000), office)
    assert not is_trusted("not an address", office)


def test_one_client_cannot_take_every_connection():
    counter = ConnectionCounter(limit=2)
    assert counter.take("10.0.0.5") and counter.take("10.0.0.5")
    assert not counter.take("10.0.0.5")
    assert counter.take("10.0.0.6")
    counter.give_back("10.0.0.5")
    assert counter.take("10.0.0.5")


def test_a_found_address_is_kept_for_a_second_only():
    now = [100.0]
    recent = RecentIngestUsers(seconds=1.0, clock=lambda: now[0])
    assert recent.get("uclaire") is None
    recent.keep("uclaire", CLAIRE)
    now[0] += 0.9
    assert recent.get("uclaire") == CLAIRE
    now[0] += 0.1
    assert recent.get("uclaire") is None  # looked up again: a rotation shows within the second


def test_a_full_table_of_found_addresses_drops_the_expired_ones_first():
    now = [0.0]
    recent = RecentIngestUsers(seconds=1.0, limit=2, clock=lambda: now[0])
    recent.keep("uold", CLAIRE)
    now[0] = 5.0
    recent.keep("uclaire", CLAIRE)
    recent.keep("ubruno", CLAIRE)
    assert recent.get("uold") is None and recent.get("uclaire") == CLAIRE
    assert recent.get("ubruno") == CLAIRE
