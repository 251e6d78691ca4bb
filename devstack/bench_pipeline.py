"""Benchmark what users wait for behind the webhook's acknowledgement, under sustained load.

For each rate, entries of plates registered to the demo driver (saved card, a phone for
pushes) are sent open-loop through Hosting, each followed by an enforcement check right after
its acknowledgement and by its exit EXIT_AFTER seconds later (event time: a 20-minute stay,
charged). A small fixed pool of senders (--senders, 8) works through the schedule: every
request is due at its own instant whatever the answers before it took, and a sender that
starts a request after its instant reports the lateness (requests waiting at our door, never
hidden by slowing the schedule down). The emulator starts one Python worker per concurrent
request, so the pool is kept small.

Measured per rate:
- acknowledgement latency (what the operator's camera waits for; acknowledgement only);
- processed: entry ack -> the officer's check answers with the car (the enforcement
  projection is written in the webhook's transaction), and the same from the instant the
  entry was due (queueing at our door included);
- entry ack -> FCM request of the entry push at the recorder (the driver's phone);
- exit ack -> session paid with its receipt (the card charged);
- the backlog: the senders' lateness, the processed latency of the last third against the
  first, and how long after the last send the last push and payment arrived. A rate is
  steady when none of them grew (last third p95 within 2x + 0.3 s of the first third, senders
  less than a second late at the end, everything done within 5 s of the last send); the
  saturation rate is the highest steady rate of the steps (--rates).
- function invocations per event, counted from the Functions emulator's own "Beginning
  execution" log lines (firebase-debug.log), for single events in isolation and per run.

    python -m devstack.benchrun pipeline                        what `make bench` runs
    python -m devstack.bench_pipeline --rates 20 --sustained 0  against a running stack
"""

from __future__ import annotations

import argparse
import os
import queue
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import requests

from devstack.benchlib import (
    Invocations,
    Recorder,
    Senders,
    SendFailed,
    add_load_arguments,
    connect,
    machine_line,
    officer_check,
    percentile,
    push_data,
    register_plates,
    run_load,
    seed_driver,
    summary,
)

TOKEN = "bench-pipeline-device"
EXIT_AFTER = 3.0  # seconds from an entry to its exit
STAY = timedelta(minutes=20)  # event time from an entry to its exit: a charged stay
GROWTH_SLACK_MS = 300.0
LATE_AT_END_MS = 1000.0
DRAIN_LIMIT = 5.0  # seconds after the last send by which every push and payment is done


@dataclass
class Run:
    rate: float
    duration: float
    entry_ack: dict[str, float] = field(default_factory=dict)  # sessionId -> ack time
    exit_ack: dict[str, float] = field(default_factory=dict)
    ack_ms: list[float] = field(default_factory=list)
    # (due instant, ms): ack -> the check sees the car, and due -> the check sees the car.
    check_ms: list[tuple[float, float]] = field(default_factory=list)
    due_check_ms: list[tuple[float, float]] = field(default_factory=list)
    check_missed: int = 0  # answered not_found for an acknowledged entry
    check_failed: int = 0  # no answer (an error status or a timeout)
    late_ms: list[tuple[float, float]] = field(default_factory=list)  # (due, ms late)
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


def thirds(series: list[tuple[float, float]]) -> tuple[list[float], list[float]]:
    """The values of the first and the last third of a (time, value) series."""
    ordered = sorted(series)
    third = max(1, len(ordered) // 3)
    return [v for _, v in ordered[:third]], [v for _, v in ordered[-third:]]


def grew(series: list[tuple[float, float]]) -> bool:
    first, last = thirds(series)
    if not first or not last:
        return False
    return percentile(last, 0.95) > 2 * percentile(first, 0.95) + GROWTH_SLACK_MS


def watch_pushes(recorder: Recorder, run: Run, stop: threading.Event) -> None:
    seen = recorder.total()
    while not stop.is_set():
        messages = recorder.since(seen)
        seen += len(messages)
        for m in messages:
            data = push_data(m)
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


class Schedule:
    """Open-loop work for a fixed pool of senders: each job is due at its own instant; a
    sender takes the earliest job, waits for its instant, runs it and records how late it
    started (`late_ms`: (due, ms late)) and whether its request failed (`failures`). Jobs are
    all known up front, in due order."""

    def __init__(self, senders: int) -> None:
        self.jobs: queue.Queue = queue.Queue()
        self.senders = senders
        self.late_ms: list[tuple[float, float]] = []
        self.failures = 0
        self._lock = threading.Lock()

    def add(self, due: float, job: Callable[[float], None]) -> None:
        self.jobs.put((due, job))

    def run(self) -> None:
        def sender() -> None:
            while True:
                try:
                    due, job = self.jobs.get_nowait()
                except queue.Empty:
                    return
                wait = due - time.time()
                if wait > 0:
                    time.sleep(wait)
                with self._lock:
                    self.late_ms.append((due, max(0.0, (time.time() - due) * 1000)))
                try:
                    job(due)
                except (requests.RequestException, SendFailed):
                    with self._lock:
                        self.failures += 1

        pool = [threading.Thread(target=sender, daemon=True) for _ in range(self.senders)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()


def drive(args, demo, plates: list[str], run: Run, hosting: str) -> None:
    """Entry n is due at start + n/rate, its exit EXIT_AFTER s later; --senders at a time."""
    headers = {"Authorization": f"Bearer {demo.webhook_token}"}
    senders = Senders(hosting, timeout=30)
    entered: dict[int, tuple[str, datetime]] = {}  # number -> (sessionId, event time)
    done = {n: threading.Event() for n in range(len(plates))}

    def post(kind: str, plate: str, at: datetime, number: int) -> tuple[str | None, float]:
        sent = time.time()
        with run.lock:
            run.sent.append(sent)
        r = senders.mine().post_json(
            "/webhook",
            {
                "event": kind,
                "plate": plate,
                "facility_id": demo.facility_id,
                "timestamp": at.isoformat().replace("+00:00", "Z"),
                "event_id": f"{plate}-{kind}-{number}",
            },
            headers,
        )
        acked = time.time()
        if r.status >= 300:
            with run.lock:
                run.errors += 1
            return None, acked
        with run.lock:
            run.ack_ms.append((acked - sent) * 1000)
        return (r.body or {}).get("sessionId"), acked

    def entry(number: int) -> Callable[[float], None]:
        def job(due: float) -> None:
            # Back-dated by the stay, so that its exit (STAY later) is not in the future.
            plate, at = plates[number], datetime.now(UTC) - STAY
            try:
                session_id, acked = post("entry", plate, at, number)
                if session_id is None:
                    return
                entered[number] = (session_id, at)
                with run.lock:
                    run.entry_ack[session_id] = acked
                found, seen = officer_check(senders.mine(), demo.facility_id, plate)
                with run.lock:
                    if found == "failed":
                        run.check_failed += 1
                    elif found == "not_found":
                        run.check_missed += 1
                    else:
                        run.check_ms.append((due, (seen - acked) * 1000))
                        run.due_check_ms.append((due, (seen - due) * 1000))
            finally:
                done[number].set()

        return job

    def leave(number: int) -> Callable[[float], None]:
        def job(due: float) -> None:
            done[number].wait(timeout=60)
            if number not in entered:
                return
            _, at = entered[number]
            exit_id, acked = post("exit", plates[number], at + STAY, number)
            if exit_id is not None:
                with run.lock:
                    run.exit_ack[exit_id] = acked

        return job

    start = time.time() + 0.5
    schedule = Schedule(args.senders)
    jobs = []
    for n in range(len(plates)):
        jobs.append((start + n / run.rate, entry(n)))
        jobs.append((start + n / run.rate + EXIT_AFTER, leave(n)))
    for due, job in sorted(jobs, key=lambda j: j[0]):
        schedule.add(due, job)

    schedule.run()
    with run.lock:
        run.late_ms.extend(schedule.late_ms)
        run.errors += schedule.failures


def report(
    run: Run, invocations: Counter, drain: float, handler_ms: dict[str, list[float]]
) -> bool:
    pushes, pays = run.push_ms(), run.pay_ms()
    entries, exits = len(run.entry_ack), len(run.exit_ack)
    missing = entries - len(pushes) + exits - len(pays)
    late_first, late_last = thirds(run.late_ms)
    late_at_end = percentile(late_last, 0.95) if late_last else 0.0
    reasons = []
    if grew(run.due_check_ms):
        reasons.append("processed latency grew")
    if grew(pushes):
        reasons.append("push latency grew")
    if late_at_end > LATE_AT_END_MS:
        reasons.append(f"senders {late_at_end / 1000:.1f} s late at the end")
    if missing > 0:
        reasons.append(f"{missing} pushes/payments not done")
    if drain > DRAIN_LIMIT:
        reasons.append(f"done {drain:.1f} s after the last send")
    print(
        f"\n--- {run.rate:g} entries/s for {run.duration:g} s: "
        f"{entries} entries, {exits} exits, {run.errors} errors"
    )
    print(f"  acknowledgement only              {summary(run.ack_ms)}")
    print(
        f"  processed: entry ack -> check     {summary([ms for _, ms in run.check_ms])}  "
        f"(answered not_found: {run.check_missed}, no answer: {run.check_failed})"
    )
    first, last = thirds(run.due_check_ms)
    print(f"  processed: entry due -> check     {summary([ms for _, ms in run.due_check_ms])}")
    print(f"    first third {summary(first)} | last third {summary(last)}")
    print(f"  entry ack -> FCM push request     {summary([ms for _, ms in pushes])}")
    first, last = thirds(pushes)
    print(f"    first third {summary(first)} | last third {summary(last)}")
    print(f"  exit ack -> paid with receipt     {summary([ms for _, ms in pays])}")
    print(
        f"  senders' lateness                 {summary([ms for _, ms in run.late_ms])}; "
        f"first third p95 {percentile(late_first, 0.95):.0f} ms, "
        f"last third p95 {late_at_end:.0f} ms"
    )
    print(f"  backlog: last push/payment {drain:.1f} s after the last send; {missing} not done")
    print(f"  invocations: {', '.join(f'{k}={v}' for k, v in sorted(invocations.items()))}")
    if entries and exits:
        triggered = sum(v for k, v in invocations.items() if k not in ("webhook", "api"))
        print(
            f"  per event: webhook {invocations.get('webhook', 0) / (entries + exits):.2f}, "
            f"triggers/tasks {triggered / (entries + exits):.2f} (entries and exits together)"
        )
    for name, times in sorted(handler_ms.items()):
        print(f"  session trigger, {name:<12} {summary(times)}  total {sum(times) / 1000:.1f} s")
    print(f"  backlog {'GREW (' + '; '.join(reasons) + ')' if reasons else 'steady'}")
    return not reasons


def warm_up(demo, hosting: str, senders: int) -> float:
    """Start the webhook's and the check's workers before measuring, one more each round.

    The Functions emulator runs one worker per concurrent request and a cold one spends
    seconds of CPU importing the code (a cold start, not our handlers): round n sends n
    entries at the same instant, then their n checks, so each round finds n - 1 warm workers
    and starts at most one beside them (workers started together may be given the same
    port). Full-width rounds repeat until one starts no worker. Returns the seconds it took."""
    started = time.time()
    headers = {"Authorization": f"Bearer {demo.webhook_token}"}
    key = {"x-api-key": "demo-enforcement-key"}
    at = datetime.now(UTC) - timedelta(hours=6)

    def both(n: int, together: threading.Barrier) -> None:
        plate = f"W{uuid.uuid4().hex[:7].upper()}"
        for attempt in range(3):
            try:
                together.wait(timeout=120)
                requests.post(
                    f"{hosting}/webhook",
                    headers=headers,
                    json={
                        "event": "entry",
                        "plate": plate,
                        "facility_id": demo.facility_id,
                        "timestamp": (at + timedelta(seconds=n)).isoformat(),
                    },
                    timeout=120,
                )
                together.wait(timeout=120)
                requests.get(
                    f"{hosting}/api/enforcement/check/{plate}",
                    params={"facility": demo.facility_id},
                    headers=key,
                    timeout=120,
                )
                return
            except (requests.RequestException, threading.BrokenBarrierError):
                together.abort()
                time.sleep(1 + attempt)

    def round_of(width: int) -> int:
        workers = Invocations()
        together = threading.Barrier(width)
        threads = [threading.Thread(target=both, args=(n, together)) for n in range(width)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return sum(workers.workers_started().values())

    for width in range(1, senders + 1):
        round_of(width)
    for _ in range(5):
        if not round_of(senders):
            break
    return time.time() - started


def measure_invocations(args, demo, db, hosting: str) -> None:
    """Invocations of one unregistered entry, one registered entry and their exits, each in
    isolation: counted once every invocation it set off has finished and none began for
    --settle seconds; the next event only then."""
    headers = {"Authorization": f"Bearer {demo.webhook_token}"}
    cases = [
        ("unregistered entry", f"U{uuid.uuid4().hex[:7].upper()}", False),
        ("registered entry", f"R{uuid.uuid4().hex[:7].upper()}", True),
    ]
    before = Invocations()
    for label, plate, registered in cases:
        if registered:
            register_plates(db, demo.driver_uid, [plate])
        at = datetime.now(UTC) - timedelta(minutes=30)
        for kind, name, when in (("entry", label, at), ("exit", f"exit after {label}", None)):
            before.wait_quiet()  # nothing earlier still running is counted
            counter = Invocations()
            requests.post(
                f"{hosting}/webhook",
                headers=headers,
                json={
                    "event": kind,
                    "plate": plate,
                    "facility_id": demo.facility_id,
                    "timestamp": (when or datetime.now(UTC)).isoformat(),
                },
                timeout=30,
            ).raise_for_status()
            counter.wait_quiet(quiet=args.settle)
            found = counter.since_start()
            parts = ", ".join(f"{k}={v}" for k, v in sorted(found.items()))
            print(f"  {name}: {sum(found.values())} invocations ({parts})")


def one_rate(args, demo, db, hosting: str, recorder: Recorder, rate: float, duration: float):
    run = Run(rate, duration)
    tag = uuid.uuid4().hex[:5].upper()
    plates = [f"P{tag}{n:05d}" for n in range(int(rate * duration))]
    register_plates(db, demo.driver_uid, plates)
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
            if len(run.push_at) >= len(run.entry_ack) and len(run.paid_at) >= len(run.exit_ack):
                break
        time.sleep(0.2)
    with run.lock:
        finished = max([*run.push_at.values(), *run.paid_at.values(), last_send])
    time.sleep(args.settle)
    stop.set()
    listener.unsubscribe()
    steady = report(run, counter.since_start(), finished - last_send, counter.handler_ms())
    time.sleep(args.settle)  # this rate's trailing triggers finish before the next
    return steady


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.bench_pipeline", description=__doc__.split("\n\n")[0]
    )
    add_load_arguments(parser, rates="20,40,60,80", senders=8)
    args = parser.parse_args(argv)

    db = connect()
    demo = seed_driver(db, TOKEN)
    # Charge at once: the settle window is a business pause, not work to measure.
    db.collection("facilities").document(demo.facility_id).update({"chargeSettleSeconds": 0})
    hosting = os.environ["HOSTING_URL"]
    recorder = Recorder()

    print(f"pipeline bench: {args.senders} senders, load average {os.getloadavg()[0]:.1f} at start")
    print(machine_line())
    print(f"workers warmed up in {warm_up(demo, hosting, args.senders):.0f} s (not measured)")
    print("invocations of single events (counted from the emulator's log)")
    measure_invocations(args, demo, db, hosting)

    run_load(args, lambda rate, seconds: one_rate(args, demo, db, hosting, recorder, rate, seconds))
    print(
        "targets: invocations per unregistered entry <= 2, per exit <= 3; processed p95 < 500 ms "
        "at 20 entries/s for 60 s; saturation >= 60 entries/s; entry -> FCM p95 < 300 ms "
        "(bench_push, back to back)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
