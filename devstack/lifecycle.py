"""A local stack as one thing: its id, the signals that stop it, and a teardown that ends it all.

Every process of a stack (firebase-tools, the emulators it starts, the functions' workers,
the stand-ins, a test run inside the stack) inherits PARKINGDONE_STACK_ID=<random id> in its
environment, however it was started and whoever its parent is now. That id is how teardown
finds every process to stop, and how start-up tells our services from another stack's: a
port counts as ours only when the process listening on it carries our id, and /api/health
answers with the id of the stack that serves it. Finding processes and listeners reads
Linux's /proc; without it, teardown relies on firebase-tools stopping its own emulators.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from devstack import ports as port_layout

STACK_ID_VAR = "PARKINGDONE_STACK_ID"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StackError(RuntimeError):
    """The stack cannot start or did not start as ours; the message says why."""


class StopRequested(BaseException):
    """SIGINT, SIGTERM or SIGHUP arrived. A BaseException, like KeyboardInterrupt, so that no
    `except Exception` on the way (a retry loop, a health poll) swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def new_stack_id() -> str:
    return secrets.token_hex(8)


def say(message: str, err: bool = False) -> None:
    """Print, unless the terminal is gone (after SIGHUP a write to it fails with EIO)."""
    with contextlib.suppress(OSError, ValueError):
        print(message, file=sys.stderr if err else sys.stdout, flush=True)


def _raise_stop(signum: int, _frame: object) -> None:
    ignore_stop_signals()
    raise StopRequested(signum)


def ignore_stop_signals() -> None:
    """From here on a stop signal changes nothing: teardown must not be cut short by one."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Inside: the first SIGINT, SIGTERM or SIGHUP raises StopRequested in the main thread.

    SIGINT is set too because a shell starts background jobs with it ignored.
    """
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    for sig in STOP_SIGNALS:
        signal.signal(sig, _raise_stop)
    try:
        yield
    except StopRequested:
        raise  # stopping: signals stay ignored until the program ends
    except BaseException:
        _restore(previous)
        raise
    else:
        _restore(previous)


def _restore(handlers: dict) -> None:
    for sig, handler in handlers.items():
        signal.signal(sig, handler)


def carries(pid: int, stack_id: str) -> bool:
    """True when process `pid` was started with this stack's id in its environment."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return f"{STACK_ID_VAR}={stack_id}".encode() in environ.split(b"\0")


def processes_of(stack_id: str) -> list[int]:
    """Every live process of the stack except this one (Linux /proc)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        pid = int(proc.name)
        if pid != os.getpid() and carries(pid, stack_id):
            found.append(pid)
    return sorted(found)


def foreign_ports(port_map: dict[str, int], stack_id: str) -> dict[str, str]:
    """Ports of `port_map` served by a process of another stack: {name: who holds it}."""
    foreign = {}
    for name, port in port_map.items():
        holders = port_layout.listeners(port)
        strangers = [h for h in holders if not carries(h.pid, stack_id)]
        if strangers:
            foreign[name] = f"port {port} ({name}) is served by " + "; ".join(map(str, strangers))
    return foreign


def refuse_busy_ports(port_map: dict[str, int]) -> None:
    """Before starting anything: every port the stack needs must be free."""
    busy = port_layout.busy_ports(port_map)
    if busy:
        raise StackError(
            f"{len(busy)} port(s) this stack needs are already taken, so nothing was started:\n"
            f"{port_layout.describe_busy(busy)}\n"
            "Stop that process (a stack left over from an earlier run?) or choose another "
            "PARKINGDONE_PORT_OFFSET."
        )


def wait_until_serving(
    name: str, port: int, process: subprocess.Popen, stack_id: str, timeout: float = 30.0
) -> None:
    """Wait until `process` (or a child of it) listens on `port`, and make sure it is ours."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StackError(f"{name} exited with code {process.returncode} before serving")
        holders = port_layout.listeners(port)
        if holders:
            strangers = [h for h in holders if not carries(h.pid, stack_id)]
            if strangers:
                raise StackError(
                    f"port {port} ({name}) is served by another process, not by our {name}: "
                    + "; ".join(map(str, strangers))
                )
            return
        if not Path("/proc/net/tcp").exists() and not port_layout.is_free(port):
            return  # no /proc to ask who listens: an open port and a live process will do
        time.sleep(0.1)
    raise StackError(f"{name} did not open port {port} within {timeout:.0f} s")


def teardown(
    stack_id: str,
    port_map: dict[str, int],
    firebase: subprocess.Popen | None,
    services: list[subprocess.Popen],
    grace: float = 20.0,
) -> list[str]:
    """Stop every process of the stack; returns what is still left (normally nothing).

    firebase-tools first, with SIGINT to it alone: it then stops its emulators in order (a
    SIGINT to its workers as well makes it wait for them forever). Then the stand-ins. Then
    whatever of the stack still runs, found by its id, is killed; that includes emulators
    firebase-tools started in sessions of their own and a test run it was executing.
    """
    ignore_stop_signals()
    if firebase is not None and firebase.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            firebase.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            firebase.wait(timeout=grace)
    for service in services:
        with contextlib.suppress(ProcessLookupError):
            service.terminate()
    deadline = time.monotonic() + 5
    for service in services:
        with contextlib.suppress(subprocess.TimeoutExpired):
            service.wait(timeout=max(0.1, deadline - time.monotonic()))
    for _ in range(5):
        stragglers = processes_of(stack_id)
        if not stragglers:
            break
        for pid in stragglers:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
    for process in [*([firebase] if firebase else []), *services]:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)
    return _leftovers(stack_id, port_map)


def _leftovers(stack_id: str, port_map: dict[str, int], timeout: float = 5.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        left = [f"pid {pid}: {port_layout.command_line(pid)}" for pid in processes_of(stack_id)]
        left += [
            f"port {port} ({name}) still in use"
            for name, port in port_layout.busy_ports(port_map).items()
        ]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)
