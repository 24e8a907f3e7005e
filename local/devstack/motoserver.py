"""``python -m devstack.motoserver -H HOST -p PORT``: moto's server, with DynamoDB calls serialized
(see :mod:`devstack.motolock`) so concurrent requests to the local stack cannot break a transaction,
and with :mod:`devstack.faults` in front of it, injecting nothing until told to
(``POST /_devstack/faults``)."""

from __future__ import annotations

from typing import Any

from devstack.faults import FaultInjector
from devstack.motolock import serialize_dynamodb


def main() -> None:
    serialize_dynamodb()
    import moto.server

    serve = moto.server.run_simple

    def run_simple(host: str, port: int, application: Any, **options: Any) -> None:
        serve(host, port, FaultInjector(application), **options)

    # moto's main builds its application and hands it to werkzeug's run_simple: wrap it there.
    moto.server.run_simple = run_simple  # type: ignore[assignment]
    moto.server.main()


if __name__ == "__main__":
    main()
