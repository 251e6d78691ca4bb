"""Correcting a misread plate on a stay: the one code path for the dashboard and any caller.

The stay gets the right plate and is re-linked to that plate's registered driver (or to
none), its fee is recomputed where the tariff says something else now, and both plates'
enforcement projections are rebuilt. The correction is kept on the session
(`corrections`), so the evidence timeline shows it. Where money has already moved on the
wrong plate, the correction is refused with what to do first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from firebase_functions import logger
from google.cloud import firestore
from google.cloud.firestore import Client, Transaction

from parkingdone import errors, plates, tariffs, tenants
from parkingdone.models import facilities, plate_owners
from parkingdone.sessions.store import SESSIONS, plate_ref, track_from

MAX_REASON = 500
# Payment states in which a correction would leave money with the wrong driver.
REFUSED_PAYMENTS = {
    "succeeded": "The stay is already paid by the driver of {plate}: refund the payment "
    "first, then correct the plate.",
    "paid": "The invoice for {plate} is paid: refund it first, then correct the plate.",
    "pending": "A charge for this stay is in progress; try again in a minute.",
    "settling": "A payment for this stay is being settled; try again in a minute.",
    "invoiced": "An invoice has been sent for {plate}: cancel the invoice first.",
    "review_required": "The payment of this stay needs review before the plate is corrected.",
}


# Refusals are the one domain error type, errors.ApiError (status, code, message).
CorrectionError = errors.ApiError


@dataclass(frozen=True)
class Corrector:
    uid: str
    email: str | None
    operator_id: str


def refusal(session: dict[str, Any]) -> str | None:
    """Why this stay's plate may not be corrected now, or None (pure)."""
    if session.get("status") == "superseded":
        return "This stay was replaced by another one; correct that one."
    payment = session.get("payment") or {}
    status = payment.get("status")
    if status in REFUSED_PAYMENTS and payment.get("refundStatus") != "refunded":
        return REFUSED_PAYMENTS[status].format(
            plate=session.get("plateRaw") or session.get("plate")
        )
    return None


def _fee(facility_id: str, facility: dict[str, Any], session: dict[str, Any]) -> dict | None:
    """The fee the payments code computes for this stay now (None while it is open)."""
    from parkingdone.payments import charging
    from parkingdone.payments.models import SessionView

    if not (session.get("exit") or {}).get("at") or not (session.get("entry") or {}).get("at"):
        return None
    try:
        fee = charging.compute_session_fee(
            tenants.Facility.model_validate({**facility, "id": facility_id}),
            SessionView.model_validate(session),
        )
    except (tariffs.TariffError, ValueError):
        return None
    return fee.model_dump(by_alias=True, mode="json")


def correct_plate(
    db: Client, corrector: Corrector, session_id: str, raw_plate: str, reason: str
) -> dict[str, Any]:
    """Apply the correction; returns {before, after} for the audit log."""
    try:
        new_plate = plates.normalise(raw_plate)
    except plates.InvalidPlate as exc:
        raise CorrectionError(400, "invalid_plate", f"Not a plate: {raw_plate!r}") from exc
    reason = " ".join((reason or "").split())
    if not reason:
        raise CorrectionError(400, "reason_required", "Say why the plate is corrected")
    if len(reason) > MAX_REASON:
        raise CorrectionError(400, "reason_too_long", f"At most {MAX_REASON} characters")
    session_ref = db.collection(SESSIONS).document(session_id)

    @firestore.transactional
    def run(transaction: Transaction) -> dict[str, Any]:
        now = datetime.now(UTC)
        snapshot = session_ref.get(transaction=transaction)
        session = snapshot.to_dict() if snapshot.exists else None
        if session is None or session.get("operatorId") != corrector.operator_id:
            raise CorrectionError(404, "not_found", "No such session")
        old_plate = session.get("plate", "")
        if new_plate == old_plate:
            raise CorrectionError(409, "same_plate", f"The stay already has plate {new_plate}")
        why_not = refusal(session)
        if why_not:
            raise CorrectionError(409, "not_correctable", why_not)
        facility_id = session["facilityId"]
        owner_ref = plate_owners.ref(db, new_plate)
        facility_ref = db.collection(facilities.COLLECTION).document(facility_id)
        new_plate_ref = plate_ref(db, facility_id, new_plate)
        refs = [owner_ref, facility_ref, new_plate_ref]
        found = {s.reference.path: s for s in transaction.get_all(refs)}
        owner = found[owner_ref.path]
        new_driver = (owner.to_dict() or {}).get("uid") if owner.exists else None
        updates: dict[str, Any] = {
            "plate": new_plate,
            "plateRaw": raw_plate.strip(),
            "driverUid": new_driver,
            "updatedAt": now,
        }
        if session.get("status") == "open":
            target = found[new_plate_ref.path]
            track = track_from(target.to_dict() if target.exists else None, new_plate)
            if track.open_stay() is not None:
                raise CorrectionError(
                    409, "plate_parked", f"{new_plate} already has an open stay at this facility"
                )
        facility = found[facility_ref.path].to_dict() or {}
        payment = session.get("payment") or {}
        fee = _fee(facility_id, facility, session)
        old_total = (session.get("fee") or {}).get("total")
        if fee is not None and fee.get("total") != old_total:
            if payment and payment.get("status") not in (None, "not_required"):
                raise CorrectionError(
                    409,
                    "fee_changes",
                    "The fee would change with the tariff in force; cancel the payment first.",
                )
            updates["fee"] = fee
        correction = {
            "fromPlate": old_plate,
            "toPlate": new_plate,
            "reason": reason,
            "by": corrector.uid,
            "byEmail": corrector.email,
            "at": now,
            "driverFrom": session.get("driverUid"),
            "driverTo": new_driver,
        }
        updates["corrections"] = firestore.ArrayUnion([correction])
        transaction.update(session_ref, updates)
        before = {"plate": old_plate, "driverUid": session.get("driverUid"), "fee": old_total}
        after = {
            "plate": new_plate,
            "driverUid": new_driver,
            "fee": (fee or {}).get("total", old_total),
        }
        return {"before": before, "after": after, "facilityId": facility_id}

    result = run(db.transaction())
    # Both plates' tracks and enforcement answers change; the session trigger refreshes them
    # too, and a rebuild is idempotent, so doing it here makes the next check right at once.
    from parkingdone.enforcement import store as enforcement

    # The old plate's track lets the stay go; the new plate's track takes it in (resync).
    for plate, resync in ((result["before"]["plate"], False), (new_plate, True)):
        try:
            enforcement.rebuild(
                db, corrector.operator_id, result["facilityId"], plate, resync=resync
            )
        except Exception as exc:  # the trigger and the sweep retry
            logger.warning("corrections.rebuild_failed", sessionId=session_id, error=repr(exc))
            enforcement.mark_pending(db, corrector.operator_id, result["facilityId"], plate)
    logger.info(
        "sessions.plate_corrected",
        sessionId=session_id,
        operatorId=corrector.operator_id,
        facilityId=result["facilityId"],
        by=corrector.uid,
    )
    return result
