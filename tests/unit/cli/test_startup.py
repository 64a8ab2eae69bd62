"""A broker that runs but refuses us is reported as a refusal, not as down."""

from __future__ import annotations

from pathlib import Path

from amqp.exceptions import AccessRefused, NotAllowed

from cli.startup import broker_refusal, crm_command

URI = "amqp://crm:secret@127.0.0.1:5672/pomme"


def test_a_refused_password_says_so_without_showing_it():
    refusal = broker_refusal(AccessRefused("ACCESS_REFUSED - Login was refused"), URI)

    assert refusal.startswith(
        "RabbitMQ at amqp://crm:***@127.0.0.1:5672/pomme refused the user name or password"
    )
    assert "secret" not in refusal and "start" not in refusal.lower()


def test_a_missing_vhost_names_it_and_how_to_create_it():
    refusal = broker_refusal(NotAllowed("vhost pomme not found"), URI)

    assert "refused the vhost 'pomme' (vhost pomme not found)" in refusal
    assert "rabbitmqctl add_vhost pomme" in refusal


def test_a_broker_that_does_not_answer_is_no_refusal():
    assert broker_refusal(ConnectionRefusedError(111, "Connection refused"), URI) is None


def test_crm_is_named_plainly_when_the_path_finds_this_one(tmp_path):
    script = tmp_path / ".venv" / "bin" / "crm"

    assert crm_command(str(script), script, Path("/elsewhere")) == "crm"


def test_crm_off_the_path_is_named_by_its_path_from_the_project_folder(tmp_path):
    script = tmp_path / ".venv" / "bin" / "crm"

    assert crm_command(None, script, tmp_path) == ".venv/bin/crm"
    assert crm_command("/usr/bin/crm", script, Path("/elsewhere")) == str(script)
