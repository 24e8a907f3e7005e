"""Makes ``events/notify_password_changed.json`` from a real run, not by hand: under moto, a team
member sends Anna a link, she sets a password from Chrome on Windows in Berlin (CloudFront headers),
and the password-changed record is read back from the events table's stream. Run it from the
repository's root when the confirm path records something new (a test says when):

    PYTHONPATH=layers/pwreset:local:tests .venv/bin/python -m support.notify_sample
"""

from __future__ import annotations

import json
import os
from typing import Any

from devstack.template import local_origin_secret
from support.environment import TEMPLATE  # sets the template's environment before pwreset is imported

SAMPLE_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
SAMPLE_HEADERS = {
    # Through the stack's own CloudFront: only then are its viewer headers believed.
    "X-Origin-Verify": local_origin_secret(),
    "User-Agent": SAMPLE_USER_AGENT,
    "CloudFront-Viewer-Country": "DE",
    "CloudFront-Viewer-Country-Name": "Germany",
    "CloudFront-Viewer-Country-Region-Name": "Berlin",
    "CloudFront-Viewer-City": "Berlin",
}


def record_from_a_real_reset() -> dict[str, Any]:
    """Call inside a moto mock whose tables are provisioned and seeded with the demo data."""
    from support.api import Api
    from support.sent_mail import sent_messages, token_from
    from support.streams import stream_records

    api = Api(source_ip="198.51.100.20")
    member = api.sign_in("jonas.weber@berger-steuer.example", "Kanzlei-Demo-Member-2026")
    assert api.post("/v1/accounts/acc-berger-client-anna/password-reset", token=member).status == 202
    raw = token_from(sent_messages()[-1])
    result = api.post(
        "/v1/password-resets/confirm",
        {"token": raw, "password": "Lindenbaum am Brunnen vor dem Tore 7"},
        headers=SAMPLE_HEADERS,
    )
    assert result.status == 200, result.body
    [record] = [
        r
        for r in stream_records(os.environ["EVENTS_TABLE"])
        if r["dynamodb"]["NewImage"]["type"]["S"] == "password_changed"
    ]
    return record


def main() -> None:
    from support.provisioned import demo_under_moto
    from support.samples import EVENTS_DIR

    with demo_under_moto(TEMPLATE):
        record = record_from_a_real_reset()
    path = EVENTS_DIR / "notify_password_changed.json"
    path.write_text(json.dumps({"Records": [record]}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(path)


if __name__ == "__main__":
    main()
