"""The one session trigger wakes only the handlers a change needs (pure)."""

from datetime import UTC, datetime, timedelta

from parkingdone.sessions import dispatch


def test_one_trigger_picks_only_the_handlers_a_change_needs() -> None:
    opened = {
        "status": "open",
        "plate": "A1",
        "operatorId": "op",
        "facilityId": "fac",
        "driverUid": None,
        "entry": {"at": 1},
        "pairingSeq": 1,
    }
    assert dispatch.handlers(None, opened) == []
    registered = {**opened, "driverUid": "u1"}
    assert dispatch.handlers(None, registered) == ["entry_push"]
    closed = {**registered, "status": "closed", "exit": {"at": 2}, "pairingSeq": 2}
    assert dispatch.handlers(registered, closed) == ["charge"]
    paid = {**closed, "payment": {"status": "succeeded"}}
    assert dispatch.handlers(closed, paid) == ["projection"]
    # The write-back of the evidence copy wakes nothing else.
    # An entry with its camera image: the copy runs, and its write-back wakes nothing else.
    shot = {**opened, "entry": {"at": 1, "imageUrl": "https://x/y.jpg", "eventId": "e"}}
    assert dispatch.handlers(None, shot) == ["evidence"]
    with_image = {**shot, "payment": None}
    assert dispatch.handlers(shot, with_image) == ["evidence"]
    recorded = {**with_image, "evidence": [{"kind": "entry_image", "eventId": "e"}]}
    assert dispatch.handlers(with_image, recorded) == []


def test_a_plate_correction_refreshes_both_plates_and_resyncs_the_new_one() -> None:
    before = {
        "status": "closed",
        "plate": "ABC123",
        "operatorId": "op",
        "facilityId": "fac",
        "payment": None,
        "pairingSeq": 2,
    }
    after = {**before, "plate": "ABC128"}
    assert dispatch.projection_keys(before, after) == [("ABC128", True), ("ABC123", False)]


def test_a_correction_runs_once_when_the_pairing_asks_for_it() -> None:
    closed = {
        "status": "closed",
        "plate": "A1",
        "operatorId": "op",
        "facilityId": "fac",
        "exit": {"at": 2},
        "pairingSeq": 2,
    }
    marked = {**closed, "correctionPending": True}
    assert dispatch.handlers(closed, marked) == ["correction"]
    assert dispatch.handlers(marked, {**marked, "updatedAt": 3}) == []


def test_a_session_written_outside_the_pairing_resyncs_its_plate() -> None:
    imported = {
        "status": "open",
        "plate": "A1",
        "operatorId": "op",
        "facilityId": "fac",
        "entry": {"at": 1},
    }
    assert dispatch.handlers(None, imported) == ["projection"]
    assert dispatch.projection_keys(None, imported) == [("A1", True)]
    paired = {**imported, "pairingSeq": 3}
    closed_by_hand = {**paired, "status": "closed", "exit": {"at": 2}}
    assert dispatch.projection_keys(paired, closed_by_hand) == [("A1", True)]
    closed_by_pairing = {**closed_by_hand, "pairingSeq": 4}
    assert dispatch.projection_keys(paired, closed_by_pairing) == []


def test_a_stay_created_closed_is_charged_only_when_the_pairing_made_it() -> None:
    split = {
        "status": "closed",
        "plate": "A1",
        "operatorId": "op",
        "facilityId": "fac",
        "exit": {"at": 2},
        "pairingSeq": 5,
    }
    assert "charge" in dispatch.handlers(None, split)
    imported = {k: v for k, v in split.items() if k != "pairingSeq"}
    assert "charge" not in dispatch.handlers(None, imported)


# --- figures: the pump for stamped writes, the trigger for the rest ---------------------------


def _stamped(doc: dict, at: datetime) -> dict:
    return {**doc, "changedAt": at}


def test_a_stamped_write_asks_the_figures_pump_and_an_unstamped_one_is_counted_here():
    at = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
    created = {"operatorId": "op", "facilityId": "f", "plate": "ABC123", "status": "open"}
    assert dispatch.figures_handler(None, _stamped(created, at)) == ["figures_pump"]
    # A quiet trigger counts a stamped write itself.
    assert dispatch.figures_handler(None, _stamped(created, at), busy=False) == ["figures"]
    assert dispatch.figures_handler(None, created) == ["figures"]
    closed = {**created, "status": "closed"}
    later = at + timedelta(seconds=1)
    assert dispatch.figures_handler(_stamped(created, at), _stamped(closed, later)) == [
        "figures_pump"
    ]
    # A counted field changed by a writer that did not stamp: the old stamp stays.
    assert dispatch.figures_handler(_stamped(created, at), _stamped(closed, at)) == ["figures"]
    # A deletion is never read by the pump.
    assert dispatch.figures_handler(_stamped(created, at), None) == ["figures"]
    # Nothing counted changed: neither.
    assert dispatch.figures_handler(_stamped(created, at), _stamped(created, later)) == []


def test_a_stamped_write_the_quiet_trigger_fails_to_count_is_left_to_the_pump(monkeypatch) -> None:
    """The trigger's own transaction can give up under contention: a write the pump can read
    (stamped) is then asked of the pump; one it cannot read fails as before (logged)."""
    import pytest

    from parkingdone.admin import aggregates, figures_pump

    def give_up(session_id: str) -> None:
        raise RuntimeError("transaction aborted")

    asked: list[str] = []
    monkeypatch.setattr(aggregates, "on_session_written", give_up)
    monkeypatch.setattr(
        figures_pump, "request", lambda operator_id, now=None: asked.append(operator_id)
    )
    before = {"status": "open", "operatorId": "op", "changedAt": datetime(2026, 1, 1, tzinfo=UTC)}
    stamped = {**before, "status": "closed", "changedAt": datetime(2026, 1, 2, tzinfo=UTC)}
    with pytest.raises(RuntimeError):
        dispatch._run("figures", "s1", before, stamped)
    assert asked == ["op"]
    unstamped = {**before, "status": "closed"}
    with pytest.raises(RuntimeError):
        dispatch._run("figures", "s1", before, unstamped)
    assert asked == ["op"]
