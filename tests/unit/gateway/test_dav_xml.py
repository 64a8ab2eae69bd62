"""WebDAV and CardDAV bodies read safely into plain values, and multistatus answers written."""

from __future__ import annotations

import pytest
from lxml import etree

from crm.validation import validate
from services.gateway import dav_xml as x
from services.sync.schemas import CardQuery

CARDDAV_NS = 'xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:carddav"'


def _read(body: str):
    return x.read_xml(body.encode())


# -- reading -------------------------------------------------------------------------------------


def test_an_empty_propfind_asks_for_every_property():
    assert x.read_propfind(_read("")) == x.Propfind("allprop")


def test_a_propfind_names_the_properties_it_asks_for_in_clark_notation():
    asked = x.read_propfind(
        _read(
            '<propfind xmlns="DAV:" xmlns:cs="http://calendarserver.org/ns/">'
            "<prop><resourcetype/><cs:getctag/><!-- a comment --></prop></propfind>"
        )
    )

    assert asked == x.Propfind("prop", ("{DAV:}resourcetype", "{http://calendarserver.org/ns/}getctag"))
    assert x.read_propfind(_read('<propfind xmlns="DAV:"><propname/></propfind>')).mode == "propname"


@pytest.mark.parametrize(
    "body",
    [
        "<propfind xmlns='DAV:'><prop>",
        "not xml at all",
        "<propfind xmlns='DAV:'></propfind>",
        "<d:propfind xmlns:d='urn:not-dav'><d:prop/></d:propfind>",
    ],
)
def test_a_body_that_is_not_a_propfind_is_malformed(body):
    with pytest.raises(x.MalformedXml):
        x.read_propfind(_read(body))


def test_entities_are_never_expanded_a_doctype_is_refused():
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        '<propfind xmlns="DAV:"><prop><displayname>&c;</displayname></prop></propfind>'
    )
    external = (
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
        '<propfind xmlns="DAV:"><prop><displayname>&secret;</displayname></prop></propfind>'
    )

    for body in (laughs, external):
        with pytest.raises(x.MalformedXml, match="DOCTYPE"):
            _read(body)


def test_a_multiget_reads_its_hrefs_and_the_vcard_version_whatever_the_attributes_case():
    report = x.read_report(
        _read(
            f"<c:addressbook-multiget {CARDDAV_NS}><d:prop><d:getetag/>"
            '<c:address-data Content-Type="text/vcard" version="4.0"/></d:prop>'
            "<d:href>/dav/addressbooks/u/contacts/a.vcf</d:href><d:href> /b.vcf </d:href>"
            "</c:addressbook-multiget>"
        )
    )

    assert report.kind == "multiget"
    assert report.hrefs == ["/dav/addressbooks/u/contacts/a.vcf", "/b.vcf"]
    assert report.names == ("{DAV:}getetag", x.ADDRESS_DATA)
    assert report.version == "4.0"


def test_address_data_other_than_vcard_3_or_4_is_refused_with_its_precondition():
    for attributes in ('content-type="application/vcard+json"', 'version="2.1"'):
        with pytest.raises(x.DavRefusal) as refused:
            x.read_report(
                _read(
                    f"<c:addressbook-multiget {CARDDAV_NS}><d:prop><c:address-data {attributes}/></d:prop>"
                    "</c:addressbook-multiget>"
                )
            )
        assert (refused.value.status, refused.value.condition) == (403, x.card("supported-address-data"))


def test_a_query_filter_reads_as_the_sync_services_card_query():
    report = x.read_report(
        _read(
            f"""<c:addressbook-query {CARDDAV_NS}>
              <d:prop><d:getetag/></d:prop>
              <c:filter test="allof">
                <c:prop-filter name="EMAIL" test="anyof">
                  <c:text-match collation="i;ascii-casemap" match-type="ends-with"
                                negate-condition="yes">@cerise.fr</c:text-match>
                  <c:param-filter name="TYPE"><c:text-match>work</c:text-match></c:param-filter>
                </c:prop-filter>
                <c:prop-filter name="BDAY"><c:is-not-defined/></c:prop-filter>
              </c:filter>
              <c:limit><c:nresults>10</c:nresults></c:limit>
            </c:addressbook-query>"""
        )
    )

    query = validate(CardQuery, report.query)
    assert (report.kind, report.limit, query.test) == ("query", 10, "allof")
    email, birthday = query.props
    assert (email.name, email.text_matches[0].match_type, email.text_matches[0].negate) == (
        "EMAIL",
        "ends-with",
        True,
    )
    assert email.text_matches[0].collation == "i;ascii-casemap"
    assert email.param_filters[0].text_match.text == "work"
    assert (birthday.name, birthday.defined) == ("BDAY", False)


def test_an_unknown_collation_or_match_type_is_refused_with_its_precondition():
    for text_match, condition in (
        (
            '<c:text-match collation="i;klingon">x</c:text-match>',
            x.card("supported-collation"),
        ),
        ('<c:text-match match-type="sounds-like">x</c:text-match>', x.card("supported-filter")),
    ):
        with pytest.raises(x.DavRefusal) as refused:
            x.read_report(
                _read(
                    f"<c:addressbook-query {CARDDAV_NS}><c:filter><c:prop-filter name='FN'>{text_match}"
                    "</c:prop-filter></c:filter></c:addressbook-query>"
                )
            )
        assert refused.value.condition == condition


def test_a_sync_collection_reads_its_token_and_limit():
    report = x.read_report(
        _read(
            "<d:sync-collection xmlns:d='DAV:'><d:sync-token>urn:crm:sync:42</d:sync-token>"
            "<d:sync-level>1</d:sync-level><d:limit><d:nresults>100</d:nresults></d:limit>"
            "<d:prop><d:getetag/></d:prop></d:sync-collection>"
        )
    )

    assert (report.kind, report.sync_token, report.limit, report.names) == (
        "sync",
        "urn:crm:sync:42",
        100,
        ("{DAV:}getetag",),
    )
    with pytest.raises(x.MalformedXml):
        x.read_report(
            _read("<d:sync-collection xmlns:d='DAV:'><d:sync-level>2</d:sync-level></d:sync-collection>")
        )
    with pytest.raises(x.MalformedXml):
        x.read_report(
            _read(
                "<d:sync-collection xmlns:d='DAV:'>"
                "<d:limit><d:nresults>-1</d:nresults></d:limit></d:sync-collection>"
            )
        )


def test_another_report_is_refused_as_unsupported():
    with pytest.raises(x.DavRefusal) as refused:
        x.read_report(_read("<d:expand-property xmlns:d='DAV:'/>"))

    assert (refused.value.status, refused.value.condition) == (403, x.dav("supported-report"))


# -- writing -------------------------------------------------------------------------------------


def test_a_multistatus_declares_its_namespaces_once_and_keeps_a_cards_line_ends():
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Élodie & Marc <3\r\nEND:VCARD\r\n"
    answer = x.Multistatus()
    answer.props(
        "/dav/addressbooks/u/contacts/a.vcf",
        {x.dav("getetag"): '"7"', x.ADDRESS_DATA: card, x.dav("resourcetype"): x.empty(x.dav("collection"))},
        missing=["{urn:example}color"],
    )
    answer.status("/dav/addressbooks/u/contacts/gone.vcf", 404)
    body = answer.body(sync_token="urn:crm:sync:7")

    assert body.count(b"xmlns:d=") == 1
    root = etree.fromstring(body)
    found, gone = root.findall(x.dav("response"))
    ok, missing = found.findall(x.dav("propstat"))
    assert ok.findtext(x.dav("status")) == "HTTP/1.1 200 OK"
    assert ok.find(f"{x.dav('prop')}/{x.ADDRESS_DATA}").text == card
    assert ok.find(f"{x.dav('prop')}/{x.dav('resourcetype')}/{x.dav('collection')}") is not None
    assert missing.findtext(x.dav("status")) == "HTTP/1.1 404 Not Found"
    assert missing.find(f"{x.dav('prop')}/{{urn:example}}color") is not None
    assert gone.findtext(x.dav("status")) == "HTTP/1.1 404 Not Found"
    assert root.findtext(x.dav("sync-token")) == "urn:crm:sync:7"


def test_an_error_body_names_its_precondition():
    body = x.error_body(x.dav("need-privileges"), [x.element(x.dav("resource"), x.hrefs("/dav/"))])

    root = etree.fromstring(body)
    assert root.tag == x.dav("error")
    assert root.findtext(f"{x.dav('need-privileges')}/{x.dav('resource')}/{x.dav('href')}") == "/dav/"
