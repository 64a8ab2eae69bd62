"""The suppression list: hard bounces and complaints keep an address out until an admin lifts it."""

from __future__ import annotations

import pytest

from crm.errors import AdminOnly
from emulations.outcomes import BOUNCE_DOMAIN
from services.messaging.exceptions import AddressSuppressed, SuppressionNotFound
from tests.people import ALICE, BOB

from .email_steps import T0, event, send, set_up


def test_a_hard_bounce_suppresses_the_address_until_an_admin_lifts_it(messaging):
    set_up(messaging)
    sent = send(messaging, to=f"inconnu@{BOUNCE_DOMAIN}")
    bounce = event(sent, "bounced", T0, bounce_kind="hard", reason="550 5.1.1 user unknown")
    messaging.system().record_provider_events([bounce])
    messaging.apply_events()
    with pytest.raises(AddressSuppressed, match="bounced hard"):
        send(messaging, to=f"INCONNU@{BOUNCE_DOMAIN}")
    [suppressed] = messaging.as_user(BOB).list_suppressions()
    assert (suppressed["email"], suppressed["message_id"]) == (f"inconnu@{BOUNCE_DOMAIN}", sent["id"])
    with pytest.raises(AdminOnly):
        messaging.as_user(BOB).lift_suppression(f"inconnu@{BOUNCE_DOMAIN}")
    messaging.as_user(ALICE).lift_suppression(f"inconnu@{BOUNCE_DOMAIN}")
    assert send(messaging, to=f"inconnu@{BOUNCE_DOMAIN}")["status"] == "queued"
    with pytest.raises(SuppressionNotFound):
        messaging.as_user(ALICE).lift_suppression(f"inconnu@{BOUNCE_DOMAIN}")


def test_a_soft_bounce_does_not_suppress(messaging):
    set_up(messaging)
    sent = send(messaging)
    messaging.system().record_provider_events([event(sent, "bounced", T0, bounce_kind="soft")])
    messaging.apply_events()
    assert send(messaging)["status"] == "queued"


def test_a_complaint_suppresses_the_address(messaging):
    set_up(messaging)
    sent = send(messaging)
    messaging.system().record_provider_events([event(sent, "complained", T0)])
    messaging.apply_events()
    with pytest.raises(AddressSuppressed, match="complained"):
        send(messaging)
