"""The contacts service's own dependency providers: import slots per organisation."""

from __future__ import annotations

import pytest

from crm.errors import RateLimited
from services.contacts.dependencies import ImportSlots


def test_an_organisation_runs_one_import_at_a_time_and_others_are_not_held_up():
    slots = ImportSlots()

    with slots.hold("org-pomme", 1):
        with pytest.raises(RateLimited), slots.hold("org-pomme", 1):
            pass
        with slots.hold("org-poire", 1):
            assert slots.running == {"org-pomme": 1, "org-poire": 1}
    with slots.hold("org-pomme", 1):
        pass
    assert not slots.running
