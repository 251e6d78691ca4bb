"""Benchmark the webhook: acknowledgement latency, sustained throughput, Firestore cost.

    python -m devstack.benchrun ingest          on a fresh emulator stack (what `make bench` runs)
    python -m devstack.bench_ingest --help      against a running stack (`make run`)

Prints:
1. Firestore reads and writes per entry and per exit event. Counted at the Firestore client's
   RPC layer (BatchGetDocuments: one read per document asked for; RunQuery: one read per
   result, at least one; Commit: one write per write), while the webhook's own Flask app
   processes events in this process against the emulator: the exact code path of the
   deployed function minus the HTTP hop. Trigger work (evidence copy, payments, pushes) is
   not part of the webhook's cost and is not counted.
2. Acknowledgement latency p50/p95/p99 of sequential events through the Hosting emulator,
   once the triggers are done with the events of (1).
3. Sustained events per second for --duration seconds with --concurrency senders through
   Hosting (a share of them deliberately sent twice), then a check that every acknowledged
   stay is exactly one closed session: zero lost, zero duplicated. Run twice by default: with
   every other part's triggers running in the same emulator (the whole backend on 2 cores),
   and with background triggers paused (the webhook's own capacity).
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from devstack import stack
from devstack.benchlib import Invocations, ensure_env, percentile

OPERATOR = "bench-operator"
FACILITY = "bench-p1"


@dataclass
class OpCounter:
    """Document reads and writes the Firestore client sends, counted per RPC."""

    reads: int = 0
    writes: int = 0
    rpcs: Counter = field(default_factory=Counter)

    def reset(self) -> None:
        self.reads = self.writes = 0
        self.rpcs.clear()

    def install(self, client: Any) -> OpCounter:
        api = client._firestore_api  # the cached GAPIC client every call goes through
        if getattr(api, "_bench_counter", None) is not None:
            return api._bench_counter
        batch_get, commit, run_query = api.batch_get_documents, api.commit, api.run_query

        def counted_batch_get(request=None, **kw):
            self.reads += len((request or {}).get("documents", []))
            self.rpcs["batch_get"] += 1
            return batch_get(request=request, **kw)

        def counted_commit(request=None, **kw):
            self.writes += len((request or {}).get("writes", []))
            self.rpcs["commit"] += 1
            return commit(request=request, **kw)

        def counted_query(request=None, **kw):
            self.rpcs["query"] += 1
            results = 0
            for response in run_query(request=request, **kw):
                if response.document and response.document.name:
                    results += 1
                yield response
            self.reads += max(results, 1)  # an empty query is billed one read

        api.batch_get_documents, api.commit, api.run_query = (
            counted_batch_get,
            counted_commit,
            counted_query,
        )
        api._bench_counter = self
        return self


def seed(db: Any) -> str:
    """The bench tenant (idempotent) and a fresh webhook token."""
    from parkingdone import credentials, tenants
    from parkingdone.models import facilities, operators

    db.collection(operators.COLLECTION).document(OPERATOR).set(
        tenants.Operator(id=OPERATOR, name="Bench Parking").model_dump(by_alias=True)
    )
    facility = tenants.Facility(
        id=FACILITY, operator_id=OPERATOR, name="Bench P1", name_key=tenants.name_key("Bench P1")
    )
    db.collection(facilities.COLLECTION).document(FACILITY).set(
        facility.model_dump(by_alias=True, exclude={"id"})
    )
    token, _ = credentials.issue(db, "webhook", OPERATOR, label="benchmark")
    return token


def body(kind: str, plate: str, at: datetime) -> dict[str, Any]:
    return {
        "event": kind,
        "plate": plate,
        "facility_id": FACILITY,
        "timestamp": at.isoformat().replace("+00:00", "Z"),
    }


def measure_costs(db: Any, token: str, run: str, pairs: int) -> dict[str, float]:
    from parkingdone.ingest import webhook

    counter = OpCounter().install(db)
    client = webhook.app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    start = datetime.now(UTC) - timedelta(hours=3)
    # Warm-up: the facility cache is filled once per instance, as in production.
    client.post("/webhook", json=body("entry", f"C{run}W", start), headers=headers)
    totals = {"entry": [0, 0], "exit": [0, 0]}
    timings: list[float] = []
    for n in range(pairs):
        plate = f"C{run}{n}"
        for kind, at in (("entry", start), ("exit", start + timedelta(minutes=40))):
            counter.reset()
            began = time.perf_counter()
            r = client.post("/webhook", json=body(kind, plate, at), headers=headers)
            timings.append((time.perf_counter() - began) * 1000)
            assert r.status_code == 202, r.get_data(as_text=True)
            totals[kind][0] += counter.reads
            totals[kind][1] += counter.writes
    return {
        "inproc_p50": percentile(timings, 0.5),
        "inproc_p95": percentile(timings, 0.95),
        **{
            f"{kind}_{what}": totals[kind][i] / pairs
            for kind in totals
            for i, what in enumerate(("reads", "writes"))
        },
    }


def hub(action: str) -> None:
    """Ask the emulator hub to pause or resume Firestore/Pub/Sub triggers."""
    address = os.environ.get("FIREBASE_EMULATOR_HUB") or f"127.0.0.1:{stack.ports()['hub']}"
    requests.put(f"http://{address}/functions/{action}", timeout=10).raise_for_status()


def measure_latency(url: str, token: str, run: str, count: int) -> list[float]:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    start = datetime.now(UTC) - timedelta(hours=2)
    timings = []
    for n in range(count):
        kind = "entry" if n % 2 == 0 else "exit"
        at = start if kind == "entry" else start + timedelta(minutes=30)
        began = time.perf_counter()
        r = session.post(url, json=body(kind, f"L{run}{n // 2}", at), timeout=30)
        timings.append((time.perf_counter() - began) * 1000)
        if r.status_code != 202:
            raise SystemExit(f"latency run: unexpected {r.status_code} {r.text}")
    return timings


def measure_throughput(
    url: str, token: str, run: str, duration: float, concurrency: int, dup_every: int
) -> dict[str, Any]:
    start = datetime.now(UTC) - timedelta(hours=1)
    stop_at = time.monotonic() + duration
    lock = threading.Lock()
    acked_plates: list[str] = []
    stats = Counter()

    def sender(worker: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        n = 0
        while time.monotonic() < stop_at:
            plate = f"T{run}{worker:02d}{n}"
            n += 1
            ok = True
            for kind, at in (("entry", start), ("exit", start + timedelta(minutes=20))):
                payload = body(kind, plate, at)
                repeats = 2 if n % dup_every == 0 else 1
                for _ in range(repeats):
                    try:
                        r = session.post(url, json=payload, timeout=30)
                    except requests.RequestException:
                        stats["errors"] += 1
                        ok = False
                        continue
                    stats["sent"] += 1
                    if r.status_code in (200, 202) and r.json().get("status") == "processed":
                        stats["acked"] += 1
                        stats["replays"] += r.status_code == 200
                    else:
                        stats["errors"] += 1
                        ok = False
            if ok:
                with lock:
                    acked_plates.append(plate)

    began = time.monotonic()
    threads = [threading.Thread(target=sender, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    return {"elapsed": elapsed, "plates": acked_plates, **stats}


def verify(db: Any, run: str, plates: list[str]) -> dict[str, int]:
    from google.cloud.firestore_v1.base_query import FieldFilter

    query = (
        db.collection("sessions")
        .where(filter=FieldFilter("facilityId", "==", FACILITY))
        .select(["plate", "status"])
    )
    per_plate: Counter = Counter()
    not_closed = 0
    expected = set(plates)
    for snapshot in query.stream():
        plate = snapshot.get("plate")
        if plate.startswith(f"T{run}"):
            per_plate[plate] += 1
            # Stays with a transport error are not claimed; only acknowledged ones count.
            not_closed += plate in expected and snapshot.get("status") != "closed"
    return {
        "expected": len(expected),
        "lost": len(expected - set(per_plate)),
        "duplicated": sum(1 for c in per_plate.values() if c > 1),
        "not_closed": not_closed,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.bench_ingest", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--duration", type=float, default=60.0, help="throughput run, seconds")
    parser.add_argument("--concurrency", type=int, default=8, help="parallel senders")
    parser.add_argument("--latency-requests", type=int, default=300)
    parser.add_argument("--cost-pairs", type=int, default=20)
    parser.add_argument("--dup-every", type=int, default=25, help="send every Nth stay twice")
    parser.add_argument("--url", help="webhook URL (default: the Hosting emulator's /webhook)")
    parser.add_argument(
        "--triggers",
        choices=["both", "on", "paused"],
        default="both",
        help="sustained run with the other parts' triggers running, paused, or both (default)",
    )
    args = parser.parse_args(argv)

    ensure_env()
    from parkingdone.firebase import db as firestore_client

    db = firestore_client()
    url = args.url or f"{os.environ['HOSTING_URL']}/webhook"
    stack.wait_for_functions()
    token = seed(db)
    run = secrets.token_hex(2).upper()

    costs = measure_costs(db, token, run, args.cost_pairs)
    print("ingest: Firestore operations per event (RPC-level count, webhook code path)")
    print(f"  entry: {costs['entry_reads']:.2f} reads, {costs['entry_writes']:.2f} writes")
    print(f"  exit:  {costs['exit_reads']:.2f} reads, {costs['exit_writes']:.2f} writes")
    print(
        f"  handler alone (no HTTP hop): p50 {costs['inproc_p50']:.1f} ms, "
        f"p95 {costs['inproc_p95']:.1f} ms"
    )

    # The cost run's events are still being worked on by the triggers (a quiet trigger counts
    # each stay's figures itself): measured in the middle of that, the first sequential
    # events waited for it (p95 of the first 30: 365 ms, against 41-68 ms for the rest).
    Invocations(from_start=True).wait_quiet(quiet=2.0, timeout=120)
    requests.post(url, json=body("entry", f"W{run}", datetime.now(UTC)), timeout=30)  # warm
    timings = measure_latency(url, token, run, args.latency_requests)
    print(f"ingest: acknowledgement latency through Hosting, {len(timings)} sequential events")
    print(
        f"  p50 {percentile(timings, 0.5):.1f} ms  p95 {percentile(timings, 0.95):.1f} ms  "
        f"p99 {percentile(timings, 0.99):.1f} ms  mean {statistics.mean(timings):.1f} ms"
    )

    ok = True
    phases = {"both": ["on", "paused"], "on": ["on"], "paused": ["paused"]}[args.triggers]
    for phase in phases:
        phase_run = f"{run}{phase[0].upper()}"
        if phase == "paused":
            # The webhook's own capacity: on 2 cores the emulator otherwise spends most of its
            # CPU on the other parts' triggers (evidence, enforcement, payments, pushes), which
            # in production run on instances of their own.
            hub("disableBackgroundTriggers")
        try:
            result = measure_throughput(
                url, token, phase_run, args.duration, args.concurrency, max(args.dup_every, 2)
            )
        finally:
            if phase == "paused":
                hub("enableBackgroundTriggers")
        rate = result.get("acked", 0) / result["elapsed"]
        label = "all triggers running" if phase == "on" else "background triggers paused"
        print(
            f"ingest: sustained {rate:.1f} events/s over {result['elapsed']:.0f} s with "
            f"{args.concurrency} senders, {label} ({result.get('acked', 0)} acknowledged, "
            f"{result.get('replays', 0)} deliberate repeats answered as replays, "
            f"{result.get('errors', 0)} errors)"
        )
        check = verify(db, phase_run, result["plates"])
        print(
            f"  check: {check['expected']} stays -> lost {check['lost']}, duplicated "
            f"{check['duplicated']}, not closed {check['not_closed']}"
        )
        ok = ok and check["lost"] == 0 and check["duplicated"] == 0 and check["not_closed"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
