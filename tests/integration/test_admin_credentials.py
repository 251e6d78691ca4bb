"""API credentials at /admin/credentials, checked through the real webhook and enforcement
endpoints: issue (secret shown once, only its hash kept), scope and expiry, rotation with an
overlap, revocation answering 401 at once, last used at written at most every few minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import requests

from devstack import demo_data
from parkingdone import credentials
from parkingdone.models import operators
from tests.integration import access_support as a
from tests.integration import admin_support as support
from tests.integration import ingest_support as ingest


def entry(token: str, plate: str) -> requests.Response:
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
    return ingest.post(token, ingest.body("entry", at, plate=plate))


def check(hosting_url: str, key: str, facility: str = demo_data.FACILITY_ID) -> requests.Response:
    return requests.get(
        f"{hosting_url}/api/enforcement/check/ABC-123",
        params={"facility": facility},
        headers={"x-api-key": key},
        timeout=10,
    )


def issue(c, **form) -> tuple[str, str]:
    page = a.post(c, "/admin/credentials", **form)
    assert page.status_code == 200, page.get_data(as_text=True)[-600:]
    secret = a.shown(page.get_data(as_text=True), "data-secret")
    return secret, credentials.hash_secret(secret)


def stored(db, digest: str) -> dict:
    return db.collection("credentials").document(digest).get().to_dict()


def test_issued_webhook_token_works_once_shown_and_only_its_hash_is_kept(demo, db):
    admin = support.sign_in("admin")
    secret, digest = issue(admin, kind="webhook", label="Gate cameras")
    assert secret.startswith("pdw_")
    doc = stored(db, digest)
    assert doc["operatorId"] == demo_data.OPERATOR_ID
    assert doc["createdBy"] == demo_data.OPERATOR_ADMIN.uid
    assert secret not in str(doc)
    assert entry(secret, "CRD-001").status_code == 202
    listing = admin.get("/admin/credentials").get_data(as_text=True)
    assert "Gate cameras" in listing
    assert secret not in listing  # shown once, on the answer to the issue only
    entries = [e for e in db.collection("auditLog").get() if e.get("action").startswith("cred")]
    assert [e.get("action") for e in entries] == ["credential.issued.webhook"]
    assert secret not in str(entries[0].to_dict())


def test_enforcement_key_with_scope_and_expiry(demo, db, hosting_url):
    admin = support.sign_in("admin")
    # The form's date is a day in the operator's zone (the key works through it): picked in
    # UTC, it is a day too early between local and UTC midnight.
    zone = ZoneInfo(operators.get(db, demo_data.OPERATOR_ID).time_zone)
    tomorrow = (datetime.now(zone) + timedelta(days=2)).date().isoformat()
    key, digest = issue(
        admin,
        kind="enforcement",
        label="Officers",
        facility_ids=demo_data.FACILITY_ID,
        expires_on=tomorrow,
    )
    doc = stored(db, digest)
    assert doc["facilityIds"] == [demo_data.FACILITY_ID]
    assert doc["expiresAt"] > datetime.now(UTC) + timedelta(days=2)
    assert check(hosting_url, key).status_code == 200
    # The webhook refuses an enforcement key.
    assert entry(key, "CRD-002").status_code == 401
    # Scope outside the operator, a past expiry, a broken payload format: refused, none kept.
    before = len(credentials.of_operator(db, demo_data.OPERATOR_ID))
    foreign = a.post(
        admin, "/admin/credentials", kind="enforcement", label="x", facility_ids="other-p1"
    )
    assert foreign.status_code == 404
    past = a.post(admin, "/admin/credentials", kind="webhook", label="x", expires_on="2020-01-01")
    assert past.status_code == 400
    broken = a.post(admin, "/admin/credentials", kind="webhook", label="x", adapter='{"type": 1}')
    assert broken.status_code == 400
    assert len(credentials.of_operator(db, demo_data.OPERATOR_ID)) == before


def test_rotation_overlaps_then_revocation_is_immediate(demo, db):
    admin = support.sign_in("admin")
    old, old_hash = issue(admin, kind="webhook", label="Barrier")
    page = a.post(admin, f"/admin/credentials/{old_hash}/rotate", overlap_hours="2")
    assert page.status_code == 200
    new = a.shown(page.get_data(as_text=True), "data-secret")
    new_doc, old_doc = stored(db, credentials.hash_secret(new)), stored(db, old_hash)
    assert new_doc["label"] == "Barrier" and new_doc["rotatedFrom"] == old_hash
    assert old_doc["replacedBy"] == credentials.hash_secret(new)
    assert abs(old_doc["expiresAt"] - (datetime.now(UTC) + timedelta(hours=2))) < timedelta(
        minutes=1
    )
    # During the overlap both work.
    assert entry(old, "ROT-001").status_code == 202
    assert entry(new, "ROT-002").status_code == 202
    # A rotated credential is not rotated twice.
    assert a.post(admin, f"/admin/credentials/{old_hash}/rotate").status_code == 422
    # Revoked: 401 at the very next request.
    assert a.post(admin, f"/admin/credentials/{old_hash}/revoke").status_code == 303
    assert entry(old, "ROT-003").status_code == 401
    assert entry(new, "ROT-004").status_code == 202
    actions = [e for e in a.audit_actions(db, demo_data.OPERATOR_ID) if "credential" in e]
    assert actions == [
        "credential.revoked.webhook",
        "credential.rotated.webhook",
        "credential.issued.webhook",
    ]


def test_rotation_without_overlap_retires_the_old_secret_at_once(demo, db, hosting_url):
    admin = support.sign_in("admin")
    digest = credentials.hash_secret(demo_data.ENFORCEMENT_KEY)
    assert check(hosting_url, demo_data.ENFORCEMENT_KEY).status_code == 200
    page = a.post(admin, f"/admin/credentials/{digest}/rotate", overlap_hours="0")
    new = a.shown(page.get_data(as_text=True), "data-secret")
    assert check(hosting_url, demo_data.ENFORCEMENT_KEY).status_code == 401
    assert check(hosting_url, new).status_code == 200
    assert (
        a.post(admin, f"/admin/credentials/{credentials.hash_secret(new)}/revoke").status_code
        == 303
    )
    assert check(hosting_url, new).status_code == 401


def test_last_used_is_written_at_most_every_few_minutes(demo, db):
    admin = support.sign_in("admin")
    secret, digest = issue(admin, kind="webhook", label="Counting")
    assert stored(db, digest)["lastUsedAt"] is None
    assert entry(secret, "USE-001").status_code == 202
    first = stored(db, digest)["lastUsedAt"]
    assert first is not None
    for n in range(2, 5):
        assert entry(secret, f"USE-00{n}").status_code == 202
    assert stored(db, digest)["lastUsedAt"] == first  # no write per request
    assert (
        "Never"
        not in admin.get("/admin/credentials").get_data(as_text=True).split("Counting")[1][:600]
    )
    # Once the stored time is older than the interval, the next use writes again.
    db.collection("credentials").document(digest).update(
        {"lastUsedAt": datetime.now(UTC) - credentials.LAST_USED_INTERVAL - timedelta(seconds=5)}
    )
    assert entry(secret, "USE-009").status_code == 202
    assert stored(db, digest)["lastUsedAt"] > first


def test_another_operators_credentials_are_not_found(demo, db):
    other_hash = credentials.hash_secret(demo_data.OTHER_WEBHOOK_TOKEN)
    admin = support.sign_in("admin")
    assert demo_data.OTHER_WEBHOOK_TOKEN not in admin.get("/admin/credentials").get_data(
        as_text=True
    )
    assert "Other ANPR cameras" not in admin.get("/admin/credentials").get_data(as_text=True)
    assert a.post(admin, f"/admin/credentials/{other_hash}/revoke").status_code == 404
    assert a.post(admin, f"/admin/credentials/{other_hash}/rotate").status_code == 404
    assert a.post(admin, "/admin/credentials/not-a-hash/revoke").status_code == 404
    assert stored(db, other_hash)["revokedAt"] is None
    assert (
        ingest.post(
            demo_data.OTHER_WEBHOOK_TOKEN,
            ingest.body(
                "entry",
                datetime.now(UTC) - timedelta(minutes=2),
                plate="OTH-100",
                facility=demo_data.OTHER_FACILITY_ID,
            ),
        ).status_code
        == 202
    )
