"""The local range API (``devstack.pwned``) answers as the real one does, and the demo's breached
password is one the service refuses for that reason alone: it passes every other rule, today's
and those issue #24 adds (15 code points, no repeated or sequential run, no blocklisted word twice)."""

from __future__ import annotations

import re
import unicodedata

import pytest

from devstack.pwned import BREACHED_PASSPHRASES, FakeRangeApi, blocklist, sha1_hex
from devstack.seed import load_demo_data
from pwreset.credentials.policy import PasswordPolicy, PolicyContext
from support.breached import breached_example, corpus

PADDING = [("Add-Padding", "true")]


def has_run_of_three(password: str) -> bool:
    """Three repeated characters, or three in a row up or down ("aaa", "abc", "321")."""
    codes = [ord(c) for c in unicodedata.normalize("NFKC", password).casefold()]
    return any(
        codes[i + 1] - codes[i] == codes[i + 2] - codes[i + 1] and abs(codes[i + 1] - codes[i]) <= 1
        for i in range(len(codes) - 2)
    )


def test_the_demo_data_names_one_of_the_made_up_breached_passphrases() -> None:
    assert breached_example() in BREACHED_PASSPHRASES
    assert breached_example() in corpus()


@pytest.mark.parametrize("password", sorted(BREACHED_PASSPHRASES))
def test_each_made_up_breached_passphrase_passes_every_other_rule_for_every_demo_account(
    password: str,
) -> None:
    policy = PasswordPolicy(min_length=15)
    for firm in load_demo_data()["firms"]:
        for account in firm["accounts"]:
            context = PolicyContext(email=account["email"], name=account["name"], firm_name=firm["name"])
            assert policy.check(password, context) == [], (password, account["name"])
    assert not has_run_of_three(password)
    common = set(blocklist())
    words = [w for w in re.split(r"[\W_]+", unicodedata.normalize("NFKC", password).casefold()) if w]
    blocklisted = [w for w in words if w in common]
    assert len(blocklisted) == len(set(blocklisted)), blocklisted  # no blocklisted word twice


def test_the_run_check_finds_what_issue_24_refuses() -> None:
    assert has_run_of_three("aaaaaaaaaaaaaaa") and has_run_of_three("123456789012345")
    assert has_run_of_three("Sommer-cba-Winter") and not has_run_of_three("Blaue-Tulpe")


def test_every_blocklisted_password_is_in_the_corpus_too() -> None:
    assert len(corpus()) == len(set(blocklist()) | set(BREACHED_PASSPHRASES))
    assert "password" in corpus() and "correct horse battery staple" not in corpus()


def test_a_padded_answer_has_800_to_1000_sorted_lines_and_the_real_count() -> None:
    api = FakeRangeApi(corpus())
    digest = sha1_hex(breached_example())
    status, _, body = api.answer(f"/range/{digest[:5]}", PADDING)
    lines = body.decode("ascii").split("\r\n")
    assert status == 200 and 800 <= len(lines) <= 1000
    assert lines == sorted(lines)
    assert all(re.fullmatch(r"[0-9A-F]{35}:\d+", line) for line in lines)
    assert f"{digest[5:]}:{BREACHED_PASSPHRASES[breached_example()]}" in lines
    assert sum(not line.endswith(":0") for line in lines) == 1  # the rest is padding


def test_without_padding_only_the_known_suffixes_are_answered() -> None:
    digest = sha1_hex(breached_example())
    _, _, body = FakeRangeApi(corpus()).answer(f"/range/{digest[:5]}", [])
    assert body.decode("ascii") == f"{digest[5:]}:{BREACHED_PASSPHRASES[breached_example()]}"


@pytest.mark.parametrize("path", ["/range/ABCD", "/range/ABCDEF", "/range/GHIJK", "/other/ABCDE"])
def test_anything_but_a_five_hex_prefix_is_a_400(path: str) -> None:
    api = FakeRangeApi(corpus())
    assert api.answer(path, PADDING)[0] == 400
    assert [r.path for r in api.requests()] == [path]  # logged all the same
