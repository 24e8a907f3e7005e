"""Request bodies of the HTTP contract, as pydantic models (powertools validates them and they
feed the OpenAPI document). Lengths are capped generously: a cap here is a 400, not a policy rule;
the password policy's own maximum (128) is reported as a 422 violation.

Also the shape of a ``password_changed`` event as the events table's stream delivers it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr

from pwreset.emails import normalise_email

Email = Annotated[StrictStr, Field(min_length=3, max_length=320), AfterValidator(normalise_email)]
Token = Annotated[StrictStr, Field(min_length=1, max_length=512)]
Password = Annotated[StrictStr, Field(min_length=1, max_length=1024)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class SelfServiceResetBody(_Body):
    email: Email
    locale: Literal["de", "en"] | None = None


class VerifyBody(_Body):
    token: Token


class ConfirmBody(_Body):
    token: Token
    password: Password


class SignInBody(_Body):
    email: Annotated[StrictStr, Field(min_length=1, max_length=320)]
    password: Password


class ChangeDetail(BaseModel):
    """What the confirm path recorded about the request that changed the password
    (see ``resets.confirm_reset`` and ``RequestMeta.as_detail``)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    reset_id: str | None = None
    requested_by: str | None = None  # staff account id; None = the client asked (self-service)
    requested_by_name: str | None = None
    requested_at: datetime | None = None
    source_ip: str = "unknown"
    user_agent: str = ""
    request_id: str = ""
    country: str | None = None
    country_name: str | None = None
    region: str | None = None
    city: str | None = None


class PasswordChangedEvent(BaseModel):
    """The NEW_IMAGE of a ``password_changed`` item in the events table."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: Annotated[str, Field(min_length=1, max_length=128)]
    type: Literal["password_changed"]
    account_id: Annotated[str, Field(min_length=1, max_length=128)]
    firm_id: Annotated[str, Field(min_length=1, max_length=128)]
    at: datetime
    detail: ChangeDetail = ChangeDetail()
