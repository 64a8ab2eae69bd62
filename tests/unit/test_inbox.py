"""Idempotent consumption: each consumer applies an event once."""

from __future__ import annotations

import pytest

from crm.inbox import first_delivery

EVENT_ID = "01a20000-0000-7000-8000-000000000001"


def test_first_delivery_is_applied_and_a_redelivery_is_not(accounts_db):
    with accounts_db.transaction() as uow:
        assert first_delivery(uow.session, EVENT_ID, "notifier.participant_invited") is True

    with accounts_db.transaction() as uow:
        assert first_delivery(uow.session, EVENT_ID, "notifier.participant_invited") is False


def test_each_consumer_remembers_the_event_on_its_own(accounts_db):
    with accounts_db.transaction() as uow:
        first_delivery(uow.session, EVENT_ID, "notifier.participant_invited")

    with accounts_db.transaction() as uow:
        assert first_delivery(uow.session, EVENT_ID, "sync.participant_invited") is True


def test_other_events_are_still_first_deliveries(accounts_db):
    with accounts_db.transaction() as uow:
        first_delivery(uow.session, EVENT_ID, "notifier.participant_invited")

    with accounts_db.transaction() as uow:
        other = "01a20000-0000-7000-8000-000000000002"
        assert first_delivery(uow.session, other, "notifier.participant_invited") is True


def test_an_event_whose_handling_failed_is_applied_on_redelivery(accounts_db):
    with pytest.raises(RuntimeError), accounts_db.transaction() as uow:
        assert first_delivery(uow.session, EVENT_ID, "notifier.participant_invited") is True
        raise RuntimeError("notification could not be stored")

    with accounts_db.transaction() as uow:
        assert first_delivery(uow.session, EVENT_ID, "notifier.participant_invited") is True
