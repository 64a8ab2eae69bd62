"""The original sender of a forward, as Gmail, Outlook and Thunderbird write it in English and French.

The files under tests/fixtures/mail are shaped as those clients send them: the
user (Paul) forwards to his ingest address a mail Jean Dupont sent him.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from services.mailin.parsing import read_message
from services.mailin.parsing.addresses import first_address
from services.mailin.parsing.forwards import original_sender

MAIL = Path(__file__).parents[3] / "fixtures" / "mail"


@pytest.mark.parametrize("name", sorted(path.name for path in MAIL.glob("*.eml")))
def test_each_client_s_forward_names_the_original_sender_not_the_user(name):
    parsed = read_message((MAIL / name).read_bytes())

    assert parsed.original_sender is not None, name
    assert parsed.original_sender.address == "jean.dupont@pomme.fr"
    assert parsed.original_sender.name == "Jean Dupont"
    assert parsed.sender.address != "jean.dupont@pomme.fr"
    assert parsed.problems == []


def test_a_mail_that_forwards_nothing_has_no_original_sender():
    text = "Bonjour Paul,\n\nFrom: the look of it, the quote is fine.\nMerci\n"

    assert original_sender(text) is None


def test_a_forward_quoted_inside_a_reply_is_still_read():
    text = (
        "Voir plus bas.\n\n"
        "> ---------- Forwarded message ---------\n"
        "> From: *Claire Petit* <claire.petit@hotel-rivage.fr>\n"
        "> Date: Mon, Nov 30, 2026 at 10:12 AM\n"
        "> Subject: Réservation\n"
    )

    assert original_sender(text).address == "claire.petit@hotel-rivage.fr"


def test_an_outlook_header_block_without_marker_is_read():
    text = (
        "Pour le CRM\n\n"
        "From: Jean Dupont [mailto:Jean.Dupont@pomme.fr]\n"
        "Sent: Monday, November 30, 2026 10:12 AM\n"
    )

    assert original_sender(text).address == "jean.dupont@pomme.fr"


@pytest.mark.parametrize(
    ("value", "address", "name"),
    [
        ("Jean Dupont <Jean.Dupont@Pomme.fr>", "jean.dupont@pomme.fr", "Jean Dupont"),
        ("jean.dupont@pomme.fr (Jean Dupont)", "jean.dupont@pomme.fr", "Jean Dupont"),
        ("Jean Dupont [mailto:jean.dupont@pomme.fr]", "jean.dupont@pomme.fr", "Jean Dupont"),
        ("'Jean Dupont' jean.dupont@pomme.fr", "jean.dupont@pomme.fr", "Jean Dupont"),
    ],
)
def test_addresses_are_read_however_the_client_writes_them(value, address, name):
    found = first_address(value)

    assert (found.address, found.name) == (address, name)


@pytest.mark.parametrize("value", ["", "Jean Dupont", "jean.dupont at pomme.fr"])
def test_text_without_an_address_names_no_one(value):
    assert first_address(value) is None
