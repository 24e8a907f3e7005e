"""What happened to a mail, in words a firm's staff member can act on, in their language.

SES reports event types, bounce types and subtypes, delay types, complaint feedback types and the
receiving server's diagnostic code; staff need "the address has a typo" or "ask the client to
allow-list our sender". :func:`classify_bounce`, :func:`classify_delay` and
:func:`classify_complaint` turn SES facts into a diagnosis code; :func:`describe` turns a code into
``{"code", "summary", "advice": [...]}`` in the reader's language. Codes are stable API; texts are
not. Every SES event type has a code (the table in ``docs/features.md`` lists which event gives
which):

| code                     | when                                                              |
|--------------------------|-------------------------------------------------------------------|
| sent                     | Send: handed to SES, nothing more reported yet                     |
| delivered                | Delivery: the client's server took it (a link: not opened yet)     |
| delivered_not_used       | a link delivered over a day ago and never opened: filtered?        |
| address_not_found        | permanent bounce: NoEmail, 5.1.x, "user unknown", "does not exist" |
| address_rejected         | other permanent bounce with no clearer reason                      |
| undetermined_bounce      | bounce of type Undetermined with no clearer reason                 |
| mailbox_full             | MailboxFull bounce, 5.2.2, "quota"                                 |
| rejected_by_provider     | 5.7.x, spam/policy/blocked wording: the provider refused our mail  |
| content_rejected         | ContentRejected bounce                                             |
| message_too_large        | MessageTooLarge bounce                                             |
| attachment_rejected      | AttachmentRejected bounce                                          |
| temporary_failure        | transient bounce with no clearer reason (SES gave up retrying)     |
| suppressed               | not sent: the address is on the account's suppression list         |
| suppressed_by_ses        | not sent: the address is on SES's global suppression list          |
| complaint                | Complaint (abuse, other, no type): the client marked it as spam    |
| complaint_auth_failure   | Complaint auth-failure: the provider doubts it came from us        |
| complaint_fraud          | Complaint fraud: reported as phishing                              |
| complaint_virus          | Complaint virus: the provider found a virus in it                  |
| marked_not_spam          | Complaint not-spam: the client took it out of the spam folder      |
| unsubscribed             | Subscription: the client unsubscribed (SES list management)        |
| delayed                  | DeliveryDelay General, Undetermined or no type                     |
| delayed_mailbox_full     | DeliveryDelay MailboxFull                                          |
| delayed_recipient_server | DeliveryDelay RecipientServerError, TransientCommunicationFailure  |
| delayed_spam_suspected   | DeliveryDelay SpamDetected                                         |
| delayed_sender_blocked   | DeliveryDelay IPFailure                                            |
| delayed_at_ses           | DeliveryDelay InternalFailure, SendingDeferral, BYOIP look-up      |
| rejected_by_ses          | Reject: SES found a virus in it (operator issue)                   |
| rendering_failed         | Rendering Failure (operator issue)                                 |
| send_failed              | the SES API call failed; nothing was sent                          |
| undeliverable            | the address is marked undeliverable and no mail says why           |
"""

from __future__ import annotations

import re
from typing import Any

from pwreset.core.config import settings
from pwreset.core.i18n import N_, catalog
from pwreset.delivery.outbox import KINDS
from pwreset.mail.mailer import reset_help_url

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
    {
        "address_not_found",
        "address_rejected",
        "undetermined_bounce",
        "suppressed",
        "suppressed_by_ses",
        "temporary_failure",
        "undeliverable",
    }
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

# Subtypes that say it all, whatever the diagnostic code.
_BOUNCE_SUBTYPES = {
    "NoEmail": "address_not_found",
    "Suppressed": "suppressed_by_ses",
    "OnAccountSuppressionList": "suppressed",
    "MailboxFull": "mailbox_full",
    "MessageTooLarge": "message_too_large",
    "ContentRejected": "content_rejected",
    "AttachmentRejected": "attachment_rejected",
}
# Bounce types with no clearer reason, by type.
_BOUNCE_FALLBACK = {"Transient": "temporary_failure", "Undetermined": "undetermined_bounce"}
SUPPRESSION_SUBTYPE = "OnAccountSuppressionList"  # also a complaint's subtype
_DELAY_TYPES = {
    "MailboxFull": "delayed_mailbox_full",
    "SpamDetected": "delayed_spam_suspected",
    "IPFailure": "delayed_sender_blocked",
    "RecipientServerError": "delayed_recipient_server",
    "TransientCommunicationFailure": "delayed_recipient_server",
    "InternalFailure": "delayed_at_ses",
    "SendingDeferral": "delayed_at_ses",
    "BYOIPHostNameLookupUnavailable": "delayed_at_ses",
}
_COMPLAINT_TYPES = {
    "auth-failure": "complaint_auth_failure",
    "fraud": "complaint_fraud",
    "virus": "complaint_virus",
    "not-spam": "marked_not_spam",
}
NOT_SPAM = "not-spam"


def suppressed_subtype(subtype: str | None) -> bool:
    """Whether a bounce subtype means SES did not send at all (a suppression list: SES's own, the
    account's, or a newer one such as a tenant's)."""
    return subtype == "Suppressed" or bool(subtype and subtype.endswith("SuppressionList"))


def classify_bounce(bounce_type: str | None, subtype: str | None, diagnostic_code: str | None) -> str:
    """The diagnosis code of an SES bounce (see the module's table)."""
    if subtype in _BOUNCE_SUBTYPES:
        return _BOUNCE_SUBTYPES[subtype]
    if suppressed_subtype(subtype):
        return "suppressed"
    text = diagnostic_code or ""
    if _MAILBOX_FULL.search(text):
        return "mailbox_full"
    if _NOT_FOUND.search(text):
        return "address_not_found"
    if _REJECTED.search(text):
        return "rejected_by_provider"
    return _BOUNCE_FALLBACK.get(bounce_type or "", "address_rejected")


def classify_delay(delay_type: str | None, diagnostic_code: str | None) -> str:
    """The diagnosis code of an SES delivery delay, by its delay type, else by the server's words."""
    if delay_type in _DELAY_TYPES:
        return _DELAY_TYPES[delay_type]
    text = diagnostic_code or ""
    if _MAILBOX_FULL.search(text):
        return "delayed_mailbox_full"
    if _REJECTED.search(text):
        return "delayed_spam_suspected"
    return "delayed"


def classify_complaint(feedback_type: str | None, complaint_subtype: str | None) -> str:
    """The diagnosis code of an SES complaint: by its feedback type (RFC 5965's, as SES passes it
    on; none at all is common), or ``suppressed`` when SES did not send for an earlier complaint."""
    if complaint_subtype == SUPPRESSION_SUBTYPE:
        return "suppressed"
    return _COMPLAINT_TYPES.get(feedback_type or "", "complaint")


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
_INVITE_AGAIN = N_("Then send the invitation again.")
# In an advice list: what to send again, by the mail's kind (a reset or unlock link, the invitation;
# nothing for a notice, which goes out by itself). Replaced by describe(), never translated.
_SEND_AGAIN = "\x00send again"
_CHECK_TYPOS = N_("Check the address with the client for typos.")
_CORRECT = N_("Correct the address in the client's profile.")
_OPERATOR = N_("This is not caused by the client: please tell your administrator.")
_WAIT = N_("Wait a while: delivery is retried automatically, usually for several hours.")
_SEARCH = N_(
    "If the client cannot find it, ask them to search their inbox and their spam or junk folder for "
    "%(sender)s."
)
# Translators: %(help_url)s is the help article for clients whose mail did not arrive.
_HELP = N_("You can send the client our help article: %(help_url)s")
_REMOVE_FROM_LIST = N_(
    "If the address is right and works again, ask your administrator to remove it from the "
    "SES suppression list."
)

# code -> (summary, advice); %(sender)s is the configured sender address, %(help_url)s the help
# article in the client's language.
TEXTS: dict[str, tuple[str, list[str]]] = {
    "sent": (
        N_("The e-mail was handed to Amazon SES; the client's mail server has not confirmed it yet."),
        [
            N_("Wait a few minutes: the status changes as soon as SES reports more."),
            N_(
                "If nothing changes within an hour, please tell your administrator: the reports from "
                "SES may not be arriving."
            ),
        ],
    ),
    "delivered": (
        N_("The client's mail server accepted the e-mail."),
        [_SEARCH, _HELP],
    ),
    "delivered_not_used": (
        N_(
            "The e-mail was delivered to the client's mail server more than a day ago, but its link "
            "was never opened. It was probably filtered into a spam or junk folder or a quarantine, "
            "which we cannot see."
        ),
        [
            N_(
                "Ask the client to look in their spam or junk folder and, for a company mailbox, to ask "
                "their IT whether the e-mail is held in quarantine."
            ),
            _WHITELIST,
            _HELP,
            _SEND_AGAIN,
        ],
    ),
    "address_not_found": (
        N_("The client's mail provider reports that this address does not exist."),
        [
            N_("Check the address with the client, letter by letter: a typo is the most common cause."),
            _CORRECT,
            _SEND_AGAIN,
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
            _SEND_AGAIN,
        ],
    ),
    "undetermined_bounce": (
        N_("The client's mail provider returned the e-mail without saying why."),
        [
            _CHECK_TYPOS,
            N_("Ask the client whether their mailbox works and is not full."),
            _SEND_AGAIN,
        ],
    ),
    "mailbox_full": (
        N_("The client's mailbox is full, so the e-mail could not be delivered."),
        [
            N_("Ask the client to make room in their mailbox, for example by deleting old e-mails."),
            _SEND_AGAIN,
        ],
    ),
    "rejected_by_provider": (
        N_("The client's mail provider rejected the e-mail, for example as suspected spam."),
        [
            _WHITELIST,
            _SEND_AGAIN,
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
            _SEND_AGAIN,
            N_(
                "If it is rejected again, please tell your administrator: the e-mail itself may need "
                "a change."
            ),
        ],
    ),
    "message_too_large": (
        N_("The client's mail provider refused the e-mail as too large."),
        [
            _OPERATOR,
            N_("Meanwhile, ask the client whether their mailbox has an unusually low size limit."),
        ],
    ),
    "attachment_rejected": (
        N_("The client's mail provider refused the e-mail because of an attachment or embedded image."),
        [_OPERATOR, _WHITELIST],
    ),
    "temporary_failure": (
        N_("The client's mail server did not accept the e-mail for a long time, so delivery was given up."),
        [
            _CHECK_TYPOS,
            N_("Ask the client whether their mailbox works and is not full."),
            _WHITELIST,
            _SEND_AGAIN,
        ],
    ),
    "suppressed": (
        N_(
            "The e-mail was not sent: the address is on the suppression list because earlier "
            "e-mails to it bounced or were marked as spam."
        ),
        [
            N_("Check the address with the client for typos and correct it in the client's profile."),
            _REMOVE_FROM_LIST,
            _SEND_AGAIN,
        ],
    ),
    "suppressed_by_ses": (
        N_(
            "The e-mail was not sent: Amazon SES blocks this address for every sender because "
            "e-mails to it recently bounced as non-existent."
        ),
        [
            N_("Check the address with the client for typos and correct it in the client's profile."),
            N_(
                "If the address is right, Amazon SES lifts the block by itself after a while; until "
                "then, ask the client for another address."
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
    "complaint_auth_failure": (
        N_(
            "The client's mail provider reported the e-mail because it could not confirm that it "
            "really came from us (a failed SPF, DKIM or DMARC check)."
        ),
        [
            _OPERATOR,
            N_(
                "No further e-mails go to this address until your administrator re-enables it after "
                "the cause is fixed."
            ),
        ],
    ),
    "complaint_fraud": (
        N_("The e-mail was reported as fraud or phishing."),
        [
            N_(
                "Call the client and confirm that the e-mail was really from your firm; never ask for "
                "their password."
            ),
            N_(
                "No further e-mails go to this address until your administrator re-enables it after "
                "the client has confirmed."
            ),
        ],
    ),
    "complaint_virus": (
        N_("The client's mail provider reported a virus in the e-mail."),
        [
            _OPERATOR,
            N_(
                "No further e-mails go to this address until your administrator re-enables it after "
                "the cause is fixed."
            ),
        ],
    ),
    "marked_not_spam": (
        N_("The client found the e-mail in their spam folder and marked it as not spam."),
        [
            N_("Nothing to do: later e-mails should reach the inbox."),
            _WHITELIST,
        ],
    ),
    "unsubscribed": (
        N_("The client unsubscribed from these e-mails (with the unsubscribe link or button)."),
        [
            N_(
                "Ask the client whether they still want e-mails about their portal access: without "
                "them, reset links cannot reach them."
            ),
            N_("If they do, ask your administrator to subscribe the address again."),
        ],
    ),
    "delayed": (
        N_(
            "Delivery is delayed: the client's mail server has not accepted the e-mail yet; it is "
            "retried automatically."
        ),
        [
            _WAIT,
            N_(
                "If the e-mail does not arrive, check the address with the client and ask whether "
                "their mailbox is full."
            ),
        ],
    ),
    "delayed_mailbox_full": (
        N_("Delivery is delayed: the client's mailbox is full. It is retried automatically."),
        [
            N_("Ask the client to make room in their mailbox, for example by deleting old e-mails."),
            _WAIT,
        ],
    ),
    "delayed_recipient_server": (
        N_(
            "Delivery is delayed: the client's mail server cannot be reached or has a temporary "
            "problem. It is retried automatically."
        ),
        [
            _WAIT,
            N_("If it does not arrive, check the address with the client, especially the part after the @."),
        ],
    ),
    "delayed_spam_suspected": (
        N_(
            "Delivery is delayed: the client's mail provider suspects spam and does not accept the "
            "e-mail for now. It is retried automatically."
        ),
        [_WHITELIST, _WAIT],
    ),
    "delayed_sender_blocked": (
        N_(
            "Delivery is delayed: the client's mail provider is blocking or slowing down e-mail from "
            "our mail service. It is retried automatically."
        ),
        [_WAIT, _OPERATOR],
    ),
    "delayed_at_ses": (
        N_("Delivery is delayed on the side of Amazon SES. It is retried automatically."),
        [_WAIT, N_("If it keeps failing, please tell your administrator.")],
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
    "undeliverable": (
        N_("Earlier e-mails to this address could not be delivered."),
        [_CHECK_TYPOS, _CORRECT],
    ),
}


def _send_again(kind: str | None) -> str | None:
    """What staff send again after fixing the cause, for a mail of ``kind`` (None: a reset link)."""
    if kind == "invitation":
        return _INVITE_AGAIN
    mail_kind = KINDS.get(kind or "reset")
    return _NEW_LINK if mail_kind is None or mail_kind.carries_link else None


def describe(
    code: str,
    locale: str,
    *,
    email: str | None = None,
    client_locale: str | None = None,
    kind: str | None = None,
) -> dict[str, Any]:
    """``{"code", "summary", "advice"}`` for ``code`` in ``locale``'s language.

    ``email`` is the address the mail went to; for address problems a likely provider typo in it
    becomes the first piece of advice. The help article named in the advice is the one in the
    client's language (``client_locale``), since staff pass it on. ``kind`` is the mail's
    (:data:`pwreset.delivery.outbox.KINDS`): it decides what the advice says to send again.
    """
    texts = catalog(locale)
    summary, advice = TEXTS.get(code) or TEXTS["undeliverable"]
    again = _send_again(kind)
    chosen = [again if line == _SEND_AGAIN else line for line in advice]
    values = {"sender": settings().sender_address}
    if _HELP in chosen:  # its address may take a read (pwreset.core.public_urls): only when named
        values["help_url"] = reset_help_url(client_locale or locale)
    lines = [texts.gettext(line) % values for line in chosen if line is not None]
    provider = suggest_domain(email) if code in _ADDRESS_CODES else None
    if provider and email:
        local, _, domain = email.rpartition("@")
        typo = {"suggested": f"{local}@{provider}", "domain": domain.lower(), "provider": provider}
        lines.insert(0, texts.gettext(_TYPO) % typo)
    return {"code": code, "summary": texts.gettext(summary) % values, "advice": lines}
