"""AWS clients, created once per execution environment and shared.

botocore, not boto3: the resource layer costs import time and is not used. One botocore session
per thread serves every client, pynamodb's included: each new session loads botocore's endpoint
and service data again (a large part of a cold start each, see ``bench/results.md``), and
pynamodb would otherwise make one
per model. Sessions are per thread because creating clients from one session is not thread safe
(Lambda runs one thread; the local stack runs several).

One DynamoDB client serves the whole process: every model, every transaction and the package's own
calls (rate limits, batch reads, powertools' idempotency records) go through one pynamodb
``Connection``. pynamodb would otherwise make a client per model, each with its own connection
pool: on Lambda every extra client is another TLS handshake on the first request.

Under SnapStart (``pwreset.runtime.snapstart``) the clients are made and their operations prepared
before the snapshot (:func:`warm_up`); every restored copy then drops the connections it was copied
with and resolves its credentials again (:func:`renew_after_restore`), keeping the parsed models.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
from dataclasses import fields
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, get_args

from pwreset.core.config import settings
from pwreset.runtime import offline_answers, snapstart, tracing

if TYPE_CHECKING:
    from botocore.credentials import Credentials
    from pynamodb.connection import Connection

# secretsmanager: the origin-verification secret (pwreset.api.origin_verify); ssm: the hosted
# page's address where the stack publishes it (pwreset.core.public_urls); events: the CRM's bus.
Service = Literal["dynamodb", "sesv2", "sqs", "secretsmanager", "ssm", "events"]
# The services the functions call: the layer ships botocore's data for these alone (see
# buildsteps.botocore_data), so a client for any other fails until it is added here.
SERVICES: tuple[str, ...] = get_args(Service)

_local = threading.local()
_create_lock = threading.Lock()


def session() -> Any:
    found = getattr(_local, "session", None)
    if found is None:
        # deferred: the page function makes no AWS call and never pays for botocore
        import botocore.session

        found = botocore.session.get_session()
        found.register_component("credential_provider", _RenewableResolver(found))
        tracing.instrument(found, skip=offline_answers.active)
        _local.session = found
        _sessions.append(found)
    return found


_sessions: list[Any] = []  # every session made, for renew_after_restore


class _RenewableResolver:
    """The session's credential provider: botocore's default chain (environment, or the container
    endpoint that Lambda uses with SnapStart), behind one object that every client of the session
    signs with, so a restored copy can drop what was resolved before the snapshot."""

    def __init__(self, session: Any) -> None:
        # deferred: as botocore above
        from botocore.credentials import create_credential_resolver

        self._chain = create_credential_resolver(session)
        self._credentials: Credentials | None = None

    def load_credentials(self) -> Credentials:
        if self._credentials is None:
            self._credentials = _renewable(self._chain)
        return self._credentials

    def renew(self) -> None:
        if self._credentials is not None:
            self._credentials.renew()


def _renewable(chain: Any) -> Credentials:
    # deferred: as botocore above
    from botocore.credentials import Credentials

    # deferred: as botocore above
    from botocore.exceptions import NoCredentialsError

    class RenewableCredentials(Credentials):
        """Resolved through ``chain`` at first use and again after :meth:`renew`; botocore's
        signers ask ``get_frozen_credentials`` on every request, so a renewal reaches every client."""

        method = "pwreset-renewable"

        def __init__(self) -> None:  # no static keys: they come from the chain
            self._lock = threading.Lock()
            self._current: Credentials | None = None

        def _resolved(self) -> Credentials:
            with self._lock:
                if self._current is None:
                    self._current = chain.load_credentials()
                if self._current is None:
                    raise NoCredentialsError()
                return self._current

        def renew(self) -> None:
            with self._lock:
                self._current = None

        def get_frozen_credentials(self) -> Any:
            return self._resolved().get_frozen_credentials()

        @property
        def access_key(self) -> str:
            return str(self.get_frozen_credentials().access_key)

        @property
        def secret_key(self) -> str:
            return str(self.get_frozen_credentials().secret_key)

        @property
        def token(self) -> str | None:
            token = self.get_frozen_credentials().token
            return str(token) if token is not None else None

        @property
        def account_id(self) -> str | None:
            return getattr(self.get_frozen_credentials(), "account_id", None)

    return RenewableCredentials()


def client(service: Service) -> Any:
    """A client for ``service``; clients are safe to share between threads once created."""
    if service == "dynamodb":
        return dynamodb_client()
    return _client(service)


@cache
def _client(service: str) -> Any:
    with _create_lock:
        made = session().create_client(service)
        _created.add(service)
        return made


def dynamodb_client() -> Any:
    return dynamodb_connection().client


@cache
def dynamodb_connection() -> Connection:
    """The pynamodb connection (and with it the botocore DynamoDB client) of the process."""
    # deferred: as botocore above
    import pynamodb.connection.base as pynamodb_base

    # pynamodb asks ``botocore.session.get_session`` (imported into its connection module) for a
    # new session per connection; give it this module's session instead.
    pynamodb_base.get_session = session
    with _create_lock:
        connection = pynamodb_base.Connection(region=settings().aws_region)
        connection.client  # noqa: B018 - made here, under the lock, not by two threads at once
    return connection


def _made_clients() -> list[Any]:
    made = [dynamodb_connection().client] if dynamodb_connection.cache_info().currsize else []
    return made + [_client(s) for s in SERVICES if s != "dynamodb" and _is_cached(s)]


def _is_cached(service: str) -> bool:
    return service in _created


_created: set[str] = set()


def renew_after_restore() -> None:
    """In a copy restored from a snapshot: every client drops the connections it was copied with
    (each copy opens its own; one made before the snapshot would be shared by all of them, or
    dead), and the credentials are resolved again on the next call. The clients, and the models
    and endpoint rules they parsed before the snapshot, stay."""
    for made in _made_clients():
        made.close()
    for each in _sessions:
        resolver = each.get_component("credential_provider")
        if isinstance(resolver, _RenewableResolver):
            resolver.renew()


snapstart.after_restore(renew_after_restore)


def offline() -> contextlib.AbstractContextManager[None]:
    """Every call made through the process's clients meanwhile is answered inside the process
    (:func:`pwreset.runtime.offline_answers.answering`) and never reaches AWS: what warm-ups run
    before a snapshot changes nothing anywhere. Every client is made first, so none can be made
    inside and keep the handler."""
    return offline_answers.answering([client(each) for each in get_args(Service)])


def warm_up(service: Service) -> None:
    """Before the snapshot: the client for ``service`` and one offline call (:func:`offline`) of
    each operation the functions make with it, so the first request finds the operation models,
    parameter validation, serialisation, endpoint rules, signing and response parsing prepared."""
    with offline():
        offline_answers.rehearse(client(service), service)
        if service == "dynamodb":
            # botocore resolves DynamoDB's endpoint per table (its name is a parameter of the
            # endpoint rules) and caches the answer: one offline read of each table fills it.
            for table in _tables():
                client(service).get_item(TableName=table, Key={"pk": {"S": "warm-up"}})
    # What the first real connection would import: the codec that socket uses for host names.
    importlib.import_module("encodings.idna")


def _tables() -> list[str]:
    """The configured tables' names (every setting named ``*_table``)."""
    configured = settings()
    names = (getattr(configured, f.name) for f in fields(configured) if f.name.endswith("_table"))
    return sorted({str(name) for name in names if name})


def forget_clients() -> None:
    """Tests switch mocks between cases; cached clients belong to the previous one."""
    _client.cache_clear()
    _created.clear()
    dynamodb_connection.cache_clear()
    _local.__dict__.clear()
    _sessions.clear()
