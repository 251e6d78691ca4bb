"""One plate check: the answer an officer's handheld gets from `/api/enforcement/check` and
a staff member from the dashboard's plate check, logged as evidence with who asked."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from google.cloud.firestore import Client

from parkingdone import errors, plates, tenants
from parkingdone.enforcement import decision, store


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _payment_json(
    payment: decision.PaymentRecord, coverage: list[decision.Coverage]
) -> dict[str, Any]:
    covering = next((c for c in coverage if c.ref == payment.session_id), None)
    return {
        "sessionId": payment.session_id,
        "status": payment.status,
        "amount": payment.amount,
        "currency": payment.currency,
        "paidAt": _iso(payment.paid_at),
        "validUntil": _iso(covering.ends_at) if covering and covering.kind == "payment" else None,
    }


def _pass_json(coverage: decision.Coverage) -> dict[str, Any]:
    return {
        "passId": coverage.ref,
        "productId": coverage.product_id,
        "validFrom": _iso(coverage.starts_at),
        "validUntil": _iso(coverage.ends_at),
        "amount": coverage.amount,
        "currency": coverage.currency,
    }


def check(
    db: Client,
    caller: store.Caller,
    facility: tenants.Facility,
    plate_raw: str,
    now: datetime | None = None,
) -> tuple[dict[str, Any], int]:
    """The answer for `plate_raw` at the facility now (400 for a plate that is not one),
    after logging the check; and the number of documents read for it."""
    try:
        plate = plates.normalise(plate_raw)
    except plates.InvalidPlate as exc:
        raise errors.bad_request(str(exc), "invalid_plate") from exc
    now = now or datetime.now(UTC)
    found, reads = store.candidates(db, facility.operator_id, facility.id, plate, now)
    result = decision.check(plate, found, now, facility.time_zone)
    exact = next((c for c in found if c.plate == plate), None)
    check_id = store.log_check(
        db, caller, facility.operator_id, facility.id, plate_raw, result, now
    )
    coverage = exact.coverage if exact else []
    body = {
        "plate": plates.display(plate_raw, plate),
        "normalizedPlate": plate,
        "facility": {"id": facility.id, "name": facility.name},
        "status": result.status,
        "shouldFine": result.should_fine,
        "summary": result.summary,
        "recentPayments": [_payment_json(p, coverage) for p in result.payments],
        "activePasses": [_pass_json(c) for c in coverage if c.kind == "pass" and c.covers(now)],
        "automaticPayment": any(c.kind == "auto_payment" for c in result.covering),
        "openSession": (
            {
                "sessionId": result.open_stay.session_id,
                "entryAt": _iso(result.open_stay.entry_at),
                "freeUntil": _iso(result.open_stay.free_until),
            }
            if result.open_stay
            else None
        ),
        "fineableFrom": _iso(result.fineable_at),
        "confusableMatches": [
            {"plate": m.plate, "display": m.display, "status": m.status}
            for m in result.confusable_matches
        ],
        "checkedAt": _iso(now),
        "checkId": check_id,
    }
    return body, reads
