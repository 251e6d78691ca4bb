"""Admin dashboard: the operations figures follow what the backend records."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from devstack import demo_data
from devstack.benchlib import Invocations
from parkingdone.admin import kpis
from tests.conftest import clear_firestore
from tests.integration import admin_support as support
from tests.support.waiting import wait_for


def _db():
    from parkingdone.firebase import db

    return db()


@pytest.fixture(autouse=True)
def _earlier_work_finished():
    """The figures here are compared exactly. A trigger or pump run of an earlier test still
    computing when the emulators were cleared would write its stays' figures into this test's
    empty database: what keeps a computation from an older snapshot off a deleted stay is the
    contribution the deletion leaves (its read time), and clearing the database removes it
    too. So each test starts once every function invocation so far has finished, on a
    database cleared after that."""
    Invocations(from_start=True).wait_quiet(quiet=1.0, timeout=60)
    clear_firestore()


def test_kpis_follow_stays_payments_and_invoices(demo):
    db = _db()
    support.stay(db, demo_data.DRIVER_PLATE_RAW, minutes=100, until=("succeeded",))  # €6.00 card
    support.stay(db, "UNP-001", minutes=30, until=("to_invoice",))  # €3.00 to invoice
    support.stay(db, "OPN-001", closed=False)
    support.stay(
        db,
        "OTH-001",
        token=demo_data.OTHER_WEBHOOK_TOKEN,
        facility=demo_data.OTHER_FACILITY_ID,
        until=("to_invoice",),
    )
    figures = kpis.figures(db, demo.operator_id, "Europe/Helsinki", "EUR", datetime.now(UTC))
    today = figures.periods[0]
    assert today.gross == 600
    assert today.platform_fee == 30
    assert today.net == 600
    assert today.sessions == 3
    assert today.charged == 900 and today.collected == 600
    assert round(today.collection_rate, 3) == round(600 / 900, 3)
    assert figures.open_unpaid == 300 and figures.open_unpaid_count == 1
    assert figures.cost.queries == 13 and figures.cost.reads == 13

    occupancy = {o.facility.id: o for o in kpis.occupancy(db, demo.operator_id)}
    assert list(occupancy) == [demo.facility_id]
    assert occupancy[demo.facility_id].inside == 1
    assert occupancy[demo.facility_id].facility.capacity == 400

    lines = {line.status: line for line in kpis.invoices(db, demo.operator_id)}
    assert (lines["to_invoice"].count, lines["to_invoice"].amount) == (1, 300)

    trend = kpis.revenue_trend(db, demo.operator_id, "Europe/Helsinki", datetime.now(UTC))
    assert len(trend) == 30 and trend[-1][1] == 600 and sum(a for _, a in trend) == 600

    feed = kpis.activity(db, demo.operator_id)
    kinds = {item.kind for item in feed}
    assert {"entry", "exit", "payment"} <= kinds
    assert all("OTH" not in item.text for item in feed)
    assert [i.at for i in feed] == sorted((i.at for i in feed), reverse=True)


def test_dashboard_tiles_render_for_staff(demo):
    db = _db()
    support.stay(db, demo_data.DRIVER_PLATE_RAW, minutes=100, until=("succeeded",))
    _wait_for_kept_figures(db, demo.operator_id)  # the tiles read what the triggers keep
    c = support.sign_in("staff")
    shell = c.get("/admin/").get_data(as_text=True)
    assert 'hx-get="/admin/fragments/occupancy"' in shell
    assert 'hx-trigger="load, every 5s"' in shell
    tile = c.get("/admin/fragments/kpis")
    assert tile.status_code == 200
    assert 'data-kpi="gross">€6.00' in tile.get_data(as_text=True)
    assert int(tile.headers["X-Firestore-Reads"]) >= 13
    feed = c.get("/admin/fragments/activity").get_data(as_text=True)
    assert "ABC123 paid 6.00 EUR" in feed
    trend = c.get("/admin/fragments/trend").get_data(as_text=True)
    assert "trend-chart" in trend and "6.0" in trend
    invoices = c.get("/admin/fragments/invoices").get_data(as_text=True)
    assert 'data-invoice="to_invoice"' in invoices


def _snapshot(db, operator_id: str) -> tuple:
    """Every figure the dashboard shows, from the trigger-kept figures and from the queries."""
    now = datetime.now(UTC)
    zone = "Europe/Helsinki"
    kept = kpis.kept_figures(db, operator_id, zone, "EUR", now)
    queried = kpis.figures(db, operator_id, zone, "EUR", now)

    def occupancy(rows):
        return {o.facility.id: o.inside for o in rows}

    return (
        (
            [vars(p) for p in kept.periods],
            (kept.open_unpaid, kept.open_unpaid_count),
            occupancy(kpis.kept_occupancy(db, operator_id)),
            kpis.kept_invoices(db, operator_id),
            kpis.kept_trend(db, operator_id, zone, now),
        ),
        (
            [vars(p) for p in queried.periods],
            (queried.open_unpaid, queried.open_unpaid_count),
            occupancy(kpis.occupancy(db, operator_id)),
            kpis.invoices(db, operator_id),
            kpis.revenue_trend(db, operator_id, zone, now),
        ),
    )


def _wait_for_kept_figures(db, operator_id: str) -> tuple:
    """The triggers run after the write: wait until they have brought the kept figures to
    what the aggregation queries count; returns them."""

    def agree():
        kept, queried = _snapshot(db, operator_id)
        return kept if kept == queried else None

    try:
        return wait_for(agree, timeout=60, interval=0.5, what="the kept figures")
    except AssertionError as exc:
        kept, queried = _snapshot(db, operator_id)
        raise AssertionError(f"{exc}: kept {kept} != queried {queried}") from None


def _today(db, operator_id: str) -> kpis.PeriodFigures:
    return kpis.kept_figures(db, operator_id, "Europe/Helsinki", "EUR", datetime.now(UTC)).periods[
        0
    ]


def _inside(db, operator_id: str, facility_id: str) -> int:
    rows = {o.facility.id: o.inside for o in kpis.kept_occupancy(db, operator_id)}
    return rows.get(facility_id, 0)


def test_trigger_kept_aggregates_agree_with_the_aggregation_queries(demo):
    """On the demo data and a few stays, every figure the dashboard reads from the trigger-kept
    documents equals what the aggregation queries count; a backfill rebuilds the same."""
    from parkingdone import settings
    from parkingdone.admin import aggregates

    db = _db()
    support.stay(db, demo_data.DRIVER_PLATE_RAW, minutes=100, until=("succeeded",))
    support.stay(db, "AGG-001", minutes=30, until=("to_invoice",))
    support.stay(db, "AGG-002", closed=False)
    kept = _wait_for_kept_figures(db, demo.operator_id)
    periods, unpaid, occupancy, invoices, trend = kept
    assert periods[0]["gross"] >= 600 and periods[0]["sessions"] >= 3
    assert unpaid == (300, 1)
    assert occupancy[demo.facility_id] == 1
    assert sum(amount for _, amount in trend) == periods[2]["gross"]
    assert {line.status: line.count for line in invoices}["to_invoice"] == 1
    figures = kpis.kept_figures(db, demo.operator_id, "Europe/Helsinki", "EUR", datetime.now(UTC))
    # At most two months of day shards and the totals' shards, in one batch get.
    assert figures.cost.queries == 1
    assert figures.cost.reads <= 3 * settings.FIGURE_SHARDS

    # The backfill (the same pure code from scratch) gives the same figures.
    aggregates.rebuild(db, demo.operator_id)
    assert _snapshot(db, demo.operator_id)[0] == kept


def test_webhook_entry_exit_payment_and_refund_move_the_figures(demo):
    db = _db()
    _wait_for_kept_figures(db, demo.operator_id)  # the demo data's own triggers have run
    before = _today(db, demo.operator_id)
    inside = _inside(db, demo.operator_id, demo.facility_id)
    entered = support.stay(db, "FIG-001", closed=False)
    wait_for(
        lambda: (
            _inside(db, demo.operator_id, demo.facility_id) == inside + 1
            and _today(db, demo.operator_id).sessions == before.sessions + 1
        ),
        timeout=60,
        what="the entry in the figures",
    )
    # Another stay enters and leaves, and the registered driver's card pays it.
    paid = support.stay(db, demo_data.DRIVER_PLATE_RAW, minutes=100, until=("succeeded",))
    wait_for(
        lambda: _today(db, demo.operator_id).gross == before.gross + 600,
        timeout=60,
        what="the payment in the figures",
    )
    assert _inside(db, demo.operator_id, demo.facility_id) == inside + 1  # FIG-001 still in
    payment_id = db.collection("sessions").document(paid.session_id).get().get("payment.paymentId")
    admin = support.sign_in("admin")
    form = {
        "payment_id": payment_id,
        "amount": "1.50",
        "reason": "requested_by_customer",
        "request_id": "refund-figures",
        "csrf_token": support.csrf(admin),
    }
    assert admin.post(f"/admin/sessions/{paid.session_id}/refund", data=form).status_code == 303
    wait_for(
        lambda: _today(db, demo.operator_id).refunded == before.refunded + 150,
        timeout=60,
        what="the refund in the figures",
    )
    today = _today(db, demo.operator_id)
    assert today.net == before.net + 600 - 150
    assert db.collection("sessions").document(entered.session_id).get().get("status") == "open"
    _wait_for_kept_figures(db, demo.operator_id)


def test_a_replayed_or_concurrent_trigger_event_changes_nothing(demo):
    """At-least-once delivery: the same event again, and many at once, count the stay once."""
    from concurrent.futures import ThreadPoolExecutor

    from parkingdone.admin import aggregates, figures_pump
    from parkingdone.sessions import dispatch

    db = _db()
    paid = support.stay(db, demo_data.DRIVER_PLATE_RAW, minutes=100, until=("succeeded",))
    settled = _wait_for_kept_figures(db, demo.operator_id)
    after = db.collection("sessions").document(paid.session_id).get().to_dict()
    # The creation and the payment outcome delivered again, in any order: the stamped
    # creation is counted again by a quiet trigger, or asks the figures pump, whose run then
    # finds nothing to add.
    assert {"figures", "figures_pump"} & set(
        dispatch.on_session_written(paid.session_id, None, after)
    )
    assert "figures" in dispatch.on_session_written(paid.session_id, after, None)
    assert aggregates.refresh(db, "session", paid.session_id) == []
    figures_pump.run(db, demo.operator_id)
    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(lambda _: aggregates.refresh(db, "session", paid.session_id), range(4))
        )
    assert results == [[]] * 4
    assert _snapshot(db, demo.operator_id)[0] == settled

    # Stays written at once, each refreshed by its trigger and by four racing redeliveries.
    inside = _inside(db, demo.operator_id, demo.facility_id)
    now = datetime.now(UTC)
    batch = db.batch()
    ids = [f"figures-race-{i}" for i in range(6)]
    for sid in ids:
        batch.set(
            db.collection("sessions").document(sid),
            {
                "operatorId": demo.operator_id,
                "facilityId": demo.facility_id,
                "plate": f"RACE{sid[-1]}",
                "status": "open",
                "entry": {"at": now},
                "createdAt": now,
                "updatedAt": now,
            },
        )
    batch.commit()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda sid: aggregates.refresh(db, "session", sid), ids * 4))
    _wait_for_kept_figures(db, demo.operator_id)
    assert _inside(db, demo.operator_id, demo.facility_id) == inside + len(ids)


def test_a_late_computation_from_an_older_snapshot_changes_nothing(demo, monkeypatch):
    """Stays and payments are read without locking them, so two computations of one stay may
    finish in either order: the one from the older snapshot, finishing last, adds nothing."""
    from parkingdone.admin import aggregates

    db = _db()
    stay = support.stay(db, "LATE-001", closed=False)
    _wait_for_kept_figures(db, demo.operator_id)
    inside = _inside(db, demo.operator_id, demo.facility_id)
    stale = aggregates._read_sources(db, "session", [stay.session_id])
    # Moved by an operator's tool (unstamped): the trigger takes it out of this facility.
    ref = db.collection("sessions").document(stay.session_id)
    ref.update({"facilityId": demo_data.OTHER_FACILITY_ID})
    wait_for(
        lambda: _inside(db, demo.operator_id, demo.facility_id) == inside - 1,
        timeout=60,
        what="the stay moved out of the facility's figures",
    )
    # The moved stay counted once more, so that what is stored certainly comes from a later
    # snapshot than the stale one.
    aggregates.refresh(db, "session", stay.session_id)
    moved = _snapshot(db, demo.operator_id)[0]

    # The open stay as read before it moved, applied last: nothing changes.
    with monkeypatch.context() as patched:
        patched.setattr(aggregates, "_read_sources", lambda *_: stale)
        assert aggregates.refresh(db, "session", stay.session_id) == []
    assert _snapshot(db, demo.operator_id)[0] == moved
    ref.delete()
    _wait_for_kept_figures(db, demo.operator_id)


# --- the figures pump ----------------------------------------------------------------------


def test_the_figures_pump_counts_webhook_stays_once_however_often_it_runs(demo):
    """Stays written by the webhook carry their commit time, so the pump can read them: a run
    after the quiet trigger has counted them moves its watermark and adds nothing; runs
    again, at once or while another holds the pump, add nothing either."""
    from concurrent.futures import ThreadPoolExecutor

    from parkingdone.admin import figures_pump
    from parkingdone.models import figure_pumps, figures

    db = _db()
    inside = _inside(db, demo.operator_id, demo.facility_id)
    open_stay = support.stay(db, "PUMP-001", closed=False)
    paid = support.stay(db, demo_data.DRIVER_PLATE_RAW, minutes=100, until=("succeeded",))
    for stay in (open_stay, paid):
        assert db.collection("sessions").document(stay.session_id).get().get("changedAt")
    settled = _wait_for_kept_figures(db, demo.operator_id)
    assert _inside(db, demo.operator_id, demo.facility_id) == inside + 1
    contribution = figures.contribution_ref(db, "session", open_stay.session_id).get()
    assert contribution.exists
    figures_pump.run(db, demo.operator_id)  # 0 when a requested run holds the pump: it reads
    assert _snapshot(db, demo.operator_id)[0] == settled
    mark = wait_for(
        lambda: figure_pumps.watermark(db, demo.operator_id), timeout=30, what="the watermark"
    )
    assert mark is not None and mark >= contribution.get("updatedAt") - timedelta(seconds=10)

    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda _: figures_pump.run(db, demo.operator_id), range(3)))
    assert figures_pump.run(db, demo.operator_id) >= 0
    assert _snapshot(db, demo.operator_id)[0] == settled

    # Held by another run: this one leaves at once, refreshing nothing.
    now = datetime.now(UTC)
    assert figure_pumps.claim(db, demo.operator_id, "another-run", now, timedelta(seconds=30))
    try:
        assert figures_pump.run(db, demo.operator_id) == 0
    finally:
        figure_pumps.release(db, demo.operator_id, "another-run")


def test_a_pump_run_reads_changes_that_land_behind_its_cursor_or_come_again(demo, monkeypatch):
    """While a run pages forward, a write stamped before the newest stamp it has read can
    still land (the emulator stamps a commit before it is visible), and a stay it has read can
    change again: the same run reads both, so neither an entry nor an exit is left out of
    the figures."""
    from google.cloud import firestore

    from parkingdone import settings
    from parkingdone.admin import aggregates, figures_pump

    db = _db()
    figures_pump.run(db, demo.operator_id)  # the watermark up to now
    time.sleep(1.5)  # the stays below are stamped after it, beyond the overlap
    stays = [support.stay(db, f"BEHIND-{n}", closed=False).session_id for n in range(4)]
    first, _, _, late = (db.collection("sessions").document(i) for i in stays)
    # `late` is out of the run's sight at first: stamped an hour before the watermark.
    late.update({"changedAt": datetime.now(UTC) - timedelta(hours=1)})

    refreshed: list[list[str]] = []
    real_refresh = aggregates.refresh_many

    def refresh_and_write_behind(db_, subject, ids):
        if first.id in ids and late.id not in [i for page in refreshed for i in page]:
            # While the page with the first stay is counted: `late` lands stamped just
            # before it (behind the cursor), and the first stay changes again.
            stamp = first.get().get("changedAt")
            late.update({"changedAt": stamp - timedelta(milliseconds=1)})
            first.update({"changedAt": firestore.SERVER_TIMESTAMP})
        refreshed.append(list(ids))
        return real_refresh(db_, subject, ids)

    monkeypatch.setattr(settings, "FIGURES_PUMP_PAGE", 2)
    monkeypatch.setattr(aggregates, "refresh_many", refresh_and_write_behind)
    monkeypatch.setattr(figures_pump, "_requested", {})  # this test's follow-up requests
    wait_for(
        lambda: figures_pump.run(db, demo.operator_id) or None,
        timeout=30,
        what="a pump run that holds the pump",
    )
    counted = [i for page in refreshed for i in page]
    assert all(len(page) <= 2 for page in refreshed)
    assert late.id in counted
    assert counted.count(first.id) == 2
    for ref in (first, late):
        ref.delete()
    for session_id in stays[1:3]:
        db.collection("sessions").document(session_id).delete()
    _wait_for_kept_figures(db, demo.operator_id)


def test_a_run_dispatched_early_reads_only_once_its_window_has_ended(demo, monkeypatch):
    """The Cloud Tasks emulator dispatches a task at once, and a trigger asking later in the
    same window finds the name taken: the run waits for the end of the window it was asked
    for, however far ahead (a run asks up to two windows ahead)."""
    from parkingdone import settings
    from parkingdone.admin import figures_pump

    ahead = 2 * settings.FIGURES_PUMP_WINDOW_SECONDS - 0.5
    read_at: list[float] = []
    real_watermark = figures_pump.figure_pumps.watermark

    def watermark(db_, operator_id):
        read_at.append(time.time())
        return real_watermark(db_, operator_id)

    monkeypatch.setattr(figures_pump.figure_pumps, "watermark", watermark)
    not_before = time.time() + ahead
    figures_pump.run(_db(), "operator-without-stays", not_before=not_before)
    assert read_at and read_at[0] >= not_before


def test_a_run_that_finds_the_pump_held_asks_for_the_next_windows_run(demo, monkeypatch):
    """The holder may die before it lets go: the run it kept out asks for another, so the
    change it was asked for is read once the holder's lease has run out."""
    from parkingdone import settings, tasks
    from parkingdone.admin import figures_pump
    from parkingdone.models import figure_pumps

    db = _db()
    asked: list[dict] = []
    monkeypatch.setattr(tasks, "enqueue", lambda function, data, **_: asked.append(data))
    monkeypatch.setattr(figures_pump, "_requested", {})
    assert figure_pumps.claim(
        db, "held-operator", "a-dying-run", datetime.now(UTC), timedelta(seconds=30)
    )
    before = time.time()
    assert figures_pump.run(db, "held-operator") == 0
    assert [a["operatorId"] for a in asked] == ["held-operator"]
    assert asked[0]["notBefore"] >= before + settings.FIGURES_PUMP_WINDOW_SECONDS


def test_two_processes_asking_for_the_same_pump_run_both_count_it_as_asked(demo, monkeypatch):
    """Each trigger process remembers its own requests; a second process asking for the same
    window finds the named task already queued, which counts as asked, not as a failure."""
    from parkingdone.admin import figures_pump

    now = time.time()
    assert figures_pump.request(demo.operator_id, now=now)
    monkeypatch.setattr(figures_pump, "_requested", {})  # another process: no memory of it
    assert figures_pump.request(demo.operator_id, now=now)


def test_a_deleted_or_unstamped_stay_is_counted_by_the_trigger_itself(demo):
    """Writes the pump cannot read (a deletion, a write without the commit-time stamp) are
    counted by the session trigger in its own transaction."""
    db = _db()
    inside = _inside(db, demo.operator_id, demo.facility_id)
    stay = support.stay(db, "PUMP-002", closed=False)
    wait_for(
        lambda: _inside(db, demo.operator_id, demo.facility_id) == inside + 1,
        timeout=60,
        what="the open stay counted",
    )
    ref = db.collection("sessions").document(stay.session_id)
    ref.update({"facilityId": demo_data.OTHER_FACILITY_ID})  # no stamp: an operator's tool
    wait_for(
        lambda: _inside(db, demo.operator_id, demo.facility_id) == inside,
        timeout=60,
        what="the stay moved out of the facility's figures",
    )
    ref.delete()
    _wait_for_kept_figures(db, demo.operator_id)


# --- the activity feed ---------------------------------------------------------------------


def _feed(db, operator_id: str) -> list[tuple]:
    return [(i.at, i.kind, i.text, i.session_id) for i in kpis.kept_activity(db, operator_id)]


def _feed_docs(db, operator_id: str) -> dict:
    from parkingdone.models import activity_feed

    return {d.id: d.model_dump() for d in activity_feed.read_all(db, operator_id, 16)}


def test_webhook_entry_exit_payment_and_refund_show_in_the_activity_feed(demo):
    db = _db()
    entered = support.stay(db, "FEED-001", closed=False)
    wait_for(
        lambda: (
            ("entry", entered.session_id) in {(k, s) for _, k, _, s in _feed(db, demo.operator_id)}
        ),
        timeout=60,
        what="the entry in the feed",
    )
    paid = support.stay(db, demo_data.DRIVER_PLATE_RAW, minutes=100, until=("succeeded",))
    wait_for(
        lambda: (
            {"entry", "exit", "payment"}
            <= {k for _, k, _, s in _feed(db, demo.operator_id) if s == paid.session_id}
        ),
        timeout=60,
        what="the exit and payment in the feed",
    )
    payment_id = db.collection("sessions").document(paid.session_id).get().get("payment.paymentId")
    admin = support.sign_in("admin")
    form = {
        "payment_id": payment_id,
        "amount": "1.50",
        "reason": "requested_by_customer",
        "request_id": "refund-feed",
        "csrf_token": support.csrf(admin),
    }
    assert admin.post(f"/admin/sessions/{paid.session_id}/refund", data=form).status_code == 303
    refund = wait_for(
        lambda: next(
            (
                i
                for i in _feed(db, demo.operator_id)
                if i[1] == "refund" and i[3] == paid.session_id
            ),
            None,
        ),
        timeout=60,
        what="the refund in the feed",
    )
    assert "refunded 1.50 EUR" in refund[2]
    feed = _feed(db, demo.operator_id)
    assert feed == sorted(feed, key=lambda i: i[0], reverse=True)
    assert len(feed) <= 15
    # The tile renders it from one batch get of the shards.
    response = admin.get("/admin/fragments/activity")
    assert response.status_code == 200
    assert "refunded 1.50 EUR" in response.get_data(as_text=True)
    assert response.headers["X-Firestore-Reads"] == "16"


def test_a_replayed_trigger_event_adds_nothing_to_the_activity_feed(demo):
    from concurrent.futures import ThreadPoolExecutor

    from parkingdone.admin import aggregates

    db = _db()
    paid = support.stay(db, demo_data.DRIVER_PLATE_RAW, minutes=100, until=("succeeded",))
    wait_for(
        lambda: (
            "payment" in {k for _, k, _, s in _feed(db, demo.operator_id) if s == paid.session_id}
        ),
        timeout=60,
        what="the payment in the feed",
    )
    _wait_for_kept_figures(db, demo.operator_id)
    settled = _feed_docs(db, demo.operator_id)
    assert aggregates.refresh(db, "session", paid.session_id) == []
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: aggregates.refresh(db, "session", paid.session_id), range(4)))
    assert _feed_docs(db, demo.operator_id) == settled
    mine = [i for i in _feed(db, demo.operator_id) if i[3] == paid.session_id]
    assert len(mine) == len(set(mine)) == 3  # entry, exit, payment: once each


def test_the_kept_activity_feed_equals_the_queried_one_on_the_demo_data(demo):
    """On the demo data and a few stays sent through the webhook, the feed the triggers keep
    shows what the two ordered queries find; the backfill rebuilds the same."""
    from parkingdone.admin import aggregates

    db = _db()
    support.stay(db, "CMP-001", closed=False)
    support.stay(db, demo_data.DRIVER_PLATE_RAW, minutes=100, until=("succeeded",))
    support.stay(db, "CMP-002", minutes=30, until=("to_invoice",))
    _wait_for_kept_figures(db, demo.operator_id)

    def queried():
        return [(i.at, i.kind, i.text, i.session_id) for i in kpis.activity(db, demo.operator_id)]

    def same(a, b) -> bool:
        # Newest first in both; items of one instant may come in either order.
        return sorted(a, key=repr) == sorted(b, key=repr) and [i[0] for i in a] == [i[0] for i in b]

    def agree():
        feed = _feed(db, demo.operator_id)
        return feed if same(feed, queried()) else None

    try:
        kept = wait_for(agree, timeout=90, what="the kept feed to equal the queried one")
    except AssertionError:
        # Triggers run late on a loaded machine; compare once more, showing any difference.
        kept = _feed(db, demo.operator_id)
        assert sorted(kept, key=repr) == sorted(queried(), key=repr)
    assert {"entry", "exit", "payment"} <= {kind for _, kind, _, _ in kept}
    assert len(kept) <= 15
    aggregates.rebuild(db, demo.operator_id)
    assert same(_feed(db, demo.operator_id), kept)
