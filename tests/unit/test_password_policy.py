"""Behaviour of the password policy as a person on the reset page would notice it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pwreset.credentials.policy import (
    PATTERN_RUN_LENGTH,
    PATTERN_SEQUENCES,
    RULES,
    PasswordPolicy,
    PolicyContext,
    Violation,
    shipped_blocklist,
)

ROOT = Path(__file__).resolve().parents[2]
LAYER_DIR = ROOT / "layers" / "pwreset"

ANNA = PolicyContext(
    email="anna.schmidt@example.com",
    name="Anna Schmidt",
    firm_name="Steuerkanzlei Berger & Partner",
)
NOBODY = PolicyContext(email="", name="", firm_name="")
GOOD = "Kaffee trinken am Rhein, drei Mal täglich"
# A long passphrase without personal data or patterns, to cut long passwords from (144 characters).
LONG = (
    "Rhabarberkuchen mit Sahne, dazu Kaffee am Nachmittag; danach ein Spaziergang am Neckar bis zur "
    "alten Brücke, wo Enten schwimmen und Kinder Steine werfen."
)


@pytest.fixture(scope="module")
def policy() -> PasswordPolicy:
    return PasswordPolicy()


@pytest.fixture(scope="module")
def any_length() -> PasswordPolicy:
    """The shipped policy with the length rule out of the way (it has tests of its own), so that
    a short example shows one other rule at a time."""
    return PasswordPolicy(min_length=1)


def rules(policy: PasswordPolicy, password: str, context: PolicyContext = ANNA) -> list[str]:
    return [violation.rule for violation in policy.check(password, context)]


def named(name: str) -> PolicyContext:
    """A holder called ``name``, with no address or firm name to match."""
    return PolicyContext(email="", name=name, firm_name="")


# --- a good password passes ------------------------------------------------------------------------


def test_a_long_unusual_passphrase_is_accepted(policy: PasswordPolicy) -> None:
    assert policy.check(GOOD, ANNA) == []


def test_spaces_and_emoji_passphrase_of_64_characters_is_accepted(policy: PasswordPolicy) -> None:
    password = " ".join("🦊🌲🏔🚲🍎🐝🌻🎻🧀🚂🌊🦉🍄🎈🪁🐢🍋🎺🦔🌵🐳🍇🥨🏰🎲🦜🍉🚀🌙🐞🎸🦩") + " "
    assert len(password) == 64
    assert policy.check(password, ANNA) == []


def test_no_composition_rules(policy: PasswordPolicy) -> None:
    # All lower-case letters, no digits, no symbols: fine if long and not common (ASVS 6.2.5).
    assert rules(policy, "pflaumenkuchenmitsahne") == []


# --- length ----------------------------------------------------------------------------------------


def test_too_short_is_reported_with_the_minimum(policy: PasswordPolicy) -> None:
    """NIST SP 800-63B-4: 15 characters where the password is the only factor, as it is here."""
    violations = policy.check("Zq7#vL2!pW9xR4k", ANNA)  # 15 characters
    assert violations == []
    assert policy.check("Zq7#vL2!pW9xR4", ANNA) == [Violation("too_short", {"min_length": 15})]
    assert policy.check("Zq7#vL2!pW9x", ANNA) == [Violation("too_short", {"min_length": 15})]  # 12


def test_128_characters_are_allowed_and_129_rejected(policy: PasswordPolicy) -> None:
    assert rules(policy, LONG[:128]) == []
    assert policy.check(LONG[:129], ANNA) == [Violation("too_long", {"max_length": 128})]


# Random-looking text without repetition, to cut passwords of any length from.
UNPATTERNED = "Zq7#vL2!pW9xR4kM8@tY3nB6^hJ1sD5&fG0cV-uE2;oI7?aK4=wN9+yT6<bH3>mP8%lC1~jF5|dS0"


def test_length_limits_are_configurable() -> None:
    policy = PasswordPolicy(min_length=20, max_length=64, blocklist=frozenset())
    assert rules(policy, UNPATTERNED[:19], NOBODY) == ["too_short"]
    assert rules(policy, UNPATTERNED[:20], NOBODY) == []
    assert rules(policy, UNPATTERNED[:64], NOBODY) == []
    assert policy.check(UNPATTERNED[:65], NOBODY) == [Violation("too_long", {"max_length": 64})]


def test_impossible_length_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        PasswordPolicy(min_length=20, max_length=10)
    with pytest.raises(ValueError):
        PasswordPolicy(min_length=0)


def test_fifteen_emoji_count_as_fifteen_characters(policy: PasswordPolicy) -> None:
    emoji = "🦊🌲🏔🚲🍎🐝🌻🎻🧀🚂🌊🦉🍄🎈🪁"
    assert len(emoji) == 15 and len(emoji.encode("utf-8")) == 60
    assert rules(policy, emoji) == []
    assert rules(policy, emoji[:14]) == ["too_short"]


def test_length_is_counted_in_code_points_after_nfkc(policy: PasswordPolicy) -> None:
    decomposed_e = "e\u0301"  # "é" typed as e + combining acute: NFKC makes it one code point
    assert unicodedata.normalize("NFKC", decomposed_e) == "é"
    typed = f"Caf{decomposed_e} Andr{decomposed_e} Ren{decomposed_e}"  # 18 code points typed
    assert len(typed) == 18 and len(PasswordPolicy.normalise(typed)) == 15
    assert rules(policy, typed) == []
    assert rules(policy, typed[:-2]) == ["too_short"]  # 16 typed, 14 after NFKC
    # No precomposed form exists for a letter + dot above + dot below: every code point counts.
    dotted = "".join(f"{letter}\u0307\u0323" for letter in "qjjqj")
    assert len(PasswordPolicy.normalise(dotted)) == 15
    assert rules(policy, dotted) == []
    assert rules(policy, dotted[:-1]) == ["too_short"]


def test_a_ligature_is_counted_after_normalisation(policy: PasswordPolicy) -> None:
    assert PasswordPolicy.normalise("ﬁ") == "fi"
    # 14 code points as typed, 15 after NFKC: long enough.
    assert rules(policy, "ﬁ" + "Zq7#vL2!pW9xR") == []
    assert rules(policy, "Zq7#vL2!pW9xR" + "x") == ["too_short"]


# --- nothing is truncated or stripped ----------------------------------------------------------------


def test_passwords_differing_only_after_character_72_are_both_fine_and_kept_whole(
    policy: PasswordPolicy,
) -> None:
    first, second = LONG[:72] + "ALPHA-one", LONG[:72] + "OMEGA-two"
    assert first[:72] == second[:72] and first != second
    assert policy.check(first, ANNA) == [] and policy.check(second, ANNA) == []
    assert PasswordPolicy.normalise(first) == first
    assert PasswordPolicy.normalise(second) == second


def test_the_end_of_a_long_password_is_checked_too(policy: PasswordPolicy) -> None:
    # A bcrypt-style cut at 72 bytes would miss both of these.
    email_only = PolicyContext(email="anna.schmidt@example.com", name="", firm_name="")
    assert rules(policy, LONG[:100] + "anna.schmidt", email_only) == ["contains_email"]
    assert rules(policy, LONG[:128] + "!") == ["too_long"]


def test_normalise_never_strips_whitespace(policy: PasswordPolicy) -> None:
    assert PasswordPolicy.normalise("  spaces  \t") == "  spaces  \t"
    # 13 visible characters + 2 spaces = 15: the spaces count.
    assert rules(policy, " Zq7#vL2!pW9xR ") == []


# --- common passwords ----------------------------------------------------------------------------


def test_the_shipped_blocklist_has_at_least_20000_lower_case_entries() -> None:
    entries = shipped_blocklist()
    assert len(entries) >= 20_000
    assert all(word in entries for word in ("password", "123456", "qwerty", "passwort", "weihnachtsbaum"))
    assert len(list(entries)) == len(entries)
    assert all(entry == unicodedata.normalize("NFKC", entry.casefold()) for entry in entries)
    assert "" not in entries


@pytest.mark.parametrize("password", ["weihnachtsbaum", "WEIHNACHTSBAUM", "WeihnachtsBaum", "PEANUTBUTTER"])
def test_a_blocklisted_password_is_rejected_in_any_case(any_length: PasswordPolicy, password: str) -> None:
    assert rules(any_length, password) == ["common_password"]


def test_fullwidth_letters_count_as_their_ascii_equivalents(any_length: PasswordPolicy) -> None:
    fullwidth = "ｗｅｉｈｎａｃｈｔｓｂａｕｍ"
    assert PasswordPolicy.normalise(fullwidth) == "weihnachtsbaum"
    assert rules(any_length, fullwidth) == ["common_password"]


def test_a_ligature_does_not_hide_a_common_password(any_length: PasswordPolicy) -> None:
    assert "fishing" in shipped_blocklist()
    assert rules(any_length, "ﬁshing2024!!") == ["common_password"]


@pytest.mark.parametrize(
    ("password", "broken"),
    [
        ("password123!", ["common_password"]),
        ("Password2024", ["common_password"]),
        ("Sonnenschein2024!", ["common_password"]),
        ("weihnachtsbaum#1", ["common_password"]),
        ("123456!!!!!!", ["common_password", "pattern"]),  # two runs, too
        ("Qwerty123456", ["common_password", "pattern"]),
    ],
)
def test_a_common_word_with_digits_or_symbols_appended_is_still_common(
    any_length: PasswordPolicy, password: str, broken: list[str]
) -> None:
    assert rules(any_length, password) == broken


@pytest.mark.parametrize(
    "password",
    [
        "my password is long",  # blocklisted word inside a phrase: not the same as the word
        "7x-password!!",  # something in front: not an appendage we flag
        "dragon slayer 2024",  # a space ends the appended run
        "password-Zq7#vL2",  # letters after the symbols
    ],
)
def test_common_words_inside_other_text_do_not_make_a_password_common(
    policy: PasswordPolicy, password: str
) -> None:
    assert "common_password" not in rules(policy, password)


def test_the_appended_base_needs_at_least_four_characters() -> None:
    policy = PasswordPolicy(min_length=1, blocklist=frozenset({"abc", "abcd"}))
    assert rules(policy, "abc918273645", NOBODY) == []
    assert rules(policy, "abcd91827364", NOBODY) == ["common_password"]


def test_a_long_number_that_starts_with_a_common_number_is_not_common(any_length: PasswordPolicy) -> None:
    assert "1987" in shipped_blocklist() and "198736459182" not in shipped_blocklist()
    assert rules(any_length, "198736459182") == []


def test_a_custom_blocklist_is_compared_case_and_width_insensitively() -> None:
    policy = PasswordPolicy(min_length=1, blocklist=frozenset({"Mandantenportal"}))
    assert rules(policy, "MANDANTENPORTAL", NOBODY) == ["common_password"]
    assert rules(policy, "ｍａｎｄａｎｔｅｎｐｏｒｔａｌ", NOBODY) == ["common_password"]
    assert rules(policy, "password1234", NOBODY) == []  # the shipped list is not used


# --- repetitive and sequential characters (NIST SP 800-63B-4 3.1.1.2) -------------------------------

# Only the pattern rule speaks: no length, no blocklist, no personal data.
PATTERNS_ONLY = PasswordPolicy(min_length=1, blocklist=frozenset())


def is_refused_as_pattern(password: str) -> bool:
    return "pattern" in rules(PATTERNS_ONLY, password, NOBODY)


@pytest.mark.parametrize(
    "password",
    [
        "aaaaaaaaaaaaaaa",  # the contract's examples
        "123456789012345",
        "passwordpassword",
        "abcdefghijklmnop",  # the alphabet
        "qwertyuiopasdfg",  # a keyboard's letter rows, one after the other
        "qwertzuiopüasdfghjklöä",  # German keyboard
        "azertyuiopqsdfghj",  # French keyboard
        "zyxwvutsrqponmlk",  # backwards
        "9876543210987654",  # digits wrap, backwards too
        "!@#$%^&*()!@#$%^",  # the top row shifted
        "1234abcd5678efgh",  # four runs of four
        "aaaabbbbccccdddd",
        "ＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡ",  # full width: NFKC makes it ASCII
        "AaAaAaAaAaAaAaAa",  # case does not matter
        "🦊🦊🦊🦊🦊🦊🦊🦊🦊🦊🦊🦊🦊🦊🦊",
        "Sommer Sommer Sommer Sommer",  # one word repeated, with or without separators
        "Kaffee, Kaffee, Kaffee!",
        "passwort-passwort-passwort",
        "hallo.welt.hallo.welt",
        "1 2 3 4 5 6 7 8 9 0 1 2",  # separators between the steps change nothing
        "a-b-c-d-e-f-g-h-i-j-k",
        "x7Kx7Kx7Kx7Kx7K",  # any piece repeated
        "xK9#" + "a" * 40,  # mostly one character
    ],
)
def test_repeated_and_sequential_characters_are_refused(password: str) -> None:
    assert is_refused_as_pattern(password)
    # Reported once, beside whatever else is wrong, in the documented order.
    assert rules(PasswordPolicy(), password, NOBODY).count("pattern") == 1


@pytest.mark.parametrize(
    "password",
    [
        GOOD,
        LONG,
        "correct horse battery staple",
        "Lindenbaum am Brunnen vor dem Tore 7",
        "Kirschblüten über dem Neckar 2026",
        "pflaumenkuchenmitsahne",
        "Zq7#vL2!pW9xR4k",
        "Mississippi River im Jahr 2024",  # doubled letters are no run of four
        "Meine Tastatur ist qwertz, mein Code 1234, aber der Satz ist lang",  # runs inside a phrase
        "der Hund und der Hund im Garten",  # a word twice in a sentence is not the sentence repeated
        "aaaah, das Meer! Wellen bis zum Horizont",
        "Kanzlei-Demo-Owner-2026",
        "Wasser-Feuer-Erde-Luft-Wasser",
    ],
)
def test_passphrases_with_a_few_runs_inside_are_no_pattern(password: str) -> None:
    assert not is_refused_as_pattern(password)


# Words of a passphrase: none is itself made of runs of four (a keyboard row, an alphabet run).
WORDS = st.sampled_from(
    [
        "Kaffee",
        "Rhein",
        "Brücke",
        "Sommer",
        "Abend",
        "Garten",
        "Lampe",
        "Fenster",
        "Wolke",
        "Tasse",
        "Himmel",
        "Neckar",
        "Schule",
        "Straße",
        "Apfel",
        "Katze",
        "Ufer",
        "Zimmer",
        "Regen",
        "Insel",
        "river",
        "table",
        "orange",
        "window",
        "garden",
        "music",
        "yellow",
        "morning",
        "bridge",
        "candle",
        "pepper",
        "silver",
        "harbour",
        "meadow",
        "lantern",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    words=st.lists(WORDS, min_size=3, max_size=7, unique=True),
    separator=st.sampled_from([" ", "-", "", ", "]),
)
def test_a_passphrase_of_different_words_is_never_a_pattern(words: list[str], separator: str) -> None:
    assert not is_refused_as_pattern(separator.join(words))


# Characters whose NFKC and case folding never reach across to a neighbour (no combining marks,
# no jamo), so that a piece repeated stays a piece repeated after folding.
PIECE_CHARACTERS = st.characters(codec="latin-1", categories=["L", "N", "P", "S", "Zs"]) | st.sampled_from(
    "🦊🌲ΣσςЖж"
)


@settings(max_examples=300, deadline=None)
@given(
    piece=st.text(PIECE_CHARACTERS, min_size=1, max_size=12),
    copies=st.integers(min_value=2, max_value=6),
    cut=st.integers(min_value=0, max_value=11),
)
def test_any_piece_written_twice_or_more_is_a_pattern(piece: str, copies: int, cut: int) -> None:
    """Repeating a word adds almost nothing for a guesser, whatever the word (NIST: a repeated
    blocklisted word; we refuse every repetition); the last copy may be cut short."""
    assert is_refused_as_pattern(piece * copies + piece[: cut % len(piece)])


def sequence_walk(sequence: str, wraps: bool, start: int, length: int, step: int) -> str:
    """``length`` characters of ``sequence`` one step apart, from ``start`` on (or back); a
    sequence that does not wrap gives at most its own length."""
    if wraps:
        return "".join(sequence[(start + step * i) % len(sequence)] for i in range(length))
    length = min(length, len(sequence))
    start %= len(sequence) - length + 1
    walk = sequence[start : start + length]
    return walk if step > 0 else walk[::-1]


@settings(max_examples=300, deadline=None)
@given(
    sequence=st.sampled_from(PATTERN_SEQUENCES),
    start=st.integers(min_value=0, max_value=40),
    length=st.integers(min_value=PATTERN_RUN_LENGTH, max_value=40),
    step=st.sampled_from([1, -1]),
    shout=st.booleans(),
)
def test_a_walk_along_a_sequence_is_a_pattern_either_way_in_any_case(
    sequence: tuple[str, bool], start: int, length: int, step: int, shout: bool
) -> None:
    walk = sequence_walk(*sequence, start, length, step)
    assert len(walk) >= PATTERN_RUN_LENGTH
    assert is_refused_as_pattern(walk.upper() if shout else walk)


@settings(max_examples=200, deadline=None)
@given(
    runs=st.lists(
        st.tuples(st.sampled_from(PATTERN_SEQUENCES), st.integers(0, 40), st.sampled_from([1, -1])),
        min_size=1,
        max_size=6,
    )
)
def test_runs_of_four_one_after_another_are_a_pattern(runs: list[tuple[tuple[str, bool], int, int]]) -> None:
    """NIST's own example, "1234abcd": runs averaging four characters, whatever they are."""
    password = "".join(
        sequence_walk(*sequence, start, PATTERN_RUN_LENGTH, step) for sequence, start, step in runs
    )
    assert is_refused_as_pattern(password)


def test_the_reset_pages_live_rule_walks_the_same_sequences() -> None:
    """The hosted page checks the rule as the person types (templates/pages/assets/reset.js);
    tests/e2e/test_browser.py compares its verdicts with the server's."""
    script = (ROOT / "templates" / "pages" / "assets" / "reset.js").read_text(encoding="utf-8")
    listed = re.findall(r"\[([\"'])(.+?)\1, (true|false)\],?\n", script)
    assert [(chars, wraps == "true") for _, chars, wraps in listed] == list(PATTERN_SEQUENCES)
    assert f"const PATTERN_RUN_LENGTH = {PATTERN_RUN_LENGTH};" in script


# --- personal data -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    [
        "my anna.schmidt secret",
        "ANNA.SCHMIDT-Zq7#vL2",
        "anna.schmidt@example.com!",
        "annaschmidt@example.com",
    ],
)
def test_the_e_mail_address_or_its_local_part_is_rejected(policy: PasswordPolicy, password: str) -> None:
    assert "contains_email" in rules(policy, password)


def test_a_local_part_shorter_than_three_characters_is_not_searched(any_length: PasswordPolicy) -> None:
    context = PolicyContext(email="jo@kanzlei-example.de", name="", firm_name="")
    assert rules(any_length, "jo-Zq7#vL2!pW9", context) == []
    assert rules(any_length, "JO@Kanzlei-Example.de 7#", context) == ["contains_email"]


@pytest.mark.parametrize(
    "password", ["Schmidt-Zq7#vL2!", "zq7#vL2!anna", "ANNASCHMIDT-zq7#", "xx anna schmidt xx"]
)
def test_the_name_or_a_part_of_it_is_rejected(any_length: PasswordPolicy, password: str) -> None:
    assert rules(any_length, password, named("Anna Schmidt")) == ["contains_name"]


def test_name_parts_shorter_than_three_characters_are_not_searched(any_length: PasswordPolicy) -> None:
    context = named("Li Xu")
    assert rules(any_length, "li-and-xu-Zq7#vL2", context) == []
    assert rules(any_length, "li xu-Zq7#vL2!", context) == ["contains_name"]  # the full name is searched


@pytest.mark.parametrize(
    "password", ["Mueller-Zq7#vL2!", "muller-Zq7#vL2!", "MÜLLER-Zq7#vL2!", "mu\u0308ller-Zq7#vL2!"]
)
def test_umlauts_match_their_usual_spellings(policy: PasswordPolicy, password: str) -> None:
    assert rules(policy, password, named("Jürgen Müller")) == ["contains_name"]


def test_a_name_written_with_ae_matches_a_password_written_with_umlaut(policy: PasswordPolicy) -> None:
    assert rules(policy, "Müller-Zq7#vL2!", named("Jürgen Mueller")) == ["contains_name"]


def test_sharp_s_matches_double_s(policy: PasswordPolicy) -> None:
    assert rules(policy, "STRAUSS-Zq7#vL2!", named("Greta Strauß")) == ["contains_name"]


@pytest.mark.parametrize("password", ["Berger-Zq7#vL2!", "zq7#vL2!BERGER", "steuerkanzlei berger & partner"])
def test_the_firm_name_or_a_distinctive_word_of_it_is_rejected(
    any_length: PasswordPolicy, password: str
) -> None:
    assert rules(any_length, password) == ["contains_firm_name"]


@pytest.mark.parametrize(
    "password", ["Steuerkanzlei-Zq7#vL2!", "Partner-Zq7#vL2!", "gmbh und partner tax", "Kanzlei am Rhein 7#"]
)
def test_generic_words_of_the_firm_name_are_allowed(policy: PasswordPolicy, password: str) -> None:
    assert rules(policy, password) == []


def test_short_firm_words_are_not_searched(policy: PasswordPolicy) -> None:
    context = PolicyContext(email="", name="", firm_name="ABC Steuerberatung GmbH")
    assert rules(policy, "abc-Zq7#vL2!pW9", context) == []
    assert rules(policy, "ABC Steuerberatung GmbH!", context) == ["contains_firm_name"]


def test_umlauts_in_the_firm_name_match_their_usual_spellings(policy: PasswordPolicy) -> None:
    context = PolicyContext(email="", name="", firm_name="Köhler Wirtschaftsprüfung GmbH")
    assert rules(policy, "koehler-Zq7#vL2!", context) == ["contains_firm_name"]
    assert rules(policy, "wirtschaftspruefung-Zq7#vL2!", context) == []


def test_empty_context_fields_do_not_match_everything(policy: PasswordPolicy) -> None:
    assert policy.check(GOOD, NOBODY) == []


# --- reporting -------------------------------------------------------------------------------------


def test_each_broken_rule_is_reported_once_in_a_stable_order(policy: PasswordPolicy) -> None:
    assert "anna" in shipped_blocklist()
    violations = policy.check("Anna", ANNA)
    assert [v.rule for v in violations] == ["too_short", "common_password", "contains_name"]
    assert policy.check("Anna", ANNA) == violations


def test_every_context_rule_at_once_is_reported_once_each(policy: PasswordPolicy) -> None:
    password = "anna.schmidt Anna Schmidt Berger Berger anna"
    assert rules(policy, password) == ["contains_email", "contains_name", "contains_firm_name"]


def test_rules_are_reported_in_the_documented_order() -> None:
    # docs/api.md names the rules of 422 password_rejected in order; the breached-password check
    # comes last, after the policy's own rules pass.
    lines = (ROOT / "docs" / "api.md").read_text(encoding="utf-8").splitlines()
    [row] = [line for line in lines if line.startswith("| `422` | `password_rejected` |")]
    documented = re.findall(r"`([a-z_]+)`", row.split("|")[3])
    assert documented == [*RULES, "breached"]


@pytest.mark.parametrize(
    "password",
    [
        "",
        "\x00" * 20,
        "\ud800\udfff lone surrogates \udc00",
        "\u0301" * 30,
        "\u202eRTL override\u202c",
        "🦊" * 10_000,
        "1" * 100_000,
        "password" + "!" * 100_000,
        "a\r\nb\tc",
    ],
)
def test_check_never_raises(policy: PasswordPolicy, password: str) -> None:
    violations = policy.check(password, ANNA)
    assert all(isinstance(v, Violation) and v.rule in RULES for v in violations)
    assert len({v.rule for v in violations}) == len(violations)


def test_check_tolerates_odd_context_values(policy: PasswordPolicy) -> None:
    odd = PolicyContext(email="@", name="\u0301\u0301\u0301", firm_name="&& --- &&")
    assert policy.check(GOOD, odd) == []


# --- messages --------------------------------------------------------------------------------------


@pytest.mark.parametrize("rule", RULES)
def test_every_rule_has_distinct_german_and_english_messages(rule: str) -> None:
    violation = Violation(rule, {"min_length": 12, "max_length": 128})
    english, german = violation.message("en"), violation.message("de")
    assert english and german and english != german
    assert "{" not in english and "{" not in german


def test_length_messages_name_the_number() -> None:
    assert Violation("too_short", {"min_length": 12}).message("en") == "Use at least 12 characters."
    assert Violation("too_short", {"min_length": 12}).message("de") == "Verwenden Sie mindestens 12 Zeichen."
    assert "128" in Violation("too_long", {"max_length": 128}).message("en")
    assert Violation("too_long", {"max_length": 128}).message("de") == "Verwenden Sie höchstens 128 Zeichen."
    assert "15" in Violation("too_short", {"min_length": 15}).message("de")


def test_german_messages_use_sie_and_real_umlauts() -> None:
    texts = [Violation(rule, {"min_length": 12, "max_length": 128}).message("de") for rule in RULES]
    assert all("Sie" in text for text in texts)
    assert not any(
        ascii_umlaut in text for text in texts for ascii_umlaut in ("hoechst", "waehl", "Ae", "Oe")
    )


@pytest.mark.parametrize(
    ("locale", "expected"), [("de", "de"), ("de-DE", "de"), ("en", "en"), ("fr", "en"), ("", "en")]
)
def test_unknown_locales_fall_back_to_english(locale: str, expected: str) -> None:
    violation = Violation("too_short", {"min_length": 12})
    assert violation.message(locale) == violation.message(expected)


def test_a_message_never_raises_even_with_missing_params() -> None:
    assert Violation("too_short", {}).message("de")
    assert Violation("no_such_rule", {}).message("en")


def test_describe_lists_the_rules_in_both_languages(policy: PasswordPolicy) -> None:
    english, german = policy.describe("en"), policy.describe("de")
    for described in (english, german):
        assert described["min_length"] == 15 and described["max_length"] == 128
        assert [item["rule"] for item in described["rules"]] == list(RULES)
    assert english["rules"][0]["message"] == "Use at least 15 characters."
    assert german["rules"][0]["message"] == "Verwenden Sie mindestens 15 Zeichen."
    assert all(
        en["message"] != de["message"] for en, de in zip(english["rules"], german["rules"], strict=True)
    )


def test_describe_reflects_the_configured_limits() -> None:
    described = PasswordPolicy(min_length=20, max_length=64, blocklist=frozenset()).describe("de")
    assert described["min_length"] == 20 and described["max_length"] == 64
    assert "20" in described["rules"][0]["message"] and "64" in described["rules"][1]["message"]


# --- cold start ------------------------------------------------------------------------------------


def _run(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(LAYER_DIR), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return result.stdout.strip()


def test_importing_the_module_does_not_read_the_blocklist() -> None:
    code = (
        "import pwreset.credentials.policy as p\n"
        "print(p._shipped_blocklist_cache is None)\n"
        "p.PasswordPolicy().describe('de')\n"
        "print(p._shipped_blocklist_cache is None)\n"
        "p.PasswordPolicy(blocklist=frozenset({'x'})).check('x', p.PolicyContext('', '', ''))\n"
        "print(p._shipped_blocklist_cache is None)\n"
        "p.PasswordPolicy().check('x', p.PolicyContext('', '', ''))\n"
        "print(len(p._shipped_blocklist_cache))\n"
    )
    before_import, after_describe, after_custom, after_check = _run(code).splitlines()
    assert (before_import, after_describe, after_custom) == ("True", "True", "True")
    assert int(after_check) >= 20_000


def test_the_blocklist_is_loaded_once_and_shared() -> None:
    assert shipped_blocklist() is shipped_blocklist()
    PasswordPolicy().check("x", NOBODY)
    from pwreset.credentials import policy

    assert policy._shipped_blocklist_cache is not None
    assert policy._shipped_blocklist_cache is shipped_blocklist()


def test_a_password_spanning_two_listed_lines_is_not_common() -> None:
    # The list is searched as one text: two neighbouring entries joined by a newline are not an entry.
    entries = shipped_blocklist()
    assert "123456" in entries and "123456789" in entries
    assert "123456\n123456789" not in entries
    assert "common_password" not in rules(PasswordPolicy(min_length=1), "123456\n123456789")


def test_a_custom_blocklist_is_folded_and_matches_whole_entries_only() -> None:
    policy = PasswordPolicy(min_length=1, blocklist=frozenset({"Kanzlei", ""}))
    assert rules(policy, "KANZLEI") == ["common_password"]
    assert rules(policy, "kanzle") == []
    assert rules(policy, "anzlei") == []


def test_every_demo_password_passes_the_policy_in_its_accounts_context(policy: PasswordPolicy) -> None:
    """The local stack's and the bench's accounts sign in with these; a demo that shows a
    password the service itself would refuse teaches the wrong thing (#24.10)."""
    from bench.stack import BENCH_ACCOUNTS

    demo = json.loads((ROOT / "local" / "demo_data.json").read_text(encoding="utf-8"))
    checked = {}
    for firm in demo["firms"]:
        accounts = [*firm["accounts"], *BENCH_ACCOUNTS.get(firm["firm_id"], ())]
        for account in accounts:
            if "password" in account:
                context = PolicyContext(email=account["email"], name=account["name"], firm_name=firm["name"])
                checked[account["email"]] = rules(policy, account["password"], context)
    assert len(checked) >= 10
    assert {email: broken for email, broken in checked.items() if broken} == {}
