"""The ticket list as CSV rows: local times with the operator's zone, every cell neutralised
by the dashboard's CSV writer (admin/csv_export.table)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from parkingdone.admin.formatting import local_iso
from parkingdone.models.tickets import TicketDoc

HEADER = (
    "number",
    "line",
    "status",
    "priority",
    "subject",
    "email",
    "plate",
    "session_id",
    "assignee",
    "created_local",
    "first_response_local",
    "first_response_minutes",
    "first_response_within_sla",
    "sla_breached",
    "resolved_local",
    "closed_local",
    "time_zone",
    "messages",
    "reopened",
)


def row(ticket: TicketDoc, zone: str) -> list[object]:
    within = ticket.first_response_within_sla
    return [
        ticket.number,
        ticket.line,
        ticket.status,
        ticket.priority,
        ticket.subject,
        ticket.email or "",
        ticket.plate or "",
        ticket.session_id or "",
        ticket.assignee_email or "",
        local_iso(ticket.created_at, zone),
        local_iso(ticket.first_response_at, zone),
        "" if ticket.first_response_seconds is None else round(ticket.first_response_seconds / 60),
        "" if within is None else ("yes" if within else "no"),
        "yes" if ticket.sla_breached else "no",
        local_iso(ticket.resolved_at, zone),
        local_iso(ticket.closed_at, zone),
        zone,
        ticket.message_count,
        ticket.reopened,
    ]


def rows(tickets: Iterable[TicketDoc], zone: str) -> Iterator[list[object]]:
    for ticket in tickets:
        yield row(ticket, zone)
