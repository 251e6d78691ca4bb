"""The session trigger asks the figures pump for a run at most once per window and operator."""

from __future__ import annotations

import pytest

from parkingdone import settings, tasks
from parkingdone.admin import figures_pump


@pytest.fixture
def queued(monkeypatch):
    calls: list[tuple[str, dict, int, str | None]] = []

    def enqueue(function, data, *, delay_seconds=0, task_id=None):
        calls.append((function, data, delay_seconds, task_id))

    monkeypatch.setattr(tasks, "enqueue", enqueue)
    monkeypatch.setattr(figures_pump, "_requested", {})
    return calls


def test_one_request_per_window_and_operator(queued):
    width = settings.FIGURES_PUMP_WINDOW_SECONDS
    start = 1_000_000 * width + 0.25
    assert figures_pump.request("op-a", now=start)
    assert not figures_pump.request("op-a", now=start + width / 2)
    assert figures_pump.request("op-b", now=start + width / 2)
    assert figures_pump.request("op-a", now=start + width)
    assert queued[0][1]["notBefore"] == 1_000_001 * width  # read once the window has ended
    assert [(c[1]["operatorId"], c[3]) for c in queued] == [
        ("op-a", figures_pump.task_id("op-a", 1_000_000)),
        ("op-b", figures_pump.task_id("op-b", 1_000_000)),
        ("op-a", figures_pump.task_id("op-a", 1_000_001)),
    ]
    # The run starts once the window has ended.
    assert all(c[0] == figures_pump.PUMP_FUNCTION and c[2] >= 1 for c in queued)
    assert queued[0][2] >= width - 0.25


def test_a_failed_request_is_asked_again_by_the_next_change(monkeypatch):
    attempts = []

    def enqueue(function, data, *, delay_seconds=0, task_id=None):
        attempts.append(task_id)
        if len(attempts) == 1:
            raise RuntimeError("tasks unavailable")

    monkeypatch.setattr(tasks, "enqueue", enqueue)
    monkeypatch.setattr(figures_pump, "_requested", {})
    assert not figures_pump.request("op", now=10.0)
    assert figures_pump.request("op", now=10.1)
    assert len(attempts) == 2


def test_task_ids_are_what_cloud_tasks_accepts():
    assert figures_pump.task_id("demo/operator x", 7) == "figures-demo-operator-x-7"
