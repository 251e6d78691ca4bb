"""The `webhook` HTTP function: operators' ANPR cameras and barriers post entry/exit here.

Recall the token's credential, map the operator's format onto the canonical event, validate,
find the facility (cached), then record and apply the event in one transaction, which also
reads the credential again (with the plate's documents) and refuses a revoked or expired one.
A request refused before that transaction is answered only after a fresh read of its
credential, so a revoked token always gets 401. Image copies, pushes and payments happen in
triggers, so the answer is fast.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pydantic
from firebase_functions import logger
from flask import Flask, Response, jsonify, request
from google.cloud.firestore import Client

from parkingdone import credentials, errors, firebase, tenants
from parkingdone.http import bearer_token, create_app, json_body
from parkingdone.ingest import adapters, inbox
from parkingdone.ingest.models import CanonicalEvent
from parkingdone.sessions import machine


def _validation_message(exc: pydantic.ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "body"
        message = error["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def parse(adapter_config: dict[str, Any] | None, payload: Any) -> CanonicalEvent:
    """The canonical event of a payload in the operator's format, or a clear 400."""
    try:
        adapter = adapters.load(adapter_config)
    except pydantic.ValidationError as exc:
        # Our configuration is broken, not the caller's request.
        logger.error("ingest.adapter_misconfigured", error=_validation_message(exc))
        raise errors.ApiError(
            500, "adapter_misconfigured", "This webhook token's payload format is misconfigured"
        ) from exc
    if not isinstance(payload, dict):
        raise errors.bad_request("The body must be a JSON object")
    try:
        body = payload if adapter is None else adapter.to_canonical(payload)
        event = CanonicalEvent.model_validate(body)
    except adapters.AdapterError as exc:
        raise errors.bad_request(str(exc), code="invalid_event") from exc
    except pydantic.ValidationError as exc:
        raise errors.bad_request(_validation_message(exc), code=_code_of(exc)) from exc
    return event


def _code_of(exc: pydantic.ValidationError) -> str:
    types = {e["type"] for e in exc.errors()}
    if "timezone_aware" in types:
        return "naive_timestamp"
    if "timestamp_format" in types:
        return "invalid_timestamp"
    return "invalid_event"


def handle() -> tuple[dict[str, Any], int]:
    """The answer to the current request: 202 when new, 200 when a repeat."""
    db = firebase.db()
    token = bearer_token(request)
    credential, confirmed = credentials.recall(db, "webhook", token)
    try:
        return _handle(db, credential, confirmed)
    except credentials.CredentialChanged:
        # Parsed with a credential since changed: once more with the stored one.
        return _handle(db, credentials.authenticate(db, "webhook", token), confirmed=True)
    except errors.ApiError as exc:
        if not confirmed and exc.status != 401:
            credentials.authenticate(db, "webhook", token)  # 401 first, as a fresh read says
        raise


def _handle(
    db: Client, credential: credentials.Credential, confirmed: bool
) -> tuple[dict[str, Any], int]:
    """The request handled with `credential`; confirmed False: confirm it in the event's
    transaction (credentials.Confirmation)."""
    payload = json_body(request)
    event = parse(credential.adapter, payload)
    facility = tenants.find_facility(db, credential.operator_id, event.facility_id)
    if facility is None or not credential.covers_facility(facility.id):
        raise errors.not_found(
            f"Unknown facility {event.facility_id!r} for this operator", code="unknown_facility"
        )
    plate = event.normalised_plate
    key = inbox.event_key(
        facility.operator_id, facility.id, event.event, plate, event.timestamp, event.event_id
    )
    image_url = str(event.image_url) if event.image_url else None
    canonical = machine.Event(
        kind=event.event,
        at=event.timestamp,
        plate=plate,
        plate_raw=event.plate,
        event_id=key,
        source="anpr",
        country=event.country_code,
        image_url=image_url,
    )
    record = inbox.record_of(
        canonical,
        facility,
        externalId=event.event_id,
        credentialId=credential.secret_hash[:12],
        receivedAt=datetime.now(UTC),
        payload=payload if credential.adapter else None,
    )
    confirmation = None if confirmed else credentials.Confirmation(db, credential)
    result = inbox.process(db, facility, canonical, record, confirmation)
    if confirmation and confirmation.fresh:
        credentials.record_use(db, confirmation.fresh, datetime.now(UTC))
    return result.body(), 200 if result.replayed else 202


def build_app() -> Flask:
    app = create_app("parkingdone-webhook")

    # Through Hosting the path is /webhook; called on the function's own URL it is /.
    @app.post("/webhook")
    @app.post("/")
    def _webhook() -> Response:
        body, status = handle()
        response = jsonify(body)
        response.status_code = status
        return response

    return app


app = build_app()
