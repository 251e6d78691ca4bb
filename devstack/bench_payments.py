"""Benchmark charging at exit: exit webhook → paid session with its receipt.

    python -m devstack.benchrun payments          on a fresh emulator stack (`make bench`)
    python -m devstack.bench_payments --help      against a running stack (`make run`)

Prints:
1. Latency from the exit webhook (POST /webhook through Hosting) to the session showing
   payment "succeeded" with a receipt number: p50/p95/max over --exits sequential stays of the
   demo driver (plates registered to the driver for the run), each charged on localstripe
   through the real trigger. Polled every 10 ms, so figures carry up to 10 ms of polling.
2. Firestore reads and writes per charged exit for the payments flow (claim, charge, outcome,
   receipt, push), counted at the Firestore client's RPC layer while the same code runs in
   this process against the emulator (see bench_ingest.OpCounter).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import requests

from devstack import stack


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def register_plates(db, uid: str, plates: list[str]) -> None:
    now = datetime.now(UTC)
    batch = db.batch()
    for plate in plates:
        doc = {"plate": plate, "plateRaw": plate, "country": "FI", "uid": uid, "since": now}
        batch.set(db.collection("plateOwners").document(plate), doc)
        vehicle = db.collection("users").document(uid).collection("vehicles").document(plate)
        batch.set(vehicle, {"plate": plate, "plateRaw": plate, "country": "FI", "addedAt": now})
    batch.commit()


def wait_session_id(db, facility_id: str, plate: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        plate_doc = db.collection("plateStatus").document(f"{facility_id}__{plate}").get()
        stays = ((plate_doc.to_dict() or {}).get("track") or {}).get("stays") or []
        open_stay = next((s for s in stays if s["status"] == "open"), None)
        if open_stay:
            return open_stay["sessionId"]
        time.sleep(0.01)
    raise SystemExit(f"no open session for {plate} after entry")


def wait_paid(db, session_id: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        doc = db.collection("sessions").document(session_id).get().to_dict() or {}
        payment = doc.get("payment") or {}
        if payment.get("status") == "succeeded" and payment.get("receiptNumber"):
            return doc
        if payment.get("status") in ("failed", "requires_action", "to_invoice"):
            raise SystemExit(f"session {session_id} ended {payment.get('status')}: {payment}")
        time.sleep(0.01)
    raise SystemExit(f"session {session_id} not paid within {timeout} s")


def measure_latency(db, demo, hosting_url: str, exits: int, run: str) -> list[float]:
    plates = [f"B{run}{n:03d}" for n in range(exits + 1)]
    register_plates(db, demo.driver_uid, plates)
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {demo.webhook_token}"
    url = f"{hosting_url}/webhook"
    timings: list[float] = []
    for n, plate in enumerate(plates):
        now = datetime.now(UTC)
        entry = {
            "event": "entry",
            "plate": plate,
            "facility_id": demo.facility_id,
            "timestamp": (now - timedelta(minutes=102)).isoformat().replace("+00:00", "Z"),
        }
        r = http.post(url, json=entry, timeout=30)
        if r.status_code >= 300:
            raise SystemExit(f"entry: {r.status_code} {r.text}")
        session_id = wait_session_id(db, demo.facility_id, plate)
        exit_event = {**entry, "event": "exit", "timestamp": now.isoformat().replace("+00:00", "Z")}
        began = time.perf_counter()
        r = http.post(url, json=exit_event, timeout=30)
        if r.status_code >= 300:
            raise SystemExit(f"exit: {r.status_code} {r.text}")
        wait_paid(db, session_id)
        if n > 0:  # the first stay warms the trigger's worker
            timings.append((time.perf_counter() - began) * 1000)
    return timings


def measure_costs(db, demo, count: int, run: str) -> tuple[float, float, float]:
    from devstack.bench_ingest import OpCounter
    from parkingdone.payments import charging

    counter = OpCounter().install(db)
    base = datetime.now(UTC) - timedelta(hours=3)
    reads = writes = 0
    recorded = 0
    for n in range(count + 1):
        session_id = f"cost-{run}-{n}"
        db.collection("sessions").document(session_id).set(
            {
                "operatorId": demo.operator_id,
                "facilityId": demo.facility_id,
                "plate": demo.driver_plate,
                "status": "closed",
                "entry": {"at": base},
                "exit": {"at": base + timedelta(minutes=102)},
                "driverUid": demo.driver_uid,
                "fee": None,
                "payment": None,
                "updatedAt": base,
            }
        )
        counter.reset()
        result = charging.process_session(session_id, source="bench")
        if result != "succeeded":
            raise SystemExit(f"cost run: {session_id} {result}")
        if n > 0:  # the first run fills the facility and operator caches
            reads += counter.reads
            writes += counter.writes
            recorded += 1
    # One write per charge is the emulator-only record of the Stripe request.
    return reads / recorded, writes / recorded, 1.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.bench_payments", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--exits", type=int, default=60, help="stays to time (default 60)")
    parser.add_argument("--cost-runs", type=int, default=20, help="stays to count (default 20)")
    args = parser.parse_args(argv)
    for key, value in stack.service_env().items():
        os.environ.setdefault(key, value)
    os.environ.update(stack.local_secrets())
    sys.path.insert(0, str(stack.ROOT / "functions"))

    from devstack import demo_data
    from parkingdone.firebase import db as firestore_client

    db = firestore_client()
    stack.wait_for_functions()
    demo = demo_data.seed(db)
    run = uuid.uuid4().hex[:4].upper()

    timings = measure_latency(db, demo, os.environ["HOSTING_URL"], args.exits, run)
    print(f"[payments] exit webhook -> paid session with receipt, {len(timings)} exits:")
    print(
        f"[payments]   p50 {percentile(timings, 50):.0f} ms, p95 {percentile(timings, 95):.0f} ms,"
        f" max {max(timings):.0f} ms"
    )
    reads, writes, emulator_only = measure_costs(db, demo, args.cost_runs, run)
    print(f"[payments] Firestore per charged exit (incl. push), {args.cost_runs} runs:")
    print(
        f"[payments]   {reads:.1f} reads, {writes:.1f} writes"
        f" (of which {emulator_only:.0f} write is the emulator-only Stripe request record)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
