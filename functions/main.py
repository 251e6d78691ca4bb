"""Every deployed ParkingDone function, declared. No logic here: each hands off to the package.

Importing this module must not touch the network: `firebase deploy` imports it to discover
the functions.
"""

from firebase_functions import https_fn, options
from flask import Response

from parkingdone import config
from parkingdone.http import dispatch

# Explicit cpu: set_global_options without it silently selects gen1 CPU sizing.
options.set_global_options(
    region=config.REGION,
    cpu=1,
    memory=options.MemoryOption.MB_512,
    concurrency=80,
    max_instances=20,
)


# --- HTTP: one function per audience ------------------------------------------------------


@https_fn.on_request()
def api(request: https_fn.Request) -> Response:
    """/api/**: health, enforcement, Stripe webhook, OpenAPI document."""
    from parkingdone.api import app

    return dispatch(app, request)


# --- ingestion and sessions -----------------------------------------------------------------


# --- payments --------------------------------------------------------------------------------


# --- enforcement -----------------------------------------------------------------------------

from firebase_functions import firestore_fn as _enforcement_fs  # noqa: E402
from firebase_functions import scheduler_fn as _enforcement_sched  # noqa: E402


@_enforcement_fs.on_document_written(document="sessions/{sessionId}")
def enforcement_session_written(event: _enforcement_fs.Event) -> None:
    """Keeps plateStatus (the enforcement projection) in step with the session."""
    from parkingdone.enforcement import triggers

    triggers.on_session_written(event.params["sessionId"], event.data.before, event.data.after)


@_enforcement_fs.on_document_written(document="passes/{passId}")
def enforcement_pass_written(event: _enforcement_fs.Event) -> None:
    """Keeps plateStatus in step with the pass."""
    from parkingdone.enforcement import triggers

    triggers.on_pass_written(event.params["passId"], event.data.before, event.data.after)


@_enforcement_fs.on_document_written(document="users/{uid}")
def enforcement_user_written(event: _enforcement_fs.Event) -> None:
    """A saved card added or removed changes whether the driver's open stays are covered."""
    from parkingdone.enforcement import triggers

    triggers.on_user_written(event.params["uid"], event.data.before, event.data.after)


@_enforcement_sched.on_schedule(schedule="every 5 minutes")
def enforcement_sweep(event: _enforcement_sched.ScheduledEvent) -> None:
    """Retries plateStatus rebuilds that failed (flagged rebuildPending)."""
    from parkingdone.enforcement import triggers

    triggers.sweep()


# --- driver app: accounts and notifications --------------------------------------------------
