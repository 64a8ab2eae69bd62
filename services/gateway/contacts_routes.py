"""HTTP routes of the contacts service: companies, contacts, employments, interests."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from services.contacts import schemas as contacts_api
from services.contacts.vcard.limits import VCardLimits, check_shape
from services.contacts.vcard.schemas import VCardImportOut
from services.gateway import list_preferences
from services.gateway.http import (
    attachment_response,
    created_response,
    json_response,
    read_body,
    read_query,
    route,
)
from services.gateway.list_preferences import plan_list
from services.gateway.schemas import (
    CompanyListPage,
    CompanyListQuery,
    ContactListPage,
    ContactListQuery,
    ContactVCardExportQuery,
    InterestMatchQuery,
    VCardImportQuery,
    VCardQuery,
)
from services.gateway.vcard_body import read_vcf
from services.gateway.views import announce_view

V1 = "/api/v1"
VCARD = "text/vcard"
# What clients send a .vcf file as: RFC 6350's type, the older x- type, and vCard 2.1's.
VCARD_MEDIA_TYPES = (VCARD, "text/x-vcard", "text/directory")


def _vcard_max_bytes(settings: Any) -> int:
    return settings.contacts.vcard_max_bytes


_created = created_response


class ContactsRoutes:
    """Mixed into the gateway service; ``self.contacts`` is the RPC client."""

    contacts: Any
    preferences: Any
    auth: Any
    dispatch_event: Any
    config: Any

    # -- companies --------------------------------------------------------

    @route(
        "GET",
        f"{V1}/companies",
        summary="Search companies (name, group, e-mail, phone)",
        tag="companies",
        query=CompanyListQuery,
        response=CompanyListPage,
    )
    def search_companies(self, request: Request) -> Response:
        caller = self.auth.caller()
        query = read_query(request, CompanyListQuery)
        plan = plan_list(query, list_preferences.COMPANIES, lambda: self.preferences.of(caller))
        return json_response(plan.annotate(self.contacts.search_companies(**plan.arguments)))

    @route(
        "POST",
        f"{V1}/companies",
        summary="Create a company",
        tag="companies",
        body=contacts_api.CompanyCreate,
        response=contacts_api.CompanyOut,
        status=201,
        replay_status=200,
        errors=(403, 409),
    )
    def create_company(self, request: Request) -> Response:
        self.auth.caller().require_writer()
        body = read_body(request, contacts_api.CompanyCreate)
        result = self.contacts.create_company(body.model_dump(mode="json", exclude_unset=True))
        return _created(result, f"{V1}/companies/{result['id']}")

    @route(
        "POST",
        f"{V1}/companies-with-contacts",
        summary="Create a company and contacts employed there, in one call",
        tag="companies",
        body=contacts_api.CompanyWithContacts,
        status=201,
        errors=(403, 409),
    )
    def create_company_with_contacts(self, request: Request) -> Response:
        self.auth.caller().require_writer()
        body = read_body(request, contacts_api.CompanyWithContacts)
        result = self.contacts.create_company_with_contacts(body.model_dump(mode="json", exclude_unset=True))
        return json_response(result, status=201)

    @route(
        "GET",
        f"{V1}/companies/<string:company_id>",
        summary="A company and its current contacts",
        tag="companies",
        response=contacts_api.CompanyWithEmployeesOut,
        errors=(404,),
    )
    def get_company(self, request: Request, company_id: str) -> Response:
        caller = self.auth.caller()
        company = self.contacts.get_company(company_id)
        announce_view(self.dispatch_event, caller, "companies", company_id)
        return json_response(company)

    @route(
        "PATCH",
        f"{V1}/companies/<string:company_id>",
        summary="Change a company",
        tag="companies",
        body=contacts_api.CompanyUpdate,
        response=contacts_api.CompanyOut,
        errors=(403, 404, 409),
    )
    def update_company(self, request: Request, company_id: str) -> Response:
        self.auth.caller().require_writer()
        body = read_body(request, contacts_api.CompanyUpdate)
        changes = body.model_dump(mode="json", exclude_unset=True)
        return json_response(self.contacts.update_company(company_id, changes))

    @route(
        "DELETE",
        f"{V1}/companies/<string:company_id>",
        summary="Archive a company: it leaves lists and searches; its employments and contacts stay",
        tag="companies",
        status=204,
        errors=(403, 404),
    )
    def delete_company(self, request: Request, company_id: str) -> Response:
        self.auth.caller().require_writer()
        self.contacts.delete_company(company_id)
        return Response(status=204)

    @route(
        "POST",
        f"{V1}/companies/<string:company_id>/restore",
        summary="Restore an archived company with its employments (409 if it is not archived)",
        tag="companies",
        body_required=False,
        response=contacts_api.CompanyOut,
        errors=(403, 404, 409),
    )
    def restore_company(self, request: Request, company_id: str) -> Response:
        self.auth.caller().require_writer()
        return json_response(self.contacts.restore_company(company_id))

    @route(
        "DELETE",
        f"{V1}/companies/<string:company_id>/purge",
        summary="Delete an archived company for good, with the employments at it (admin)",
        tag="companies",
        admin=True,
        status=204,
        errors=(404, 409),
    )
    def purge_company(self, request: Request, company_id: str) -> Response:
        self.auth.caller().require_admin().require_writer()
        self.contacts.purge_company(company_id)
        return Response(status=204)

    # -- contacts ---------------------------------------------------------

    @route(
        "GET",
        f"{V1}/contacts",
        summary="Search contacts (names, e-mails, phones, companies)",
        tag="contacts",
        query=ContactListQuery,
        response=ContactListPage,
    )
    def search_contacts(self, request: Request) -> Response:
        caller = self.auth.caller()
        query = read_query(request, ContactListQuery)
        plan = plan_list(query, list_preferences.CONTACTS, lambda: self.preferences.of(caller))
        return json_response(plan.annotate(self.contacts.search_contacts(**plan.arguments)))

    @route(
        "POST",
        f"{V1}/contacts",
        summary="Create a contact (optionally with employments)",
        tag="contacts",
        body=contacts_api.ContactCreate,
        response=contacts_api.ContactDetailOut,
        status=201,
        replay_status=200,
        errors=(403, 404, 409),
    )
    def create_contact(self, request: Request) -> Response:
        self.auth.caller().require_writer()
        body = read_body(request, contacts_api.ContactCreate)
        result = self.contacts.create_contact(body.model_dump(mode="json", exclude_unset=True))
        return _created(result, f"{V1}/contacts/{result['id']}")

    @route(
        "GET",
        f"{V1}/contacts/<string:contact_id>",
        summary="A contact with the history of their employments",
        tag="contacts",
        response=contacts_api.ContactDetailOut,
        errors=(404,),
    )
    def get_contact(self, request: Request, contact_id: str) -> Response:
        caller = self.auth.caller()
        contact = self.contacts.get_contact(contact_id)
        announce_view(self.dispatch_event, caller, "contacts", contact_id)
        return json_response(contact)

    @route(
        "PATCH",
        f"{V1}/contacts/<string:contact_id>",
        summary="Change a contact",
        tag="contacts",
        body=contacts_api.ContactUpdate,
        response=contacts_api.ContactDetailOut,
        errors=(403, 404, 409),
    )
    def update_contact(self, request: Request, contact_id: str) -> Response:
        self.auth.caller().require_writer()
        body = read_body(request, contacts_api.ContactUpdate)
        changes = body.model_dump(mode="json", exclude_unset=True)
        return json_response(self.contacts.update_contact(contact_id, changes))

    @route(
        "DELETE",
        f"{V1}/contacts/<string:contact_id>",
        summary="Archive a contact: it leaves lists and searches; its employments and interests stay",
        tag="contacts",
        status=204,
        errors=(403, 404),
    )
    def delete_contact(self, request: Request, contact_id: str) -> Response:
        self.auth.caller().require_writer()
        self.contacts.delete_contact(contact_id)
        return Response(status=204)

    @route(
        "POST",
        f"{V1}/contacts/<string:contact_id>/restore",
        summary="Restore an archived contact with its employments (409 if not archived, or its e-mail taken)",
        tag="contacts",
        body_required=False,
        response=contacts_api.ContactDetailOut,
        errors=(403, 404, 409),
    )
    def restore_contact(self, request: Request, contact_id: str) -> Response:
        self.auth.caller().require_writer()
        return json_response(self.contacts.restore_contact(contact_id))

    @route(
        "DELETE",
        f"{V1}/contacts/<string:contact_id>/purge",
        summary="Delete an archived contact for good, with its employments and interests (admin)",
        tag="contacts",
        admin=True,
        status=204,
        errors=(404, 409),
    )
    def purge_contact(self, request: Request, contact_id: str) -> Response:
        self.auth.caller().require_admin().require_writer()
        self.contacts.purge_contact(contact_id)
        return Response(status=204)

    # -- vCard ------------------------------------------------------------
    # The list routes are not under /contacts/, where <contact_id> would take their names.

    @route(
        "GET",
        f"{V1}/contacts/<string:contact_id>/vcard",
        summary="A contact as a vCard 3.0 or 4.0 (a .vcf download)",
        tag="contacts",
        query=VCardQuery,
        response_media_type=VCARD,
        errors=(404,),
    )
    def export_contact_vcard(self, request: Request, contact_id: str) -> Response:
        self.auth.caller()
        query = read_query(request, VCardQuery)
        exported = self.contacts.export_vcard(contact_id, query.version)
        return attachment_response(exported["content"], VCARD, exported["file_name"])

    @route(
        "GET",
        f"{V1}/contacts-export.vcf",
        summary="Every contact a search finds, in its order, as vCards (a .vcf download)",
        tag="contacts",
        query=ContactVCardExportQuery,
        response_media_type=VCARD,
    )
    def export_contacts_vcard(self, request: Request) -> Response:
        self.auth.caller()
        query = read_query(request, ContactVCardExportQuery)
        cards, cursor = [], None
        while True:  # a page per call, so that no call outlives the RPC deadline
            page = self.contacts.export_vcards(query.q, query.sort, query.direction, query.version, cursor)
            cards.append(page["content"])
            cursor = page["next_cursor"]
            if not isinstance(cursor, str):  # null after the last page
                return attachment_response("".join(cards), VCARD, "contacts.vcf")

    @route(
        "POST",
        f"{V1}/contacts-import.vcf",
        summary="Import a .vcf file: each card creates or updates a contact; bad cards are reported",
        tag="contacts",
        query=VCardImportQuery,
        request_media_type=VCARD,
        response=VCardImportOut,
        errors=(403, 429),
        max_body_bytes=_vcard_max_bytes,
    )
    def import_contacts_vcard(self, request: Request) -> Response:
        self.auth.caller().require_writer()
        query = read_query(request, VCardImportQuery)
        settings = self.config["CRM"]
        content = read_vcf(request, VCARD_MEDIA_TYPES, _vcard_max_bytes(settings))
        # Refused here, a hostile file never crosses the broker nor reaches the contacts service.
        check_shape(
            content,
            VCardLimits(settings.contacts.vcard_max_lines, settings.contacts.vcard_max_property_chars),
        )
        return json_response(self.contacts.import_vcards(content, query.dry_run))

    # -- employments ------------------------------------------------------

    @route(
        "POST",
        f"{V1}/contacts/<string:contact_id>/employments",
        summary="Employ a contact at a company",
        tag="contacts",
        body=contacts_api.EmploymentCreate,
        response=contacts_api.EmploymentOut,
        status=201,
        errors=(403, 404, 409),
    )
    def add_employment(self, request: Request, contact_id: str) -> Response:
        self.auth.caller().require_writer()
        body = read_body(request, contacts_api.EmploymentCreate)
        result = self.contacts.add_employment(contact_id, body.model_dump(mode="json", exclude_unset=True))
        return json_response(result, status=201)

    @route(
        "PATCH",
        f"{V1}/employments/<string:employment_id>",
        summary="Change an employment (function, dates, professional details)",
        tag="contacts",
        body=contacts_api.EmploymentUpdate,
        response=contacts_api.EmploymentOut,
        errors=(403, 404, 409),
    )
    def update_employment(self, request: Request, employment_id: str) -> Response:
        self.auth.caller().require_writer()
        body = read_body(request, contacts_api.EmploymentUpdate)
        changes = body.model_dump(mode="json", exclude_unset=True)
        return json_response(self.contacts.update_employment(employment_id, changes))

    @route(
        "DELETE",
        f"{V1}/employments/<string:employment_id>",
        summary="Remove an employment",
        tag="contacts",
        status=204,
        errors=(403, 404),
    )
    def delete_employment(self, request: Request, employment_id: str) -> Response:
        self.auth.caller().require_writer()
        self.contacts.delete_employment(employment_id)
        return Response(status=204)

    # -- interests --------------------------------------------------------

    @route(
        "GET",
        f"{V1}/interests",
        summary="The organisation's interests",
        tag="interests",
        response=contacts_api.InterestList,
    )
    def list_interests(self, request: Request) -> Response:
        self.auth.caller()
        return json_response(self.contacts.list_interests())

    @route(
        "POST",
        f"{V1}/interests",
        summary="Add an interest to the organisation's list",
        tag="interests",
        body=contacts_api.InterestCreate,
        response=contacts_api.InterestOut,
        status=201,
        replay_status=200,
        errors=(403, 409),
    )
    def create_interest(self, request: Request) -> Response:
        self.auth.caller().require_writer()
        body = read_body(request, contacts_api.InterestCreate)
        result = self.contacts.create_interest(body.model_dump(mode="json", exclude_unset=True))
        return _created(result, f"{V1}/interests/{result['id']}")

    @route(
        "DELETE",
        f"{V1}/interests/<string:interest_id>",
        summary="Remove an interest (and from every contact)",
        tag="interests",
        admin=True,
        status=204,
        errors=(404,),
    )
    def delete_interest(self, request: Request, interest_id: str) -> Response:
        self.auth.caller().require_admin().require_writer()
        self.contacts.delete_interest(interest_id)
        return Response(status=204)

    @route(
        "GET",
        f"{V1}/interests/matching/contacts",
        summary="Contacts having all (or any) of the interests, with their current companies",
        tag="interests",
        query=InterestMatchQuery,
        response=contacts_api.ContactPage,
        errors=(404,),
    )
    def contacts_by_interests(self, request: Request) -> Response:
        self.auth.caller()
        query = read_query(request, InterestMatchQuery)
        return json_response(
            self.contacts.find_contacts_by_interests(
                query.interest_ids, query.match, query.limit, query.cursor
            )
        )

    @route(
        "GET",
        f"{V1}/interests/matching/companies",
        summary="Companies with a current contact having all (or any) of the interests",
        tag="interests",
        query=InterestMatchQuery,
        response=contacts_api.CompanyPage,
        errors=(404,),
    )
    def companies_by_interests(self, request: Request) -> Response:
        self.auth.caller()
        query = read_query(request, InterestMatchQuery)
        return json_response(
            self.contacts.find_companies_by_interests(
                query.interest_ids, query.match, query.limit, query.cursor
            )
        )
