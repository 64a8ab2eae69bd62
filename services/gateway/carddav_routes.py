"""HTTP routes of the CardDAV address book: each user's read-only book of their organisation's
contacts, for Thunderbird, Apple Contacts, DAVx5 or vdirsyncer (docs/carddav.md).

A client authenticates with HTTP Basic: any user name, and an API token of the
user as the password (a bearer token works too). Discovery (PROPFIND of
``current-user-principal``, ``addressbook-home-set``, the book), listing
(PROPFIND Depth 1), ``addressbook-multiget``, ``addressbook-query`` and
``sync-collection`` are answered from the ``sync`` service
(``service_address_book.py``), which keeps the cards and their stamps; the XML
is ``dav_xml.py``, the resources ``carddav_resources.py``. Writes are refused
with DAV:need-privileges (403); nothing here answers 500 for a client's mistake.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from crm.auth import Caller
from crm.errors import CrmError, InvalidInput, Unauthenticated
from services.gateway import carddav_resources as res
from services.gateway import dav_xml as x
from services.gateway.http import bearer_token, route
from services.gateway.problems import problem_from_exception
from services.sync.exceptions import SyncTokenUnknown

READS = ("OPTIONS", "GET", "HEAD", "PROPFIND", "REPORT")
WRITES = (
    "PUT",
    "DELETE",
    "POST",
    "PATCH",
    "PROPPATCH",
    "MKCOL",
    "MKCALENDAR",
    "MOVE",
    "COPY",
    "LOCK",
    "UNLOCK",
    "ACL",
)
DAV_METHODS = ",".join((*READS, *WRITES))
DAV_HEADERS = {"DAV": "1, 3, addressbook", "Allow": ", ".join(READS)}
CHALLENGE = 'Basic realm="CRM address book", charset="UTF-8"'
XML_MEDIA_TYPE = "application/xml; charset=utf-8"
# Cards per call to sync: a card not written yet costs milliseconds, the call must end in time.
CARDS_PER_CALL = 200
# Cards whose text one sync-collection answer carries; the client asks again for the rest.
CARDS_WITH_TEXT_PER_ANSWER = 1000


class CardDavRoutes:
    """Mixed into the gateway service; ``self.sync`` is the RPC client, ``self.auth`` verifies."""

    sync: Any
    auth: Any

    @route("GET,HEAD,PROPFIND,OPTIONS", "/.well-known/carddav", documented=False)
    def carddav_well_known(self, request: Request) -> Response:
        """RFC 6764: where the address book service is."""
        return Response(status=301, headers={"Location": res.ROOT})

    @route(DAV_METHODS, "/dav/", documented=False)
    def carddav_root(self, request: Request) -> Response:
        return self._carddav(request, "")

    @route(DAV_METHODS, "/dav/<path:rest>", documented=False)
    def carddav(self, request: Request, rest: str) -> Response:
        return self._carddav(request, rest)

    def _carddav(self, request: Request, rest: str) -> Response:
        if request.method == "OPTIONS":
            return Response(status=200, headers=DAV_HEADERS)
        try:
            caller = self._dav_caller(request)
            resource = res.resolve(rest)
            if resource is None or resource.user_id not in (None, caller.user_id):
                return _text(404, "nothing here")
            if request.method in WRITES:
                privilege = x.element(x.dav("privilege"), x.empty(x.dav("write")))
                need = x.element(x.dav("resource"), [*x.hrefs(resource.path), privilege])
                return _xml(403, x.error_body(x.dav("need-privileges"), [need]))
            if request.method == "PROPFIND":
                return self._propfind(request, resource, caller)
            if request.method == "REPORT":
                return self._report(request, resource)
            return self._get(request, resource)
        except Unauthenticated:
            # The same answer for no password, a wrong one, and a revoked or expired token.
            return _text(401, "authentication required", {"WWW-Authenticate": CHALLENGE})
        except x.MalformedXml as exc:
            return _text(400, str(exc))
        except x.DavRefusal as exc:
            return _xml(exc.status, x.error_body(exc.condition))
        except SyncTokenUnknown:
            return _xml(403, x.error_body(x.dav("valid-sync-token")))
        except InvalidInput as exc:
            return _text(400, exc.detail)
        except CrmError as exc:
            return problem_from_exception(exc)

    def _dav_caller(self, request: Request) -> Caller:
        if bearer_token(request):
            return self.auth.caller()
        credentials = request.authorization
        if credentials is None or credentials.type != "basic" or not credentials.password:
            raise Unauthenticated("send an API token as the password (HTTP Basic)")
        return self.auth.caller_with_api_token(credentials.password)

    # -- PROPFIND ------------------------------------------------------------------------------------

    def _propfind(self, request: Request, resource: res.Resource, caller: Caller) -> Response:
        depth = request.headers.get("Depth", "0").strip().lower()
        if depth not in ("0", "1"):
            raise x.DavRefusal(403, x.dav("propfind-finite-depth"), "Depth is 0 or 1")
        asked = x.read_propfind(x.read_xml(request.get_data()))
        answer = x.Multistatus()
        if resource.kind == "card":
            found = self.sync.address_book_cards([resource.card_id])["cards"]
            if not found:
                return _text(404, "no such card")
            _props(answer, resource.path, res.card_properties(found[0][1]), asked)
            return _xml(207, answer.body())
        listing = None
        if resource.kind == "book" and depth == "1":
            listing = self.sync.address_book_changes(None)
            state = res.BookState(caller.user_id, listing["token"])
        else:
            book = self.sync.address_book()
            state = res.BookState(caller.user_id, book["token"], book["owner_name"])
        _props(answer, resource.path, res.collection_properties(resource, state), asked)
        if depth == "1" and resource.kind == "home":
            book_resource = res.Resource("book", caller.user_id)
            _props(answer, book_resource.path, res.collection_properties(book_resource, state), asked)
        for card_id, stamp in listing["changed"] if listing else ():
            card_path = res.Resource("card", caller.user_id, card_id).path
            _props(answer, card_path, res.card_properties(stamp), asked)
        return _xml(207, answer.body())

    # -- REPORT --------------------------------------------------------------------------------------

    def _report(self, request: Request, resource: res.Resource) -> Response:
        report = x.read_report(x.read_xml(request.get_data()))
        if resource.kind != "book":
            raise x.DavRefusal(403, x.dav("supported-report"), "reports are made on the address book")
        version = res.vcard_version(request.headers.get("Accept"), report.version)
        asked = x.Propfind("prop", report.names or (res.GETETAG,))
        if report.kind == "multiget":
            return self._multiget(resource, report, version, asked)
        if report.kind == "query":
            return self._query(resource, report, version, asked)
        return self._sync_collection(resource, report, version, asked)

    def _multiget(self, book: res.Resource, report: x.Report, version: str, asked: x.Propfind) -> Response:
        wanted = {href: res.card_of_href(href, book) for href in report.hrefs}
        ids = [card_id for card_id in wanted.values() if card_id]
        found = {card_id: (stamp, text) for card_id, stamp, text in self._cards(ids, version)}
        answer = x.Multistatus()
        for href, card_id in wanted.items():
            if card_id in found:
                stamp, text = found[card_id]
                _props(answer, href, res.card_properties(stamp, text, version), asked)
            else:
                answer.status(href, 404)
        return _xml(207, answer.body())

    def _query(self, book: res.Resource, report: x.Report, version: str, asked: x.Propfind) -> Response:
        listed = self.sync.address_book_changes(None)["changed"]
        with_text = x.ADDRESS_DATA in asked.names
        limit = min(report.limit or CARDS_WITH_TEXT_PER_ANSWER, CARDS_WITH_TEXT_PER_ANSWER)
        matched: list[tuple[str, int, str | None]] = []
        if not report.query["props"] and not with_text:  # every card, and no text to write
            matched = [(card_id, stamp, None) for card_id, stamp in listed[: limit + 1]]
        for start in range(0, len(listed) if not matched else 0, CARDS_PER_CALL):
            part = [card_id for card_id, _ in listed[start : start + CARDS_PER_CALL]]
            matched += self.sync.address_book_cards(part, version, report.query)["cards"]
            if len(matched) > limit:
                break
        answer = x.Multistatus()
        for card_id, stamp, text in matched[:limit]:
            path = res.Resource("card", book.user_id, card_id).path
            _props(answer, path, res.card_properties(stamp, text if with_text else None, version), asked)
        if len(matched) > limit:  # RFC 6352, 8.6.1: more matched than the answer carries
            answer.status(book.path, 507)
        return _xml(207, answer.body())

    def _sync_collection(
        self, book: res.Resource, report: x.Report, version: str, asked: x.Propfind
    ) -> Response:
        try:
            since = res.since_of(report.sync_token)
        except ValueError:
            raise SyncTokenUnknown("not a sync token of this address book") from None
        listing = self.sync.address_book_changes(since)
        entries = sorted(
            [(i, stamp, False) for i, stamp in listing["changed"]]
            + [(i, stamp, True) for i, stamp in listing["deleted"]],
            key=lambda entry: entry[1],
        )
        with_text = x.ADDRESS_DATA in asked.names
        limits = [
            limit for limit in (report.limit, CARDS_WITH_TEXT_PER_ANSWER if with_text else None) if limit
        ]
        page, cut_at = res.first_page(entries, min(limits) if limits else None)
        texts = {}
        if with_text:
            changed = [card_id for card_id, _, deleted in page if not deleted]
            texts = {card_id: text for card_id, _, text in self._cards(changed, version)}
        answer = x.Multistatus()
        for card_id, stamp, deleted in page:
            path = res.Resource("card", book.user_id, card_id).path
            if deleted:
                answer.status(path, 404)
            elif not with_text or card_id in texts:
                _props(answer, path, res.card_properties(stamp, texts.get(card_id), version), asked)
        if cut_at is not None:
            answer.status(book.path, 507)
        token = listing["token"] if cut_at is None else cut_at
        return _xml(207, answer.body(res.sync_token(token)))

    # -- GET -----------------------------------------------------------------------------------------

    def _get(self, request: Request, resource: res.Resource) -> Response:
        if resource.is_collection:
            return _text(
                405,
                "a collection has no content: use PROPFIND or REPORT",
                {"Allow": "OPTIONS, PROPFIND, REPORT"},
            )
        version = res.vcard_version(request.headers.get("Accept"), None)
        found = self._cards([resource.card_id], version)
        if not found:
            return _text(404, "no such card")
        _, stamp, text = found[0]
        tag = res.etag(stamp)
        if request.if_none_match.contains(tag.strip('"')):
            return Response(status=304, headers={"ETag": tag})
        media_type = res.CARD_MEDIA_TYPE + ("; version=4.0" if version == "4.0" else "")
        body = "" if request.method == "HEAD" else text
        return Response(body, status=200, headers={"ETag": tag, "Content-Type": media_type})

    def _cards(self, ids: list[str], version: str) -> list[tuple[str, int, str]]:
        found = []
        for start in range(0, len(ids), CARDS_PER_CALL):
            found += self.sync.address_book_cards(ids[start : start + CARDS_PER_CALL], version)["cards"]
        return found


def _props(answer: x.Multistatus, href: str, found: dict[str, x.Value], asked: x.Propfind) -> None:
    chosen, missing = res.chosen(found, asked.mode, asked.names)
    answer.props(href, chosen, missing)


def _xml(status: int, body: bytes) -> Response:
    return Response(body, status=status, headers={"Content-Type": XML_MEDIA_TYPE, "DAV": DAV_HEADERS["DAV"]})


def _text(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(message + "\n", status=status, mimetype="text/plain", headers=headers or {})
