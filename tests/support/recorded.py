"""What the service has recorded, for rejection tests: a refused request must leave every table,
the mail SES accepted and the queues as they were. Under moto (the in-process tests).

Where a path records something by design whatever its outcome (the self-service queue's one
idempotency record per request), ``assert_only_recorded_since`` names exactly what was added."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from support.environment import TEMPLATE
from support.sent_mail import sent_messages

# A refused sign-in or token request still counts against its limits: that is the limiter working,
# not a record of the request. So is a login's count of wrong passwords in a row (issue #24).
COUNTERS = "RateLimitsTable"
LOGIN_COUNTERS = {"LoginsTable": "failed_sign_ins"}
REGION = "eu-central-1"


@dataclass(frozen=True)
class Recorded:
    items: dict[str, list[Any]]  # table logical id -> its items, sorted
    mails: int
    queued: dict[str, int]  # queue logical id -> messages in it, visible or not

    def changes_since(self, earlier: Recorded) -> list[str]:
        """What differs, in words, for an assertion message."""
        changed = [f"table {t}" for t in self.items if self.items[t] != earlier.items.get(t)]
        if self.mails != earlier.mails:
            changed.append(f"{self.mails - earlier.mails} mail(s) sent")
        changed += [f"queue {q}" for q in self.queued if self.queued[q] != earlier.queued.get(q)]
        return changed


def recorded(*, counters: bool = False) -> Recorded:
    """Every item of every table of the template (rate-limit counters and a login's count of failed
    sign-ins only when asked for), how
    many mails SES accepted, and how many messages wait in each queue. Read from moto's backends,
    as :func:`support.sent_mail.sent_messages` reads SES's: a scan through the API costs moto's
    response serializer up to a tenth of a second per table, and rejection tests look twice."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends
    from moto.sqs.models import sqs_backends

    dynamodb = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION]
    items = {}
    for table in TEMPLATE.tables():
        if table == COUNTERS and not counters:
            continue
        stored = [
            item.to_json()["Attributes"]
            for item in dynamodb.get_table(TEMPLATE.physical_name(table)).all_items()
        ]
        if table in LOGIN_COUNTERS and not counters:
            stored = [{k: v for k, v in item.items() if k != LOGIN_COUNTERS[table]} for item in stored]
        items[table] = sorted(stored, key=repr)
    sqs = sqs_backends[DEFAULT_ACCOUNT_ID][REGION]
    queued = {}
    for queue in TEMPLATE.of_type("AWS::SQS::Queue"):
        found = sqs.get_queue(TEMPLATE.physical_name(queue))
        queued[queue] = (
            found.approximate_number_of_messages + found.approximate_number_of_messages_not_visible
        )
    return Recorded(items=items, mails=len(sent_messages()), queued=queued)


def assert_nothing_recorded_since(earlier: Recorded, *, counters: bool = False) -> None:
    changes = recorded(counters=counters).changes_since(earlier)
    assert not changes, f"a refused request left a record: {', '.join(changes)}"


def assert_only_recorded_since(
    earlier: Recorded, *, added: Mapping[str, int], counters: bool = False
) -> None:
    """Exactly ``added[table]`` new items in each named table (table logical id -> how many), every
    item already there as it was; and nothing else recorded anywhere (tables, mail, queues)."""
    now = recorded(counters=counters)
    for table, count in added.items():
        changed = [item for item in earlier.items[table] if item not in now.items[table]]
        assert not changed, f"table {table}: {len(changed)} item(s) already there changed or went"
        new = len(now.items[table]) - len(earlier.items[table])
        assert new == count, f"table {table}: {new} item(s) added, {count} expected"
    changes = [c for c in now.changes_since(earlier) if c.removeprefix("table ") not in added]
    assert not changes, f"a refused request left a record: {', '.join(changes)}"
