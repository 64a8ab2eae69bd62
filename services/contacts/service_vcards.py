"""The contacts service's vCard entrypoints (export one or a search's contacts, import a file).

A mixin of ``ContactsService``: it uses that class's ``db``, ``caller``,
``import_slots``, ``config`` and ``region``.
"""

from __future__ import annotations

from typing import Any

from crm.rpc import rpc
from crm.validation import validate
from services.contacts.vcard import export as vcard_export
from services.contacts.vcard import importing as vcard_import
from services.contacts.vcard.schemas import VCardExport, VCardImport, VCardOptions


class VCardEntrypoints:
    db: Any
    caller: Any
    import_slots: Any
    config: Any
    region: str

    @rpc
    def export_vcard(self, contact_id: str, version: str = "3.0") -> dict[str, Any]:
        """The contact as a vCard 3.0 or 4.0: ``{file_name, content, count, next_cursor}``."""
        caller = self.caller.user()
        options = validate(VCardOptions, {"version": version})
        with self.db.read() as session:
            return vcard_export.export_contact(session, caller, contact_id, options.version)

    @rpc
    def export_vcards(
        self,
        q: str | None = None,
        sort: str = "last_name",
        direction: str = "asc",
        version: str = "3.0",
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """The contacts ``search_contacts`` finds for ``q``, in its order, as vCards: one page of
        cards per call; ``next_cursor`` asks for the next page, null after the last."""
        caller = self.caller.user()
        request = validate(
            VCardExport,
            {"q": q, "sort": sort, "direction": direction, "version": version, "cursor": cursor},
        )
        with self.db.read() as session:
            return vcard_export.export_search(session, caller, request, self.region)

    @rpc
    def import_vcards(self, content: str, dry_run: bool = False) -> dict[str, Any]:
        """Create or update a contact for each card of a .vcf file (by UID, then e-mail), with
        companies found by ORG name or created, and employments there.

        Each card is written in its own transaction: a bad card is reported in ``errors`` by
        number and property, and the others are imported. ``dry_run`` writes nothing. Cards
        still waiting when the gateway's deadline nears are reported as not imported. A file over
        the limits is refused before any card is read; one import too many for the organisation
        (``contacts.vcard_imports_per_org``) is ``RateLimited`` at once.
        """
        caller = self.caller.writer()
        request = validate(VCardImport, {"content": content, "dry_run": dry_run})
        settings = self.config["CRM"]
        seconds = settings.gateway.rpc_timeout_seconds * 0.8
        with self.import_slots.hold(caller.org_id, settings.contacts.vcard_imports_per_org):
            return vcard_import.import_vcards(self.db, caller, request, settings.contacts, seconds)
