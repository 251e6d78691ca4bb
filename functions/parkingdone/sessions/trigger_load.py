"""How busy this process's session trigger is: the events it received in the last second, and
how long after their writes they came.

The Firestore emulator (and a backlog in production) hands the session trigger one event at
a time, so every millisecond it spends is a millisecond every later event waits. While it is
quiet it counts the dashboard's figures itself, one invocation per event; once more than
SESSION_TRIGGER_QUIET_PER_SECOND events arrive in a second, or an event arrives more than
SESSION_TRIGGER_LAG_SECONDS after its write, it is busy, and leaves them to the figures pump
(admin/figures_pump.py), which counts them in batches.

Charges and pushes stay in the trigger. Handing a charge to a task queue while busy was tried
on the emulator and showed no gain (each concurrent task runs in a worker process of its own;
exit -> paid p50 37 s at 4 cars a second with it, 14 s and 38 s in two runs without), so the
exit keeps its three invocations.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from datetime import datetime

from parkingdone import settings

_arrivals: deque[float] = deque()  # when this process's trigger received its last events
_lock = threading.Lock()


def busy(now: float | None = None, written_at: datetime | None = None) -> bool:
    """Note an event reaching the trigger; True when more than SESSION_TRIGGER_QUIET_PER_SECOND
    reached it in the last second, this one included, or when the write it tells of (its
    commit-time stamp, `written_at`) is more than SESSION_TRIGGER_LAG_SECONDS old.

    The lag matters because the arrival rate alone can mislead: starved of CPU, the emulator
    delivers the trigger about 20 events a second at 50 entries/s, and gaps in that stream
    would make a trigger with a backlog take itself for quiet and count stays itself, at
    0.1-2.4 s an event when figure transactions contend (seen while the entries benchmark's
    warm-up sends 16 entries at once), holding up every event behind it."""
    now = time.time() if now is None else now
    with _lock:
        while _arrivals and _arrivals[0] <= now - 1.0:
            _arrivals.popleft()
        _arrivals.append(now)
        crowded = len(_arrivals) > settings.SESSION_TRIGGER_QUIET_PER_SECOND
    behind = written_at is not None and now - written_at.timestamp() > (
        settings.SESSION_TRIGGER_LAG_SECONDS
    )
    return crowded or behind
