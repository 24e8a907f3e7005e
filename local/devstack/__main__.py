"""``python -m devstack`` (what ``make dev`` runs): start the local stack and serve until stopped.

Ports and template come from flags or the environment (``PORT``, ``MOTO_PORT``, ``TEMPLATE``), so
``make dev PORT=3001 MOTO_PORT=5001`` works. Start-up problems (a port in use, moto not starting)
print one line and exit 1; SIGINT (Ctrl-C) and SIGTERM stop everything and exit 0.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import sys
import time
import warnings
from pathlib import Path
from types import FrameType

from devstack.faults import FaultSpecError, parse_faults
from devstack.pool import DEFAULT_CONCURRENCY
from devstack.server import PortInUseError
from devstack.stack import STATE_DIR, LocalStack, StackConfig, StackError
from devstack.template import TEMPLATE_PATH


class _Stop(BaseException):
    """Raised in the main thread by SIGINT/SIGTERM, so start-up and serving unwind the same way."""


def _port(value: str) -> int:
    port = int(value)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a TCP port")
    return port


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return number


def parse_args(argv: list[str] | None = None) -> StackConfig:
    parser = argparse.ArgumentParser(prog="make dev", description=__doc__)
    parser.add_argument("--port", type=_port, default=_port(os.environ.get("PORT") or "3000"))
    parser.add_argument("--moto-port", type=_port, default=_port(os.environ.get("MOTO_PORT") or "5000"))
    parser.add_argument(
        "--template",
        type=Path,
        default=Path(os.environ.get("TEMPLATE") or TEMPLATE_PATH),
        help="SAM template",
    )
    parser.add_argument("--no-seed", action="store_true", help="start with empty tables")
    parser.add_argument("--state-dir", type=Path, default=STATE_DIR, help="where moto's log goes")
    parser.add_argument(
        "--parameter-overrides",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="template parameters, as sam deploy takes them (e.g. RateLimits=... SenderAddress=...)",
    )
    parser.add_argument(
        "--concurrency",
        type=_positive,
        default=_positive(os.environ.get("CONCURRENCY") or str(DEFAULT_CONCURRENCY)),
        help="execution environments per function (default %(default)s), unless the template "
        "sets ReservedConcurrentExecutions; a request beyond it waits for a free one",
    )
    parser.add_argument(
        "--faults",
        default=os.environ.get("FAULTS") or "",
        metavar="SPEC",
        help="AWS errors moto answers with, e.g. 'dynamodb.TransactWriteItems=0.05,sesv2.*=0.1' "
        "(see devstack/faults.py); none by default",
    )
    parser.add_argument(
        "--fault-seed",
        type=int,
        default=int(os.environ["FAULT_SEED"]) if os.environ.get("FAULT_SEED") else None,
        help="seed for the fault decisions, to replay a run (default: a random one, shown at start)",
    )
    args = parser.parse_args(argv)
    try:
        parse_faults(args.faults)
    except FaultSpecError as exc:
        parser.error(f"--faults: {exc}")
    overrides: dict[str, str] = {}
    for pair in args.parameter_overrides:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            parser.error(f"--parameter-overrides takes KEY=VALUE, not {pair!r}")
        overrides[key] = value
    if args.port == args.moto_port:
        parser.error("--port and --moto-port must differ")
    return StackConfig(
        port=args.port,
        moto_port=args.moto_port,
        template=args.template.resolve(),
        seed=not args.no_seed,
        state_dir=args.state_dir.resolve(),
        parameter_overrides=overrides,
        concurrency=args.concurrency,
        faults=args.faults,
        fault_seed=secrets.randbelow(2**31) if args.fault_seed is None else args.fault_seed,
    )


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    if not config.template.is_file():
        print(f"make dev: no template at {config.template}", file=sys.stderr)
        return 1
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for noisy in ("botocore", "pynamodb"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # The environments of a function share its handlers' clients (in Lambda each has its own), and
    # botocore's pool keeps 10 connections: beyond 10 at once urllib3 opens and drops extra ones,
    # warning each time. Harmless on loopback.
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    # Metrics are off locally (no CloudWatch); powertools still warns on every request without one.
    warnings.filterwarnings("ignore", message="No application metrics to publish")

    def stop(signum: int, _frame: FrameType | None) -> None:
        raise _Stop(signal.Signals(signum).name)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    stack = LocalStack(config)
    try:
        stack.start()
        print(stack.banner(), flush=True)
        while stack.moto_alive():
            time.sleep(0.5)
        print("make dev: moto's server exited unexpectedly; stopping", file=sys.stderr)
        return 1
    except _Stop as received:
        print(f"\nStopping ({received}) ...", file=sys.stderr, flush=True)
    except PortInUseError as exc:
        which = "MOTO_PORT" if exc.port == config.moto_port else "PORT"
        print(
            f"make dev: port {exc.port} on {exc.host} is already in use; "
            f"pick another with {which}=<port> (e.g. make dev {which}={exc.port + 1})",
            file=sys.stderr,
        )
        return 1
    except StackError as exc:
        print(f"make dev: {exc}", file=sys.stderr)
        return 1
    finally:
        # A second Ctrl-C while cleaning up must not leave moto behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
    print("Stopped.", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
