"""netlab.compile.label_selectors: the one label-selector matcher, in its three spellings."""

from __future__ import annotations

import pytest

from netlab.compile.label_selectors import SelectorError, matches, matches_map, matches_text, parse_text
from netlab.model.meta import LabelSelector

LABEL_SETS = [{}, {"app": "web"}, {"app": "db"}, {"app": "web", "tier": "front"}, {"tier": "back"}]
# (object form, kubectl -l form) pairs that mean the same
CASES = [
    ({}, ""),
    ({"matchLabels": {"app": "web"}}, "app=web"),
    ({"matchLabels": {"app": "web", "tier": "front"}}, "app==web,tier=front"),
    ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "db"]}]}, "app in (web, db)"),
    ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}, "app notin (web)"),
    ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, "tier"),
    ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, "!tier"),
    ({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["x"]}]},
     "app=web,tier!=x"),
]


@pytest.mark.parametrize(("selector", "text"), CASES)
def test_object_model_and_kubectl_forms_agree(selector: dict, text: str) -> None:
    model = LabelSelector.model_validate(selector)
    for labels in LABEL_SETS:
        want = matches(selector, labels)
        assert model.matches(labels) == want, (selector, labels)
        assert matches_text(text, labels) == want, (text, labels)


def test_missing_keys_and_empty_selectors() -> None:
    assert matches(None, {}) and matches({}, {"a": "1"})
    assert not matches_map({}, {"a": "1"}) and not matches_map(None, {})  # a Service without selector: nothing
    assert matches_map({"a": "1"}, {"a": "1", "b": "2"}) and not matches_map({"a": "1"}, {"b": "2"})
    for op in ("In", "NotIn", "Exists", "DoesNotExist"):  # a missing key matches only the negative operators
        expr = {"key": "k", "operator": op, "values": ["v"] if op in ("In", "NotIn") else []}
        assert matches({"matchExpressions": [expr]}, {}) == (op in ("NotIn", "DoesNotExist"))


def test_parse_text_and_bad_operator() -> None:
    assert parse_text(" a in (x, y) , b!=c,,!d ") == [("a", "In", ["x", "y"]), ("b", "NotIn", ["c"]),
                                                     ("d", "DoesNotExist", [])]
    with pytest.raises(SelectorError):
        matches({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}, {"a": "2"})
