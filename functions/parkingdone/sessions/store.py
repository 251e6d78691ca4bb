"""Sessions in Firestore: the plate's track and the session writes of a pairing, in a transaction.

The track of a plate at a facility (its recent events in time order and the stays they pair
into, `machine.Track`) lives on the plate's document `plateStatus/{facilityId}__{plate}`, beside
the enforcement projection that the same transaction rewrites (enforcement/store.py). So one
read gives an event everything it needs, and an officer's check made right after the
acknowledgement already sees the stay.

Cost of an entry at the webhook: reads the plate's document and plateOwners (one batch get),
plus the driver's profile when the plate is registered; writes the inbox event, the session,
the plate's document, and the look-alike index or a whitelist shard when the plate's entry
there changes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from google.cloud import firestore
from google.cloud.firestore import Client, DocumentReference, DocumentSnapshot, Transaction
from google.cloud.firestore_v1.base_query import FieldFilter

from parkingdone.models import sessions
from parkingdone.models.plate_owners import COLLECTION as PLATE_OWNERS
from parkingdone.models.plate_status import COLLECTION as PLATE_STATUS
from parkingdone.models.sessions import COLLECTION as SESSIONS
from parkingdone.models.users import COLLECTION as USERS
from parkingdone.sessions.machine import (
    PAIRING_FLAGS,
    Change,
    Event,
    Status,
    StayRecord,
    Track,
    Tracked,
    order_key,
)

# The plate's document at a facility: its track and its enforcement projection.


def plate_doc_id(facility_id: str, plate: str) -> str:
    return f"{facility_id}__{plate}"


def plate_ref(db: Client, facility_id: str, plate: str) -> firestore.DocumentReference:
    return db.collection(PLATE_STATUS).document(plate_doc_id(facility_id, plate))


def session_ref(db: Client, session_id: str) -> firestore.DocumentReference:
    return sessions.ref(db, session_id)


# --- The track as stored -------------------------------------------------------------------


def track_from(doc: dict[str, Any] | None, plate: str) -> Track:
    stored = (doc or {}).get("track") or {}
    events = tuple(
        Tracked(
            Event(
                kind=e["kind"],
                at=e["at"],
                plate=plate,
                plate_raw=e.get("plateRaw") or plate,
                event_id=e["id"],
                source=e.get("source", "anpr"),
                country=e.get("country"),
                image_url=e.get("imageUrl"),
            ),
            int(e.get("seq", 0)),
        )
        for e in stored.get("events") or []
    )
    stays = tuple(
        StayRecord(
            session_id=s["sessionId"],
            entry=s.get("entry"),
            exit=s.get("exit"),
            status=Status(s["status"]),
            flags=tuple(s.get("flags") or ()),
        )
        for s in stored.get("stays") or []
    )
    return Track(
        events=events,
        stays=stays,
        seq=int(stored.get("seq", 0)),
        horizon=stored.get("horizon"),
        retired=tuple(stored.get("retired") or ()),
    )


def track_document(track: Track) -> dict[str, Any]:
    return {
        "seq": track.seq,
        "horizon": track.horizon,
        "retired": list(track.retired),
        "events": [
            {
                "id": t.id,
                "kind": t.kind,
                "at": t.at,
                "seq": t.seq,
                "plateRaw": t.event.plate_raw,
                "imageUrl": t.event.image_url,
                "source": t.event.source,
                "country": t.event.country,
            }
            for t in track.events
        ],
        "stays": [
            {
                "sessionId": s.session_id,
                "entry": s.entry,
                "exit": s.exit,
                "status": str(s.status),
                "flags": list(s.flags),
            }
            for s in track.stays
        ],
    }


def track_from_sessions(docs: list[sessions.SessionDoc], plate: str) -> Track:
    """A track rebuilt from session documents (a plate with no stored track, or a resync)."""
    events: list[Tracked] = []
    stays: list[StayRecord] = []
    seq = 0
    live = [s for s in docs if s.status != Status.SUPERSEDED]
    for session in sorted(live, key=_first_at):
        ids: dict[str, str | None] = {"entry": None, "exit": None}
        for kind, mark in (("entry", session.entry), ("exit", session.exit)):
            if mark is None:
                continue
            seq += 1
            event_id = mark.event_id or f"{session.id}:{kind}"
            ids[kind] = event_id
            events.append(
                Tracked(
                    Event(
                        kind=kind,  # type: ignore[arg-type]
                        at=mark.at,
                        plate=plate,
                        plate_raw=session.plate_raw or plate,
                        event_id=event_id,
                        source=session.source,
                        country=session.country,
                        image_url=mark.image_url,
                    ),
                    seq,
                )
            )
        flags = tuple(f for f in session.flags if f in PAIRING_FLAGS)
        stays.append(
            StayRecord(session.id, ids["entry"], ids["exit"], Status(session.status), flags)
        )
    return Track(events=tuple(sorted(events, key=order_key)), stays=tuple(stays), seq=seq)


def _first_at(session: sessions.SessionDoc) -> datetime:
    mark = session.entry or session.exit
    assert mark is not None, f"session {session.id} has neither entry nor exit"
    return mark.at


# --- Reads ---------------------------------------------------------------------------------


def read_plate(
    transaction: Transaction,
    db: Client,
    facility_id: str,
    plate: str,
    also: DocumentReference | None = None,
) -> tuple[dict[str, Any] | None, str | None, DocumentSnapshot | None]:
    """The plate's document at the facility, its registered driver's uid and the snapshot of
    `also` (a document the caller needs in the same transaction, None without): one batch
    get."""
    doc_ref = plate_ref(db, facility_id, plate)
    owner_ref = db.collection(PLATE_OWNERS).document(plate)
    refs = [doc_ref, owner_ref] + ([also] if also is not None else [])
    found = {s.reference.path: s for s in transaction.get_all(refs)}
    doc = found.get(doc_ref.path)
    owner = found.get(owner_ref.path)
    uid = (owner.to_dict() or {}).get("uid") if owner is not None and owner.exists else None
    extra = found.get(also.path) if also is not None else None
    return (doc.to_dict() if doc is not None and doc.exists else None), uid, extra


def has_saved_card(transaction: Transaction | None, db: Client, uid: str) -> bool:
    ref = db.collection(USERS).document(uid)
    snapshot = next(iter(transaction.get_all([ref]))) if transaction else ref.get()
    return bool(snapshot.exists and (snapshot.to_dict() or {}).get("defaultPaymentMethodId"))


def read_track(db: Client, facility_id: str, plate: str) -> Track:
    snapshot = plate_ref(db, facility_id, plate).get()
    return track_from(snapshot.to_dict() if snapshot.exists else None, plate)


def recent_exit(
    db: Client,
    facility_id: str,
    plate: str,
    at: datetime,
    window: timedelta,
) -> tuple[str, datetime] | None:
    """(id, exit time) of a session of this plate here whose exit is within `window` of `at`."""
    query = (
        db.collection(SESSIONS)
        .where(filter=FieldFilter("facilityId", "==", facility_id))
        .where(filter=FieldFilter("plate", "==", plate))
        .where(filter=FieldFilter("exit.at", ">=", at - window))
        .where(filter=FieldFilter("exit.at", "<=", at + window))
        .limit(1)
    )
    for snapshot in query.get():
        return snapshot.id, snapshot.get("exit.at")
    return None


# --- Writes --------------------------------------------------------------------------------


def write_sessions(transaction: Transaction, db: Client, change: Change, now: datetime) -> None:
    """Queue the session writes of a pairing change on the transaction, in the shape of the
    one session model (models/sessions.py)."""
    for session_id, document in change.creates.items():
        transaction.create(
            session_ref(db, session_id),
            sessions.stamped(sessions.for_create({**document, "createdAt": now, "updatedAt": now})),
        )
    for session_id, fields in change.updates.items():
        update = {k: v for k, v in fields.items() if k != "pairingFlags"}
        if "pairingFlags" in fields:
            before, after = fields["pairingFlags"]
            if set(before) - set(after):
                update["flags"] = list(after)
            else:
                # A union keeps flags others set (e.g. the max-stay sweep) without a read.
                update["flags"] = firestore.ArrayUnion(list(after))
        if session_id in change.corrections:
            update["correctionPending"] = True
        transaction.update(
            session_ref(db, session_id),
            sessions.stamped(sessions.check_update({**update, "updatedAt": now})),
        )
