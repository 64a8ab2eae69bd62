"""What the CardDAV address book is made of, as WebDAV sees it: its resources and their paths,
their properties, sync tokens, the vCard version a client asks for, and the first page of a
long answer. Pure functions; ``carddav_routes.py`` does the HTTP and the calls.

Paths, under ``/dav/`` (the client is given ``/.well-known/carddav`` or ``/dav/``)::

    /dav/principals/<user id>/                         the user (current-user-principal)
    /dav/addressbooks/<user id>/                       their address book home
    /dav/addressbooks/<user id>/contacts/              the address book: the organisation's contacts
    /dav/addressbooks/<user id>/contacts/<id>.vcf      a contact's card
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from crm.validation import is_id
from services.gateway.dav_xml import CALENDARSERVER, VCARD, Value, card, dav, element, empty, hrefs

ROOT = "/dav/"
BOOK_NAME = "contacts"
SYNC_TOKEN_PREFIX = "urn:crm:sync:"
_SYNC_TOKEN = re.compile(r"^urn:crm:sync:(\d{1,19})$")
_MEDIA_RANGE = re.compile(r"^\s*([^;\s]+)\s*(.*)$")
CARD_MEDIA_TYPE = f"{VCARD}; charset=utf-8"
GETETAG, GETCONTENTTYPE, RESOURCETYPE = dav("getetag"), dav("getcontenttype"), dav("resourcetype")
CURRENT_USER_PRINCIPAL = dav("current-user-principal")


@dataclass(frozen=True)
class Resource:
    kind: str  # "root", "principal", "home", "book" or "card"
    user_id: str | None = None
    card_id: str | None = None

    @property
    def path(self) -> str:
        if self.kind == "principal":
            return f"{ROOT}principals/{self.user_id}/"
        if self.kind == "home":
            return f"{ROOT}addressbooks/{self.user_id}/"
        if self.kind == "book":
            return f"{ROOT}addressbooks/{self.user_id}/{BOOK_NAME}/"
        if self.kind == "card":
            return f"{ROOT}addressbooks/{self.user_id}/{BOOK_NAME}/{self.card_id}.vcf"
        return ROOT

    @property
    def is_collection(self) -> bool:
        return self.kind != "card"


def resolve(rest: str) -> Resource | None:
    """The resource at ``/dav/<rest>`` (a trailing slash or not); None for none."""
    parts = [part for part in rest.split("/") if part]
    if not parts:
        return Resource("root")
    if len(parts) == 2 and parts[0] == "principals" and is_id(parts[1]):
        return Resource("principal", parts[1])
    if len(parts) < 2 or parts[0] != "addressbooks" or not is_id(parts[1]):
        return None
    if len(parts) == 2:
        return Resource("home", parts[1])
    if parts[2] != BOOK_NAME or len(parts) > 4:
        return None
    if len(parts) == 3:
        return Resource("book", parts[1])
    name = parts[3]
    if name.endswith(".vcf") and is_id(name[:-4]):
        return Resource("card", parts[1], name[:-4])
    return None


def card_of_href(href: str, book: Resource) -> str | None:
    """The contact id of a card of ``book`` named by ``href`` (a path or a whole URL)."""
    path = unquote(urlsplit(href).path)
    found = resolve(path[len(ROOT) :]) if path.startswith(ROOT) else None
    if found is None or found.kind != "card" or found.user_id != book.user_id:
        return None
    return found.card_id


def sync_token(token: int) -> str:
    return f"{SYNC_TOKEN_PREFIX}{token}"


def since_of(text: str) -> int | None:
    """The sequence a sync token names; None for the empty token of a first sync. A token of
    another shape is unknown (``ValueError``)."""
    if not text:
        return None
    found = _SYNC_TOKEN.match(text)
    if found is None:
        raise ValueError("not a sync token of this address book")
    return int(found.group(1))


def etag(stamp: int) -> str:
    """A card's ETag: its stamp, which changes with anything the card shows (in either version)."""
    return f'"{stamp}"'


def vcard_version(accept: str | None, asked: str | None) -> str:
    """The version a client asks for: address-data's ``version``, else the first ``text/vcard``
    of ``Accept`` that names one, else 3.0."""
    if asked:
        return asked
    ranges = []
    for position, item in enumerate((accept or "").split(",")):
        found = _MEDIA_RANGE.match(item)
        if found is None or found.group(1).lower() != VCARD:
            continue
        params = dict(
            (key.strip().lower(), value.strip().strip('"'))
            for key, _, value in (p.partition("=") for p in found.group(2).split(";") if "=" in p)
        )
        try:
            weight = float(params.get("q", "1"))
        except ValueError:
            weight = 0.0
        if weight > 0 and params.get("version") in ("3.0", "4.0"):
            ranges.append((-weight, position, params["version"]))
    return min(ranges)[2] if ranges else "3.0"


def first_page(entries: list[tuple[str, int, bool]], limit: int | None) -> tuple[list[Any], int | None]:
    """At most about ``limit`` of the (id, stamp, deleted) ``entries`` (in stamp order), cut
    between two stamps so that a token for the page's last stamp misses nothing; the token to
    answer with when cut (None when everything fits)."""
    if limit is None or len(entries) <= limit:
        return entries, None
    cut = limit
    while cut > 0 and entries[cut][1] == entries[cut - 1][1]:
        cut -= 1
    if cut == 0:  # one stamp holds more than the limit: it goes whole
        cut = limit
        while cut < len(entries) and entries[cut][1] == entries[cut - 1][1]:
            cut += 1
        if cut == len(entries):
            return entries, None
    return entries[:cut], entries[cut - 1][1]


# -- properties ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookState:
    user_id: str
    token: int
    owner_name: str | None = None


def collection_properties(resource: Resource, state: BookState) -> dict[str, Value]:
    """The properties of the root, the principal, the home or the book."""
    principal = Resource("principal", state.user_id).path
    common: dict[str, Value] = {
        CURRENT_USER_PRINCIPAL: hrefs(principal),
        dav("current-user-privilege-set"): [
            element(dav("privilege"), empty(dav("read"))),
            element(dav("privilege"), empty(dav("read-current-user-privilege-set"))),
        ],
    }
    if resource.kind == "root":
        return {RESOURCETYPE: empty(dav("collection")), dav("displayname"): "CRM", **common}
    if resource.kind == "principal":
        return {
            RESOURCETYPE: empty(dav("collection"), dav("principal")),
            dav("displayname"): state.owner_name or "CRM user",
            dav("principal-URL"): hrefs(principal),
            card("addressbook-home-set"): hrefs(Resource("home", state.user_id).path),
            **common,
        }
    if resource.kind == "home":
        return {RESOURCETYPE: empty(dav("collection")), dav("displayname"): "Address books", **common}
    token = sync_token(state.token)
    return {
        RESOURCETYPE: empty(dav("collection"), card("addressbook")),
        dav("displayname"): "CRM contacts",
        card("addressbook-description"): "Your organisation's contacts in the CRM (read-only)",
        dav("sync-token"): token,
        f"{{{CALENDARSERVER}}}getctag": token,
        dav("owner"): hrefs(principal),
        card("supported-address-data"): [
            element(card("address-data-type"), **{"content-type": VCARD, "version": version})
            for version in ("3.0", "4.0")
        ],
        dav("supported-report-set"): [
            element(dav("supported-report"), [element(dav("report"), empty(report))])
            for report in (card("addressbook-multiget"), card("addressbook-query"), dav("sync-collection"))
        ],
        **common,
    }


def card_properties(stamp: int, text: str | None = None, version: str = "3.0") -> dict[str, Value]:
    """A card's properties; its address-data only when its text is given."""
    found: dict[str, Value] = {
        GETETAG: etag(stamp),
        GETCONTENTTYPE: CARD_MEDIA_TYPE,
        RESOURCETYPE: None,
    }
    if text is not None:
        found[card("address-data")] = text
    return found


def chosen(found: dict[str, Value], mode: str, names: tuple[str, ...]) -> tuple[dict[str, Value], list[str]]:
    """The properties a PROPFIND or REPORT asked for among ``found``, and those it asked for
    that are not there; ``propname`` answers names with no values."""
    if mode == "propname":
        return dict.fromkeys(found), []
    if mode == "allprop":
        return {**found, **{name: found[name] for name in names if name in found}}, []
    return {name: found[name] for name in names if name in found}, [
        name for name in names if name not in found
    ]
