"""Files of hostile or unusual shape through the gateway: each is imported or refused with a
clear 4xx naming what is wrong, quickly, and never a 500."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import unique
from tests.e2e.test_contacts_csv import _csv, _finished, _upload

V1 = "/api/v1"
VCARD = {"Content-Type": "text/vcard; charset=utf-8"}


def _assert_problem(response, status: int, field: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status
    assert field in [error["field"] for error in problem["errors"]], problem
    return problem


@pytest.mark.parametrize(
    ("codec", "named"), [("utf-16-le", "utf-16"), ("utf-16-le", None), ("utf-16-be", None)]
)
def test_a_utf16_csv_without_byte_order_mark_is_imported(org, codec, named):
    # Named utf-16, it was a 500 (UnicodeError); unnamed, "not a text file (it holds NUL bytes)".
    admin = org["admin"]
    family = unique("Lefèvre")
    text = _csv("Nom\tPrénom\tVille", f"{family}\tFrançois\tSaint-Étienne")
    options = {"encoding": named} if named else {}

    job = _finished(admin, _upload(admin, text.encode(codec), **options))

    assert (job["status"], job["encoding"], job["rows_created"]) == ("done", codec, 1)
    (found,) = admin.get(f"{V1}/contacts", params={"q": family}).json()["items"]
    assert (found["first_name"], found["address"]["city"]) == ("François", "Saint-Étienne")


def test_utf16_named_for_a_file_that_is_not_utf16_is_422_naming_encoding(org):
    admin = org["admin"]
    before = admin.get(f"{V1}/imports").json()["items"]

    response = _upload(admin, _csv("Nom;Prénom", "Lefèvre;François").encode(), encoding="utf-16")

    _assert_problem(response, 422, "encoding")
    assert admin.get(f"{V1}/imports").json()["items"] == before


def _card(*lines: str, version: str = "3.0") -> str:
    return "\r\n".join(["BEGIN:VCARD", f"VERSION:{version}", *lines, "END:VCARD"]) + "\r\n"


def _contacts_named(api, name: str) -> list:
    return api.get(f"{V1}/contacts", params={"q": name}).json()["items"]


@pytest.mark.parametrize(
    "note",
    ["NOTE:" + "a\r\n " * 1_000_000 + "b", "NOTE;ENCODING=QUOTED-PRINTABLE:" + "=\r\n" * 200_000 + "b"],
    ids=["4 MB of folded lines", "0.6 MB of quoted-printable soft breaks"],
)
def test_a_vcard_of_pathological_shape_is_refused_whole_naming_content(org, note):
    # It kept the contacts service busy past the RPC deadline (503), other organisations too.
    admin = org["admin"]
    family = unique("Gérard")
    content = _card(f"N:{family};Zoé;;;", note, version="2.1")

    response = admin.post(f"{V1}/contacts-import.vcf", data=content.encode(), headers=VCARD)

    assert "vcard_max_lines" in _assert_problem(response, 422, "content")["detail"]
    assert _contacts_named(admin, family) == []


def test_a_vcard_sent_as_utf7_is_refused_as_415(org):
    content = _card("N:Gérard;Zoé;;;", "NOTE:+ADw-script+AD4-").encode("utf-7")

    response = org["admin"].post(
        f"{V1}/contacts-import.vcf", data=content, headers={"Content-Type": "text/vcard; charset=utf-7"}
    )

    assert response.status_code == 415, response.text
    assert "UTF-8" in response.json()["detail"]


def test_a_card_with_a_utf7_charset_is_refused_naming_its_property(org):
    admin = org["admin"]
    family = unique("Gérard")
    content = _card(
        f"N:{family};Zoé;;;", "NOTE;CHARSET=UTF-7;ENCODING=QUOTED-PRINTABLE:+ADw-script+AD4-", version="2.1"
    )

    report = admin.post(f"{V1}/contacts-import.vcf", data=content.encode(), headers=VCARD).json()

    assert (report["created"], report["failed"]) == (0, 1)
    assert report["errors"][0]["field"] == "NOTE"
    assert _contacts_named(admin, family) == []
