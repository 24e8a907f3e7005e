"""Which new passwords the portal accepts: length, a blocklist of common passwords, no personal data.

The rules follow NIST SP 800-63B (5.1.1.2) and OWASP ASVS 5.0 V6:

* length is counted in Unicode code points after NFKC normalisation, at least ``min_length`` (NIST: 8,
  15 recommended for single-factor; we default to 12) and up to ``max_length`` (NIST: allow at least
  64; we default to 128). Nothing is ever truncated or stripped: the password the user typed is the
  password that gets hashed.
* no composition rules (ASVS 6.2.5): spaces, emoji and passphrases are welcome.
* the password must not be a commonly used one (ASVS 6.2.4 asks for the top 3,000; we ship ~40,000).
* it must not contain the user's e-mail address, name or firm name (NIST: "context-specific words").

Like Django's ``contrib.auth.password_validation``, every rule is small and ``check`` *returns* what
is wrong instead of raising, so the reset page can show every problem at once.
"""

from __future__ import annotations

import functools
import gzip
import os
import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pwreset.core.i18n import N_, catalog

__all__ = [
    "RULES",
    "PasswordPolicy",
    "PolicyContext",
    "Violation",
    "shipped_blocklist",
]

# Rule codes in the order ``check`` reports them (and ``describe`` lists them).
RULES: tuple[str, ...] = (
    "too_short",
    "too_long",
    "common_password",
    "contains_email",
    "contains_name",
    "contains_firm_name",
)

_BLOCKLIST_RESOURCE = ("data", "common-passwords.txt.gz")

# A password that is a blocklisted entry plus a few trailing digits or symbols is still common.
_MIN_VARIANT_BASE = 4
# Context words shorter than these are too likely to occur by chance to be useful.
_MIN_PERSONAL_PART = 3
_MIN_FIRM_WORD = 4

# Words in firm names that say what kind of business it is, not which one. Written lower-case; they
# are folded like everything else below, so "Wirtschaftsprüfung" and "wirtschaftspruefung" both match.
_GENERIC_FIRM_WORDS_RAW = (
    "and",
    "und",
    "the",
    "der",
    "die",
    "das",
    "co",
    "kg",
    "ag",
    "ug",
    "ohg",
    "gbr",
    "mbh",
    "gmbh",
    "kgaa",
    "mbb",
    "partg",
    "llp",
    "llc",
    "ltd",
    "limited",
    "inc",
    "plc",
    "corp",
    "company",
    "haftungsbeschränkt",
    "partner",
    "partners",
    "partnerin",
    "partnerinnen",
    "partnerschaft",
    "partnerschaftsgesellschaft",
    "gesellschaft",
    "kanzlei",
    "steuerkanzlei",
    "steuerberatung",
    "steuerberater",
    "steuerberaterin",
    "steuerberaterinnen",
    "steuerberatungsgesellschaft",
    "wirtschaftsprüfung",
    "wirtschaftsprüfer",
    "wirtschaftsprüferin",
    "wirtschaftsprüfungsgesellschaft",
    "rechtsanwalt",
    "rechtsanwälte",
    "rechtsanwältin",
    "buchhaltung",
    "buchführung",
    "lohnbuchhaltung",
    "beratung",
    "berater",
    "consulting",
    "consultants",
    "treuhand",
    "revision",
    "büro",
    "gruppe",
    "group",
    "tax",
    "taxes",
    "accounting",
    "accountant",
    "accountants",
    "chartered",
    "certified",
    "bookkeeping",
    "advisors",
    "advisers",
    "advisory",
    "associates",
    "services",
    "solutions",
    "office",
)

_MESSAGES: dict[str, str] = {
    "too_short": N_("Use at least %(min_length)s characters."),
    "too_long": N_("Use at most %(max_length)s characters."),
    "common_password": N_("This password is too common and easy to guess. Please choose a less obvious one."),
    "contains_email": N_("Don't use your e-mail address or parts of it."),
    "contains_name": N_("Don't use your name or parts of it."),
    "contains_firm_name": N_("Don't use the name of your firm."),
    # Not a rule of ``check``: judged after it by pwreset.credentials.breached (a network call).
    "breached": N_(
        "This password has appeared in a data breach, so attackers try it first. "
        "Please choose one you have never used anywhere else."
    ),
}
_FALLBACK_MESSAGE = N_("Please choose another password.")

# Cache for the shipped blocklist: filled by the first check, not at import, so a Lambda cold start
# that never checks a password does not pay for reading ~40,000 lines.
_shipped_blocklist_cache: WordList | None = None
_shipped_blocklist_lock = threading.Lock()


def _text(value: Any) -> str:
    """Context fields are typed ``str``; anything else counts as empty rather than crashing a check."""
    return value if isinstance(value, str) else ""


def _fold(value: str) -> str:
    """NFKC + case folding (Unicode's "NFKC_Casefold" in spirit): how we compare passwords to lists."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())


_GERMAN_TRANSLITERATION = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})


def _strip_marks(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def _spellings(value: str) -> set[str]:
    """The ways a (folded) word may be typed: "müller" -> {"mueller", "muller"}; "ß" is already "ss"."""
    return {_strip_marks(value), _strip_marks(value.translate(_GERMAN_TRANSLITERATION))}


def _words(folded: str) -> list[str]:
    return [word for word in re.split(r"[\W_]+", folded) if word]


_GENERIC_FIRM_WORDS = frozenset(s for word in _GENERIC_FIRM_WORDS_RAW for s in _spellings(_fold(word)))


_EMPTY_WORD_LIST = "\n\n"


class WordList:
    """A set of words kept as one newline-separated text and searched in place.

    Why not a frozenset: building one from the shipped list's 40,000 lines would be most of the
    first password check on every cold start, while a check looks up one word in the text, or a
    few when the password ends in digits or symbols (the first check's cost: ``bench/results.md``).
    """

    def __init__(self, lines: str) -> None:
        """``lines``: one word per line, as the shipped file is (it holds no blank lines)."""
        self._text = "\n" + lines.strip("\n") + "\n"

    @classmethod
    def of(cls, words: Iterable[str]) -> WordList:
        return cls("\n".join(word for word in words if word and "\n" not in word))

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and bool(word) and "\n" not in word and f"\n{word}\n" in self._text

    def __len__(self) -> int:
        return self._text.count("\n") - 1 if self._text != _EMPTY_WORD_LIST else 0

    def __iter__(self) -> Iterator[str]:
        return iter(self._text[1:-1].split("\n") if self._text != _EMPTY_WORD_LIST else ())

    @functools.cached_property
    def longest(self) -> int:
        """Length of the longest word: bounds the cuts ``_is_common`` tries (needed only then)."""
        return max(map(len, self._text.split("\n")))


def _load_shipped() -> WordList:
    # A plain file next to this module (the layer is a directory, never a zip): importlib.resources
    # would add its own imports to the first check.
    path = os.path.join(os.path.dirname(__file__), *_BLOCKLIST_RESOURCE)
    with open(path, "rb") as packed:
        return WordList(gzip.decompress(packed.read()).decode("utf-8"))


def _shipped() -> WordList:
    global _shipped_blocklist_cache
    cached = _shipped_blocklist_cache
    if cached is None:
        with _shipped_blocklist_lock:
            cached = _shipped_blocklist_cache
            if cached is None:
                cached = _shipped_blocklist_cache = _load_shipped()
    return cached


def shipped_blocklist() -> WordList:
    """The shipped common-password list (lower-cased, NFKC); loads and caches it on first use.

    Call it during initialisation to move the one-off read out of the first request.
    """
    return _shipped()


@dataclass(frozen=True)
class PolicyContext:
    """What we know about the account, so the password cannot be guessed from it (NIST 5.1.1.2)."""

    email: str
    name: str
    firm_name: str


@dataclass(frozen=True)
class Violation:
    """One broken rule. ``rule`` is a stable machine code (see ``RULES``); ``params`` fill the text."""

    rule: str
    params: Mapping[str, int | str] = field(default_factory=dict, hash=False)

    def message(self, locale: str) -> str:
        """Plain-language text for the user in ``locale``'s language (German: the Sie form). Never raises."""
        texts = catalog(locale)
        try:
            return texts.gettext(_MESSAGES.get(self.rule, _FALLBACK_MESSAGE)) % dict(self.params)
        except (KeyError, IndexError, ValueError, AttributeError, TypeError):
            return texts.gettext(_FALLBACK_MESSAGE)


class _ContextMatcher:
    """Finds personal words in a password, forgiving case, width, accents and ä/ae spellings."""

    def __init__(self, password: str) -> None:
        self._haystacks = _spellings(_fold(password))

    def contains_any(self, needles: Iterable[str]) -> bool:
        return any(needle in haystack for needle in needles for haystack in self._haystacks)


def _whole_and_compact(folded: str, minimum: int) -> set[str]:
    """The folded phrase and the phrase without separators ("anna schmidt", "annaschmidt")."""
    compact = "".join(_words(folded))
    return {s for form in (folded, compact) if len(form) >= minimum for s in _spellings(form)}


def _email_needles(email: str) -> set[str]:
    folded = _fold(email).strip()
    local = folded.rpartition("@")[0] if "@" in folded else folded
    needles = _whole_and_compact(folded, _MIN_PERSONAL_PART)
    needles |= _whole_and_compact(local, _MIN_PERSONAL_PART)
    return {n for n in needles if len(n) >= _MIN_PERSONAL_PART}


def _name_needles(name: str) -> set[str]:
    folded = _fold(name).strip()
    needles = _whole_and_compact(folded, _MIN_PERSONAL_PART)
    for part in _words(folded):
        if len(part) >= _MIN_PERSONAL_PART:
            needles |= _spellings(part)
    return {n for n in needles if len(n) >= _MIN_PERSONAL_PART}


def _firm_needles(firm_name: str) -> set[str]:
    folded = _fold(firm_name).strip()
    needles = _whole_and_compact(folded, _MIN_PERSONAL_PART)
    for word in _words(folded):
        spellings = _spellings(word)
        if len(word) >= _MIN_FIRM_WORD and not spellings & _GENERIC_FIRM_WORDS:
            needles |= spellings
    return {n for n in needles if len(n) >= _MIN_PERSONAL_PART}


def _is_suffix_char(char: str) -> bool:
    """Digits, punctuation and symbols: what people bolt onto a word to satisfy old composition rules."""
    return unicodedata.category(char)[0] in "NPS"


def _is_number(text: str) -> bool:
    return all(unicodedata.category(char)[0] == "N" for char in text)


class PasswordPolicy:
    """The portal's password rules. Construct once (e.g. at module level in a handler) and reuse.

    ``blocklist=None`` uses the shipped list of ~40,000 common passwords, read lazily on the first
    ``check`` and then cached for the whole process. A custom blocklist is folded (NFKC, case) here.
    """

    def __init__(
        self,
        min_length: int = 12,
        max_length: int = 128,
        blocklist: frozenset[str] | None = None,
    ) -> None:
        if min_length < 1 or max_length < min_length:
            raise ValueError("need 1 <= min_length <= max_length")
        self.min_length = min_length
        self.max_length = max_length
        self._custom = (
            None if blocklist is None else WordList.of(sorted({_fold(entry) for entry in blocklist}))
        )

    @staticmethod
    def normalise(password: str) -> str:
        """Unicode NFKC, as NIST asks, so "ｐａｓｓ" and "pass" are the same. Never truncates or strips."""
        return unicodedata.normalize("NFKC", password)

    def check(self, password: str, context: PolicyContext) -> list[Violation]:
        """Every rule the password breaks, each at most once, in the order of ``RULES``.

        Returns an empty list for an acceptable password. Never raises for any ``str`` (lone
        surrogates, control characters, megabytes of text included); only a broken deployment whose
        blocklist file is missing raises, on purpose, rather than silently accepting common passwords.
        """
        password = _text(password)
        normalised = self.normalise(password)
        violations: list[Violation] = []
        if len(normalised) < self.min_length:
            violations.append(Violation("too_short", {"min_length": self.min_length}))
        if len(normalised) > self.max_length:
            violations.append(Violation("too_long", {"max_length": self.max_length}))
        if self._is_common(_fold(normalised)):
            violations.append(Violation("common_password", {}))

        matcher = _ContextMatcher(normalised)
        if matcher.contains_any(_email_needles(_text(getattr(context, "email", "")))):
            violations.append(Violation("contains_email", {}))
        if matcher.contains_any(_name_needles(_text(getattr(context, "name", "")))):
            violations.append(Violation("contains_name", {}))
        if matcher.contains_any(_firm_needles(_text(getattr(context, "firm_name", "")))):
            violations.append(Violation("contains_firm_name", {}))
        return violations

    def describe(self, locale: str) -> dict[str, Any]:
        """The rules for the reset page's live feedback, localised; same texts as the violations."""
        params: dict[str, Mapping[str, int | str]] = {
            "too_short": {"min_length": self.min_length},
            "too_long": {"max_length": self.max_length},
        }
        return {
            "min_length": self.min_length,
            "max_length": self.max_length,
            "rules": [
                {"rule": rule, "message": Violation(rule, params.get(rule, {})).message(locale)}
                for rule in RULES
            ],
        }

    def _blocklist(self) -> WordList:
        return self._custom if self._custom is not None else _shipped()

    def _is_common(self, key: str) -> bool:
        """Is the folded password, or a blocklisted word with digits/symbols appended, on the list?

        Choice: "password123!" and "Sommer2024" count as common, because cracking tools try exactly
        these appendages first. The base must have at least 4 code points ("abc" + "123456789" is
        not flagged for "abc"). A base that is itself a number only counts when followed by
        punctuation or symbols ("123456!!!!!!"), not by more digits, or every long number starting
        with a common year such as "1987" would be rejected.
        """
        entries = self._blocklist()
        if key in entries:
            return True
        start = len(key)
        while start > 0 and _is_suffix_char(key[start - 1]):
            start -= 1
        if start == len(key):
            return False  # no trailing digits or symbols: no variant to try
        # The base ends somewhere in (or right before) the trailing run; the suffix is never empty.
        for cut in range(max(start, _MIN_VARIANT_BASE), min(len(key) - 1, entries.longest) + 1):
            base, suffix = key[:cut], key[cut:]
            if base in entries and not (_is_number(base) and any(_is_number(c) for c in suffix)):
                return True
        return False
