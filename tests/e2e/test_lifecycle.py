"""Starting and stopping the local stack as a developer does: ``make dev``, Ctrl-C, a busy port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.ports import free_port
from support.local_stack import (
    REPO_ROOT,
    START_TIMEOUT_S,
    Stack,
    alive,
    descendants,
    start_stack,
    stop_stack,
    wait_until_ready,
)

pytestmark = pytest.mark.e2e


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_gone(pids: list[int], timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)
    return [p for p in pids if alive(p)]


def test_ctrl_c_on_make_dev_stops_everything_it_started(tmp_path: Path) -> None:
    port, moto_port = free_port(), free_port()
    with (tmp_path / "stdout.log").open("wb") as out, (tmp_path / "stderr.log").open("wb") as err:
        make = subprocess.Popen(
            [
                "make",
                "--no-print-directory",
                "dev",
                f"PORT={port}",
                f"MOTO_PORT={moto_port}",
                f"DEV_ARGS=--state-dir {tmp_path}",
            ],
            cwd=REPO_ROOT,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, like a terminal's foreground job
        )
    stack = Stack(process=make, port=port, moto_port=moto_port, log_dir=tmp_path)
    started = time.monotonic()
    wait_until_ready(stack)
    ready_in = time.monotonic() - started
    started_pids = descendants(make.pid)
    moto_pid = stack.get("/_dev/health").json()["moto_pid"]
    assert moto_pid in started_pids
    assert listening(moto_port)

    os.killpg(make.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
    make.wait(20)

    assert wait_gone([*started_pids, make.pid]) == [], stack.output()
    assert not listening(port) and not listening(moto_port)
    assert "Stopped." in stack.output()
    assert "Traceback" not in stack.output()
    assert ready_in < START_TIMEOUT_S


def test_sigterm_stops_the_stack_and_moto_with_exit_code_zero(tmp_path: Path) -> None:
    stack = start_stack(tmp_path)
    children = descendants(stack.process.pid)
    assert children

    assert stop_stack(stack, signal.SIGTERM) == 0
    assert wait_gone(children) == []
    assert not listening(stack.moto_port)


def test_moto_dies_with_the_stack_even_when_the_stack_is_killed(tmp_path: Path) -> None:
    stack = start_stack(tmp_path)
    children = descendants(stack.process.pid)

    stack.process.kill()  # SIGKILL: no clean-up runs
    stack.process.wait(10)

    assert wait_gone(children) == []


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


@pytest.mark.parametrize("which", ["PORT", "MOTO_PORT"])
def test_a_port_in_use_gives_one_clear_line_and_a_non_zero_exit(
    tmp_path: Path, busy_port: int, which: str
) -> None:
    stack = start_stack(
        tmp_path,
        wait=False,
        port=busy_port if which == "PORT" else None,
        moto_port=busy_port if which == "MOTO_PORT" else None,
    )

    assert stack.process.wait(30) == 1
    lines = [line for line in (tmp_path / "stderr.log").read_text().splitlines() if line.strip()]
    assert lines == [
        f"make dev: port {busy_port} on 127.0.0.1 is already in use; "
        f"pick another with {which}=<port> (e.g. make dev {which}={busy_port + 1})"
    ]
    assert descendants(stack.process.pid) == []
