"""Live, every secret still at a value published in this repository is named; sandbox, none."""

from __future__ import annotations

import yaml

from cli.published_defaults import published_defaults
from crm.settings import parse_settings
from providers.sandbox_key import sandbox_sendgrid_public_key

# A live deployment that set every secret of its own.
LIVE = {
    "amqp_uri": "amqp://crm:Chambre-404-rouge@rabbitmq:5672/",
    "database": {"url": "postgresql://crm:Pomme-Siege-Central@postgres:5432/crm"},
    "auth": {"key_passphrase": "tilleul des quais"},
    "messaging": {
        "sandbox": False,
        "twilio": {"auth_token": "f3a9c1d2e4b5"},
        "mailjet": {"webhook_password": "ruelle-aux-lilas"},
    },
}


def live(**changes: object) -> list[str]:
    document = yaml.safe_load(yaml.safe_dump(LIVE))
    for dotted, value in changes.items():
        *sections, key = dotted.split("__")
        target = document
        for section in sections:
            target = target.setdefault(section, {})
        target[key] = value
    return published_defaults(parse_settings(yaml.safe_dump(document)))


def test_a_live_deployment_with_its_own_secrets_starts():
    assert live() == []


def test_the_sandbox_may_keep_every_published_default():
    assert published_defaults(parse_settings("{}")) == []


def test_rabbitmq_s_guest_password_is_refused_naming_amqp_uri():
    assert live(amqp_uri="amqp://guest:guest@127.0.0.1:5672/") == [
        "amqp_uri: RabbitMQ password 'guest' is a published default"
    ]


def test_the_old_compose_password_is_refused_in_any_of_several_broker_urls():
    found = live(amqp_uri="amqp://crm:s3cret-a@rabbit-a:5672/;amqp://crm:crm@rabbit-b:5672/")

    assert found == ["amqp_uri: RabbitMQ password 'crm' is a published default"]


def test_the_old_compose_database_password_is_refused():
    assert live(database__url="postgresql://crm:crm@postgres/crm") == [
        "database.url: password 'crm' is a published default"
    ]


def test_a_database_without_password_is_not_a_published_one():
    assert live(database__url="postgresql://postgres@127.0.0.1:5432/crm") == []


def test_no_key_passphrase_is_refused():
    assert live(auth__key_passphrase="") == [
        "auth.key_passphrase: empty, the token signing keys would be stored unencrypted"
    ]


def test_the_sandbox_twilio_token_is_refused_but_an_empty_one_is_not_in_use():
    assert [line.split(":")[0] for line in live(messaging__twilio__auth_token="sandbox-auth-token")] == [
        "messaging.twilio.auth_token"
    ]
    assert live(messaging__twilio__auth_token="") == []


def test_the_sandbox_mailjet_webhook_password_is_refused():
    found = live(messaging__mailjet__webhook_password="sandbox-webhook-password")

    assert [line.split(":")[0] for line in found] == ["messaging.mailjet.webhook_password"]


def test_the_sandbox_sendgrid_signing_key_is_refused_however_it_is_wrapped():
    key = sandbox_sendgrid_public_key()
    wrapped = "\n".join(key[i : i + 64] for i in range(0, len(key), 64))

    found = live(messaging__sendgrid__webhook_public_key=wrapped)

    assert [line.split(":")[0] for line in found] == ["messaging.sendgrid.webhook_public_key"]


def test_every_published_default_at_once_is_each_named():
    found = published_defaults(parse_settings("messaging: {sandbox: false}"))

    assert [line.split(":")[0] for line in found] == [
        "amqp_uri",
        "auth.key_passphrase",
        "messaging.twilio.auth_token",
        "messaging.mailjet.webhook_password",
    ]
