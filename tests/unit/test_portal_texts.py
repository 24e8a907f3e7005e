"""The reference portal's texts (local/devstack/static/portal-texts.json): German and English for
every key, and a text for every key the page and its script use, including the ones the script
builds from the API's values (statuses, roles, kinds of mail, SES event types)."""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path

from pwreset.api.schemas.delivery import Delivery
from pwreset.api.schemas.sessions import FirmClient
from pwreset.delivery.ses_events import EVENT_TYPES
from support.translations import assert_translated

STATIC = Path(__file__).resolve().parents[2] / "local" / "devstack" / "static"
TEXTS = json.loads((STATIC / "portal-texts.json").read_text(encoding="utf-8"))
SCRIPT = (STATIC / "portal.js").read_text(encoding="utf-8")
PAGE = (STATIC / "portal.html").read_text(encoding="utf-8")
# Words that are the same in both languages.
SAME_IN_BOTH = {"tab_info", "column_name", "column_status", "label_name", "label_status"}


def _literal_values(annotation: object) -> set[str]:
    return set(typing.get_args(annotation))


def test_german_and_english_have_the_same_keys_and_every_text_is_translated() -> None:
    assert_translated(TEXTS, SAME_IN_BOTH)


def test_every_key_the_page_and_the_script_name_has_a_text() -> None:
    used = set(re.findall(r'data-i18n(?:-label)?="([a-z_]+)"', PAGE))
    used |= set(re.findall(r'\bt\(\s*"([a-z_]+)"', SCRIPT))
    used |= set(re.findall(r'setText\([^,]+,\s*"([a-z_]+)"\)', SCRIPT))
    used |= set(re.findall(r'flash\("([a-z_]+)"\)', SCRIPT))
    used |= set(re.findall(r'\bgo\([^,()]+,\s*"([a-z_]+)"\)', SCRIPT))  # a message for the next view
    used |= set(re.findall(r'passwordError\("([a-z_]+)"', SCRIPT))
    assert len(used) > 60
    assert used <= set(TEXTS["de"]), sorted(used - set(TEXTS["de"]))


def test_every_value_the_api_can_answer_has_a_text() -> None:
    families = {
        "status_": _literal_values(FirmClient.model_fields["status"].annotation),
        "email_status_": _literal_values(FirmClient.model_fields["email_status"].annotation),
        "delivery_status_": _literal_values(Delivery.model_fields["status"].annotation),
        "kind_": _literal_values(Delivery.model_fields["kind"].annotation),
        "role_": {"owner", "member", "client"},
        "event_": set(EVENT_TYPES.values()) | {"other"},
    }
    for prefix, values in families.items():
        assert values, prefix
        missing = {f"{prefix}{value}" for value in values} - set(TEXTS["de"])
        assert not missing, sorted(missing)
