"""Customer lookup for the operator's staff: find a driver by plate (normalised, with its
look-alikes), e-mail or name, and read everything the operator holds about them.

A customer of an operator is a driver who parked there (a session names them), bought there
(a pass), or holds a wallet there. Nobody else is found, and another operator's customer is
not found either (the page answers 404). E-mail and name are matched by prefix, case- and
accent-insensitively, on folded fields of users/{uid} kept by the user trigger
(`search_fields`).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

from google.cloud import firestore
from google.cloud.firestore import Client
from google.cloud.firestore_v1.base_query import FieldFilter

from parkingdone import plates
from parkingdone.admin.queries import plate_variants
from parkingdone.models import disputes, payments, sessions, tickets, wallet_movements, wallets
from parkingdone.models import vehicles as vehicle_docs
from parkingdone.models.disputes import DisputeDoc
from parkingdone.models.passes import COLLECTION as PASSES
from parkingdone.models.payments import PaymentDoc
from parkingdone.models.plate_owners import COLLECTION as PLATE_OWNERS
from parkingdone.models.sessions import SessionDoc
from parkingdone.models.tickets import TicketDoc
from parkingdone.models.users import COLLECTION as USERS

# The most customers one search lists, and the candidates a name or e-mail search reads
# before keeping this operator's customers only.
MAX_RESULTS = 20
MAX_CANDIDATES = 60
PROFILE_ROWS = 50


def fold(text: str | None) -> str:
    """Lower case without accents or extra spaces: "  Äijä Öberg " -> "aija oberg"."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


def search_fields(user: dict[str, Any] | None) -> dict[str, str]:
    """The folded fields a user document should carry for the lookup (pure)."""
    user = user or {}
    return {"searchName": fold(user.get("displayName")), "searchEmail": fold(user.get("email"))}


def on_user_written(uid: str, after: dict[str, Any] | None) -> bool:
    """Keep users/{uid}'s folded search fields in step; writes only when they changed (so
    its own write changes nothing more)."""
    if not after:
        return False
    wanted = search_fields(after)
    if all(after.get(k) == v for k, v in wanted.items()):
        return False
    from parkingdone.firebase import db

    db().collection(USERS).document(uid).update(wanted)
    return True


def is_customer(db: Client, operator_id: str, uid: str) -> bool:
    if not uid:
        return False
    if db.collection(wallets.COLLECTION).document(wallets.wallet_id(operator_id, uid)).get().exists:
        return True
    for collection, owner in ((sessions.COLLECTION, "driverUid"), (PASSES, "uid")):
        query = (
            db.collection(collection)
            .where(filter=FieldFilter("operatorId", "==", operator_id))
            .where(filter=FieldFilter(owner, "==", uid))
            .limit(1)
        )
        if query.get():
            return True
    return False


@dataclass
class Found:
    uid: str
    display_name: str = ""
    email: str = ""
    matched: str = ""  # what the search matched: "plate ABC123", "e-mail", "name"
    plates: list[str] = field(default_factory=list)


def _uids_by_plate(db: Client, operator_id: str, plate: str) -> dict[str, str]:
    """uid -> the plate (exact or look-alike) it was found by."""
    variants = plate_variants(plate)[:30]
    found: dict[str, str] = {}
    for collection, owner in ((sessions.COLLECTION, "driverUid"), (PASSES, "uid")):
        query = (
            db.collection(collection)
            .where(filter=FieldFilter("operatorId", "==", operator_id))
            .where(filter=FieldFilter("plate", "in", variants))
            .limit(MAX_CANDIDATES)
        )
        for snapshot in query.get():
            uid = snapshot.get(owner)
            if uid:
                found.setdefault(uid, snapshot.get("plate"))
    owners = db.get_all([db.collection(PLATE_OWNERS).document(v) for v in variants])
    for snapshot in owners:
        uid = (snapshot.to_dict() or {}).get("uid") if snapshot.exists else None
        if uid and uid not in found and is_customer(db, operator_id, uid):
            found[uid] = snapshot.id
    return found


def _uids_by_prefix(db: Client, fieldname: str, prefix: str) -> list[str]:
    query = (
        db.collection(USERS)
        .where(filter=FieldFilter(fieldname, ">=", prefix))
        .where(filter=FieldFilter(fieldname, "<", prefix + "\uf8ff"))
        .limit(MAX_CANDIDATES)
    )
    return [s.id for s in query.get()]


def search(db: Client, operator_id: str, text: str) -> list[Found]:
    """This operator's customers matching `text`: a plate (and its look-alikes), an e-mail
    or a name prefix."""
    text = (text or "").strip()[:100]
    if not text:
        return []
    matches: dict[str, str] = {}
    try:
        plate = plates.normalise(text)
    except plates.InvalidPlate:
        plate = ""
    if plate and "@" not in text:
        by_plate = _uids_by_plate(db, operator_id, plate)
        matches.update({uid: f"plate {found}" for uid, found in by_plate.items()})
    folded = fold(text)
    if folded:
        field_name, label = ("searchEmail", "e-mail") if "@" in text else ("searchName", "name")
        for uid in _uids_by_prefix(db, field_name, folded):
            if uid not in matches and is_customer(db, operator_id, uid):
                matches[uid] = label
            if len(matches) >= MAX_RESULTS:
                break
    uids = list(matches)[:MAX_RESULTS]
    users = db.get_all([db.collection(USERS).document(uid) for uid in uids])
    by_uid = {s.id: (s.to_dict() or {}) for s in users if s.exists}
    results = []
    for uid in uids:
        user = by_uid.get(uid, {})
        results.append(
            Found(
                uid=uid,
                display_name=user.get("displayName") or "",
                email=user.get("email") or "",
                matched=matches[uid],
            )
        )
    return results


@dataclass
class Profile:
    uid: str
    user: dict[str, Any]
    vehicles: list[dict[str, Any]]
    sessions: list[SessionDoc]
    passes: list[dict[str, Any]]
    payments: list[PaymentDoc]
    disputes: list[DisputeDoc]
    tickets: list[TicketDoc]
    wallet: wallets.WalletDoc | None
    movements: list[wallet_movements.MovementDoc]


def profile(db: Client, operator_id: str, uid: str) -> Profile | None:
    """Everything the operator holds about its customer; None for anyone else."""
    if not is_customer(db, operator_id, uid):
        return None
    user_ref = db.collection(USERS).document(uid)
    user = user_ref.get().to_dict() or {}
    vehicles = [{**v.to_dict(), "id": v.id} for v in vehicle_docs.of_user(db, uid).get()]

    def of_operator(collection: str, owner: str, order: str) -> Any:
        return (
            db.collection(collection)
            .where(filter=FieldFilter("operatorId", "==", operator_id))
            .where(filter=FieldFilter(owner, "==", uid))
            .order_by(order, direction=firestore.Query.DESCENDING)
            .limit(PROFILE_ROWS)
        )

    stays = [
        d
        for d in (
            SessionDoc.from_snapshot(s)
            for s in of_operator(sessions.COLLECTION, "driverUid", "createdAt").get()
        )
        if d is not None and d.status != sessions.SUPERSEDED
    ]
    passes = [{**p.to_dict(), "id": p.id} for p in of_operator(PASSES, "uid", "createdAt").get()]
    ledger = [
        d
        for d in (
            PaymentDoc.from_snapshot(s)
            for s in of_operator(payments.COLLECTION, "uid", "createdAt").get()
        )
        if d is not None
    ]
    return Profile(
        uid=uid,
        user=user,
        vehicles=vehicles,
        sessions=stays,
        passes=passes,
        payments=ledger,
        disputes=disputes.of_customer(db, operator_id, uid),
        tickets=tickets.of_driver_at_operator(db, operator_id, uid),
        wallet=wallets.get(db, operator_id, uid),
        movements=wallet_movements.of_wallet(db, wallets.wallet_id(operator_id, uid), PROFILE_ROWS),
    )
