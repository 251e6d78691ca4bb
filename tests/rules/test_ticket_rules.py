"""Support tickets under firestore.rules: a driver reads their own tickets and messages,
staff their operator's (both lines), super admins all, another operator nothing; nobody
writes tickets, messages or counters (functions own them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

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
ROLE_NO_OPERATOR = Caller("mallory", role="operator_staff")

T = datetime(2026, 3, 30, 14, 23, tzinfo=UTC)

WORLD: dict[str, dict[str, Any]] = {
    "tickets/t-alice": {
        "operatorId": "op-a",
        "line": "driver",
        "uid": "alice",
        "number": "A-T-000001",
        "status": "open",
        "createdAt": T,
    },
    "tickets/t-alice/messages/m000001": {"side": "requester", "from": "alice", "text": "Hi"},
    "tickets/t-alice/messages/m000002": {"side": "support", "from": "staff-a", "text": "Yes?"},
    "tickets/t-bob-b": {"operatorId": "op-b", "line": "driver", "uid": "bob", "status": "open"},
    "tickets/t-bob-b/messages/m000001": {"side": "requester", "from": "bob", "text": "Hello"},
    "tickets/t-line-a": {"operatorId": "op-a", "line": "operator", "uid": None, "status": "open"},
    "tickets/t-line-a/messages/m000001": {"side": "requester", "from": "staff-a", "text": "Down"},
    "ticketCounters/op-a": {"operatorId": "op-a", "driver": 1, "operator": 1},
}


@pytest.fixture(autouse=True)
def world(db) -> None:
    batch = db.batch()
    for path, data in WORLD.items():
        batch.set(db.document(path), data)
    batch.commit()


ALLOW, DENY = 200, 403

READS = [
    (ALICE, "tickets/t-alice", ALLOW),
    (ALICE, "tickets/t-alice/messages/m000002", ALLOW),
    (ALICE, "tickets/t-bob-b", DENY),
    (ALICE, "tickets/t-bob-b/messages/m000001", DENY),
    (ALICE, "tickets/t-line-a", DENY),
    (ALICE, "tickets/t-line-a/messages/m000001", DENY),
    (ALICE, "ticketCounters/op-a", DENY),
    (BOB, "tickets/t-alice", DENY),
    (BOB, "tickets/t-alice/messages/m000001", DENY),
    (ANON, "tickets/t-alice", DENY),
    (ANON, "tickets/t-alice/messages/m000001", DENY),
    (STAFF_A, "tickets/t-alice", ALLOW),
    (STAFF_A, "tickets/t-alice/messages/m000001", ALLOW),
    (STAFF_A, "tickets/t-line-a", ALLOW),
    (STAFF_A, "tickets/t-line-a/messages/m000001", ALLOW),
    (STAFF_A, "tickets/t-bob-b", DENY),
    (STAFF_A, "tickets/t-bob-b/messages/m000001", DENY),
    (STAFF_A, "ticketCounters/op-a", DENY),
    (ADMIN_B, "tickets/t-alice", DENY),
    (ADMIN_B, "tickets/t-alice/messages/m000001", DENY),
    (ADMIN_B, "tickets/t-line-a", DENY),
    (ADMIN_B, "tickets/t-bob-b", ALLOW),
    (ROLE_NO_OPERATOR, "tickets/t-alice", DENY),
    (SUPER, "tickets/t-bob-b", ALLOW),
    (SUPER, "tickets/t-line-a/messages/m000001", ALLOW),
    (SUPER, "ticketCounters/op-a", DENY),
]


@pytest.mark.parametrize(("caller", "path", "expected"), READS, ids=lambda v: str(v))
def test_get(caller: Caller, path: str, expected: int) -> None:
    assert rest.get(caller, path) == expected, f"{caller} GET {path}"


QUERIES = [
    (ALICE, "tickets", [("uid", "EQUAL", "alice")], ALLOW, 1),
    (ALICE, "tickets", [], DENY, 0),
    (ALICE, "tickets", [("operatorId", "EQUAL", "op-a")], DENY, 0),
    (BOB, "tickets", [("uid", "EQUAL", "alice")], DENY, 0),
    (STAFF_A, "tickets", [("operatorId", "EQUAL", "op-a")], ALLOW, 2),
    (STAFF_A, "tickets", [("operatorId", "EQUAL", "op-b")], DENY, 0),
    (STAFF_A, "tickets", [], DENY, 0),
    (ADMIN_B, "tickets", [("operatorId", "EQUAL", "op-b")], ALLOW, 1),
    (SUPER, "tickets", [("line", "EQUAL", "operator")], ALLOW, 1),
    (STAFF_A, "ticketCounters", [], DENY, 0),
]


@pytest.mark.parametrize(
    ("caller", "collection", "where", "expected", "count"), QUERIES, ids=lambda v: str(v)
)
def test_list(caller: Caller, collection: str, where: list, expected: int, count: int) -> None:
    status, documents = rest.query(caller, collection, where)
    assert status == expected, f"{caller} list {collection} {where}"
    assert len(documents) == count


def test_messages_are_listed_by_the_tickets_readers_only() -> None:
    status, messages = rest.query(ALICE, "messages", parent="tickets/t-alice")
    assert (status, len(messages)) == (ALLOW, 2)
    assert rest.query(STAFF_A, "messages", parent="tickets/t-alice")[0] == ALLOW
    assert rest.query(BOB, "messages", parent="tickets/t-alice")[0] == DENY
    assert rest.query(ADMIN_B, "messages", parent="tickets/t-alice")[0] == DENY
    assert rest.query(ALICE, "messages", parent="tickets/t-line-a")[0] == DENY


WRITES = [
    # tickets: opened, numbered and moved by functions only
    (ALICE, "set", "tickets/t-new", {"operatorId": "op-a", "uid": "alice", "subject": "x"}),
    (ALICE, "update", "tickets/t-alice", {"status": "closed"}),
    (ALICE, "update", "tickets/t-alice", {"priority": "critical"}),
    (ALICE, "delete", "tickets/t-alice", None),
    # messages: through the sendTicketMessage callable (status, SLA and pushes server-side)
    (ALICE, "set", "tickets/t-alice/messages/m9", {"side": "requester", "from": "alice"}),
    (ALICE, "update", "tickets/t-alice/messages/m000002", {"text": "edited"}),
    (ALICE, "delete", "tickets/t-alice/messages/m000002", None),
    (BOB, "set", "tickets/t-alice/messages/m9", {"side": "requester", "from": "bob"}),
    (STAFF_A, "set", "tickets/t-alice/messages/m9", {"side": "support", "from": "staff-a"}),
    (STAFF_A, "update", "tickets/t-alice", {"status": "resolved"}),
    (ADMIN_A, "update", "tickets/t-alice", {"assigneeUid": "admin-a"}),
    (ADMIN_A, "set", "tickets/t-line-new", {"operatorId": "op-a", "line": "operator"}),
    (SUPER, "update", "tickets/t-line-a", {"status": "resolved"}),
    (SUPER, "delete", "tickets/t-bob-b", None),
    # the counter: no gaps only if nobody but the transaction touches it
    (ADMIN_A, "update", "ticketCounters/op-a", {"driver": 0}),
    (SUPER, "set", "ticketCounters/op-b", {"driver": 41}),
    (ANON, "set", "tickets/t-anon", {"subject": "spam"}),
]


@pytest.mark.parametrize(("caller", "op", "path", "data"), WRITES, ids=lambda v: str(v))
def test_nobody_writes_what_functions_own(
    caller: Caller, op: str, path: str, data: dict | None
) -> None:
    if op == "update":
        status = rest.update(caller, path, data or {})
    elif op == "set":
        status = rest.set_doc(caller, path, data or {})
    else:
        status = rest.delete(caller, path)
    assert status == DENY, f"{caller} {op} {path} {data}"
