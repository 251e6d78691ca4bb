"""The dashboard's activity feed kept per shard (admin/aggregates.py) and merged on read
(admin/kpis.py): pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from parkingdone.admin import kpis
from parkingdone.admin.aggregates import feed_items, newest, replace_feed_items
from parkingdone.models.activity_feed import FeedEntry

T0 = datetime(2026, 3, 30, 21, 30, tzinfo=UTC)


def stay(**fields) -> dict:
    return {
        "operatorId": "op",
        "facilityId": "f1",
        "plate": "ABC123",
        "plateRaw": "ABC-123",
        "status": "closed",
        "entry": {"at": T0},
        "exit": {"at": T0 + timedelta(hours=1)},
        "createdAt": T0,
        "updatedAt": T0 + timedelta(hours=1),
        **fields,
    }


def paid(**fields) -> dict:
    return {
        "operatorId": "op",
        "sessionId": "s1",
        "facilityId": "f1",
        "plate": "ABC-123",
        "status": "succeeded",
        "amount": 600,
        "currency": "EUR",
        "paidAt": T0 + timedelta(hours=1, minutes=1),
        "createdAt": T0 + timedelta(hours=1),
        **fields,
    }


def test_a_paid_and_refunded_stay_gives_its_items_oldest_first_with_unique_keys():
    refund = {"amount": 150, "status": "succeeded", "createdAt": T0 + timedelta(hours=2)}
    items = feed_items("session", "s1", stay(), [paid(refunds=[refund])])
    assert [(i["kind"], i["text"]) for i in items] == [
        ("entry", "ABC-123 entered"),
        ("exit", "ABC-123 left"),
        ("payment", "ABC-123 paid 6.00 EUR"),
        ("refund", "ABC-123 refunded 1.50 EUR"),
    ]
    assert {i["subject"] for i in items} == {"session_s1"}
    assert len({i["key"] for i in items}) == 4
    assert all(i["sessionId"] == "s1" for i in items)


def test_a_superseded_or_deleted_stay_shows_nothing():
    assert feed_items("session", "s1", stay(status="superseded"), []) == []
    assert feed_items("session", "s1", None, []) == []


def test_the_items_are_those_the_query_reference_builds():
    """One definition: the kept items are the tile's own builders' items."""
    from parkingdone.models.sessions import SessionDoc

    built = kpis.session_items(SessionDoc.model_validate({**stay(), "id": "s1"}))
    items = feed_items("session", "s1", stay(), [])
    assert [(i["at"], i["kind"], i["text"], i["sessionId"]) for i in items] == [
        (b.at, b.kind, b.text, b.session_id) for b in built
    ]


def test_replacing_a_subjects_items_again_changes_nothing():
    first = feed_items("session", "s1", stay(status="open", exit=None), [])
    shard = replace_feed_items([], "session_s1", first, 15)
    later = feed_items("session", "s1", stay(), [paid()])
    once = replace_feed_items(shard, "session_s1", later, 15)
    assert replace_feed_items(once, "session_s1", later, 15) == once
    assert [i["kind"] for i in once] == ["payment", "exit", "entry"]
    # The stay gone: its items leave the shard.
    assert replace_feed_items(once, "session_s1", [], 15) == []


def _item(subject: str, n: int, minutes: int) -> dict:
    return {
        "key": f"{subject}#{n}",
        "at": T0 + timedelta(minutes=minutes),
        "kind": "entry",
        "text": subject,
        "sessionId": subject,
        "subject": subject,
    }


subjects_items = st.lists(
    st.lists(st.integers(0, 10_000), min_size=1, max_size=4), min_size=0, max_size=40
)


@given(subjects_items, st.integers(1, 20))
def test_a_capped_shard_keeps_exactly_the_newest_items(subjects, cap):
    shard: list[dict] = []
    everything = []
    for s, minutes in enumerate(subjects):
        items = [_item(f"session_{s}", n, m) for n, m in enumerate(minutes)]
        everything.extend(items)
        shard = replace_feed_items(shard, f"session_{s}", items, cap)
    assert shard == newest(everything, cap)
    assert len(shard) == min(cap, len(everything))


@given(st.lists(subjects_items, min_size=1, max_size=16), st.integers(1, 20))
def test_merging_capped_shards_gives_the_newest_of_all(shards, limit):
    everything, stored = [], []
    for k, subjects in enumerate(shards):
        items = [
            _item(f"session_{k}_{s}", n, m)
            for s, minutes in enumerate(subjects)
            for n, m in enumerate(minutes)
        ]
        everything.extend(items)
        stored.append([FeedEntry.model_validate(i) for i in newest(items, limit)])
    merged = kpis.merge_feed(stored, limit)
    expected = newest(everything, limit)
    assert [(m.at, m.text) for m in merged] == [(e["at"], e["text"]) for e in expected]
