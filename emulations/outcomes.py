"""Magic addresses choose the outcome, like Twilio's test credentials.

- SMS to ``TWILIO_INVALID_NUMBER``: refused at once (400, Twilio error 21211);
- SMS to ``TWILIO_FAILING_NUMBER``: accepted, then a "failed" callback (error 30008);
- any other SMS: accepted, then "sent" and "delivered" callbacks;
- e-mail to an address at ``BOUNCE_DOMAIN``: accepted, then a hard bounce event;
- any other e-mail: accepted, then delivered.
"""

from __future__ import annotations

TWILIO_INVALID_NUMBER = "+15005550001"
TWILIO_FAILING_NUMBER = "+15005550009"
BOUNCE_DOMAIN = "bounce.sandbox.example.com"  # .test addresses fail e-mail validation


def bounces(address: str) -> bool:
    return address.lower().endswith("@" + BOUNCE_DOMAIN)
