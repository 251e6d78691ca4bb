"""Every task queue runs a bounded number of tasks at once.

The Cloud Tasks emulator dispatches a task the moment it is queued, whatever its delay, and
the Functions emulator starts a Python worker (seconds of CPU) for each task running at the
same time: a queue allowed 50 at a time started a worker per entry of a registered driver and
slowed every other function on the machine meanwhile.
"""

import main
from parkingdone import settings

MOST_AT_A_TIME = 10


def task_queues() -> dict[str, dict]:
    found = {}
    for name in dir(main):
        endpoint = getattr(getattr(main, name), "__firebase_endpoint__", None)
        trigger = getattr(endpoint, "taskQueueTrigger", None)
        if trigger:
            found[name] = trigger
    return found


def test_the_task_queues_are_found():
    assert {"chargeSettledSession", "figuresPump", "freePeriodReminder", "pushRetry"} <= set(
        task_queues()
    )


def test_each_task_queue_runs_a_bounded_number_at_once():
    for name, trigger in task_queues().items():
        at_once = (trigger.get("rateLimits") or {}).get("maxConcurrentDispatches")
        assert at_once is not None, f"{name}: no limit on tasks at a time"
        assert 1 <= at_once <= MOST_AT_A_TIME, f"{name}: {at_once} tasks at a time"


def test_push_tasks_use_the_push_setting():
    queues = task_queues()
    for name in ("freePeriodReminder", "pushRetry"):
        limits = queues[name]["rateLimits"]
        assert limits["maxConcurrentDispatches"] == settings.PUSH_TASK_MAX_CONCURRENT
