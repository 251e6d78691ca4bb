"""Push tokens through the deployed callables: one document per device token."""

from __future__ import annotations

from parkingdone.notifications.sender import token_id
from tests.support.services import call_callable

TOKEN = "fcm-token-" + "x" * 40


def tokens_of(db, uid: str) -> list[dict]:
    return [d.to_dict() for d in db.collection(f"users/{uid}/pushTokens").stream()]


def test_register_stores_the_token_under_an_id_derived_from_it(db) -> None:
    response = call_callable(
        "registerPushToken", {"token": TOKEN, "platform": "android"}, uid="alice"
    )
    assert response.status_code == 200, response.text
    assert response.json()["result"] == {"tokenId": token_id(TOKEN), "movedFromOtherAccounts": 0}
    stored = db.document(f"users/alice/pushTokens/{token_id(TOKEN)}").get().to_dict()
    assert (stored["token"], stored["platform"]) == (TOKEN, "android")
    assert stored["updatedAt"] is not None


def test_registering_again_refreshes_the_same_document(db) -> None:
    for _ in range(2):
        call_callable("registerPushToken", {"token": TOKEN, "platform": "ios"}, uid="alice")
    assert len(tokens_of(db, "alice")) == 1


def test_a_device_signing_in_to_another_account_takes_its_token_along(db) -> None:
    call_callable("registerPushToken", {"token": TOKEN, "platform": "ios"}, uid="alice")
    response = call_callable("registerPushToken", {"token": TOKEN, "platform": "ios"}, uid="bob")
    assert response.json()["result"]["movedFromOtherAccounts"] == 1
    assert tokens_of(db, "alice") == []
    assert [t["token"] for t in tokens_of(db, "bob")] == [TOKEN]


def test_a_new_token_of_the_same_device_replaces_the_old_one(db) -> None:
    first = {"token": TOKEN, "platform": "android", "deviceId": "pixel-8"}
    second = {"token": TOKEN + "-rotated", "platform": "android", "deviceId": "pixel-8"}
    call_callable("registerPushToken", first, uid="alice")
    call_callable("registerPushToken", second, uid="alice")
    assert [t["token"] for t in tokens_of(db, "alice")] == [TOKEN + "-rotated"]


def test_each_device_keeps_its_own_token(db) -> None:
    call_callable("registerPushToken", {"token": TOKEN, "platform": "ios"}, uid="alice")
    call_callable("registerPushToken", {"token": TOKEN + "2", "platform": "android"}, uid="alice")
    assert sorted(t["platform"] for t in tokens_of(db, "alice")) == ["android", "ios"]


def test_remove_forgets_the_token_and_is_harmless_twice(db) -> None:
    call_callable("registerPushToken", {"token": TOKEN, "platform": "ios"}, uid="alice")
    first = call_callable("removePushToken", {"token": TOKEN}, uid="alice")
    second = call_callable("removePushToken", {"token": TOKEN}, uid="alice")
    assert first.json()["result"] == {"removed": True}
    assert second.json()["result"] == {"removed": False}
    assert tokens_of(db, "alice") == []


def test_bad_input_and_signed_out_callers_are_refused(db) -> None:
    bad = [
        {"token": TOKEN, "platform": "symbian"},
        {"token": "short", "platform": "ios"},
        {"platform": "ios"},
    ]
    for data in bad:
        response = call_callable("registerPushToken", data, uid="alice")
        assert response.json()["error"]["status"] == "INVALID_ARGUMENT", data
    anonymous = call_callable("registerPushToken", {"token": TOKEN, "platform": "ios"})
    assert anonymous.json()["error"]["status"] == "UNAUTHENTICATED"
    assert tokens_of(db, "alice") == []
