"""The address of a ``MAIL FROM:`` or ``RCPT TO:``, read without the email package when it is a
plain ``<local@domain>``.

aiosmtpd reads every address with the email package's header parser (``get_angle_addr``),
and defines a typing ``Protocol`` class on each call: a quarter of the listener's CPU under
py-spy during bench.smtp_ingest. A plain address (a dot-atom local part, a domain of labels,
parameters after it) is read here with a regular expression, with the same answer; anything
else (quoted local parts, address literals, comments, the null sender ``<>``) goes to the
email package as before.
"""

from __future__ import annotations

import re

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN = re.compile(
    rf"[ \t]*<({_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)>"  # <local@domain>
    r"(?:[ \t]+(?![ \t(])(.*)|())",  # then nothing, or blanks and the parameters (no comment)
    re.DOTALL,
)


def plain_address(arg: str) -> tuple[str, str] | None:
    """``(address, the rest)`` as the email package reads a plain ``<local@domain> rest``;
    None for anything else."""
    match = _PLAIN.fullmatch(arg)
    if match is None:
        return None
    return match[1], match[2] if match[2] is not None else ""
