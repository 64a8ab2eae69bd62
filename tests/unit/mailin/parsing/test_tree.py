"""parse_tree builds the standard library parser's tree, cutting plain bodies out of the bytes:
the same headers, payloads, defects, preamble and epilogue, for plain shapes and damaged ones."""

from __future__ import annotations

from email.message import Message
from email.parser import BytesParser

import pytest

from bench.mail_samples import message as bench_message
from services.mailin.parsing.reader import _READING
from services.mailin.parsing.tree import _plain_tree, parse_tree
from tests.mailin_malformed import CORPUS

HEAD = (
    b"From: Claire Martin <claire.martin@pomme-siege-central.fr>\r\n"
    b"To: ingest@in.crm.test\r\n"
    b"Subject: =?utf-8?q?Devis_Chambre_404?=\r\n"
    b"Message-ID: <devis-404@pomme-siege-central.fr>\r\n"
    b"MIME-Version: 1.0\r\n"
)


def mixed(
    parts: list[bytes], *, preamble: bytes = b"", epilogue: bytes = b"", newline: bytes = b"\r\n"
) -> bytes:
    head = HEAD + b'Content-Type: multipart/mixed;\r\n boundary="=_devis"\r\n'
    body = preamble + b"".join(b"--=_devis" + newline + part + newline for part in parts) + b"--=_devis--"
    return (head + newline + body + epilogue).replace(b"\r\n", newline)


TEXT = (
    b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    b"Bonjour,\r\nle devis.\r\n"
)
PDF = (
    b'Content-Type: application/octet-stream; name="devis.pdf"\r\n'
    b'Content-Disposition: attachment; filename="devis.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
    b"JVBERi0xLjQKMCAwIG0gMSAxIGwgUwo=\r\nJVBERi0xLjQK"
)
PLAIN = {
    "bench text": bench_message("tree", 1, False),
    "bench scan with a PDF": bench_message("tree", 2, True),
    "text only": HEAD + b"Content-Type: text/plain\r\n\r\nBonjour.\r\n",
    "headers only, empty body": HEAD + b"\r\n",
    "text and PDF": mixed([TEXT, PDF]),
    "LF line ends": mixed([TEXT, PDF], newline=b"\n"),
    "preamble and epilogue": mixed([TEXT], preamble=b"This is a MIME message.\r\n", epilogue=b"\r\nfin\r\n"),
    "a line like the boundary inside a part": mixed([TEXT + b"--=_devis-not\r\n --=_devis\r\n"]),
    "blanks after a boundary": mixed([TEXT]).replace(b"--=_devis\r\n", b"--=_devis \t\r\n", 1),
    "8-bit body": mixed([TEXT.replace(b"le devis", "le café".encode("latin-1"))]),
    "a part without a blank line before its end": mixed([b"Content-Type: text/plain\r\n\r\n"]),
}
PARSER_ONLY = {
    "a part with no headers": mixed([b"\r\nBonjour.", TEXT]),
    "nested multipart": mixed(
        [b'Content-Type: multipart/alternative; boundary="in"\r\n\r\n--in\r\n\r\nx\r\n--in--']
    ),
    "attached message": mixed([b"Content-Type: message/rfc822\r\n\r\n" + HEAD + b"\r\nInner."]),
    "no closing boundary": mixed([TEXT])[: -len(b"--=_devis--")],
    "two boundaries in a row": mixed([TEXT, b"", PDF]),
    "bare CR": HEAD + b"Content-Type: text/plain\r\n\r\nBonjour.\rFin.\r\n",
    "a body line among the headers": HEAD + b"not a header line\r\n\r\nBonjour.\r\n",
    "digest": (
        HEAD + b'Content-Type: multipart/digest; boundary="d"\r\n\r\n--d\r\n\r\n' + HEAD + b"\r\nx\r\n--d--"
    ),
}


def shape(message: Message) -> list[object]:
    """Everything of a tree the reader (or anyone) can see, part by part."""
    return [
        (
            part.get_content_type(),
            part.items(),
            part.get_payload() if not part.is_multipart() else len(part.get_payload()),
            [type(defect).__name__ for defect in part.defects],
            part.preamble,
            part.epilogue,
        )
        for part in message.walk()
    ]


def stdlib(raw: bytes) -> Message:
    return BytesParser(policy=_READING).parsebytes(raw)


@pytest.mark.parametrize("name", list(PLAIN))
def test_a_plain_message_is_cut_from_its_bytes_into_the_parsers_tree(name):
    raw = PLAIN[name]
    assert _plain_tree(raw, BytesParser(policy=_READING)) is not None  # it took the short way
    assert shape(parse_tree(raw, _READING)) == shape(stdlib(raw))


@pytest.mark.parametrize("name", list(PARSER_ONLY))
def test_other_shapes_are_left_to_the_parser(name):
    raw = PARSER_ONLY[name]
    assert _plain_tree(raw, BytesParser(policy=_READING)) is None
    assert shape(parse_tree(raw, _READING)) == shape(stdlib(raw))


@pytest.mark.parametrize("name", list(CORPUS))
def test_malformed_mail_gets_the_parsers_tree_and_defects(name):
    raw = CORPUS[name]()
    assert shape(parse_tree(raw, _READING)) == shape(stdlib(raw))
