"""What the SMS tests do as CRM users: buy credits, issue a code, send."""

from __future__ import annotations

from tests.people import ALICE, BOB

HELLO = "Bonjour Mme Dupont, votre commande est prête. Pomme Magasin"
JEANNE_MOBILE = "06 12 34 56 78"


def buy(messaging, credits: int, reference: str = "FAC-2026-001", person=ALICE) -> dict:
    return messaging.as_user(person).purchase_credits({"credits": credits, "reference": reference})


def code_for(messaging, person=BOB, **options) -> str:
    return messaging.as_user(ALICE).issue_authorization_code({"user_id": person.user_id, **options})["code"]


def send(messaging, code: str, person=BOB, key: str | None = None, **fields) -> dict:
    data = {"to": JEANNE_MOBILE, "body": HELLO, "authorization_code": code, **fields}
    return messaging.as_user(person).send_sms(data, key)
