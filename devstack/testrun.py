"""Run the test suite: lint, fast unit tests, the stack's own tests, then every emulator tier.

    python -m devstack.testrun                 the whole suite (what `make test` and CI run)
    python -m devstack.testrun ARGS...         pytest ARGS inside a fresh emulator stack,
                                               e.g. tests/integration/test_webhook.py -k replay
    python -m devstack.testrun tests/lifecycle ARGS...
                                               the stack's own tests, which start their own
                                               stacks and so run outside one

The emulator tiers (tests/integration, tests/e2e, tests/rules) run inside
`firebase emulators:exec` with the storage emulator, localstripe and the FCM recorder beside
it. tests/lifecycle starts and stops stacks of its own on this run's ports, one at a time and
before the emulator tiers, never inside another stack. PARKINGDONE_PORT_OFFSET shifts every
port so runs can share a machine. SIGINT, SIGTERM and SIGHUP stop the run and its stack.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import time

from devstack import lifecycle, ports, stack

EMULATOR_TIERS = ["tests/integration", "tests/e2e", "tests/rules", "tests/browser"]
STACK_TIER = "tests/lifecycle"


def banner(text: str) -> None:
    print(f"\n=== {text} ===", flush=True)


def run(cmd: list[str], env: dict[str, str] | None = None) -> int:
    # In a session of its own, so that a closed terminal's SIGHUP reaches this process only,
    # which stops the child with SIGINT: pytest then runs its finalizers, and those stop the
    # stacks tests/lifecycle started.
    process = subprocess.Popen(cmd, cwd=stack.ROOT, env=env, start_new_session=True)
    try:
        return process.wait()
    except lifecycle.StopRequested:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        raise


def lint() -> int:
    ruff = str(stack.VENV_BIN / "ruff")
    return run([ruff, "check", "."]) or run([ruff, "format", "--check", "."])


def unit_tests(extra: list[str]) -> int:
    env = dict(os.environ)
    # Unit tests must not reach any emulator: make an accidental connection fail loudly.
    for name in ("FIRESTORE_EMULATOR_HOST", "FIREBASE_AUTH_EMULATOR_HOST"):
        env.pop(name, None)
    return run([stack.python(), "-m", "pytest", "tests/unit", *extra], env=env)


def stack_tests(pytest_args: list[str]) -> int:
    """tests/lifecycle: outside any stack, since these tests start stacks on this run's ports."""
    return run([stack.python(), "-m", "pytest", *pytest_args])


def emulator_tests(pytest_args: list[str]) -> int:
    started = time.monotonic()
    code = stack.exec_in_emulators(
        shlex.join([stack.python(), "-m", "pytest", *pytest_args]), label="test"
    )
    print(f"[test] emulator run took {time.monotonic() - started:.0f} s", flush=True)
    return code


def selects_stack_tier(pytest_args: list[str]) -> bool:
    paths = [arg for arg in pytest_args if not arg.startswith("-") and arg.startswith("tests")]
    return bool(paths) and all(path.startswith(STACK_TIER) for path in paths)


def suite() -> int:
    banner("ruff: lint and format")
    if code := lint():
        print("ruff found problems; run `.venv/bin/ruff check --fix . && .venv/bin/ruff format .`")
        return code
    banner("unit tests (pure logic, no emulator)")
    if code := unit_tests(["-q"]):
        return code
    banner("stack lifecycle tests (start, refuse and stop stacks of their own)")
    if code := stack_tests([STACK_TIER, "-q"]):
        return code
    banner("integration, end-to-end and rules tests (Firebase Emulator Suite)")
    return emulator_tests([*EMULATOR_TIERS, "-q"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.testrun",
        description=__doc__.split("\n\n")[0],
        epilog="Without arguments: ruff, unit tests, stack lifecycle tests, emulator tiers.",
    )
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, help="passed to pytest")
    args = parser.parse_args(argv)

    try:
        with lifecycle.stop_on_signals():
            ports.port_offset()  # a wrong offset is refused before anything runs
            if not args.pytest_args:
                return suite()
            if selects_stack_tier(args.pytest_args):
                return stack_tests(args.pytest_args)
            return emulator_tests(args.pytest_args)
    except lifecycle.StopRequested as stop:
        lifecycle.say(f"[test] stopped ({stop})", err=True)
        return stop.exit_code
    except (lifecycle.StackError, ports.PortOffsetError) as exc:
        lifecycle.say(f"[test] {exc}", err=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
