"""Helpers of the data-lifecycle tests: paused triggers, Storage objects, months ago."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import requests

from devstack import stack
from parkingdone import archives, retention


@contextmanager
def triggers_paused() -> Iterator[None]:
    """Seeded stays must not wake the session trigger (charging, pushes): the sweep is a
    scheduled job and is tested on the data alone."""
    hub = f"http://127.0.0.1:{stack.ports()['hub']}/functions"
    requests.put(f"{hub}/disableBackgroundTriggers", timeout=120).raise_for_status()
    try:
        yield
    finally:
        requests.put(f"{hub}/enableBackgroundTriggers", timeout=120).raise_for_status()


def put_object(name: str, data: bytes = b"\xff\xd8\xff image") -> str:
    blob = archives.bucket().blob(name)
    blob.upload_from_string(data, content_type="image/jpeg")
    return f"gs://{blob.bucket.name}/{name}"


def object_exists(gs_path: str) -> bool:
    _, name = archives.split_gs(gs_path)
    return archives.bucket().blob(name).exists()


def months_ago(now: datetime, months: int) -> datetime:
    return retention.months_before(now, months)
