"""The powertools names the handlers use besides the resolver (``pwreset.api.resolver``), imported
here so that they load after ``pwreset`` deferred powertools' re-exporting package initialisers
(``pwreset.runtime.lazy_packages``): a handler importing them straight from powertools would run the
whole ``event_handler`` or ``data_classes`` initialiser first (the stream function's batch
utility: ``pwreset.api.stream_batch``)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponse,
)

__all__ = ["APIGatewayAuthorizerRequestEvent", "APIGatewayAuthorizerResponse", "Path", "Query", "Response"]
