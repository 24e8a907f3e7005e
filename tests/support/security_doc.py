"""Reads ``docs/security.md`` as a contract a machine can check (``tests/unit/test_security_doc.py``).

Tests are cited as ``tests/<path>.py::<name>``, or ``::<name>`` for another test of the file named
last. Every table row (not a header or separator row) cites at least one, and every citation must
be a collected test that is not skipped (with all its parametrizations).

Numbers are cited too, so that they cannot drift from what is deployed:

- a template parameter's default: `` `SessionLifetimeSeconds=28800` (8 h) ``;
- a rule of the ``RateLimits`` default: `` `RateLimits: sign_in_ip=50/900` (50 per 15 min) ``;
- a constant of the code: `` `pwreset.api.resolver.MAX_BODY_BYTES=16384` (16 KiB) ``.

The parenthesis right after a citation, when it starts with a number, is its value in words for
people, and must say the same; a duration, a size or a rate must have one. Every ``RateLimits``
rule and every ``*LifetimeSeconds`` parameter is cited somewhere, and a duration or an
"N per M min" phrase outside these citations is a number nobody checks, so it is refused.

Each ``*_problems`` function returns what is wrong, one line each, naming the document's line.
"""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta

TEST_CITATION = re.compile(r"`(?:(tests/[\w/]+\.py)::|::)(\w+(?:::\w+)*)`")
SEPARATOR_ROW = re.compile(r"^\|(\s*:?-+:?\s*\|)+\s*$")

PARAMETER_CITATION = re.compile(r"`([A-Z][A-Za-z0-9]*)=([^`\s]+)`")
RATE_CITATION = re.compile(r"`RateLimits: (\w+)=(\d+)/(\d+)`")
CONSTANT_CITATION = re.compile(r"`([a-z_]\w*(?:\.[a-z_]\w*)+)\.([A-Z][A-Z0-9_]*)=([^`\s]+)`")
HUMAN_FORM = re.compile(r"\s*\(([^()]*)\)")
CODE_SPAN = re.compile(r"`[^`\n]*`")

SECONDS_PER_UNIT = {
    "s": 1,
    "second": 1,
    "seconds": 1,
    "min": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hour": 3600,
    "hours": 3600,
    "day": 86400,
    "days": 86400,
}
BYTES_PER_UNIT = {"bytes": 1, "KiB": 1024, "MiB": 1024 * 1024}
_UNIT = "|".join(sorted(SECONDS_PER_UNIT, key=len, reverse=True))
_NUMBER = r"\d+(?:\.\d+)?"
DURATION = re.compile(rf"^({_NUMBER}) ({_UNIT})\b")
SIZE = re.compile(rf"^({_NUMBER}) ({'|'.join(BYTES_PER_UNIT)})\b")
RATE = re.compile(rf"^(\d+) per (?:({_NUMBER}) )?({_UNIT})\b")
COUNT = re.compile(rf"^({_NUMBER})\b")
_SPELLED = "one|two|three|four|five|six|seven|eight|nine|ten|twenty|thirty|fifty|sixty|hundred"
# "3 per 15 min", "five per hour", "20 per client network per hour": a rate nobody compares.
BARE_RATE = re.compile(
    rf"\b(?:\d+|{_SPELLED})\s+per\s+(?:[^.;|()]*?\s+per\s+)?(?:{_NUMBER}\s+)?(?:{_UNIT})\b", re.I
)
BARE_DURATION = re.compile(rf"\b{_NUMBER}\s*(?:{_UNIT})\b")


@dataclass(frozen=True)
class CitedTest:
    line: int
    file: str | None  # None: a "::name" with no file named before it
    name: str

    @property
    def node_id(self) -> str:
        return f"{self.file}::{self.name}"


def _lines(text: str) -> Iterator[tuple[int, str]]:
    return enumerate(text.splitlines(), start=1)


def table_rows(text: str) -> list[tuple[int, str]]:
    """The table rows that make a claim: every ``|`` line but the header and separator rows."""
    lines = text.splitlines()
    rows = []
    for index, line in enumerate(lines):
        if not line.startswith("|") or SEPARATOR_ROW.match(line):
            continue
        is_header = index + 1 < len(lines) and SEPARATOR_ROW.match(lines[index + 1])
        if not is_header:
            rows.append((index + 1, line))
    return rows


def cited_tests(text: str) -> list[CitedTest]:
    """Every test the document cites, in order; ``::name`` continues the file named last. A row
    names its own file first (it must make sense on its own)."""
    rows = {number for number, _ in table_rows(text)}
    found: list[CitedTest] = []
    last_file: str | None = None
    for number, line in _lines(text):
        in_row = number in rows
        row_file: str | None = None
        for match in TEST_CITATION.finditer(line):
            file, name = match.groups()
            if file:
                last_file = row_file = file
            found.append(CitedTest(number, row_file if in_row else last_file, name))
    return found


def citation_problems(text: str, collected: Mapping[str, bool]) -> list[str]:
    """Rows that cite no test, and citations that are not a collected, unskipped test.
    ``collected``: every collected test id, and whether a skip mark skips it."""
    problems: list[str] = []
    citations = cited_tests(text)
    cited_lines = {c.line for c in citations}
    for number, row in table_rows(text):
        if number not in cited_lines:
            problems.append(f"line {number}: the row cites no test: {row[:80]}")
    for citation in citations:
        where = f"line {citation.line}: {citation.name}"
        if citation.file is None:
            problems.append(f"{where} names no file (a row names its own file before '::name')")
            continue
        matches = {
            node: skipped
            for node, skipped in collected.items()
            if node == citation.node_id or node.startswith(citation.node_id + "[")
        }
        if not matches:
            problems.append(f"{where}: {citation.node_id} is not a collected test")
        elif any(matches.values()):
            skipped = sorted(node for node, is_skipped in matches.items() if is_skipped)
            problems.append(f"{where}: {', '.join(skipped)} is skipped")
    return problems


# ---------------------------------------------------------------------------------------- numbers


# A number (seconds, bytes, a count), a rate's (limit, window seconds), or a string setting.
Value = float | tuple[int, float] | str


@dataclass(frozen=True)
class NumberCitation:
    line: int
    span: tuple[int, int]  # in the line: the citation and its parenthesis, if any
    label: str  # as written, for messages
    kind: str  # "rate", "seconds", "bytes" or "count"
    cited: Value
    actual: Value | None  # None: nothing by that name
    human: str | None  # the parenthesis right after the citation


def _number(raw: str) -> float | str:
    try:
        return float(raw)
    except ValueError:
        return raw


def _constant(path: str) -> object:
    module, _, name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def _kind_of(name: str, value: object) -> str:
    if isinstance(value, timedelta) or name.endswith(("Seconds", "_SECONDS")):
        return "seconds"
    if name.endswith(("Bytes", "_BYTES")):
        return "bytes"
    return "count"


def number_citations(
    text: str, defaults: Mapping[str, str], constant: Callable[[str], object] = _constant
) -> list[NumberCitation]:
    """Every number the document cites, with what the template (``defaults``: parameter ->
    default) or the code (``constant``: dotted path -> value) says it is."""
    rules = _rate_rules(defaults.get("RateLimits", ""))
    found: list[NumberCitation] = []
    for number, line in _lines(text):
        for match in RATE_CITATION.finditer(line):
            rule, limit, window = match.groups()
            found.append(_cited(number, line, match, "rate", (int(limit), float(window)), rules.get(rule)))
        for match in PARAMETER_CITATION.finditer(line):
            name, value = match.groups()
            default = defaults.get(name)
            actual = None if default is None else _number(default)
            found.append(_cited(number, line, match, _kind_of(name, actual), _number(value), actual))
        for match in CONSTANT_CITATION.finditer(line):
            module, name, value = match.groups()
            present = constant(f"{module}.{name}")
            kind = _kind_of(name, present)
            if isinstance(present, timedelta):
                present = present.total_seconds()
            actual = float(present) if isinstance(present, (int, float)) else None
            found.append(_cited(number, line, match, kind, _number(value), actual))
    return found


def _cited(
    number: int, line: str, match: re.Match[str], kind: str, cited: Value, actual: Value | None
) -> NumberCitation:
    human = HUMAN_FORM.match(line, match.end())
    end = human.end() if human else match.end()
    return NumberCitation(
        line=number,
        span=(match.start(), end),
        label=match.group(0),
        kind=kind,
        cited=cited,
        actual=actual,
        human=human.group(1) if human else None,
    )


def _rate_rules(spec: str) -> dict[str, tuple[int, float]]:
    rules = {}
    for entry in spec.split(","):
        name, _, value = entry.strip().partition("=")
        limit, _, window = value.partition("/")
        if name and limit.isdigit() and window.isdigit():
            rules[name] = (int(limit), float(window))
    return rules


def _same(a: object, b: object) -> bool:
    """Equal numbers (1 and 1.0 alike), equal (limit, window) pairs, equal strings."""
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b)
    return a == b


def _shown(value: Value) -> str:
    if isinstance(value, tuple):
        return f"{value[0]}/{value[1]:g}"
    return f"{value:g}" if isinstance(value, float) else value


def _in_words(kind: str, human: str) -> float | tuple[int, float] | None:
    """What a parenthesis says, in the citation's unit (seconds, bytes, (limit, window)); None
    when it does not say it in a form this checker reads."""
    if kind == "rate":
        rate = RATE.match(human)
        if rate:
            count, amount, unit = rate.groups()
            return int(count), float(amount or 1) * SECONDS_PER_UNIT[unit]
        return None
    if kind == "seconds":
        duration = DURATION.match(human)
        return float(duration[1]) * SECONDS_PER_UNIT[duration[2]] if duration else None
    if kind == "bytes":
        size = SIZE.match(human)
        return float(size[1]) * BYTES_PER_UNIT[size[2]] if size else None
    count = COUNT.match(human)
    return float(count[1]) if count else None


def number_problems(
    text: str, defaults: Mapping[str, str], constant: Callable[[str], object] = _constant
) -> list[str]:
    """Cited numbers that differ from the template or the code, parentheses that say something
    else, and durations or rates written without a citation."""
    problems: list[str] = []
    citations = number_citations(text, defaults, constant)
    for c in citations:
        where = f"line {c.line}: {c.label}"
        if c.actual is None:
            problems.append(f"{where}: no such template parameter, rate-limit rule or constant")
            continue
        if not _same(c.cited, c.actual):
            problems.append(f"{where}: the template or the code says {_shown(c.actual)}")
        needs_words = c.kind in ("rate", "seconds", "bytes")
        starts_with_number = c.human is not None and c.human[:1].isdigit()
        if not starts_with_number:
            if needs_words:
                problems.append(
                    f"{where}: say it in words right after it, e.g. (8 h), (16 KiB), (3 per 15 min)"
                )
            continue
        said = _in_words(c.kind, c.human or "")
        if said is None:
            problems.append(f"{where} ({c.human}): not a {c.kind} this checker reads")
        elif not _same(said, c.actual):
            problems.append(f"{where} ({c.human}): the words say otherwise")
    problems += _bare_numbers(text, citations)
    return problems


def _bare_numbers(text: str, citations: list[NumberCitation]) -> list[str]:
    """Durations and rates in the prose that no citation backs: blank out code spans and every
    citation with its words, then look at what is left."""
    spans: dict[int, list[tuple[int, int]]] = {}
    for c in citations:
        spans.setdefault(c.line, []).append(c.span)
    problems = []
    for number, line in _lines(text):
        chars = list(line)
        for start, end in [*spans.get(number, []), *(m.span() for m in CODE_SPAN.finditer(line))]:
            chars[start:end] = " " * (end - start)
        prose = "".join(chars)
        for pattern, what in ((BARE_RATE, "rate"), (BARE_DURATION, "duration")):
            for match in pattern.finditer(prose):
                problems.append(f"line {number}: {match.group(0)!r}: a {what} with no citation before it")
    return problems


def uncited_defaults(text: str, defaults: Mapping[str, str]) -> list[str]:
    """The ``RateLimits`` rules and ``*LifetimeSeconds`` parameters the document never cites."""
    cited_rules = {m[1] for m in RATE_CITATION.finditer(text)}
    cited_parameters = {m[1] for m in PARAMETER_CITATION.finditer(text)}
    missing = [
        f"RateLimits: {rule}"
        for rule in _rate_rules(defaults.get("RateLimits", ""))
        if rule not in cited_rules
    ]
    missing += [
        name for name in defaults if name.endswith("LifetimeSeconds") and name not in cited_parameters
    ]
    return missing
