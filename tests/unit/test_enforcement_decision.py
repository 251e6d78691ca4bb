"""The enforcement decision: statuses, shouldFine, grace, confusables, summaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parkingdone.enforcement.decision import (
    OPEN_ENDED,
    WHITELIST_SHARDS,
    PlateStatus,
    build_plate_status,
    check,
    decide,
    entry_expires_at,
    from_whitelist_entry,
    is_relevant,
    is_whitelisted,
    relevant_until,
    shard_of,
    whitelist_entry,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ZONE = "Europe/Helsinki"
T0 = datetime(2026, 3, 30, 11, 23, tzinfo=UTC)  # 14:23 in Helsinki
GRACE = 10
FREE = 15
EXIT_GRACE = 15


def terms(_entry: datetime) -> tuple[int, int]:
    return FREE, EXIT_GRACE


def session(
    status: str = "open",
    entry: datetime = T0,
    exit_at: datetime | None = None,
    payment: dict | None = None,
    driver: str | None = None,
    raw: str = "ABC-123",
) -> dict:
    return {
        "status": status,
        "plateRaw": raw,
        "entry": {"at": entry},
        "exit": {"at": exit_at} if exit_at else None,
        "payment": payment,
        "driverUid": driver,
        "fee": None,
    }


def a_pass(valid_from: datetime, valid_until: datetime, status: str = "active") -> dict:
    return {
        "status": status,
        "validFrom": valid_from,
        "validUntil": valid_until,
        "amount": 4900,
        "currency": "EUR",
        "productId": "month",
    }


def projection(
    plate: str = "ABC123",
    sessions: list[tuple[str, dict]] = (),
    passes: list[tuple[str, dict]] = (),
    saved_card: set[str] = frozenset(),
    skeleton: str = "A8C123",
) -> PlateStatus:
    return build_plate_status(
        operator_id="op",
        facility_id="kamppi-p1",
        plate=plate,
        skeleton=skeleton,
        sessions=sessions,
        passes=passes,
        grace_minutes=GRACE,
        tariff_terms=terms,
        drivers_with_saved_card=set(saved_card),
        now=T0,
    )


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# --- statuses ---------------------------------------------------------------------------


def test_no_projection_is_not_found_and_never_fined():
    result = check("ABC123", [], at(60), ZONE)
    assert result.status == "not_found"
    assert result.should_fine is False
    assert "No parking session" in result.summary


def test_open_unpaid_stay_is_fineable_only_after_free_period_plus_grace():
    doc = projection(sessions=[("s1", session())])
    for minutes, fine in [(0, False), (14, False), (24.9, False), (25, True), (600, True)]:
        result = check("ABC123", [doc], at(minutes), ZONE)
        assert result.status == "parked_unpaid"
        assert result.should_fine is fine, minutes
    assert check("ABC123", [doc], at(20), ZONE).summary.endswith("until 14:48 — do not fine yet.")


def test_registered_driver_with_saved_card_is_paid_by_automatic_payment():
    doc = projection(sessions=[("s1", session(driver="u1"))], saved_card={"u1"})
    result = check("ABC123", [doc], at(300), ZONE)
    assert result.status == "paid"
    assert result.should_fine is False
    assert "automatic payment" in result.summary
    assert result.covering[0].ends_at == OPEN_ENDED


def test_driver_without_saved_card_is_unpaid():
    doc = projection(sessions=[("s1", session(driver="u1"))], saved_card=set())
    assert check("ABC123", [doc], at(300), ZONE).should_fine is True


def test_pending_payment_is_an_automatic_arrangement():
    doc = projection(sessions=[("s1", session(payment={"status": "pending"}))])
    assert decide(doc, at(500)).status == "paid"


def test_failed_payment_on_open_stay_is_unpaid():
    doc = projection(sessions=[("s1", session(payment={"status": "failed"}))])
    assert decide(doc, at(500)).status == "parked_unpaid"


def test_in_app_payment_covers_exit_grace_plus_enforcement_grace_then_fineable():
    paid_at = at(60)
    doc = projection(
        sessions=[
            ("s1", session(payment={"status": "succeeded", "paidAt": paid_at, "amount": 300}))
        ]
    )
    assert decide(doc, at(59)).status == "paid"  # payment covers the stay so far
    assert decide(doc, at(60 + EXIT_GRACE + GRACE - 1)).status == "paid"
    later = check("ABC123", [doc], at(60 + EXIT_GRACE + GRACE), ZONE)
    assert later.status == "parked_unpaid"
    assert later.should_fine is True
    assert later.payments[0].amount == 300


def test_closed_paid_stay_is_paid_within_grace_of_payment_then_not_found():
    doc = projection(
        sessions=[
            (
                "s1",
                session(
                    status="closed",
                    exit_at=at(100),
                    payment={"status": "succeeded", "paidAt": at(101), "amount": 600},
                ),
            )
        ]
    )
    assert decide(doc, at(101 + GRACE - 0.1)).status == "paid"
    after = check("ABC123", [doc], at(101 + GRACE), ZONE)
    assert after.status == "not_found"
    assert after.should_fine is False
    assert after.payments[0].amount == 600  # still listed as a recent payment


def test_pass_active_only_inside_validity_decided_at_read_time():
    doc = projection(passes=[("p1", a_pass(at(0), at(60)))])
    assert decide(doc, at(-1)).status == "not_found"
    result = check("ABC123", [doc], at(30), ZONE)
    assert result.status == "pass_active"
    assert result.covering[0].product_id == "month"
    assert "15:23" in result.summary
    assert decide(doc, at(60)).status == "not_found"


def test_cancelled_pass_covers_nothing():
    doc = projection(passes=[("p1", a_pass(at(0), at(60), status="cancelled"))])
    assert decide(doc, at(30)).status == "not_found"


def test_pass_expiring_during_stay_gives_grace_before_fine():
    doc = projection(sessions=[("s1", session())], passes=[("p1", a_pass(at(-600), at(120)))])
    assert decide(doc, at(100)).status == "pass_active"
    result = check("ABC123", [doc], at(125), ZONE)
    assert result.status == "parked_unpaid" and result.should_fine is False
    assert check("ABC123", [doc], at(130), ZONE).should_fine is True


def test_pass_wins_over_payment():
    doc = projection(
        sessions=[("s1", session(payment={"status": "pending"}))],
        passes=[("p1", a_pass(at(-1), at(60)))],
    )
    assert decide(doc, at(5)).status == "pass_active"


@pytest.mark.parametrize("status", ["missing_exit", "anomaly"])
def test_review_stays_are_never_fineable(status):
    doc = projection(sessions=[("s1", session(status=status))])
    result = check("ABC123", [doc], at(600), ZONE)
    assert result.status == "not_found" and result.should_fine is False


def test_rebuild_pending_blocks_fines():
    doc = projection(sessions=[("s1", session())]).model_copy(update={"rebuild_pending": True})
    result = check("ABC123", [doc], at(600), ZONE)
    assert result.status == "parked_unpaid"
    assert result.should_fine is False
    assert "being updated" in result.summary


def test_display_is_the_latest_raw_reading():
    doc = projection(
        sessions=[
            ("old", session(status="closed", entry=at(-900), exit_at=at(-800), raw="abc 123")),
            ("new", session()),
        ]
    )
    assert doc.display == "ABC-123"


def test_covered_until_is_the_latest_coverage_end():
    doc = projection(passes=[("p1", a_pass(at(0), at(60))), ("p2", a_pass(at(100), at(200)))])
    assert doc.covered_until == at(200)
    assert decide(doc, at(80)).status == "not_found"  # in the gap between two passes
    assert is_whitelisted(doc, at(150))


def test_round_trip_through_firestore_shape():
    doc = projection(sessions=[("s1", session(driver="u"))], saved_card={"u"})
    stored = doc.model_dump(by_alias=True)
    assert "coveredUntil" in stored and "openStay" in stored
    again = PlateStatus.model_validate(stored)
    assert again == doc


# --- confusables ------------------------------------------------------------------------


def test_unpaid_exact_with_paid_confusable_is_not_fined_and_says_so():
    exact = projection(plate="ABC123", sessions=[("s1", session())])
    variant = projection(plate="A8C123", passes=[("p1", a_pass(at(-10), at(600)))])
    result = check("ABC123", [exact, variant], at(300), ZONE)
    assert result.status == "parked_unpaid"
    assert result.should_fine is False
    assert [m.plate for m in result.confusable_matches] == ["A8C123"]
    assert "similar plate" in result.summary


def test_paid_exact_ignores_variants():
    exact = projection(plate="ABC123", sessions=[("s1", session(payment={"status": "pending"}))])
    variant = projection(plate="A8C123", sessions=[("s2", session())])
    result = check("ABC123", [exact, variant], at(300), ZONE)
    assert result.status == "paid" and result.confusable_matches == []


CONFUSABLE = {
    "O": "0",
    "0": "O",
    "I": "1",
    "1": "I",
    "B": "8",
    "8": "B",
    "S": "5",
    "5": "S",
    "Z": "2",
    "2": "Z",
}
plates_with_confusables = st.text(alphabet="ABOISZ0123589", min_size=2, max_size=7).filter(
    lambda p: any(ch in CONFUSABLE for ch in p)
)


@settings(max_examples=200, deadline=None)
@given(
    plate=plates_with_confusables,
    flip=st.data(),
    minutes=st.floats(min_value=0, max_value=3 * 24 * 60),
    variant_kind=st.sampled_from(["pass", "pending", "paid_closed"]),
    exact_kind=st.sampled_from(["none", "open", "open_failed"]),
)
def test_never_fine_when_a_confusable_variant_is_covered(
    plate, flip, minutes, variant_kind, exact_kind
):
    positions = [i for i, ch in enumerate(plate) if ch in CONFUSABLE]
    chosen = flip.draw(st.sets(st.sampled_from(positions), min_size=1))
    variant = "".join(CONFUSABLE[ch] if i in chosen else ch for i, ch in enumerate(plate))
    now = at(minutes)
    if variant_kind == "pass":
        v_doc = projection(
            plate=variant,
            passes=[("p", a_pass(now - timedelta(hours=1), now + timedelta(hours=1)))],
        )
    elif variant_kind == "pending":
        v_doc = projection(plate=variant, sessions=[("v", session(payment={"status": "pending"}))])
    else:
        v_doc = projection(
            plate=variant,
            sessions=[
                (
                    "v",
                    session(
                        status="closed",
                        entry=now - timedelta(hours=2),
                        exit_at=now - timedelta(minutes=1),
                        payment={"status": "succeeded", "paidAt": now - timedelta(minutes=1)},
                    ),
                )
            ],
        )
    candidates = [v_doc]
    if exact_kind == "open":
        candidates.append(projection(plate=plate, sessions=[("e", session())]))
    elif exact_kind == "open_failed":
        candidates.append(
            projection(plate=plate, sessions=[("e", session(payment={"status": "failed"}))])
        )
    result = check(plate, candidates, now, ZONE)
    assert result.should_fine is False
    if result.status not in ("paid", "pass_active"):
        assert variant in [m.plate for m in result.confusable_matches]
        assert "similar plate" in result.summary


@settings(max_examples=200, deadline=None)
@given(
    minutes=st.floats(min_value=-120, max_value=5000),
    paid=st.sampled_from([None, "succeeded", "pending", "failed"]),
    closed=st.booleans(),
    pass_hours=st.one_of(st.none(), st.tuples(st.integers(-48, 48), st.integers(1, 72))),
)
def test_check_and_whitelist_never_disagree(minutes, paid, closed, pass_hours):
    now = at(minutes)
    payment = {"status": paid, "paidAt": at(45)} if paid else None
    stays = [
        (
            "s",
            session(
                status="closed" if closed else "open",
                exit_at=at(50) if closed else None,
                payment=payment,
            ),
        )
    ]
    passes = []
    if pass_hours:
        start = T0 + timedelta(hours=pass_hours[0])
        passes = [("p", a_pass(start, start + timedelta(hours=pass_hours[1])))]
    doc = projection(sessions=stays, passes=passes)
    result = check("ABC123", [doc], now, ZONE)
    assert is_whitelisted(doc, now) == (result.status in ("paid", "pass_active"))
    # Whitelisted plates are never fineable; a fine needs an open stay.
    if result.should_fine:
        assert result.status == "parked_unpaid" and not closed
    # A whitelisted plate always has coverage ending after now (so it has a shard entry).
    if is_whitelisted(doc, now):
        assert doc.covered_until is not None and doc.covered_until > now


# --- the whitelist's shard entries -----------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    built=st.floats(min_value=-120, max_value=3000),
    later=st.floats(min_value=0, max_value=5000),
    paid=st.sampled_from([None, "succeeded", "pending", "failed"]),
    status=st.sampled_from(["open", "closed", "missing_exit"]),
    pass_hours=st.lists(st.tuples(st.integers(-48, 48), st.integers(1, 72)), max_size=3),
    saved_card=st.booleans(),
)
def test_shard_entry_whitelists_exactly_as_the_check_answers(
    built, later, paid, status, pass_hours, saved_card
):
    """The entry kept at rebuild time answers, at every later instant, what the check would."""
    built_at, now = at(built), at(built + later)
    payment = {"status": paid, "paidAt": at(45)} if paid else None
    closed = status != "open"
    stays = [
        (
            "s",
            session(
                status=status,
                exit_at=at(50) if closed else None,
                payment=payment,
                driver="u1",
            ),
        )
    ]
    passes = []
    for n, (start_h, hours) in enumerate(pass_hours):
        start = T0 + timedelta(hours=start_h)
        passes.append((f"p{n}", a_pass(start, start + timedelta(hours=hours))))
    doc = projection(sessions=stays, passes=passes, saved_card={"u1"} if saved_card else set())
    entry = whitelist_entry(doc, built_at)
    result = check("ABC123", [doc], now, ZONE)
    covered = result.status in ("paid", "pass_active")
    if entry is None:
        assert not covered
        return
    assert entry_expires_at(entry) > built_at
    assert entry_expires_at(entry) <= (doc.expires_at or OPEN_ENDED)
    kept = from_whitelist_entry("op", "kamppi-p1", "ABC123", entry)
    assert is_whitelisted(kept, now) == covered == is_whitelisted(doc, now)
    if covered:
        # Same status and the same best coverage end, so the same plates entry is listed.
        ours, theirs = decide(kept, now), decide(doc, now)
        assert ours.status == theirs.status == result.status
        assert ours.covering[0].ends_at == theirs.covering[0].ends_at
        assert kept.display == doc.display


def test_shard_entry_keeps_only_coverage_not_yet_ended():
    ended = ("p-old", a_pass(at(-600), at(-60)))
    future = ("p-next", a_pass(at(60), at(600)))
    doc = projection(passes=[ended, future])
    entry = whitelist_entry(doc, T0)
    assert entry is not None
    start, end = (int((t - EPOCH) / timedelta(microseconds=1)) for t in (at(60), at(600)))
    assert entry == f"pass {start} {end}|ABC123"
    assert entry_expires_at(entry) == at(600)
    kept = from_whitelist_entry("op", "kamppi-p1", "ABC123", entry)
    assert [(c.kind, c.starts_at, c.ends_at) for c in kept.coverage] == [("pass", at(60), at(600))]
    # Nothing left to cover: no entry, and an unpaid open stay has none either.
    assert whitelist_entry(doc, at(600)) is None
    assert whitelist_entry(projection(sessions=[("s", session())]), T0) is None


def test_shard_entry_is_exact_to_the_microsecond_and_keeps_any_display():
    end = datetime(2026, 4, 1, 8, 0, 0, 123456, tzinfo=UTC)
    doc = projection(
        sessions=[("s", session(raw="ÅB|C 1;2", payment={"status": "pending"}))],
        passes=[("p", a_pass(at(-60), end))],
    )
    entry = whitelist_entry(doc, T0)
    kept = from_whitelist_entry("op", "kamppi-p1", "ABC123", entry)
    assert kept.display == doc.display == "ÅB|C 1;2"
    assert [(c.kind, c.starts_at, c.ends_at) for c in kept.coverage] == [
        ("pass", at(-60), end),
        ("auto_payment", T0, OPEN_ENDED),
    ]
    assert entry_expires_at(entry) == OPEN_ENDED


def test_shard_of_is_stable_and_spreads_plates():
    # A fixed hash (CRC-32), not Python's per-process hash(): every function instance, the
    # bench seeding and the sweep agree on a plate's shard.
    assert [shard_of(p) for p in ("ABC123", "XYZ789", "PAS0001")] == [0, 3, 3]
    assert all(0 <= shard_of(f"PAS{i:04d}") < WHITELIST_SHARDS for i in range(2000))
    counts = [0] * WHITELIST_SHARDS
    for i in range(2000):
        counts[shard_of(f"PAS{i:04d}")] += 1
    # 125 per shard on average; no shard holds more than twice that.
    assert min(counts) > 0 and max(counts) < 250


# --- which projections are kept ---------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    minutes=st.floats(min_value=-120, max_value=5 * 24 * 60),
    paid=st.sampled_from([None, "succeeded", "pending", "failed"]),
    status=st.sampled_from(["open", "closed", "missing_exit", "anomaly"]),
    pass_hours=st.one_of(st.none(), st.tuples(st.integers(-96, 48), st.integers(1, 72))),
    paid_at_offset=st.one_of(st.none(), st.integers(-600, 600)),
)
def test_an_expired_projection_answers_as_none_would(
    minutes, paid, status, pass_hours, paid_at_offset
):
    """Deleting a projection at its expiresAt (rebuild or sweep) never changes an answer."""
    now = at(minutes)
    payment = None
    if paid:
        payment = {"status": paid, "amount": 300, "currency": "EUR"}
        if paid_at_offset is not None:
            payment["paidAt"] = at(paid_at_offset)
    closed = status != "open"
    stays = [
        (
            "s",
            session(
                status=status,
                exit_at=at(50) if closed else None,
                payment=payment,
            ),
        )
    ]
    passes = []
    if pass_hours:
        start = T0 + timedelta(hours=pass_hours[0])
        passes = [("p", a_pass(start, start + timedelta(hours=pass_hours[1])))]
    doc = projection(sessions=stays, passes=passes)
    assert doc.expires_at == relevant_until(doc)
    if status == "open":
        assert doc.expires_at == OPEN_ENDED
    if is_relevant(doc, now):
        return
    as_kept = check("ABC123", [doc], now, ZONE)
    as_deleted = check("ABC123", [], now, ZONE)
    assert as_kept.model_dump() == as_deleted.model_dump()
    # Nor does it count as a covered look-alike of another plate.
    other = projection(plate="A8C123", sessions=[("o", session(raw="A8C-123"))])
    with_it = check("A8C123", [other, doc], now, ZONE)
    assert with_it.model_dump() == check("A8C123", [other], now, ZONE).model_dump()


def test_projection_without_anything_recent_is_not_kept():
    old = T0 - timedelta(days=30)
    doc = projection(
        sessions=[
            (
                "s",
                session(
                    status="closed",
                    entry=old,
                    exit_at=old + timedelta(hours=1),
                    payment={"status": "succeeded", "paidAt": old + timedelta(hours=1)},
                ),
            )
        ]
    )
    assert doc.expires_at == old + timedelta(hours=25)
    assert not is_relevant(doc, T0)


def test_a_recent_payment_keeps_the_projection_for_a_day():
    paid_at = at(-60)
    doc = projection(
        sessions=[
            (
                "s",
                session(
                    status="closed",
                    entry=at(-120),
                    exit_at=paid_at,
                    payment={"status": "succeeded", "paidAt": paid_at, "amount": 300},
                ),
            )
        ]
    )
    assert doc.expires_at == paid_at + timedelta(hours=24)
    assert check("ABC123", [doc], at(60), ZONE).payments  # still shown
    assert not check("ABC123", [doc], doc.expires_at, ZONE).payments
    assert not is_relevant(doc, doc.expires_at)


def test_pending_rebuild_never_expires():
    doc = projection(passes=[("p", a_pass(at(-120), at(-60)))])
    assert not is_relevant(doc, T0)
    flagged = doc.model_copy(update={"rebuild_pending": True})
    assert relevant_until(flagged) == OPEN_ENDED
