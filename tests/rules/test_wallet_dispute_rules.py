"""firestore.rules for wallets, wallet movements and disputes: the driver reads their own,
staff their operator's, another operator nothing, and no app writes any of them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.support import firestore_rest as rest
from tests.support.firestore_rest import Caller

ANON = Caller(None)
ALICE = Caller("alice")
BOB = Caller("bob")
STAFF_A = Caller("staff-a", role="operator_staff", operatorId="op-a")
ADMIN_A = Caller("admin-a", role="operator_admin", operatorId="op-a")
ADMIN_B = Caller("admin-b", role="operator_admin", operatorId="op-b")
SUPER = Caller("root", role="super_admin")
ALLOW, DENY = 200, 403
T = datetime(2026, 3, 30, 14, 23, tzinfo=UTC)

WORLD = {
    "wallets/op-a__alice": {"operatorId": "op-a", "uid": "alice", "balance": 500},
    "wallets/op-b__bob": {"operatorId": "op-b", "uid": "bob", "balance": 100},
    "walletMovements/topup_w1": {
        "operatorId": "op-a",
        "uid": "alice",
        "walletId": "op-a__alice",
        "kind": "topup",
        "amount": 500,
        "at": T,
    },
    "walletMovements/credit_c1": {
        "operatorId": "op-b",
        "uid": "bob",
        "walletId": "op-b__bob",
        "kind": "credit",
        "amount": 100,
        "at": T,
    },
    "disputes/d_s-alice": {"operatorId": "op-a", "uid": "alice", "status": "open"},
    "disputes/d_s-bob": {"operatorId": "op-b", "uid": "bob", "status": "open"},
}


@pytest.fixture(autouse=True)
def world(db) -> None:
    batch = db.batch()
    for path, data in WORLD.items():
        batch.set(db.document(path), data)
    batch.commit()


PATHS = ("wallets/op-a__alice", "walletMovements/topup_w1", "disputes/d_s-alice")


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("caller", "expected"),
    [
        (ANON, DENY),
        (ALICE, ALLOW),
        (BOB, DENY),
        (STAFF_A, ALLOW),
        (ADMIN_A, ALLOW),
        (ADMIN_B, DENY),
        (SUPER, ALLOW),
    ],
    ids=str,
)
def test_read(caller: Caller, expected: int, path: str) -> None:
    assert rest.get(caller, path) == expected, f"{caller} GET {path}"


@pytest.mark.parametrize("collection", ("wallets", "walletMovements", "disputes"))
def test_lists_need_the_owner_or_operator_filter(collection: str) -> None:
    assert rest.query(ALICE, collection, [("uid", "EQUAL", "alice")])[0] == ALLOW
    assert rest.query(ALICE, collection, [("uid", "EQUAL", "bob")])[0] == DENY
    assert rest.query(ALICE, collection, [])[0] == DENY
    status, docs = rest.query(STAFF_A, collection, [("operatorId", "EQUAL", "op-a")])
    assert (status, len(docs)) == (ALLOW, 1)
    assert rest.query(STAFF_A, collection, [("operatorId", "EQUAL", "op-b")])[0] == DENY
    assert rest.query(ADMIN_B, collection, [("operatorId", "EQUAL", "op-a")])[0] == DENY


@pytest.mark.parametrize("caller", (ALICE, STAFF_A, ADMIN_A, SUPER), ids=str)
def test_nobody_writes_what_functions_own(caller: Caller) -> None:
    assert rest.update(caller, "wallets/op-a__alice", {"balance": 999999}) == DENY
    assert rest.set_doc(caller, "wallets/op-a__new", {"uid": "alice", "balance": 1}) == DENY
    assert rest.set_doc(caller, "walletMovements/x", {"uid": "alice", "amount": 1}) == DENY
    assert rest.update(caller, "disputes/d_s-alice", {"status": "accepted"}) == DENY
    assert rest.set_doc(caller, "disputes/d_new", {"uid": "alice", "status": "open"}) == DENY
    assert rest.delete(caller, "disputes/d_s-alice") == DENY


def test_a_denied_write_changes_nothing(db) -> None:
    assert rest.update(ALICE, "wallets/op-a__alice", {"balance": 999999}) == DENY
    assert db.document("wallets/op-a__alice").get().get("balance") == 500
