"""Entrypoints for interaction templates: keep them, and run one into a new interaction.

Mixed into ``InteractionsService``, whose dependencies they use.

Services are asked before the transaction opens (no row stays locked while another
service answers): the caller from ``accounts``, the company and contact from ``contacts``.
"""

from __future__ import annotations

from typing import Any

from crm.errors import NotFound, invalid
from crm.rpc import rpc
from crm.validation import validate
from services.interactions import templates
from services.interactions.template_schemas import TemplateCreate, TemplateRun, TemplateUpdate


class TemplateEntrypoints:
    db: Any
    caller: Any
    accounts: Any
    caller_users: Any
    contacts: Any

    @rpc
    def list_templates(self) -> list[dict[str, Any]]:
        """The organisation's templates, by name."""
        caller = self.caller.user()
        with self.db.read() as session:
            return templates.list_templates(session, caller.org_id)

    @rpc
    def create_template(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create a template (admin). An unknown tag in the subject, or an unknown type or status,
        is refused naming the field. The id of an existing template with the same content is a
        replay (``created`` false)."""
        caller = self.caller.admin_writer()
        request = validate(TemplateCreate, data)
        with self.db.transaction() as uow:
            record, created = templates.create_template(uow, caller, request)
        return {**record, "created": created}

    @rpc
    def update_template(self, template_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Change the fields given (admin), checked as on create; ``counter`` restarts the numbering."""
        caller = self.caller.admin_writer()
        request = validate(TemplateUpdate, changes)
        with self.db.transaction() as uow:
            return templates.update_template(uow, caller, template_id, request)

    @rpc
    def delete_template(self, template_id: str) -> None:
        """Delete a template (admin); the interactions it created stay."""
        caller = self.caller.admin_writer()
        with self.db.transaction() as uow:
            templates.delete_template(uow, caller, template_id)

    @rpc
    def run_template(self, template_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Create the template's interaction, its subject's tags filled, starting at ``start_at``
        (default now) and lasting the template's duration; the template's counter moves on by one."""
        caller = self.caller.writer()
        request = validate(TemplateRun, data)
        user = self.caller_users.of(caller, self.accounts)
        company = contact = None
        try:
            if request.company_id is not None:
                company = self.contacts.get_company(request.company_id)
        except NotFound:
            raise invalid("company_id", f"no company {request.company_id}") from None
        try:
            if request.contact_id is not None:
                contact = self.contacts.get_contact(request.contact_id)
        except NotFound:
            raise invalid("contact_id", f"no contact {request.contact_id}") from None
        if request.owner_id is not None and request.owner_id != caller.user_id:
            try:
                self.accounts.get_user(request.owner_id)
            except NotFound:
                raise invalid("owner_id", f"no user {request.owner_id} in your organisation") from None
        with self.db.transaction() as uow:
            return templates.run(uow, caller, template_id, request, user, company, contact)
