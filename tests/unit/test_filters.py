"""Lambda event-filter patterns as the local stack applies them to stream records."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devstack.filters import FilterPatternError, matches_any, parse_patterns


def record(event_name: str = "INSERT", **image: Any) -> dict[str, Any]:
    return {
        "eventName": event_name,
        "eventSource": "aws:dynamodb",
        "dynamodb": {"NewImage": {k: {"S": v} for k, v in image.items()}},
    }


def passes(pattern: dict[str, Any], rec: dict[str, Any]) -> bool:
    return matches_any(parse_patterns([json.dumps(pattern)]), rec)


def test_no_filters_pass_everything() -> None:
    assert matches_any([], record())


def test_exact_value_and_alternatives() -> None:
    assert passes({"eventName": ["INSERT"]}, record("INSERT"))
    assert not passes({"eventName": ["INSERT"]}, record("MODIFY"))
    assert passes({"eventName": ["INSERT", "MODIFY"]}, record("MODIFY"))


def test_nested_keys_must_all_match() -> None:
    pattern = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"type": {"S": ["password_changed"]}}}}
    assert passes(pattern, record("INSERT", type="password_changed"))
    assert not passes(pattern, record("INSERT", type="reset_requested"))
    assert not passes(pattern, record("REMOVE", type="password_changed"))
    assert not passes(pattern, {"eventName": "INSERT", "dynamodb": {}})


def test_prefix_suffix_and_ignore_case() -> None:
    assert passes(
        {"dynamodb": {"NewImage": {"type": {"S": [{"prefix": "ses_"}]}}}}, record(type="ses_bounce")
    )
    assert not passes({"dynamodb": {"NewImage": {"type": {"S": [{"prefix": "ses_"}]}}}}, record(type="reset"))
    assert passes(
        {"dynamodb": {"NewImage": {"to": {"S": [{"suffix": "@simulator.amazonses.com"}]}}}},
        record(to="bounce@simulator.amazonses.com"),
    )
    assert passes({"eventName": [{"equals-ignore-case": "insert"}]}, record("INSERT"))


def test_exists_true_and_false() -> None:
    has_type = {"dynamodb": {"NewImage": {"type": [{"exists": True}]}}}
    lacks_type = {"dynamodb": {"NewImage": {"type": [{"exists": False}]}}}
    assert passes(has_type, record(type="x"))
    assert not passes(has_type, record(other="x"))
    assert passes(lacks_type, record(other="x"))
    assert not passes(lacks_type, record(type="x"))


def test_anything_but_and_numeric() -> None:
    assert passes({"eventName": [{"anything-but": ["REMOVE"]}]}, record("INSERT"))
    assert not passes({"eventName": [{"anything-but": ["REMOVE"]}]}, record("REMOVE"))
    assert passes({"n": [{"numeric": [">", 0, "<=", 5]}]}, {"n": 5})
    assert not passes({"n": [{"numeric": [">", 0, "<=", 5]}]}, {"n": 6})
    assert not passes({"n": [{"numeric": [">", 0]}]}, {"n": "5"})  # DynamoDB numbers are strings


def test_several_filters_are_alternatives() -> None:
    patterns = parse_patterns([json.dumps({"eventName": ["INSERT"]}), json.dumps({"eventName": ["REMOVE"]})])
    assert matches_any(patterns, record("REMOVE"))
    assert not matches_any(patterns, record("MODIFY"))


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        json.dumps({}),
        json.dumps({"eventName": "INSERT"}),  # a bare value, not a list
        json.dumps({"eventName": []}),
        json.dumps({"eventName": [{"wildcard": "IN*"}]}),  # an operator this stand-in does not know
    ],
)
def test_patterns_lambda_would_refuse_fail_loudly(raw: str) -> None:
    with pytest.raises(FilterPatternError):
        parse_patterns([raw])
