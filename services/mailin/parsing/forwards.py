"""The original sender of a forwarded mail, read from the header block the mail client wrote.

Gmail, Outlook and Thunderbird, in English and French, each write the forwarded
mail's headers as lines of text under a marker of their own, or (Outlook's
replies and newer forwards) under a rule or nothing at all::

    ---------- Forwarded message ---------       Gmail (French: Message transféré)
    From: Jean Dupont <jean.dupont@pomme.fr>

    -----Original Message-----                   Outlook (French: Message d'origine)
    From: Jean Dupont [mailto:jean.dupont@pomme.fr]
    Sent: Monday, November 30, 2026 10:12 AM     (French: De : / Envoyé :)

    -------- Forwarded Message --------          Thunderbird (French: Message transféré)
    Subject: 	Devis
    From: 	Jean Dupont <jean.dupont@pomme.fr>

The first such block is the mail that was forwarded: its From is the original sender.
"""

from __future__ import annotations

import re

from services.mailin.parsing.addresses import first_address
from services.mailin.parsing.shapes import Address

_MARKER = re.compile(
    r"^-{5,}\s*(?:forwarded message|message transf[ée]r[ée]|original message|message d'origine"
    r"|message d.origine|begin forwarded message)\s*-{2,}$"
    r"|^begin forwarded message\s*:$"
    r"|^début du message réexpédié\s*:$"
    r"|^_{10,}$",
    re.IGNORECASE,
)
FROM_LABELS = frozenset({"from", "de"})
HEADER_LABELS = frozenset(
    {"sent", "envoyé", "envoye", "date", "to", "à", "a", "pour", "cc", "subject", "objet", "sujet"}
)
# How far below a marker the From line may be (Thunderbird puts Subject and Date first).
_BLOCK_LINES = 12
_SCAN_LINES = 20_000


def original_sender(text: str) -> Address | None:
    """The sender named in the first forward header block of ``text``, or None when none is there."""
    if ":" not in text:
        return None  # every block names its sender on a "From:" or "De :" line
    lines = [_unquoted(line) for line in text.splitlines()[:_SCAN_LINES]]
    for index, line in enumerate(lines):
        if _MARKER.match(line):
            found = _from_in(lines[index + 1 : index + 1 + _BLOCK_LINES])
            if found is not None:
                return found
        elif _label(line)[0] in FROM_LABELS and _is_header_block(lines, index):
            found = first_address(_label(line)[1])
            if found is not None:
                return found
    return None


def _unquoted(line: str) -> str:
    """The line without reply quoting (``> > ``) and surrounding blanks (``*`` of Gmail's bold too)."""
    return line.lstrip(" \t>").strip().replace("*", "")


def _label(line: str) -> tuple[str, str]:
    """``("from", "Jean <jean@x>")`` for ``From: Jean <jean@x>`` or ``De : Jean``; ``("", "")`` else."""
    label, colon, value = line.partition(":")
    label = label.strip().lower()
    if not colon or len(label) > 12 or " " in label:
        return "", ""
    return label, value.strip()


def _from_in(block: list[str]) -> Address | None:
    for line in block:
        label, value = _label(line)
        if label in FROM_LABELS:
            return first_address(value)
    return None


def _is_header_block(lines: list[str], index: int) -> bool:
    """A From line with a Sent, Date, To or Subject line right after it: Outlook's block without marker."""
    following = [line for line in lines[index + 1 : index + 4] if line]
    return bool(following) and _label(following[0])[0] in HEADER_LABELS
