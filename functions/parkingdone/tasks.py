"""Cloud Tasks: the one way our code queues work for one of its task functions (main.py)."""

from __future__ import annotations

from typing import Any

from parkingdone import config, firebase


def enqueue(
    function: str, data: dict[str, Any], *, delay_seconds: int = 0, task_id: str | None = None
) -> None:
    """Queue a task for the task function named `function`, `delay_seconds` from now.

    A `task_id` already queued counts as queued: a redelivered trigger adds nothing. Other
    failures raise (firebase_admin.exceptions.FirebaseError); the caller says what then."""
    from firebase_admin import exceptions as fb_exceptions
    from firebase_admin import functions

    queue = functions.task_queue(
        f"locations/{config.REGION}/functions/{function}", app=firebase.app()
    )
    try:
        queue.enqueue(
            {"data": data},
            functions.TaskOptions(schedule_delay_seconds=delay_seconds, task_id=task_id),
        )
    except fb_exceptions.AlreadyExistsError:
        return
    except fb_exceptions.ConflictError:
        # The Cloud Tasks emulator answers a task name already queued with a bare 409.
        if task_id is None:
            raise
        return
    except ValueError as exc:
        # firebase-admin cannot parse the Cloud Tasks emulator's answer to a named task (it
        # echoes the full URL as the name) after accepting it; production answers with a
        # plain resource name.
        if config.is_emulator() and "resource name" in str(exc):
            return
        raise
