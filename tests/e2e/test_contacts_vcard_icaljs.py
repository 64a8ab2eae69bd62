r"""The vCard 4.0 downloads read by an independent parser: ical.js (pinned in tests/js), as a
JavaScript address book would, gets back every value as it was typed, punctuation included.

vCard 3.0 is not checked here: RFC 2426's grammar makes ``;`` in any text value ``\;``, which
ical.js (a vCard 4 reader) leaves as is in FN and NOTE; vobject reads the 3.0 downloads back in
test_contacts_vcard.py."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import unique

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed: ical.js needs it"),
]

V1 = "/api/v1"
TOOLS = Path(__file__).parents[1] / "js"

# Every character RFC 6350 escapes or splits on (, ; \ and line breaks), in each kind of property.
FIRST, LAST = "Jean-Marie, dit «JM»", "Dupont; Durand"
NOTE = "Ligne 1; avec point-virgule, et virgule\nLigne 2 \\ antislash"
COMPANY, FUNCTION = "Pomme; Poire, et Cie", "Directeur, achats; ventes"
STREET = "12, rue de la Paix; bât. B"
WEBSITE = "https://pomme.example/a;b?c=1,2"
LINKEDIN = "https://www.linkedin.com/in/jm-dupont"


def _ical_js(vcard: str) -> list:
    """ical.js's jCard (RFC 7095) of the text: [name, params, type, value...] per property."""
    if not (TOOLS / "node_modules" / "ical.js").exists():
        pytest.fail(f"ical.js is not installed: run npm ci --prefix {TOOLS}")
    parsed = subprocess.run(
        ["node", str(TOOLS / "parse_vcard.mjs")],
        cwd=TOOLS,
        input=vcard,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert parsed.returncode == 0, parsed.stderr
    return json.loads(parsed.stdout)


def _properties(jcard: list) -> dict[str, list]:
    """name -> the values of each of its lines (one value, or a list for structured ones)."""
    name, properties, _ = jcard
    assert name == "vcard"
    found: dict[str, list] = {}
    for prop, _params, _type, *values in properties:
        found.setdefault(prop, []).append(values[0] if len(values) == 1 else values)
    return found


@pytest.fixture
def jean_marie(org) -> str:
    api = org["admin"]
    company = api.post(f"{V1}/companies", json={"name": f"{COMPANY} {unique('x')}"})
    assert company.status_code == 201, company.text
    created = api.post(
        f"{V1}/contacts",
        json={
            "first_name": FIRST,
            "last_name": LAST,
            "email": f"{unique('jm')}@exemple.fr",
            "note": NOTE,
            "birthday": "1975-07-14",
            "website": WEBSITE,
            "social": {"linkedin": LINKEDIN},
            "address": {"street": STREET, "postal_code": "75002", "city": "Paris", "country": "France"},
            "employments": [{"company_id": company.json()["id"], "function": FUNCTION}],
        },
    )
    assert created.status_code == 201, created.text
    return created.json()["id"]


def test_ical_js_reads_every_value_of_a_vcard_4_download_as_it_was_typed(org, jean_marie):
    response = org["admin"].get(f"{V1}/contacts/{jean_marie}/vcard", params={"version": "4.0"})
    assert response.status_code == 200, response.text

    card = _properties(_ical_js(response.content.decode("utf-8")))

    assert card["version"] == ["4.0"]
    assert card["fn"] == [f"{FIRST} {LAST}"]
    assert card["n"][0][:2] == [LAST, FIRST]
    assert card["note"] == [NOTE]
    assert card["title"] == [FUNCTION]
    (org_name,) = card["org"]
    assert (org_name[0] if isinstance(org_name, list) else org_name).startswith(COMPANY)
    (address,) = card["adr"]
    assert address[2:] == [STREET, "Paris", "", "75002", "France"]
    assert card["url"] == [WEBSITE]
    assert card["bday"] == ["1975-07-14"]
    assert card["socialprofile"] == [LINKEDIN]
