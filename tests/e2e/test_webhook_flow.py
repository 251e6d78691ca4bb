"""End to end: camera → Hosting /webhook → webhook function → Firestore → evidence trigger."""

from datetime import UTC, datetime, timedelta

import requests
from firebase_admin import storage

from parkingdone import config, firebase
from tests.integration.evidence_server import JPEG, PNG, ImageServer
from tests.support.waiting import wait_for


def test_a_stay_from_camera_to_stored_evidence(db, demo, hosting_url) -> None:
    auth = {"Authorization": f"Bearer {demo.webhook_token}"}
    entry_at = datetime.now(UTC) - timedelta(hours=2)
    with ImageServer() as images:
        entry = requests.post(
            f"{hosting_url}/webhook",
            json={
                "event": "entry",
                "plate": "ABC-123",
                "facility_id": "Kamppi P1",
                "timestamp": entry_at.isoformat(),
                "image_url": images.add("/in.png", PNG),
            },
            headers=auth,
            timeout=30,
        )
        assert entry.status_code == 202, entry.text
        sid = entry.json()["sessionId"]
        exit_ = requests.post(
            f"{hosting_url}/webhook",
            json={
                "event": "exit",
                "plate": "abc 123",
                "facility_id": "kamppi-p1",
                "timestamp": (entry_at + timedelta(minutes=95)).isoformat(),
                "image_url": images.add("/out.jpg", JPEG, content_type="image/jpeg"),
            },
            headers=auth,
            timeout=30,
        )
        assert exit_.status_code == 202 and exit_.json()["sessionId"] == sid

        def both_images():
            items = db.collection("sessions").document(sid).get().get("evidence") or []
            stored = {i["kind"] for i in items if i.get("status") == "stored"}
            return items if stored == {"entry_image", "exit_image"} else None

        items = wait_for(both_images, timeout=30, what="both evidence images stored")
    session = db.collection("sessions").document(sid).get().to_dict()
    assert session["status"] == "closed" and session["driverUid"] == demo.driver_uid
    bucket = storage.bucket(config.evidence_bucket(), app=firebase.app())
    for item in items:
        path = item["storagePath"].split(f"gs://{bucket.name}/", 1)[1]
        assert bucket.blob(path).download_as_bytes() in (PNG, JPEG)
