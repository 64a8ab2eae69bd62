"""The sync service's CardDAV address book entrypoints: the caller's organisation's contacts as
cards, with sync tokens (``address_book.py``). The gateway speaks WebDAV over them
(services/gateway/carddav_routes.py; docs/carddav.md).

A mixin of ``SyncService``: it uses that class's ``db`` and ``caller``.
"""

from __future__ import annotations

from typing import Any

from crm.rpc import rpc
from crm.validation import validate
from services.sync import address_book, card_filters
from services.sync.schemas import AddressBookChangesRequest, AddressCardsRequest


class AddressBookEntrypoints:
    db: Any
    caller: Any

    @rpc
    def address_book(self) -> dict[str, Any]:
        """The caller's address book as it is now: ``{token, owner_name}``; the token (an
        integer) changes whenever a card does."""
        caller = self.caller.user()
        with self.db.read() as session:
            return {
                "token": address_book.book_token(session, caller.org_id),
                "owner_name": address_book.owner_name(session, caller.org_id, caller.user_id),
            }

    @rpc
    def address_book_changes(self, since: int | None = None) -> dict[str, Any]:
        """Every card of the caller's address book (``since`` null), or those changed and
        deleted since the token ``since``: ``{token, changed, deleted}``, each a list of
        ``[contact id, stamp]`` in stamp order. ``SyncTokenUnknown`` for a token this book
        never gave."""
        caller = self.caller.user()
        request = validate(AddressBookChangesRequest, {"since": since})
        with self.db.read() as session:
            found = address_book.changes(session, caller.org_id, request.since)
        return {"token": found.token, "changed": found.changed, "deleted": found.deleted}

    @rpc
    def address_book_cards(
        self, ids: list[str], version: str = "3.0", query: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The live cards among ``ids`` (at most 500) of the caller's address book as vCard
        ``version`` text, those an ``addressbook-query`` filter refuses left out: ``{cards}``,
        each ``[contact id, stamp, text]``; unknown and deleted ids are left out."""
        caller = self.caller.user()
        request = validate(AddressCardsRequest, {"ids": ids, "version": version, "query": query})
        keep = None
        if request.query is not None and request.query.props:
            card_query = request.query
            keep = lambda text: card_filters.matches(card_query, text)  # noqa: E731
        found = address_book.cards(self.db, caller.org_id, request.ids, request.version, keep)
        return {"cards": found}
