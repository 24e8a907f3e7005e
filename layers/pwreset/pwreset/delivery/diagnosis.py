"""What went wrong with a reset mail, in words a firm's staff member can act on, in their language.

SES reports bounce types, subtypes and the receiving server's diagnostic code; staff need "the
address has a typo" or "ask the client to whitelist our sender". :func:`classify_bounce` and
:func:`classify_delay` turn SES facts into a diagnosis code; :func:`describe` turns a code into
``{"code", "summary", "advice": [...]}`` in the reader's language. Codes are stable API; texts are
not.

| code                 | when                                                                  |
|----------------------|-----------------------------------------------------------------------|
| address_not_found    | permanent bounce: NoEmail, 5.1.x, "user unknown", "does not exist"... |
| address_rejected     | other permanent/undetermined bounce with no clearer reason             |
| mailbox_full         | MailboxFull bounce or delay, 5.2.2, "quota"                             |
| rejected_by_provider | 5.7.x, spam/policy/blocked wording: the provider refused our mail       |
| content_rejected     | ContentRejected, AttachmentRejected, MessageTooLarge                    |
| temporary_failure    | transient bounce with no clearer reason (SES gave up retrying)          |
| suppressed           | SES did not send: address on the (account or global) suppression list   |
| complaint            | the client marked the mail as spam                                      |
| delayed              | DeliveryDelay without a later outcome                                   |
| rejected_by_ses      | Reject: SES refused the content (operator issue)                        |
| rendering_failed     | Rendering Failure (operator issue)                                      |
| send_failed          | the SES API call failed; nothing was sent                               |
| delivered_not_used   | delivered, not used, expired: spam folder? (SES cannot see it)          |
| undeliverable        | the address is marked undeliverable and no reset mail says why          |
"""

from __future__ import annotations

import re
from typing import Any

from pwreset.core.config import settings
from pwreset.core.i18n import N_, catalog

# Providers whose misspellings are worth pointing out, and real domains that merely look like a
# misspelling of one of them (never "corrected").
COMMON_PROVIDERS = (
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "yahoo.com",
    "icloud.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "t-online.de",
    "freenet.de",
    "posteo.de",
    "mailbox.org",
    "aol.com",
)
_REAL_LOOKALIKES = frozenset(
    {
        "mail.com",
        "email.de",
        "mail.de",
        "gmx.at",
        "gmx.ch",
        "gmx.com",
        "me.com",
        "mac.com",
        "live.de",
        "live.at",
        "aol.de",
        "web.com",
        "hotmail.de",
        "outlook.de",
        "yahoo.de",
        "posteo.net",
    }
)

_ADDRESS_CODES = frozenset(
    {"address_not_found", "address_rejected", "suppressed", "temporary_failure", "undeliverable"}
)

_NOT_FOUND = re.compile(
    r"\b5\.1\.(?:0|1|2|3|6|10)\b|user unknown|unknown user|no such (?:user|mailbox|recipient)|"
    r"does not exist|doesn't exist|not exist|mailbox (?:not found|unavailable)|invalid recipient|"
    r"recipient (?:address )?rejected|address rejected|unknown recipient|no mailbox|"
    r"recipient not found|user not found|account (?:is )?disabled",
    re.IGNORECASE,
)
_MAILBOX_FULL = re.compile(
    r"\b[45]\.2\.2\b|mailbox (?:is )?full|over quota|quota exceeded|exceeded (?:the )?(?:storage|quota)|"
    r"insufficient (?:system )?storage",
    re.IGNORECASE,
)
_REJECTED = re.compile(
    r"\b[45]\.7\.\d+\b|spam|blocked|block list|blocklist|blacklist|policy|reputation|"
    r"not accepted|refused|denied|dmarc|spf|dkim",
    re.IGNORECASE,
)


# ------------------------------------------------------------------------------------ classify


def classify_bounce(bounce_type: str | None, subtype: str | None, diagnostic_code: str | None) -> str:
    """The diagnosis code of an SES bounce (see the module's table)."""
    if subtype in ("Suppressed", "OnAccountSuppressionList"):
        return "suppressed"
    if subtype in ("ContentRejected", "AttachmentRejected", "MessageTooLarge"):
        return "content_rejected"
    if subtype == "MailboxFull":
        return "mailbox_full"
    if subtype == "NoEmail":
        return "address_not_found"
    text = diagnostic_code or ""
    if _MAILBOX_FULL.search(text):
        return "mailbox_full"
    if _NOT_FOUND.search(text):
        return "address_not_found"
    if _REJECTED.search(text):
        return "rejected_by_provider"
    if bounce_type == "Transient":
        return "temporary_failure"
    return "address_rejected"


def classify_delay(delay_type: str | None, diagnostic_code: str | None) -> str:
    if delay_type == "MailboxFull" or _MAILBOX_FULL.search(diagnostic_code or ""):
        return "mailbox_full"
    return "delayed"


# ------------------------------------------------------------------------------------ typos


def _distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
    neighbours (``gmial`` -> ``gmail`` is one edit) each cost 1."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            row[j] = min(rows[i - 1][j] + 1, row[j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[i - 2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def suggest_domain(email: str | None) -> str | None:
    """The common provider an address's domain is most likely a typo of, or None.

    At most one edit for short domains (``gmx.de``, ``web.de``: two edits would turn one real
    provider into another), two for longer ones.
    """
    if not email or "@" not in email:
        return None
    domain = email.rpartition("@")[2].strip().lower().rstrip(".")
    if not domain or domain in COMMON_PROVIDERS or domain in _REAL_LOOKALIKES:
        return None
    best: tuple[int, str] | None = None
    for provider in COMMON_PROVIDERS:
        limit = 1 if len(provider) <= 7 else 2
        if abs(len(provider) - len(domain)) > limit:
            continue
        distance = _distance(domain, provider)
        if 0 < distance <= limit and (best is None or distance < best[0]):
            best = (distance, provider)
    return best[1] if best else None


# ------------------------------------------------------------------------------------ texts

# Translators: %(domain)s is what the client typed after the @, %(provider)s the provider it is
# likely a typo of, %(suggested)s the whole address with the provider's domain.
_TYPO = N_("Did you mean %(suggested)s? The domain %(domain)s looks like a typo of %(provider)s.")
_WHITELIST = N_("Ask the client to add %(sender)s to their address book or list of safe senders (whitelist).")
_NEW_LINK = N_("Then send a new reset link.")
_CHECK_TYPOS = N_("Check the address with the client for typos.")
_CORRECT = N_("Correct the address in the client's profile, then send a new reset link.")
_OPERATOR = N_("This is not caused by the client: please tell your administrator.")

# code -> (summary, advice); %(sender)s is the configured sender address.
TEXTS: dict[str, tuple[str, list[str]]] = {
    "address_not_found": (
        N_("The client's mail provider reports that this address does not exist."),
        [
            N_("Check the address with the client, letter by letter: a typo is the most common cause."),
            _CORRECT,
        ],
    ),
    "address_rejected": (
        N_("The client's mail provider permanently refused e-mail to this address."),
        [
            _CHECK_TYPOS,
            N_(
                "If the address is right, ask the client for another address or to contact their "
                "mail provider."
            ),
            _CORRECT,
        ],
    ),
    "mailbox_full": (
        N_("The client's mailbox is full, so the e-mail could not be delivered."),
        [
            N_("Ask the client to make room in their mailbox, for example by deleting old e-mails."),
            _NEW_LINK,
        ],
    ),
    "rejected_by_provider": (
        N_("The client's mail provider rejected the e-mail, for example as suspected spam."),
        [
            _WHITELIST,
            _NEW_LINK,
            N_(
                "If it is rejected again, the client's IT or mail provider has to allow e-mail from "
                "%(sender)s."
            ),
        ],
    ),
    "content_rejected": (
        N_("The client's mail provider rejected the content of the e-mail."),
        [
            _WHITELIST,
            _NEW_LINK,
            N_(
                "If it is rejected again, please tell your administrator: the e-mail itself may need "
                "a change."
            ),
        ],
    ),
    "temporary_failure": (
        N_("The client's mail server did not accept the e-mail for a long time, so delivery was given up."),
        [
            _CHECK_TYPOS,
            N_("Ask the client whether their mailbox works and is not full."),
            _WHITELIST,
            _NEW_LINK,
        ],
    ),
    "suppressed": (
        N_(
            "The e-mail was not sent: the address is on the suppression list because earlier "
            "e-mails to it bounced or were marked as spam."
        ),
        [
            N_("Check the address with the client for typos and correct it in the client's profile."),
            N_(
                "If the address is right and works again, ask your administrator to remove it from the "
                "SES suppression list, then send a new reset link."
            ),
        ],
    ),
    "complaint": (
        N_("The client marked the e-mail as spam."),
        [
            N_(
                'Ask the client to mark e-mails from %(sender)s as "not spam" and to add the address to '
                "their address book (whitelist)."
            ),
            N_(
                "No further e-mails go to this address until your administrator re-enables it after "
                "the client has confirmed."
            ),
        ],
    ),
    "delayed": (
        N_(
            "Delivery is delayed: the client's mail server has not accepted the e-mail yet; it is "
            "retried automatically."
        ),
        [
            N_("Wait a while: delivery is retried automatically, usually for several hours."),
            N_(
                "If the e-mail does not arrive, check the address with the client and ask whether "
                "their mailbox is full."
            ),
        ],
    ),
    "rejected_by_ses": (
        N_("Amazon SES refused to send the e-mail because it flagged its content."),
        [_OPERATOR, N_("A new link will most likely fail the same way until this is fixed.")],
    ),
    "rendering_failed": (N_("The e-mail could not be generated, so it was not sent."), [_OPERATOR]),
    "send_failed": (
        N_("The e-mail could not be handed to the mail service; nothing was sent."),
        [N_("Try again in a few minutes."), N_("If it keeps failing, please tell your administrator.")],
    ),
    "delivered_not_used": (
        N_(
            "The e-mail was delivered to the client's mail server, but the link was not used before "
            "it expired. It may be in the spam folder, which we cannot see."
        ),
        [N_("Ask the client to look in their spam or junk folder."), _WHITELIST, _NEW_LINK],
    ),
    "undeliverable": (
        N_("Earlier e-mails to this address could not be delivered."),
        [_CHECK_TYPOS, N_("Correct the address in the client's profile.")],
    ),
}


def describe(code: str, locale: str, *, email: str | None = None) -> dict[str, Any]:
    """``{"code", "summary", "advice"}`` for ``code`` in ``locale``'s language.

    ``email`` is the address the mail went to; for address problems a likely provider typo in it
    becomes the first piece of advice.
    """
    texts = catalog(locale)
    summary, advice = TEXTS.get(code) or TEXTS["undeliverable"]
    values = {"sender": settings().sender_address}
    lines = [texts.gettext(line) % values for line in advice]
    provider = suggest_domain(email) if code in _ADDRESS_CODES else None
    if provider and email:
        local, _, domain = email.rpartition("@")
        typo = {"suggested": f"{local}@{provider}", "domain": domain.lower(), "provider": provider}
        lines.insert(0, texts.gettext(_TYPO) % typo)
    return {"code": code, "summary": texts.gettext(summary) % values, "advice": lines}
