"""Run the benchmarks on a fresh emulator stack and print their figures.

    python -m devstack.benchrun                 every benchmark (what `make bench` runs)
    python -m devstack.benchrun ingest push     only those (devstack/bench_<name>.py)

Each benchmark is a module devstack/bench_<name>.py that takes --help, measures through
the emulators (Hosting included, as operators and devices call us) and prints figures.
SIGINT, SIGTERM and SIGHUP stop the run and its stack; a taken port stops it before it starts.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys

from devstack import lifecycle, ports, stack

ORDER = ["entries", "pipeline", "ingest", "push", "payments", "enforcement"]


def available() -> list[str]:
    found = {p.stem.removeprefix("bench_") for p in (stack.ROOT / "devstack").glob("bench_*.py")}
    return [name for name in ORDER if name in found] + sorted(found - set(ORDER))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.benchrun", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: {available()})")
    args = parser.parse_args(argv)
    names = args.names or available()
    unknown = set(names) - set(available())
    if unknown:
        parser.error(f"no such benchmark: {', '.join(sorted(unknown))}")

    # The Functions emulator gives a new worker 30 s to load our code; on a busy shared
    # machine under a benchmark's load that is not enough, and the request fails instead of
    # waiting (FUNCTIONS_DISCOVERY_TIMEOUT, seconds).
    os.environ.setdefault("FUNCTIONS_DISCOVERY_TIMEOUT", "120")
    # A fresh stack per benchmark: one benchmark's trigger backlog must not slow the next.
    failed = []
    try:
        with lifecycle.stop_on_signals():
            ports.port_offset()  # a wrong offset is refused before anything runs
            for name in names:
                print(f"\n=== benchmark: {name} ===", flush=True)
                command = shlex.join([stack.python(), "-m", f"devstack.bench_{name}"])
                if stack.exec_in_emulators(command, quiet=True, label="bench"):
                    failed.append(name)
    except lifecycle.StopRequested as stop:
        lifecycle.say(f"[bench] stopped ({stop})", err=True)
        return stop.exit_code
    except (lifecycle.StackError, ports.PortOffsetError) as exc:
        lifecycle.say(f"[bench] {exc}", err=True)
        return 2
    if failed:
        print(f"benchmarks that failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
