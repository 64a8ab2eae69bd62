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
