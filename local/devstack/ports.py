"""Free loopback ports, for whatever starts servers of its own (the e2e tests, the bench), and the
addresses of a local stack's two servers."""

from __future__ import annotations

import socket
from dataclasses import dataclass

HOST = "127.0.0.1"


def free_port(host: str = HOST) -> int:
    """A TCP port nothing listens on now (the OS's choice); free until someone binds it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class StackPorts:
    """Where a local stack listens: its API on ``port``, its moto server on ``moto_port``."""

    port: int
    moto_port: int

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def moto_url(self) -> str:
        return f"http://{HOST}:{self.moto_port}"
