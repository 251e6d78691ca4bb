"""The one session model (models/sessions.py) is the shape the pure pairing writes, the
shape payments read and the shape enforcement mirrors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from parkingdone.models import sessions
from parkingdone.payments.models import SessionView
from parkingdone.sessions.machine import Context, Event, Track, apply

T0 = datetime(2026, 3, 30, 14, 23, tzinfo=UTC)
CTX = Context(
    operator_id="op",
    facility_id="fac",
    driver_uid=None,
    debounce=timedelta(seconds=120),
    max_stay=timedelta(days=7),
    retention=timedelta(days=60),
)


def _event(kind: str, minutes: int, key: str) -> Event:
    return Event(
        kind=kind,  # type: ignore[arg-type]
        at=T0 + timedelta(minutes=minutes),
        plate="ABC123",
        plate_raw="ABC-123",
        event_id=key,
    )


@given(
    kinds=st.lists(st.sampled_from(["entry", "exit"]), min_size=1, max_size=6),
    gaps=st.lists(st.integers(1, 600), min_size=6, max_size=6),
)
def test_every_session_the_pairing_creates_fits_the_model_unchanged(kinds, gaps) -> None:
    track, minute = Track(), 0
    for n, kind in enumerate(kinds):
        minute += gaps[n]
        change = apply(track, _event(kind, minute, f"e{n}"), CTX, T0 + timedelta(days=1))
        for document in change.creates.values():
            stamped = {**document, "createdAt": T0, "updatedAt": T0}
            assert sessions.for_create(stamped) == stamped
        for fields in change.updates.values():
            sessions.check_update({k: v for k, v in fields.items() if k != "pairingFlags"})
        track = change.track


def test_a_field_the_model_does_not_know_is_refused() -> None:
    with pytest.raises(ValueError, match="chargedTwice"):
        sessions.check_update({"status": "closed", "chargedTwice": True})
    with pytest.raises(ValueError, match="colour"):
        sessions.for_create({"operatorId": "op", "facilityId": "f", "status": "open", "colour": 1})
    with pytest.raises(ValidationError):
        sessions.for_create({"operatorId": "op", "facilityId": "f", "status": "open", "entry": {}})
    assert sessions.check_update({"payment.lockUntil": T0}) == {"payment.lockUntil": T0}


def test_payments_read_the_same_model_and_keep_the_payment_as_stored() -> None:
    stored = {
        "operatorId": "op",
        "facilityId": "fac",
        "status": "closed",
        "entry": {"at": T0, "eventId": "e1"},
        "exit": {"at": T0 + timedelta(hours=1), "eventId": "e2"},
        "payment": {"status": "pending", "paymentId": "p1", "lockUntil": T0, "attempts": 1},
        "chargeAt": T0,
    }
    view = SessionView.model_validate(stored)
    doc = sessions.SessionDoc.model_validate(stored)
    assert isinstance(view, sessions.SessionDoc)
    assert view.payment == stored["payment"] and view.charge_at == T0
    assert doc.payment is not None and doc.payment.stored() == stored["payment"]
    assert doc.payment_status == "pending"


def test_both_kinds_of_correction_fit_the_model() -> None:
    doc = sessions.SessionDoc.model_validate(
        {
            "operatorId": "op",
            "facilityId": "fac",
            "status": "closed",
            "corrections": [
                {"fromPlate": "ABC123", "toPlate": "ABD123", "reason": "typo", "by": "u", "at": T0},
                {"kind": "payment_correction", "at": T0, "difference": 300, "currency": "EUR"},
            ],
        }
    )
    plate, money = doc.corrections
    assert plate.is_plate_correction and not money.is_plate_correction
    assert money.difference == 300
