"""Request bodies of the HTTP contract, as pydantic models (powertools validates them and they
feed the OpenAPI document). Lengths are capped generously: a cap here is a 400, not a policy rule;
the password policy's own maximum (128) is reported as a 422 violation."""

from __future__ import annotations

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
