"""A corpus of malformed mail, as broken senders, cut connections and hostile clients send it.

Each entry is ``name -> raw bytes``; the tests check that ``read_message`` reads
every one (never raising) and says what was wrong, and that each goes through
the real listener and the mailin service into ``mail_received`` with its
problems. The big ones (1,000 parts, a 10 MB line) are built here rather than
kept as files.
"""

from __future__ import annotations

import base64

HEAD = (
    b"From: Claire Martin <claire@pomme-siege-central.fr>\r\n"
    b"To: ingest@in.crm.test\r\n"
    b"Date: Fri, 04 Dec 2026 09:30:00 +0100\r\n"
    b"MIME-Version: 1.0\r\n"
)


def _head(subject: str, message_id: str) -> bytes:
    return HEAD + f"Subject: {subject}\r\nMessage-ID: <{message_id}@malformed.test>\r\n".encode()


def truncated_multipart() -> bytes:
    """A mixed message cut in the middle of its base64 attachment: no closing boundary."""
    pdf = base64.encodebytes(b"%PDF-1.4\n" + b"0 0 m 1 1 l S\n" * 400).replace(b"\n", b"\r\n")
    return (
        _head("Devis coupé", "truncated") + b'Content-Type: multipart/mixed; boundary="==cut=="\r\n\r\n'
        b"--==cut==\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        b"Bonjour, voici le devis.\r\n"
        b'--==cut==\r\nContent-Type: application/pdf; name="devis.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + pdf[: len(pdf) // 2 + 3]
    )


def wrong_charset() -> bytes:
    """Says UTF-8 and sends Latin-1; a second part names a charset that does not exist."""
    return (
        _head("Charset faux", "wrong-charset") + b'Content-Type: multipart/alternative; boundary="b1"\r\n\r\n'
        b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + "Réunion à Besançon, café compris.\r\n".encode("latin-1")
        + b"--b1\r\nContent-Type: text/html; charset=x-unknown-klingon\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n"
        + "<p>Réunion à Besançon</p>\r\n".encode("latin-1")
        + b"--b1--\r\n"
    )


def missing_boundary_parameter() -> bytes:
    """multipart/mixed with no boundary parameter at all."""
    return (
        _head("Sans boundary", "no-boundary-param") + b"Content-Type: multipart/mixed\r\n\r\n"
        b"--x\r\nContent-Type: text/plain\r\n\r\nLe texte.\r\n--x--\r\n"
    )


def boundary_never_appears() -> bytes:
    """A boundary is given but the body never uses it (another one is)."""
    return (
        _head("Boundary absent", "boundary-absent")
        + b'Content-Type: multipart/mixed; boundary="promised"\r\n\r\n'
        b"--other\r\nContent-Type: text/plain\r\n\r\nLe texte.\r\n--other--\r\n"
    )


def eight_bit_headers() -> bytes:
    """Raw Latin-1 and UTF-8 bytes in the headers, not encoded words, as old clients send them."""
    return (
        "From: Hélène Gérard <helene@pomme-siege-central.fr>\r\n".encode("latin-1")
        + b"To: ingest@in.crm.test\r\n"
        + "Subject: Réservation salle Été – confirmée\r\n".encode()
        + b"Date: Fri, 04 Dec 2026 09:30:00 +0100\r\n"
        b"Message-ID: <eight-bit@malformed.test>\r\n"
        b"Content-Type: text/plain\r\n\r\n" + "Réservée.\r\n".encode("latin-1")
    )


def thousand_parts(parts: int = 1_000) -> bytes:
    """A multipart with ``parts`` tiny attachments (and the text part before them)."""
    body = [b"--many\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + "Mille pièces.\r\n".encode()]
    for number in range(parts):
        body.append(
            b"--many\r\nContent-Type: application/octet-stream\r\n"
            b'Content-Disposition: attachment; filename="part-%d.bin"\r\n\r\npart %d\r\n' % (number, number)
        )
    body.append(b"--many--\r\n")
    return (
        _head("Mille parties", "thousand-parts")
        + b'Content-Type: multipart/mixed; boundary="many"\r\n\r\n'
        + b"".join(body)
    )


def ten_megabyte_line(size: int = 10 * 1024 * 1024) -> bytes:
    """A text body of one line of ``size`` bytes, no line break anywhere."""
    return _head("Une ligne", "ten-mb-line") + b"Content-Type: text/plain\r\n\r\n" + b"a" * size + b"\r\n"


def ten_megabyte_header(size: int = 10 * 1024 * 1024) -> bytes:
    """A header line of ``size`` bytes before the others."""
    return (
        b"X-Junk: "
        + b"x" * size
        + b"\r\n"
        + _head("Un en-tête énorme", "ten-mb-header")
        + b"\r\nLe texte.\r\n"
    )


CORPUS = {
    "truncated multipart": truncated_multipart,
    "wrong charsets": wrong_charset,
    "missing boundary parameter": missing_boundary_parameter,
    "boundary never appears": boundary_never_appears,
    "8-bit headers": eight_bit_headers,
    "1,000 parts": thousand_parts,
    "10 MB line": ten_megabyte_line,
    "10 MB header": ten_megabyte_header,
}
