"""Run the test suite: lint, fast unit tests, then every emulator tier on the real emulators.

    python -m devstack.testrun                 the whole suite (what `make test` and CI run)
    python -m devstack.testrun ARGS...         pytest ARGS inside a fresh emulator stack,
                                               e.g. tests/integration/test_webhook.py -k replay

The emulator tiers (tests/integration, tests/e2e, tests/rules) run inside
`firebase emulators:exec` with the storage emulator, localstripe and the FCM recorder beside
it. PARKINGDONE_PORT_OFFSET shifts every port so two runs can share a machine.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time

from devstack import stack

EMULATOR_TIERS = ["tests/integration", "tests/e2e", "tests/rules", "tests/browser"]


def banner(text: str) -> None:
    print(f"\n=== {text} ===", flush=True)


def run(cmd: list[str], env: dict[str, str] | None = None) -> int:
    return subprocess.run(cmd, cwd=stack.ROOT, env=env).returncode


def lint() -> int:
    ruff = str(stack.VENV_BIN / "ruff")
    return run([ruff, "check", "."]) or run([ruff, "format", "--check", "."])


def unit_tests(extra: list[str]) -> int:
    env = dict(os.environ)
    # Unit tests must not reach any emulator: make an accidental connection fail loudly.
    for name in ("FIRESTORE_EMULATOR_HOST", "FIREBASE_AUTH_EMULATOR_HOST"):
        env.pop(name, None)
    return run([stack.python(), "-m", "pytest", "tests/unit", *extra], env=env)


def emulator_tests(pytest_args: list[str]) -> int:
    started = time.monotonic()
    code = stack.exec_in_emulators(shlex.join([stack.python(), "-m", "pytest", *pytest_args]))
    print(f"[test] emulator run took {time.monotonic() - started:.0f} s", flush=True)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.testrun",
        description=__doc__.split("\n\n")[0],
        epilog="Without arguments: ruff, unit tests, then all emulator tiers.",
    )
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, help="passed to pytest")
    args = parser.parse_args(argv)

    if args.pytest_args:
        return emulator_tests(args.pytest_args)

    banner("ruff: lint and format")
    if code := lint():
        print("ruff found problems; run `.venv/bin/ruff check --fix . && .venv/bin/ruff format .`")
        return code
    banner("unit tests (pure logic, no emulator)")
    if code := unit_tests(["-q"]):
        return code
    banner("integration, end-to-end and rules tests (Firebase Emulator Suite)")
    return emulator_tests([*EMULATOR_TIERS, "-q"])


if __name__ == "__main__":
    sys.exit(main())
