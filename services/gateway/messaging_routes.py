"""HTTP routes of the messaging service: SMS credits, authorization codes, SMS, e-mail, reports."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError
from werkzeug.wrappers import Request, Response

from crm.errors import invalid
from services.gateway.http import created_response, json_response, read_body, read_query, route
from services.gateway.schemas import AuthorizationCodeQuery, CreditsQuery
from services.messaging import schemas as messaging_api

V1 = "/api/v1"
IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": 200,
    "pattern": r"^[\x21-\x7e]+$",
    "description": "Repeat a request with the same key and it is answered, not sent again.",
}


_IDEMPOTENCY_KEY = TypeAdapter(messaging_api.IdempotencyKey)


def idempotency_key(request: Request) -> str | None:
    """The request's Idempotency-Key header, checked (printable ASCII, at most 200 characters)."""
    raw = request.headers.get(IDEMPOTENCY_HEADER)
    if raw is None:
        return None
    try:
        return _IDEMPOTENCY_KEY.validate_python(raw)
    except ValidationError:
        raise invalid(IDEMPOTENCY_HEADER, "must be 1 to 200 printable ASCII characters") from None


class MessagingRoutes:
    """Mixed into the gateway service; ``self.messaging`` is the RPC client."""

    messaging: Any
    auth: Any

    # -- credits and authorization codes ------------------------------------

    @route(
        "GET",
        f"{V1}/sms/credits",
        summary="The organisation's SMS credit balance and ledger",
        tag="sms",
        query=CreditsQuery,
        response=messaging_api.CreditsOut,
    )
    def get_credits(self, request: Request) -> Response:
        self.auth.caller()
        query = read_query(request, CreditsQuery)
        return json_response(self.messaging.get_credits(query.limit, query.cursor))

    @route(
        "POST",
        f"{V1}/sms/credits/purchases",
        summary="Add purchased SMS credits (a reference is used once)",
        tag="sms",
        admin=True,
        body=messaging_api.CreditPurchase,
        response=messaging_api.CreditEntryOut,
        status=201,
        replay_status=200,
        errors=(409,),
    )
    def purchase_credits(self, request: Request) -> Response:
        self.auth.caller().require_admin().require_writer()
        body = read_body(request, messaging_api.CreditPurchase)
        result = self.messaging.purchase_credits(body.model_dump(mode="json"))
        return created_response(result, f"{V1}/sms/credits")

    @route(
        "GET",
        f"{V1}/sms/authorization-codes",
        summary="Authorization codes (admins see all; members their own)",
        tag="sms",
        query=AuthorizationCodeQuery,
    )
    def list_authorization_codes(self, request: Request) -> Response:
        self.auth.caller()
        query = read_query(request, AuthorizationCodeQuery)
        return json_response({"codes": self.messaging.list_authorization_codes(query.user_id)})

    @route(
        "POST",
        f"{V1}/sms/authorization-codes",
        summary="Issue an SMS authorization code to a user (the code is shown once)",
        tag="sms",
        admin=True,
        body=messaging_api.AuthorizationCodeCreate,
        response=messaging_api.AuthorizationCodeOut,
        status=201,
        errors=(404,),
    )
    def issue_authorization_code(self, request: Request) -> Response:
        self.auth.caller().require_admin().require_writer()
        body = read_body(request, messaging_api.AuthorizationCodeCreate)
        result = self.messaging.issue_authorization_code(body.model_dump(mode="json"))
        return json_response(result, status=201)

    @route(
        "DELETE",
        f"{V1}/sms/authorization-codes/<string:code_id>",
        summary="Revoke an authorization code",
        tag="sms",
        admin=True,
        response=messaging_api.AuthorizationCodeOut,
        errors=(404,),
    )
    def revoke_authorization_code(self, request: Request, code_id: str) -> Response:
        self.auth.caller().require_admin().require_writer()
        return json_response(self.messaging.revoke_authorization_code(code_id))

    # -- SMS ----------------------------------------------------------------

    @route(
        "POST",
        f"{V1}/sms",
        summary="Send an SMS with your authorization code (one credit per segment)",
        tag="sms",
        body=messaging_api.SmsSend,
        response=messaging_api.SmsOut,
        status=201,
        replay_status=200,
        errors=(402, 403, 409),
        headers={IDEMPOTENCY_HEADER: IDEMPOTENCY_SCHEMA},
    )
    def send_sms(self, request: Request) -> Response:
        self.auth.caller().require_writer()
        key = idempotency_key(request)
        body = read_body(request, messaging_api.SmsSend)
        result = self.messaging.send_sms(body.model_dump(mode="json"), key)
        return created_response(result, f"{V1}/sms/{result['id']}")

    @route(
        "GET",
        f"{V1}/sms/<string:sms_id>",
        summary="One SMS and its delivery status",
        tag="sms",
        response=messaging_api.SmsOut,
        errors=(404,),
    )
    def get_sms(self, request: Request, sms_id: str) -> Response:
        self.auth.caller()
        return json_response(self.messaging.get_sms(sms_id))

    # -- e-mail -------------------------------------------------------------

    @route(
        "GET", f"{V1}/emails/settings", summary="The organisation's e-mail provider and sender", tag="emails"
    )
    def get_email_settings(self, request: Request) -> Response:
        self.auth.caller()
        return json_response(self.messaging.get_email_settings())

    @route(
        "PUT",
        f"{V1}/emails/settings",
        summary="Choose the e-mail provider, a fallback provider and the sender",
        tag="emails",
        admin=True,
        body=messaging_api.EmailSettingsUpdate,
    )
    def update_email_settings(self, request: Request) -> Response:
        self.auth.caller().require_admin().require_writer()
        body = read_body(request, messaging_api.EmailSettingsUpdate)
        return json_response(self.messaging.update_email_settings(body.model_dump(mode="json")))

    @route(
        "POST",
        f"{V1}/emails",
        summary="Send an e-mail to one recipient",
        tag="emails",
        body=messaging_api.EmailSend,
        response=messaging_api.EmailOut,
        status=201,
        replay_status=200,
        errors=(403, 409),
        headers={IDEMPOTENCY_HEADER: IDEMPOTENCY_SCHEMA},
        max_body_bytes=lambda settings: settings.messaging.email_max_attachment_bytes * 4 // 3 + 2_097_152,
    )
    def send_email(self, request: Request) -> Response:
        self.auth.caller().require_writer()
        key = idempotency_key(request)
        body = read_body(request, messaging_api.EmailSend)
        result = self.messaging.send_email(body.model_dump(mode="json"), key)
        return created_response(result, f"{V1}/emails/{result['id']}")

    @route(
        "GET",
        f"{V1}/emails/suppressions",
        summary="Addresses e-mail will not go to (hard bounces, complaints)",
        tag="emails",
    )
    def list_suppressions(self, request: Request) -> Response:
        self.auth.caller()
        return json_response({"suppressions": self.messaging.list_suppressions()})

    @route(
        "DELETE",
        f"{V1}/emails/suppressions/<string:email>",
        summary="Lift the suppression of an address",
        tag="emails",
        admin=True,
        status=204,
        errors=(404,),
    )
    def lift_suppression(self, request: Request, email: str) -> Response:
        self.auth.caller().require_admin().require_writer()
        self.messaging.lift_suppression(email)
        return Response(status=204)

    @route(
        "GET",
        f"{V1}/emails/<string:message_id>",
        summary="One e-mail with its timeline of delivery and tracking events",
        tag="emails",
        response=messaging_api.EmailOut,
        errors=(404,),
    )
    def get_email(self, request: Request, message_id: str) -> Response:
        self.auth.caller()
        return json_response(self.messaging.get_email(message_id))

    # -- reports ------------------------------------------------------------

    @route(
        "GET",
        f"{V1}/reports/emails",
        summary="E-mail deliverability by organisation, user, dates and provider, and by recipient domain",
        tag="reports",
        query=messaging_api.ReportQuery,
        response=messaging_api.EmailReport,
    )
    def email_report(self, request: Request) -> Response:
        self.auth.caller()
        query = read_query(request, messaging_api.ReportQuery)
        return json_response(self.messaging.email_report(query.model_dump(mode="json", exclude_none=True)))

    @route(
        "GET",
        f"{V1}/reports/sms",
        summary="SMS sent per user with the credits used",
        tag="reports",
        query=messaging_api.ReportQuery,
        response=messaging_api.SmsReport,
    )
    def sms_report(self, request: Request) -> Response:
        self.auth.caller()
        query = read_query(request, messaging_api.ReportQuery)
        return json_response(self.messaging.sms_report(query.model_dump(mode="json", exclude_none=True)))
