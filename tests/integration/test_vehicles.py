"""Vehicles and the plate registry through the deployed callables: one account per plate."""

from __future__ import annotations

import threading

from parkingdone.accounts import vehicles
from parkingdone.callable_api import Caller
from parkingdone.errors import ApiError
from tests.support.services import call_callable


def register(uid: str | None, **data):
    return call_callable("registerVehicle", data, uid=uid)


def test_register_normalises_the_plate_and_records_the_owner(db) -> None:
    response = register("alice", plate="abc-123", country="FI", nickname="Golf")
    assert response.status_code == 200, response.text
    assert response.json()["result"] == {
        "plate": "ABC123",
        "plateRaw": "abc-123",
        "country": "FI",
        "status": "registered",
    }
    owner = db.document("plateOwners/ABC123").get().to_dict()
    assert (owner["uid"], owner["plateRaw"], owner["country"]) == ("alice", "abc-123", "FI")
    vehicle = db.document("users/alice/vehicles/ABC123").get().to_dict()
    assert vehicle["nickname"] == "Golf" and vehicle["plate"] == "ABC123"


def test_registering_again_is_harmless(db) -> None:
    assert register("alice", plate="ABC-123").status_code == 200
    again = register("alice", plate="ABC 123")
    assert again.json()["result"]["status"] == "already_registered"
    assert len(list(db.collection("users/alice/vehicles").stream())) == 1


def test_a_plate_held_by_another_account_is_refused_with_a_clear_message(db) -> None:
    assert register("alice", plate="ABC-123").status_code == 200
    response = register("bob", plate="abc 123")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["status"] == "ALREADY_EXISTS"
    assert "already registered to another account" in error["message"]
    assert db.document("plateOwners/ABC123").get().get("uid") == "alice"
    assert not db.document("users/bob/vehicles/ABC123").get().exists


def test_removing_frees_the_plate_for_another_account(db) -> None:
    register("alice", plate="ABC-123")
    removed = call_callable("removeVehicle", {"plate": "abc-123"}, uid="alice")
    assert removed.json()["result"] == {"plate": "ABC123", "removed": True}
    assert not db.document("plateOwners/ABC123").get().exists
    assert not db.document("users/alice/vehicles/ABC123").get().exists
    assert register("bob", plate="ABC-123").json()["result"]["status"] == "registered"
    # Removing twice is harmless.
    again = call_callable("removeVehicle", {"plate": "ABC123"}, uid="alice")
    assert again.json()["result"]["removed"] is False


def test_nobody_removes_another_accounts_plate(db) -> None:
    register("alice", plate="ABC-123")
    response = call_callable("removeVehicle", {"plate": "ABC-123"}, uid="bob")
    assert response.json()["result"]["removed"] is False
    assert db.document("plateOwners/ABC123").get().get("uid") == "alice"
    assert db.document("users/alice/vehicles/ABC123").get().exists


def test_bad_input_is_refused_and_nothing_is_written(db) -> None:
    cases = [
        ({"plate": "ABC/123"}, "Invalid plate"),
        ({"plate": ""}, "plate"),
        ({"plate": "ABC123", "country": "Finland"}, "country"),
        ({"plate": "ABC123", "owner": "bob"}, "owner"),
        ({}, "plate"),
    ]
    for data, needle in cases:
        response = call_callable("registerVehicle", data, uid="alice")
        assert response.status_code == 400, data
        error = response.json()["error"]
        assert error["status"] == "INVALID_ARGUMENT"
        assert needle in error["message"], (data, error)
    assert list(db.collection("plateOwners").stream()) == []


def test_signed_out_callers_are_refused(db) -> None:
    response = register(None, plate="ABC-123")
    assert response.status_code == 401
    assert response.json()["error"]["status"] == "UNAUTHENTICATED"
    assert not db.document("plateOwners/ABC123").get().exists


def test_an_account_holds_at_most_max_vehicles(db) -> None:
    for number in range(vehicles.MAX_VEHICLES):
        assert register("fleet", plate=f"CAR-{number}").status_code == 200
    response = register("fleet", plate="CAR-99")
    assert response.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert not db.document("plateOwners/CAR99").get().exists


def test_two_accounts_racing_for_one_plate_end_with_exactly_one_owner(db) -> None:
    outcomes: dict[str, str] = {}

    def attempt(uid: str) -> None:
        try:
            vehicles.register(db, Caller(uid), vehicles.RegisterVehicle(plate="RACE-1"))
            outcomes[uid] = "registered"
        except ApiError as exc:
            outcomes[uid] = exc.callable_status

    threads = [threading.Thread(target=attempt, args=(uid,)) for uid in ("r1", "r2", "r3")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [uid for uid, outcome in outcomes.items() if outcome == "registered"]
    assert len(winners) == 1, outcomes
    assert sorted(o for o in outcomes.values() if o != "registered") == ["already-exists"] * 2
    assert db.document("plateOwners/RACE1").get().get("uid") == winners[0]
    holders = [uid for uid in outcomes if db.document(f"users/{uid}/vehicles/RACE1").get().exists]
    assert holders == winners
