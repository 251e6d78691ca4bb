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

from firebase_functions import firestore_fn as _ingest_fs  # noqa: E402
from firebase_functions import scheduler_fn as _ingest_sched  # noqa: E402


@https_fn.on_request()
def webhook(request: https_fn.Request) -> Response:
    """POST /webhook: operators' ANPR/barrier entry and exit events."""
    from parkingdone.ingest.webhook import app

    return dispatch(app, request)


@https_fn.on_call()
def gps_event(req: https_fn.CallableRequest) -> dict:
    """Driver app without ANPR: GPS geofence entry/exit."""
    from parkingdone.ingest import gps

    return gps.handle(req.auth.uid if req.auth else None, req.data)


@_ingest_fs.on_document_written(document="sessions/{sessionId}", timeout_sec=120)
def session_evidence(event: _ingest_fs.Event) -> None:
    """Copies the entry/exit images a session names into the evidence bucket."""
    after = event.data.after
    if after is None or not after.exists:
        return
    from parkingdone.sessions import evidence

    evidence.on_session_written(event.params["sessionId"], after.to_dict())


@_ingest_sched.on_schedule(schedule="every 15 minutes", timeout_sec=540)
def sessions_sweep(event: _ingest_sched.ScheduledEvent) -> None:
    """Flags overstays, retires stale waiting exits, replays failed events and image copies."""
    from parkingdone.firebase import db
    from parkingdone.jobs import sessions_sweep as sweep

    sweep.run(db())


# --- payments --------------------------------------------------------------------------------

from firebase_functions import firestore_fn as _pay_fs  # noqa: E402
from firebase_functions import pubsub_fn as _pay_pubsub  # noqa: E402
from firebase_functions import scheduler_fn as _pay_sched  # noqa: E402

_PAY_SECRETS = [config.STRIPE_SECRET_KEY]


@_pay_fs.on_document_updated(document="sessions/{sessionId}", secrets=_PAY_SECRETS)
def chargeClosedSession(
    event: _pay_fs.Event[_pay_fs.Change[_pay_fs.DocumentSnapshot | None]],
) -> None:
    """Fee, charge, receipt and push when a session closes (only on that transition)."""
    from parkingdone.payments import charging

    before = event.data.before.to_dict() if event.data.before else None
    after = event.data.after.to_dict() if event.data.after else None
    charging.on_session_updated(event.params["sessionId"], before, after)


@_pay_pubsub.on_message_published(topic="payment-retry", retry=True, secrets=_PAY_SECRETS)
def paymentRetry(event: _pay_pubsub.CloudEvent[_pay_pubsub.MessagePublishedData]) -> None:
    """Transient payment failures: raises while the provider is unavailable, so Pub/Sub retries."""
    from parkingdone.payments import retry

    retry.handle_message(retry.decode(event.data.message.data))


@_pay_sched.on_schedule(schedule="every 10 minutes", secrets=_PAY_SECRETS)
def paymentSweep(event: _pay_sched.ScheduledEvent) -> None:
    """Payments whose retry message or trigger was lost."""
    from parkingdone.payments import retry

    retry.sweep_stale()


@https_fn.on_call(secrets=_PAY_SECRETS)
def createSetupIntent(req: https_fn.CallableRequest) -> dict:
    """Driver app: start saving a card (the app collects it with Stripe's SDK)."""
    from parkingdone.payments import callables

    return callables.create_setup_intent(req)


@https_fn.on_call(secrets=_PAY_SECRETS)
def paySession(req: https_fn.CallableRequest) -> dict:
    """Driver app: pay an unpaid or action-required session on-session."""
    from parkingdone.payments import callables

    return callables.pay_session(req)


@https_fn.on_call()
def listPasses(req: https_fn.CallableRequest) -> dict:
    """Driver app: a facility's pass products and the driver's passes there."""
    from parkingdone.payments import callables

    return callables.list_passes(req)


@https_fn.on_call(secrets=_PAY_SECRETS)
def buyPass(req: https_fn.CallableRequest) -> dict:
    """Driver app: buy a pass with the saved card."""
    from parkingdone.payments import callables

    return callables.buy_pass(req)


@https_fn.on_call(secrets=_PAY_SECRETS)
def refundPayment(req: https_fn.CallableRequest) -> dict:
    """Operator admin: refund a payment fully or partly."""
    from parkingdone.payments import callables

    return callables.refund_payment(req)


@https_fn.on_call()
def transitionInvoice(req: https_fn.CallableRequest) -> dict:
    """Operator admin: to_invoice -> invoiced -> paid | cancelled."""
    from parkingdone.payments import callables

    return callables.transition_invoice(req)


@https_fn.on_call()
def passRevenue(req: https_fn.CallableRequest) -> dict:
    """Operator admin: pass revenue of a facility over a period."""
    from parkingdone.payments import callables

    return callables.pass_revenue(req)


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

from firebase_functions import firestore_fn as _driver_fs  # noqa: E402
from firebase_functions import scheduler_fn as _driver_sched  # noqa: E402
from firebase_functions import tasks_fn as _driver_tasks  # noqa: E402

from parkingdone import firebase as _driver_firebase  # noqa: E402

# Callables verify ID tokens with the default firebase-admin app, and Firestore triggers create
# a default app of their own (without our emulator credentials) when none exists: create ours
# first. Lazy and network-free: credentials load on first use.
_driver_firebase.app()


@https_fn.on_call()
def register_vehicle(req: https_fn.CallableRequest) -> dict:
    """Driver app: add a vehicle; a plate is active on one account at a time."""
    from parkingdone.accounts import callables

    return callables.register_vehicle(req)


@https_fn.on_call()
def remove_vehicle(req: https_fn.CallableRequest) -> dict:
    """Driver app: remove a vehicle and free its plate."""
    from parkingdone.accounts import callables

    return callables.remove_vehicle(req)


@https_fn.on_call()
def register_push_token(req: https_fn.CallableRequest) -> dict:
    """Driver app: register this device's FCM token."""
    from parkingdone.accounts import callables

    return callables.register_push_token(req)


@https_fn.on_call()
def remove_push_token(req: https_fn.CallableRequest) -> dict:
    """Driver app: forget this device's FCM token (sign-out)."""
    from parkingdone.accounts import callables

    return callables.remove_push_token(req)


@https_fn.on_call()
def set_staff_role(req: https_fn.CallableRequest) -> dict:
    """Admin dashboard: grant or revoke operator_admin / operator_staff for an operator."""
    from parkingdone.accounts import callables

    return callables.set_staff_role(req)


@https_fn.on_call()
def export_my_data(req: https_fn.CallableRequest) -> dict:
    """Driver app: everything stored about the driver, as JSON (GDPR access)."""
    from parkingdone.accounts import callables

    return callables.export_my_data(req)


@https_fn.on_call()
def request_data_deletion(req: https_fn.CallableRequest) -> dict:
    """Driver app: ask for deletion of the driver's data (done within 30 days)."""
    from parkingdone.accounts import callables

    return callables.request_data_deletion(req)


@_driver_sched.on_schedule(schedule="every day 03:00", timezone="Europe/Helsinki")
def process_data_deletions(event: _driver_sched.ScheduledEvent) -> None:
    """Daily: carry out pending GDPR deletion requests."""
    from parkingdone.accounts import gdpr
    from parkingdone.firebase import db

    gdpr.process_due_deletions(db())


@_driver_fs.on_document_created(document="sessions/{sessionId}")
def push_on_session_created(event: _driver_fs.Event[_driver_fs.DocumentSnapshot | None]) -> None:
    """A new open session of a known driver: the entry push and the free-period reminder."""
    if event.data is None:
        return
    from parkingdone.notifications import session_pushes

    session_pushes.on_session_created(event.params["sessionId"], event.data.to_dict() or {})


# Task queue functions are named in camelCase: a Cloud Tasks queue id (the function's name)
# may not contain underscores.
@_driver_tasks.on_task_dispatched(
    retry_config=options.RetryConfig(max_attempts=3, min_backoff_seconds=30),
    rate_limits=options.RateLimits(max_concurrent_dispatches=50),
)
def freePeriodReminder(req: https_fn.CallableRequest) -> None:
    """Delayed per session: "free parking ends soon", unless the car already left."""
    from parkingdone.notifications import session_pushes

    session_pushes.send_reminder(str((req.data or {}).get("sessionId", "")))


@_driver_tasks.on_task_dispatched(
    retry_config=options.RetryConfig(max_attempts=5, min_backoff_seconds=30),
    rate_limits=options.RateLimits(max_concurrent_dispatches=50),
)
def pushRetry(req: https_fn.CallableRequest) -> None:
    """A push FCM could not take for a passing reason, sent again with back-off."""
    from parkingdone.notifications import sender

    sender.retry(str((req.data or {}).get("key", "")))
