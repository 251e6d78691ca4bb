"""The aggregate increments a session or payment write makes (admin/aggregates.py)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from parkingdone.admin.aggregates import DAILY, TOTALS, Increment, deltas

T0 = datetime(2026, 3, 30, 21, 30, tzinfo=UTC)  # already 31 March in Helsinki
DAY = "op__2026-03-31"


def payment(status: str, **fields) -> dict:
    base = {
        "operatorId": "op",
        "facilityId": "f1",
        "status": status,
        "provider": "stripe",
        "amount": 600,
        "platformFee": 30,
        "refundedAmount": 0,
        "createdAt": T0,
        "paidAt": T0 if status in ("succeeded", "paid") else None,
    }
    return {**base, **fields}


def session(status: str, **fields) -> dict:
    return {"operatorId": "op", "facilityId": "f1", "status": status, "createdAt": T0, **fields}


def as_dict(increments: list[Increment]) -> dict[tuple[str, str, str], int]:
    return {(i.collection, i.doc_id, i.field): i.value for i in increments}


def test_a_card_payment_counts_on_the_local_day_it_was_paid():
    assert as_dict(deltas("payment", None, payment("succeeded"))) == {
        (DAILY, DAY, "gross"): 600,
        (DAILY, DAY, "platformFee"): 30,
        (DAILY, DAY, "payments"): 1,
        (DAILY, DAY, "charged"): 600,
        (DAILY, DAY, "collected"): 600,
    }


def test_an_invoice_paid_moves_from_unpaid_to_collected():
    before = payment("invoiced", provider="invoice")
    after = payment("paid", provider="invoice", paidAt=T0 + timedelta(days=3))
    later = "op__2026-04-03"
    assert as_dict(deltas("payment", before, after)) == {
        (DAILY, DAY, "collected"): 600,
        (DAILY, later, "gross"): 600,
        (DAILY, later, "platformFee"): 30,
        (DAILY, later, "payments"): 1,
        (TOTALS, "op", "invoices.invoiced.amount"): -600,
        (TOTALS, "op", "invoices.invoiced.count"): -1,
        (TOTALS, "op", "invoices.paid.amount"): 600,
        (TOTALS, "op", "invoices.paid.count"): 1,
        (TOTALS, "op", "unpaidAmount"): -600,
        (TOTALS, "op", "unpaidCount"): -1,
    }


def test_a_refund_adds_only_to_refunded():
    before = payment("succeeded")
    after = payment("succeeded", refundedAmount=150)
    assert as_dict(deltas("payment", before, after)) == {(DAILY, DAY, "refunded"): 150}


def test_sessions_count_once_and_occupancy_follows_open_stays():
    opened = as_dict(deltas("session", None, session("open")))
    assert opened == {(DAILY, DAY, "sessions"): 1, (TOTALS, "op", "inside.f1"): 1}
    closed = as_dict(deltas("session", session("open"), session("closed")))
    assert closed == {(TOTALS, "op", "inside.f1"): -1}
    superseded = as_dict(deltas("session", session("closed"), session("superseded")))
    assert superseded == {(DAILY, DAY, "sessions"): -1}
    assert deltas("session", session("closed"), session("closed", plate="X")) == []


documents = st.one_of(
    st.none(),
    st.builds(
        payment,
        st.sampled_from(["pending", "succeeded", "failed", "to_invoice", "invoiced", "paid"]),
        provider=st.sampled_from(["stripe", "invoice"]),
        amount=st.integers(0, 10_000),
        refundedAmount=st.integers(0, 100),
        paidAt=st.sampled_from([None, T0, T0 + timedelta(days=1)]),
    ),
)


@given(st.lists(documents, min_size=1, max_size=6))
def test_a_documents_history_adds_up_to_its_last_state(history):
    """Applying every write's increments in order equals counting the last version once."""
    totals: dict = defaultdict(int)
    previous = None
    for version in history:
        for inc in deltas("payment", previous, version):
            totals[(inc.collection, inc.doc_id, inc.field)] += inc.value
        previous = version
    expected = as_dict(deltas("payment", None, previous))
    assert {k: v for k, v in totals.items() if v} == expected


def test_a_subject_always_adds_into_the_same_shard_and_month_document():
    from parkingdone.admin.aggregates import place, shard_of

    shard = shard_of("session", "s1")
    assert shard == shard_of("session", "s1") and 0 <= shard < 16
    assert place(DAILY, DAY, "gross", 3) == (DAILY, "op__2026-03__s03", "days.31.gross")
    assert place(TOTALS, "op", "inside.f1", 3) == (TOTALS, "op__s03", "inside.f1")


def test_a_replayed_contribution_adds_nothing_and_a_change_only_its_difference():
    from parkingdone.admin.aggregates import contribution, difference

    stay = session("closed")
    paid = {**payment("succeeded"), "sessionId": "s1"}
    first = contribution("session", stay, [paid], "Europe/Helsinki", 2)
    assert difference(first, first) == []
    refunded = contribution(
        "session", stay, [{**paid, "refundedAmount": 150}], "Europe/Helsinki", 2
    )
    assert [(i.field, i.value) for i in difference(first, refunded)] == [("days.31.refunded", 150)]
    assert {(i.field, i.value) for i in difference(first, {})} == {
        (field, -value) for (_, _, field), value in first.items()
    }


stays = st.builds(
    session,
    st.sampled_from(["open", "closed", "superseded", "anomaly"]),
    facilityId=st.sampled_from(["f1", "f2"]),
)


@given(st.lists(st.tuples(stays, st.lists(documents, max_size=2)), max_size=8))
def test_building_from_scratch_equals_the_sum_of_the_contributions(subjects):
    """The backfill and the triggers make the same stored figures."""
    from parkingdone.admin.aggregates import build, contribution, shard_of

    docs = {f"s{i}": stay for i, (stay, _) in enumerate(subjects)}
    pays = [{**p, "sessionId": f"s{i}"} for i, (_, ps) in enumerate(subjects) for p in ps if p]
    built = build("op", "Europe/Helsinki", docs, pays)
    expected: dict = defaultdict(int)
    for sid, stay in docs.items():
        mine = [p for p in pays if p["sessionId"] == sid]
        values = contribution("session", stay, mine, "Europe/Helsinki", shard_of("session", sid))
        for key, value in values.items():
            expected[key] += value

    def flatten(prefix: str, body: dict, into: dict, doc: tuple) -> None:
        for key, value in body.items():
            if isinstance(value, dict):
                flatten(f"{prefix}{key}.", value, into, doc)
            elif key not in ("operatorId", "month", "shard") or prefix:
                into[(*doc, f"{prefix}{key}")] = value

    stored: dict = {}
    for doc, body in built.shards.items():
        flatten("", body, stored, doc)
    assert stored == {k: v for k, v in expected.items() if v}


def test_a_computation_from_an_older_snapshot_never_replaces_a_newer_one():
    from datetime import UTC, datetime, timedelta

    from parkingdone.admin.aggregates import newer_than
    from parkingdone.models.figures import ContributionDoc

    at = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    stored = ContributionDoc(subject="session", subject_id="s1", sources_read_at=at)
    assert newer_than(stored, at - timedelta(microseconds=1))
    assert not newer_than(stored, at)  # the same snapshot computes the same contribution
    assert not newer_than(stored, at + timedelta(seconds=1))
    # Nothing stored yet, or stored before read times were kept: any snapshot applies.
    assert not newer_than(None, at)
    assert not newer_than(ContributionDoc(subject="session", subject_id="s1"), at)


@given(
    st.lists(
        st.tuples(st.sampled_from(["sessions", "charged", "inside.f1"]), st.integers(-5, 5)),
        max_size=12,
    )
)
def test_increments_to_one_field_in_one_write_are_summed_not_replaced(changes):
    """A pump page counts many stays in one transaction, and stays of one shard move the same
    fields of the same document: each field gets their sum (one value per field and write)."""
    from parkingdone.admin.aggregates import shard_bodies

    doc_id = "op__2026-03__s3"
    values = [Increment(DAILY, doc_id, field, value) for field, value in changes]
    body = shard_bodies("op", values, as_increments=False).get((DAILY, doc_id), {})
    expected: dict[str, int] = defaultdict(int)
    for field, value in changes:
        expected[field] += value
    for field, total in expected.items():
        head, _, rest = field.partition(".")
        assert (body[head][rest] if rest else body[head]) == total
    live = shard_bodies("op", values, as_increments=True).get((DAILY, doc_id), {})
    if "sessions" in expected:
        assert live["sessions"].value == expected["sessions"]
