"""Admin dashboard: the operations figures follow what the backend records."""

from __future__ import annotations

from datetime import UTC, datetime

from devstack import demo_data
from parkingdone.admin import kpis
from tests.integration import admin_support as support


def _db():
    from parkingdone.firebase import db

    return db()


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


def test_trigger_kept_aggregates_agree_with_the_aggregation_queries(demo):
    """Feeding every session and payment through aggregates.deltas (what the session and
    payment triggers are to do) yields the figures the aggregation queries compute."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    from parkingdone.admin import aggregates

    db = _db()
    support.stay(db, demo_data.DRIVER_PLATE_RAW, minutes=100, until=("succeeded",))
    support.stay(db, "AGG-001", minutes=30, until=("to_invoice",))
    support.stay(db, "AGG-002", closed=False)
    for collection, kind in (("sessions", "session"), ("payments", "payment")):
        query = db.collection(collection).where(
            filter=FieldFilter("operatorId", "==", demo.operator_id)
        )
        for snapshot in query.stream():
            aggregates.apply_deltas(db, aggregates.deltas(kind, None, snapshot.to_dict()))
    now = datetime.now(UTC)
    queried = kpis.figures(db, demo.operator_id, "Europe/Helsinki", "EUR", now)
    kept, trend = kpis.figures_from_aggregates(db, demo.operator_id, "Europe/Helsinki", "EUR", now)
    for by_query, by_aggregate in zip(queried.periods, kept.periods, strict=True):
        assert by_query == by_aggregate
    assert (kept.open_unpaid, kept.open_unpaid_count) == (300, 1)
    assert trend == kpis.revenue_trend(db, demo.operator_id, "Europe/Helsinki", now)
    assert kept.cost.reads == 31
    totals = db.collection(aggregates.TOTALS).document(demo.operator_id).get().to_dict()
    assert totals["inside"] == {demo.facility_id: 1}
    assert totals["invoices"]["to_invoice"] == {"count": 1, "amount": 300}
