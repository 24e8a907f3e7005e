"""pynamodb models of the tables that ``template.yaml`` defines (the template is the one source of
truth for keys and indexes; tests build their tables from it, not from these classes).

Timestamps are stored as ISO-8601 UTC strings so that they sort as strings in indexes.
"""

from __future__ import annotations

import contextlib

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.connection import TableConnection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
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


class AccountByFirmRole(GlobalSecondaryIndex["Account"]):
    class Meta:
        index_name = "by_firm_role"
        projection = AllProjection()

    firm_id = UnicodeAttribute(hash_key=True)
    role = UnicodeAttribute(range_key=True)


class Account(_SharedConnectionModel):
    """A firm's owner, team member, or client of the portal: one person's access to one firm. The
    password is not the account's but its login's (:class:`Login`, by ``email``), shared by every
    account with that address."""

    class Meta(_Meta):
        table_name = settings().accounts_table

    account_id = UnicodeAttribute(hash_key=True)
    firm_id = UnicodeAttribute()
    role = UnicodeAttribute()  # owner | member | client
    email = UnicodeAttribute()  # normalised (trimmed, lower-cased, validated): the login's key
    name = UnicodeAttribute()
    locale = UnicodeAttribute(default="de")
    timezone = UnicodeAttribute(default="Europe/Berlin")
    status = UnicodeAttribute(default="active")  # active | archived | erasing
    # Bumped when this account's access must end without a password change (a new address or
    # role, archiving): its older links read "revoked", its older sessions end. The login's
    # password_version ends those of every account of the login.
    access_version = NumberAttribute(default=0)
    # Bumped by every provisioning write: a concurrent PUT computed on a stale read fails and retries.
    revision = NumberAttribute(default=0)

    by_firm_role = AccountByFirmRole()

    @property
    def is_staff(self) -> bool:
        return self.role in ("owner", "member")

    @property
    def is_active(self) -> bool:
        return self.status == "active"


# The range keys of the logins table: the credential, and one membership per firm.
LOGIN_ITEM = "login"
MEMBERSHIP_PREFIX = "firm#"


def membership_item(firm_id: str) -> str:
    """The range key of a login's membership in ``firm_id``."""
    return f"{MEMBERSHIP_PREFIX}{firm_id}"


class Login(_SharedConnectionModel):
    """An address and its one password, shared by every account with that address, in any firm.

    What a person proves and what SES learns belongs here, not to an account: the hash, the
    password version (bumped by every change and every lock: every session and link of every
    account of the login ends with it), the lock, and the address's delivery verdict."""

    class Meta(_Meta):
        table_name = settings().logins_table

    email = UnicodeAttribute(hash_key=True)
    item = UnicodeAttribute(range_key=True, default=LOGIN_ITEM)
    password_hash = UnicodeAttribute(null=True)
    password_version = NumberAttribute(default=0)
    password_changed_at = UTCDateTimeAttribute(null=True)
    # "It wasn't me": when the holder first locked the login from a password-changed mail, and the
    # account_locked event of the latest lock. Only a confirmed staff-sent link removes it
    # (credentials.changes.commit).
    locked_at = UTCDateTimeAttribute(null=True)
    lock_event_id = UnicodeAttribute(null=True)
    # Wrong passwords in a row, from anywhere (credentials.sessions.attempt): at
    # CONSECUTIVE_FAILURE_LIMIT sign-in with the password is refused until a change (a confirmed
    # link) removes it (credentials.changes.commit); a right password below it removes it too.
    failed_sign_ins = NumberAttribute(null=True)
    # What SES told us about the address: ok | undeliverable | complained.
    email_status = UnicodeAttribute(default="ok")
    # The account a sign-in without a firm acts as (the one used last), while still active.
    last_account_id = UnicodeAttribute(null=True)
    # How many memberships the login has: the login goes with its last one (conditions on it).
    account_count = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute(null=True)

    @property
    def has_password(self) -> bool:
        return bool(self.password_hash)

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None

    @property
    def consecutive_failures(self) -> int:
        return int(self.failed_sign_ins or 0)


class Membership(_SharedConnectionModel):
    """One account of a login, in the logins table beside the credential (range key
    ``firm#<firm_id>``). Written in the same transaction as every account write that changes what
    it copies (role, status): a conditional put of it is the rule "an address is unique within a
    firm"."""

    class Meta(_Meta):
        table_name = settings().logins_table

    email = UnicodeAttribute(hash_key=True)
    item = UnicodeAttribute(range_key=True)  # membership_item(firm_id)
    account_id = UnicodeAttribute()
    firm_id = UnicodeAttribute()
    role = UnicodeAttribute()
    status = UnicodeAttribute(default="active")  # the account's: active | archived

    @property
    def is_active(self) -> bool:
        return self.status == "active"


class Firm(_SharedConnectionModel):
    """A firm, and how its clients see it (white-label: every such field is optional, and without
    it the firm looks like the platform; see :mod:`pwreset.accounts.firms`)."""

    class Meta(_Meta):
        table_name = settings().firms_table

    firm_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    locale = UnicodeAttribute(default="de")  # the default for the firm's new accounts
    timezone = UnicodeAttribute(default="Europe/Berlin")
    portal_url = UnicodeAttribute(null=True)  # where its clients land after a confirm
    sender_name = UnicodeAttribute(null=True)  # the From display name of its clients' mails
    contact_email = UnicodeAttribute(null=True)  # Reply-To, and the "contact your firm" line
    contact_phone = UnicodeAttribute(null=True)
    logo_url = UnicodeAttribute(null=True)
    brand_color = UnicodeAttribute(null=True)  # "#rrggbb", lower-case


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
    # The login's password_version and the account's access_version when issued.
    password_version = NumberAttribute()
    access_version = NumberAttribute(default=0)
    # reset: a new password for a login that has one; invitation: the first password.
    purpose = UnicodeAttribute(default="reset")
    # False for a self-service link asked for without a firm: it was issued for the account a
    # sign-in without a firm would act as, and no firm's brand is its own (see issue #23).
    firm_bound = BooleanAttribute(default=True)
    # issued | used | send_failed | revoked (a later invitation, or the fifth wrong unlock code)
    status = UnicodeAttribute(default="issued")
    used_at = UTCDateTimeAttribute(null=True)
    ses_message_id = UnicodeAttribute(null=True)
    # A staff link to a locked login: an HMAC of its unlock code keyed with the raw token (never the
    # code, pwreset.credentials.unlock_codes), and how many wrong codes were tried.
    unlock_code_hash = UnicodeAttribute(null=True)
    wrong_codes = NumberAttribute(null=True)
    ttl = TTLAttribute(null=True)

    by_account = ResetTokenByAccount()
    by_ses_message_id = ResetTokenByMessageId()


class LockTokenByAccount(GlobalSecondaryIndex["LockToken"]):
    class Meta:
        index_name = "by_account"
        projection = KeysOnlyProjection()

    account_id = UnicodeAttribute(hash_key=True)


class LockToken(_SharedConnectionModel):
    """One "It wasn't me" link of a holder's password-changed mail. Only the token's SHA-256 digest
    is stored. It is bound to the change it reports (the event and its facts), and it outlives later
    password changes: otherwise whoever changed the password could kill it by changing it again."""

    class Meta(_Meta):
        table_name = settings().lock_tokens_table

    token_hash = UnicodeAttribute(hash_key=True)
    account_id = UnicodeAttribute()
    firm_id = UnicodeAttribute()
    # The login the link locks (its address); None for links issued before logins existed.
    email = UnicodeAttribute(null=True)
    # The password_changed event the mail reported, how the change came about and its facts (IP,
    # user agent, location), so the lock's notifications can say which change was disowned.
    change_event_id = UnicodeAttribute()
    change = UnicodeAttribute()  # reset | invitation | portal
    changed_at = UTCDateTimeAttribute()
    change_facts = MapAttribute[str, object](default=dict)
    created_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute()
    # The account's access_version when issued: archiving (or a new address or role) ends the link.
    access_version = NumberAttribute(default=0)
    status = UnicodeAttribute(default="issued")  # issued | used
    used_at = UTCDateTimeAttribute(null=True)
    ttl = TTLAttribute(null=True)

    by_account = LockTokenByAccount()


class SessionByAccount(GlobalSecondaryIndex["Session"]):
    class Meta:
        index_name = "by_account"
        projection = IncludeProjection(["expires_at", "password_version", "access_version"])

    account_id = UnicodeAttribute(hash_key=True)


class Session(_SharedConnectionModel):
    """A signed-in portal session, stored by the SHA-256 digest of its opaque token."""

    class Meta(_Meta):
        table_name = settings().sessions_table

    session_hash = UnicodeAttribute(hash_key=True)
    # The login (its address) and the account of it the session acts as, with that account's firm
    # and role: a switch moves the session to another account of the same login.
    email = UnicodeAttribute(null=True)  # None: opened before logins existed, never valid
    account_id = UnicodeAttribute()
    firm_id = UnicodeAttribute()
    role = UnicodeAttribute()
    password_version = NumberAttribute()  # the login's
    access_version = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute()
    ttl = TTLAttribute(null=True)

    by_account = SessionByAccount()


class EventByAccount(GlobalSecondaryIndex["Event"]):
    class Meta:
        index_name = "by_account"
        projection = KeysOnlyProjection()

    account_id = UnicodeAttribute(hash_key=True)


class Event(_SharedConnectionModel):
    """An audit event; the table's stream feeds the notifications."""

    class Meta(_Meta):
        table_name = settings().events_table

    event_id = UnicodeAttribute(hash_key=True)
    type = UnicodeAttribute()  # reset_requested | password_changed | account_provisioned | ...
    account_id = UnicodeAttribute()
    firm_id = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    detail = MapAttribute[str, object](default=dict)
    ttl = TTLAttribute(null=True)

    by_account = EventByAccount()


class DeliveryByAccount(GlobalSecondaryIndex["DeliveryTimeline"]):
    """An account holder's mails, newest first: the deliveries view is one query of it. Timelines
    of link mails sent before mails were recorded have no ``account_id`` and are not in it."""

    class Meta:
        index_name = "by_account"
        projection = AllProjection()

    account_id = UnicodeAttribute(hash_key=True)
    requested_at = UnicodeAttribute(range_key=True)


class DeliveryTimeline(_SharedConnectionModel):
    """One mail to an account holder: its delivery record, written before the mail leaves
    (:mod:`pwreset.delivery.outbox`), and what SES reported about it, in arrival order (the reader
    sorts by event time).

    Keyed by the mail's id on the deliveries timeline, ``reset_id`` (the HTTP contract's name; for a
    link mail its reset id, for any other mail an id of its own). Every mail is tagged with it, so
    an event can be recorded even when it arrives before anything else is known of the send. Each
    entry of ``events`` is one normalised event as a JSON string (see
    :mod:`pwreset.delivery.ses_events`). Timelines of link mails sent before mails were recorded
    hold only ``events``, ``message_id`` and ``ttl``; the view reads their link from the token.
    """

    class Meta(_Meta):
        table_name = settings().delivery_events_table

    reset_id = UnicodeAttribute(hash_key=True)
    # The delivery record.
    account_id = UnicodeAttribute(null=True)
    requested_at = UnicodeAttribute(null=True)  # ISO-8601 UTC, sortable
    kind = UnicodeAttribute(null=True)  # pwreset.delivery.outbox.KINDS
    email = UnicodeAttribute(null=True)  # the address the mail went to
    requested_by = UnicodeAttribute(null=True)  # staff account id, "provisioning", or None
    requested_by_name = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)  # sending | send_failed
    # A link mail: the account's password_version when it was sent (a later change means the link
    # or another way to a password was used), and when the hosted page first opened the link.
    password_version = NumberAttribute(null=True)
    opened_at = UTCDateTimeAttribute(null=True)
    # What SES reported.
    message_id = UnicodeAttribute(null=True)
    events = ListAttribute(of=UnicodeAttribute, default=list)
    ttl = TTLAttribute(null=True)

    by_account = DeliveryByAccount()


class SnsMessage(_SharedConnectionModel):
    """One processed SNS message, by ``MessageId``: SNS delivers at least once, we record once."""

    class Meta(_Meta):
        table_name = settings().sns_messages_table

    message_id = UnicodeAttribute(hash_key=True)
    received_at = UTCDateTimeAttribute()
    ttl = TTLAttribute(null=True)
