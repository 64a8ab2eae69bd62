"""What is new in a selected folder, its sizes, its bytes, and what is done to it once stored.

Every call takes a client with the folder selected (``session.select``) and
works on UIDs. Bodies are fetched with ``BODY.PEEK[]``, so reading a message
does not mark it read; what the user sees changed is the after-import action
only (``after_import``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from email.parser import BytesHeaderParser
from email.policy import compat32

from imapclient import IMAPClient

from services.mailin.parsing.headers import message_key

FLAG = "flag"
MOVE = "move"
LEAVE = "leave"
AFTER_IMPORT = (FLAG, MOVE, LEAVE)
# "flag" sets the standard flag every mail client shows (a star or a flag).
IMPORTED_FLAG = b"\\Flagged"
_BODY = b"BODY[]"
_MESSAGE_ID_FIELD = b"BODY[HEADER.FIELDS (MESSAGE-ID)]"


def new_uids(client: IMAPClient, after_uid: int) -> list[int]:
    """The UIDs above ``after_uid``, in order (``n:*`` always names the last message, even an
    older one: it is left out)."""
    found = client.search(["UID", f"{after_uid + 1}:*"])
    return sorted(uid for uid in found if uid > after_uid)


def batches(uids: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(uids), size):
        yield list(uids[start : start + size])


def sizes(client: IMAPClient, uids: Iterable[int]) -> dict[int, int]:
    """Each message's size in bytes, asked before its body is fetched."""
    answer = client.fetch(list(uids), ["RFC822.SIZE"])
    return {uid: int(data.get(b"RFC822.SIZE", 0)) for uid, data in answer.items()}


def bodies(client: IMAPClient, uids: Iterable[int]) -> dict[int, bytes]:
    """The messages' bytes as the server keeps them (a message deleted meanwhile is absent)."""
    answer = client.fetch(list(uids), ["BODY.PEEK[]"])
    return {uid: bytes(data[_BODY]) for uid, data in answer.items() if data.get(_BODY) is not None}


def message_ids(client: IMAPClient, uids: Iterable[int]) -> dict[int, str]:
    """The Message-ID of each message that has one, as processing keys it (without brackets)."""
    answer = client.fetch(list(uids), ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
    found = {}
    for uid, data in answer.items():
        raw = data.get(_MESSAGE_ID_FIELD)
        if not raw:
            continue
        key = message_key(BytesHeaderParser(policy=compat32).parsebytes(bytes(raw)), b"")
        if not key.startswith("derived-"):  # derived from the whole message: not known from here
            found[uid] = key
    return found


def after_import(client: IMAPClient, uids: list[int], action: str, move_to: str | None) -> None:
    """Flag the stored messages, move them to ``move_to``, or leave them as they are."""
    if not uids or action == LEAVE:
        return
    if action == FLAG:
        client.add_flags(uids, [IMPORTED_FLAG], silent=True)
        return
    if client.has_capability("MOVE"):
        client.move(uids, move_to)
        return
    client.copy(uids, move_to)
    client.add_flags(uids, [b"\\Deleted"], silent=True)
    if client.has_capability("UIDPLUS"):
        client.uid_expunge(uids)
    else:
        client.expunge()
