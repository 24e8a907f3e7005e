"""The provisioning API over HTTP against ``make dev``, signed by botocore as the CRM's backend signs,
and the CRM example of ``docs/provisioning.md`` run as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import botocore.auth
import pytest

from devstack.seed import load_demo_data
from devstack.sigv4 import KeyPair
from support.demo_accounts import ANNA, ANNA_PROVISIONED
from support.local_stack import SEEN, Stack, mail_ids, wait_for_mail

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO = load_demo_data()
KEY = DEMO["provisioning"]
GOOD_PASSWORD = "Kastanienallee im Oktoberlicht 9"


def test_make_dev_seeded_its_demo_accounts_through_the_api(stack: Stack) -> None:
    anna = stack.signed("GET", f"/v1/admin/accounts/{ANNA}")
    assert anna.status == 200, anna.body
    assert anna.json()["account"] | {"email_status": "ok"} == {
        "account_id": ANNA,
        **ANNA_PROVISIONED,
        "has_password": True,
        "email_status": "ok",
    }


def test_a_crm_creates_a_firm_and_an_invited_client_who_sets_a_password(stack: Stack) -> None:
    firm = stack.signed("PUT", "/v1/admin/firms/firm-e2e", {"name": "Kanzlei Über HTTP", "locale": "de"})
    assert firm.status == 201, firm.body
    before = mail_ids(stack)
    body = {
        "firm_id": "firm-e2e",
        "role": "client",
        "email": "e2e.invite@example.com",
        "name": "Ida Invite",
        "send_invitation": True,
    }
    created = stack.signed("PUT", "/v1/admin/accounts/acc-e2e-invite", body)
    assert created.status == 201, created.body
    assert created.json()["invitation"]["status"] == "sent"
    mail = wait_for_mail(stack, "e2e.invite@example.com", before)
    assert mail["subject"].startswith("Willkommen im Mandantenportal von Kanzlei Über HTTP")
    raw = re.search(r"#token=([A-Za-z0-9_-]{43})", mail["text"]).group(1)  # type: ignore[union-attr]
    SEEN.values.add(raw)

    confirmed = stack.post("/v1/password-resets/confirm", {"token": raw, "password": GOOD_PASSWORD})
    assert confirmed.status == 200, confirmed.body
    again = stack.signed("PUT", "/v1/admin/accounts/acc-e2e-invite", body)
    assert (again.status, again.json()["invitation"]) == (200, {"status": "password_already_set"})


def test_anything_but_the_right_signature_is_403(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    path = "/v1/admin/accounts/acc-berger-client-anna"
    unsigned = stack.get(path)
    assert (unsigned.status, unsigned.json()["error"]["code"]) == (403, "forbidden")
    wrong_secret = KeyPair(KEY["access_key_id"], "wrong-secret-" + "0" * 27, KEY["region"])
    assert stack.signed("GET", path, key=wrong_secret).status == 403
    other_region = KeyPair(KEY["access_key_id"], KEY["secret_access_key"], "us-west-2")
    assert stack.signed("GET", path, key=other_region).status == 403
    skewed = datetime.now(UTC) - timedelta(minutes=6)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: skewed)
    assert stack.signed("GET", path).status == 403


def test_the_documented_crm_example_runs_as_written(stack: Stack, tmp_path: Path) -> None:
    doc = (REPO_ROOT / "docs" / "provisioning.md").read_text(encoding="utf-8")
    found = re.search(r"<!-- crm-example -->\n```python\n(.*?)```", doc, re.S)
    assert found, "docs/provisioning.md's CRM example is marked <!-- crm-example -->"
    script = tmp_path / "crm_example.py"
    script.write_text(found.group(1), encoding="utf-8")
    env = {
        **os.environ,
        "PORTAL_API": stack.base_url,
        "AWS_ACCESS_KEY_ID": KEY["access_key_id"],
        "AWS_SECRET_ACCESS_KEY": KEY["secret_access_key"],
        "AWS_REGION": KEY["region"],
    }
    env.pop("AWS_SESSION_TOKEN", None)
    env.pop("AWS_PROFILE", None)
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "firm-readme: 201" in done.stdout or "firm-readme: 200" in done.stdout
    assert re.search(r"acc-readme-client: 20[01] invitation sent", done.stdout), done.stdout
