"""Scheduled sweep of sessions and the inbox (every 15 minutes).

- Open sessions longer than their facility's maximum stay are flagged for review (the car
  may have left unseen, or be abandoned). They stay open so that a late real exit still
  closes them; the flag is set once.
- Failed inbox events are processed again, in event-time order (nothing accepted is lost);
  those past their attempts are dead letters, counted here and replayed by hand.
- Retryable failed evidence copies are attempted again.
- The figures pump runs for every operator (a lost pump task delays figures, never loses them).

Each step is a plain function of (db, now) so tests call it directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from firebase_functions import logger
from google.cloud import firestore
from google.cloud.firestore import Client
from google.cloud.firestore_v1.base_query import FieldFilter

from parkingdone import settings
from parkingdone.admin import figures_pump
from parkingdone.ingest import inbox
from parkingdone.models import facilities
from parkingdone.sessions import evidence, store
from parkingdone.sessions.machine import Flag

BATCH = 200
FACILITY_PAGE = 100


@dataclass
class SweepReport:
    flagged: list[str] = field(default_factory=list)
    replayed: int = 0
    dead_letters: int = 0
    evidence_retried: int = 0
    figures_refreshed: int = 0


@dataclass(frozen=True)
class _StayLimit:
    facility_id: str
    operator_id: str
    max_stay_minutes: int


def _stay_limits(db: Client) -> Iterator[_StayLimit]:
    """Every facility's maximum stay, a page at a time, reading only the two fields needed
    (not the tariffs and geofences a whole facility document carries)."""
    last = None
    while True:
        query = (
            db.collection(facilities.COLLECTION)
            .select(["operatorId", "maxStayMinutes"])
            .order_by("__name__")
            .limit(FACILITY_PAGE)
        )
        if last is not None:
            query = query.start_after(last)
        page = query.get()
        for snapshot in page:
            doc = snapshot.to_dict() or {}
            yield _StayLimit(
                snapshot.id,
                str(doc.get("operatorId", "")),
                int(doc.get("maxStayMinutes") or settings.MAX_STAY_MINUTES),
            )
        if len(page) < FACILITY_PAGE:
            return
        last = page[-1]


def flag_overstays(db: Client, now: datetime) -> list[str]:
    """Flag open stays past their facility's maximum stay, at most BATCH per run (the rest
    on the next run)."""
    flagged: list[str] = []
    for facility in _stay_limits(db):
        if len(flagged) >= BATCH:
            break
        cutoff = now - timedelta(minutes=facility.max_stay_minutes)
        query = (
            db.collection(store.SESSIONS)
            .where(filter=FieldFilter("facilityId", "==", facility.facility_id))
            .where(filter=FieldFilter("status", "==", "open"))
            .where(filter=FieldFilter("reviewRequired", "==", False))
            .where(filter=FieldFilter("entry.at", "<", cutoff))
            .limit(BATCH - len(flagged))
        )
        for snapshot in query.get():
            snapshot.reference.update(
                {
                    "reviewRequired": True,
                    "flags": firestore.ArrayUnion([str(Flag.MAX_STAY_EXCEEDED)]),
                    "updatedAt": now,
                }
            )
            flagged.append(snapshot.id)
            logger.info(
                "sessions.max_stay_exceeded",
                operatorId=facility.operator_id,
                facilityId=facility.facility_id,
                sessionId=snapshot.id,
            )
    return flagged


def retry_evidence(db: Client) -> int:
    """Copy again the images whose copy failed for a passing reason (marked evidenceRetry)."""
    done = 0
    query = (
        db.collection(store.SESSIONS)
        .where(filter=FieldFilter("evidenceRetry", "==", True))
        .limit(BATCH)
    )
    for snapshot in query.get():
        done += evidence.retry_failed(db, snapshot.id, snapshot.to_dict())
    return done


def run(db: Client, now: datetime | None = None) -> SweepReport:
    now = now or datetime.now(UTC)
    report = SweepReport()
    report.flagged = flag_overstays(db, now)
    report.replayed = sum(1 for r in inbox.replay_failed(db) if r.status == "processed")
    report.dead_letters = inbox.count_dead_letters(db)
    report.evidence_retried = retry_evidence(db)
    report.figures_refreshed = figures_pump.run_all(db)
    logger.info(
        "sessions.sweep_done",
        flagged=len(report.flagged),
        replayed=report.replayed,
        deadLetters=report.dead_letters,
        evidenceRetried=report.evidence_retried,
        figuresRefreshed=report.figures_refreshed,
    )
    return report
