"""Support tickets: the one code path for every caller (driver callables, the dashboard, the
sweep). Opening a ticket allocates its number in the same transaction as the ticket;
messages move the status and the SLA clock; a support reply on the driver line pushes to the
driver through the notifications sender.

Who may do what is decided here, from the caller's claims (callable_api.Caller):
- driver line: the requester is the driver (ticket.uid); support is the operator's staff
  (and super admins);
- operator line: the requester is any staff member of the operator; support is ParkingDone
  (super admins).
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from firebase_admin import auth
from firebase_functions import logger
from google.api_core import exceptions as google_exceptions
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter
from pydantic import Field, field_validator

from parkingdone import errors, firebase, settings
from parkingdone.callable_api import Caller, Input
from parkingdone.ids import DocumentId
from parkingdone.models import operators, sessions, ticket_counters, tickets
from parkingdone.models.tickets import TicketDoc
from parkingdone.support import rules

# Transactions on one operator's counter retry under contention (many tickets at once)
# after a growing random pause: immediate retries collide again (measured on the emulator:
# 30 tickets from 8 concurrent callers in ~20 s with pauses, failures without).
TRANSACTION_ATTEMPTS = 1
CONTENDED_ROUNDS = 15
PUSH_KIND = "support_reply"
STAFF_ROLES = ("operator_admin", "operator_staff")


class OpenTicket(Input):
    subject: str = Field(min_length=1, max_length=rules.MAX_SUBJECT)
    text: str = Field(min_length=1, max_length=rules.MAX_TEXT)
    # What the ticket is about: one of the driver's stays, or else the operator asked.
    session_id: DocumentId | None = None
    operator_id: DocumentId | None = None
    priority: Literal["normal", "critical"] = "normal"
    # A retried open (same requestId) finds the ticket it made instead of a second one.
    request_id: str | None = Field(default=None, min_length=8, max_length=100)


class SendMessage(Input):
    ticket_id: DocumentId
    text: str = Field(min_length=1, max_length=rules.MAX_TEXT)
    # A retried send (same messageId) adds nothing the second time.
    message_id: DocumentId | None = None

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the message is empty")
        return value


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _is_staff_of(caller: Caller, operator_id: str) -> bool:
    return caller.role in STAFF_ROLES and caller.operator_id == operator_id


def side_of(caller: Caller, ticket: TicketDoc) -> str | None:
    """ "support", "requester" or None (no business with this ticket)."""
    if ticket.line == "driver":
        if caller.role == "super_admin" or _is_staff_of(caller, ticket.operator_id):
            return "support"
        return "requester" if caller.uid == ticket.uid else None
    if caller.role == "super_admin":
        return "support"
    return "requester" if _is_staff_of(caller, ticket.operator_id) else None


def _ticket_for(db: firestore.Client, caller: Caller, ticket_id: str) -> TicketDoc:
    ticket = tickets.get(db, ticket_id)
    if ticket is None or side_of(caller, ticket) is None:
        # Another's ticket is as unknown as a missing one.
        raise errors.not_found("No such ticket", "ticket_not_found")
    return ticket


def _sla_of(db: firestore.Client, operator_id: str) -> dict[str, Any] | None:
    snapshot = db.collection(operators.COLLECTION).document(operator_id).get()
    sla = (snapshot.to_dict() or {}).get("supportSla") if snapshot.exists else None
    return sla if isinstance(sla, dict) else None


def _target(db: firestore.Client, ticket: TicketDoc | dict[str, Any]) -> timedelta:
    line = ticket.line if isinstance(ticket, TicketDoc) else ticket["line"]
    priority = ticket.priority if isinstance(ticket, TicketDoc) else ticket["priority"]
    operator_id = ticket.operator_id if isinstance(ticket, TicketDoc) else ticket["operatorId"]
    sla = _sla_of(db, operator_id) if line == "driver" else None
    return rules.first_response_target(priority, line, sla)


def _transact(db: firestore.Client, work: Callable[[firestore.Transaction], Any]) -> Any:
    """Run a @transactional function, backing off while others hold the same documents."""
    for round_ in range(CONTENDED_ROUNDS):
        try:
            return work(db.transaction(max_attempts=TRANSACTION_ATTEMPTS))
        except (google_exceptions.Aborted, ValueError) as exc:
            contended = isinstance(exc, google_exceptions.Aborted) or str(exc).startswith(
                "Failed to commit transaction"
            )
            if not contended:
                raise
            time.sleep(random.SystemRandom().uniform(0.05, min(3.0, 0.2 * 2**round_)))
    raise errors.unavailable("Too many changes at once; try again shortly", "busy")


def _refuse_rule(error: rules.RuleError) -> errors.ApiError:
    return errors.conflict(str(error), error.code)


# --- opening ----------------------------------------------------------------------------------


def open_ticket(
    db: firestore.Client,
    caller: Caller,
    request: OpenTicket,
    line: Literal["driver", "operator"] = "driver",
    now: datetime | None = None,
) -> dict[str, Any]:
    """Open a ticket with its first message; its number is the operator's next one."""
    at = _now(now)
    plate = None
    if line == "driver":
        operator_id, plate = _driver_ticket_scope(db, caller, request)
        priority = "normal"  # drivers do not set priority; support raises it
    else:
        operator_id = request.operator_id or caller.operator_id or ""
        if not _is_staff_of(caller, operator_id):
            raise errors.forbidden("Only the operator's staff open tickets to ParkingDone")
        priority = request.priority
    operator = operators.get(db, operator_id)
    if operator is None:
        raise errors.not_found("No such operator", "operator_not_found")
    due = at + rules.first_response_target(
        priority, line, _sla_of(db, operator_id) if line == "driver" else None
    )
    ticket_ref = (
        tickets.ref(db, _request_ticket_id(caller.uid, request.request_id))
        if request.request_id
        else db.collection(tickets.COLLECTION).document()
    )
    counter_ref = ticket_counters.ref(db, operator_id)
    prefix = rules.prefix_of(operator.slug, operator_id)

    @firestore.transactional
    def run(transaction: firestore.Transaction) -> dict[str, Any]:
        existing = ticket_ref.get(transaction=transaction)
        if existing.exists:
            data = existing.to_dict() or {}
            return {"ticketId": existing.id, "number": data.get("number"), "created": False}
        counter = counter_ref.get(transaction=transaction)
        seq = int((counter.to_dict() or {}).get(line, 0) if counter.exists else 0) + 1
        number = rules.number(prefix, line, seq)
        ticket = {
            "operatorId": operator_id,
            "line": line,
            "number": number,
            "seq": seq,
            "status": "open",
            "priority": priority,
            "subject": request.subject,
            "uid": caller.uid if line == "driver" else None,
            "openedBy": caller.uid,
            "email": caller.email,
            "sessionId": request.session_id if line == "driver" else None,
            "plate": plate,
            "assigneeUid": None,
            "assigneeEmail": None,
            "searchTerms": rules.search_terms(
                number=number,
                seq=seq,
                email=caller.email,
                plate=plate,
                texts=(request.subject, request.text),
            ),
            "messageCount": 1,
            "lastMessageSide": "requester",
            "createdAt": at,
            "updatedAt": at,
            "waitingSince": at,
            "responseDueAt": due,
            "firstResponseDueAt": due,
            "firstResponseAt": None,
            "firstResponseSeconds": None,
            "firstResponseWithinSla": None,
            "slaBreached": False,
            "breachedAt": None,
            "resolvedAt": None,
            "resolutionSeconds": None,
            "closedAt": None,
            "reopened": 0,
        }
        transaction.set(ticket_ref, ticket)
        transaction.set(
            ticket_ref.collection(tickets.MESSAGES).document("m000001"),
            {
                "side": "requester",
                "from": caller.uid,
                "text": request.text,
                "createdAt": at,
                "pushStatus": None,
            },
        )
        transaction.set(counter_ref, {"operatorId": operator_id, line: seq}, merge=True)
        return {"ticketId": ticket_ref.id, "number": number, "created": True}

    result = _transact(db, run)
    logger.info(
        "support.ticket_opened", operator_id=operator_id, ticket_id=result["ticketId"], line=line
    )
    return result


def _request_ticket_id(uid: str, request_id: str) -> str:
    return "t" + hashlib.sha256(f"{uid}:{request_id}".encode()).hexdigest()[:24]


def _driver_ticket_scope(
    db: firestore.Client, caller: Caller, request: OpenTicket
) -> tuple[str, str | None]:
    """(operator, plate) of a driver's ticket: the stay's, or the operator named."""
    if request.session_id:
        stay = sessions.get(db, request.session_id)
        if stay is None or stay.driver_uid != caller.uid:
            raise errors.not_found("No such parking session", "session_not_found")
        if request.operator_id and request.operator_id != stay.operator_id:
            raise errors.bad_request("The session belongs to another operator")
        return stay.operator_id, stay.plate or None
    if not request.operator_id:
        raise errors.bad_request(
            "Name the operator (operatorId) or the parking session (sessionId)",
            "invalid_argument",
        )
    return request.operator_id, None


# --- messages ---------------------------------------------------------------------------------


def add_message(
    db: firestore.Client,
    caller: Caller,
    ticket_id: str,
    text: str,
    *,
    message_id: str | None = None,
    status: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A message in the ticket. The requester's reopens it and starts the SLA clock; a
    support reply answers it (first response), moves it to `status` (pending by default:
    waiting on the requester) and, on the driver line, pushes to the driver."""
    text = text.strip()
    if not text or len(text) > rules.MAX_TEXT:
        raise errors.bad_request(f"A message is 1 to {rules.MAX_TEXT} characters")
    ticket = _ticket_for(db, caller, ticket_id)
    side = side_of(caller, ticket)
    if side == "requester" and status is not None:
        raise errors.forbidden("Only support sets a ticket's status")
    target = _target(db, ticket)
    at = _now(now)
    ref = tickets.ref(db, ticket_id)

    @firestore.transactional
    def run(transaction: firestore.Transaction) -> dict[str, Any]:
        snapshot = ref.get(transaction=transaction)
        data = snapshot.to_dict() or {}
        count = int(data.get("messageCount", 0))
        message_ref = ref.collection(tickets.MESSAGES).document(message_id or f"m{count + 1:06d}")
        if message_id and message_ref.get(transaction=transaction).exists:
            return {"messageId": message_ref.id, "status": data["status"], "created": False}
        current = data["status"]
        changes: dict[str, Any] = {
            "messageCount": count + 1,
            "lastMessageSide": side,
            "updatedAt": at,
            "searchTerms": rules.search_terms(
                number=data["number"],
                seq=data["seq"],
                email=data.get("email"),
                plate=data.get("plate"),
                texts=(text,),
                existing=data.get("searchTerms") or [],
            ),
        }
        if side == "requester":
            new_status, reopened = rules.after_requester_message(current)
            changes["status"] = new_status
            if reopened:
                changes.update(reopened=int(data.get("reopened", 0)) + 1)
                changes.update(resolvedAt=None, resolutionSeconds=None, closedAt=None)
            if data.get("responseDueAt") is None:
                changes.update(waitingSince=at, responseDueAt=at + target)
        else:
            new_status = status or "pending"
            try:
                rules.check_transition(current, new_status)
            except rules.RuleError as error:
                raise _refuse_rule(error) from error
            changes.update(_status_changes(data, new_status, at))
            changes.update(_answer_changes(data, at))
        transaction.update(ref, changes)
        pushes = side == "support" and ticket.line == "driver" and bool(ticket.uid)
        transaction.set(
            message_ref,
            {
                "side": side,
                "from": caller.uid,
                "text": text,
                "createdAt": at,
                "pushStatus": "pending" if pushes else None,
            },
        )
        return {
            "messageId": message_ref.id,
            "status": changes.get("status", current),
            "created": True,
        }

    result = _transact(db, run)
    if result["created"] and side == "support" and ticket.line == "driver" and ticket.uid:
        result["push"] = deliver_push(db, ticket, result["messageId"])
    return result


def _answer_changes(data: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Support answered: nobody waits on support; the first answer is measured once."""
    changes: dict[str, Any] = {"responseDueAt": None, "waitingSince": None}
    due = data.get("responseDueAt")
    if due is not None and at > due:
        changes.update(slaBreached=True)
        if not data.get("breachedAt"):
            changes["breachedAt"] = due
    if data.get("firstResponseAt") is None:
        first_due = data.get("firstResponseDueAt")
        changes.update(
            firstResponseAt=at,
            firstResponseSeconds=int((at - data["createdAt"]).total_seconds()),
            firstResponseWithinSla=first_due is None or at <= first_due,
        )
    return changes


def _status_changes(data: dict[str, Any], status: str, at: datetime) -> dict[str, Any]:
    changes: dict[str, Any] = {"status": status}
    if status == "resolved":
        changes.update(
            resolvedAt=at,
            resolutionSeconds=int((at - data["createdAt"]).total_seconds()),
            responseDueAt=None,
            waitingSince=None,
        )
    elif status == "closed":
        changes.update(closedAt=at, responseDueAt=None, waitingSince=None)
        if data.get("resolvedAt") is None:
            changes.update(
                resolvedAt=at, resolutionSeconds=int((at - data["createdAt"]).total_seconds())
            )
    elif status == "open" and data.get("status") in ("resolved", "closed"):
        changes.update(
            resolvedAt=None,
            resolutionSeconds=None,
            closedAt=None,
            reopened=int(data.get("reopened", 0)) + 1,
        )
    return changes


def deliver_push(db: firestore.Client, ticket: TicketDoc, message_id: str) -> str:
    """Push the support reply to the driver (once per message: the sender's key) and record
    the outcome on the message; the sweep delivers what a crash left pending."""
    from parkingdone.notifications import sender

    message_ref = tickets.ref(db, ticket.id).collection(tickets.MESSAGES).document(message_id)
    try:
        result = sender.push(
            ticket.uid or "",
            PUSH_KIND,
            {"ticketNumber": ticket.number, "ticketId": ticket.id},
            key=f"support__{ticket.id}__{message_id}",
        )
        status = result["status"]
    except Exception as exc:  # the message stays pending for the sweep
        logger.error("support.push_failed", ticket_id=ticket.id, error=repr(exc))
        return "pending"
    message_ref.update({"pushStatus": status})
    return status


# --- support's changes ------------------------------------------------------------------------


def _support_ticket(db: firestore.Client, caller: Caller, ticket_id: str) -> TicketDoc:
    ticket = _ticket_for(db, caller, ticket_id)
    if side_of(caller, ticket) != "support":
        raise errors.forbidden("Only support changes a ticket")
    return ticket


def set_status(
    db: firestore.Client, caller: Caller, ticket_id: str, status: str, now: datetime | None = None
) -> dict[str, Any]:
    _support_ticket(db, caller, ticket_id)
    at = _now(now)
    ref = tickets.ref(db, ticket_id)

    @firestore.transactional
    def run(transaction: firestore.Transaction) -> dict[str, Any]:
        data = ref.get(transaction=transaction).to_dict() or {}
        try:
            rules.check_transition(data["status"], status)
        except rules.RuleError as error:
            raise _refuse_rule(error) from error
        if data["status"] == status:
            return {"before": data["status"], "status": status, "changed": False}
        transaction.update(ref, {**_status_changes(data, status, at), "updatedAt": at})
        return {"before": data["status"], "status": status, "changed": True}

    return _transact(db, run)


def set_priority(
    db: firestore.Client,
    caller: Caller,
    ticket_id: str,
    priority: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A new priority moves the due time of the answer being waited for."""
    ticket = _support_ticket(db, caller, ticket_id)
    if priority not in rules.PRIORITIES:
        raise errors.bad_request("Priority must be normal or critical", "invalid_priority")
    target = _target(db, {**ticket.model_dump(by_alias=True), "priority": priority})
    ref = tickets.ref(db, ticket_id)

    @firestore.transactional
    def run(transaction: firestore.Transaction) -> dict[str, Any]:
        data = ref.get(transaction=transaction).to_dict() or {}
        changes: dict[str, Any] = {"priority": priority, "updatedAt": _now(now)}
        if data.get("waitingSince") is not None:
            changes["responseDueAt"] = data["waitingSince"] + target
        if data.get("firstResponseAt") is None:
            changes["firstResponseDueAt"] = data["createdAt"] + target
        transaction.update(ref, changes)
        return {"before": data.get("priority"), "priority": priority}

    return _transact(db, run)


def assign(
    db: firestore.Client, caller: Caller, ticket_id: str, email: str | None
) -> dict[str, Any]:
    """Assign to a support user of the ticket (the operator's staff; ParkingDone's super
    admins on the operator line), named by e-mail; None or "" unassigns."""
    ticket = _support_ticket(db, caller, ticket_id)
    uid, address = None, None
    if email:
        try:
            user = auth.get_user_by_email(email.strip(), app=firebase.app())
        except (auth.UserNotFoundError, ValueError) as exc:
            raise errors.bad_request("No user with that e-mail", "unknown_assignee") from exc
        claims = user.custom_claims or {}
        role, operator_id = claims.get("role"), claims.get("operatorId")
        allowed = role == "super_admin" or (
            ticket.line == "driver" and role in STAFF_ROLES and operator_id == ticket.operator_id
        )
        if not allowed:
            raise errors.bad_request(
                "The assignee must be a support user of this ticket", "invalid_assignee"
            )
        uid, address = user.uid, user.email
    tickets.ref(db, ticket_id).update(
        {"assigneeUid": uid, "assigneeEmail": address, "updatedAt": datetime.now(UTC)}
    )
    return {"before": ticket.assignee_email, "assignee": address}


# --- the sweep --------------------------------------------------------------------------------


def sweep(db: firestore.Client, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Scheduled: record SLA breaches as their due time passes, close resolved tickets nobody
    wrote to for SUPPORT_AUTO_CLOSE, and deliver support-reply pushes a crash left pending."""
    at = _now(now)
    counts = {"breached": 0, "closed": 0, "pushes": 0}
    overdue = (
        db.collection(tickets.COLLECTION)
        .where(filter=FieldFilter("slaBreached", "==", False))
        .where(filter=FieldFilter("responseDueAt", "<", at))
        .limit(limit)
    )
    for snapshot in overdue.stream():
        snapshot.reference.update(
            {"slaBreached": True, "breachedAt": snapshot.get("responseDueAt")}
        )
        counts["breached"] += 1
    stale = (
        db.collection(tickets.COLLECTION)
        .where(filter=FieldFilter("status", "==", "resolved"))
        .where(filter=FieldFilter("resolvedAt", "<", at - settings.SUPPORT_AUTO_CLOSE))
        .limit(limit)
    )
    for snapshot in stale.stream():
        snapshot.reference.update({"status": "closed", "closedAt": at, "updatedAt": at})
        counts["closed"] += 1
    pending = (
        db.collection_group(tickets.MESSAGES)
        .where(filter=FieldFilter("pushStatus", "==", "pending"))
        .where(filter=FieldFilter("createdAt", "<", at - timedelta(minutes=2)))
        .limit(limit)
    )
    for snapshot in pending.stream():
        ticket = tickets.get(db, snapshot.reference.parent.parent.id)
        if ticket is not None and ticket.uid:
            deliver_push(db, ticket, snapshot.id)
            counts["pushes"] += 1
    if any(counts.values()):
        logger.info("support.sweep", **counts)
    return counts
