"""Bodies and answers of the CRM's provisioning routes (ProvisioningFunction).
Apart per function, so a cold start builds only its own models."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StrictBool, StrictStr

from pwreset.accounts import firms
from pwreset.api.schemas import Body, Email, FirmContactOut, Id, Locale, Name, Out, TimeZone

# The white-label fields' rules live in pwreset.accounts.firms, each one pattern that the document
# states: a value that breaks one is a 400 naming its field (e.g. "brand.color").
WebAddress = Annotated[
    StrictStr,
    Field(
        min_length=1,
        max_length=firms.MAX_URL_LENGTH,
        json_schema_extra={"format": "uri", "pattern": firms.WEB_ADDRESS_PATTERN},
    ),
    AfterValidator(firms.web_address),
]
SenderName = Annotated[
    StrictStr,
    Field(
        min_length=1,
        max_length=firms.MAX_SENDER_NAME_LENGTH,
        json_schema_extra={"pattern": firms.SENDER_NAME_PATTERN},
    ),
    AfterValidator(firms.sender_name),
]
BrandColor = Annotated[
    StrictStr, Field(json_schema_extra={"pattern": firms.COLOR_PATTERN}), AfterValidator(firms.brand_color)
]
Phone = Annotated[
    StrictStr,
    Field(
        min_length=3,
        max_length=firms.MAX_PHONE_LENGTH,
        json_schema_extra={"pattern": firms.PHONE_PATTERN},
    ),
    AfterValidator(firms.phone_number),
]
FirmName = Annotated[
    StrictStr,
    Field(min_length=1, max_length=200, json_schema_extra={"pattern": firms.FIRM_NAME_PATTERN}),
    AfterValidator(firms.firm_name),
]


class FirmContact(Body):
    email: Email
    phone: Phone | None = None


class FirmBrand(Body):
    logo_url: WebAddress | None = None
    color: BrandColor | None = None


class FirmBody(Body):
    name: FirmName
    locale: Locale | None = None
    time_zone: TimeZone | None = None
    portal_url: WebAddress | None = None
    sender_name: SenderName | None = None
    contact: FirmContact | None = None
    brand: FirmBrand | None = None

    def white_label(self) -> dict[str, str | None]:
        """The firm's white-label attributes this body sets: a field it leaves out keeps what is
        stored, ``null`` clears it, and ``contact`` and ``brand`` are replaced as a whole."""
        given = self.model_fields_set
        found: dict[str, str | None] = {}
        if "portal_url" in given:
            found["portal_url"] = self.portal_url
        if "sender_name" in given:
            found["sender_name"] = self.sender_name
        if "contact" in given:
            found["contact_email"] = self.contact.email if self.contact else None
            found["contact_phone"] = self.contact.phone if self.contact else None
        if "brand" in given:
            found["logo_url"] = self.brand.logo_url if self.brand else None
            found["brand_color"] = self.brand.color if self.brand else None
        return found


class AccountBody(Body):
    firm_id: Id
    role: Literal["owner", "member", "client"]
    email: Email
    name: Name
    locale: Locale | None = None
    time_zone: TimeZone | None = None
    status: Literal["active", "archived"] | None = None
    send_invitation: StrictBool = False


class FirmBrandOut(Out):
    logo_url: str | None
    color: str | None


class FirmOut(Out):
    firm_id: str
    name: str
    locale: Locale
    time_zone: str
    portal_url: str | None
    sender_name: str | None
    contact: FirmContactOut | None
    brand: FirmBrandOut | None


class FirmProvisioned(Out):
    firm: FirmOut


class ProvisionedAccountOut(Out):
    account_id: str
    firm_id: str
    role: Literal["owner", "member", "client"]
    email: str
    name: str
    locale: Locale
    time_zone: str
    status: Literal["active", "archived", "locked"]
    has_password: bool
    email_status: Literal["ok", "undeliverable", "complained"]


class Revoked(Out):
    links: int
    sessions: int


class InvitationOutcome(Out):
    status: Literal["sent", "pending", "password_already_set", "not_sent", "send_failed"]
    invitation_id: str | None = None
    sent_to: str | None = None
    expires_at: str | None = None
    reason: str | None = None


class AccountProvisioned(Out):
    account: ProvisionedAccountOut
    revoked: Revoked
    invitation: InvitationOutcome | None = None


class ProvisionedAccount(Out):
    account: ProvisionedAccountOut


# Staff and session routes: a bearer token or the __Host-portal_session cookie (see the authorizer).
