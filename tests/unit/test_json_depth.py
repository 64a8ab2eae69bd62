import json

import pytest

from crm import json_depth
from providers.base import MalformedWebhook, load_json_events


def test_a_contact_nested_a_few_levels_reads_as_json_would():
    body = json.dumps({"name": "Chambre 404", "tags": [["a", {"b": [1, 2]}]]}).encode()
    assert json_depth.loads(body) == json.loads(body)


@pytest.mark.parametrize("depth", [65, 1_000, 100_000])
def test_arrays_nested_past_the_limit_are_refused_before_parsing(depth):
    with pytest.raises(json_depth.TooDeeplyNested, match="deeper than 64"):
        json_depth.loads("[" * depth + "]" * depth)


def test_objects_nested_past_the_limit_are_refused():
    body = '{"a":' * 70 + "1" + "}" * 70
    with pytest.raises(json_depth.TooDeeplyNested):
        json_depth.loads(body)


def test_brackets_inside_strings_do_not_count():
    text = json.dumps({"note": "[" * 5000 + '\\"{' * 100})
    assert json_depth.loads(text)["note"].startswith("[[[")


def test_exactly_the_limit_is_accepted():
    assert json_depth.loads("[" * 64 + "]" * 64) == json.loads("[" * 64 + "]" * 64)


def test_an_unterminated_string_that_hides_depth_is_still_refused_not_a_recursion_error():
    with pytest.raises(ValueError):
        json_depth.loads('["' + "[" * 5000)


def test_utf16_bodies_are_read_like_json_loads_reads_them():
    assert json_depth.loads('{"nom": "Pomme Siège"}'.encode("utf-16")) == {"nom": "Pomme Siège"}


def test_too_deep_is_a_value_error_so_webhook_parsers_refuse_it_as_malformed():
    with pytest.raises(MalformedWebhook, match="Mailjet webhook body is not JSON: JSON nested deeper"):
        load_json_events(b"[" * 2000 + b"]" * 2000, "Mailjet")
