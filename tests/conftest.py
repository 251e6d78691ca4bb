"""Fixtures for every tier.

Unit tests (tests/unit) need nothing. Tests under tests/integration, tests/e2e and
tests/rules run inside `firebase emulators:exec` (see devstack/testrun.py) and get, for each
test, an empty Firestore, an empty Auth emulator and an empty FCM recorder.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import requests

from devstack import stack

EMULATOR_TIERS = {"integration", "e2e", "rules", "browser"}
TESTS_DIR = Path(__file__).parent


def _tier(item: pytest.Item) -> str:
    return Path(str(item.fspath)).relative_to(TESTS_DIR).parts[0]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _tier(item) in EMULATOR_TIERS:
            item.add_marker(pytest.mark.emulator)


def _require_emulators() -> None:
    if not os.environ.get("FIRESTORE_EMULATOR_HOST"):
        pytest.fail(
            "emulator tests run inside the emulator suite: "
            "`python -m devstack.testrun tests/integration/...` or `make test`"
        )


@pytest.fixture(scope="session")
def emulators() -> dict[str, str]:
    """The running emulator stack, once the functions really answer."""
    _require_emulators()
    # Side services' addresses for this process (firebase-tools sets only its own).
    for key, value in stack.service_env().items():
        os.environ.setdefault(key, value)
    os.environ.update(stack.local_secrets())
    stack.wait_for_functions()
    return stack.service_env()


def clear_firestore() -> None:
    host = os.environ["FIRESTORE_EMULATOR_HOST"]
    url = f"http://{host}/emulator/v1/projects/{stack.PROJECT_ID}/databases/(default)/documents"
    # A trigger of the previous test may still hold a transaction: the emulator answers 409.
    for _ in range(20):
        response = requests.delete(url, timeout=10)
        if response.status_code != 409:
            break
        time.sleep(0.25)
    response.raise_for_status()


def clear_auth() -> None:
    host = os.environ["FIREBASE_AUTH_EMULATOR_HOST"]
    url = f"http://{host}/emulator/v1/projects/{stack.PROJECT_ID}/accounts"
    requests.delete(url, timeout=10).raise_for_status()


@pytest.fixture(autouse=True)
def _clean_emulators(request: pytest.FixtureRequest) -> None:
    if _tier(request.node) not in EMULATOR_TIERS:
        return
    request.getfixturevalue("emulators")
    from parkingdone import tenants
    from tests.support.services import clear_fcm_messages

    clear_firestore()
    clear_auth()
    clear_fcm_messages()
    tenants.clear_cache()


@pytest.fixture
def db(emulators):
    from parkingdone.firebase import db as firestore_client

    return firestore_client()


@pytest.fixture
def demo(db):
    """The demo data, freshly seeded (same code as `make run` and emulator-data/)."""
    from devstack import demo_data

    return demo_data.seed(db)


@pytest.fixture
def hosting_url(emulators) -> str:
    return emulators["HOSTING_URL"]


@pytest.fixture
def functions_url(emulators) -> str:
    return emulators["FUNCTIONS_URL"]
