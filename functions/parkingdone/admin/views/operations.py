"""The operations dashboard (`/admin/`): KPIs, revenue trend, occupancy, activity, invoices.

The page is a shell; each tile is a fragment that htmx loads and, for the live ones,
refreshes every few seconds. The figures come from the shard documents the triggers keep
(kpis.kept_*), the activity feed too (its shards, kpis.kept_activity). Each fragment states its
Firestore cost in a response header (`X-Firestore-Reads`), which the benchmark reads.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, g, render_template

from parkingdone.admin import kpis
from parkingdone.admin.access import staff_required
from parkingdone.firebase import db

blueprint = Blueprint("operations", __name__)


def _fragment(template: str, cost: kpis.Cost, **context: Any) -> Response:
    response = Response(render_template(template, **context))
    response.headers["X-Firestore-Reads"] = str(cost.reads)
    response.headers["X-Firestore-Queries"] = str(cost.queries)
    return response


@blueprint.get("/")
@staff_required
def dashboard() -> Any:
    return render_template("dashboard.html")


@blueprint.get("/fragments/kpis")
@staff_required
def kpi_tile() -> Response:
    op = g.operator
    figures = kpis.kept_figures(db(), op.id, op.time_zone, op.currency, datetime.now(UTC))
    return _fragment("fragments/kpis.html", figures.cost, figures=figures)


@blueprint.get("/fragments/trend")
@staff_required
def trend_tile() -> Response:
    op, cost = g.operator, kpis.Cost()
    trend = kpis.kept_trend(db(), op.id, op.time_zone, datetime.now(UTC), cost)
    chart = {
        "labels": [day.strftime("%d.%m.") for day, _ in trend],
        "values": [amount / 100 for _, amount in trend],
        "currency": op.currency,
    }
    return _fragment("fragments/trend.html", cost, trend=trend, chart=json.dumps(chart))


@blueprint.get("/fragments/occupancy")
@staff_required
def occupancy_tile() -> Response:
    cost = kpis.Cost()
    rows = kpis.kept_occupancy(db(), g.operator.id, cost)
    return _fragment("fragments/occupancy.html", cost, rows=rows)


@blueprint.get("/fragments/activity")
@staff_required
def activity_tile() -> Response:
    cost = kpis.Cost()
    items = kpis.kept_activity(db(), g.operator.id, cost=cost)
    return _fragment("fragments/activity.html", cost, items=items, zone=g.operator.time_zone)


@blueprint.get("/fragments/invoices")
@staff_required
def invoices_tile() -> Response:
    cost = kpis.Cost()
    lines = kpis.kept_invoices(db(), g.operator.id, cost)
    return _fragment("fragments/invoices.html", cost, lines=lines, currency=g.operator.currency)
