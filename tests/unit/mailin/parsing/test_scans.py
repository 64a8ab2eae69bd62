"""Scans as office scanners mail them (tests/fixtures/mail/scans/, written by make_scans.py): the
PDF or multi-page TIFF comes out byte for byte, with its name and its real type, even when the
scanner says application/octet-stream, and a scan without Message-ID or Date is read all the same."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.mailin.parsing import read_message

SCANS = Path(__file__).parents[3] / "fixtures" / "mail" / "scans"
PDF = (SCANS / "scan.pdf").read_bytes()
TIFF = (SCANS / "scan.tif").read_bytes()

CASES = [
    # file, subject, name, content type, bytes, text, sent at (UTC)
    (
        "canon_pdf.eml",
        "Scanned from a Canon iR-ADV",
        "20261204093012.pdf",
        "application/pdf",
        PDF,
        "Attached Image",
        datetime(2026, 12, 4, 8, 30, 12, tzinfo=UTC),
    ),
    ("ricoh_tiff.eml", "Scan Data from RICOH MP C3004", "20261204093530.tif", "image/tiff", TIFF, "", None),
    (
        "hp_octet_pdf.eml",
        "Scanned from HP LaserJet MFP M428fdw",
        "Scan_0001.pdf",
        "application/pdf",
        PDF,
        "",
        datetime(2026, 12, 4, 9, 2, 47, tzinfo=UTC),
    ),
    (
        "brother_octet_tiff.eml",
        "Scanned image from MFC-L2750DW",
        "img-1204101503-0001.tif",
        "image/tiff",
        TIFF,
        "",
        datetime(2026, 12, 4, 9, 15, 3, tzinfo=UTC),
    ),
]


def test_the_fixtures_are_a_real_pdf_and_a_real_three_page_tiff():
    assert PDF.startswith(b"%PDF-1.4\n") and PDF.rstrip().endswith(b"%%EOF")
    assert b"/Count 2" in PDF
    assert TIFF.startswith(b"II*\x00")
    assert TIFF.count(b"RICOH MP C3004\x00") == 3  # one IFD (page) each


@pytest.mark.parametrize(("file", "subject", "name", "content_type", "data", "text", "sent_at"), CASES)
def test_a_scan_gives_its_file_with_name_type_and_bytes(
    file, subject, name, content_type, data, text, sent_at
):
    parsed = read_message((SCANS / file).read_bytes())

    assert parsed.subject == subject
    assert parsed.sender.address == "scanner@pomme-siege-central.fr"
    assert parsed.sent_at == sent_at
    assert parsed.text == text
    (attachment,) = parsed.attachments
    assert (attachment.name, attachment.content_type, attachment.inline) == (name, content_type, False)
    assert attachment.data == data
    assert parsed.problems == []


def test_a_scan_without_message_id_is_known_by_its_content():
    canon = (SCANS / "canon_pdf.eml").read_bytes()
    again = read_message(canon).message_key

    assert again.startswith("derived-")
    assert read_message(canon).message_key == again
    # The next scan (another file, another time) is another message.
    other = canon.replace(b"20261204093012", b"20261204094501")
    assert read_message(other).message_key != again
