"""Support tickets in the dashboard: the operator's queue (drivers' tickets and its own
tickets to ParkingDone), a ticket's conversation with live updates, the support actions
(reply, status, priority, assignee), the CSV export, the operations tile, and ParkingDone's
queue of every operator's tickets for super admins (`/support-line`).

Every action calls support.service, the same code path as the driver app's callables, and is
written to the audit log.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for

from parkingdone.admin import audit, csv_export
from parkingdone.admin.access import Refused, scoped, staff_required
from parkingdone.callable_api import Caller
from parkingdone.errors import ApiError
from parkingdone.firebase import db
from parkingdone.models import operators, tickets
from parkingdone.models.tickets import TicketDoc
from parkingdone.support import export, figures, rules, service

blueprint = Blueprint("tickets", __name__)
PAGE_SIZE = 50
SEARCH_LIMIT = 200
MESSAGES_POLL_SECONDS = 5
LIST_POLL_SECONDS = 10


@dataclass(frozen=True)
class Filters:
    line: str = "driver"
    status: str = ""
    priority: str = ""
    q: str = ""

    @classmethod
    def parse(cls, args: Any, default_line: str = "driver") -> Filters:
        filters = cls(
            line=args.get("line") or default_line,
            status=args.get("status", ""),
            priority=args.get("priority", ""),
            q=(args.get("q") or "").strip()[:100],
        )
        if filters.line not in rules.LINES:
            abort(400, "line must be driver or operator")
        if filters.status and filters.status not in rules.STATUSES:
            abort(400, f"status must be one of {', '.join(rules.STATUSES)}")
        if filters.priority and filters.priority not in rules.PRIORITIES:
            abort(400, "priority must be normal or critical")
        return filters

    def as_args(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v}


def _caller() -> Caller:
    p = g.principal
    return Caller(p.uid, {"role": p.role, "operatorId": p.operator_id, "email": p.email})


def _query(filters: Filters, operator_id: str | None) -> Any:
    return tickets.listing(
        db(),
        line=filters.line,  # type: ignore[arg-type]
        operator_id=operator_id,
        status=filters.status or None,
        priority=filters.priority or None,
        terms=rules.query_terms(filters.q) or None,
    )


def _page(filters: Filters, operator_id: str | None) -> tuple[list[TicketDoc], str | None]:
    query = _query(filters, operator_id)
    if filters.q:
        found = tickets.from_snapshots(query.limit(SEARCH_LIMIT).get())
        return [t for t in found if rules.matches(t.search_terms, filters.q)], None
    after = request.args.get("after")
    if after:
        cursor = tickets.ref(db(), after).get()
        if cursor.exists:
            query = query.start_after(cursor)
    found = tickets.from_snapshots(query.limit(PAGE_SIZE + 1).get())
    next_cursor = found[PAGE_SIZE - 1].id if len(found) > PAGE_SIZE else None
    return found[:PAGE_SIZE], next_cursor


def _operator_names() -> dict[str, str]:
    return {o.id: o.brand_name for o in operators.all_operators(db())}


def _render_list(filters: Filters, operator_id: str | None, queue: bool) -> Any:
    docs, next_cursor = _page(filters, operator_id)
    context = {
        "tickets": docs,
        "filters": filters,
        "next_cursor": next_cursor,
        "queue": queue,
        "names": _operator_names() if queue else {},
        "zone": g.operator.time_zone if g.get("operator") else "Europe/Helsinki",
        "poll": LIST_POLL_SECONDS,
    }
    if request.headers.get("HX-Request"):
        return render_template("fragments/tickets_table.html", **context)
    context["figures"] = figures.full(db(), filters.line, operator_id, datetime.now(UTC))
    context.update(statuses=rules.STATUSES, priorities=rules.PRIORITIES)
    return render_template("tickets.html", **context)


@blueprint.get("/tickets")
@staff_required
def index() -> Any:
    return _render_list(Filters.parse(request.args), g.operator.id, queue=False)


@blueprint.get("/tickets.csv")
@staff_required
def export_csv() -> Response:
    filters = Filters.parse(request.args)
    query = _query(filters, g.operator.id)
    zone = g.operator.time_zone

    def matching() -> Any:
        for ticket in tickets.from_snapshots(query.stream()):
            if not filters.q or rules.matches(ticket.search_terms, filters.q):
                yield ticket

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    body = csv_export.table(export.HEADER, export.rows(matching(), zone))
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="tickets-{g.operator.id}-{stamp}.csv"'
    )
    return response


def _super_only() -> Any:
    if g.principal is None:
        return redirect(url_for("signin.login", next=request.full_path.rstrip("?")), code=303)
    if not g.principal.is_super:
        raise Refused("Only ParkingDone's super admins answer the operators' tickets.")
    return None


@blueprint.get("/support-line")
def support_line() -> Any:
    """ParkingDone's queue: every operator's tickets to ParkingDone."""
    refused = _super_only()
    if refused is not None:
        return refused
    return _render_list(Filters.parse(request.args, "operator"), None, queue=True)


# --- one ticket -------------------------------------------------------------------------------


def ticket_view(view: Callable[..., Any]) -> Callable[..., Any]:
    """The ticket of the operator in scope (404 otherwise); a super admin outside a portal
    (ParkingDone's queue) reaches any operator's ticket, scoped to that operator."""

    @functools.wraps(view)
    def wrapper(ticket_id: str) -> Any:
        principal = g.principal
        if principal is not None and principal.is_super and g.portal is None:
            ticket = tickets.get(db(), ticket_id)
            if ticket is None:
                abort(404)
            g.operator = operators.get(db(), ticket.operator_id)
            if g.operator is None:
                abort(404)
            g.queue = True
            return view(ticket)

        @staff_required
        def scoped_view() -> Any:
            return view(scoped(tickets.get(db(), ticket_id)))

        return scoped_view()

    return wrapper


def _side(ticket: TicketDoc) -> str:
    side = service.side_of(_caller(), ticket)
    if side is None:
        abort(404)
    return side


@blueprint.get("/tickets/<ticket_id>")
@ticket_view
def ticket_page(ticket: TicketDoc) -> Any:
    return render_template(
        "ticket.html",
        ticket=ticket,
        side=_side(ticket),
        messages=tickets.messages_of(db(), ticket.id),
        zone=g.operator.time_zone,
        statuses=rules.STATUSES,
        priorities=rules.PRIORITIES,
        notice=request.args.get("notice"),
        poll=MESSAGES_POLL_SECONDS,
        now=datetime.now(UTC),
        back=url_for("tickets.support_line")
        if g.get("queue")
        else url_for("tickets.index", line=ticket.line),
    )


@blueprint.get("/tickets/<ticket_id>/messages")
@ticket_view
def messages_fragment(ticket: TicketDoc) -> Any:
    """The conversation, polled by the ticket page: new messages appear without a reload."""
    return render_template(
        "fragments/ticket_messages.html",
        ticket=ticket,
        side=_side(ticket),
        messages=tickets.messages_of(db(), ticket.id),
        zone=g.operator.time_zone,
        poll=MESSAGES_POLL_SECONDS,
    )


def _back(ticket: TicketDoc, notice: str) -> Any:
    return redirect(url_for("tickets.ticket_page", ticket_id=ticket.id, notice=notice), code=303)


@blueprint.post("/tickets/<ticket_id>/messages")
@ticket_view
def post_message(ticket: TicketDoc) -> Any:
    side = _side(ticket)
    status = request.form.get("status") or None if side == "support" else None
    result = service.add_message(
        db(),
        _caller(),
        ticket.id,
        request.form.get("text", ""),
        message_id=request.form.get("message_id") or None,
        status=status,
    )
    audit.record(
        db(),
        "ticket.reply" if side == "support" else "ticket.message",
        f"tickets/{ticket.id}",
        {"status": ticket.status},
        {"status": result["status"], "messageId": result["messageId"]},
    )
    return _back(ticket, "Reply sent" if side == "support" else "Message sent")


def _support_action(ticket: TicketDoc) -> None:
    if _side(ticket) != "support":
        raise Refused("Only support changes a ticket.")


@blueprint.post("/tickets/<ticket_id>/status")
@ticket_view
def change_status(ticket: TicketDoc) -> Any:
    _support_action(ticket)
    result = service.set_status(db(), _caller(), ticket.id, request.form.get("status", ""))
    if result["changed"]:
        audit.record(
            db(),
            "ticket.status",
            f"tickets/{ticket.id}",
            {"status": result["before"]},
            {"status": result["status"]},
        )
    return _back(ticket, f"Ticket is now {result['status']}")


@blueprint.post("/tickets/<ticket_id>/priority")
@ticket_view
def change_priority(ticket: TicketDoc) -> Any:
    _support_action(ticket)
    result = service.set_priority(db(), _caller(), ticket.id, request.form.get("priority", ""))
    audit.record(
        db(),
        "ticket.priority",
        f"tickets/{ticket.id}",
        {"priority": result["before"]},
        {"priority": result["priority"]},
    )
    return _back(ticket, f"Priority is now {result['priority']}")


@blueprint.post("/tickets/<ticket_id>/assignee")
@ticket_view
def change_assignee(ticket: TicketDoc) -> Any:
    _support_action(ticket)
    email = (request.form.get("email") or "").strip()
    if request.form.get("me"):
        email = g.principal.email or ""
    result = service.assign(db(), _caller(), ticket.id, email or None)
    audit.record(
        db(),
        "ticket.assignee",
        f"tickets/{ticket.id}",
        {"assignee": result["before"]},
        {"assignee": result["assignee"]},
    )
    return _back(ticket, f"Assigned to {result['assignee']}" if email else "Unassigned")


# --- the operator's line to ParkingDone -------------------------------------------------------


@blueprint.get("/tickets/new")
@staff_required
def new_ticket() -> Any:
    if g.principal.is_super:
        raise Refused("ParkingDone's own staff answer these tickets; they do not open them.")
    return render_template("ticket_new.html", priorities=rules.PRIORITIES)


@blueprint.post("/tickets/new")
@staff_required
def open_ticket() -> Any:
    if g.principal.is_super:
        raise Refused("ParkingDone's own staff answer these tickets; they do not open them.")
    try:
        opening = service.OpenTicket(
            subject=request.form.get("subject", ""),
            text=request.form.get("text", ""),
            priority=request.form.get("priority") or "normal",  # type: ignore[arg-type]
            operator_id=g.operator.id,
            request_id=request.form.get("request_id") or None,
        )
    except ValueError as exc:
        raise ApiError(400, "invalid_ticket", "Enter a subject and a message") from exc
    result = service.open_ticket(db(), _caller(), opening, line="operator")
    if result["created"]:
        audit.record(
            db(),
            "ticket.open",
            f"tickets/{result['ticketId']}",
            None,
            {"number": result["number"], "line": "operator", "priority": opening.priority},
        )
    return redirect(
        url_for(
            "tickets.ticket_page", ticket_id=result["ticketId"], notice=f"{result['number']} sent"
        ),
        code=303,
    )


# --- the operations tile ----------------------------------------------------------------------


@blueprint.get("/fragments/support")
@staff_required
def support_tile() -> Any:
    now = datetime.now(UTC)
    return render_template(
        "fragments/support.html",
        drivers=figures.pipeline(db(), "driver", g.operator.id, now),
        parkingdone=figures.pipeline(db(), "operator", g.operator.id, now),
    )
