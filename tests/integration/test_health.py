"""/api/health: a Firestore round trip that writes nothing, and a quick 503 without Firestore."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import requests

from parkingdone import health

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, time
from parkingdone.api import app
client = app.test_client()
started = time.perf_counter()
response = client.get("/api/health")
elapsed = time.perf_counter() - started
print(json.dumps({"status": response.status_code, "body": response.get_json(), "seconds": elapsed}))
"""


def _closed_port() -> int:
    # A port nothing listens on: bind, read the number, close.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _documents(db) -> set[tuple[str, object]]:
    return {
        (doc.reference.path, doc.update_time)
        for collection in db.collections()
        for doc in collection.stream()
    }


def test_health_calls_write_nothing(db, hosting_url):
    # Anyone can call the health check, unauthenticated: it must never make us write. A
    # write by the check would show after every round of calls; a round can still meet a
    # late background write of an earlier test (a reminder task, a push), so one quiet
    # round out of three proves it.
    changes = []
    for _ in range(3):
        before = _documents(db)
        for _ in range(5):
            response = requests.get(f"{hosting_url}/api/health", timeout=10)
            assert response.status_code == 200
            assert response.json()["firestore"]["ok"] is True
        changed = _documents(db) ^ before
        if not changed:
            return
        changes.append(sorted(path for path, _ in changed))
    raise AssertionError(f"documents written during every round of health calls: {changes}")


def test_health_is_503_when_firestore_is_unreachable():
    env = {
        **os.environ,
        "FIRESTORE_EMULATOR_HOST": f"127.0.0.1:{_closed_port()}",
        "GCLOUD_PROJECT": "demo-parkingdone",
        "PYTHONPATH": str(ROOT / "functions"),
    }
    # A separate process: the Firestore client is one per process and must point elsewhere.
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["status"] == 503
    assert answer["body"]["status"] == "unavailable"
    assert answer["body"]["firestore"]["ok"] is False
    # Bounded by the check's own Firestore timeout (no retry deadline), with room for a
    # loaded machine; without the timeout the client would wait a minute or more.
    assert answer["seconds"] < health.FIRESTORE_TIMEOUT_SECONDS + 5
