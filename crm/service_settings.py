"""The settings sections of the services (``contacts:``, ``messaging:``, ``interactions:``,
``mail:``, ``mailin:``, ``sync:``), one typed model each; ``crm.settings`` assembles them with
the plumbing sections into ``Settings`` and reads the file."""

from __future__ import annotations

import pycountry
from pydantic import BaseModel, ConfigDict, Field, field_validator


class Section(BaseModel):
    """Base of every settings section: an unknown key is an error, never ignored."""

    model_config = ConfigDict(extra="forbid")


class MailSettings(Section):
    # Users forward mail to <their ingest local part>@<ingest_domain>.
    ingest_domain: str = "in.crm.localhost"


class MailinSettings(Section):
    # The SMTP ingest listener (its own process: `crm serve mailin-smtp`). 2525 runs without root.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=2525, ge=0, le=65535)
    # The name in the greeting and EHLO answer; empty: mail.ingest_domain.
    smtp_hostname: str = ""
    # Advertised with SIZE; a bigger message is refused (552) and nothing is stored.
    max_message_bytes: int = Field(default=25 * 1024 * 1024, ge=1024, le=200 * 1024 * 1024)
    max_recipients: int = Field(default=50, ge=1, le=1000)
    # Open connections from one client address; one more is answered 421 and closed.
    max_connections_per_client: int = Field(default=25, ge=1, le=10_000)
    # Waiting for the next command, and for a whole message once DATA began.
    command_timeout_seconds: float = Field(default=120, gt=0, le=3600)
    data_timeout_seconds: float = Field(default=600, gt=0, le=7200)
    # Plain delivery is accepted from these networks only (scanners and mail servers of the office).
    trusted_networks: list[str] = Field(
        default_factory=lambda: [
            "127.0.0.0/8",
            "::1/128",
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "fc00::/7",
        ]
    )
    # STARTTLS is offered when both are set (PEM files).
    tls_cert_file: str = ""
    tls_key_file: str = ""
    # Offer AUTH PLAIN/LOGIN after STARTTLS: mail clients outside the trusted networks log in
    # with the user's ingest address and SMTP password, and deliver to that address only.
    smtp_auth: bool = False
    # Threads the listener stores messages and looks recipients up with (its database pool too).
    database_threads: int = Field(default=8, ge=1, le=64)
    # How often the mailin service looks for stored messages not processed yet.
    poll_interval_seconds: float = Field(default=0.5, gt=0, le=60)
    # Deliveries processed at once by one mailin process.
    processing_concurrency: int = Field(default=4, ge=1, le=64)
    # Encrypts IMAP mailbox passwords at rest: a Fernet key, or any passphrase (a key is derived
    # from it). Empty: a key is made once in {data_dir}/mailin-secret.key (a warning says so);
    # every mailin process must share it, so set it wherever mailin runs on several machines.
    secret_key: str = ""
    # Each mailbox is checked this often (and when its user asks, "check now").
    imap_check_minutes: int = Field(default=5, ge=1, le=24 * 60)
    # A check that has not finished after this long is taken to have died, and may be taken over.
    imap_check_stale_seconds: int = Field(default=900, ge=60, le=86400)
    # Messages fetched per round trip, and at most per check (the rest waits for the next check).
    imap_batch_size: int = Field(default=20, ge=1, le=1000)
    imap_max_messages_per_check: int = Field(default=500, ge=1, le=100_000)
    # A larger message (RFC822.SIZE, asked before its body) is skipped and named on the mailbox.
    imap_max_message_bytes: int = Field(default=25 * 1024 * 1024, ge=1024, le=200 * 1024 * 1024)
    # Connect, and each read, give up after this long.
    imap_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    # A PEM file of certificate authorities trusted beside the system's (a company's own CA).
    imap_ca_file: str = ""

    @field_validator("trusted_networks")
    @classmethod
    def _networks(cls, networks: list[str]) -> list[str]:
        import ipaddress

        for network in networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"{network!r} is not a network such as 192.168.0.0/16") from None
        return networks


class ContactsSettings(Section):
    # Phone numbers typed without a country code are read in this region (ISO 3166 alpha-2).
    default_phone_region: str = "FR"
    # Largest CSV file an import accepts; the gateway lets the import route's body grow to match.
    import_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024, le=200 * 1024 * 1024)
    # Rows written per transaction by an import job; progress moves a batch at a time.
    import_batch_size: int = Field(default=1000, ge=1, le=5000)
    # A vCard import runs within one RPC call: its file and its number of cards are capped so
    # that it ends within the gateway's deadline (a card takes about 10 ms on a laptop).
    vcard_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, le=50 * 1024 * 1024)
    vcard_max_cards: int = Field(default=500, ge=1, le=100_000)
    # Measured before any card is read, and refused at once (422) beyond: the file's lines (a 5 MB
    # export folded at 75 columns has 70,000), and a property's length once its folded lines are
    # joined (a photo in base64 is the longest an export holds).
    vcard_max_lines: int = Field(default=100_000, ge=100, le=10_000_000)
    vcard_max_property_chars: int = Field(default=1_000_000, ge=1000, le=50_000_000)
    # vCard imports one organisation runs at once in one contacts process; one more is a 429, so
    # that an organisation's imports never hold every worker while other organisations wait.
    vcard_imports_per_org: int = Field(default=1, ge=1, le=50)

    @field_validator("default_phone_region")
    @classmethod
    def _known_region(cls, region: str) -> str:
        if len(region) != 2 or pycountry.countries.get(alpha_2=region.upper()) is None:
            raise ValueError("must be an ISO 3166 country code such as FR")
        return region.upper()


class TwilioSettings(Section):
    account_sid: str = "AC00000000000000000000000000sandbox"
    auth_token: str = "sandbox-auth-token"
    # The number (or alphanumeric sender id) SMS are sent from.
    sender: str = "+15005550006"
    # Empty: Twilio itself (or the sandbox in sandbox mode).
    api_base: str = ""


class SendGridSettings(Section):
    api_key: str = "SG.sandbox"
    api_base: str = ""
    # The event webhook's verification key (base64 DER) from SendGrid's mail settings.
    webhook_public_key: str = ""


class MailjetSettings(Section):
    api_key: str = "sandbox-key"
    api_secret: str = "sandbox-secret"
    api_base: str = ""
    # The user and password Mailjet's event callback URL carries (basic auth).
    webhook_user: str = "mailjet"
    webhook_password: str = "sandbox-webhook-password"


class SmtpOutSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=25, ge=1, le=65535)
    username: str = ""
    password: str = ""
    starttls: bool = False


class MessagingSettings(Section):
    # Sandbox: every provider is the local emulation the messaging service starts on
    # sandbox_port; nothing leaves the machine. Set false and give real credentials to go live.
    sandbox: bool = True
    sandbox_port: int = Field(default=8025, ge=0, le=65535)
    # Where providers reach /webhooks/...; empty means gateway.public_url, else http://host:port.
    webhook_base_url: str = ""
    # SendGrid signs events with a timestamp: older (or newer) than this is a replay.
    webhook_max_age_seconds: int = Field(default=600, ge=10, le=86400)
    sms_max_segments: int = Field(default=10, ge=1, le=50)
    # The attachments of one e-mail, decoded, together.
    email_max_attachment_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=30 * 1024 * 1024)
    # Stored provider events are applied to their messages in batches (every 0.2 s) after the answer.
    event_batch_size: int = Field(default=100, ge=1, le=10_000)
    # A message still "sending" this long after its send began was never taken by the provider
    # (the send was interrupted): it is failed, and an SMS refunded.
    interrupted_send_seconds: int = Field(default=900, ge=60, le=7 * 86400)
    twilio: TwilioSettings = Field(default_factory=TwilioSettings)
    sendgrid: SendGridSettings = Field(default_factory=SendGridSettings)
    mailjet: MailjetSettings = Field(default_factory=MailjetSettings)
    smtp: SmtpOutSettings = Field(default_factory=SmtpOutSettings)


class InteractionsSettings(Section):
    # Largest uploaded document; the gateway lets the upload route's body grow to match.
    document_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)


class GoogleContactsSettings(Section):
    # The OAuth client of Google Cloud's console (a "web application" client). The defaults are the
    # sandbox's own: they work in sandbox mode only.
    client_id: str = "sandbox-client.apps.googleusercontent.com"
    client_secret: str = "sandbox-google-client-secret"
    # Where Google sends the browser back after consent: the gateway's /api/v1/google/callback.
    # Empty: {gateway.public_url or http://host:port}/api/v1/google/callback.
    redirect_uri: str = ""
    # Where the callback sends the browser afterwards (with ?google=connected or ?google=error&reason=);
    # empty: the callback answers JSON.
    after_connect_url: str = ""
    # Google's addresses. Empty: Google's own, or the provider sandbox in sandbox mode (messaging.sandbox).
    auth_uri: str = ""
    token_uri: str = ""
    revoke_uri: str = ""
    api_endpoint: str = ""
    # The Google contact group (label) the sync covers, made when missing.
    group_name: str = Field(default="SimpleCRM", min_length=1, max_length=200)
    # Each connected user is synced this often; after a failure, again after retry_minutes.
    interval_minutes: int = Field(default=15, ge=1, le=24 * 60)
    retry_minutes: int = Field(default=10, ge=1, le=24 * 60)
    # Encrypts the Google refresh tokens (and the CRM API tokens the job acts with) at rest: a Fernet
    # key or a passphrase. Empty: a key made once in {data_dir}/sync-secret.key (a warning says so).
    secret_key: str = ""
    # People API calls give up after this long.
    timeout_seconds: float = Field(default=20.0, gt=0, le=300)


class SyncSettings(Section):
    # The scope of a phone (docs/sync.md): interactions from this many days back to this many
    # ahead, projects younger than project_days, what the user touched on the web in touched_days.
    interactions_past_days: int = Field(default=90, ge=0, le=3650)
    interactions_future_days: int = Field(default=30, ge=0, le=3650)
    project_days: int = Field(default=90, ge=0, le=3650)
    touched_days: int = Field(default=30, ge=0, le=3650)
    # Changes one push may carry.
    max_push_changes: int = Field(default=2000, ge=1, le=100_000)
    # Change-feed transactions (the owning services' events applied to the replica) a sync process
    # runs at once. Each holds the change counter's row lock from its first change to its commit,
    # so they run one after the other anyway: more only hold database connections while they
    # wait on that lock, and the phones' pulls and pushes then wait for a connection.
    feed_concurrency: int = Field(default=2, ge=1, le=64)
    # A user's calendar feed (GET /calendar/<token>.ics): interactions starting from this many
    # days back to this many ahead.
    calendar_past_days: int = Field(default=90, ge=0, le=3650)
    calendar_future_days: int = Field(default=365, ge=0, le=3650)
    # Megabytes of text (counted in characters) a sync process keeps of the calendar feeds it
    # wrote: half for users' last feeds, half for events' texts; an event is about 650 characters.
    calendar_cache_mb: int = Field(default=64, ge=0, le=4096)
    # For tests and demos only: a file holding a number of seconds added to sync's clock.
    clock_offset_file: str = ""
    # Google Contacts two-way sync (docs/google-contacts.md).
    google: GoogleContactsSettings = Field(default_factory=GoogleContactsSettings)
