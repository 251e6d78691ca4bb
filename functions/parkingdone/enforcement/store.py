"""Firestore side of enforcement: the plateStatus projection, its look-alike index, the log.

plateStatus/{facilityId}__{plate} is rebuilt from the source documents (the plate's recent
sessions at the facility and its passes) inside a transaction, so a rebuild never depends on
the order in which triggers arrive and a later rebuild repairs any earlier miss. A projection
is kept only while it matters to enforcement (`decision.relevant_until`, stored as
expiresAt): the rebuild deletes one that no longer does and the sweep deletes those that
have since expired, so the collection holds current plates, not history.

plateSkeletons/{facilityId}__{skeleton} lists, per confusable skeleton, the plates that have
a projection at the facility (plate -> its expiresAt); the same transaction keeps it. A
check is gets by id, never a query: the skeleton document and the exact plate's projection
in one batch, then the listed look-alikes still in force.

whitelistShards/{facilityId}__{n}, n in 0..WHITELIST_SHARDS-1, holds the whitelist entry
(`decision.whitelist_entry`: coverage windows not yet ended and display form) of each plate
of the facility hashed to shard n; the same transaction keeps it, writing the shard only when
the plate's entry changes. The whitelist is one batch get of the facility's shards, decided
by `decision.is_whitelisted` like the check: a fixed number of documents whatever the number
of plates or the history.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from firebase_functions import logger
from google.cloud import firestore
from google.cloud.firestore import Client
from google.cloud.firestore_v1.base_query import FieldFilter

from parkingdone import plates, settings, tariffs, tenants
from parkingdone.enforcement.decision import (
    OPEN_ENDED,
    RECENT_SESSIONS,
    WHITELIST_SHARDS,
    CheckResult,
    PlateStatus,
    build_plate_status,
    doc_id,
    entry_expires_at,
    from_whitelist_entry,
    is_relevant,
    is_whitelisted,
    shard_of,
    whitelist_entry,
)
from parkingdone.models import facilities
from parkingdone.models.enforcement_checks import COLLECTION as CHECKS
from parkingdone.models.passes import COLLECTION as PASSES
from parkingdone.models.plate_skeletons import COLLECTION as SKELETONS
from parkingdone.models.plate_status import COLLECTION as PLATE_STATUS
from parkingdone.models.sessions import COLLECTION as SESSIONS
from parkingdone.models.sessions import SessionDoc
from parkingdone.models.whitelist_shards import COLLECTION as SHARDS
from parkingdone.models.whitelist_snapshots import COLLECTION as SNAPSHOTS
from parkingdone.sessions.machine import Track
from parkingdone.sessions.store import (
    has_saved_card,
    track_document,
    track_from,
    track_from_sessions,
)

PASSES_PER_PLATE = 20
# How long a delta cursor stays usable (a TTL policy on expiresAt deletes older snapshots).
SNAPSHOT_TTL = timedelta(days=7)
CHECK_LOG_TTL = settings.CHECK_LOG_TTL_BACKSTOP


# --- The projection ----------------------------------------------------------------------


def tariff_terms(facility: tenants.Facility):
    """entry -> (free minutes, exit grace minutes) of the facility's tariff version at entry."""
    versions = [tariffs.TariffVersion.model_validate(v) for v in facility.tariffs]

    def terms(entry_at: datetime) -> tuple[int, int]:
        try:
            version = tariffs.select_version(versions, entry_at)
        except tariffs.TariffError:
            # No version in force: no free period, so nothing is given away by mistake;
            # shouldFine still needs an open, unpaid stay past the grace.
            return 0, 0
        free = version.free_period.minutes if version.free_period else 0
        return free, version.exit_grace_minutes

    return terms


def sessions_for_projection(
    track: Track, money: dict[str, dict[str, Any]]
) -> list[tuple[str, dict[str, Any]]]:
    """The track's recent stays as the session documents the projection is built from.

    `money` holds, per session, what other writers keep on it (payment, fee, driver).
    """
    found: list[tuple[str, dict[str, Any]]] = []
    for record in reversed(track.stays):
        entry, exit_ = track.event(record.entry), track.event(record.exit)
        first = entry or exit_
        if first is None:
            continue
        extra = money.get(record.session_id) or {}
        found.append(
            (
                record.session_id,
                {
                    "status": str(record.status),
                    "entry": {"at": entry.at} if entry else None,
                    "exit": {"at": exit_.at} if exit_ else None,
                    "plateRaw": first.event.plate_raw,
                    "driverUid": extra.get("driverUid"),
                    "payment": extra.get("payment"),
                    "fee": extra.get("fee"),
                },
            )
        )
        if len(found) == RECENT_SESSIONS:
            break
    return found


def _session_docs(snapshots) -> list[SessionDoc]:
    return [d for d in (SessionDoc.from_snapshot(s) for s in snapshots) if d is not None]


def _has_payment(session: SessionDoc) -> bool:
    return session.payment is not None and bool(session.payment.stored())


def money_of(session: SessionDoc) -> dict[str, Any]:
    """What the projection mirrors of a session beyond its pairing (sub-documents as stored)."""
    return {
        "driverUid": session.driver_uid,
        "payment": session.payment.stored() if session.payment is not None else None,
        "fee": session.fee,
    }


def project(
    writer: Any,
    db: Client,
    facility: tenants.Facility,
    plate: str,
    previous: dict[str, Any] | None,
    track: Track,
    sources: dict[str, Any],
    retention: timedelta,
    now: datetime,
) -> PlateStatus | None:
    """Write the plate's document at the facility: its track, the sources the projection is
    built from, and the projection; and its look-alike index and whitelist shard entries when
    they change (blind merges, so no read of those shared documents is needed).

    `sources`: {"money": {sessionId: money_of(session)}, "passes": {passId: pass fields},
    "cardHolders": [uid of a driver with a saved card]}.
    """
    ref = db.collection(PLATE_STATUS).document(doc_id(facility.id, plate))
    skeleton = plates.skeleton(plate)
    sessions = sessions_for_projection(track, sources.get("money") or {})
    passes = sorted((sources.get("passes") or {}).items())
    status = None
    if sessions or passes:
        status = build_plate_status(
            operator_id=facility.operator_id,
            facility_id=facility.id,
            plate=plate,
            skeleton=skeleton,
            sessions=sessions,
            passes=passes,
            grace_minutes=facility.enforcement_grace_minutes,
            tariff_terms=tariff_terms(facility),
            drivers_with_saved_card=set(sources.get("cardHolders") or ()),
            now=now,
        )
    relevant = status is not None and is_relevant(status, now)
    entry = whitelist_entry(status, now) if status is not None and relevant else None
    keep_until = _keep_until(status, track, retention, now)
    old = previous or {}
    # The look-alike index lists the plate while its document exists (the check decides on
    # the document's content), so its entry is written when the plate appears or its
    # document is kept longer, not on every change: most events leave the index alone.
    indexed = old.get("indexedUntil")
    if keep_until is None:
        index_until = None
    elif indexed is not None and indexed >= keep_until:
        index_until = indexed
    else:
        index_until = keep_until
    if keep_until is None:
        if previous is not None:
            writer.delete(ref)
    else:
        body: dict[str, Any] = (
            status.model_dump(by_alias=True)
            if status is not None
            else {
                "operatorId": facility.operator_id,
                "facilityId": facility.id,
                "plate": plate,
                "display": plate,
                "skeleton": skeleton,
                "graceMinutes": facility.enforcement_grace_minutes,
                "expiresAt": now,
                "updatedAt": now,
            }
        )
        if not relevant:
            # Kept for its track only: it answers every check as no document would from now.
            body["expiresAt"] = now
        body.update(
            {
                "track": track_document(track),
                "sources": {
                    "money": sources.get("money") or {},
                    "passes": sources.get("passes") or {},
                    "cardHolders": sorted(set(sources.get("cardHolders") or ())),
                },
                "indexedUntil": index_until,
                "whitelistEntry": entry,
                "keepUntil": keep_until,
            }
        )
        writer.set(ref, body)
    if indexed != index_until:
        writer.set(
            db.collection(SKELETONS).document(doc_id(facility.id, skeleton)),
            {
                "operatorId": facility.operator_id,
                "facilityId": facility.id,
                "skeleton": skeleton,
                "plates": {plate: index_until if index_until else firestore.DELETE_FIELD},
                "updatedAt": now,
            },
            merge=True,
        )
    if old.get("whitelistEntry") != entry:
        shard = shard_of(plate)
        writer.set(
            shard_reference(db, facility.id, shard),
            {
                "operatorId": facility.operator_id,
                "facilityId": facility.id,
                "shard": shard,
                "plates": {plate: entry if entry else firestore.DELETE_FIELD},
                "updatedAt": now,
            },
            merge=True,
        )
    return status


def _keep_until(
    status: PlateStatus | None, track: Track, retention: timedelta, now: datetime
) -> datetime | None:
    """How long the plate's document is kept: while it matters to enforcement, and while its
    track may still be needed to pair a late event. None: not at all."""
    ends: list[datetime] = []
    if status is not None and status.expires_at is not None and status.expires_at > now:
        ends.append(status.expires_at)
    if track.open_stay() is not None:
        ends.append(OPEN_ENDED)
    if track.events:
        ends.append(max(t.at for t in track.events) + retention)
    ends = [e for e in ends if e > now]
    return max(ends) if ends else None


def rebuild(
    db: Client, operator_id: str, facility_id: str, plate: str, resync: bool = False
) -> PlateStatus | None:
    """Refresh the plate's projection from its sources (sessions, passes, saved cards).

    The pairing comes from the stored track; the sessions give what others wrote on them
    (payment, fee, driver). With no stored track (or `resync`, after a plate correction moved
    a session), the track is rebuilt from the plate's session documents.
    """
    facility = facilities.load(db, facility_id)
    if facility is None or facility.operator_id != operator_id:
        logger.warn(
            "enforcement.rebuild_unknown_facility", operatorId=operator_id, facilityId=facility_id
        )
        return None
    ref = db.collection(PLATE_STATUS).document(doc_id(facility_id, plate))
    sessions_query = (
        db.collection(SESSIONS)
        .where(filter=FieldFilter("operatorId", "==", operator_id))
        .where(filter=FieldFilter("facilityId", "==", facility_id))
        .where(filter=FieldFilter("plate", "==", plate))
        .order_by("entry.at", direction=firestore.Query.DESCENDING)
        .limit(RECENT_SESSIONS * 2)
    )
    passes_query = (
        db.collection(PASSES)
        .where(filter=FieldFilter("operatorId", "==", operator_id))
        .where(filter=FieldFilter("facilityId", "==", facility_id))
        .where(filter=FieldFilter("plate", "==", plate))
        .where(filter=FieldFilter("status", "==", "active"))
        .order_by("validUntil", direction=firestore.Query.DESCENDING)
        .limit(PASSES_PER_PLATE)
    )
    retention = timedelta(minutes=facility.max_stay_minutes)

    @firestore.transactional
    def run(transaction: firestore.Transaction) -> PlateStatus | None:
        current = next(iter(transaction.get(ref)), None)
        previous = current.to_dict() if current is not None and current.exists else None
        if previous is None or "track" not in previous or resync:
            found = _session_docs(transaction.get(sessions_query))
            found = [s for s in found if s.plate == plate]
            track = track_from_sessions(found, plate)
            sessions = {s.id: s for s in found}
        else:
            track = track_from(previous, plate)
            refs = [db.collection(SESSIONS).document(r.session_id) for r in track.stays]
            found = _session_docs(transaction.get_all(refs) if refs else [])
            sessions = {s.id: s for s in found}
        # A session moved to another plate (a correction) no longer belongs to this track.
        moved = {sid for sid, s in sessions.items() if s.plate != plate}
        if moved:
            track = replace(track, stays=tuple(r for r in track.stays if r.session_id not in moved))
        passes = {p.id: _pass_fields(p.to_dict()) for p in transaction.get(passes_query)}
        # Drivers of open stays and of stays closed but not charged yet: a saved card covers both.
        drivers = sorted(
            {
                s.driver_uid
                for s in sessions.values()
                if s.driver_uid
                and (s.status == "open" or (s.status == "closed" and not _has_payment(s)))
            }
        )
        holders = [uid for uid in drivers if has_saved_card(transaction, db, uid)]
        sources = {
            "money": {sid: money_of(s) for sid, s in sessions.items() if sid not in moved},
            "passes": passes,
            "cardHolders": holders,
        }
        status = project(
            transaction, db, facility, plate, previous, track, sources, retention, datetime.now(UTC)
        )
        return status if status is not None and is_relevant(status, datetime.now(UTC)) else None

    # Contends with the webhook's transaction on the same plate now and then.
    return run(db.transaction(max_attempts=20))


PASS_FIELDS = ("status", "validFrom", "validUntil", "amount", "currency", "productId")


def _pass_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {k: data.get(k) for k in PASS_FIELDS}


def _index_plate(
    writer: Any,
    skeleton_ref: Any,
    index: Any,
    operator_id: str,
    facility_id: str,
    plate: str,
    expires_at: datetime | None,
) -> None:
    """Record `plate` (until expires_at; None = remove) in its skeleton's index document.

    Entries already expired are dropped on the way; the document goes when none is left.
    Written only when its content changes.
    """
    now = datetime.now(UTC)
    current: dict[str, datetime] = {}
    if index is not None and index.exists:
        current = dict((index.to_dict() or {}).get("plates") or {})
    entries = {p: until for p, until in current.items() if p != plate and until > now}
    if expires_at is not None and expires_at > now:
        entries[plate] = expires_at
    if entries == current:
        return
    if not entries:
        writer.delete(skeleton_ref)
        return
    writer.set(
        skeleton_ref, index_document(operator_id, facility_id, plates.skeleton(plate), entries, now)
    )


def index_document(
    operator_id: str, facility_id: str, skeleton: str, entries: dict[str, datetime], now: datetime
) -> dict[str, Any]:
    """plateSkeletons/{facilityId}__{skeleton}: its plates with a projection, each until when."""
    return {
        "operatorId": operator_id,
        "facilityId": facility_id,
        "skeleton": skeleton,
        "plates": entries,
        "expiresAt": max(entries.values()),
        "updatedAt": now,
    }


def shard_reference(db: Client, facility_id: str, shard: int) -> Any:
    return db.collection(SHARDS).document(doc_id(facility_id, str(shard)))


def _shard_plate(
    writer: Any,
    shard_ref: Any,
    shard_doc: Any,
    operator_id: str,
    facility_id: str,
    shard: int,
    plate: str,
    entry: str | None = None,
) -> None:
    """Set `plate`'s whitelist entry in its shard (None = remove it).

    The shard is written only when this plate's entry changes, so rebuilds that leave the
    whitelist as it was never contend on the shard. When it is written, entries already
    expired are dropped on the way; the document goes when none is left.
    """
    now = datetime.now(UTC)
    current: dict[str, str] = {}
    if shard_doc is not None and shard_doc.exists:
        current = dict((shard_doc.to_dict() or {}).get("plates") or {})
    if entry is not None and entry_expires_at(entry) <= now:
        entry = None
    if current.get(plate) == entry:
        return
    entries = {p: e for p, e in current.items() if p != plate and entry_expires_at(e) > now}
    if entry is not None:
        entries[plate] = entry
    if not entries:
        writer.delete(shard_ref)
        return
    writer.set(shard_ref, shard_document(operator_id, facility_id, shard, entries, now))


def shard_document(
    operator_id: str, facility_id: str, shard: int, entries: dict[str, str], now: datetime
) -> dict[str, Any]:
    """whitelistShards/{facilityId}__{shard}: plate -> its whitelist entry."""
    return {
        "operatorId": operator_id,
        "facilityId": facility_id,
        "shard": shard,
        "plates": entries,
        "updatedAt": now,
    }


def mark_pending(db: Client, operator_id: str, facility_id: str, plate: str) -> None:
    """Flag a projection whose rebuild failed: no fines on it until the sweep rebuilds it."""
    skeleton = plates.skeleton(plate)
    db.collection(PLATE_STATUS).document(doc_id(facility_id, plate)).set(
        {
            "operatorId": operator_id,
            "facilityId": facility_id,
            "plate": plate,
            "skeleton": skeleton,
            "rebuildPending": True,
            "pendingSince": datetime.now(UTC),
            "expiresAt": OPEN_ENDED,
            "keepUntil": OPEN_ENDED,
            "indexedUntil": OPEN_ENDED,
        },
        merge=True,
    )
    # Listed under its skeleton, so a check of a look-alike sees the flag too.
    db.collection(SKELETONS).document(doc_id(facility_id, skeleton)).set(
        {
            "operatorId": operator_id,
            "facilityId": facility_id,
            "skeleton": skeleton,
            "plates": {plate: OPEN_ENDED},
            "expiresAt": OPEN_ENDED,
            "updatedAt": datetime.now(UTC),
        },
        merge=True,
    )


def _parse(snapshot: Any) -> PlateStatus:
    data = snapshot.to_dict()
    # A projection flagged before it was ever built has only the key fields.
    data.setdefault("display", data.get("plate", ""))
    data.setdefault("graceMinutes", 0)
    return PlateStatus.model_validate(data)


def rebuild_pending(db: Client, limit: int = 500) -> int:
    """Retry every flagged projection; returns how many were rebuilt."""
    flagged = (
        db.collection(PLATE_STATUS)
        .where(filter=FieldFilter("rebuildPending", "==", True))
        .limit(limit)
        .get()
    )
    done = 0
    for snapshot in flagged:
        data = snapshot.to_dict()
        try:
            rebuild(db, data["operatorId"], data["facilityId"], data["plate"])
            done += 1
        except Exception as exc:
            logger.error(
                "enforcement.rebuild_retry_failed",
                operatorId=data.get("operatorId"),
                facilityId=data.get("facilityId"),
                error=repr(exc),
            )
    return done


def delete_expired(db: Client, now: datetime | None = None, limit: int = 500) -> int:
    """Delete plate documents past their keepUntil: the projection answers as none would and
    the track is settled (no late event can be applied to it any more); returns how many.

    Each goes in a transaction with its skeleton index entry, re-checked inside it: a plate
    seen again in the meantime has been rebuilt with a later expiresAt and is kept.
    """
    now = now or datetime.now(UTC)
    expired = (
        db.collection(PLATE_STATUS)
        .where(filter=FieldFilter("keepUntil", "<=", now))
        .limit(limit)
        .get()
    )
    done = 0
    for snapshot in expired:
        data = snapshot.to_dict()
        if not data.get("plate") or not data.get("facilityId") or not data.get("operatorId"):
            continue
        try:
            done += _delete_if_expired(db, data["operatorId"], data["facilityId"], data["plate"])
        except Exception as exc:
            logger.error(
                "enforcement.expire_failed",
                operatorId=data.get("operatorId"),
                facilityId=data.get("facilityId"),
                error=repr(exc),
            )
    return done


def _delete_if_expired(db: Client, operator_id: str, facility_id: str, plate: str) -> bool:
    ref = db.collection(PLATE_STATUS).document(doc_id(facility_id, plate))
    skeleton_ref = db.collection(SKELETONS).document(doc_id(facility_id, plates.skeleton(plate)))
    shard = shard_of(plate)
    shard_ref = shard_reference(db, facility_id, shard)

    @firestore.transactional
    def run(transaction: firestore.Transaction) -> bool:
        current = next(iter(transaction.get(ref)), None)
        index = next(iter(transaction.get(skeleton_ref)), None)
        shard_doc = next(iter(transaction.get(shard_ref)), None)
        if current is None or not current.exists:
            return False
        data = current.to_dict() or {}
        until = data.get("keepUntil")
        if until is None or until > datetime.now(UTC) or data.get("rebuildPending"):
            return False
        transaction.delete(ref)
        _index_plate(transaction, skeleton_ref, index, operator_id, facility_id, plate, None)
        _shard_plate(transaction, shard_ref, shard_doc, operator_id, facility_id, shard, plate)
        return True

    return run(db.transaction())


# --- Reads for the endpoints -------------------------------------------------------------


def candidates(
    db: Client, operator_id: str, facility_id: str, plate: str, now: datetime
) -> tuple[list[PlateStatus], int]:
    """The projections of `plate` and its confusable variants at the facility, and the number
    of documents read: gets by id only.

    One batch reads the skeleton's index document and the exact plate's projection (read
    even when unlisted, so the plate's own answer never depends on the index); a second reads
    the listed look-alikes whose entry has not expired, if there are any. Normally 2 reads,
    plus one per live look-alike.
    """
    skeleton_ref = db.collection(SKELETONS).document(doc_id(facility_id, plates.skeleton(plate)))
    exact_ref = db.collection(PLATE_STATUS).document(doc_id(facility_id, plate))
    found: list[PlateStatus] = []
    others: list[str] = []
    for snapshot in db.get_all([skeleton_ref, exact_ref]):
        if not snapshot.exists:
            continue
        data = snapshot.to_dict() or {}
        if data.get("operatorId") != operator_id or data.get("facilityId") != facility_id:
            continue
        if snapshot.reference.path == exact_ref.path:
            found.append(_parse(snapshot))
        else:
            listed = data.get("plates") or {}
            others = sorted(p for p, until in listed.items() if p != plate and until > now)
    reads = 2
    if others:
        refs = [db.collection(PLATE_STATUS).document(doc_id(facility_id, p)) for p in others]
        for snapshot in db.get_all(refs):
            reads += 1
            data = snapshot.to_dict() if snapshot.exists else None
            if data and data.get("operatorId") == operator_id:
                found.append(_parse(snapshot))
    return found, reads


def whitelist(
    db: Client, operator_id: str, facility_id: str, now: datetime
) -> tuple[list[PlateStatus], int]:
    """Every plate the check would answer paid or pass_active for now, sorted by plate, and
    the number of documents read: one batch get of the facility's whitelist shards."""
    refs = [shard_reference(db, facility_id, n) for n in range(WHITELIST_SHARDS)]
    listed: list[PlateStatus] = []
    for snapshot in db.get_all(refs):
        if not snapshot.exists:
            continue
        data = snapshot.to_dict() or {}
        if data.get("operatorId") != operator_id or data.get("facilityId") != facility_id:
            continue
        for plate, entry in (data.get("plates") or {}).items():
            doc = from_whitelist_entry(operator_id, facility_id, plate, entry)
            if is_whitelisted(doc, now):
                listed.append(doc)
    # A get of a missing document is billed as a read too.
    return sorted(listed, key=lambda p: p.plate), len(refs)


# --- Delta cursors -----------------------------------------------------------------------


def cursor_of(facility_id: str, plate_set: dict[str, str]) -> str:
    """A content hash of the whitelist: the same set always gives the same cursor."""
    digest = hashlib.sha256(facility_id.encode())
    for plate in sorted(plate_set):
        digest.update(f"\n{plate}={plate_set[plate]}".encode())
    return digest.hexdigest()[:32]


_known_snapshots: set[str] = set()
_snapshot_lock = threading.Lock()


def remember_snapshot(
    db: Client, operator_id: str, facility_id: str, cursor: str, plate_set: dict[str, str]
) -> None:
    """Keep the set behind `cursor` so a later ?since=cursor can be answered as a delta."""
    key = doc_id(facility_id, cursor)
    with _snapshot_lock:
        if key in _known_snapshots:
            return
    now = datetime.now(UTC)
    # Same cursor, same content: writing it twice is harmless.
    db.collection(SNAPSHOTS).document(key).set(
        {
            "operatorId": operator_id,
            "facilityId": facility_id,
            "cursor": cursor,
            "plates": plate_set,
            "createdAt": now,
            "expiresAt": now + SNAPSHOT_TTL,
        }
    )
    with _snapshot_lock:
        if len(_known_snapshots) > 10_000:
            _known_snapshots.clear()
        _known_snapshots.add(key)


def load_snapshot(
    db: Client, operator_id: str, facility_id: str, cursor: str
) -> dict[str, str] | None:
    snapshot = db.collection(SNAPSHOTS).document(doc_id(facility_id, cursor)).get()
    if not snapshot.exists:
        return None
    data = snapshot.to_dict()
    if data.get("operatorId") != operator_id or data.get("facilityId") != facility_id:
        return None
    expires = data.get("expiresAt")
    if expires is not None and expires <= datetime.now(UTC):
        return None  # TTL deletion is lazy; an expired cursor is expired now
    return dict(data.get("plates") or {})


# --- The check log -----------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """Who asked: the key's id (the hash, never the key) and label; for a check from the
    dashboard, the staff user instead of a key."""

    key_id: str | None
    key_label: str | None
    staff_uid: str | None = None
    staff_email: str | None = None


def log_check(
    db: Client,
    caller: Caller,
    operator_id: str,
    facility_id: str,
    plate_raw: str,
    result: CheckResult,
    at: datetime,
) -> str:
    """Record one check as dispute evidence; returns the log entry's id."""
    ref = db.collection(CHECKS).document()
    ref.set(
        {
            "kind": "check",
            "operatorId": operator_id,
            "facilityId": facility_id,
            "keyId": caller.key_id,
            "keyLabel": caller.key_label,
            "staffUid": caller.staff_uid,
            "staffEmail": caller.staff_email,
            "plate": result.plate,
            "plateRaw": plate_raw,
            "at": at,
            "status": result.status,
            "shouldFine": result.should_fine,
            "summary": result.summary,
            "confusableMatches": [m.plate for m in result.confusable_matches],
            "coverageRefs": [c.ref for c in result.covering],
            "expiresAt": at + CHECK_LOG_TTL,
        }
    )
    return ref.id


def log_whitelist(
    db: Client,
    caller: Caller,
    operator_id: str,
    facility_id: str,
    count: int,
    cursor: str,
    since: str | None,
    at: datetime,
) -> None:
    db.collection(CHECKS).document().set(
        {
            "kind": "whitelist",
            "operatorId": operator_id,
            "facilityId": facility_id,
            "keyId": caller.key_id,
            "keyLabel": caller.key_label,
            "at": at,
            "count": count,
            "cursor": cursor,
            "since": since,
            "expiresAt": at + CHECK_LOG_TTL,
        }
    )


def affected_keys(
    before: dict[str, Any] | None, after: dict[str, Any] | None, fields: Sequence[str]
) -> set[tuple[str, str, str]]:
    """(operatorId, facilityId, plate) whose projection a write may change; empty if none.

    A write that changes none of `fields` (e.g. only an image URL or updatedAt) needs no
    rebuild. A plate correction moves a session: both plates are rebuilt.
    """
    if (
        before is not None
        and after is not None
        and all(before.get(f) == after.get(f) for f in fields)
    ):
        return set()
    keys: set[tuple[str, str, str]] = set()
    for doc in (before, after):
        if doc and doc.get("operatorId") and doc.get("facilityId") and doc.get("plate"):
            keys.add((doc["operatorId"], doc["facilityId"], doc["plate"]))
    return keys
