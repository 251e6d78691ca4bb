"""The audit log page: every state-changing action, for the operator's admins."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, render_template, request

from parkingdone.admin.access import admin_required
from parkingdone.firebase import db
from parkingdone.models import audit_log

blueprint = Blueprint("audit", __name__)
PAGE_SIZE = 50


@blueprint.get("/audit")
@admin_required
def index() -> Any:
    entries = audit_log.of_operator(db(), g.operator.id, PAGE_SIZE + 1, request.args.get("after"))
    next_cursor = entries[PAGE_SIZE - 1].id if len(entries) > PAGE_SIZE else None
    return render_template("audit.html", entries=entries[:PAGE_SIZE], next_cursor=next_cursor)
