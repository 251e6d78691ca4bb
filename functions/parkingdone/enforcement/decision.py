"""The enforcement decision. Pure: no I/O, no Firebase; every instant is passed in.

A plate's state at one facility is kept in one projection document, `PlateStatus`, built
from the plate's recent sessions and its passes (`build_plate_status`). It stores instants
only (when coverage starts and ends, when the free period ends); whether a pass has expired
or a grace window has passed is decided here, at read time, from those instants. The check
(`check`) and the whitelist (`is_whitelisted`, on the shard entry `whitelist_entry` keeps of
the same projection) both go through `decide`, so the two endpoints cannot disagree.

Rules (docs/enforcement.md says the same for officers):
- `pass_active`: an active pass covers the plate at this facility now;
- `paid`: the current stay is paid, or covered by the driver's automatic payment (a
  registered driver with a saved card), or the vehicle paid within the enforcement grace;
- `parked_unpaid`: an open session with no payment arrangement;
- `not_found`: none of these.
`shouldFine` is true only for `parked_unpaid`, once the free period (or the end of the last
coverage of the stay) plus the facility's enforcement grace has passed, and never when a
confusable variant of the plate (O/0, I/1, B/8, S/5, Z/2) is paid or has a pass here, nor
while the projection is waiting to be rebuilt.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from parkingdone import messages, plates

Status = Literal["paid", "pass_active", "parked_unpaid", "not_found"]
CoverageKind = Literal["pass", "payment", "auto_payment"]

# Firestore cannot index "forever"; an open stay under automatic payment is covered until it
# closes, which rebuilds the projection.
OPEN_ENDED = datetime(9999, 12, 31, tzinfo=UTC)
# payment.status values written by the payments part.
PAID_STATUSES = frozenset({"succeeded", "paid"})
AUTOMATIC_STATUSES = frozenset({"pending", "processing"})
# How many of a plate's sessions and payments the projection keeps (the rest is history).
RECENT_SESSIONS = 10
RECENT_PAYMENTS = 5
RECENT_PAYMENT_WINDOW = timedelta(hours=24)


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class Coverage(_Model):
    """An interval during which the plate may park here: a pass or a payment."""

    kind: CoverageKind
    ref: str
    """passId for a pass, sessionId for a payment."""
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    """Exclusive. OPEN_ENDED for an open stay under automatic payment."""
    grace_included: bool = False
    """Whether ends_at already includes the enforcement grace (payments of a finished stay)."""
    amount: int | None = None
    currency: str | None = None
    paid_at: AwareDatetime | None = None
    product_id: str | None = None

    def covers(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at


class OpenStay(_Model):
    session_id: str
    entry_at: AwareDatetime
    free_until: AwareDatetime
    """Entry plus the free period of the tariff version in force at entry."""


class PaymentRecord(_Model):
    session_id: str
    status: str
    amount: int | None = None
    currency: str | None = None
    paid_at: AwareDatetime | None = None
    recorded_at: AwareDatetime | None = None
    """For a finished stay, its exit (or entry): when "recent" ends if it was never paid."""

    def instant(self) -> datetime | None:
        return self.paid_at or self.recorded_at


class PlateStatus(_Model):
    """The projection document plateStatus/{facilityId}__{plate}."""

    operator_id: str
    facility_id: str
    plate: str
    display: str
    """The plate as last read by a camera or typed by the driver (e.g. "ABC-123")."""
    skeleton: str
    grace_minutes: int = Field(ge=0)
    open_stay: OpenStay | None = None
    coverage: list[Coverage] = Field(default_factory=list)
    payments: list[PaymentRecord] = Field(default_factory=list)
    covered_until: AwareDatetime | None = None
    """The latest coverage end."""
    rebuild_pending: bool = False
    """A rebuild failed; until the retry succeeds, nothing about this plate is fineable."""
    expires_at: AwareDatetime | None = None
    """From this instant the projection answers exactly as no projection would (see
    `relevant_until`): the sweep deletes it then. None on a document built before."""
    updated_at: AwareDatetime | None = None

    @property
    def grace(self) -> timedelta:
        return timedelta(minutes=self.grace_minutes)


def doc_id(facility_id: str, plate: str) -> str:
    return f"{facility_id}__{plate}"


# --- Building the projection -------------------------------------------------------------


def _at(value: Any) -> datetime | None:
    """A stored instant as an aware UTC datetime (Firestore returns aware datetimes)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        return None
    return value.astimezone(UTC)


def _amount(session: Mapping[str, Any]) -> tuple[int | None, str | None]:
    payment = session.get("payment") or {}
    fee = session.get("fee") or {}
    amount = payment.get("amount", fee.get("total"))
    currency = payment.get("currency", fee.get("currency"))
    return (amount if isinstance(amount, int) else None), currency


TariffTerms = Callable[[datetime], tuple[int, int]]
"""entry instant -> (free minutes, exit grace minutes) of the tariff version in force."""


def build_plate_status(
    *,
    operator_id: str,
    facility_id: str,
    plate: str,
    skeleton: str,
    sessions: Iterable[tuple[str, Mapping[str, Any]]],
    passes: Iterable[tuple[str, Mapping[str, Any]]],
    grace_minutes: int,
    tariff_terms: TariffTerms,
    drivers_with_saved_card: set[str] = frozenset(),
    now: datetime,
) -> PlateStatus:
    """The projection of one plate at one facility from its recent sessions and its passes.

    `sessions` and `passes` are (document id, document) pairs of this plate at this
    facility. A driver with a saved card has an automatic payment arrangement.
    """
    grace = timedelta(minutes=grace_minutes)
    coverage: list[Coverage] = []
    payments: list[PaymentRecord] = []
    open_stay: OpenStay | None = None
    display = plate
    latest_seen: datetime | None = None

    for session_id, session in sessions:
        entry_at = _at((session.get("entry") or {}).get("at"))
        if entry_at is None:
            continue
        exit_at = _at((session.get("exit") or {}).get("at"))
        status = session.get("status")
        payment = session.get("payment") or {}
        pay_status = payment.get("status")
        paid_at = _at(payment.get("paidAt"))
        amount, currency = _amount(session)
        if latest_seen is None or entry_at > latest_seen:
            latest_seen = entry_at
            raw = str(session.get("plateRaw") or plate)
            display = plates.display(raw, raw.strip().upper() or plate)
        if pay_status:
            payments.append(
                PaymentRecord(
                    session_id=session_id,
                    status=pay_status,
                    amount=amount,
                    currency=currency,
                    paid_at=paid_at,
                    recorded_at=None if status == "open" else (exit_at or entry_at),
                )
            )

        if status == "open":
            free_minutes, exit_grace = tariff_terms(entry_at)
            stay = OpenStay(
                session_id=session_id,
                entry_at=entry_at,
                free_until=entry_at + timedelta(minutes=free_minutes),
            )
            if open_stay is None or stay.entry_at > open_stay.entry_at:
                open_stay = stay
            if pay_status in PAID_STATUSES and paid_at is not None:
                # Paid in the app during the stay: the driver may leave within the tariff's
                # exit grace, and enforcement adds its own grace on top.
                coverage.append(
                    Coverage(
                        kind="payment",
                        ref=session_id,
                        starts_at=min(paid_at, entry_at),
                        ends_at=paid_at + timedelta(minutes=exit_grace) + grace,
                        grace_included=True,
                        amount=amount,
                        currency=currency,
                        paid_at=paid_at,
                    )
                )
            elif pay_status in AUTOMATIC_STATUSES or (
                not pay_status and session.get("driverUid") in drivers_with_saved_card
            ):
                coverage.append(
                    Coverage(
                        kind="auto_payment",
                        ref=session_id,
                        starts_at=entry_at,
                        ends_at=OPEN_ENDED,
                        amount=amount,
                        currency=currency,
                    )
                )
        elif status == "closed" and exit_at is not None:
            if pay_status in PAID_STATUSES:
                paid = paid_at or exit_at
                coverage.append(
                    Coverage(
                        kind="payment",
                        ref=session_id,
                        starts_at=entry_at,
                        ends_at=max(paid, exit_at) + grace,
                        grace_included=True,
                        amount=amount,
                        currency=currency,
                        paid_at=paid_at,
                    )
                )
            elif pay_status in AUTOMATIC_STATUSES or (
                # Closed a moment ago, its charge not started yet (the settle window): the
                # driver's saved card still covers the stay, as it did while parked.
                not pay_status and session.get("driverUid") in drivers_with_saved_card
            ):
                coverage.append(
                    Coverage(
                        kind="auto_payment",
                        ref=session_id,
                        starts_at=entry_at,
                        ends_at=exit_at + grace,
                        grace_included=True,
                        amount=amount,
                        currency=currency,
                    )
                )
        # "missing_exit" and "anomaly" stays are for review: neither covered nor fineable.

    for pass_id, pass_doc in passes:
        if pass_doc.get("status") != "active":
            continue
        valid_from = _at(pass_doc.get("validFrom"))
        valid_until = _at(pass_doc.get("validUntil"))
        if valid_from is None or valid_until is None or valid_until <= valid_from:
            continue
        amount = pass_doc.get("amount")
        coverage.append(
            Coverage(
                kind="pass",
                ref=pass_id,
                starts_at=valid_from,
                ends_at=valid_until,
                amount=amount if isinstance(amount, int) else None,
                currency=pass_doc.get("currency"),
                product_id=pass_doc.get("productId"),
            )
        )

    payments.sort(key=lambda p: p.paid_at or datetime.min.replace(tzinfo=UTC), reverse=True)
    coverage.sort(key=lambda c: (c.starts_at, c.ends_at, c.ref))
    status = PlateStatus(
        operator_id=operator_id,
        facility_id=facility_id,
        plate=plate,
        display=display,
        skeleton=skeleton,
        grace_minutes=grace_minutes,
        open_stay=open_stay,
        coverage=coverage,
        payments=payments[:RECENT_PAYMENTS],
        covered_until=max((c.ends_at for c in coverage), default=None),
        updated_at=now,
    )
    status.expires_at = relevant_until(status)
    return status


def relevant_until(doc: PlateStatus) -> datetime | None:
    """The instant from which `doc` answers every check as if it did not exist; None if now.

    A projection matters while the plate has an open stay, while a rebuild is pending, until
    its last coverage (pass, payment, automatic payment, each grace included) ends, and for
    RECENT_PAYMENT_WINDOW after its last payment, which the check shows. After that instant
    `decide` answers not_found, the check lists no payment and the plate is no confusable
    match of any other, so deleting the projection then changes no answer: only plates that
    still matter to enforcement are kept, whatever the history.
    """
    if doc.rebuild_pending or doc.open_stay is not None:
        return OPEN_ENDED
    ends = [c.ends_at for c in doc.coverage]
    for payment in doc.payments:
        instant = payment.instant()
        # A payment with no instant (a projection from before recordedAt) stays recent.
        ends.append(OPEN_ENDED if instant is None else instant + RECENT_PAYMENT_WINDOW)
    return max(ends, default=None)


def is_relevant(doc: PlateStatus, now: datetime) -> bool:
    until = relevant_until(doc)
    return until is not None and until > now


# --- The whitelist's shard entries ------------------------------------------------------

# How many shard documents hold a facility's whitelist entries (see `shard_of`).
WHITELIST_SHARDS = 16


def shard_of(plate: str, shards: int = WHITELIST_SHARDS) -> int:
    """The whitelist shard of a (normalised) plate: a stable hash, the same in every process."""
    return zlib.crc32(plate.encode()) % shards


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(instant: datetime) -> int:
    return (instant - _EPOCH) // timedelta(microseconds=1)


def _instant(micros: str) -> datetime:
    return _EPOCH + timedelta(microseconds=int(micros))


def whitelist_entry(doc: PlateStatus, now: datetime) -> str | None:
    """What the whitelist needs of `doc` to decide, at any instant from `now` on, whether the
    check would answer paid or pass_active: each coverage window not yet ended (kind, start,
    end) and the display form. None when no coverage is left, so no later instant is covered.

    One string, so that a shard of thousands of entries reads and decodes fast:
    `kind start end[;kind start end...]|display`, instants in microseconds since the epoch
    (exact: Firestore keeps microseconds), windows in order. `from_whitelist_entry` turns it
    back into a projection that `decide` answers exactly as it answers `doc` for whitelisting
    (the unit tests check it).
    """
    windows = sorted({(c.starts_at, c.ends_at, c.kind) for c in doc.coverage if c.ends_at > now})
    if not windows:
        return None
    spans = ";".join(f"{kind} {_micros(start)} {_micros(end)}" for start, end, kind in windows)
    return f"{spans}|{doc.display}"


def _windows(entry: str) -> tuple[list[tuple[str, datetime, datetime]], str]:
    spans, _, display = entry.partition("|")
    windows = []
    for span in spans.split(";"):
        kind, start, end = span.split(" ")
        windows.append((kind, _instant(start), _instant(end)))
    return windows, display


def entry_expires_at(entry: str) -> datetime:
    """The end of the last window of a shard entry: from then on it covers nothing."""
    windows, _ = _windows(entry)
    return max(end for _, _, end in windows)


def from_whitelist_entry(operator_id: str, facility_id: str, plate: str, entry: str) -> PlateStatus:
    """The projection a shard entry stands for, as far as whitelisting goes."""
    windows, display = _windows(entry)
    coverage = [
        Coverage(kind=kind, ref="", starts_at=start, ends_at=end) for kind, start, end in windows
    ]
    return PlateStatus(
        operator_id=operator_id,
        facility_id=facility_id,
        plate=plate,
        display=display or plate,
        skeleton="",
        grace_minutes=0,
        coverage=coverage,
        covered_until=max((c.ends_at for c in coverage), default=None),
    )


# --- Deciding ----------------------------------------------------------------------------


class PlateAnswer(_Model):
    """The status of one plate (exact, no confusables) at an instant."""

    status: Status
    covering: list[Coverage] = Field(default_factory=list)
    """The coverage in force now, best first (passes before payments)."""
    fineable_at: AwareDatetime | None = None
    """For parked_unpaid: the instant from which a fine is justified."""


def decide(doc: PlateStatus | None, now: datetime) -> PlateAnswer:
    if doc is None:
        return PlateAnswer(status="not_found")
    covering = [c for c in doc.coverage if c.covers(now)]
    passes = [c for c in covering if c.kind == "pass"]
    if passes:
        passes.sort(key=lambda c: c.ends_at, reverse=True)
        return PlateAnswer(status="pass_active", covering=passes)
    if covering:
        covering.sort(key=lambda c: c.ends_at, reverse=True)
        return PlateAnswer(status="paid", covering=covering)
    stay = doc.open_stay
    if stay is None or stay.entry_at > now:
        return PlateAnswer(status="not_found")
    # Fineable once the free period, and any coverage of this stay that has ended, plus the
    # grace have passed. A payment of a finished stay carries its grace already.
    fineable_at = stay.free_until + doc.grace
    for c in doc.coverage:
        if c.ends_at > stay.entry_at and c.starts_at <= now:
            fineable_at = max(
                fineable_at, c.ends_at + (timedelta(0) if c.grace_included else doc.grace)
            )
    return PlateAnswer(status="parked_unpaid", fineable_at=fineable_at)


def is_whitelisted(doc: PlateStatus, now: datetime) -> bool:
    return decide(doc, now).status in ("paid", "pass_active")


class ConfusableMatch(_Model):
    plate: str
    display: str
    status: Status


class CheckResult(_Model):
    plate: str
    status: Status
    should_fine: bool
    summary: str
    covering: list[Coverage] = Field(default_factory=list)
    fineable_at: AwareDatetime | None = None
    open_stay: OpenStay | None = None
    payments: list[PaymentRecord] = Field(default_factory=list)
    confusable_matches: list[ConfusableMatch] = Field(default_factory=list)
    rebuild_pending: bool = False


def check(
    plate: str,
    candidates: Sequence[PlateStatus],
    now: datetime,
    time_zone: str,
    language: str = "en",
) -> CheckResult:
    """The answer for `plate` (normalised) from its projection and its confusable variants'.

    `candidates` are the projections sharing the plate's confusable skeleton at this facility
    (the exact plate's among them, if it has one).
    """
    exact = next((c for c in candidates if c.plate == plate), None)
    answer = decide(exact, now)
    matches: list[ConfusableMatch] = []
    if answer.status not in ("paid", "pass_active"):
        for other in candidates:
            if other.plate == plate:
                continue
            other_answer = decide(other, now)
            if other_answer.status in ("paid", "pass_active"):
                matches.append(
                    ConfusableMatch(
                        plate=other.plate, display=other.display, status=other_answer.status
                    )
                )
        matches.sort(key=lambda m: m.plate)
    pending = any(c.rebuild_pending for c in candidates)
    should_fine = (
        answer.status == "parked_unpaid"
        and answer.fineable_at is not None
        and now >= answer.fineable_at
        and not matches
        and not pending
    )
    recent = [
        p
        for p in (exact.payments if exact else [])
        if p.instant() is None or now - p.instant() < RECENT_PAYMENT_WINDOW
    ]
    return CheckResult(
        plate=plate,
        status=answer.status,
        should_fine=should_fine,
        summary=summary(answer, should_fine, matches, pending, now, time_zone, language),
        covering=answer.covering,
        fineable_at=answer.fineable_at,
        open_stay=exact.open_stay if exact and answer.status == "parked_unpaid" else None,
        payments=recent,
        confusable_matches=matches,
        rebuild_pending=pending,
    )


# --- The sentence an officer reads aloud -------------------------------------------------


def _clock(instant: datetime, now: datetime, zone: ZoneInfo) -> str:
    local = instant.astimezone(zone)
    if local.date() == now.astimezone(zone).date():
        return local.strftime("%H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


def summary(
    answer: PlateAnswer,
    should_fine: bool,
    matches: Sequence[ConfusableMatch],
    pending: bool,
    now: datetime,
    time_zone: str,
    language: str = "en",
) -> str:
    """The sentence for the officer, in `language` (messages.py, `officer.*`). The API's
    `summary` is always English (its contract); Finnish is for the operator's own tools."""
    zone = ZoneInfo(time_zone)
    if answer.status == "pass_active":
        until = _clock(answer.covering[0].ends_at, now, zone)
        return messages.text("officer.pass_active", language, until=until)
    if answer.status == "paid":
        if answer.covering[0].kind == "auto_payment":
            return messages.text("officer.auto_payment", language)
        return messages.text("officer.paid", language)
    if matches:
        similar = matches[0]
        key = (
            "officer.similar_pass_active"
            if similar.status == "pass_active"
            else "officer.similar_paid"
        )
        return messages.text(key, language, similar=similar.display)
    if pending:
        return messages.text("officer.pending", language)
    if answer.status == "parked_unpaid":
        if should_fine:
            return messages.text("officer.may_fine", language)
        if answer.fineable_at is None:
            raise ValueError("an unpaid stay's answer has no fineable time")
        until = _clock(answer.fineable_at, now, zone)
        return messages.text("officer.within_grace", language, until=until)
    return messages.text("officer.no_record", language)
