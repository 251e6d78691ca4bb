"""Benchmark of the admin dashboard through the Hosting emulator.

Seeds 100,000 sessions over 20 facilities of one operator across the last 60 days, with
their payments (card payments, invoices, failures, refunds) and 2,000 cars inside now
(bulk writers, background triggers paused), and the dashboard's stored figures as the
triggers leave them (admin/aggregates.build, the same pure code the triggers run). Signs an
operator admin in through the login page, then requests the operations page, each of its
live fragments, the session list (with and without a plate filter) and a session's
timeline, and prints p50/p95 of each (the round trip through Hosting: the server time plus
Hosting's few milliseconds) and the Firestore reads per render (the X-Firestore-Reads
header).

Run against a running stack (`make run`, or inside `firebase emulators:exec`):

    python -m devstack.bench_admin [--sessions 100000] [--runs 40]
"""

from __future__ import annotations

import argparse
import os
import random
import time
from datetime import UTC, datetime, timedelta

import requests

from devstack import bulk_seed, stack
from devstack.bulk_seed import Progress, percentile, service_env, triggers_paused, writer

OPERATOR = "bench-operator"
SLUG = "bench"
ADMIN_EMAIL = "admin@bench-operator.test"
PASSWORD = "bench-password"
TARGET_MS = 300.0


def seed(args: argparse.Namespace, progress: Progress) -> str:
    """Seed the operator's history; returns the id of one closed, paid session."""
    from firebase_admin import auth

    from parkingdone.admin import aggregates
    from parkingdone.firebase import app, db

    client = db()
    rng = random.Random(5)
    now = datetime.now(UTC)
    client.collection("operators").document(OPERATOR).set(
        {
            "name": "Bench Parking Oy",
            "currency": "EUR",
            "timeZone": "Europe/Helsinki",
            "platformFeeBps": 500,
            "slug": SLUG,
            "displayName": "Bench Parking",
        }
    )
    facility_ids = list(bulk_seed.facilities(client, OPERATOR, args.facilities, 500))
    try:
        user = auth.get_user_by_email(ADMIN_EMAIL, app=app())
    except auth.UserNotFoundError:
        user = auth.create_user(email=ADMIN_EMAIL, password=PASSWORD, app=app())
    auth.set_custom_user_claims(
        user.uid, {"role": "operator_admin", "operatorId": OPERATOR}, app=app()
    )

    bulk = writer(client, progress)
    stays: dict[str, dict] = {}
    payment_docs: list[dict] = []
    sample = ""
    for n in range(args.sessions):
        fid = facility_ids[n % len(facility_ids)]
        plate = f"B{rng.randint(0, 99999):05d}"
        sid = f"s_bench_{n:06d}"
        inside = n < args.inside
        entry = now - (
            timedelta(minutes=rng.randint(5, 600))
            if inside
            else timedelta(minutes=rng.randint(60, args.days * 24 * 60))
        )
        exit_ = None if inside else entry + timedelta(minutes=rng.randint(10, 300))
        fee = 0 if exit_ is None else max(0, int((exit_ - entry).total_seconds() // 3600 + 1) * 300)
        doc = {
            "operatorId": OPERATOR,
            "facilityId": fid,
            "plate": plate,
            "plateRaw": plate,
            "source": "anpr",
            "status": "open" if inside else "closed",
            "entry": {"at": entry, "imageUrl": None, "eventId": f"ev_{sid}_in"},
            "exit": {"at": exit_, "imageUrl": None, "eventId": f"ev_{sid}_out"} if exit_ else None,
            "driverUid": None,
            "reviewRequired": False,
            "flags": [],
            "evidence": [],
            "createdAt": entry,
            "updatedAt": exit_ or entry,
        }
        if exit_ is not None and fee:
            roll = rng.random()
            status, provider = (
                ("succeeded", "stripe")
                if roll < 0.75
                else ("to_invoice", "invoice")
                if roll < 0.85
                else ("invoiced", "invoice")
                if roll < 0.9
                else ("paid", "invoice")
                if roll < 0.95
                else ("failed", "stripe")
            )
            pid = f"{sid}_1"
            paid_at = exit_ + timedelta(seconds=2) if status in ("succeeded", "paid") else None
            refunded = fee // 2 if status == "succeeded" and rng.random() < 0.03 else 0
            doc["fee"] = {"total": fee, "currency": "EUR"}
            doc["payment"] = {
                "status": status,
                "paymentId": pid,
                "amount": fee,
                "currency": "EUR",
                "provider": provider,
                "paidAt": paid_at,
            }
            payment = {
                "operatorId": OPERATOR,
                "facilityId": fid,
                "kind": "session",
                "sessionId": sid,
                "plate": plate,
                "attempt": 1,
                "provider": provider,
                "status": status,
                "amount": fee,
                "currency": "EUR",
                "platformFee": fee * 5 // 100,
                "refundedAmount": refunded,
                "netAmount": fee - refunded,
                "refunds": [],
                "paidAt": paid_at,
                "createdAt": exit_,
                "updatedAt": paid_at or exit_,
            }
            bulk.set(client.collection("payments").document(pid), payment)
            payment_docs.append(payment)
            if status == "succeeded" and not sample:
                sample = sid
        bulk.set(client.collection("sessions").document(sid), doc)
        stays[sid] = doc
    # The stored figures exactly as the triggers would have left them.
    built = aggregates.build(OPERATOR, "Europe/Helsinki", stays, payment_docs)
    aggregates.write_built(client, built, bulk)
    bulk.close()
    print(
        f"  figures: {len(built.shards)} shard documents, "
        f"{len(built.contributions):,} contributions, {len(built.feed)} activity feed shards",
        flush=True,
    )
    return sample


def sign_in(base: str) -> requests.Session:
    http = requests.Session()
    response = http.post(
        f"{base}/admin/o/{SLUG}/login",
        data={"email": ADMIN_EMAIL, "password": PASSWORD},
        allow_redirects=False,
        timeout=30,
    )
    if response.status_code != 303 or "__session" not in http.cookies:
        raise SystemExit(f"sign-in failed: {response.status_code} {response.text[:300]}")
    return http


def measure(args: argparse.Namespace, sample: str) -> bool:
    base = os.environ.get("HOSTING_URL") or f"http://127.0.0.1:{stack.ports()['hosting']}"
    http = sign_in(base)
    portal = f"{base}/admin/o/{SLUG}"
    targets = {
        "operations page": "/",
        "fragment kpis": "/fragments/kpis",
        "fragment occupancy": "/fragments/occupancy",
        "fragment activity": "/fragments/activity",
        "fragment invoices": "/fragments/invoices",
        "fragment trend (30 days)": "/fragments/trend",
        "sessions list": "/sessions",
        "sessions list, plate filter": "/sessions?plate=B01234",
        "session timeline": f"/sessions/{sample}",
    }
    if args.only:
        targets = {name: path for name, path in targets.items() if path in args.only}
    ok = True
    for name, path in targets.items():
        # The first request also fills the instance's caches (facilities, past trend days).
        started = time.perf_counter()
        first = http.get(portal + path, timeout=120)
        first_ms = (time.perf_counter() - started) * 1000
        latencies, reads, failures = [], [], 0
        for _ in range(args.runs if first.ok else 0):
            started = time.perf_counter()
            try:
                response = http.get(portal + path, timeout=120)
            except requests.RequestException:
                failures += 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)
            failures += 0 if response.ok else 1
            reads.append(response.headers.get("X-Firestore-Reads", "–"))
        if not latencies:
            ok = False
            print(
                f"{name:30s} first request {first.status_code} after {first_ms:.0f} ms", flush=True
            )
            continue
        p95 = percentile(latencies, 95)
        ok = ok and p95 < TARGET_MS and not failures
        print(
            f"{name:30s} n={len(latencies)}  first={first_ms:6.0f} ms  "
            f"p50={percentile(latencies, 50):6.1f} ms  p95={p95:6.1f} ms  "
            f"reads/render={reads[-1]}"
            + (f"  failed={failures}" if failures else "")
            + ("" if p95 < TARGET_MS else f"  (over the {TARGET_MS:.0f} ms target)"),
            flush=True,
        )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--facilities", type=int, default=20)
    parser.add_argument("--inside", type=int, default=2_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument(
        "--only", nargs="*", default=None, help="measure only these paths (e.g. /sessions)"
    )
    args = parser.parse_args()
    service_env()
    started = time.perf_counter()
    progress = Progress(started)
    with triggers_paused():
        sample = seed(args, progress)
    print(
        f"seeded {args.sessions:,} sessions over {args.facilities} facilities and their payments"
        f" ({progress.done:,} documents) in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    measure(args, sample)


if __name__ == "__main__":
    main()
