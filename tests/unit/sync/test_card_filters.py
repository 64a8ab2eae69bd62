"""addressbook-query filters (RFC 6352, 10.5) on a card's text."""

from __future__ import annotations

from services.sync.card_filters import matches, properties
from services.sync.schemas import CardQuery

CARD = "\r\n".join(
    [
        "BEGIN:VCARD",
        "VERSION:3.0",
        "UID:c-elodie",
        "FN:Élodie Martin",
        "N:Martin;Élodie;;;",
        "TEL;TYPE=home,voice:+33 1 23 45 67 89",
        "job1.TEL;TYPE=work,voice:+33 1 40 00 00 01",
        "EMAIL;TYPE=internet,home:elodie.martin@pomme.fr",
        "job1.ORG:Boulangerie Dupont\\, Fils & Cie",
        "NOTE:Aime les croissants\\, le pain au chocolat et les longues notes qui se",
        "  replient",
        "END:VCARD",
        "",
    ]
)


def _query(*props: dict, test: str = "anyof") -> CardQuery:
    return CardQuery.model_validate({"test": test, "props": list(props)})


def _prop(name: str, *texts: str, **fields) -> dict:
    return {"name": name, "text_matches": [{"text": text, **fields} for text in texts]}


def test_a_cards_properties_are_unfolded_unescaped_and_named_without_their_group():
    props = properties(CARD)

    assert [p.value for p in props["TEL"]] == ["+33 1 23 45 67 89", "+33 1 40 00 00 01"]
    assert props["TEL"][1].params == {"TYPE": ["work", "voice"]}
    assert props["ORG"][0].value == "Boulangerie Dupont, Fils & Cie"
    assert props["NOTE"][0].value.endswith("qui se replient")
    assert "VERSION" not in props


def test_no_filter_matches_every_card():
    assert matches(_query(), CARD)


def test_a_text_match_folds_case_as_unicode_does_by_default():
    assert matches(_query(_prop("FN", "ÉLODIE")), CARD)
    assert matches(_query(_prop("FN", "ÉLODIE", collation="i;ascii-casemap")), CARD)
    assert not matches(_query(_prop("FN", "élodie", collation="i;ascii-casemap")), CARD)
    assert not matches(_query(_prop("FN", "élodie", collation="i;octet")), CARD)


def test_match_types_and_negation():
    assert matches(_query(_prop("EMAIL", "elodie.martin@pomme.fr", match_type="equals")), CARD)
    assert matches(_query(_prop("FN", "élodie", match_type="starts-with")), CARD)
    assert matches(_query(_prop("FN", "martin", match_type="ends-with")), CARD)
    assert not matches(_query(_prop("FN", "martin", match_type="starts-with")), CARD)
    assert not matches(_query(_prop("EMAIL", "pomme.fr", negate=True)), CARD)
    assert matches(_query(_prop("EMAIL", "cerise.fr", negate=True)), CARD)


def test_any_property_of_the_name_may_match_and_a_group_is_no_part_of_the_name():
    assert matches(_query(_prop("tel", "40 00 00 01")), CARD)
    assert matches(_query(_prop("ORG", "dupont, fils")), CARD)


def test_is_not_defined_and_param_filters():
    assert matches(_query({"name": "BDAY", "defined": False}), CARD)
    assert not matches(_query({"name": "EMAIL", "defined": False}), CARD)
    work = {"name": "TYPE", "text_match": {"text": "work", "match_type": "equals"}}
    assert matches(_query({"name": "TEL", "param_filters": [work]}), CARD)
    assert not matches(_query({"name": "EMAIL", "param_filters": [work]}), CARD)
    assert matches(_query({"name": "EMAIL", "param_filters": [{"name": "PREF", "defined": False}]}), CARD)


def test_anyof_and_allof_between_prop_filters_and_within_one():
    fn, missing = _prop("FN", "Élodie"), _prop("FN", "Marc")
    assert matches(_query(fn, missing), CARD)
    assert not matches(_query(fn, missing, test="allof"), CARD)
    both = {"name": "FN", "test": "allof", "text_matches": [{"text": "Élodie"}, {"text": "Martin"}]}
    assert matches(_query(both, test="allof"), CARD)
    either = {"name": "FN", "test": "allof", "text_matches": [{"text": "Élodie"}, {"text": "Marc"}]}
    assert not matches(_query(either), CARD)
