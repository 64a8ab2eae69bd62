"""WebDAV and CardDAV XML for the address book (RFC 4918, RFC 6352, RFC 6578): request bodies
read into plain values, multistatus answers and error bodies written.

Bodies are read by lxml with a parser that expands no entity, loads no DTD and
reaches no network; a document with a DOCTYPE is refused outright, as is one
that is not well-formed (``MalformedXml``, 400). What the protocol does not
allow, or we do not offer, is ``DavRefusal``: a status with the DAV
precondition it names, written as ``<d:error>``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

DAV = "DAV:"
CARDDAV = "urn:ietf:params:xml:ns:carddav"
CALENDARSERVER = "http://calendarserver.org/ns/"
NAMESPACES = {"d": DAV, "card": CARDDAV, "cs": CALENDARSERVER}
MAX_HREFS = 10_000
COLLATIONS = ("i;unicode-casemap", "i;ascii-casemap", "i;octet")
MATCH_TYPES = ("equals", "contains", "starts-with", "ends-with")
VCARD = "text/vcard"
VERSIONS = ("3.0", "4.0")
STATUS_TEXT = {200: "OK", 404: "Not Found", 403: "Forbidden", 507: "Insufficient Storage"}

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True
)


def dav(name: str) -> str:
    return f"{{{DAV}}}{name}"


def card(name: str) -> str:
    return f"{{{CARDDAV}}}{name}"


ADDRESS_DATA = card("address-data")


class MalformedXml(Exception):
    """The body is not XML we read: 400."""


class DavRefusal(Exception):
    """Refused with ``status`` and the DAV precondition ``condition`` (a Clark name)."""

    def __init__(self, status: int, condition: str, detail: str = "", href: str | None = None):
        super().__init__(detail or condition)
        self.status, self.condition, self.href = status, condition, href


@dataclass(frozen=True)
class Propfind:
    """``names`` asked for (Clark names), or every property (``allprop``), or their names only."""

    mode: str = "allprop"  # "prop", "allprop" or "propname"
    names: tuple[str, ...] = ()


@dataclass
class Report:
    kind: str  # "multiget", "query" or "sync"
    names: tuple[str, ...] = ()
    hrefs: list[str] = field(default_factory=list)
    query: dict[str, Any] = field(default_factory=dict)
    sync_token: str = ""
    limit: int | None = None
    version: str | None = None  # asked by address-data


# -- reading -------------------------------------------------------------------------------------


def read_xml(body: bytes) -> Any:
    """The body's root element; None for an empty body."""
    if not body.strip():
        return None
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise MalformedXml(f"the body is not well-formed XML: {exc}") from None
    if root.getroottree().docinfo.doctype:
        raise MalformedXml("a DOCTYPE is not accepted")
    return root


def read_propfind(root: Any) -> Propfind:
    """RFC 4918, 14.20: no body is ``allprop``."""
    if root is None:
        return Propfind()
    if root.tag != dav("propfind"):
        raise MalformedXml("a PROPFIND body is a DAV:propfind element")
    for child in root:
        if child.tag == dav("prop"):
            return Propfind("prop", _names(child))
        if child.tag == dav("propname"):
            return Propfind("propname")
        if child.tag == dav("allprop"):
            include = root.find(dav("include"))
            return Propfind("allprop", _names(include) if include is not None else ())
    raise MalformedXml("DAV:propfind holds prop, allprop or propname")


def read_report(root: Any) -> Report:
    if root is None:
        raise MalformedXml("a REPORT needs a body")
    prop = root.find(dav("prop"))
    names = _names(prop) if prop is not None else ()
    version = _address_data_version(prop)
    if root.tag == card("addressbook-multiget"):
        hrefs = [(href.text or "").strip() for href in root.findall(dav("href"))]
        if len(hrefs) > MAX_HREFS:
            raise DavRefusal(403, dav("number-of-matches-within-limits"), f"at most {MAX_HREFS} hrefs")
        return Report("multiget", names, hrefs=hrefs, version=version)
    if root.tag == card("addressbook-query"):
        query = _query(root.find(card("filter")))
        return Report("query", names, query=query, limit=_limit(root, card), version=version)
    if root.tag == dav("sync-collection"):
        token = root.find(dav("sync-token"))
        level = (root.findtext(dav("sync-level")) or "1").strip()
        if level not in ("1", "infinite"):
            raise MalformedXml("DAV:sync-level is 1 or infinite")
        text = (token.text or "").strip() if token is not None else ""
        return Report("sync", names, sync_token=text, limit=_limit(root, dav), version=version)
    raise DavRefusal(403, dav("supported-report"), f"the report {root.tag} is not supported here")


def _names(prop: Any) -> tuple[str, ...]:
    return tuple(child.tag for child in prop if isinstance(child.tag, str))


def _attribute(element: Any, name: str) -> str | None:
    """An attribute by name, whatever its case (vdirsyncer writes ``Content-Type``)."""
    for key, value in element.attrib.items():
        if key.lower() == name:
            return value
    return None


def _address_data_version(prop: Any) -> str | None:
    element = prop.find(ADDRESS_DATA) if prop is not None else None
    if element is None:
        return None
    media_type = _attribute(element, "content-type")
    version = _attribute(element, "version")
    if (media_type and media_type.lower() != VCARD) or (version and version not in VERSIONS):
        raise DavRefusal(403, card("supported-address-data"), "text/vcard 3.0 or 4.0 only")
    return version


def _limit(root: Any, namespace: Any) -> int | None:
    text = root.findtext(f"{namespace('limit')}/{namespace('nresults')}")
    if text is None:
        return None
    try:
        limit = int(text.strip())
    except ValueError:
        raise MalformedXml("nresults is a number") from None
    if limit < 1:
        raise MalformedXml("nresults is at least 1")
    return limit


def _query(element: Any) -> dict[str, Any]:
    """CardDAV's filter (RFC 6352, 10.5) as the sync service's ``CardQuery`` takes it."""
    if element is None:
        return {"test": "anyof", "props": []}
    props = []
    for prop in element.findall(card("prop-filter")):
        props.append(
            {
                "name": _required(prop, "name"),
                "test": _test(prop),
                "defined": prop.find(card("is-not-defined")) is None,
                "text_matches": [_text_match(match) for match in prop.findall(card("text-match"))],
                "param_filters": [_param_filter(param) for param in prop.findall(card("param-filter"))],
            }
        )
    return {"test": _test(element), "props": props}


def _param_filter(element: Any) -> dict[str, Any]:
    match = element.find(card("text-match"))
    return {
        "name": _required(element, "name"),
        "defined": element.find(card("is-not-defined")) is None,
        "text_match": _text_match(match) if match is not None else None,
    }


def _text_match(element: Any) -> dict[str, Any]:
    collation = element.get("collation", "i;unicode-casemap")
    if collation not in COLLATIONS:
        raise DavRefusal(403, card("supported-collation"), f"collation {collation} is not supported")
    match_type = element.get("match-type", "contains")
    if match_type not in MATCH_TYPES:
        raise DavRefusal(403, card("supported-filter"), f"match-type {match_type} is not supported")
    return {
        "text": element.text or "",
        "match_type": match_type,
        "collation": collation,
        "negate": element.get("negate-condition", "no") == "yes",
    }


def _test(element: Any) -> str:
    test = element.get("test", "anyof")
    if test not in ("anyof", "allof"):
        raise MalformedXml("test is anyof or allof")
    return test


def _required(element: Any, name: str) -> str:
    value = element.get(name)
    if not value:
        raise MalformedXml(f"{etree.QName(element).localname} needs a {name} attribute")
    return value


# -- writing -------------------------------------------------------------------------------------

Value = str | list[Any] | None  # text, child elements, or an empty element


def element(name: str, value: Value = None, **attributes: str) -> Any:
    node = etree.Element(name, attrib=attributes, nsmap=NAMESPACES)
    if isinstance(value, str):
        node.text = value
    elif value:
        node.extend(value)
    return node


def hrefs(*paths: str) -> list[Any]:
    return [element(dav("href"), path) for path in paths]


def empty(*names: str) -> list[Any]:
    return [element(name) for name in names]


def status_line(status: int) -> str:
    return f"HTTP/1.1 {status} {STATUS_TEXT.get(status, '')}".rstrip()


class Multistatus:
    """A 207 answer, written response by response (children made in place: a listing of
    10,000 cards is built in a fraction of the time detached elements take)."""

    def __init__(self) -> None:
        self.root = etree.Element(dav("multistatus"), nsmap=NAMESPACES)

    def props(self, href: str, found: dict[str, Value], missing: Iterable[str] = ()) -> None:
        """A response with the properties found (200) and those not (404)."""
        response = etree.SubElement(self.root, dav("response"))
        etree.SubElement(response, dav("href")).text = href
        for status, props in ((200, found), (404, dict.fromkeys(missing))):
            if not props:
                continue
            propstat = etree.SubElement(response, dav("propstat"))
            prop = etree.SubElement(propstat, dav("prop"))
            for name, value in props.items():
                node = etree.SubElement(prop, name)
                if isinstance(value, str):
                    node.text = value
                elif value:
                    node.extend(value)
            etree.SubElement(propstat, dav("status")).text = status_line(status)

    def status(self, href: str, status: int) -> None:
        """A response with a status only (a card gone, an answer cut short)."""
        response = etree.SubElement(self.root, dav("response"))
        etree.SubElement(response, dav("href")).text = href
        etree.SubElement(response, dav("status")).text = status_line(status)

    def body(self, sync_token: str | None = None) -> bytes:
        if sync_token is not None:
            etree.SubElement(self.root, dav("sync-token")).text = sync_token
        return etree.tostring(self.root, xml_declaration=True, encoding="utf-8")


def error_body(condition: str, children: list[Any] | None = None) -> bytes:
    root = element(dav("error"), [element(condition, children)])
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")
