"""HTTP routes for a user's IMAP mailboxes ("check inbox"): add, list, read, change, remove, test,
check now. Each user sees their own only; the password is taken, never answered."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from services.gateway.http import created_response, json_response, read_body, route
from services.mailin import schemas as mailin_api

V1 = "/api/v1"
_WHAT = (
    "The CRM reads the folder every `mailin.imap_check_minutes` (and on `POST .../check`); each new "
    "message becomes a pending e-mail interaction, as mail sent to your ingest address does."
)


class MailboxesRoutes:
    """Mixed into the gateway service; ``self.mailin`` is the RPC client."""

    mailin: Any
    auth: Any

    @route(
        "GET",
        f"{V1}/mailboxes",
        summary="Your IMAP mailboxes, with the state of their checks",
        tag="mailboxes",
        response=mailin_api.MailboxList,
    )
    def list_mailboxes(self, request: Request) -> Response:
        self.auth.caller()
        return json_response({"mailboxes": self.mailin.list_mailboxes()})

    @route(
        "POST",
        f"{V1}/mailboxes",
        summary="Add an IMAP mailbox for the CRM to read",
        tag="mailboxes",
        body=mailin_api.MailboxCreate,
        response=mailin_api.MailboxOut,
        status=201,
        errors=(403,),
        extra={"description": _WHAT + " Test it with `POST /mailboxes/{mailbox_id}/test`."},
    )
    def create_mailbox(self, request: Request) -> Response:
        self.auth.caller().require_writer()
        body = read_body(request, mailin_api.MailboxCreate)
        result = self.mailin.create_mailbox(body.model_dump(mode="json", exclude_unset=True))
        return created_response(result, f"{V1}/mailboxes/{result['id']}")

    @route(
        "GET",
        f"{V1}/mailboxes/<string:mailbox_id>",
        summary="One of your mailboxes: its settings (never the password) and its last check",
        tag="mailboxes",
        response=mailin_api.MailboxOut,
        errors=(404,),
    )
    def get_mailbox(self, request: Request, mailbox_id: str) -> Response:
        self.auth.caller()
        return json_response(self.mailin.get_mailbox(mailbox_id))

    @route(
        "PATCH",
        f"{V1}/mailboxes/<string:mailbox_id>",
        summary="Change a mailbox; another host, user name or folder starts its reading afresh",
        tag="mailboxes",
        body=mailin_api.MailboxUpdate,
        response=mailin_api.MailboxOut,
        errors=(403, 404, 409),
    )
    def update_mailbox(self, request: Request, mailbox_id: str) -> Response:
        self.auth.caller().require_writer()
        body = read_body(request, mailin_api.MailboxUpdate)
        changes = body.model_dump(mode="json", exclude_unset=True)
        return json_response(self.mailin.update_mailbox(mailbox_id, changes))

    @route(
        "DELETE",
        f"{V1}/mailboxes/<string:mailbox_id>",
        summary="Remove a mailbox and its password (the mail it brought stays)",
        tag="mailboxes",
        status=204,
        errors=(403, 404),
    )
    def delete_mailbox(self, request: Request, mailbox_id: str) -> Response:
        self.auth.caller().require_writer()
        self.mailin.delete_mailbox(mailbox_id)
        return Response(status=204)

    @route(
        "POST",
        f"{V1}/mailboxes/<string:mailbox_id>/test",
        summary="Log in and open the folder, changing nothing: ok, or what is wrong",
        tag="mailboxes",
        response=mailin_api.MailboxTestOut,
        errors=(404,),
        extra={
            "description": "Answers 200 either way. `error_code`: `auth_failed` (user name or password "
            "refused), `tls_failed` (no TLS, or a certificate not trusted), `host_unreachable` (no such "
            "host, nothing listening, no answer in time), `folder_missing` (the folder, or the folder to "
            "move to), `server_error`, `password_unreadable` (enter the password again); `error` says "
            "it in words, naming the host or folder."
        },
    )
    def test_mailbox(self, request: Request, mailbox_id: str) -> Response:
        self.auth.caller()
        return json_response(self.mailin.test_mailbox(mailbox_id))

    @route(
        "POST",
        f"{V1}/mailboxes/<string:mailbox_id>/check",
        summary="Check the mailbox now: store what is new",
        tag="mailboxes",
        response=mailin_api.MailboxCheckOut,
        errors=(403, 404, 409),
        extra={
            "description": "Answers how many messages this check stored and skipped (over the size "
            "limit), and the mailbox with its state; a failure (wrong password...) is in its "
            "`last_error` and `last_error_code`. 409 while another check of it is running."
        },
    )
    def check_mailbox(self, request: Request, mailbox_id: str) -> Response:
        self.auth.caller().require_writer()
        return json_response(self.mailin.check_mailbox(mailbox_id))

    # -- an SMTP password, for mail clients outside the office -------------------------------------

    @route(
        "POST",
        f"{V1}/me/smtp-password",
        summary="A new SMTP password for sending to your ingest address from outside the office",
        tag="mailboxes",
        response=mailin_api.SmtpPasswordOut,
        status=201,
        errors=(403, 404),
        body_required=False,
        extra={
            "description": "Mail clients outside the office network log in (AUTH PLAIN or LOGIN, after "
            "STARTTLS) with your ingest address and this password, and may then send to your own "
            "ingest address only. The password is shown once; asking again replaces it."
        },
    )
    def issue_smtp_password(self, request: Request) -> Response:
        self.auth.caller().require_writer()
        return json_response(self.mailin.issue_smtp_password(), status=201)

    @route(
        "DELETE",
        f"{V1}/me/smtp-password",
        summary="Your SMTP password stops working",
        tag="mailboxes",
        status=204,
        errors=(403,),
    )
    def revoke_smtp_password(self, request: Request) -> Response:
        self.auth.caller().require_writer()
        self.mailin.revoke_smtp_password()
        return Response(status=204)
