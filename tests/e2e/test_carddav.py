"""The CardDAV address book (/dav/) through a real CardDAV client, vdirsyncer (pinned in the test
extras), syncing it into a folder of .vcf files; then raw HTTP for what a client may get wrong.

Alice's organisation keeps Élodie (at Boulangerie Dupont) and Jeanne; vdirsyncer discovers the
book from the server's root with Alice's e-mail and an API token as the password, and syncs.
Then Élodie is renamed, her company too, Marc is added and Jeanne archived in the CRM: the next
sync changes, adds and removes the files. Events reach sync a moment after each write: the test
waits until the book's sync-collection shows them."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import vobject
from lxml import etree

from tests.e2e.conftest import unique

pytestmark = [pytest.mark.e2e]

V1 = "/api/v1"
DAV = "{DAV:}"
CARDDAV = "{urn:ietf:params:xml:ns:carddav}"
VDIRSYNCER = Path(sys.executable).parent / "vdirsyncer"
SYNC_COLLECTION = """<?xml version="1.0" encoding="utf-8"?>
<d:sync-collection xmlns:d="DAV:"><d:sync-token>{token}</d:sync-token><d:sync-level>1</d:sync-level>
{limit}<d:prop><d:getetag/></d:prop></d:sync-collection>"""


def _ok(response) -> dict:
    assert response.status_code in (200, 201), response.text
    return response.json()


def _contact(api, **fields) -> dict:
    return _ok(api.post(f"{V1}/contacts", json=fields))


class Book:
    """Raw WebDAV calls to one user's address book, with their API token."""

    def __init__(self, base_url: str, email: str, token: str, user_id: str):
        self.base_url = base_url
        self.auth = (email, token)
        self.path = f"/dav/addressbooks/{user_id}/contacts/"

    def request(self, method: str, path: str | None = None, body: str = "", **headers) -> requests.Response:
        url = self.base_url + (self.path if path is None else path)
        return requests.request(method, url, data=body.encode(), auth=self.auth, headers=headers, timeout=60)

    def sync(self, token: str = "", limit: int | None = None) -> tuple[dict[str, str | None], str, int]:
        """(href -> ETag, or None for a deleted card), the new token, and whether it was cut (507)."""
        nresults = f"<d:limit><d:nresults>{limit}</d:nresults></d:limit>" if limit else ""
        response = self.request("REPORT", body=SYNC_COLLECTION.format(token=token, limit=nresults), Depth="1")
        assert response.status_code == 207, response.text
        root = etree.fromstring(response.content)
        found, cut = {}, 0
        for answer in root.findall(f"{DAV}response"):
            href = answer.findtext(f"{DAV}href")
            if href == self.path:
                cut = int(answer.findtext(f"{DAV}status").split()[1])
                continue
            found[href.rsplit("/", 1)[1].removesuffix(".vcf")] = answer.findtext(f".//{DAV}getetag")
        return found, root.findtext(f"{DAV}sync-token"), cut


def _eventually(check, timeout: float = 20.0):
    deadline = time.time() + timeout
    while True:
        result = check()
        if result or time.time() > deadline:
            return result
        time.sleep(0.3)


@pytest.fixture
def alice(system, org) -> dict:
    api = org["admin"]
    token = _ok(api.post(f"{V1}/auth/tokens", json={"name": "Carnet d'adresses"}))["token"]
    return {
        "api": api,
        "book": Book(system.base_url, org["admin_email"], token, api.user["id"]),
        "token": token,
    }


def _vdirsyncer(folder: Path, base_url: str, email: str, token: str) -> Path:
    """A vdirsyncer configuration syncing the book found from the server's root into ``folder``."""
    config = folder / "config"
    config.write_text(
        f"""[general]
status_path = "{folder}/status/"

[pair crm]
a = "crm_book"
b = "local_book"
collections = ["from a"]

[storage crm_book]
type = "carddav"
url = "{base_url}/"
username = "{email}"
password = "{token}"
read_only = true

[storage local_book]
type = "filesystem"
path = "{folder}/cards/"
fileext = ".vcf"
"""
    )
    (folder / "cards" / "contacts").mkdir(parents=True)
    return config


def _run(config: Path, *command: str) -> None:
    if not VDIRSYNCER.exists():
        pytest.fail("vdirsyncer is not installed: pip install -e '.[test]'")
    done = subprocess.run(
        [str(VDIRSYNCER), "-c", str(config), *command],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _files(folder: Path) -> dict[str, object]:
    """Contact id (each card's UID) -> the card, for every .vcf file vdirsyncer wrote."""
    cards = {}
    for path in (folder / "cards" / "contacts").glob("*.vcf"):
        card = vobject.readOne(path.read_text())
        cards[card.uid.value] = card
    return cards


def test_vdirsyncer_syncs_the_address_book_into_a_folder_and_follows_changes(system, alice, tmp_path):
    api, book = alice["api"], alice["book"]
    dupont = _ok(
        api.post(f"{V1}/companies", json={"name": "Boulangerie Dupont", "address": {"city": "Lyon"}})
    )
    elodie = _contact(
        api,
        first_name="Élodie",
        last_name="Martin",
        email=f"{unique('elodie')}@pomme.fr",
        phone="+33 1 23 45 67 89",
        employments=[{"company_id": dupont["id"], "function": "Gérante"}],
    )
    jeanne = _contact(api, first_name="Jeanne", last_name="Roux", note="Livraisons; le mardi")
    assert _eventually(lambda: set(book.sync()[0]) == {elodie["id"], jeanne["id"]})
    _, token, _ = book.sync()
    config = _vdirsyncer(tmp_path, system.base_url, alice["api"].user["email"], alice["token"])

    _run(config, "discover")
    _run(config, "sync")

    cards = _files(tmp_path)
    assert set(cards) == {elodie["id"], jeanne["id"]}
    assert cards[elodie["id"]].fn.value == "Élodie Martin"
    assert cards[elodie["id"]].contents["org"][0].value == ["Boulangerie Dupont"]
    assert cards[elodie["id"]].contents["title"][0].value == "Gérante"
    assert cards[elodie["id"]].tel.value == "+33 1 23 45 67 89"
    assert cards[jeanne["id"]].note.value == "Livraisons; le mardi"

    _ok(
        api.patch(
            f"{V1}/contacts/{elodie['id']}", json={"last_name": "Martin-Dupont", "version": elodie["version"]}
        )
    )
    _ok(
        api.patch(
            f"{V1}/companies/{dupont['id']}", json={"name": "Dupont & Fils", "version": dupont["version"]}
        )
    )
    marc = _contact(api, first_name="Marc", last_name="Petit")
    assert api.delete(f"{V1}/contacts/{jeanne['id']}").status_code == 204

    def all_changes_reached_the_book():
        changes, _, _ = book.sync(token)
        return changes.keys() == {elodie["id"], marc["id"], jeanne["id"]} and changes[jeanne["id"]] is None

    assert _eventually(all_changes_reached_the_book), book.sync(token)
    assert _eventually(lambda: "Dupont & Fils" in book.request("GET", f"{book.path}{elodie['id']}.vcf").text)
    _run(config, "sync")

    cards = _files(tmp_path)
    assert set(cards) == {elodie["id"], marc["id"]}
    assert cards[elodie["id"]].fn.value == "Élodie Martin-Dupont"
    assert cards[elodie["id"]].contents["org"][0].value == ["Dupont & Fils"]
    assert cards[marc["id"]].fn.value == "Marc Petit"


def test_a_client_finds_the_book_from_the_server_root(system, alice):
    book = alice["book"]
    assert (
        requests.get(f"{system.base_url}/.well-known/carddav", allow_redirects=False, timeout=10).headers[
            "Location"
        ]
        == "/dav/"
    )
    principal = etree.fromstring(
        book.request(
            "PROPFIND", "/dav/", "<propfind xmlns='DAV:'><prop><current-user-principal/></prop></propfind>"
        ).content
    ).findtext(f".//{DAV}current-user-principal/{DAV}href")
    home_set = (
        "<propfind xmlns='DAV:' xmlns:c='urn:ietf:params:xml:ns:carddav'>"
        "<prop><c:addressbook-home-set/></prop></propfind>"
    )
    home = etree.fromstring(book.request("PROPFIND", principal, home_set).content).findtext(
        f".//{CARDDAV}addressbook-home-set/{DAV}href"
    )
    listing = book.request("PROPFIND", home, "", Depth="1")

    assert listing.status_code == 207
    root = etree.fromstring(listing.content)
    (collection,) = [
        r for r in root.findall(f"{DAV}response") if r.find(f".//{CARDDAV}addressbook") is not None
    ]
    assert collection.findtext(f"{DAV}href") == book.path
    assert collection.findtext(f".//{DAV}sync-token").startswith("urn:crm:sync:")
    versions = [e.get("version") for e in collection.iter(f"{CARDDAV}address-data-type")]
    assert versions == ["3.0", "4.0"]
    privileges = [p[0].tag for p in collection.iter(f"{DAV}privilege")]
    assert f"{DAV}read" in privileges and f"{DAV}write" not in privileges


def test_a_card_in_vcard_4_and_a_query(alice):
    api, book = alice["api"], alice["book"]
    lea = _contact(
        api, first_name="Léa", last_name="Garnier", email="lea.garnier@cerise.fr", phone="+33 6 12 34 56 78"
    )
    _contact(api, first_name="Paul", last_name="Blanc")
    card_path = f"{book.path}{lea['id']}.vcf"
    assert _eventually(lambda: book.request("GET", card_path).status_code == 200)

    four = book.request("GET", card_path, Accept="text/vcard; version=4.0")
    again = book.request("GET", card_path, **{"If-None-Match": four.headers["ETag"]})
    query = book.request(
        "REPORT",
        body="""<c:addressbook-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:carddav">
          <d:prop><d:getetag/><c:address-data/></d:prop>
          <c:filter><c:prop-filter name="EMAIL">
            <c:text-match>CERISE.FR</c:text-match>
          </c:prop-filter></c:filter>
        </c:addressbook-query>""",
        Depth="1",
    )

    # As vdirsyncer asks for vCard 4.0 (its attribute is spelt Content-Type).
    multiget = book.request(
        "REPORT",
        body=f"""<C:addressbook-multiget xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
          <prop><getetag/><C:address-data Content-Type="text/vcard" version="4.0"/></prop>
          <href>{card_path}</href><href>{book.path}nobody.vcf</href>
        </C:addressbook-multiget>""",
    )

    assert four.headers["Content-Type"] == "text/vcard; charset=utf-8; version=4.0"
    assert "VERSION:4.0" in four.text and "tel:+33612345678" in four.text
    assert again.status_code == 304
    assert query.status_code == 207
    root = etree.fromstring(query.content)
    assert [r.findtext(f"{DAV}href") for r in root.findall(f"{DAV}response")] == [card_path]
    assert "FN:Léa Garnier" in root.findtext(f".//{CARDDAV}address-data")
    answers = {
        r.findtext(f"{DAV}href"): r for r in etree.fromstring(multiget.content).findall(f"{DAV}response")
    }
    assert answers[f"{book.path}nobody.vcf"].findtext(f"{DAV}status") == "HTTP/1.1 404 Not Found"
    assert answers[card_path].findtext(f".//{DAV}getetag") == four.headers["ETag"]
    assert "VERSION:4.0" in answers[card_path].findtext(f".//{CARDDAV}address-data")


def test_a_limited_sync_is_cut_between_stamps_and_resumes_from_its_token(alice):
    api, book = alice["api"], alice["book"]
    created: set[str] = set()
    for n in range(5):  # each in the book before the next: five stamps (events arriving together share one)
        created.add(_contact(api, first_name="Client", last_name=f"N°{n}")["id"])
        assert _eventually(lambda: set(book.sync()[0]) == created)

    first, token, cut = book.sync(limit=2)
    rest, final, rest_cut = book.sync(token)

    assert (len(first), cut, rest_cut) == (2, 507, 0)
    assert set(first) | set(rest) == created
    assert book.sync(final)[0] == {}


def test_what_a_client_may_get_wrong_is_answered_with_the_right_dav_error(system, alice, org):
    book = alice["book"]
    anonymous = requests.request("PROPFIND", f"{system.base_url}{book.path}", timeout=10)
    wrong = requests.request(
        "PROPFIND", f"{system.base_url}{book.path}", auth=("alice", "crm_not-a-token"), timeout=10
    )
    password = requests.request(
        "PROPFIND", f"{system.base_url}{book.path}", auth=("alice", "Pomme-2026"), timeout=10
    )
    for refused in (anonymous, wrong, password):
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"].startswith('Basic realm="CRM address book"')
        assert refused.text == anonymous.text

    unknown_token = book.request(
        "REPORT", body=SYNC_COLLECTION.format(token="urn:crm:sync:999999999999", limit="")
    )
    foreign_token = book.request(
        "REPORT", body=SYNC_COLLECTION.format(token="http://example.com/ns/sync/1", limit="")
    )
    for refused in (unknown_token, foreign_token):
        assert refused.status_code == 403
        assert etree.fromstring(refused.content).find(f"{DAV}valid-sync-token") is not None

    put = book.request(
        "PUT", f"{book.path}nouveau.vcf", "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:X\r\nEND:VCARD\r\n"
    )
    for write in (put, book.request("DELETE", f"{book.path}nouveau.vcf"), book.request("MKCOL", book.path)):
        assert write.status_code == 403
        assert etree.fromstring(write.content).find(f"{DAV}need-privileges") is not None

    malformed = book.request("PROPFIND", body="<propfind xmlns='DAV:'><prop>", Depth="0")
    bomb = book.request(
        "PROPFIND",
        body='<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        '<propfind xmlns="DAV:">&b;</propfind>',
    )
    assert (malformed.status_code, bomb.status_code) == (400, 400)
    infinite = book.request("PROPFIND", Depth="infinity")
    assert infinite.status_code == 403
    assert etree.fromstring(infinite.content).find(f"{DAV}propfind-finite-depth") is not None
    other_user = book.request("PROPFIND", f"/dav/addressbooks/{unique('someone')}/contacts/", Depth="0")
    assert other_user.status_code == 404
    unsupported = book.request("REPORT", body="<d:expand-property xmlns:d='DAV:'/>")
    assert unsupported.status_code == 403
