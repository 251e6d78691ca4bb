"""Each operator's retention policy: how long its data is kept, within legal bounds.

The policy lives in retentionPolicies/{operatorId}; an operator without one gets the
defaults. Super admins change it (callable `retentionPolicy`), operator admins read it. The
sweep (jobs/retention.py) turns it into cutoffs for a given moment with `cutoffs`, a pure
function.

Defaults and bounds:
- stays (sessions, their inbox events, enforcement check logs, disputes): 24 months after
  the stay ended; 1 to 36 months.
- evidence images: 18 months; 1 month up to the stays' period (an image outliving its stay
  would be evidence of nothing).
- payment records, receipts, passes (the ledger): 6 years after the end of the financial
  year they belong to, as the Finnish Accounting Act requires of vouchers; 6 to 10 years.
- support tickets: 24 months after closing; 1 to 36 months.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from google.cloud.firestore import Client
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from parkingdone import errors
from parkingdone.models.retention_policies import COLLECTION as POLICIES


class RetentionPolicy(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )

    sessions_months: int = Field(default=24, ge=1, le=36)
    images_months: int = Field(default=18, ge=1, le=36)
    accounting_years: int = Field(default=6, ge=6, le=10)
    # The last month of the operator's financial year (12: the calendar year).
    financial_year_end_month: int = Field(default=12, ge=1, le=12)
    tickets_months: int = Field(default=24, ge=1, le=36)

    @model_validator(mode="after")
    def _images_within_stays(self) -> RetentionPolicy:
        if self.images_months > self.sessions_months:
            raise ValueError("imagesMonths cannot exceed sessionsMonths")
        return self

    def to_doc(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True)


DEFAULT = RetentionPolicy()


@dataclass(frozen=True)
class Cutoffs:
    """Data dated strictly before a cutoff is past its limit."""

    sessions: datetime
    images: datetime
    accounting: datetime
    tickets: datetime


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months earlier (clamped to the month's end)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def accounting_cutoff(now: datetime, years: int, year_end_month: int) -> datetime:
    """Start of the earliest financial year whose records must still be kept.

    A record may go once `years` years have passed since the end of its financial year: so
    every record of a year that ended at least `years` years ago is past its limit.
    """
    for year in range(now.year, now.year - years - 3, -1):
        last_day = calendar.monthrange(year, year_end_month)[1]
        next_start = datetime.combine(
            datetime(year, year_end_month, last_day).date() + timedelta(days=1), time(), UTC
        )
        if next_start.replace(year=next_start.year + years) <= now:
            return next_start
    raise AssertionError("unreachable: the loop covers every financial year in range")


def cutoffs(policy: RetentionPolicy, now: datetime) -> Cutoffs:
    return Cutoffs(
        sessions=months_before(now, policy.sessions_months),
        images=months_before(now, policy.images_months),
        accounting=accounting_cutoff(now, policy.accounting_years, policy.financial_year_end_month),
        tickets=months_before(now, policy.tickets_months),
    )


def load(db: Client, operator_id: str) -> RetentionPolicy:
    snapshot = db.collection(POLICIES).document(operator_id).get()
    if not snapshot.exists:
        return DEFAULT
    stored = {
        k: v
        for k, v in snapshot.to_dict().items()
        if k in RetentionPolicy.model_fields
        or k in {f.alias for f in RetentionPolicy.model_fields.values()}
    }
    return RetentionPolicy.model_validate(stored)


def save(db: Client, operator_id: str, policy: RetentionPolicy, by_uid: str) -> None:
    db.collection(POLICIES).document(operator_id).set(
        {
            **policy.to_doc(),
            "operatorId": operator_id,
            "updatedBy": by_uid,
            "updatedAt": datetime.now(UTC),
        }
    )


def change(db: Client, operator_id: str, values: dict[str, Any], by_uid: str) -> RetentionPolicy:
    """Validate and save a new policy: the one path of the callable and the dashboard. A value
    outside the legal bounds is refused (ApiError invalid_policy) and nothing is saved."""
    try:
        policy = RetentionPolicy.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'policy'}: {e['msg']}" for e in exc.errors()
        )
        raise errors.bad_request(f"Invalid policy: {problems}", "invalid_policy") from exc
    save(db, operator_id, policy, by_uid)
    return policy


def bounds() -> dict[str, dict[str, int]]:
    """Each setting's allowed range, as the dashboard shows it."""
    found = {}
    for name, info in RetentionPolicy.model_fields.items():
        low = next(m.ge for m in info.metadata if hasattr(m, "ge"))
        high = next(m.le for m in info.metadata if hasattr(m, "le"))
        found[info.alias or name] = {"min": low, "max": high}
    return found
