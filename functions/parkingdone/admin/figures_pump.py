"""The figures pump: stay changes reach the dashboard's figures in batches, off the trigger.

The Firestore emulator delivers the session trigger's events one at a time (the next when the
previous invocation has answered): every millisecond the trigger spends is a millisecond every
later push, charge and projection waits. Bringing the figures up to date for one stay is a
transaction of four reads and four writes, about ten times the cost of the trigger's
invocation itself; for most writes (an unregistered car driving in) it was all the trigger did.

So a session write made through `models.sessions.stamped` carries its commit time
(`changedAt`), and while the trigger is busy (sessions/trigger_load.py) it only asks for a pump
run for the stay's operator (`request`: at most once per window per operator and process, a
named Cloud Task; no Firestore call). A quiet trigger counts the stay itself: a car driving
into a quiet car park costs no pump invocation. Either way the stay is counted once: one
counted by the trigger and read again by a pump run adds nothing. The run
(`run`, the `figuresPump` task) reads the operator's stays changed since its watermark, oldest
first, and brings a page of them up to date in one transaction (admin/aggregates.refresh_many,
the computation the trigger makes for one stay). A change counted twice adds nothing, so
every read goes back FIGURES_PUMP_OVERLAP_SECONDS before the newest stamp read: a write whose
stamp is older than one already read can become visible after it (the emulator stamps a commit
before it lands), and a stay read once and changed again during the run has a newer stamp, so
it is read again. One run per operator holds the pump. Writes
without the stamp and deleted stays are still counted by the trigger itself
(sessions/dispatch.py). The session sweep runs the pump for every operator too, so a lost task
delays figures, never loses them.
"""

from __future__ import annotations

import math
import re
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

from firebase_functions import logger
from google.cloud.firestore import Client
from google.cloud.firestore_v1.base_query import FieldFilter

from parkingdone import settings
from parkingdone.models import figure_pumps, sessions

PUMP_FUNCTION = "figuresPump"


class PumpHeld(RuntimeError):
    """The operator's pump is held by a run that has gone silent: try again later."""


_requested: dict[str, int] = {}  # operator -> the window last asked for by this process
_requested_lock = threading.Lock()


def window_of(at: float, width: int | None = None) -> int:
    return math.floor(at / (width or settings.FIGURES_PUMP_WINDOW_SECONDS))


def task_id(operator_id: str, window: int) -> str:
    """One pump task per operator and window (Cloud Tasks ids: letters, digits, - and _)."""
    return f"figures-{re.sub(r'[^A-Za-z0-9_-]', '-', operator_id)[:200]}-{window}"


def request(operator_id: str, now: float | None = None) -> bool:
    """Ask for a pump run after the current window; returns whether a task was queued (False:
    this process already asked in this window)."""
    from parkingdone import tasks

    now = time.time() if now is None else now
    width = settings.FIGURES_PUMP_WINDOW_SECONDS
    window = window_of(now, width)
    with _requested_lock:
        if _requested.get(operator_id) == window:
            return False
        _requested[operator_id] = window
    try:
        # The run reads after the window has ended: every change whose trigger asked in this
        # window is committed by then. The task is scheduled for then and also carries the
        # instant (the Cloud Tasks emulator dispatches at once; `run` waits for it).
        not_before = (window + 1) * width
        delay = max(1, math.ceil(not_before - now))
        tasks.enqueue(
            PUMP_FUNCTION,
            {"operatorId": operator_id, "notBefore": not_before},
            delay_seconds=delay,
            task_id=task_id(operator_id, window),
        )
    except Exception as exc:
        with _requested_lock:
            _requested.pop(operator_id, None)  # the next change asks again
        # Not lost: the session sweep runs the pump for every operator.
        logger.error("figures.pump_request_failed", operatorId=operator_id, error=repr(exc))
        return False
    return True


_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # before any stamp: a first run reads them all


def changed_since(db: Client, operator_id: str, since: datetime | None, page: int) -> list:
    """The operator's stays stamped at or after `since`, oldest first (one page; only their
    stamps: the computation reads the stays themselves)."""
    query = (
        db.collection(sessions.COLLECTION)
        .where(filter=FieldFilter("operatorId", "==", operator_id))
        .where(filter=FieldFilter("changedAt", ">=", since or _EPOCH))
        .order_by("changedAt")
        .select(["changedAt"])
        .limit(page)
    )
    return list(query.get())


def unread(
    db: Client, operator_id: str, since: datetime | None, read: dict[str, datetime], page: int
) -> tuple[list, bool]:
    """A page of the stays stamped since FIGURES_PUMP_OVERLAP_SECONDS before `since` that this
    run has not read at their current stamp (`read`: stay -> the stamp it was read at), and
    whether there may be more after it."""
    start = since - timedelta(seconds=settings.FIGURES_PUMP_OVERLAP_SECONDS) if since else None
    # The stays already read in the overlap come back too: the page grows by their number.
    again = sum(1 for stamp in read.values() if start is None or stamp >= start)
    batch = changed_since(db, operator_id, start, page + again)
    fresh = [s for s in batch if read.get(s.id) != s.get("changedAt")]
    return fresh[:page], len(fresh) > page or len(batch) == page + again


def run(db: Client, operator_id: str, not_before: float | None = None) -> int:
    """Bring the figures up to date with every stamped stay change of the operator since the
    watermark; returns how many stays it refreshed (a change may be counted again).

    One run per operator at a time: a run that finds the pump held asks for the next window's
    run and returns, and the holder looks once more for changes after letting go: if any
    landed meanwhile, it asks for the next window's run too, so none waits for a request that
    will not come. A holder that has gone silent may have died with its lease: then the run
    raises PumpHeld, and Cloud Tasks tries it again after the lease has run out."""
    if not operator_id:
        return 0
    if not_before is not None:
        # The Cloud Tasks emulator dispatches a task at once. Reading before its window has
        # ended would miss the changes whose triggers ask for it later in the window: their
        # request finds the name taken and adds nothing. A request is at most two windows
        # ahead.
        wait = not_before - time.time()
        time.sleep(min(max(0.0, wait), 2 * settings.FIGURES_PUMP_WINDOW_SECONDS))
    holder = uuid.uuid4().hex
    lease = timedelta(seconds=settings.FIGURES_PUMP_LEASE_SECONDS)
    if not figure_pumps.claim(db, operator_id, holder, datetime.now(UTC), lease):
        if figure_pumps.holder_silent(db, operator_id, datetime.now(UTC), lease):
            raise PumpHeld(operator_id)
        # The holder looks again when it lets go; but it may die first (its lease then runs
        # out): the next window's run tries again, so a change this run was asked for is
        # never left waiting for a request that will not come.
        request(operator_id, now=time.time() + settings.FIGURES_PUMP_WINDOW_SECONDS)
        return 0
    since = figure_pumps.watermark(db, operator_id)
    read: dict[str, datetime] = {}  # stay -> the stamp this run counted it at
    try:
        refreshed, moved, since = _pump(db, operator_id, holder, lease, since, read)
    finally:
        figure_pumps.release(db, operator_id, holder)
    if unread(db, operator_id, since, read, 1)[0]:
        # Stays landed during the run: the run of the next window (a name no trigger has
        # asked for yet) reads them once they have gathered. Going on here instead kept the
        # pump reading a few stays per round, and the emulator scans the whole collection for
        # every query.
        request(operator_id, now=time.time() + settings.FIGURES_PUMP_WINDOW_SECONDS)
    if refreshed:
        logger.info("figures.pump_done", operatorId=operator_id, refreshed=refreshed)
    if moved:
        # While stays keep changing, one more run after the next window: a trigger's request
        # can be lost with its invocation, and this one then reads what it would have.
        request(operator_id)
    return refreshed


def _pump(
    db: Client,
    operator_id: str,
    holder: str,
    lease: timedelta,
    since: datetime | None,
    read: dict[str, datetime],
) -> tuple[int, int, datetime | None]:
    """Page through the changes this run has not read since `since` (adding them to `read`);
    returns how many stays were refreshed, how many figure increments that applied, and the
    newest stamp read."""
    from parkingdone.admin import aggregates

    refreshed = applied = 0
    while True:
        fresh, more = unread(db, operator_id, since, read, settings.FIGURES_PUMP_PAGE)
        if not fresh:
            break
        ids = [s.id for s in fresh]
        applied += len(aggregates.refresh_many(db, "session", ids))
        read.update((s.id, s.get("changedAt")) for s in fresh)
        refreshed += len(ids)
        newest = max(s.get("changedAt") for s in fresh)
        since = newest if since is None else max(since, newest)
        figure_pumps.advance(db, operator_id, holder, since, datetime.now(UTC), lease)
        if not more:
            break
    return refreshed, applied, since


def run_all(db: Client) -> int:
    """The safety net (session sweep): a pump run for every operator (one whose pump is held
    is left to its holder or its task's next attempt)."""
    from parkingdone.models import operators

    refreshed = 0
    for op in operators.all_operators(db):
        try:
            refreshed += run(db, op.id)
        except PumpHeld:
            continue
    return refreshed
