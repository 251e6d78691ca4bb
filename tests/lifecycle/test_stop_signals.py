"""A stopped stack leaves nothing behind: no process of it, no port taken.

Each test starts a real stack through a runner, as a terminal would, stops it with the
signal a user's action sends, and then looks for what is left of it.
"""

from __future__ import annotations

import signal
import time

import pytest

from devstack import lifecycle, ports
from tests.lifecycle.runner import Runner, wait_until_ports_free

START_TIMEOUT = 360  # a whole stack on a busy 2-core machine


@pytest.fixture
def runners():
    started: list[Runner] = []
    yield started
    for runner in started:
        runner.cleanup()


def assert_nothing_left(runner: Runner) -> None:
    stack_id = runner.stack_id
    assert stack_id, runner.output
    assert wait_until_ports_free(ports.ports()) == {}, runner.output[-3000:]
    assert lifecycle.processes_of(stack_id) == [], runner.output[-3000:]


@pytest.mark.parametrize(
    ("signum", "to_group"),
    [
        pytest.param(signal.SIGHUP, True, id="terminal-closed"),
        pytest.param(signal.SIGTERM, False, id="sigterm-to-the-runner"),
    ],
)
def test_make_run_stops_its_whole_stack(runners, signum, to_group):
    runner = Runner("devstack.run")
    runners.append(runner)
    runner.wait_for("[run] up in", START_TIMEOUT)
    stack_id = runner.stack_id
    # Up means: firebase-tools, Java emulators, function workers and stand-ins all running.
    assert len(lifecycle.processes_of(stack_id)) >= 5

    if to_group:
        runner.signal_group(signum)
    else:
        runner.process.send_signal(signum)

    assert runner.wait(timeout=90) == 0
    assert_nothing_left(runner)


def _tests_running(stack_id: str) -> bool:
    return any("-m pytest" in ports.command_line(pid) for pid in lifecycle.processes_of(stack_id))


def test_a_test_run_stops_its_stack_and_its_tests_when_its_terminal_closes(runners):
    runner = Runner("devstack.testrun", "tests/integration", "-q")
    runners.append(runner)
    runner.wait_for("[test] stack ", 60)
    stack_id = runner.stack_id
    # Signal while the tests run inside the stack.
    deadline = time.monotonic() + START_TIMEOUT
    while not _tests_running(stack_id):
        assert time.monotonic() < deadline, runner.output[-3000:]
        assert runner.process.poll() is None, runner.output[-3000:]
        time.sleep(0.5)

    runner.signal_group(signal.SIGHUP)

    assert runner.wait(timeout=90) == 128 + signal.SIGHUP
    assert_nothing_left(runner)
