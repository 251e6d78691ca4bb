"""Run the whole ParkingDone backend locally on the Firebase Emulator Suite, with demo data.

Starts the Firebase emulators (Auth, Functions, Firestore, Pub/Sub, Hosting, Cloud Tasks),
the Cloud Storage stand-in, localstripe and the FCM recorder; checks the functions really
answer; seeds the demo data; prints the URLs and ready-to-paste curl examples; then shows
function logs and every push until Ctrl-C, SIGTERM or SIGHUP (a closed terminal), which stop
everything. It refuses to start, naming the port and its holder, when a port it needs is taken.

    python -m devstack.run                 what `make run` does
    python -m devstack.run --export        seed, write emulator-data/ from it, and stop
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from devstack import lifecycle, ports, stack

NOISE = (
    "Unable to fetch the CLI MOTD",
    "Env variable override detected",
    "development server",
    "Press CTRL+C",
    "Serving Flask app",
    "Debug mode",
    "GET /__/",
    "Running on http",
)


def start_firebase(running: stack.Stack, log_path: Path) -> subprocess.Popen:
    args = ["emulators:start", "--only", stack.only_emulators()]
    if (stack.ROOT / "emulator-data" / "firebase-export-metadata.json").exists():
        args += ["--import", "emulator-data"]
    return running.start_firebase(*args, stdout=log_path.open("w"), stderr=subprocess.STDOUT)


def follow(log_path: Path, stop_event: threading.Event) -> None:
    """Echo new emulator log lines (function logs, requests) to the terminal, minus noise."""
    with log_path.open() as log:
        log.seek(0, os.SEEK_END)
        while not stop_event.is_set():
            line = log.readline()
            if not line:
                time.sleep(0.2)
                continue
            if line.strip() and not any(n in line for n in NOISE):
                print(line, end="", flush=True)


def seed() -> None:
    from devstack import demo_data
    from parkingdone.firebase import db

    data = demo_data.seed(db(), with_phone=True)
    print(f"[run] demo data seeded: {data.operator_id}, {data.facility_name}", flush=True)


def export(running: stack.Stack) -> None:
    subprocess.run(
        stack.firebase_command("emulators:export", "emulator-data", "--force"),
        cwd=stack.ROOT,
        env=running.env(),
        check=True,
        stdin=subprocess.DEVNULL,
    )


def banner(port_map: dict[str, int]) -> str:
    host = f"http://127.0.0.1:{port_map['hosting']}"
    now = datetime.now(UTC).replace(microsecond=0)
    entry_at = (now - timedelta(hours=1, minutes=42)).isoformat().replace("+00:00", "Z")
    exit_at = now.isoformat().replace("+00:00", "Z")
    return f"""
ParkingDone is running on the Firebase Emulator Suite (project {stack.PROJECT_ID}).

  API (Hosting)      {host}            health: {host}/api/health
  Functions          http://127.0.0.1:{port_map["functions"]}/{stack.PROJECT_ID}/{stack.REGION}/<name>
  Firestore          127.0.0.1:{port_map["firestore"]}     Auth 127.0.0.1:{port_map["auth"]}
  Pub/Sub            127.0.0.1:{port_map["pubsub"]}     Cloud Tasks 127.0.0.1:{port_map["tasks"]}
  Cloud Storage      http://127.0.0.1:{port_map["storage"]} (gcp-storage-emulator)
  Stripe             http://127.0.0.1:{port_map["stripe"]} (localstripe)
  FCM recorder       http://127.0.0.1:{port_map["fcm"]}/messages (every push is also shown below)

Demo users (password demo-password): super@parkingdone.test, admin@demo-operator.test,
driver@example.test (plate ABC-123, saved test card).

Admin dashboard (sign in with password demo-password):
  Demo Parking       {host}/admin/o/demo/      admin@demo-operator.test
  Other Parking      {host}/admin/o/other/     admin@other-operator.test
  every operator     {host}/admin/operators    super@parkingdone.test (super admin)

Try it:

  curl -s {host}/api/health

  curl -s -X POST {host}/webhook \\
    -H 'Authorization: Bearer demo-webhook-token' -H 'Content-Type: application/json' \\
    -d '{{"event": "entry", "plate": "ABC-123", "facility_id": "kamppi-p1",
         "timestamp": "{entry_at}"}}'

  curl -s '{host}/api/enforcement/check/ABC-123?facility=Kamppi+P1' \\
    -H 'x-api-key: demo-enforcement-key'

  curl -s -X POST {host}/webhook \\
    -H 'Authorization: Bearer demo-webhook-token' -H 'Content-Type: application/json' \\
    -d '{{"event": "exit", "plate": "ABC-123", "facility_id": "kamppi-p1",
         "timestamp": "{exit_at}"}}'

  curl -s {host}/api/enforcement/facility/Kamppi+P1/paid-plates \\
    -H 'x-api-key: demo-enforcement-key'

Ctrl-C (or SIGTERM, or closing the terminal) stops everything.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.run", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--export",
        action="store_true",
        help="seed, export the emulators' data to emulator-data/, then stop",
    )
    args = parser.parse_args(argv)

    started = time.monotonic()
    stop_event = threading.Event()
    try:
        port_map = stack.ports()
        log_path = stack.ROOT / ".cache" / "logs" / f"firebase-{stack.port_offset()}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with stack.started(port_map, label="run") as running:
            os.environ.update(running.env())
            print("[run] starting the emulators…", flush=True)
            running.start_side_services(show_pushes=True)
            firebase = start_firebase(running, log_path)
            health = stack.wait_for_functions(port_map, 300, running.id, firebase)
            print(f"[run] functions answer: version {health['version']}", flush=True)
            stack.verify(port_map)
            seed()
            if args.export:
                # The demo stays' triggers may still be running: the figures are built from
                # the stored stays by the triggers' own code, so the export holds them.
                from devstack import backfill_figures

                backfill_figures.main([])
                export(running)
                print("[run] emulator-data/ written", flush=True)
                return 0
            print(banner(port_map), flush=True)
            print(f"[run] up in {time.monotonic() - started:.0f} s", flush=True)
            threading.Thread(target=follow, args=(log_path, stop_event), daemon=True).start()
            while firebase.poll() is None:
                time.sleep(0.5)
            stop_event.set()
            lifecycle.say(f"[run] the emulators stopped; see {log_path}", err=True)
            return 1
    except lifecycle.StopRequested as stop:
        # Ctrl-C, SIGTERM and a closed terminal all mean "stop": everything has stopped.
        stop_event.set()
        lifecycle.say(f"[run] stopped ({stop})")
        return 0
    except (lifecycle.StackError, ports.PortOffsetError) as exc:
        stop_event.set()
        lifecycle.say(f"[run] {exc}\n[run] logs: {stack.ROOT / '.cache' / 'logs'}", err=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
