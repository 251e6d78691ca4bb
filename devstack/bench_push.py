"""Benchmark: entry webhook -> FCM request at the recorder, end to end through the emulators.

Each round posts one entry event to POST /webhook (through Hosting, as an operator's camera
does) for a plate registered to the demo driver, and measures until the FCM v1 request of the
entry push reaches the FCM recorder (its receivedAt). Rounds are sequential, each with a new
plate, so every entry opens a new session. Prints p50/p95/max.

    python -m devstack.benchrun push               on a fresh stack (what `make bench` runs)
    python -m devstack.bench_push --rounds 200     against a stack that is already running
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime

import requests

from devstack.benchlib import Recorder, connect, percentile, register_plates, seed_driver

TOKEN = "bench-device-token"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.bench_push", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--rounds", type=int, default=120, help="entries measured (default 120)")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured entries first")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait per push")
    parser.add_argument(
        "--interval",
        type=float,
        default=0.0,
        help="seconds from one entry to the next (default 0: back to back, the next entry as "
        "soon as the push arrived, while the other triggers of the last one still run)",
    )
    args = parser.parse_args(argv)

    db = connect()
    demo = seed_driver(db, TOKEN)
    run_id = uuid.uuid4().hex[:6].upper()
    total = args.warmup + args.rounds
    plates = [f"B{run_id}{n:04d}" for n in range(total)]
    register_plates(db, demo.driver_uid, plates)

    recorder = Recorder()
    recorder.clear()
    webhook = f"{os.environ['HOSTING_URL']}/webhook"
    headers = {"Authorization": f"Bearer {demo.webhook_token}"}
    session = requests.Session()
    latencies: list[float] = []
    webhook_times: list[float] = []
    missed = failed = 0
    started = time.time()
    for number, plate in enumerate(plates):
        if args.interval and number:
            time.sleep(max(0.0, started + args.interval - time.time()))
        seen = recorder.total()
        started = time.time()
        response = session.post(
            webhook,
            headers=headers,
            json={
                "event": "entry",
                "plate": plate,
                "facility_id": demo.facility_id,
                "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                "event_id": f"bench-{run_id}-{number}",
            },
            timeout=10,
        )
        answered = time.time()
        if response.status_code >= 300:
            # Counted and reported, not fatal: the Functions emulator now and then answers
            # 500 "socket hang up" when two of its workers were given the same port. A push
            # the entry may still send is waited out, so the next round does not take it.
            print(f"webhook answered {response.status_code}: {response.text}", file=sys.stderr)
            failed += 1
            time.sleep(2)
            continue
        # Warm-up rounds also wait out cold starts of every function the entry wakes.
        deadline = started + (args.timeout if number >= args.warmup else 60.0)
        arrived = None
        while time.time() < deadline:
            messages = recorder.since(seen)
            if messages:
                arrived = messages[0]["receivedAt"]
                break
            time.sleep(0.005)
        if arrived is None:
            # Counted, not fatal: a lost push is a figure to report, and the next round
            # must not mistake this push for its own.
            print(f"no push within {args.timeout:.0f} s for entry {number}", file=sys.stderr)
            missed += 1
            while not recorder.since(seen) and time.time() < started + 60:
                time.sleep(0.05)
            continue
        if number >= args.warmup:
            latencies.append((arrived - started) * 1000)
            webhook_times.append((answered - started) * 1000)

    if not latencies:
        print("push bench: no push arrived in time", file=sys.stderr)
        return 1
    pace = f"one every {args.interval:g} s" if args.interval else "back to back"
    print(
        f"push bench: entry webhook -> FCM request at the recorder, {len(latencies)} entries "
        f"{pace}, {missed} later than {args.timeout:.0f} s, {failed} not acknowledged"
    )
    print(
        f"  end to end  p50 {statistics.median(latencies):.0f} ms  "
        f"p95 {percentile(latencies, 0.95):.0f} ms  max {max(latencies):.0f} ms"
    )
    print(
        f"  webhook answer  p50 {statistics.median(webhook_times):.0f} ms  "
        f"p95 {percentile(webhook_times, 0.95):.0f} ms"
    )
    print("  targets: p95 < 300 ms (ours), < 500 ms end to end and < 3 s delivery (our SLA)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
