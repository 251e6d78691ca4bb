"""What a seeded demo run really writes: every collection (and subcollection) is named in the
personal-data registry, so the export and deletion cannot miss one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import requests

from parkingdone import privacy
from tests.support.waiting import wait_for


def _collections(db) -> set[str]:
    names: set[str] = set()
    pending = list(db.collections())
    while pending:
        collection = pending.pop()
        names.add(collection.id)
        for ref in collection.list_documents(page_size=200):
            pending.extend(ref.collections())
    return names


def test_every_collection_of_a_demo_run_is_in_the_registry(db, demo, hosting_url) -> None:
    auth = {"Authorization": f"Bearer {demo.webhook_token}"}
    entry_at = datetime.now(UTC) - timedelta(hours=2)
    for kind, at in (("entry", entry_at), ("exit", entry_at + timedelta(minutes=95))):
        response = requests.post(
            f"{hosting_url}/webhook",
            json={
                "event": kind,
                "plate": "ABC-123",
                "facility_id": "kamppi-p1",
                "timestamp": at.isoformat(),
            },
            headers=auth,
            timeout=30,
        )
        assert response.status_code == 202, response.text
    wait_for(lambda: list(db.collection("pushes").limit(1).get()), 20, what="the entry push")

    written = _collections(db)

    assert {"sessions", "events", "plateStatus", "users", "pushes"} <= written
    missing = sorted(written - set(privacy.BY_NAME))
    assert not missing, f"collections without a personal-data rule in privacy.py: {missing}"
