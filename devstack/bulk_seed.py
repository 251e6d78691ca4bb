"""What the benchmarks that seed Firestore share: bulk writers at an emulator-sized rate, a
progress count, background triggers paused while seeding, percentiles."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests

from devstack import stack

# The client's default of 500 writes/s (Firestore's ramp-up rule for a new collection) is for
# production; the emulator takes far more.
EMULATOR_OPS_PER_SECOND = 20_000
PROGRESS_EVERY = 10_000


class Progress:
    """Counts documents written by the bulk writers; prints every PROGRESS_EVERY."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.done = 0
        self.lock = threading.Lock()

    def written(self, *_: object) -> None:
        with self.lock:
            self.done += 1
            if self.done % PROGRESS_EVERY == 0:
                elapsed = time.perf_counter() - self.started
                print(f"  seeded {self.done:,} documents ({elapsed:.0f} s)", flush=True)


def writer(client: Any, progress: Progress) -> Any:
    """A bulk writer at the emulator's pace that counts what it wrote."""
    from google.cloud.firestore_v1.bulk_writer import BulkWriterOptions

    bulk = client.bulk_writer(
        options=BulkWriterOptions(
            initial_ops_per_second=EMULATOR_OPS_PER_SECOND,
            max_ops_per_second=EMULATOR_OPS_PER_SECOND,
        )
    )
    bulk.on_write_result(progress.written)
    return bulk


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _hub(path: str) -> None:
    port = stack.ports()["hub"]
    # A busy machine can hold the hub for a while after a bulk seed.
    requests.put(f"http://127.0.0.1:{port}/functions/{path}", timeout=120).raise_for_status()


@contextmanager
def triggers_paused() -> Iterator[None]:
    """Seeding 100,000 documents must not fire 100,000 trigger runs."""
    _hub("disableBackgroundTriggers")
    try:
        yield
    finally:
        _hub("enableBackgroundTriggers")


def service_env() -> None:
    """Point the Firebase clients at the running emulators."""
    import os

    for key, value in stack.service_env().items():
        os.environ.setdefault(key, value)


def facilities(client: Any, operator_id: str, count: int, capacity: int | None = None) -> dict:
    """`count` facilities of the operator with the demo tariff (ids bench-f00, bench-f01, ...):
    their tenants.Facility by id."""
    from parkingdone import tariffs, tenants

    versions = [v.model_dump(by_alias=True, mode="json") for v in tariffs.demo_tariff().versions]
    made = {}
    for i in range(count):
        fid = f"bench-f{i:02d}"
        facility = tenants.Facility(
            id=fid,
            operator_id=operator_id,
            name=f"Bench {fid}",
            name_key=f"bench {fid}",
            tariffs=versions,
        )
        body = facility.model_dump(by_alias=True, exclude={"id"})
        if capacity is not None:
            body["capacity"] = capacity
        client.collection("facilities").document(fid).set(body)
        made[fid] = facility
    return made
