"""firestore.rules, case by case: who may read, list and write what, over REST as an app.

Every case seeds the same small world with the admin client (which bypasses rules), then
makes one request with an emulator ID token and asserts the emulator's verdict: 200 for
allowed, 403 for denied.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support import firestore_rest as rest
from tests.support.firestore_rest import Caller

ANON = Caller(None)
ALICE = Caller("alice")  # driver: owns plate ABC123 and session s-alice
BOB = Caller("bob")  # another driver
CAROL = Caller("carol", role="driver")  # a driver with an explicit driver role claim
STAFF_A = Caller("staff-a", role="operator_staff", operatorId="op-a")
ADMIN_A = Caller("admin-a", role="operator_admin", operatorId="op-a")
ADMIN_B = Caller("admin-b", role="operator_admin", operatorId="op-b")
SUPER = Caller("root", role="super_admin")
# An operator role without an operator is not staff of anything.
ROLE_NO_OPERATOR = Caller("mallory", role="operator_staff")
# Claims are set by functions only; a token claiming an operator via another field is not staff.
SPOOF = Caller("eve", operator="op-a", admin=True)

T = datetime(2026, 3, 30, 14, 23, tzinfo=UTC)

WORLD: dict[str, dict[str, Any]] = {
    "operators/op-a": {"name": "Operator A", "currency": "EUR"},
    "operators/op-b": {"name": "Operator B", "currency": "EUR"},
    "facilities/fac-a": {"operatorId": "op-a", "name": "Kamppi P1", "driverNotice": "Hi"},
    "passProducts/prod-a": {"operatorId": "op-a", "facilityId": "fac-a", "amount": 4900},
    "users/alice": {
        "email": "alice@example.test",
        "displayName": "Alice",
        "language": "en",
        "notificationPrefs": {"entry": True},
        "stripeCustomerId": "cus_alice",
        "createdAt": T,
    },
    "users/alice/vehicles/ABC123": {"plate": "ABC123", "plateRaw": "ABC-123", "country": "FI"},
    "users/alice/pushTokens/tok1": {"token": "fcm-token-1", "platform": "android"},
    "users/bob": {"email": "bob@example.test", "language": "fi", "createdAt": T},
    "users/bob/vehicles/XYZ789": {"plate": "XYZ789", "plateRaw": "XYZ-789", "country": "FI"},
    "users/bob/pushTokens/tok2": {"token": "fcm-token-2", "platform": "ios"},
    "plateOwners/ABC123": {"uid": "alice", "plate": "ABC123", "since": T},
    "plateOwners/XYZ789": {"uid": "bob", "plate": "XYZ789", "since": T},
    "sessions/s-alice": {"operatorId": "op-a", "facilityId": "fac-a", "driverUid": "alice"},
    "sessions/s-bob": {"operatorId": "op-a", "facilityId": "fac-a", "driverUid": "bob"},
    "sessions/s-opb": {"operatorId": "op-b", "facilityId": "fac-b", "driverUid": "bob"},
    "sessions/s-anon": {"operatorId": "op-a", "facilityId": "fac-a", "driverUid": None},
    "payments/p-alice": {
        "operatorId": "op-a",
        "uid": "alice",
        "amount": 300,
        "platformFee": 15,
        "operatorShare": 285,
        "providerAccountId": "acct_op_a",
    },
    "payments/p-bob": {"operatorId": "op-b", "uid": "bob", "amount": 600},
    "receipts/r-alice": {"operatorId": "op-a", "uid": "alice", "number": "R-1"},
    "receipts/r-bob": {"operatorId": "op-b", "uid": "bob", "number": "R-2"},
    "passes/pass-alice": {"operatorId": "op-a", "uid": "alice", "status": "active"},
    "passes/pass-bob": {"operatorId": "op-b", "uid": "bob", "status": "active"},
    "tickets/t-alice": {"operatorId": "op-a", "uid": "alice", "subject": "Help"},
    "tickets/t-alice/messages/m1": {"from": "alice", "text": "Hello"},
    "gdprRequests/g-alice": {"uid": "alice", "kind": "deletion", "status": "pending"},
    "gdprRequests/g-bob": {"uid": "bob", "kind": "deletion", "status": "pending"},
    "credentials/hash1": {"kind": "webhook", "operatorId": "op-a"},
    "events/e1": {"operatorId": "op-a", "plate": "ABC123"},
    "openSessions/fac-a__ABC123": {"operatorId": "op-a", "sessionId": "s-alice"},
    "stripeEvents/evt_1": {"type": "payment_intent.succeeded"},
    "enforcementChecks/c1": {"operatorId": "op-a", "plate": "ABC123"},
    "plateStatus/fac-a__ABC123": {"operatorId": "op-a", "plate": "ABC123"},
    "plateSkeletons/fac-a__A8C123": {"operatorId": "op-a", "plates": {"ABC123": 1}},
    "whitelistShards/fac-a__0": {"operatorId": "op-a", "facilityId": "fac-a", "plates": {}},
    "activityFeed/op-a__s00": {"operatorId": "op-a", "shard": 0, "items": []},
    "pushes/s-alice__entry": {"uid": "alice", "kind": "entry"},
    "roleChanges/rc1": {"operatorId": "op-a", "targetUid": "staff-a"},
    "roleChanges/rc2": {"operatorId": "op-b", "targetUid": "staff-b"},
    "staffMembers/staff-a": {"operatorId": "op-a", "role": "operator_staff"},
}


@pytest.fixture(autouse=True)
def world(db) -> None:
    batch = db.batch()
    for path, data in WORLD.items():
        batch.set(db.document(path), data)
    batch.commit()


ALLOW, DENY = 200, 403

READS = [
    # anonymous callers see nothing
    (ANON, "facilities/fac-a", DENY),
    (ANON, "sessions/s-alice", DENY),
    (ANON, "users/alice", DENY),
    (ANON, "passProducts/prod-a", DENY),
    # a driver: own data
    (ALICE, "users/alice", ALLOW),
    (ALICE, "users/alice/vehicles/ABC123", ALLOW),
    (ALICE, "users/alice/pushTokens/tok1", ALLOW),
    (ALICE, "plateOwners/ABC123", ALLOW),
    (ALICE, "sessions/s-alice", ALLOW),
    (ALICE, "payments/p-alice", DENY),  # the ledger is staff-only
    (ALICE, "receipts/r-alice", ALLOW),
    (ALICE, "passes/pass-alice", ALLOW),
    (ALICE, "tickets/t-alice", ALLOW),
    (ALICE, "tickets/t-alice/messages/m1", ALLOW),
    (ALICE, "gdprRequests/g-alice", ALLOW),
    (ALICE, "facilities/fac-a", ALLOW),
    (ALICE, "passProducts/prod-a", ALLOW),
    (CAROL, "facilities/fac-a", ALLOW),
    # a driver: someone else's data
    (ALICE, "users/bob", DENY),
    (ALICE, "users/bob/vehicles/XYZ789", DENY),
    (ALICE, "users/bob/pushTokens/tok2", DENY),
    (ALICE, "plateOwners/XYZ789", DENY),
    (ALICE, "sessions/s-bob", DENY),
    (ALICE, "sessions/s-anon", DENY),
    (ALICE, "payments/p-bob", DENY),
    (ALICE, "receipts/r-bob", DENY),
    (ALICE, "passes/pass-bob", DENY),
    (ALICE, "gdprRequests/g-bob", DENY),
    (CAROL, "sessions/s-alice", DENY),
    # a driver: back-office and server-only collections
    (ALICE, "operators/op-a", DENY),
    (ALICE, "credentials/hash1", DENY),
    (ALICE, "events/e1", DENY),
    (ALICE, "openSessions/fac-a__ABC123", DENY),
    (ALICE, "stripeEvents/evt_1", DENY),
    (ALICE, "enforcementChecks/c1", DENY),
    (ALICE, "plateStatus/fac-a__ABC123", DENY),
    (ALICE, "plateSkeletons/fac-a__A8C123", DENY),
    (ALICE, "whitelistShards/fac-a__0", DENY),
    (ALICE, "activityFeed/op-a__s00", DENY),
    (ALICE, "pushes/s-alice__entry", DENY),
    (ALICE, "roleChanges/rc1", DENY),
    # operator staff: their operator's data
    (STAFF_A, "operators/op-a", ALLOW),
    (STAFF_A, "sessions/s-alice", ALLOW),
    (STAFF_A, "sessions/s-anon", ALLOW),
    (STAFF_A, "payments/p-alice", ALLOW),
    (STAFF_A, "receipts/r-alice", ALLOW),
    (STAFF_A, "passes/pass-alice", ALLOW),
    (STAFF_A, "tickets/t-alice", ALLOW),
    (STAFF_A, "tickets/t-alice/messages/m1", ALLOW),
    (STAFF_A, "plateStatus/fac-a__ABC123", ALLOW),
    # operator staff: another operator's data, drivers' private data, secrets
    (STAFF_A, "operators/op-b", DENY),
    (STAFF_A, "sessions/s-opb", DENY),
    (STAFF_A, "payments/p-bob", DENY),
    (STAFF_A, "receipts/r-bob", DENY),
    (STAFF_A, "passes/pass-bob", DENY),
    (STAFF_A, "users/alice", DENY),
    (STAFF_A, "users/alice/pushTokens/tok1", DENY),
    (STAFF_A, "credentials/hash1", DENY),
    (STAFF_A, "events/e1", DENY),
    (STAFF_A, "enforcementChecks/c1", DENY),
    (STAFF_A, "plateSkeletons/fac-a__A8C123", DENY),
    (STAFF_A, "whitelistShards/fac-a__0", DENY),
    (STAFF_A, "activityFeed/op-a__s00", DENY),  # the dashboard reads it server-side
    (STAFF_A, "roleChanges/rc1", DENY),
    (ADMIN_A, "roleChanges/rc1", ALLOW),
    (ADMIN_A, "roleChanges/rc2", DENY),
    (STAFF_A, "staffMembers/staff-a", DENY),
    (ADMIN_A, "staffMembers/staff-a", ALLOW),
    (ADMIN_B, "staffMembers/staff-a", DENY),
    (ALICE, "staffMembers/staff-a", DENY),
    (ADMIN_B, "sessions/s-opb", ALLOW),
    (ADMIN_B, "sessions/s-alice", DENY),
    (ROLE_NO_OPERATOR, "sessions/s-alice", DENY),
    (ROLE_NO_OPERATOR, "operators/op-a", DENY),
    (SPOOF, "sessions/s-alice", DENY),
    (SPOOF, "operators/op-a", DENY),
    # super admin: everything except secrets and raw provider payloads
    (SUPER, "operators/op-b", ALLOW),
    (SUPER, "sessions/s-opb", ALLOW),
    (SUPER, "payments/p-bob", ALLOW),
    (SUPER, "users/bob", ALLOW),
    (SUPER, "plateOwners/XYZ789", ALLOW),
    (SUPER, "gdprRequests/g-bob", ALLOW),
    (SUPER, "roleChanges/rc2", ALLOW),
    (SUPER, "credentials/hash1", DENY),
    (SUPER, "events/e1", DENY),
    (SUPER, "stripeEvents/evt_1", DENY),
    (SUPER, "enforcementChecks/c1", DENY),
    (SUPER, "plateSkeletons/fac-a__A8C123", DENY),
    (SUPER, "whitelistShards/fac-a__0", DENY),
    (SUPER, "activityFeed/op-a__s00", DENY),
    (SUPER, "users/bob/pushTokens/tok2", DENY),
]


@pytest.mark.parametrize(("caller", "path", "expected"), READS, ids=lambda v: str(v))
def test_get(caller: Caller, path: str, expected: int) -> None:
    assert rest.get(caller, path) == expected, f"{caller} GET {path}"


QUERIES = [
    # lists are allowed only when the query itself proves every result is readable
    (ALICE, "sessions", [("driverUid", "EQUAL", "alice")], ALLOW, 1),
    (ALICE, "sessions", [], DENY, 0),
    (ALICE, "sessions", [("driverUid", "EQUAL", "bob")], DENY, 0),
    (ALICE, "sessions", [("operatorId", "EQUAL", "op-a")], DENY, 0),
    (ALICE, "payments", [("uid", "EQUAL", "alice")], DENY, 0),  # staff-only ledger
    (ALICE, "payments", [], DENY, 0),
    (ALICE, "receipts", [("uid", "EQUAL", "alice")], ALLOW, 1),
    (ALICE, "passes", [("uid", "EQUAL", "alice")], ALLOW, 1),
    (ALICE, "passes", [("uid", "EQUAL", "bob")], DENY, 0),
    (ALICE, "tickets", [("uid", "EQUAL", "alice")], ALLOW, 1),
    (ALICE, "plateOwners", [("uid", "EQUAL", "alice")], ALLOW, 1),
    (ALICE, "plateOwners", [], DENY, 0),
    (ALICE, "gdprRequests", [("uid", "EQUAL", "alice")], ALLOW, 1),
    (ALICE, "facilities", [], ALLOW, 1),
    (ANON, "facilities", [], DENY, 0),
    (STAFF_A, "sessions", [("operatorId", "EQUAL", "op-a")], ALLOW, 3),
    (STAFF_A, "sessions", [("operatorId", "EQUAL", "op-b")], DENY, 0),
    (STAFF_A, "sessions", [], DENY, 0),
    (STAFF_A, "payments", [("operatorId", "EQUAL", "op-a")], ALLOW, 1),
    (STAFF_A, "credentials", [("operatorId", "EQUAL", "op-a")], DENY, 0),
    (STAFF_A, "events", [("operatorId", "EQUAL", "op-a")], DENY, 0),
    (SUPER, "sessions", [], ALLOW, 4),
    (SUPER, "credentials", [], DENY, 0),
]


@pytest.mark.parametrize(
    ("caller", "collection", "where", "expected", "count"), QUERIES, ids=lambda v: str(v)
)
def test_list(caller: Caller, collection: str, where: list, expected: int, count: int) -> None:
    status, documents = rest.query(caller, collection, where)
    assert status == expected, f"{caller} list {collection} {where}"
    assert len(documents) == count


def test_list_own_subcollections() -> None:
    assert rest.query(ALICE, "vehicles", parent="users/alice")[0] == ALLOW
    assert rest.query(ALICE, "pushTokens", parent="users/alice")[0] == ALLOW
    assert rest.query(ALICE, "vehicles", parent="users/bob")[0] == DENY
    assert rest.query(BOB, "pushTokens", parent="users/alice")[0] == DENY


WRITES = [
    # the profile fields a driver may change
    (ALICE, "update", "users/alice", {"displayName": "Alice B"}, ALLOW),
    (ALICE, "update", "users/alice", {"language": "fi"}, ALLOW),
    (
        ALICE,
        "update",
        "users/alice",
        {"notificationPrefs": {"entry": False, "payments": True}},
        ALLOW,
    ),
    # everything else is refused
    (ALICE, "update", "users/alice", {"language": "sv"}, DENY),
    (ALICE, "update", "users/alice", {"displayName": "x" * 81}, DENY),
    (ALICE, "update", "users/alice", {"notificationPrefs": {"entry": "yes"}}, DENY),
    (ALICE, "update", "users/alice", {"notificationPrefs": {"unknown": True}}, DENY),
    (ALICE, "update", "users/alice", {"stripeCustomerId": "cus_evil"}, DENY),
    (ALICE, "update", "users/alice", {"email": "other@example.test"}, DENY),
    (ALICE, "update", "users/alice", {"displayName": "A", "role": "super_admin"}, DENY),
    (BOB, "update", "users/alice", {"displayName": "Hacked"}, DENY),
    (ANON, "update", "users/alice", {"displayName": "Hacked"}, DENY),
    (SUPER, "update", "users/alice", {"displayName": "Admin edit"}, DENY),
    (ALICE, "delete", "users/alice", None, DENY),
    # vehicles, plates and push tokens go through callables
    (ALICE, "set", "users/alice/vehicles/XYZ789", {"plate": "XYZ789"}, DENY),
    (ALICE, "set", "plateOwners/NEW1", {"uid": "alice", "plate": "NEW1"}, DENY),
    (ALICE, "set", "users/alice/pushTokens/tok9", {"token": "t", "platform": "ios"}, DENY),
    (ALICE, "delete", "plateOwners/XYZ789", None, DENY),
    # money, sessions, passes, credentials: functions only, whoever asks
    (ALICE, "update", "sessions/s-alice", {"driverUid": "bob"}, DENY),
    (ALICE, "set", "sessions/s-new", {"operatorId": "op-a", "driverUid": "alice"}, DENY),
    (ALICE, "update", "payments/p-alice", {"amount": 0}, DENY),
    (ALICE, "set", "passes/pass-new", {"operatorId": "op-a", "uid": "alice"}, DENY),
    (ALICE, "set", "receipts/r-new", {"operatorId": "op-a", "uid": "alice"}, DENY),
    (ALICE, "set", "gdprRequests/g-new", {"uid": "alice", "kind": "deletion"}, DENY),
    (STAFF_A, "update", "sessions/s-alice", {"status": "closed"}, DENY),
    (ADMIN_A, "update", "facilities/fac-a", {"driverNotice": "changed"}, DENY),
    (ADMIN_A, "set", "credentials/hash2", {"kind": "webhook", "operatorId": "op-a"}, DENY),
    (SUPER, "set", "payments/p-new", {"operatorId": "op-a", "uid": "alice"}, DENY),
    (SUPER, "update", "operators/op-a", {"platformFeeBps": 0}, DENY),
    (SUPER, "delete", "sessions/s-alice", None, DENY),
    (ADMIN_A, "set", "staffMembers/new", {"operatorId": "op-a", "role": "operator_admin"}, DENY),
]


@pytest.mark.parametrize(("caller", "op", "path", "data", "expected"), WRITES, ids=lambda v: str(v))
def test_write(caller: Caller, op: str, path: str, data: dict | None, expected: int) -> None:
    if op == "update":
        status = rest.update(caller, path, data or {})
    elif op == "set":
        status = rest.set_doc(caller, path, data or {})
    else:
        status = rest.delete(caller, path)
    assert status == expected, f"{caller} {op} {path} {data}"


def test_allowed_profile_update_is_stored(db) -> None:
    assert rest.update(ALICE, "users/alice", {"language": "fi"}) == ALLOW
    stored = db.document("users/alice").get().to_dict()
    assert stored["language"] == "fi"
    assert stored["stripeCustomerId"] == "cus_alice"


def test_denied_write_leaves_document_unchanged(db) -> None:
    assert rest.update(ALICE, "users/alice", {"stripeCustomerId": "cus_evil"}) == DENY
    assert db.document("users/alice").get().get("stripeCustomerId") == "cus_alice"


def test_driver_creates_own_profile_with_app_fields_only() -> None:
    profile = {"displayName": "Dana", "language": "fi", "notificationPrefs": {"entry": True}}
    assert rest.create(Caller("dana"), "users/dana", profile, server_time=("createdAt",)) == ALLOW
    assert rest.create(Caller("erin"), "users/dana2", profile, server_time=("createdAt",)) == DENY
    assert (
        rest.create(Caller("finn"), "users/finn", {**profile, "stripeCustomerId": "cus_x"}) == DENY
    )
    # A backdated createdAt is not the request time.
    assert rest.create(Caller("gus"), "users/gus", {**profile, "createdAt": T}) == DENY
