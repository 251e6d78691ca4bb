"""What the boundaries accept: ids, timestamps, callable data, and how errors are mapped."""

from __future__ import annotations

from datetime import UTC, datetime

import pydantic
import pytest
from firebase_functions import https_fn
from hypothesis import given
from hypothesis import strategies as st

from parkingdone import callable_api, errors, ids
from parkingdone.errors import ApiError
from parkingdone.ingest.models import CanonicalEvent
from parkingdone.ingest.webhook import parse
from parkingdone.payments.callables import PaySessionInput
from parkingdone.timestamps import parse_timestamp

# --- ids ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["kamppi-p1", "s_123", "p_abc.def", "op:1", "A" * 200])
def test_plain_ids_are_valid(value: str) -> None:
    assert ids.is_valid(value) and ids.check(value) == value


@pytest.mark.parametrize(
    "value", ["", ".", "..", "a/b", "/", "__x__", "__name__", "_x", "-x", "a b", "A" * 201, 5]
)
def test_paths_and_reserved_names_are_not_ids(value: object) -> None:
    assert not ids.is_valid(value)


@given(st.text(max_size=250))
def test_a_valid_id_is_always_a_legal_document_id(value: str) -> None:
    if ids.is_valid(value):
        assert "/" not in value and value not in (".", "..")
        assert not (value.startswith("__") and value.endswith("__"))
        assert len(value.encode()) <= 1500


def test_callable_ids_are_checked_by_the_model() -> None:
    assert PaySessionInput.model_validate({"sessionId": "s1"}).session_id == "s1"
    for bad in ["a/b", "..", "__x__", "/"]:
        with pytest.raises(pydantic.ValidationError):
            PaySessionInput.model_validate({"sessionId": bad})


# --- timestamps ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-30T14:23:00Z", datetime(2026, 3, 30, 14, 23, tzinfo=UTC)),
        ("2026-03-30T17:23:00+03:00", datetime(2026, 3, 30, 14, 23, tzinfo=UTC)),
        ("2026-03-30 14:23:00.5+00:00", datetime(2026, 3, 30, 14, 23, 0, 500000, tzinfo=UTC)),
    ],
)
def test_iso_timestamps_with_an_offset_are_read_in_utc(value: str, expected: datetime) -> None:
    assert parse_timestamp(value) == expected


def _event(timestamp: object) -> dict:
    return {"event": "entry", "plate": "ABC-123", "facility_id": "p1", "timestamp": timestamp}


@pytest.mark.parametrize(
    ("timestamp", "code"),
    [
        ("2026-03-30T14:23:00", "naive_timestamp"),
        (-1, "invalid_timestamp"),
        (1.5, "invalid_timestamp"),
        (0, "invalid_timestamp"),
        ("1711800000", "invalid_timestamp"),
        ("-1", "invalid_timestamp"),
        ("20260330T142300Z", "invalid_timestamp"),
        ("0001-01-01T00:00:00+14:00", "invalid_timestamp"),  # before year 1 in UTC
        ("9999-12-31T23:59:59-14:00", "invalid_timestamp"),  # after year 9999 in UTC
        ("2026-02-30T10:00:00Z", "invalid_timestamp"),
        (None, "invalid_timestamp"),
        ([], "invalid_timestamp"),
    ],
)
def test_webhook_timestamps_other_than_iso_with_offset_are_400(timestamp, code) -> None:
    with pytest.raises(ApiError) as err:
        parse(None, _event(timestamp))
    assert err.value.status == 400 and err.value.code == code


@given(st.one_of(st.text(max_size=40), st.integers(), st.floats(), st.none()))
def test_any_timestamp_input_is_a_utc_instant_or_a_clear_400(value) -> None:
    try:
        event = CanonicalEvent.model_validate(_event(value))
    except pydantic.ValidationError:
        with pytest.raises(ApiError) as err:
            parse(None, _event(value))
        assert err.value.status == 400
        return
    assert isinstance(value, str) and event.timestamp.tzinfo is UTC


# --- the one error type and its mapping ---------------------------------------------------


@pytest.mark.parametrize(
    ("error", "http", "callable_status"),
    [
        (errors.bad_request("x", "invalid_plate"), 400, "invalid-argument"),
        (errors.unauthorized(), 401, "unauthenticated"),
        (errors.forbidden("x", "not_admin"), 403, "permission-denied"),
        (errors.not_found("x"), 404, "not-found"),
        (errors.conflict("x", "plate_taken"), 409, "already-exists"),
        (errors.conflict("x", "in_progress"), 409, "aborted"),
        (errors.not_now("x", "not_payable"), 422, "failed-precondition"),
        (errors.too_many("x", "too_many_vehicles"), 429, "resource-exhausted"),
        (errors.unavailable("x"), 503, "unavailable"),
        (ApiError(500, "handler_failed", "x"), 500, "internal"),
    ],
)
def test_one_mapping_to_http_and_callable_codes(error, http: int, callable_status: str) -> None:
    assert error.status == http and error.callable_status == callable_status
    https_error = callable_api.to_https_error(error)
    assert https_error.code == https_fn.FunctionsErrorCode(callable_status)
    assert https_error.message == error.message
    assert https_error.details == {"reason": error.code}


@pytest.mark.parametrize("data", [[], ["sessionId"], "sessionId", 5, True])
def test_callable_data_that_is_not_an_object_is_refused(data) -> None:
    with pytest.raises(ApiError) as err:
        callable_api.parse(PaySessionInput, data)
    assert err.value.status == 400 and "data must be an object" in err.value.message


def test_callable_parse_names_every_bad_field() -> None:
    with pytest.raises(ApiError) as err:
        callable_api.parse(PaySessionInput, {"sessionId": "a/b", "extra": 1})
    assert "sessionId" in err.value.message and "extra" in err.value.message
