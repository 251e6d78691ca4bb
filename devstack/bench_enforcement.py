"""Benchmark of the enforcement API through the Hosting emulator.

Seeds 100,000 historical sessions, 5,000 open sessions and 2,000 active passes across 20
facilities (bulk writers at an emulator-sized rate, with background triggers paused), then
the plateStatus projections, plateSkeletons index documents and whitelistShards exactly as
the triggers leave them (built by the same code; a plate with nothing that still matters to
enforcement gets none, a plate with no coverage ahead no shard entry), and measures
plate-check p50/p95/p99, Firestore reads per check (the API's X-Firestore-Reads header) and
whitelist p50/p95 and reads for the facility holding the 2,000 pass plates.

Run against a running stack (`make run`, or inside `firebase emulators:exec`):

    python -m devstack.bench_enforcement [--checks 500] [--whitelist-runs 40]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import requests

from devstack import bulk_seed, stack
from devstack.bulk_seed import Progress, percentile, service_env, triggers_paused, writer

OPERATOR = "demo-operator"
KEY = "bench-enforcement-key"


def seed(args: argparse.Namespace, progress: Progress) -> dict[str, list[str]]:
    from parkingdone import credentials, plates
    from parkingdone.enforcement import decision, store
    from parkingdone.firebase import db

    client = db()
    rng = random.Random(7)
    now = datetime.now(UTC)
    client.collection("operators").document(OPERATOR).set(
        {"name": "Demo Parking Oy", "currency": "EUR", "timeZone": "Europe/Helsinki"}, merge=True
    )
    facilities = bulk_seed.facilities(client, OPERATOR, args.facilities)
    facility_ids = list(facilities)
    credentials.store(
        client,
        KEY,
        credentials.Credential(kind="enforcement", operator_id=OPERATOR, created_at=now),
    )

    def plate() -> str:
        letters = "".join(rng.choice("ACDEFGHJKLMNPRTUVXY") for _ in range(3))
        return f"{letters}{rng.randint(1, 999)}"

    sessions: dict[tuple[str, str], list[tuple[str, dict]]] = defaultdict(list)
    passes: dict[tuple[str, str], list[tuple[str, dict]]] = defaultdict(list)
    bulk = writer(client, progress)
    for i in range(args.historical):
        fid = rng.choice(facility_ids)
        p = plate()
        entry = now - timedelta(minutes=rng.randint(120, 730 * 24 * 60))
        exit_at = entry + timedelta(minutes=rng.randint(5, 600))
        doc = {
            "operatorId": OPERATOR,
            "facilityId": fid,
            "plate": p,
            "plateRaw": p,
            "status": "closed",
            "source": "anpr",
            "entry": {"at": entry},
            "exit": {"at": exit_at},
            "driverUid": None,
            "fee": {"total": 300, "currency": "EUR"},
            "payment": {"status": "succeeded", "paidAt": exit_at, "amount": 300, "currency": "EUR"},
        }
        bulk.set(client.collection("sessions").document(f"hist-{i}"), doc)
        sessions[(fid, p)].append((f"hist-{i}", doc))
    open_plates = []
    for i in range(args.open):
        fid = facility_ids[i % len(facility_ids)]
        p = plate()
        doc = {
            "operatorId": OPERATOR,
            "facilityId": fid,
            "plate": p,
            "plateRaw": p,
            "status": "open",
            "source": "anpr",
            "entry": {"at": now - timedelta(minutes=rng.randint(1, 600))},
            "exit": None,
            "driverUid": None,
            "fee": None,
            "payment": {"status": "pending"} if i % 3 == 0 else None,
        }
        bulk.set(client.collection("sessions").document(f"open-{i}"), doc)
        sessions[(fid, p)].append((f"open-{i}", doc))
        open_plates.append(f"{fid}|{p}")
    pass_plates = []
    for i in range(args.passes):
        fid = facility_ids[0]  # one facility with 2,000 paid plates for the whitelist
        p = f"PAS{i:04d}"
        doc = {
            "operatorId": OPERATOR,
            "facilityId": fid,
            "plate": p,
            "status": "active",
            "validFrom": now - timedelta(days=1),
            "validUntil": now + timedelta(days=30),
            "amount": 9900,
            "currency": "EUR",
            "productId": "month",
        }
        bulk.set(client.collection("passes").document(f"pass-{i}"), doc)
        passes[(fid, p)].append((f"pass-{i}", doc))
        pass_plates.append(f"{fid}|{p}")
    bulk.close()

    # The projections, skeleton index entries and whitelist shards, as the triggers' rebuild
    # leaves them.
    bulk = writer(client, progress)
    index: dict[tuple[str, str], dict[str, datetime]] = defaultdict(dict)
    shards: dict[tuple[str, int], dict[str, str]] = defaultdict(dict)
    kept = 0
    for key in set(sessions) | set(passes):
        fid, p = key
        facility = facilities[fid]
        recent = sorted(sessions.get(key, []), key=lambda s: s[1]["entry"]["at"], reverse=True)
        active = sorted(passes.get(key, []), key=lambda s: s[1]["validUntil"], reverse=True)
        built = decision.build_plate_status(
            operator_id=OPERATOR,
            facility_id=fid,
            plate=p,
            skeleton=plates.skeleton(p),
            sessions=recent[: decision.RECENT_SESSIONS],
            passes=active[: store.PASSES_PER_PLATE],
            grace_minutes=facility.enforcement_grace_minutes,
            tariff_terms=store.tariff_terms(facility),
            now=now,
        )
        if not decision.is_relevant(built, now):
            continue  # the rebuild deletes it: nothing here matters to enforcement any more
        kept += 1
        assert built.expires_at is not None
        index[(fid, built.skeleton)][p] = built.expires_at
        entry = decision.whitelist_entry(built, now)
        if entry is not None:
            shards[(fid, decision.shard_of(p))][p] = entry
        bulk.set(
            client.collection(store.PLATE_STATUS).document(decision.doc_id(fid, p)),
            built.model_dump(by_alias=True),
        )
    for (fid, skeleton), entries in index.items():
        bulk.set(
            client.collection(store.SKELETONS).document(decision.doc_id(fid, skeleton)),
            store.index_document(OPERATOR, fid, skeleton, entries, now),
        )
    for (fid, shard), entries in shards.items():
        bulk.set(
            store.shard_reference(client, fid, shard),
            store.shard_document(OPERATOR, fid, shard, entries, now),
        )
    bulk.close()
    print(
        f"  {kept:,} of {len(set(sessions) | set(passes)):,} plates still matter to "
        f"enforcement (projections kept), {len(index):,} skeleton index documents, "
        f"{sum(len(e) for e in shards.values()):,} whitelist entries in {len(shards):,} shards",
        flush=True,
    )
    return {"open": open_plates, "passes": pass_plates, "facilities": facility_ids}


def measure(args: argparse.Namespace, seeded: dict[str, list[str]]) -> None:
    rng = random.Random(11)
    base = os.environ.get("HOSTING_URL") or f"http://127.0.0.1:{stack.ports()['hosting']}"
    http = requests.Session()
    http.headers["x-api-key"] = KEY
    targets = []
    for _ in range(args.checks):
        kind = rng.random()
        if kind < 0.45:
            fid, p = rng.choice(seeded["open"]).split("|")
        elif kind < 0.8:
            fid, p = rng.choice(seeded["passes"]).split("|")
        else:
            fid, p = rng.choice(seeded["facilities"]), f"ZZZ{rng.randint(1, 999)}"
        targets.append((fid, p))
    for fid, p in targets[:20]:  # warm the function worker and the facility cache
        http.get(f"{base}/api/enforcement/check/{p}", params={"facility": fid}, timeout=10)
    latencies, reads = [], []
    for fid, p in targets:
        started = time.perf_counter()
        response = http.get(f"{base}/api/enforcement/check/{p}", params={"facility": fid})
        latencies.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        reads.append(int(response.headers.get("X-Firestore-Reads", "0")))
    print(
        f"check  n={len(latencies)}  p50={percentile(latencies, 50):.1f} ms  "
        f"p95={percentile(latencies, 95):.1f} ms  p99={percentile(latencies, 99):.1f} ms"
    )
    print(
        f"check  Firestore reads per check: mean={statistics.mean(reads):.2f} max={max(reads)}"
        " (key + skeleton index + plate + live look-alikes, by id; facility cached)"
    )

    url = f"{base}/api/enforcement/facility/{seeded['facilities'][0]}/paid-plates"
    counts, wl, wl_reads = [], [], []
    http.get(url, timeout=30)
    for _ in range(args.whitelist_runs):
        started = time.perf_counter()
        response = http.get(url, timeout=30)
        wl.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        counts.append(response.json()["count"])
        wl_reads.append(int(response.headers.get("X-Firestore-Reads", "0")))
    print(
        f"whitelist  plates={counts[-1]}  n={len(wl)}  p50={percentile(wl, 50):.1f} ms  "
        f"p95={percentile(wl, 95):.1f} ms  reads={max(wl_reads)}"
        " (key + the facility's whitelist shards, one batch get)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--facilities", type=int, default=20)
    parser.add_argument("--historical", type=int, default=100_000)
    parser.add_argument("--open", type=int, default=5_000)
    parser.add_argument("--passes", type=int, default=2_000)
    parser.add_argument("--checks", type=int, default=500)
    parser.add_argument("--whitelist-runs", type=int, default=40)
    args = parser.parse_args()
    service_env()
    started = time.perf_counter()
    progress = Progress(started)
    with triggers_paused():
        seeded = seed(args, progress)
    print(
        f"seeded {args.historical} historical + {args.open} open sessions, {args.passes} "
        f"passes, {args.facilities} facilities ({progress.done:,} documents) in "
        f"{time.perf_counter() - started:.0f} s"
    )
    measure(args, seeded)


if __name__ == "__main__":
    main()
