"""Every deployed ParkingDone function, declared. No logic here: each hands off to the package.

Importing this module must not touch the network: `firebase deploy` imports it to discover
the functions.
"""

from firebase_functions import firestore_fn, https_fn, options, pubsub_fn, scheduler_fn, tasks_fn
from flask import Response

from parkingdone import callable_api, config, firebase, settings
from parkingdone.http import dispatch

# Explicit cpu: set_global_options without it silently selects gen1 CPU sizing.
options.set_global_options(
    region=config.REGION,
    cpu=1,
    memory=options.MemoryOption.MB_512,
    concurrency=80,
    max_instances=20,
)

# The admin app must exist before firebase-functions needs one (see parkingdone.firebase).
firebase.app()


# --- HTTP: one function per audience ------------------------------------------------------


@https_fn.on_request()
def api(request: https_fn.Request) -> Response:
    """/api/**: health, enforcement, OpenAPI document."""
    from parkingdone.api import app

    return dispatch(app, request)


@https_fn.on_request(secrets=[config.STRIPE_SECRET_KEY])
def admin(request: https_fn.Request) -> Response:
    """/admin/**: the operators' dashboard (server-rendered pages, sign-in, CSV exports)."""
    from parkingdone.admin.app import handle

    return handle(request)


# --- ingestion and sessions -----------------------------------------------------------------


@https_fn.on_request()
def webhook(request: https_fn.Request) -> Response:
    """POST /webhook: operators' ANPR/barrier entry and exit events."""
    from parkingdone.ingest.webhook import app

    return dispatch(app, request)


@callable_api.on_call()
def gpsEvent(req: https_fn.CallableRequest) -> dict:
    """Driver app without ANPR: GPS geofence entry/exit."""
    from parkingdone.ingest import gps

    return gps.handle(req)


@firestore_fn.on_document_written(
    document="sessions/{sessionId}", timeout_sec=120, secrets=[config.STRIPE_SECRET_KEY]
)
def sessionWritten(
    event: firestore_fn.Event[firestore_fn.Change[firestore_fn.DocumentSnapshot | None]],
) -> None:
    """The one trigger on sessions: evidence, entry push, charge at close, correction and
    projection refresh, each only when the change needs it (parkingdone.sessions.dispatch)."""
    from parkingdone.sessions import dispatch

    before = event.data.before.to_dict() if event.data.before else None
    after = event.data.after.to_dict() if event.data.after else None
    dispatch.on_session_written(event.params["sessionId"], before, after)


@scheduler_fn.on_schedule(schedule="every 15 minutes", timeout_sec=540)
def sessionsSweep(event: scheduler_fn.ScheduledEvent) -> None:
    """Flags overstays, retires stale waiting exits, replays failed events and image copies."""
    from parkingdone.firebase import db
    from parkingdone.jobs import sessions_sweep as sweep

    sweep.run(db())


# --- payments --------------------------------------------------------------------------------


_PAY_SECRETS = [config.STRIPE_SECRET_KEY]


# Its own function so that only it holds the webhook secret (Hosting rewrites the URL to it).
@https_fn.on_request(secrets=[config.STRIPE_WEBHOOK_SECRET])
def stripeWebhook(request: https_fn.Request) -> Response:
    """POST /api/stripe/webhook: Stripe's signed events about payments, refunds, saved cards."""
    from parkingdone.payments.webhook import app

    return dispatch(app, request)


@tasks_fn.on_task_dispatched(
    retry_config=options.RetryConfig(max_attempts=10, min_backoff_seconds=30),
    rate_limits=options.RateLimits(max_concurrent_dispatches=settings.SETTLE_TASK_MAX_CONCURRENT),
    secrets=_PAY_SECRETS,
    timeout_sec=300,
)
def chargeSettledSession(req: https_fn.CallableRequest) -> None:
    """A closed session's charge, once its facility's settle window has passed."""
    from parkingdone.payments import charging

    charging.charge_settled_session(str((req.data or {}).get("sessionId", "")))


@tasks_fn.on_task_dispatched(
    retry_config=options.RetryConfig(max_attempts=10, min_backoff_seconds=5),
    rate_limits=options.RateLimits(max_concurrent_dispatches=4),
    timeout_sec=300,
)
def figuresPump(req: https_fn.CallableRequest) -> None:
    """The dashboard's figures: an operator's stay changes since the pump's watermark."""
    from parkingdone.admin import figures_pump

    data = req.data or {}
    not_before = data.get("notBefore")
    figures_pump.run(
        firebase.db(),
        str(data.get("operatorId", "")),
        float(not_before) if isinstance(not_before, int | float) else None,
    )


@pubsub_fn.on_message_published(topic="payment-retry", retry=True, secrets=_PAY_SECRETS)
def paymentRetry(event: pubsub_fn.CloudEvent[pubsub_fn.MessagePublishedData]) -> None:
    """Transient payment failures: raises while the provider is unavailable, so Pub/Sub retries."""
    from parkingdone.payments import retry

    retry.handle_message(retry.decode(event.data.message.data))


@scheduler_fn.on_schedule(schedule="every 10 minutes", secrets=_PAY_SECRETS)
def paymentSweep(event: scheduler_fn.ScheduledEvent) -> None:
    """Payments whose retry message or trigger was lost."""
    from parkingdone.payments import retry

    retry.sweep_stale()


@callable_api.on_call(secrets=_PAY_SECRETS)
def createSetupIntent(req: https_fn.CallableRequest) -> dict:
    """Driver app: start saving a card (the app collects it with Stripe's SDK)."""
    from parkingdone.payments import callables

    return callables.create_setup_intent(req)


@callable_api.on_call(secrets=_PAY_SECRETS)
def paySession(req: https_fn.CallableRequest) -> dict:
    """Driver app: pay an unpaid or action-required session on-session."""
    from parkingdone.payments import callables

    return callables.pay_session(req)


@callable_api.on_call()
def listPasses(req: https_fn.CallableRequest) -> dict:
    """Driver app: a facility's pass products and the driver's passes there."""
    from parkingdone.payments import callables

    return callables.list_passes(req)


@callable_api.on_call(secrets=_PAY_SECRETS)
def buyPass(req: https_fn.CallableRequest) -> dict:
    """Driver app: buy a pass with the saved card."""
    from parkingdone.payments import callables

    return callables.buy_pass(req)


@callable_api.on_call(secrets=_PAY_SECRETS)
def refundPayment(req: https_fn.CallableRequest) -> dict:
    """Operator admin: refund a payment fully or partly."""
    from parkingdone.payments import callables

    return callables.refund_payment(req)


@callable_api.on_call()
def transitionInvoice(req: https_fn.CallableRequest) -> dict:
    """Operator admin: to_invoice -> invoiced -> paid | cancelled."""
    from parkingdone.payments import callables

    return callables.transition_invoice(req)


@callable_api.on_call()
def passRevenue(req: https_fn.CallableRequest) -> dict:
    """Operator admin: pass revenue of a facility over a period."""
    from parkingdone.payments import callables

    return callables.pass_revenue(req)


# --- enforcement -----------------------------------------------------------------------------


@firestore_fn.on_document_written(document="passes/{passId}")
def enforcementPassWritten(event: firestore_fn.Event) -> None:
    """Keeps plateStatus in step with the pass."""
    from parkingdone.enforcement import triggers

    triggers.on_pass_written(event.params["passId"], event.data.before, event.data.after)


@firestore_fn.on_document_written(document="users/{uid}")
def enforcementUserWritten(event: firestore_fn.Event) -> None:
    """A saved card added or removed changes whether the driver's open stays are covered."""
    from parkingdone.enforcement import triggers

    triggers.on_user_written(event.params["uid"], event.data.before, event.data.after)


@scheduler_fn.on_schedule(schedule="every 5 minutes")
def enforcementSweep(event: scheduler_fn.ScheduledEvent) -> None:
    """Retries plateStatus rebuilds that failed (flagged rebuildPending)."""
    from parkingdone.enforcement import triggers

    triggers.sweep()


# --- driver app: accounts and notifications --------------------------------------------------


@callable_api.on_call()
def registerVehicle(req: https_fn.CallableRequest) -> dict:
    """Driver app: add a vehicle; a plate is active on one account at a time."""
    from parkingdone.accounts import callables

    return callables.register_vehicle(req)


@callable_api.on_call()
def removeVehicle(req: https_fn.CallableRequest) -> dict:
    """Driver app: remove a vehicle and free its plate."""
    from parkingdone.accounts import callables

    return callables.remove_vehicle(req)


@callable_api.on_call()
def registerPushToken(req: https_fn.CallableRequest) -> dict:
    """Driver app: register this device's FCM token."""
    from parkingdone.accounts import callables

    return callables.register_push_token(req)


@callable_api.on_call()
def removePushToken(req: https_fn.CallableRequest) -> dict:
    """Driver app: forget this device's FCM token (sign-out)."""
    from parkingdone.accounts import callables

    return callables.remove_push_token(req)


@callable_api.on_call()
def setStaffRole(req: https_fn.CallableRequest) -> dict:
    """Admin dashboard: grant or revoke operator_admin / operator_staff for an operator."""
    from parkingdone.accounts import callables

    return callables.set_staff_role(req)


@callable_api.on_call()
def exportMyData(req: https_fn.CallableRequest) -> dict:
    """Driver app: everything stored about the driver, as JSON (GDPR access)."""
    from parkingdone.accounts import callables

    return callables.export_my_data(req)


@callable_api.on_call()
def requestDataDeletion(req: https_fn.CallableRequest) -> dict:
    """Driver app: ask for deletion of the driver's data (done within 30 days)."""
    from parkingdone.accounts import callables

    return callables.request_data_deletion(req)


@scheduler_fn.on_schedule(schedule="every day 03:00", timezone="Europe/Helsinki")
def processDataDeletions(event: scheduler_fn.ScheduledEvent) -> None:
    """Daily: carry out pending GDPR deletion requests."""
    from parkingdone.accounts import gdpr
    from parkingdone.firebase import db

    gdpr.process_due_deletions(db())


# --- data lifecycle: retention, operator termination ------------------------------------


@scheduler_fn.on_schedule(schedule="every day 02:30", timezone="Europe/Helsinki", timeout_sec=540)
def retentionSweep(event: scheduler_fn.ScheduledEvent) -> None:
    """Daily: removes or anonymises what is past each operator's retention limits."""
    from parkingdone.firebase import db
    from parkingdone.jobs import retention

    retention.run(db())


@scheduler_fn.on_schedule(
    schedule="every 60 minutes", timeout_sec=540, memory=options.MemoryOption.GB_1
)
def operatorTerminations(event: scheduler_fn.ScheduledEvent) -> None:
    """Hourly: each terminated operator's export, then removal, one bounded step further."""
    from parkingdone import termination
    from parkingdone.firebase import db

    termination.advance(db())


@callable_api.on_call()
def retentionPolicy(req: https_fn.CallableRequest) -> dict:
    """Admin dashboard: an operator's retention policy (super admins change it)."""
    from parkingdone import lifecycle_callables

    return lifecycle_callables.retention_policy(req)


@callable_api.on_call(timeout_sec=120)
def terminateOperator(req: https_fn.CallableRequest) -> dict:
    """Super admin: export and then remove everything of an operator whose contract ended."""
    from parkingdone import lifecycle_callables

    return lifecycle_callables.terminate_operator(req)


# Task queue functions are named in camelCase: a Cloud Tasks queue id (the function's name)
# may not contain underscores.
@tasks_fn.on_task_dispatched(
    retry_config=options.RetryConfig(max_attempts=3, min_backoff_seconds=30),
    rate_limits=options.RateLimits(max_concurrent_dispatches=settings.PUSH_TASK_MAX_CONCURRENT),
)
def freePeriodReminder(req: https_fn.CallableRequest) -> None:
    """Delayed per session: "free parking ends soon", unless the car already left."""
    from parkingdone.notifications import session_pushes

    session_pushes.send_reminder(str((req.data or {}).get("sessionId", "")))


@tasks_fn.on_task_dispatched(
    retry_config=options.RetryConfig(max_attempts=5, min_backoff_seconds=30),
    rate_limits=options.RateLimits(max_concurrent_dispatches=settings.PUSH_TASK_MAX_CONCURRENT),
)
def pushRetry(req: https_fn.CallableRequest) -> None:
    """A push FCM could not take for a passing reason, sent again with back-off."""
    from parkingdone.notifications import sender

    sender.retry(str((req.data or {}).get("key", "")))


# --- driver support: wallet and disputes ------------------------------------------------------


@callable_api.on_call(secrets=_PAY_SECRETS)
def topUpWallet(req: https_fn.CallableRequest) -> dict:
    """Driver app: add money to the wallet at an operator with the saved card."""
    from parkingdone.payments import callables

    return callables.top_up_wallet(req)


@callable_api.on_call()
def walletSummary(req: https_fn.CallableRequest) -> dict:
    """Driver app: the wallet's balance at an operator and its latest movements."""
    from parkingdone.payments import callables

    return callables.wallet_summary(req)


@callable_api.on_call()
def openDispute(req: https_fn.CallableRequest) -> dict:
    """Driver app: dispute a stay's charge (reason and statement)."""
    from parkingdone import dispute_callables

    return dispute_callables.open_dispute(req)


@callable_api.on_call(secrets=_PAY_SECRETS)
def resolveDispute(req: https_fn.CallableRequest) -> dict:
    """Operator admin: reject a dispute with a reason, or accept it with a refund."""
    from parkingdone import dispute_callables

    return dispute_callables.resolve_dispute(req)


@firestore_fn.on_document_written(document="users/{uid}")
def customerSearchFields(event: firestore_fn.Event) -> None:
    """Keeps a driver's folded name and e-mail for the dashboard's customer lookup."""
    from parkingdone.admin import customers

    after = event.data.after.to_dict() if event.data.after is not None else None
    customers.on_user_written(event.params["uid"], after)


# --- dashboard figures -----------------------------------------------------------------------


@firestore_fn.on_document_written(document="passes/{passId}")
def passFiguresWritten(event: firestore_fn.Event) -> None:
    """A pass's purchase, payment outcome and refunds write the pass: the dashboard's figures
    count its payments (a stay's are counted from the session trigger)."""
    from parkingdone.admin import aggregates

    aggregates.on_pass_written(event.params["passId"])


# --- support: tickets with in-app chat --------------------------------------------------------


@callable_api.on_call()
def openTicket(req: https_fn.CallableRequest) -> dict:
    """Driver app: open a support ticket with its first message (optionally about a stay)."""
    from parkingdone.support import callables

    return callables.open_ticket(req)


@callable_api.on_call()
def sendTicketMessage(req: https_fn.CallableRequest) -> dict:
    """Driver app: write in a ticket (reopens it); staff may answer through it as well."""
    from parkingdone.support import callables

    return callables.send_ticket_message(req)


@scheduler_fn.on_schedule(schedule="every 5 minutes")
def supportSweep(event: scheduler_fn.ScheduledEvent) -> None:
    """Records SLA breaches as they happen, closes resolved tickets, delivers pending pushes."""
    from parkingdone.firebase import db
    from parkingdone.support import service

    service.sweep(db())
