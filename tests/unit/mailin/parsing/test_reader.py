"""read_message on ordinary mail: what a user sees in the pending interaction."""

from __future__ import annotations

from datetime import UTC, datetime

from services.mailin.parsing import Address, read_message

PLAIN = (
    b"From: Jean Dupont <Jean.Dupont@Pomme.fr>\r\n"
    b"To: 7f3k9q@ingest.crm.example\r\n"
    b"Subject: =?utf-8?q?Devis_Chambre_404_=E2=80=93_r=C3=A9vis=C3=A9?=\r\n"
    b"Date: Mon, 30 Nov 2026 10:12:00 +0100\r\n"
    b"Message-ID: <CAF3x9-devis@mail.pomme.fr>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=UTF-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"Bonjour,\r\n\r\nVoici le devis r=C3=A9vis=C3=A9 pour la Chambre 404.\r\n"
)


def test_plain_mail_gives_subject_sender_date_and_text():
    parsed = read_message(PLAIN)

    assert parsed.message_key == "CAF3x9-devis@mail.pomme.fr"
    assert parsed.subject == "Devis Chambre 404 – révisé"
    assert parsed.sender == Address(address="jean.dupont@pomme.fr", name="Jean Dupont")
    assert parsed.sent_at == datetime(2026, 11, 30, 9, 12, tzinfo=UTC)
    assert parsed.text == "Bonjour,\n\nVoici le devis révisé pour la Chambre 404."
    assert parsed.html is None
    assert parsed.attachments == []
    assert parsed.problems == []


def test_mail_without_message_id_gets_a_key_derived_from_its_content():
    without_id = PLAIN.replace(b"Message-ID: <CAF3x9-devis@mail.pomme.fr>\r\n", b"")
    relayed = b"Received: from relay.pomme.fr by mx\r\nReturn-Path: <jean@pomme.fr>\r\n" + without_id

    key = read_message(without_id).message_key

    assert key.startswith("derived-") and len(key) == len("derived-") + 64
    assert read_message(relayed).message_key == key
    assert read_message(without_id.replace(b"Chambre 404", b"Chambre 405")).message_key != key


def test_html_only_mail_is_kept_and_reduced_to_readable_text():
    raw = (
        b"From: salle@pomme.fr\r\nSubject: Planning\r\nMessage-ID: <p1@pomme.fr>\r\n"
        b"Content-Type: text/html; charset=iso-8859-1\r\n\r\n"
        b"<html><head><style>p {color: red}</style></head><body><p>R\xe9union <b>mardi</b></p>"
        b"<script>alert(1)</script><ul><li>Chambre 404</li></ul></body></html>"
    )

    parsed = read_message(raw)

    assert "Réunion mardi" in parsed.text and "Chambre 404" in parsed.text
    assert "color" not in parsed.text and "alert" not in parsed.text
    assert parsed.html is not None and "<b>mardi</b>" in parsed.html
    assert parsed.problems == []


def test_never_raises_on_bytes_that_are_no_mail():
    for raw in (b"", b"\x00\xff\xfe garbage", b"\r\n\r\n", b"From: \r\n\r\n"):
        parsed = read_message(raw)
        assert parsed.message_key.startswith("derived-")
