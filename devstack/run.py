"""Run the whole ParkingDone backend locally on the Firebase Emulator Suite, with demo data.

Starts the Firebase emulators (Auth, Functions, Firestore, Pub/Sub, Hosting, Cloud Tasks),
the Cloud Storage stand-in, localstripe and the FCM recorder; checks the functions really
answer; seeds the demo data; prints the URLs and ready-to-paste curl examples; then shows
function logs and every push until Ctrl-C, which stops everything.

    python -m devstack.run                 what `make run` does
    python -m devstack.run --export        seed, write emulator-data/ from it, and stop
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from devstack import stack

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


def start_firebase(port_map: dict[str, int], log_path: Path) -> subprocess.Popen:
    args = ["emulators:start", "--only", stack.only_emulators()]
    if (stack.ROOT / "emulator-data" / "firebase-export-metadata.json").exists():
        args += ["--import", "emulator-data"]
    return subprocess.Popen(
        stack.firebase_command(*args),
        cwd=stack.ROOT,
        env=stack.firebase_env(port_map),
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


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


def export(port_map: dict[str, int]) -> None:
    subprocess.run(
        stack.firebase_command("emulators:export", "emulator-data", "--force"),
        cwd=stack.ROOT,
        env=stack.firebase_env(port_map),
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

Ctrl-C stops everything.
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
    port_map = stack.ports()
    os.environ.update(stack.firebase_env(port_map))
    log_path = stack.ROOT / ".cache" / "logs" / f"firebase-{stack.port_offset()}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    print("[run] starting the emulators…", flush=True)
    with stack.side_services(port_map, show_pushes=True):
        firebase = start_firebase(port_map, log_path)
        # The emulators run in their own process group, so Ctrl-C reaches this process only
        # and we stop them ourselves, in order. SIGTERM means the same; SIGINT is restored in
        # case a parent shell started us with it ignored.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        stop_event = threading.Event()
        try:
            health = stack.wait_for_functions(port_map, timeout=120)
            print(f"[run] functions answer: version {health['version']}", flush=True)
            seed()
            if args.export:
                export(port_map)
                print("[run] emulator-data/ written", flush=True)
                return 0
            print(banner(port_map), flush=True)
            print(f"[run] up in {time.monotonic() - started:.0f} s", flush=True)
            threading.Thread(target=follow, args=(log_path, stop_event), daemon=True).start()
            while firebase.poll() is None:
                time.sleep(0.5)
            print(f"[run] the emulators stopped; see {log_path}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("\n[run] stopping…", flush=True)
            return 0
        except TimeoutError as exc:
            print(f"[run] {exc}\n[run] emulator log: {log_path}", file=sys.stderr)
            return 1
        finally:
            stop_event.set()
            stack.stop_group(firebase, port_map)


if __name__ == "__main__":
    sys.exit(main())
