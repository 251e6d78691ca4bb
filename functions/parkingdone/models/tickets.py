"""tickets/{ticketId} and tickets/{ticketId}/messages/{messageId}: support conversations.

Two lines run on the same documents: `line == "driver"` (a driver asks the operator's staff)
and `line == "operator"` (an operator's staff ask ParkingDone, answered by super admins).
Functions write both (support/service.py); drivers and staff read them under the rules.
"""

from __future__ import annotations

from typing import Any, Literal

from google.cloud import firestore
from google.cloud.firestore import Client
from google.cloud.firestore_v1.base_query import FieldFilter
from pydantic import AwareDatetime, Field

from parkingdone.models.base import Document

COLLECTION = "tickets"
MESSAGES = "messages"

Line = Literal["driver", "operator"]
Status = Literal["open", "pending", "resolved", "closed"]
Priority = Literal["normal", "critical"]
Side = Literal["requester", "support"]


class TicketDoc(Document):
    operator_id: str
    line: Line = "driver"
    number: str
    seq: int
    status: Status = "open"
    priority: Priority = "normal"
    subject: str
    # The driver (driver line) or the staff member who opened it (operator line).
    uid: str | None = None
    opened_by: str | None = None
    email: str | None = None
    session_id: str | None = None
    plate: str | None = None
    assignee_uid: str | None = None
    assignee_email: str | None = None
    search_terms: list[str] = Field(default_factory=list)
    message_count: int = 0
    last_message_side: Side | None = None
    created_at: AwareDatetime
    updated_at: AwareDatetime | None = None
    # SLA: when the answer the requester waits for is due (None: nobody waits on support).
    waiting_since: AwareDatetime | None = None
    response_due_at: AwareDatetime | None = None
    first_response_due_at: AwareDatetime | None = None
    first_response_at: AwareDatetime | None = None
    first_response_seconds: int | None = None
    first_response_within_sla: bool | None = None
    sla_breached: bool = False
    breached_at: AwareDatetime | None = None
    resolved_at: AwareDatetime | None = None
    resolution_seconds: int | None = None
    closed_at: AwareDatetime | None = None
    reopened: int = 0


class MessageDoc(Document):
    side: Side
    # The author's uid; drivers see "support", never a staff member's address.
    from_: str | None = Field(default=None, alias="from")
    text: str
    created_at: AwareDatetime
    # Push to the driver for a support reply: pending -> sent | no_tokens | skipped | …
    push_status: str | None = None


def ref(db: Client, ticket_id: str) -> firestore.DocumentReference:
    return db.collection(COLLECTION).document(ticket_id)


def get(db: Client, ticket_id: str) -> TicketDoc | None:
    return TicketDoc.from_snapshot(ref(db, ticket_id).get())


def messages_of(db: Client, ticket_id: str, limit: int = 500) -> list[MessageDoc]:
    query = ref(db, ticket_id).collection(MESSAGES).order_by("createdAt").limit(limit)
    return [m for m in (MessageDoc.from_snapshot(s) for s in query.get()) if m is not None]


def of_driver_at_operator(
    db: Client, operator_id: str, uid: str, limit: int = 50
) -> list[TicketDoc]:
    """A driver's tickets at one operator, newest first (the customer profile reads this)."""
    query = (
        db.collection(COLLECTION)
        .where(filter=FieldFilter("operatorId", "==", operator_id))
        .where(filter=FieldFilter("uid", "==", uid))
        .order_by("createdAt", direction=firestore.Query.DESCENDING)
        .limit(limit)
    )
    return [t for t in (TicketDoc.from_snapshot(s) for s in query.get()) if t is not None]


def listing(
    db: Client,
    *,
    line: Line,
    operator_id: str | None,
    status: str | None = None,
    priority: str | None = None,
    terms: list[str] | None = None,
) -> firestore.Query:
    """The tickets of a line (of one operator, or of all for ParkingDone's queue), newest
    activity first; `terms`: tickets holding any of them (see support.rules.query_terms)."""
    query = db.collection(COLLECTION).where(filter=FieldFilter("line", "==", line))
    if operator_id:
        query = query.where(filter=FieldFilter("operatorId", "==", operator_id))
    if status:
        query = query.where(filter=FieldFilter("status", "==", status))
    if priority:
        query = query.where(filter=FieldFilter("priority", "==", priority))
    if terms:
        query = query.where(filter=FieldFilter("searchTerms", "array_contains_any", terms))
    return query.order_by("updatedAt", direction=firestore.Query.DESCENDING)


def from_snapshots(snapshots: Any) -> list[TicketDoc]:
    return [t for t in (TicketDoc.from_snapshot(s) for s in snapshots) if t is not None]
