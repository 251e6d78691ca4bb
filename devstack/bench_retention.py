"""Benchmark of the retention sweep: N expired stays, each with its two inbox events and,
for one in four, a paid charge with its receipt (anonymised, not deleted), plus 1,000 stays
inside their limit and 100 open ones that must stay.

Seeds with bulk writers (background triggers paused: the sweep is a scheduled job, and
100,000 deletions must not wake 100,000 trigger runs), then runs the sweep as the scheduled
function does, run after run with its default budget, until nothing is left to do, and
prints the time, the runs, and the Firestore operations per expired stay (counted by the
sweep itself: every document a query or get returned, every write).

    python -m devstack.bench_retention [--sessions 100000] [--budget 5000]
    python -m devstack.benchrun retention        (on a fresh emulator stack)
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import requests

from devstack import stack

OPERATOR = "bench-retention"
NOW = datetime(2030, 6, 15, 12, tzinfo=UTC)
OPS_PER_SECOND = 20_000


def _hub(path: str) -> None:
    port = stack.ports()["hub"]
    requests.put(f"http://127.0.0.1:{port}/functions/{path}", timeout=300).raise_for_status()


def seed(db, sessions: int) -> int:
    from google.cloud.firestore_v1.bulk_writer import BulkWriterOptions

    writer = db.bulk_writer(
        options=BulkWriterOptions(
            initial_ops_per_second=OPS_PER_SECOND, max_ops_per_second=OPS_PER_SECOND
        )
    )
    written = 0
    old = NOW - timedelta(days=800)

    def stay(sid: str, ended: datetime, status: str = "closed", paid: bool = False) -> None:
        nonlocal written
        entry, exit_ = f"ev_{sid}_in", f"ev_{sid}_out"
        session = {
            "operatorId": OPERATOR,
            "facilityId": "bench-f1",
            "plate": f"B{sid[-6:]}",
            "driverUid": "bench-driver" if paid else None,
            "status": status,
            "entry": {"at": ended - timedelta(hours=1), "eventId": entry},
            "exit": {"at": ended, "eventId": exit_} if status == "closed" else None,
            "updatedAt": ended,
        }
        if paid:
            session["payment"] = {"status": "succeeded", "attempt": 1}
            pid = f"s_{sid}_1"
            writer.set(
                db.document(f"payments/{pid}"),
                {
                    "operatorId": OPERATOR,
                    "uid": "bench-driver",
                    "plate": session["plate"],
                    "status": "succeeded",
                    "amount": 300,
                    "createdAt": NOW - timedelta(days=10),
                },
            )
            writer.set(
                db.document(f"receipts/{pid}"),
                {"operatorId": OPERATOR, "uid": "bench-driver", "plate": session["plate"]},
            )
            written += 2
        writer.set(db.document(f"sessions/{sid}"), session)
        for event_id in (entry, exit_):
            writer.set(
                db.document(f"events/{event_id}"),
                {"operatorId": OPERATOR, "sessionId": sid, "receivedAt": ended},
            )
        written += 3

    db.document(f"operators/{OPERATOR}").set({"name": "Bench"})
    started = time.perf_counter()
    for n in range(sessions):
        stay(f"x{n:07d}", old - timedelta(seconds=n), paid=n % 4 == 0)
        if (n + 1) % 20_000 == 0:
            print(
                f"  seeded {n + 1:,} expired stays ({time.perf_counter() - started:.0f} s)",
                flush=True,
            )
    for n in range(1_000):
        stay(f"k{n:07d}", NOW - timedelta(days=30))
    for n in range(100):
        stay(f"o{n:07d}", old, status="open")
    writer.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=100_000, help="expired stays to seed")
    parser.add_argument(
        "--budget", type=int, default=None, help="documents per step and run (default: BUDGET)"
    )
    args = parser.parse_args(argv)
    for key, value in stack.service_env().items():
        os.environ.setdefault(key, value)
    import sys

    sys.path.insert(0, str(stack.ROOT / "functions"))
    from google.cloud.firestore_v1.base_query import FieldFilter

    from parkingdone.firebase import db as firestore_client
    from parkingdone.jobs import retention

    db = firestore_client()
    budget = args.budget or retention.BUDGET
    _hub("disableBackgroundTriggers")
    try:
        started = time.perf_counter()
        written = seed(db, args.sessions)
        print(f"seeded {written:,} documents in {time.perf_counter() - started:.0f} s", flush=True)

        totals: Counter[str] = Counter()
        runs = 0
        started = time.perf_counter()
        while True:
            counts = retention.run(db, now=NOW, budget=budget)
            runs += 1
            totals.update(counts)
            print(
                f"  run {runs}: {counts.get('sessionsDeleted', 0):,} stays deleted "
                f"({time.perf_counter() - started:.0f} s)",
                flush=True,
            )
            if not counts.get("sessionsDeleted"):
                break
        elapsed = time.perf_counter() - started
    finally:
        _hub("enableBackgroundTriggers")

    left = db.collection("sessions").where(filter=FieldFilter("operatorId", "==", OPERATOR))
    remaining = left.count().get()[0][0].value
    deleted = totals["sessionsDeleted"]
    print(
        f"\nretention sweep over {args.sessions:,} expired stays "
        f"(budget {budget:,} per step and run)"
    )
    print(f"  runs until done       {runs} (the last found nothing)")
    print(
        f"  time                  {elapsed:.1f} s  ({deleted / elapsed:,.0f} stays/s, "
        f"{elapsed / max(1, runs - 1):.1f} s per full run)"
    )
    print(
        f"  stays deleted         {deleted:,}; events deleted {totals['eventsDeleted']:,}; "
        f"payments+receipts anonymised "
        f"{totals['paymentsAnonymised'] + totals['receiptsAnonymised']:,}"
    )
    print(f"  stays kept            {remaining:,} (1,000 inside the limit + 100 open)")
    print(
        f"  Firestore reads       {totals['reads']:,}  ({totals['reads'] / deleted:.2f} per stay)"
    )
    print(
        f"  Firestore writes      {totals['writes']:,}  ({totals['writes'] / deleted:.2f} per stay)"
    )
    print(f"  machine load          {' '.join(f'{x:.1f}' for x in os.getloadavg())} (1/5/15 min)")
    ok = deleted == args.sessions and remaining == 1_100
    print("  result                " + ("ok" if ok else "WRONG: see counts above"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
