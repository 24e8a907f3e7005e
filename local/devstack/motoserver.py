"""``python -m devstack.motoserver -H HOST -p PORT``: moto's server, with DynamoDB calls serialized
(see :mod:`devstack.motolock`) so concurrent requests to the local stack cannot break a transaction."""

from __future__ import annotations

from devstack.motolock import serialize_dynamodb


def main() -> None:
    serialize_dynamodb()
    from moto.server import main as moto_main

    moto_main()


if __name__ == "__main__":
    main()
