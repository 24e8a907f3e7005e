"""pynamodb models of the tables that ``template.yaml`` defines (the template is the one source of
truth for keys and indexes; tests build their tables from it, not from these classes).

Timestamps are stored as ISO-8601 UTC strings so that they sort as strings in indexes.
"""

from __future__ import annotations

import contextlib

from pynamodb.attributes import (
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.connection import TableConnection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

from pwreset.core import aws
from pwreset.core.config import settings


class _Meta:
    region = settings().aws_region


class _SharedConnectionModel(Model):
    """A model whose calls go through the process's one DynamoDB client (``aws.dynamodb_connection``)
    instead of a client of its own."""

    @classmethod
    def _get_connection(cls) -> TableConnection:
        table = super()._get_connection()
        shared = aws.dynamodb_connection()
        if table.connection is not shared:
            with contextlib.suppress(ValueError):  # another model of the same table registered it
                shared.add_meta_table(table.get_meta_table())
            table.connection = shared
        return table


class AccountByEmail(GlobalSecondaryIndex["Account"]):
    class Meta:
        index_name = "by_email"
        projection = AllProjection()

    email = UnicodeAttribute(hash_key=True)


class AccountByFirmRole(GlobalSecondaryIndex["Account"]):
    class Meta:
        index_name = "by_firm_role"
        projection = AllProjection()

    firm_id = UnicodeAttribute(hash_key=True)
    role = UnicodeAttribute(range_key=True)


class Account(_SharedConnectionModel):
    """A firm's owner, team member, or client of the portal."""

    class Meta(_Meta):
        table_name = settings().accounts_table

    account_id = UnicodeAttribute(hash_key=True)
    firm_id = UnicodeAttribute()
    role = UnicodeAttribute()  # owner | member | client
    email = UnicodeAttribute()  # normalised: trimmed, lower-cased, validated
    name = UnicodeAttribute()
    locale = UnicodeAttribute(default="de")
    timezone = UnicodeAttribute(default="Europe/Berlin")
    status = UnicodeAttribute(default="active")  # active | archived
    password_hash = UnicodeAttribute(null=True)
    password_version = NumberAttribute(default=0)
    password_changed_at = UTCDateTimeAttribute(null=True)
    # What SES told us about the address: ok | undeliverable | complained.
    email_status = UnicodeAttribute(default="ok")

    by_email = AccountByEmail()
    by_firm_role = AccountByFirmRole()

    @property
    def is_staff(self) -> bool:
        return self.role in ("owner", "member")


class Firm(_SharedConnectionModel):
    class Meta(_Meta):
        table_name = settings().firms_table

    firm_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    timezone = UnicodeAttribute(default="Europe/Berlin")


class ResetTokenByAccount(GlobalSecondaryIndex["ResetToken"]):
    class Meta:
        index_name = "by_account"
        projection = AllProjection()

    account_id = UnicodeAttribute(hash_key=True)
    requested_at = UnicodeAttribute(range_key=True)


class ResetTokenByMessageId(GlobalSecondaryIndex["ResetToken"]):
    """SES events without our tags (identity notifications) find their reset by SES message id."""

    class Meta:
        index_name = "by_ses_message_id"
        projection = IncludeProjection(["reset_id", "account_id"])

    ses_message_id = UnicodeAttribute(hash_key=True)


class ResetToken(_SharedConnectionModel):
    """One reset link. Only the SHA-256 digest of the token is stored, never the token."""

    class Meta(_Meta):
        table_name = settings().reset_tokens_table

    token_hash = UnicodeAttribute(hash_key=True)
    reset_id = UnicodeAttribute()
    account_id = UnicodeAttribute()
    firm_id = UnicodeAttribute()
    firm_name = UnicodeAttribute(null=True)  # for the password policy, without another read
    email = UnicodeAttribute()  # the address the link went to
    requested_at = UnicodeAttribute()  # ISO-8601 UTC, sortable
    requested_by = UnicodeAttribute(null=True)  # staff account id; None = self-service
    requested_by_name = UnicodeAttribute(null=True)
    expires_at = UTCDateTimeAttribute()
    password_version = NumberAttribute()  # the account's version when issued
    status = UnicodeAttribute(default="issued")  # issued | used | revoked | send_failed
    used_at = UTCDateTimeAttribute(null=True)
    ses_message_id = UnicodeAttribute(null=True)
    ttl = TTLAttribute(null=True)

    by_account = ResetTokenByAccount()
    by_ses_message_id = ResetTokenByMessageId()


class Session(_SharedConnectionModel):
    """A signed-in portal session, stored by the SHA-256 digest of its opaque token."""

    class Meta(_Meta):
        table_name = settings().sessions_table

    session_hash = UnicodeAttribute(hash_key=True)
    account_id = UnicodeAttribute()
    firm_id = UnicodeAttribute()
    role = UnicodeAttribute()
    password_version = NumberAttribute()
    created_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute()
    ttl = TTLAttribute(null=True)


class Event(_SharedConnectionModel):
    """An audit event; the table's stream feeds the notifications."""

    class Meta(_Meta):
        table_name = settings().events_table

    event_id = UnicodeAttribute(hash_key=True)
    type = UnicodeAttribute()  # reset_requested | password_changed
    account_id = UnicodeAttribute()
    firm_id = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    detail = MapAttribute[str, object](default=dict)
    ttl = TTLAttribute(null=True)


class DeliveryTimeline(_SharedConnectionModel):
    """What SES reported about one reset mail, in arrival order (the reader sorts by event time).

    Keyed by ``reset_id`` (our sends tag every mail with it), so an event can be recorded even when
    it arrives before the send's message id is written to the token. Each entry is one normalised
    event as a JSON string (see :mod:`pwreset.delivery.ses_events`).
    """

    class Meta(_Meta):
        table_name = settings().delivery_events_table

    reset_id = UnicodeAttribute(hash_key=True)
    message_id = UnicodeAttribute(null=True)
    events = ListAttribute(of=UnicodeAttribute, default=list)
    ttl = TTLAttribute(null=True)


class SnsMessage(_SharedConnectionModel):
    """One processed SNS message, by ``MessageId``: SNS delivers at least once, we record once."""

    class Meta(_Meta):
        table_name = settings().sns_messages_table

    message_id = UnicodeAttribute(hash_key=True)
    received_at = UTCDateTimeAttribute()
    ttl = TTLAttribute(null=True)
