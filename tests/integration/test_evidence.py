"""Evidence images: the trigger copies them into the bucket, failures land on the timeline."""

import pytest
from firebase_admin import storage

from parkingdone import config, firebase
from parkingdone.sessions import evidence
from tests.integration.evidence_server import JPEG, PNG, ImageServer
from tests.integration.ingest_support import T0, body, minutes, post
from tests.support.waiting import wait_for

pytestmark = pytest.mark.usefixtures("demo")


@pytest.fixture
def images():
    with ImageServer() as server:
        yield server


def evidence_of(db, session_id, count=1):
    def ready():
        items = db.collection("sessions").document(session_id).get().get("evidence") or []
        return items if len(items) >= count else None

    return wait_for(ready, timeout=20, what=f"{count} evidence item(s) on {session_id}")


def blob_bytes(path: str) -> bytes:
    bucket = storage.bucket(config.evidence_bucket(), app=firebase.app())
    return bucket.blob(path).download_as_bytes()


def test_entry_and_exit_images_are_copied_under_the_session(db, demo, images) -> None:
    entry_url = images.add("/cam/in.png", PNG)
    exit_url = images.add("/cam/out.jpg", JPEG, content_type="image/jpeg")
    sid = post(demo.webhook_token, body("entry", T0, image_url=entry_url)).json()["sessionId"]
    [item] = evidence_of(db, sid)
    assert item["kind"] == "entry_image" and item["status"] == "stored"
    assert item["contentType"] == "image/png" and item["bytes"] == len(PNG)
    path = f"evidence/{demo.operator_id}/{demo.facility_id}/{sid}/entry.png"
    assert item["storagePath"].endswith(path)
    assert blob_bytes(path) == PNG

    post(demo.webhook_token, body("exit", T0 + minutes(90), image_url=exit_url))
    items = evidence_of(db, sid, 2)
    assert [i["kind"] for i in items] == ["entry_image", "exit_image"]
    assert blob_bytes(f"evidence/{demo.operator_id}/{demo.facility_id}/{sid}/exit.jpg") == JPEG
    session = db.collection("sessions").document(sid).get().to_dict()
    assert session["status"] == "closed"


@pytest.mark.parametrize(
    ("path", "kwargs", "code", "retryable"),
    [
        ("/html", {"data": b"<html>", "content_type": "text/html"}, "bad_content_type", False),
        ("/liar.png", {"data": b"GIF89a....", "content_type": "image/png"}, "bad_content", False),
        ("/missing", {"data": b"", "status": 404}, "http_error", False),
        ("/busy", {"data": b"", "status": 503}, "http_error", True),
    ],
)
def test_a_failed_copy_is_on_the_timeline_and_leaves_the_session_alone(
    db, demo, images, path, kwargs, code, retryable
) -> None:
    url = images.add(path, **kwargs)
    sid = post(demo.webhook_token, body("entry", T0, image_url=url)).json()["sessionId"]
    [item] = evidence_of(db, sid)
    assert item["status"] == "failed" and item["error"] == code
    assert item["retryable"] is retryable
    session = db.collection("sessions").document(sid).get().to_dict()
    assert session["status"] == "open" and session["reviewRequired"] is False
    assert session["evidenceRetry"] is retryable


def test_private_and_link_local_targets_are_never_fetched(db, demo) -> None:
    # The metadata server and a private range: blocked even under the emulators.
    for url in ("http://169.254.169.254/computeMetadata/v1/x.png", "http://10.0.0.7/a.png"):
        with pytest.raises(evidence.EvidenceError) as err:
            evidence.check_target(url)
        assert err.value.code == "blocked_address"
    sid = post(
        demo.webhook_token,
        body("entry", T0, image_url="http://169.254.169.254/latest/meta-data/x.png"),
    ).json()["sessionId"]
    [item] = evidence_of(db, sid)
    assert item["error"] == "blocked_address" and item["retryable"] is False


def test_oversized_images_are_refused(db, demo, images) -> None:
    big = PNG + b"\x00" * (evidence.MAX_BYTES + 1)
    url = images.add("/big.png", big)
    sid = post(demo.webhook_token, body("entry", T0, image_url=url)).json()["sessionId"]
    [item] = evidence_of(db, sid)
    assert item["error"] == "too_large"


def test_the_sweep_retries_a_transient_failure(db, demo, images) -> None:
    from parkingdone.jobs import sessions_sweep

    url = images.add("/flaky.png", b"", status=503)
    sid = post(demo.webhook_token, body("entry", T0, image_url=url)).json()["sessionId"]
    [item] = evidence_of(db, sid)
    assert item["retryable"] is True
    images.add("/flaky.png", PNG)  # the camera server is back
    assert sessions_sweep.run(db).evidence_retried == 1
    session = db.collection("sessions").document(sid).get().to_dict()
    [item] = session["evidence"]
    assert item["status"] == "stored" and item["attempts"] == 2
    assert session["evidenceRetry"] is False
