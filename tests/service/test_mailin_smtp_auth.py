"""SMTP AUTH for mail clients outside the office: after STARTTLS, an ingest address and its SMTP
password, delivering to that address only. Real clients (smtplib, swaks) on the real listener."""

from __future__ import annotations

import datetime
import ipaddress
import smtplib
import ssl
import subprocess
from email.message import EmailMessage

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.database import create_service_engine
from services.mailin import smtp_passwords
from services.mailin.models import IngestAddress
from tests.mailin_listener import INGEST_DOMAIN, ListenerProcess, add_ingest_address, write_config


def _self_signed(folder) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, INGEST_DOMAIN)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(INGEST_DOMAIN), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp.pem", folder / "smtp.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_path), str(key_path)


@pytest.fixture(scope="module")
def listener(migrated, tmp_path_factory):
    folder = tmp_path_factory.mktemp("smtp-auth")
    cert, key = _self_signed(folder)
    # The test's own address (127.0.0.1) is outside the office network here.
    path, settings = write_config(
        migrated,
        folder,
        smtp_auth=True,
        tls_cert_file=cert,
        tls_key_file=key,
        trusted_networks=["10.99.0.0/16"],
    )
    process = ListenerProcess(path, settings).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def engine(migrated):
    engine = create_service_engine(migrated, "mailin")
    yield engine
    engine.dispose()


def _user_with_password(engine, local_part: str) -> tuple[str, str]:
    _org_id, user_id = add_ingest_address(engine, local_part)
    with Session(engine) as session:
        login = smtp_passwords.issue(session, user_id, INGEST_DOMAIN)
        session.commit()
    return login["username"], login["password"]


def _message(to: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "alice.martin@pomme.fr"
    message["To"] = to
    message["Subject"] = "Devis Boulangerie Dupont (envoyé en déplacement)"
    message.set_content("Ci-joint le devis.\n")
    return message


def _client(listener) -> smtplib.SMTP:
    client = smtplib.SMTP("127.0.0.1", listener.port, timeout=10)
    client.ehlo("portable-alice")
    return client


def test_outside_the_office_plain_delivery_is_refused_and_auth_comes_after_starttls(listener, engine):
    username, _password = _user_with_password(engine, "uauth000000000001")
    client = _client(listener)
    assert not client.has_extn("auth")  # never over a plain connection
    code, _ = client.mail("alice.martin@pomme.fr")
    assert code == 530
    client.starttls(context=ssl._create_unverified_context())
    client.ehlo("portable-alice")
    assert "PLAIN" in client.esmtp_features["auth"] and "LOGIN" in client.esmtp_features["auth"]
    client.quit()


def test_a_mail_client_logs_in_with_its_ingest_address_and_writes_to_it_only(listener, engine):
    username, password = _user_with_password(engine, "uauth000000000002")
    colleague, _ = _user_with_password(engine, "uauth000000000003")
    client = _client(listener)
    client.starttls(context=ssl._create_unverified_context())
    client.ehlo("portable-alice")
    with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        client.login(username, password + "x")
    assert refused.value.smtp_code == 535
    client.login(username, password)

    refused_recipients = client.send_message(_message(username), to_addrs=[username])
    assert refused_recipients == {}
    with pytest.raises(smtplib.SMTPRecipientsRefused) as other:
        client.send_message(_message(colleague), to_addrs=[colleague])
    code, reply = other.value.recipients[colleague]
    assert code == 550 and b"own ingest address" in reply
    client.quit()


def test_swaks_sends_with_auth_plain_over_starttls_and_a_revoked_password_is_refused(listener, engine):
    username, password = _user_with_password(engine, "uauth000000000004")
    server = f"127.0.0.1:{listener.port}"
    common = ["--server", server, "--to", username, "--from", "alice.martin@pomme.fr", "--tls"]
    sent = subprocess.run(
        ["swaks", *common, "--auth", "PLAIN", "--auth-user", username, "--auth-password", password],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert "250 2.0.0 OK stored" in sent.stdout

    with Session(engine) as session:
        user_id = session.execute(
            select(IngestAddress.user_id).where(IngestAddress.local_part == "uauth000000000004")
        ).scalar_one()
        smtp_passwords.revoke(session, user_id)
        session.commit()
    again = subprocess.run(
        ["swaks", *common, "--auth", "LOGIN", "--auth-user", username, "--auth-password", password],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert again.returncode != 0
    assert "535" in again.stdout


def test_a_password_is_letters_and_digits_that_any_client_or_command_line_takes(engine):
    """Pasted after a command-line option, a password starting with '-' read as an option (swaks
    refused one in CI): passwords are 24 letters and digits."""
    _org_id, user_id = add_ingest_address(engine, "uauth000000000009")
    with Session(engine) as session:
        passwords = [smtp_passwords.issue(session, user_id, INGEST_DOMAIN)["password"] for _ in range(300)]
        session.commit()
    assert all(len(password) == 24 and password.isalnum() and password.isascii() for password in passwords)
    assert len(set(passwords)) == 300
