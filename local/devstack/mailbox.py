"""The local stack's mailbox: every e-mail the handlers send through SES, with all its parts.

moto's SES keeps only the HTML part when a mail has both, so the mailbox reads the request itself:
a botocore event hook sees the ``SendEmail`` parameters before they are sent and the ``MessageId``
moto answers with. The hooks are added to ``botocore.handlers.BUILTIN_HANDLERS``, the list every
new botocore session registers, so every client the handlers create is covered however they create
it (boto3, pynamodb, ``botocore.session.get_session()``), with no change to their code.

Other parts of the local stack react to mail with :meth:`Mailbox.subscribe` (for instance, mail to
``@simulator.amazonses.com`` can trigger simulated SES events).
"""

from __future__ import annotations

import copy
import email.policy
import email.utils
import html
import logging
import re
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.parser import BytesParser
from typing import Any

import botocore.handlers

log = logging.getLogger("devstack.mailbox")

_CONTEXT_KEY = "devstack.mailbox.request"
_LINK_RE = re.compile(r"""https?://[^\s"'<>]+""")
_HREF_RE = re.compile(r"""href\s*=\s*["']([^"']+)["']""", re.IGNORECASE)


@dataclass(frozen=True)
class MailMessage:
    id: str  # the MessageId SES answered with
    sender: str  # the whole From value as sent (a display name, RFC 2047-encoded if need be, and <address>)
    to: list[str]
    subject: str
    html: str
    text: str
    sent_at: datetime
    cc: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)
    configuration_set: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    service: str = "sesv2"
    reply_to: list[str] = field(default_factory=list)

    @property
    def sender_address(self) -> str:
        """The address of ``From`` (what SES checks against the verified identity)."""
        return email.utils.parseaddr(self.sender)[1]

    @property
    def sender_name(self) -> str:
        """The display name of ``From``, decoded ("Kanzlei Müller"); empty without one."""
        name = email.utils.parseaddr(self.sender)[0]
        return str(make_header(decode_header(name))) if name else ""

    @property
    def from_display(self) -> str:
        """``From`` as a person reads it: ``Kanzlei Müller <no-reply@...>``."""
        return f"{self.sender_name} <{self.sender_address}>" if self.sender_name else self.sender

    @property
    def recipients(self) -> list[str]:
        return [*self.to, *self.cc, *self.bcc]

    @property
    def links(self) -> list[str]:
        """Every distinct link in the mail, HTML hrefs first, in order of appearance."""
        found = [html.unescape(h) for h in _HREF_RE.findall(self.html)] + _LINK_RE.findall(self.text)
        return [link for link in dict.fromkeys(found) if link.startswith(("http://", "https://"))]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "to": list(self.to),
            "cc": list(self.cc),
            "bcc": list(self.bcc),
            "from": self.sender,
            "from_name": self.sender_name,
            "reply_to": list(self.reply_to),
            "subject": self.subject,
            "html": self.html,
            "text": self.text,
            "sent_at": self.sent_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "configuration_set": self.configuration_set,
            "tags": dict(self.tags),
            "links": self.links,
        }


Listener = Callable[[MailMessage], None]


class Mailbox:
    """Thread-safe list of sent mail, newest first, that tells its subscribers about each new one."""

    def __init__(self) -> None:
        self._messages: list[MailMessage] = []
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        self._installed: list[tuple[Any, ...]] = []
        self._default_session: Any = None

    # ------------------------------------------------------------------ reading
    def messages(self) -> list[MailMessage]:
        with self._lock:
            return list(reversed(self._messages))

    def get(self, message_id: str) -> MailMessage | None:
        with self._lock:
            return next((m for m in self._messages if m.id == message_id), None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._messages)

    # ------------------------------------------------------------------ observing
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` for every mail sent from now on; returns the unsubscribe function.

        A listener runs on the sending handler's thread, after SES accepted the mail; an exception
        in it is logged and does not reach the handler (SES had accepted the mail already).
        """
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def add(self, message: MailMessage) -> None:
        with self._lock:
            self._messages.append(message)
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(message)
            except Exception:
                log.exception("mail listener failed", extra={"message_id": message.id})

    # ------------------------------------------------------------------ capturing
    def install(self) -> None:
        """Capture every SES send through botocore sessions created from now on (and boto3's default
        session); a client created before this call is not covered."""
        if self._installed:
            return
        specs: list[tuple[Any, ...]] = [
            ("before-parameter-build.sesv2.SendEmail", self._remember_request),
            ("before-parameter-build.ses.SendEmail", self._remember_request),
            ("before-parameter-build.ses.SendRawEmail", self._remember_request),
            ("after-call.sesv2.SendEmail", self._record_sent),
            ("after-call.ses.SendEmail", self._record_sent),
            ("after-call.ses.SendRawEmail", self._record_sent),
        ]
        botocore.handlers.BUILTIN_HANDLERS.extend(specs)
        self._installed = specs
        # boto3's default session may predate this; clients it makes from now on are covered too.
        boto3 = sys.modules.get("boto3")
        default = getattr(boto3, "DEFAULT_SESSION", None) if boto3 else None
        if default is not None:
            for event_name, handler in specs:
                default._session.register(event_name, handler)
            self._default_session = default._session

    def uninstall(self) -> None:
        for spec in self._installed:
            if spec in botocore.handlers.BUILTIN_HANDLERS:
                botocore.handlers.BUILTIN_HANDLERS.remove(spec)
            if self._default_session is not None:
                self._default_session.unregister(*spec)
        self._installed = []
        self._default_session = None

    @staticmethod
    def _remember_request(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        # ``context`` lives for one API call, so the after-call hook finds the request here.
        context[_CONTEXT_KEY] = (model.service_model.service_name, model.name, copy.deepcopy(params))

    def _record_sent(
        self, http_response: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any
    ) -> None:
        request = context.get(_CONTEXT_KEY)
        if request is None or getattr(http_response, "status_code", 500) >= 300 or "MessageId" not in parsed:
            return
        service, operation, params = request
        try:
            message = _message_from(service, operation, params, str(parsed["MessageId"]))
        except Exception:  # never let the dev mailbox break a send that SES accepted
            log.exception("could not read a sent mail", extra={"operation": operation})
            return
        self.add(message)


def _message_from(service: str, operation: str, params: dict[str, Any], message_id: str) -> MailMessage:
    now = datetime.now(UTC)
    if service == "sesv2":
        destination = params.get("Destination") or {}
        content = params.get("Content") or {}
        common: dict[str, Any] = {
            "id": message_id,
            "to": list(destination.get("ToAddresses") or []),
            "cc": list(destination.get("CcAddresses") or []),
            "bcc": list(destination.get("BccAddresses") or []),
            "configuration_set": params.get("ConfigurationSetName"),
            "tags": {t["Name"]: t["Value"] for t in params.get("EmailTags") or []},
            "sent_at": now,
            "service": service,
            "reply_to": list(params.get("ReplyToAddresses") or []),
        }
        if "Simple" in content:
            simple = content["Simple"]
            body = simple.get("Body") or {}
            return MailMessage(
                sender=str(params.get("FromEmailAddress", "")),
                subject=str((simple.get("Subject") or {}).get("Data", "")),
                html=str((body.get("Html") or {}).get("Data", "")),
                text=str((body.get("Text") or {}).get("Data", "")),
                **common,
            )
        if "Raw" in content:
            return _from_raw(content["Raw"]["Data"], params.get("FromEmailAddress"), common)
        template = content.get("Template") or {}
        return MailMessage(
            sender=str(params.get("FromEmailAddress", "")),
            subject=f"(SES template {template.get('TemplateName') or template.get('TemplateArn')})",
            html="",
            text=str(template.get("TemplateData", "")),
            **common,
        )
    # SES v1
    common_v1: dict[str, Any] = {
        "id": message_id,
        "reply_to": list(params.get("ReplyToAddresses") or []),
        "configuration_set": params.get("ConfigurationSetName"),
        "tags": {t["Name"]: t["Value"] for t in params.get("Tags") or []},
        "sent_at": now,
        "service": service,
    }
    if operation == "SendRawEmail":
        raw = params.get("RawMessage", {}).get("Data", b"")
        return _from_raw(
            raw, params.get("Source"), {**common_v1, "to": list(params.get("Destinations") or [])}
        )
    destination = params.get("Destination") or {}
    message = params.get("Message") or {}
    body = message.get("Body") or {}
    return MailMessage(
        sender=str(params.get("Source", "")),
        to=list(destination.get("ToAddresses") or []),
        cc=list(destination.get("CcAddresses") or []),
        bcc=list(destination.get("BccAddresses") or []),
        subject=str((message.get("Subject") or {}).get("Data", "")),
        html=str((body.get("Html") or {}).get("Data", "")),
        text=str((body.get("Text") or {}).get("Data", "")),
        **common_v1,
    )


def _from_raw(data: bytes | str, sender: str | None, common: dict[str, Any]) -> MailMessage:
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    parsed = BytesParser(policy=email.policy.default).parsebytes(raw)
    html_part = parsed.get_body(preferencelist=("html",))
    text_part = parsed.get_body(preferencelist=("plain",))
    to = common.pop("to", None) or [a.strip() for a in str(parsed.get("To", "")).split(",") if a.strip()]
    common["reply_to"] = common.get("reply_to") or [
        address for _, address in email.utils.getaddresses([str(v) for v in parsed.get_all("Reply-To", [])])
    ]
    return MailMessage(
        sender=str(sender or parsed.get("From", "")),
        to=to,
        subject=str(parsed.get("Subject", "")),
        html=html_part.get_content() if html_part is not None else "",
        text=text_part.get_content() if text_part is not None else "",
        **common,
    )
