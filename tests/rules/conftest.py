"""Rules tests check firestore.rules alone: the functions' triggers stay paused meanwhile.

Every test writes its fixture documents with the Admin client; with triggers running, each
write would also start enforcement, payment and push work whose transactions contend with
the next test's fixture writes.
"""

from __future__ import annotations

import os

import pytest
import requests

from devstack import stack


def _hub(action: str) -> None:
    hub = os.environ.get("FIREBASE_EMULATOR_HUB") or f"127.0.0.1:{stack.ports()['hub']}"
    requests.put(f"http://{hub}/functions/{action}", timeout=10).raise_for_status()


@pytest.fixture(scope="module", autouse=True)
def _background_triggers_paused(emulators):
    _hub("disableBackgroundTriggers")
    yield
    _hub("enableBackgroundTriggers")
