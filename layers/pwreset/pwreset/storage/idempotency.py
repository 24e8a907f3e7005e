"""At-least-once inputs, at-most-once effects: powertools' idempotency utility on the stack's
idempotency table, for the stream's notification mails and the queue's self-service requests.

A guarded function claims its key with a conditional put before it runs and marks the record done
after; a redelivered input finds the record and is answered from it, a failed run deletes it so a
retry may run again. A run that crashed mid-way leaves an in-progress record that expires when
its invocation would have ended (:meth:`Guard.register_lambda_context`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from pwreset.core import aws
from pwreset.core.config import settings


@dataclass(frozen=True)
class Guard:
    config: IdempotencyConfig
    run: Callable[..., Any]
    persistence: DynamoDBPersistenceLayer
    key_prefix: str

    def register_lambda_context(self, context: Any) -> None:
        self.config.register_lambda_context(context)

    def prepare(self) -> None:
        """Configure the persistence layer as the first guarded call would (its key's JMESPath
        compiled): a SnapStart warm-up. The call's own configuring then finds it done."""
        self.persistence.configure(self.config, key_prefix=self.key_prefix)


def guard(
    function: Callable[..., Any],
    *,
    data_keyword_argument: str,
    key_jmespath: str,
    key_prefix: str,
    expires_after_seconds: int,
) -> Guard:
    """``function`` made idempotent on the key ``key_jmespath`` picks from its
    ``data_keyword_argument``. Built when first needed: the persistence layer creates its DynamoDB
    client when constructed. ``key_prefix`` is fixed, so renaming code never makes every key new."""
    config = IdempotencyConfig(
        event_key_jmespath=key_jmespath,
        raise_on_no_idempotency_key=True,
        expires_after_seconds=expires_after_seconds,
    )
    persistence = DynamoDBPersistenceLayer(
        table_name=settings().idempotency_table,
        # A botocore client serves where powertools asks for boto3's.
        boto3_client=aws.client("dynamodb"),
    )
    run = idempotent_function(
        function,
        data_keyword_argument=data_keyword_argument,
        persistence_store=persistence,
        config=config,
        key_prefix=key_prefix,
    )
    return Guard(config=config, run=run, persistence=persistence, key_prefix=key_prefix)
