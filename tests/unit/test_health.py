"""/api/health answers 503, not a hang or a 500, when Firestore cannot be reached."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json
from parkingdone.api import app
response = app.test_client().get("/api/health")
print(json.dumps({"status": response.status_code, "body": response.get_json()}))
"""


def _closed_port() -> int:
    # A port nothing listens on: bind, read the number, close.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


def test_health_names_the_local_stack_under_the_emulators_only(monkeypatch):
    from parkingdone import health

    monkeypatch.setenv("PARKINGDONE_STACK_ID", "5eed")
    monkeypatch.setenv("FUNCTIONS_EMULATOR", "true")
    assert health._local_stack() == {"stack": "5eed"}
    # Deployed, the variable means nothing: the answer never carries it.
    monkeypatch.delenv("FUNCTIONS_EMULATOR")
    assert health._local_stack() == {}
