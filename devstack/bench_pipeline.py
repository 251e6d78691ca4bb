"""Benchmark what users wait for behind the webhook's acknowledgement, under sustained load.

For each rate, entries of plates registered to the demo driver (saved card, a phone for
pushes) are sent open-loop at that many a second through Hosting, each followed by its exit
a few seconds later, and measured:

- acknowledgement latency (what the operator's camera waits for; acknowledgement only);
- entry ack -> the officer's check answers for the car (a check sent right after the ack);
- entry ack -> FCM request of the entry push at the recorder (the driver's phone);
- exit ack -> session paid with its receipt (the card charged);
- the backlog: how long after the last send the last push and payment arrived, and whether
  latency grew over the run. The saturation rate is the highest rate whose backlog did not
  grow (p95 of the last third within 2x + 0.3 s of the first third, and everything done
  within 5 s of the last send).
- function invocations per entry and per exit, counted from the Functions emulator's own
  "Beginning execution" log lines (firebase-debug.log), not estimated.

    python -m devstack.benchrun pipeline                      what `make bench` runs
    python -m devstack.bench_pipeline --rates 20 --duration 60 against a running stack
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from devstack import stack

TOKEN = "bench-pipeline-device"
EXIT_AFTER = 3.0  # seconds from an entry to its exit
SATURATION_SLACK = 0.3


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _fmt(values: list[float]) -> str:
    if not values:
        return "none"
    return (
        f"p50 {statistics.median(values):.0f} ms  p95 {_pct(values, 0.95):.0f} ms  n={len(values)}"
    )


@dataclass
class Run:
    rate: float
    duration: float
    entry_ack: dict[str, float] = field(default_factory=dict)  # sessionId -> ack time
    exit_ack: dict[str, float] = field(default_factory=dict)
    ack_ms: list[float] = field(default_factory=list)
    check_ms: list[float] = field(default_factory=list)
    check_missed: int = 0
    push_at: dict[str, float] = field(default_factory=dict)
    paid_at: dict[str, float] = field(default_factory=dict)
    sent: list[float] = field(default_factory=list)
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def push_ms(self) -> list[tuple[float, float]]:
        return sorted(
            (self.entry_ack[s], (t - self.entry_ack[s]) * 1000)
            for s, t in self.push_at.items()
            if s in self.entry_ack
        )

    def pay_ms(self) -> list[tuple[float, float]]:
        return sorted(
            (self.exit_ack[s], (t - self.exit_ack[s]) * 1000)
            for s, t in self.paid_at.items()
            if s in self.exit_ack
        )


class Invocations:
    """Counts "Beginning execution of" lines per function in firebase-debug.log."""

    def __init__(self) -> None:
        self.path = Path(stack.ROOT) / "firebase-debug.log"
        self.offset = self.path.stat().st_size if self.path.exists() else 0

    def since_start(self) -> Counter:
        found: Counter = Counter()
        if not self.path.exists():
            return found
        with self.path.open("rb") as f:
            f.seek(self.offset)
            for line in f:
                text = line.decode("utf-8", "replace")
                marker = 'Beginning execution of "'
                if marker in text:
                    name = text.split(marker, 1)[1].split('"', 1)[0]
                    found[name.rsplit("-", 1)[-1]] += 1
        return found


def watch_pushes(recorder: str, run: Run, stop: threading.Event) -> None:
    seen = requests.get(f"{recorder}/messages", params={"since": 10**9}, timeout=5).json()["total"]
    while not stop.is_set():
        messages = requests.get(f"{recorder}/messages", params={"since": seen}, timeout=5).json()[
            "messages"
        ]
        seen += len(messages)
        for m in messages:
            data = ((m.get("body") or {}).get("message") or {}).get("data") or {}
            if data.get("kind") == "entry" and data.get("sessionId"):
                with run.lock:
                    run.push_at.setdefault(data["sessionId"], m["receivedAt"])
        time.sleep(0.01)


def watch_payments(db, facility_id: str, run: Run):
    from google.cloud.firestore_v1.base_query import FieldFilter

    def on_change(snapshots, changes, read_time):
        now = time.time()
        for change in changes:
            doc = change.document.to_dict() or {}
            payment = doc.get("payment") or {}
            if payment.get("status") == "succeeded" and payment.get("receiptId"):
                with run.lock:
                    run.paid_at.setdefault(change.document.id, now)

    query = db.collection("sessions").where(filter=FieldFilter("facilityId", "==", facility_id))
    return query.on_snapshot(on_change)


def drive(args, demo, plates: list[str], run: Run, hosting: str) -> None:
    """Open-loop: entry n is sent at start + n/rate, whatever the answers take."""
    headers = {"Authorization": f"Bearer {demo.webhook_token}"}
    key = {"x-api-key": "demo-enforcement-key"}
    local = threading.local()

    def http() -> requests.Session:
        if not hasattr(local, "s"):
            local.s = requests.Session()
        return local.s

    def post(kind: str, plate: str, at: datetime, number: int) -> tuple[str | None, float]:
        sent = time.time()
        r = http().post(
            f"{hosting}/webhook",
            headers=headers,
            json={
                "event": kind,
                "plate": plate,
                "facility_id": demo.facility_id,
                "timestamp": at.isoformat().replace("+00:00", "Z"),
                "event_id": f"{plate}-{kind}-{number}",
            },
            timeout=30,
        )
        acked = time.time()
        if r.status_code >= 300:
            with run.lock:
                run.errors += 1
            return None, acked
        with run.lock:
            run.ack_ms.append((acked - sent) * 1000)
        return r.json().get("sessionId"), acked

    def one(number: int, plate: str) -> None:
        entered = datetime.now(UTC)
        session_id, acked = post("entry", plate, entered, number)
        if session_id is None:
            return
        with run.lock:
            run.entry_ack[session_id] = acked
        r = http().get(
            f"{hosting}/api/enforcement/check/{plate}",
            params={"facility": demo.facility_id},
            headers=key,
            timeout=30,
        )
        with run.lock:
            if r.ok and r.json().get("status") != "not_found":
                run.check_ms.append((time.time() - acked) * 1000)
            else:
                run.check_missed += 1
        time.sleep(max(0.0, acked + EXIT_AFTER - time.time()))
        exit_id, exit_acked = post(
            "exit", plate, entered + timedelta(minutes=20), number
        )  # 20 min: charged
        if exit_id is not None:
            with run.lock:
                run.exit_ack[exit_id] = exit_acked

    count = int(run.rate * run.duration)
    start = time.time() + 0.2
    with ThreadPoolExecutor(max_workers=max(16, int(run.rate * (EXIT_AFTER + 2)))) as pool:
        for n in range(count):
            time.sleep(max(0.0, start + n / run.rate - time.time()))
            run.sent.append(time.time())
            pool.submit(one, n, plates[n])


def report(run: Run, invocations: Counter, drain: float) -> bool:
    pushes, pays = run.push_ms(), run.pay_ms()
    entries, exits = len(run.entry_ack), len(run.exit_ack)
    third = max(1, len(pushes) // 3)
    first = [ms for _, ms in pushes[:third]]
    last = [ms for _, ms in pushes[-third:]]
    done_after = drain
    grew = (
        bool(first and last) and _pct(last, 0.95) > 2 * _pct(first, 0.95) + SATURATION_SLACK * 1000
    )
    missing = entries - len(pushes) + exits - len(pays)
    saturated = grew or missing > 0 or done_after > 5.0
    print(
        f"\n--- {run.rate:g} entries/s for {run.duration:g} s: "
        f"{entries} entries, {exits} exits, {run.errors} errors"
    )
    print(f"  acknowledgement only             {_fmt(run.ack_ms)}")
    print(
        f"  entry ack -> check sees the car  {_fmt(run.check_ms)}  "
        f"(answered not_found: {run.check_missed})"
    )
    print(f"  entry ack -> FCM push request    {_fmt([ms for _, ms in pushes])}")
    print(f"    first third {_fmt(first)} | last third {_fmt(last)}")
    print(f"  exit ack -> paid with receipt    {_fmt([ms for _, ms in pays])}")
    print(
        f"  backlog: last push/payment {done_after:.1f} s after the last send; {missing} not done"
    )
    by_fn = ", ".join(f"{k}={v}" for k, v in sorted(invocations.items()))
    total_entry = invocations.get("webhook", 0)
    print(f"  invocations: {by_fn}")
    if entries and exits:
        triggered = sum(v for k, v in invocations.items() if k not in ("webhook", "api"))
        print(
            f"  per event: webhook {total_entry / (entries + exits):.2f}, triggers/tasks "
            f"{triggered / (entries + exits):.2f} (entries and exits together)"
        )
    print(f"  backlog {'GREW' if saturated else 'steady'}")
    return not saturated


def measure_invocations(args, demo, db, hosting: str) -> None:
    """Invocations of one unregistered entry, one registered entry and one exit, in isolation."""
    headers = {"Authorization": f"Bearer {demo.webhook_token}"}
    cases = [
        ("unregistered entry", "entry", f"U{uuid.uuid4().hex[:7].upper()}", False),
        ("registered entry", "entry", f"R{uuid.uuid4().hex[:7].upper()}", True),
    ]
    for label, kind, plate, registered in cases:
        if registered:
            _register(db, demo, [plate])
        counter = Invocations()
        at = datetime.now(UTC) - timedelta(minutes=30)
        requests.post(
            f"{hosting}/webhook",
            headers=headers,
            json={
                "event": kind,
                "plate": plate,
                "facility_id": demo.facility_id,
                "timestamp": at.isoformat(),
            },
            timeout=30,
        ).raise_for_status()
        time.sleep(args.settle)
        found = counter.since_start()
        print(f"  {label}: {_count(found)}")
        counter = Invocations()
        requests.post(
            f"{hosting}/webhook",
            headers=headers,
            json={
                "event": "exit",
                "plate": plate,
                "facility_id": demo.facility_id,
                "timestamp": datetime.now(UTC).isoformat(),
            },
            timeout=30,
        ).raise_for_status()
        time.sleep(args.settle)
        found = counter.since_start()
        print(f"  exit after {label}: {_count(found)}")


def _count(found: Counter) -> str:
    parts = ", ".join(f"{k}={v}" for k, v in sorted(found.items()))
    return f"{sum(found.values())} invocations ({parts})"


def _register(db, demo, plates: list[str]) -> None:
    now = datetime.now(UTC)
    for start in range(0, len(plates), 400):
        batch = db.batch()
        for plate in plates[start : start + 400]:
            batch.set(
                db.collection("plateOwners").document(plate),
                {
                    "uid": demo.driver_uid,
                    "plate": plate,
                    "plateRaw": plate,
                    "country": "FI",
                    "since": now,
                },
            )
        batch.commit()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.bench_pipeline", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--rates", default="20,40,60,80", help="entries per second, comma-separated"
    )
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per rate")
    parser.add_argument(
        "--sustained", type=float, default=20.0, help="rate of the long run (0: none)"
    )
    parser.add_argument("--sustained-duration", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds to let triggers finish")
    args = parser.parse_args(argv)

    for key, value in stack.service_env().items():
        os.environ.setdefault(key, value)
    os.environ.update(stack.local_secrets())
    sys.path.insert(0, str(stack.ROOT / "functions"))
    from devstack import demo_data
    from parkingdone.firebase import db as firestore_client
    from parkingdone.notifications.sender import token_id

    stack.wait_for_functions()
    db = firestore_client()
    demo = demo_data.seed(db)
    # Charge at once: the settle window is a business pause, not work to measure.
    db.collection("facilities").document(demo.facility_id).update({"chargeSettleSeconds": 0})
    db.collection("users").document(demo.driver_uid).collection("pushTokens").document(
        token_id(TOKEN)
    ).set({"token": TOKEN, "platform": "android", "updatedAt": datetime.now(UTC)})
    hosting = os.environ["HOSTING_URL"]
    recorder = os.environ["FCM_RECORDER_URL"]

    print("pipeline bench: invocations of single events (counted from the emulator's log)")
    measure_invocations(args, demo, db, hosting)

    plans = [(float(r), args.duration) for r in args.rates.split(",") if r.strip()]
    if args.sustained:
        plans.insert(0, (args.sustained, args.sustained_duration))
    steady: list[float] = []
    for rate, duration in plans:
        run = Run(rate, duration)
        tag = uuid.uuid4().hex[:5].upper()
        plates = [f"P{tag}{n:05d}" for n in range(int(rate * duration))]
        _register(db, demo, plates)
        stop = threading.Event()
        pusher = threading.Thread(target=watch_pushes, args=(recorder, run, stop), daemon=True)
        pusher.start()
        listener = watch_payments(db, demo.facility_id, run)
        counter = Invocations()
        drive(args, demo, plates, run, hosting)
        last_send = max(run.sent) if run.sent else time.time()
        deadline = time.time() + 60
        while time.time() < deadline:
            with run.lock:
                done = len(run.push_at) >= len(run.entry_ack) and len(run.paid_at) >= len(
                    run.exit_ack
                )
            if done:
                break
            time.sleep(0.2)
        with run.lock:
            finished = max([*run.push_at.values(), *run.paid_at.values(), last_send])
        time.sleep(args.settle)
        stop.set()
        listener.unsubscribe()
        if report(run, counter.since_start(), finished - last_send):
            steady.append(rate)
        # Let the backlog of this rate drain before the next.
        time.sleep(args.settle)
    print(
        f"\nsaturation: highest steady rate {max(steady) if steady else 0:g} entries/s "
        f"(of {', '.join(f'{r:g}' for r, _ in plans)})"
    )
    print(
        "targets: invocations per unregistered entry <= 2, per exit <= 3; processed p95 < 500 ms "
        "at 20 entries/s for 60 s; saturation >= 60 entries/s; entry -> FCM p95 < 300 ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
