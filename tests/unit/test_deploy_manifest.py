"""What `firebase deploy` reads from functions/main.py: which function holds which secret, and
how many tasks each task queue runs at once."""

from __future__ import annotations

import inspect

import yaml

# firebase deploy imports main.py and asks firebase-functions for this manifest.
from firebase_functions.private.serving import functions_as_yaml


def _manifest() -> dict:
    import main

    functions = {
        name: function
        for name, function in inspect.getmembers(main, inspect.isfunction)
        if hasattr(function, "__firebase_endpoint__")
    }
    return yaml.safe_load(functions_as_yaml(functions))


def _secrets(endpoint: dict) -> list[str]:
    return sorted(s["key"] for s in endpoint.get("secretEnvironmentVariables") or [])


def test_only_the_stripe_webhook_function_holds_the_webhook_secret():
    endpoints = _manifest()["endpoints"]
    holders = [n for n, e in endpoints.items() if "STRIPE_WEBHOOK_SECRET" in _secrets(e)]
    assert holders == ["stripeWebhook"]
    assert _secrets(endpoints["stripeWebhook"]) == ["STRIPE_WEBHOOK_SECRET"]
    assert _secrets(endpoints["api"]) == []
    assert "httpsTrigger" in endpoints["stripeWebhook"]
    assert endpoints["stripeWebhook"]["region"] == ["europe-west1"]


# The Cloud Tasks emulator dispatches a task the moment it is queued, whatever its delay, and
# the Functions emulator starts a Python worker (seconds of CPU) for each task running at the
# same time: a queue allowed 50 at a time started a worker per entry of a registered driver and
# slowed every other function on the machine meanwhile.
MOST_TASKS_AT_ONCE = 10


def _task_queues() -> dict[str, dict]:
    endpoints = _manifest()["endpoints"]
    return {n: e["taskQueueTrigger"] for n, e in endpoints.items() if "taskQueueTrigger" in e}


def test_each_task_queue_runs_a_bounded_number_at_once():
    from parkingdone import settings

    queues = _task_queues()
    assert {"chargeSettledSession", "figuresPump", "freePeriodReminder", "pushRetry"} <= set(queues)
    for name, trigger in queues.items():
        at_once = (trigger.get("rateLimits") or {}).get("maxConcurrentDispatches")
        assert at_once is not None, f"{name}: no limit on tasks at a time"
        assert 1 <= at_once <= MOST_TASKS_AT_ONCE, f"{name}: {at_once} tasks at a time"
    for name in ("freePeriodReminder", "pushRetry"):
        at_once = queues[name]["rateLimits"]["maxConcurrentDispatches"]
        assert at_once == settings.PUSH_TASK_MAX_CONCURRENT
