"""The durable, idempotent inbox: every accepted event is recorded with its outcome.

`events/{key}` is created in the same transaction that applies the event to the sessions,
with a create() precondition: a repeated delivery fails that precondition without any
extra read on the first delivery, and is then answered from the stored document. If the
processing itself fails, the event is still recorded (status "failed") so that the replay
command or the scheduled sweep processes it later; nothing accepted is lost.

A webhook request's credential is confirmed in the same transaction, read in the batch with
the plate's documents (credentials.Confirmation): a refused request writes and records
nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from firebase_functions import logger
from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore import Client, Transaction
from google.cloud.firestore_v1.base_query import FieldFilter

from parkingdone import credentials, errors, tenants
from parkingdone.enforcement import store as projection
from parkingdone.models.events import COLLECTION as EVENTS
from parkingdone.sessions import machine, store

MAX_ATTEMPTS = 5
# Statuses after which an event is never processed again: applied, or held for review.
SETTLED = frozenset({"processed", "review"})
TRANSACTION_ATTEMPTS = 20


@dataclass(frozen=True)
class Result:
    event_id: str
    session_id: str | None
    status: str  # "processed" | "review" | "failed" | "dead_letter"
    outcome: str | None
    replayed: bool = False

    def body(self) -> dict[str, Any]:
        return {
            "eventId": self.event_id,
            "sessionId": self.session_id,
            "status": self.status,
            "outcome": self.outcome,
        }


def event_key(
    operator_id: str,
    facility_id: str,
    kind: str,
    plate: str,
    at: datetime,
    external_id: str | None = None,
    source: str = "anpr",
) -> str:
    """The inbox id: the sender's event id when given, else the event's identifying facts."""
    if external_id:
        basis = f"id|{source}|{operator_id}|{external_id}"
    else:
        stamp = at.astimezone(UTC).isoformat()
        basis = f"facts|{source}|{operator_id}|{facility_id}|{kind}|{plate}|{stamp}"
    return "ev_" + hashlib.sha256(basis.encode()).hexdigest()[:40]


def record_of(event: machine.Event, facility: tenants.Facility, **extra: Any) -> dict[str, Any]:
    return {
        "operatorId": facility.operator_id,
        "facilityId": facility.id,
        "kind": event.kind,
        "plate": event.plate,
        "plateRaw": event.plate_raw,
        "country": event.country,
        "at": event.at,
        "imageUrl": event.image_url,
        "source": event.source,
        **extra,
    }


def event_from(event_id: str, data: dict[str, Any]) -> machine.Event:
    return machine.Event(
        kind=data["kind"],
        at=data["at"],
        plate=data["plate"],
        plate_raw=data.get("plateRaw") or data["plate"],
        event_id=event_id,
        source=data.get("source", "anpr"),
        country=data.get("country"),
        image_url=data.get("imageUrl"),
    )


def _result_from(event_id: str, data: dict[str, Any], replayed: bool) -> Result:
    return Result(
        event_id=event_id,
        session_id=data.get("sessionId"),
        status=data.get("status", "failed"),
        outcome=data.get("outcome"),
        replayed=replayed,
    )


def _apply(
    transaction: Transaction,
    db: Client,
    facility: tenants.Facility,
    event: machine.Event,
    record: dict[str, Any],
    retry: bool,
    confirmation: credentials.Confirmation | None,
) -> Result:
    ref = db.collection(EVENTS).document(event.event_id)
    if retry:
        current = ref.get(transaction=transaction)
        if current.exists and current.get("status") in SETTLED:
            return _result_from(event.event_id, current.to_dict(), replayed=True)
    also = confirmation.ref if confirmation else None
    doc, uid, credential = store.read_plate(transaction, db, facility.id, event.plate, also)
    if confirmation:
        confirmation.check(credential)
    now = datetime.now(UTC)
    bound = tenants.late_event_bound(db, facility)
    if event.at < now - bound:
        # Far in the past: applying it could open or charge a stay nobody can check.
        return _hold(transaction, ref, record, retry, now, "older_than_bound")
    track = store.track_from(doc, event.plate)
    ctx = machine.Context(
        operator_id=facility.operator_id,
        facility_id=facility.id,
        driver_uid=uid,
        debounce=timedelta(seconds=facility.entry_debounce_seconds),
        max_stay=timedelta(minutes=facility.max_stay_minutes),
        retention=bound,
    )
    change = machine.apply(track, event, ctx, now)
    if change.outcome == machine.Outcome.HELD_FOR_REVIEW:
        return _hold(transaction, ref, record, retry, now, "before_settled_stays")
    unchanged = change.track is track  # the same event delivered again under another key
    sources = dict((doc or {}).get("sources") or {})
    money = dict(sources.get("money") or {})
    for session_id in change.creates:
        money[session_id] = {"driverUid": uid, "payment": None, "fee": None}
    live = {r.session_id for r in change.track.stays}
    sources["money"] = {sid: m for sid, m in money.items() if sid in live}
    if uid and event.kind == "entry":
        # Whether the stay is covered by automatic payment: the driver's saved card, now.
        holders = set(sources.get("cardHolders") or ())
        if store.has_saved_card(transaction, db, uid):
            holders.add(uid)
        else:
            holders.discard(uid)
        sources["cardHolders"] = sorted(holders)
    if not unchanged:
        store.write_sessions(transaction, db, change, now)
        projection.project(
            transaction, db, facility, event.plate, doc, change.track, sources, bound, now
        )
    document = {
        **record,
        "status": "processed",
        "outcome": str(change.outcome),
        "sessionId": change.session_id,
        "processedAt": now,
        "error": None,
    }
    _write_record(transaction, ref, document, retry)
    return Result(event.event_id, change.session_id, "processed", str(change.outcome))


def _hold(
    transaction: Transaction,
    ref: firestore.DocumentReference,
    record: dict[str, Any],
    retry: bool,
    now: datetime,
    reason: str,
) -> Result:
    """Record the event for review without applying it (an operator decides what it means)."""
    outcome = str(machine.Outcome.HELD_FOR_REVIEW)
    document = {
        **record,
        "status": "review",
        "reviewReason": reason,
        "outcome": outcome,
        "sessionId": None,
        "processedAt": now,
        "error": None,
    }
    _write_record(transaction, ref, document, retry)
    return Result(ref.id, None, "review", outcome)


def _write_record(
    transaction: Transaction, ref: firestore.DocumentReference, document: dict, retry: bool
) -> None:
    if retry:
        document["attempts"] = firestore.Increment(1)
        transaction.set(ref, document, merge=True)
    else:
        document["attempts"] = 1
        transaction.create(ref, document)


def _run(
    db: Client,
    facility: tenants.Facility,
    event: machine.Event,
    record: dict[str, Any],
    retry: bool,
    confirmation: credentials.Confirmation | None = None,
) -> Result:
    @firestore.transactional
    def work(transaction: Transaction) -> Result:
        return _apply(transaction, db, facility, event, record, retry, confirmation)

    # The plate's document is also refreshed by triggers (a payment outcome): contention is
    # expected now and then, and each attempt is cheap.
    return work(db.transaction(max_attempts=TRANSACTION_ATTEMPTS))


def process(
    db: Client,
    facility: tenants.Facility,
    event: machine.Event,
    record: dict[str, Any],
    confirmation: credentials.Confirmation | None = None,
) -> Result:
    """Record and apply `event` once; a repeat answers like the first delivery did.

    With `confirmation`, the request's credential is confirmed in the same transaction; its
    refusal (errors.ApiError) is raised with nothing written or recorded."""
    log = {"operatorId": facility.operator_id, "facilityId": facility.id, "eventId": event.event_id}
    ref = db.collection(EVENTS).document(event.event_id)
    try:
        result = _run(db, facility, event, record, retry=False, confirmation=confirmation)
    except errors.ApiError:
        raise  # the request itself was refused (its credential): not a failed processing
    except (gexc.AlreadyExists, gexc.Conflict):
        stored = ref.get()
        data = stored.to_dict() or {}
        if data.get("status") in SETTLED:
            return _result_from(event.event_id, data, replayed=True)
        # An earlier delivery was recorded as failed: this delivery is its retry.
        return retry(db, facility, event, record)
    except Exception as exc:
        return _record_failure(db, ref, record, exc, log)
    logger.info(
        "ingest.event_processed", **log, sessionId=result.session_id, outcome=result.outcome
    )
    return result


def retry(
    db: Client, facility: tenants.Facility, event: machine.Event, record: dict[str, Any]
) -> Result:
    """Process an event already in the inbox (failed earlier); no-op if it succeeded since."""
    log = {"operatorId": facility.operator_id, "facilityId": facility.id, "eventId": event.event_id}
    ref = db.collection(EVENTS).document(event.event_id)
    try:
        result = _run(db, facility, event, record, retry=True)
    except Exception as exc:
        return _record_failure(db, ref, record, exc, log, replay=True)
    logger.info("ingest.event_retried", **log, sessionId=result.session_id, outcome=result.outcome)
    return result


def _record_failure(
    db: Client,
    ref: firestore.DocumentReference,
    record: dict[str, Any],
    exc: Exception,
    log: dict[str, Any],
    replay: bool = False,
    max_attempts: int = MAX_ATTEMPTS,
) -> Result:
    """Record a failed processing (in a transaction: never over a processed record); after
    `max_attempts` the event becomes a dead letter, left for an operator to replay by hand."""
    error = f"{type(exc).__name__}: {exc}"[:500]
    logger.error("ingest.event_failed", **log, error=error)

    @firestore.transactional
    def work(transaction: Transaction) -> Result:
        stored = ref.get(transaction=transaction)
        data = stored.to_dict() if stored.exists else {}
        if data.get("status") in SETTLED:
            return _result_from(ref.id, data, replayed=True)
        attempts = int(data.get("attempts", 0)) + 1
        dead = attempts >= max_attempts
        failure = {
            **record,
            "status": "dead_letter" if dead else "failed",
            "outcome": None,
            "sessionId": None,
            "error": error,
            "lastError": error,
            "failedAt": datetime.now(UTC),
            "attempts": attempts,
        }
        if dead:
            failure["deadLetteredAt"] = datetime.now(UTC)
        # merge=True keeps the first delivery's receivedAt/payload when a retry fails again.
        transaction.set(ref, failure, merge=True)
        return Result(ref.id, None, failure["status"], None, replayed=replay)

    result = work(db.transaction())
    if result.status == "dead_letter":
        logger.error("ingest.event_dead_lettered", **log, error=error)
    return result


def failed_events(
    db: Client,
    limit: int = 100,
    operator_id: str | None = None,
    status: str = "failed",
) -> list[Any]:
    """Events to process again, oldest event time first: pairing reads them in time order.

    Only retryable ones ("failed"); dead letters are asked for by name (`status`)."""
    query = db.collection(EVENTS).where(filter=FieldFilter("status", "==", status))
    if operator_id:
        query = query.where(filter=FieldFilter("operatorId", "==", operator_id))
    return list(query.order_by("at").limit(limit).get())


def replay_failed(
    db: Client,
    limit: int = 100,
    operator_id: str | None = None,
    dead_letters: bool = False,
) -> list[Result]:
    """Process failed inbox events again, in event-time order (replay command and sweep).

    The sweep replays what is still retryable; an operator replays dead letters by hand
    (`dead_letters=True`), which gives each of them one more attempt."""
    results = []
    status = "dead_letter" if dead_letters else "failed"
    for snapshot in failed_events(db, limit, operator_id, status):
        data = snapshot.to_dict()
        facility = tenants.find_facility(db, data["operatorId"], data["facilityId"])
        if facility is None:
            logger.warn("ingest.replay_unknown_facility", eventId=snapshot.id)
            continue
        event = event_from(snapshot.id, data)
        results.append(retry(db, facility, event, {}))
    return results


def count_dead_letters(db: Client, operator_id: str | None = None) -> int:
    query = db.collection(EVENTS).where(filter=FieldFilter("status", "==", "dead_letter"))
    if operator_id:
        query = query.where(filter=FieldFilter("operatorId", "==", operator_id))
    return int(query.count().get()[0][0].value)
