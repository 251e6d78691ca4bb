"""A runner (`python -m devstack.run`, `.testrun`, `.benchrun`) started as a terminal would:
in a process group of its own, with its output read line by line."""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import subprocess
import threading
import time

from devstack import lifecycle, ports, stack

PR_SET_PDEATHSIG = 1  # Linux prctl option
STACK_LINE = re.compile(r"\] stack ([0-9a-f]+) on port offset")


def _stop_when_parent_dies() -> None:
    # If this test process is killed outright, the runner gets SIGTERM and stops its stack.
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Runner:
    def __init__(self, module: str, *args: str, env: dict[str, str] | None = None) -> None:
        clean = {k: v for k, v in os.environ.items() if k != lifecycle.STACK_ID_VAR}
        self.process = subprocess.Popen(
            [stack.python(), "-m", module, *args],
            cwd=stack.ROOT,
            env={**clean, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own group, like a job of a terminal's shell
            preexec_fn=_stop_when_parent_dies,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    @property
    def stack_id(self) -> str | None:
        match = STACK_LINE.search(self.output)
        return match.group(1) if match else None

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"exited ({self.process.returncode}) before {text!r}:\n{self.output[-3000:]}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} within {timeout:.0f} s:\n{self.output[-3000:]}")
            time.sleep(0.2)

    def wait(self, timeout: float) -> int:
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code

    def signal_group(self, signum: int) -> None:
        """What a terminal does: the signal goes to every process of the foreground job."""
        os.killpg(self.process.pid, signum)

    def cleanup(self) -> None:
        """Whatever the test's outcome, leave nothing of this runner's stack behind."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        if self.stack_id:
            for pid in lifecycle.processes_of(self.stack_id):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def wait_until_ports_free(port_map: dict[str, int], timeout: float = 10.0) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while (busy := ports.busy_ports(port_map)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return busy
