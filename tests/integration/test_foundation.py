"""The foundation: health through Hosting, the JSON error shape, the demo seed."""

from __future__ import annotations

import requests

from devstack import demo_data
from parkingdone import credentials


def test_health_answers_through_hosting_with_a_firestore_round_trip(hosting_url):
    response = requests.get(f"{hosting_url}/api/health", timeout=10)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["firestore"]["ok"] is True
    assert body["version"]


def test_unknown_api_route_is_a_json_404(hosting_url):
    response = requests.get(f"{hosting_url}/api/no-such-thing", timeout=10)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_demo_seed_is_idempotent_and_stores_only_hashed_secrets(db, demo):
    again = demo_data.seed(db)
    assert again.stripe_customer_id == demo.stripe_customer_id
    stored = [snap.id for snap in db.collection("credentials").stream()]
    # The demo's secrets, and the second tenant's webhook token (DESIGN.md's demo data).
    secrets = (demo.webhook_token, demo.enforcement_key, demo_data.OTHER_WEBHOOK_TOKEN)
    assert sorted(stored) == sorted(credentials.hash_secret(s) for s in secrets)
    for snap in db.collection("credentials").stream():
        for secret in secrets:
            assert secret not in str(snap.to_dict())
    assert db.collection("plateOwners").document("ABC123").get().get("uid") == demo.driver_uid


def test_demo_users_carry_their_roles(demo):
    from firebase_admin import auth

    from parkingdone.firebase import app

    admin = auth.get_user(demo.admin_uid, app=app())
    assert admin.custom_claims == {"role": "operator_admin", "operatorId": "demo-operator"}
    assert auth.get_user(demo.super_uid, app=app()).custom_claims == {"role": "super_admin"}
    assert auth.get_user_by_email(demo.driver_email, app=app()).uid == demo.driver_uid
