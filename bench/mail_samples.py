"""The mail the mail benchmarks send: about 10 KB of a forwarded proposal, or a scan with a
200 KB PDF of its own, each with its own Message-ID (bench.smtp_ingest, bench.capacity_load).
Standard library only: the capacity bench's load generator (gevent) imports it."""

from __future__ import annotations

import base64
import time

SENDER = "scanner@pomme.fr"

_WORDS = (
    "Bonjour Claire, suite à notre échange de ce matin je vous envoie la proposition "
    "commerciale révisée pour le renouvellement du contrat de maintenance des sites "
    "de Lyon et de Grenoble, avec les remises convenues et le calendrier des visites. "
)


def _pdf(size: int = 200 * 1024) -> bytes:
    """A well-formed one-page PDF of about ``size`` bytes (a page and an uncompressed stream)."""
    filler = ("0 0 m 1 1 l S\n" * (size // 14)).encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(filler) + filler + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


_PDF = _pdf()


def _wrap(data: bytes) -> bytes:
    encoded = base64.b64encode(data)
    return b"\r\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))


def message(tag: str, number: int, with_pdf: bool) -> bytes:
    """About 10 KB of text (plus a 200 KB PDF of its own when ``with_pdf``), with its own Message-ID."""
    text = (f"Message {tag}-{number}.\r\n" + (_WORDS + "\r\n") * 40).encode("utf-8")
    headers = (
        f"From: Scanner Accueil <{SENDER}>\r\n"
        f"To: ingest\r\n"
        f"Subject: Proposition {tag} {number}\r\n"
        f"Date: Sun, 06 Dec 2026 10:00:00 +0100\r\n"
        f"Message-ID: <bench-{tag}-{number}-{time.time_ns()}@pomme.fr>\r\n"
        f"MIME-Version: 1.0\r\n"
    ).encode()
    if not with_pdf:
        return (
            headers
            + b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            + text
        )
    # A comment line after the header makes each PDF's bytes (and hash) its own.
    pdf = _PDF[:15] + f"%{tag}-{number}-{time.time_ns()}\n".encode() + _PDF[15:]
    boundary = f"=_bench_{tag}_{number}"
    return (
        headers
        + f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'.encode()
        + f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n".encode()
        + text
        + f'\r\n--{boundary}\r\nContent-Type: application/pdf; name="proposition-{number}.pdf"\r\n'
        f'Content-Disposition: attachment; filename="proposition-{number}.pdf"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n".encode()
        + _wrap(pdf)
        + f"\r\n--{boundary}--\r\n".encode()
    )
