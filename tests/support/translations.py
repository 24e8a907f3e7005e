"""The check every table of texts a person reads passes: German and English, the same keys, no
empty text, and a translation for each (a text the same in both is one the caller names)."""

from __future__ import annotations

from collections.abc import Mapping


def assert_translated(texts: Mapping[str, Mapping[str, object]], same_in_both: set[str]) -> None:
    """``texts`` maps a language to its texts by key."""
    assert set(texts) == {"de", "en"}
    assert set(texts["de"]) == set(texts["en"])
    for language, by_key in texts.items():
        assert all(isinstance(v, str) and v.strip() for v in by_key.values()), language
    same = {key for key in texts["de"] if texts["de"][key] == texts["en"][key]}
    assert same == same_in_both
