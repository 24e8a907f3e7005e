"""Makes ``events/crm_events.json`` from a real run, not by hand: under moto, the four kinds of
events-table item the CRM's events are made of, read back from the table's stream. A team member
sends Anna a link and she sets a password from Chrome on Windows in Berlin; she locks the account
from her mail's "It wasn't me" link; the CRM changes James's address; SES reports a permanent bounce
for Bruno's. Run it from the repository's root when one of them records something new (a test says
when):

    PYTHONPATH=layers/pwreset:local:tests .venv/bin/python -m support.crm_sample
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from typing import Any

from support.environment import TEMPLATE  # sets the template's environment before pwreset is imported
from support.notify_sample import SAMPLE_HEADERS, record_from_a_real_reset

LOCK_IN_LINK = re.compile(r"#lock=([A-Za-z0-9_-]{43})")
SAMPLE_NAME = "crm_events.json"
BOUNCED = "bounce@simulator.amazonses.com"  # acc-berger-client-bounce in the demo data


def _published(record: dict[str, Any]) -> bool:
    image = record["dynamodb"].get("NewImage") or {}
    kind = image.get("type", {}).get("S")
    if kind == "account_provisioned":
        return "new_hint" in image.get("detail", {}).get("M", {})
    return kind in ("password_changed", "account_locked", "email_undeliverable")


def records_from_a_real_run() -> list[dict[str, Any]]:
    """Call inside a moto mock whose tables are provisioned and seeded with the demo data."""
    from pwreset.delivery import ses_events
    from pwreset.delivery.sns import VerifiedMessage
    from support.api import Api, gateway
    from support.sent_mail import message_body, sent_messages
    from support.ses_events import ses_event
    from support.streams import lambda_event, stream_records

    events_table = os.environ["EVENTS_TABLE"]
    record_from_a_real_reset()  # Jonas sends Anna a link; she sets a password from Berlin
    api = Api(source_ip="198.51.100.20")
    # Her mail (from the notification function, fed the stream) carries the lock link.
    gateway().runner.invoke("NotifyPasswordChangedFunction", lambda_event(stream_records(events_table)))
    [lock] = {t for m in sent_messages() for t in LOCK_IN_LINK.findall(message_body(m))}
    assert api.post("/v1/account-locks", {"token": lock}, headers=SAMPLE_HEADERS).status == 200
    james = {"firm_id": "firm-berger", "role": "client", "name": "James Miller", "locale": "en"}
    moved = api.signed(
        "PUT", "/v1/admin/accounts/acc-berger-client-james", {**james, "email": "james.miller@example.net"}
    )
    assert moved.status == 200, moved.body
    bounce = ses_event("event-bounce-permanent-noemail.json", reset_id=None, recipient=BOUNCED)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    message = VerifiedMessage(
        "Notification", "sns-sample-bounce", os.environ["SES_EVENTS_TOPIC_ARN"], json.dumps(bounce), now
    )
    assert ses_events.record_notification(message) == "unmatched"
    return [r for r in stream_records(events_table) if _published(r)]


def main() -> None:
    from support.provisioned import demo_under_moto
    from support.samples import EVENTS_DIR

    with demo_under_moto(TEMPLATE):
        records = records_from_a_real_run()
    path = EVENTS_DIR / SAMPLE_NAME
    path.write_text(json.dumps({"Records": records}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(path)


if __name__ == "__main__":
    main()
