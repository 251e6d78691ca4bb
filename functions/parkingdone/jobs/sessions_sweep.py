"""Scheduled sweep of sessions and the inbox (every 15 minutes).

- Open sessions longer than their facility's maximum stay are flagged for review (the car
  may have left unseen, or be abandoned). They stay open so that a late real exit still
  closes them; the flag is set once.
- Exits that waited longer than the maximum stay for their entry stop waiting: the pointer
  is removed and the anomaly session stays for review.
- Failed inbox events are processed again (nothing accepted is lost).
- Retryable failed evidence copies are attempted again.

Each step is a plain function of (db, now) so tests call it directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from firebase_functions import logger
from google.cloud import firestore
from google.cloud.firestore import Client
from google.cloud.firestore_v1.base_query import FieldFilter

from parkingdone import tenants
from parkingdone.ingest import inbox
from parkingdone.sessions import evidence, store
from parkingdone.sessions.machine import Flag

BATCH = 200


@dataclass
class SweepReport:
    flagged: list[str] = field(default_factory=list)
    expired_pointers: list[str] = field(default_factory=list)
    replayed: int = 0
    evidence_retried: int = 0


def _facilities(db: Client) -> list[tenants.Facility]:
    return [
        tenants.Facility.model_validate({**s.to_dict(), "id": s.id})
        for s in db.collection(tenants.FACILITIES).get()
    ]


def flag_overstays(db: Client, now: datetime) -> list[str]:
    flagged: list[str] = []
    for facility in _facilities(db):
        cutoff = now - timedelta(minutes=facility.max_stay_minutes)
        query = (
            db.collection(store.SESSIONS)
            .where(filter=FieldFilter("facilityId", "==", facility.id))
            .where(filter=FieldFilter("status", "==", "open"))
            .where(filter=FieldFilter("reviewRequired", "==", False))
            .where(filter=FieldFilter("entry.at", "<", cutoff))
            .limit(BATCH)
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
                facilityId=facility.id,
                sessionId=snapshot.id,
            )
    return flagged


def expire_waiting_exits(db: Client, now: datetime) -> list[str]:
    expired: list[str] = []
    for facility in _facilities(db):
        cutoff = now - timedelta(minutes=facility.max_stay_minutes)
        query = (
            db.collection(store.OPEN_SESSIONS)
            .where(filter=FieldFilter("facilityId", "==", facility.id))
            .where(filter=FieldFilter("state", "==", "awaiting_entry"))
            .where(filter=FieldFilter("at", "<", cutoff))
            .limit(BATCH)
        )
        for snapshot in query.get():
            # Only if still the same waiting exit: an event may have replaced it meanwhile.
            snapshot.reference.delete(option=db.write_option(last_update_time=snapshot.update_time))
            expired.append(snapshot.id)
    return expired


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
    report.expired_pointers = expire_waiting_exits(db, now)
    report.replayed = sum(1 for r in inbox.replay_failed(db) if r.status == "processed")
    report.evidence_retried = retry_evidence(db)
    logger.info(
        "sessions.sweep_done",
        flagged=len(report.flagged),
        expiredPointers=len(report.expired_pointers),
        replayed=report.replayed,
        evidenceRetried=report.evidence_retried,
    )
    return report
