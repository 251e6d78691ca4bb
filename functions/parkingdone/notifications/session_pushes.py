"""Pushes driven by a parking session: "entry" at once, "free period about to end" later.

The entry push tells the driver the facility, its free period (from the tariff version in
force at entry) and the facility's driver notice. The reminder is one delayed Cloud Tasks
task per session, scheduled at entry for REMINDER_LEAD before the free period ends; when it
fires it checks the session again and stays silent if the car has already left.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from firebase_functions import logger
from pydantic import ValidationError

from parkingdone import firebase, tariffs, tenants
from parkingdone.models.sessions import COLLECTION as SESSIONS
from parkingdone.notifications import sender

REMINDER_FUNCTION = "freePeriodReminder"
REMINDER_LEAD = timedelta(minutes=5)
EARLY_TOLERANCE = timedelta(seconds=60)


def _entry_at(session: dict[str, Any]) -> datetime | None:
    entry = session.get("entry") or {}
    at = entry.get("at")
    return at.astimezone(UTC) if isinstance(at, datetime) else None


def free_period(facility: tenants.Facility, entry_at: datetime) -> timedelta:
    """The free period of the tariff version in force at entry (zero if none or unknown)."""
    try:
        versions = [tariffs.TariffVersion.model_validate(v) for v in facility.tariffs]
        version = tariffs.select_version(versions, entry_at)
    except (ValidationError, tariffs.TariffError) as exc:
        logger.warn("push.tariff_unavailable", facility_id=facility.id, error=str(exc))
        return timedelta(0)
    return version.free_period.duration if version.free_period else timedelta(0)


def reminder_at(entry_at: datetime, free: timedelta) -> datetime | None:
    """When to remind; None when the free period is too short to warn ahead of its end."""
    if free <= REMINDER_LEAD:
        return None
    return entry_at + free - REMINDER_LEAD


def on_session_created(session_id: str, session: dict[str, Any]) -> dict[str, Any]:
    """Trigger body for a new session: the entry push and the reminder task."""
    uid = session.get("driverUid")
    entry_at = _entry_at(session)
    ids = {
        "session_id": session_id,
        "operator_id": session.get("operatorId"),
        "facility_id": session.get("facilityId"),
    }
    # Only an open stay of a known driver is announced; anomalies are for operators.
    if not uid or session.get("status") != "open" or entry_at is None:
        return {"status": "ignored"}
    facility = tenants.find_facility(
        firebase.db(), session.get("operatorId", ""), session.get("facilityId", "")
    )
    if facility is None:
        logger.warn("push.entry_unknown_facility", **ids)
        return {"status": "ignored"}

    free = free_period(facility, entry_at)
    result = sender.push(
        uid,
        "entry",
        {
            "facilityName": facility.name,
            "freeMinutes": int(free.total_seconds() // 60),
            "driverNotice": facility.driver_notice,
            "sessionId": session_id,
        },
        key=f"{session_id}__entry",
    )
    remind = reminder_at(entry_at, free)
    scheduled = False
    if remind is not None and remind > datetime.now(UTC):
        scheduled = schedule_reminder(session_id, remind)
    logger.info("push.entry_done", **ids, push=result["status"], reminder=scheduled)
    return {"push": result, "reminderScheduled": scheduled}


def task_id(session_id: str) -> str:
    """Cloud Tasks ids allow letters, digits, - and _; stable so a redelivery adds nothing."""
    return "free-period-" + re.sub(r"[^A-Za-z0-9_-]", "-", session_id)[:400]


def schedule_reminder(session_id: str, at: datetime) -> bool:
    from firebase_admin import exceptions as fb_exceptions

    from parkingdone import tasks

    delay = max(0, math.ceil((at - datetime.now(UTC)).total_seconds()))
    try:
        tasks.enqueue(
            REMINDER_FUNCTION,
            {"sessionId": session_id},
            delay_seconds=delay,
            task_id=task_id(session_id),
        )
    except fb_exceptions.FirebaseError as exc:
        logger.error("push.reminder_enqueue_failed", session_id=session_id, error=repr(exc))
        return False
    return True


def send_reminder(session_id: str, now: datetime | None = None) -> dict[str, Any]:
    """Task body: remind the driver unless the stay already ended or the moment passed."""
    now = now or datetime.now(UTC)
    if not session_id:
        return {"status": "skipped", "reason": "no_session"}
    snapshot = firebase.db().collection(SESSIONS).document(session_id).get()
    if not snapshot.exists:
        return {"status": "skipped", "reason": "no_session"}
    session = snapshot.to_dict()
    uid = session.get("driverUid")
    entry_at = _entry_at(session)
    if session.get("status") != "open" or session.get("exit") or not uid or entry_at is None:
        return {"status": "skipped", "reason": "session_ended"}
    facility = tenants.find_facility(
        firebase.db(), session.get("operatorId", ""), session.get("facilityId", "")
    )
    if facility is None:
        return {"status": "skipped", "reason": "unknown_facility"}
    free = free_period(facility, entry_at)
    ends = entry_at + free
    if ends <= now:
        return {"status": "skipped", "reason": "free_period_over"}
    due = reminder_at(entry_at, free)
    # Cloud Tasks honours the schedule; the local tasks emulator dispatches at once. A reminder
    # ahead of its time would tell the driver the wrong thing, so it stays silent.
    if due is None or now < due - EARLY_TOLERANCE:
        logger.info("push.reminder_not_due", session_id=session_id)
        return {"status": "skipped", "reason": "not_due"}
    # Nearest minute: the task fires a moment after its time, "6 min" would be wrong.
    minutes_left = max(1, round((ends - now).total_seconds() / 60))
    result = sender.push(
        uid,
        "free_period_ending",
        {"facilityName": facility.name, "minutesLeft": minutes_left, "sessionId": session_id},
        key=f"{session_id}__free_period_ending",
    )
    return {"status": result["status"], "push": result}
