"""Where the service's own pages are, for the links it mails: the hosted reset page and the client
help article beside it. From configuration only, never from a request's Host header.

``RESET_PAGE_URL`` names the page when the deployment knows it (``ResetPageUrl``, or a custom
domain). Otherwise the stack publishes the address of its distribution (or API stage) in SSM
Parameter Store under ``RESET_PAGE_URL_PARAMETER``: a function cannot be given it in its
environment, because the distribution names the API, which names the function. It is read with
powertools' parameters utility when a link is first built, and cached for :data:`MAX_AGE_S`.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from pwreset.core import aws, errors
from pwreset.core.config import help_url_beside, settings
from pwreset.core.observability import logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SSMProvider

MAX_AGE_S = 300


def reset_page_url() -> str:
    """The hosted reset page; links are ``{reset_page_url()}#token=...``."""
    cfg = settings()
    if cfg.reset_page_url:
        return cfg.reset_page_url
    assert cfg.reset_page_url_parameter  # load_settings requires one of the two
    return _published(cfg.reset_page_url_parameter)


def reset_help_url() -> str:
    """The client help article beside the page (see :func:`pwreset.core.config.help_url_beside`)."""
    return help_url_beside(reset_page_url())


@cache
def _ssm() -> SSMProvider:
    # powertools' parameters import boto3, which only a stack that publishes its page's address
    # needs, and only once a link is built.
    # deferred: only a published address pays for it
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    return SSMProvider(boto3_client=aws.client("ssm"))


def _published(name: str) -> str:
    # deferred: as SSMProvider above
    from aws_lambda_powertools.utilities.parameters import GetParameterError

    try:
        value = _ssm().get(name, max_age=MAX_AGE_S)
    except GetParameterError as error:
        # No link without the page's address: the caller's request is a 503 (or its event retried).
        extra = {"parameter": name, "error": str(error)}
        logger.warning("the hosted page's address is unreadable", extra=extra)
        raise errors.UpstreamUnavailable() from error
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        logger.error("the hosted page's address is not a URL", extra={"parameter": name})
        raise errors.UpstreamUnavailable()
    return value


def forget() -> None:
    """Tests switch mocks between cases; the provider's cache belongs to the previous one."""
    _ssm.cache_clear()
