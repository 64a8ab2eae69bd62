"""The listener reads a plain ``<local@domain>`` of MAIL and RCPT itself, with the email
package's answer; whatever else it leaves to the email package."""

from __future__ import annotations

from email._header_value_parser import get_angle_addr
from email.errors import HeaderParseError

from hypothesis import example, given, settings
from hypothesis import strategies as st

from services.mailin.smtp.addresses import plain_address

ATOM_CHARS = "abcXYZ019!#$%&'*+/=?^_`{|}~-"


def email_package(arg: str) -> tuple[str, str] | None:
    try:
        address, rest = get_angle_addr(arg)
    except HeaderParseError:
        return None
    return address.addr_spec, rest


atoms = st.text(ATOM_CHARS, min_size=1, max_size=6)
labels = st.text("abz09-", min_size=1, max_size=6)
blanks = st.text(" \t", max_size=3)
parameters = st.text('ABZ=19 \t()"<>@.', max_size=20)


@st.composite
def plain_commands(draw) -> str:
    local = ".".join(draw(st.lists(atoms, min_size=1, max_size=3)))
    domain = ".".join(draw(st.lists(labels, min_size=1, max_size=3)))
    return f"{draw(blanks)}<{local}@{domain}>{draw(blanks)}{draw(parameters)}"


@settings(max_examples=600)
@given(plain_commands())
@example("<scanner@pomme.fr> SIZE=1234 BODY=8BITMIME")
@example(" <a.b+c@x-y.example.org>  SIZE=1 ")
@example("<a@b> (a comment) SIZE=1")
def test_a_plain_address_is_read_as_the_email_package_reads_it(arg):
    mine = plain_address(arg)
    if mine is not None:  # when it reads one, it is the email package's answer
        assert mine == email_package(arg)


@settings(max_examples=600)
@given(st.text('ab.@<> \t()"[]+=\\', max_size=24))
@example("<>")
@example('<"q u"@x>')
@example("<a@[127.0.0.1]>")
@example("<a..b@x>")
def test_anything_it_reads_it_reads_as_the_email_package(arg):
    mine = plain_address(arg)
    if mine is not None:
        assert mine == email_package(arg)


def test_the_addresses_of_scanners_and_mail_clients_are_read_here():
    for arg, expected in [
        ("<scanner@pomme.fr>", ("scanner@pomme.fr", "")),
        ("<scanner@pomme.fr> SIZE=204800", ("scanner@pomme.fr", "SIZE=204800")),
        ("<claire.martin+crm@in.pomme.test>", ("claire.martin+crm@in.pomme.test", "")),
    ]:
        assert plain_address(arg) == expected == email_package(arg)
    for left_to_the_email_package in [
        "<>",
        '<"claire martin"@pomme.fr>',
        "<a@[192.0.2.1]>",
        "claire@pomme.fr",
    ]:
        assert plain_address(left_to_the_email_package) is None
