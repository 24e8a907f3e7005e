"""Lambda event filtering (``FilterCriteria``) for stream records, as the event source mapping
applies it before batching: a record reaches the function when any one filter's pattern matches.

The subset implemented is what a stream consumer's template is likely to use: exact values (string,
number, boolean, null), a list of alternatives per key, nested keys, ``prefix``, ``suffix``,
``equals-ignore-case``, ``exists``, ``anything-but`` and ``numeric``. An operator this module does
not know makes the pattern invalid (raised at start-up), rather than silently matching nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

_MISSING = object()
_OPERATORS = {"prefix", "suffix", "equals-ignore-case", "exists", "anything-but", "numeric"}


class FilterPatternError(ValueError):
    """A pattern Lambda would refuse (CreateEventSourceMapping fails with InvalidParameterValue)."""


def parse_patterns(patterns: Iterable[str]) -> list[dict[str, Any]]:
    parsed: list[dict[str, Any]] = []
    for raw in patterns:
        try:
            pattern = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise FilterPatternError(f"filter pattern is not JSON: {raw!r}") from exc
        _validate(pattern, raw)
        parsed.append(pattern)
    return parsed


def matches_any(patterns: Sequence[dict[str, Any]], record: dict[str, Any]) -> bool:
    """No patterns means no filtering; otherwise at least one pattern must match (filters are OR)."""
    return not patterns or any(matches(p, record) for p in patterns)


def matches(pattern: dict[str, Any], event: Any) -> bool:
    """Every key of the pattern must match (AND); a list holds alternatives (OR)."""
    if not isinstance(event, dict):
        return False
    for key, expected in pattern.items():
        actual = event.get(key, _MISSING)
        if isinstance(expected, dict):
            if actual is _MISSING or not matches(expected, actual):
                return False
        elif not _leaf_matches(expected, actual):
            return False
    return True


def _leaf_matches(alternatives: list[Any], actual: Any) -> bool:
    values = actual if isinstance(actual, list) else [actual]
    for condition in alternatives:
        if isinstance(condition, dict) and set(condition) == {"exists"}:
            # {"exists": true} matches any present leaf, {"exists": false} an absent one.
            if bool(condition["exists"]) == (actual is not _MISSING):
                return True
            continue
        if actual is _MISSING:
            continue
        if any(_condition_matches(condition, value) for value in values):
            return True
    return False


def _condition_matches(condition: Any, value: Any) -> bool:
    if not isinstance(condition, dict):
        # Exact match; JSON numbers compare by value (1 == 1.0), but never a bool with a number.
        if isinstance(condition, bool) or isinstance(value, bool):
            return condition is value
        return bool(condition == value)
    ((operator, argument),) = condition.items()
    if operator == "prefix":
        return isinstance(value, str) and value.startswith(argument)
    if operator == "suffix":
        return isinstance(value, str) and value.endswith(argument)
    if operator == "equals-ignore-case":
        return isinstance(value, str) and value.casefold() == str(argument).casefold()
    if operator == "anything-but":
        if isinstance(argument, dict):
            return not _condition_matches(argument, value)
        excluded = argument if isinstance(argument, list) else [argument]
        return not any(_condition_matches(x, value) for x in excluded)
    if operator == "numeric":
        return _numeric_matches(argument, value)
    raise FilterPatternError(f"unsupported filter operator {operator!r}")


def _numeric_matches(spec: list[Any], value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    checks = {
        "=": lambda a, b: a == b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }
    return all(checks[op](value, bound) for op, bound in zip(spec[::2], spec[1::2], strict=True))


def _validate(pattern: Any, raw: str) -> None:
    if not isinstance(pattern, dict) or not pattern:
        raise FilterPatternError(f"filter pattern must be a non-empty JSON object: {raw!r}")
    for key, value in pattern.items():
        if isinstance(value, dict):
            _validate(value, raw)
        elif isinstance(value, list) and value:
            for condition in value:
                if isinstance(condition, dict):
                    if len(condition) != 1 or next(iter(condition)) not in _OPERATORS:
                        raise FilterPatternError(f"unsupported filter condition {condition!r} in {raw!r}")
                elif isinstance(condition, list):
                    raise FilterPatternError(f"nested list under {key!r} in {raw!r}")
        else:
            raise FilterPatternError(
                f"filter pattern values must be objects or non-empty lists, not {value!r} "
                f"(key {key!r}) in {raw!r}"
            )
