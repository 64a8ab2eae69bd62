"""A broker that runs but refuses us is reported as a refusal, not as down."""

from __future__ import annotations

from amqp.exceptions import AccessRefused, NotAllowed

from cli.startup import broker_refusal

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
