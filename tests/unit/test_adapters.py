from datetime import UTC, datetime, timedelta

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st

from parkingdone.errors import ApiError
from parkingdone.ingest import adapters
from parkingdone.ingest.models import CanonicalEvent
from parkingdone.ingest.webhook import parse

ACME = {
    "type": "mapping",
    "fields": {
        "event": "data.direction",
        "plate": "data.vehicle.plate",
        "facility_id": "site.code",
        "timestamp": "data.ts",
        "image_url": "data.images[0].url",
        "event_id": "id",
    },
    "events": {"IN": "entry", "OUT": "exit"},
    "facilities": {"GATE-7": "kamppi-p1"},
    "timestamp_format": "epoch_ms",
    "constants": {"country": "FI"},
}


def acme_payload(**over):
    payload = {
        "id": 991,
        "site": {"code": "GATE-7"},
        "data": {
            "direction": "in",
            "ts": 1774880580000,  # 2026-03-30T14:23:00Z
            "vehicle": {"plate": "abc-123"},
            "images": [{"url": "https://cam.example/1.jpg"}],
        },
    }
    payload.update(over)
    return payload


def test_mapping_adapter_produces_the_canonical_event() -> None:
    event = parse(ACME, acme_payload())
    assert event.event == "entry"
    assert event.plate == "abc-123" and event.normalised_plate == "ABC123"
    assert event.facility_id == "kamppi-p1"
    assert event.timestamp == datetime(2026, 3, 30, 14, 23, tzinfo=UTC)
    assert str(event.image_url) == "https://cam.example/1.jpg"
    assert event.event_id == "991"
    assert event.country_code == "FI"


def test_canonical_format_needs_no_adapter() -> None:
    event = parse(
        None,
        {
            "event": "exit",
            "plate": "ABC-123",
            "facility_id": "Kamppi P1",
            "timestamp": "2026-03-30T16:05:00Z",
            "vendor_extra": {"ignored": True},
        },
    )
    assert event.event == "exit" and event.image_url is None and event.event_id is None


def test_strptime_format_with_operator_time_zone() -> None:
    config = {
        "fields": {"event": "e", "plate": "p", "facility_id": "f", "timestamp": "t"},
        "timestamp_format": "%d.%m.%Y %H:%M:%S",
        "timezone": "Europe/Helsinki",
    }
    event = parse(config, {"e": "entry", "p": "X 1", "f": "kamppi-p1", "t": "30.03.2026 17:23:00"})
    assert event.timestamp == datetime(2026, 3, 30, 14, 23, tzinfo=UTC)


def test_strptime_without_zone_is_a_naive_timestamp_error() -> None:
    config = {
        "fields": {"event": "e", "plate": "p", "facility_id": "f", "timestamp": "t"},
        "timestamp_format": "%Y-%m-%d %H:%M",
    }
    with pytest.raises(ApiError) as err:
        parse(config, {"e": "entry", "p": "X1", "f": "kamppi-p1", "t": "2026-03-30 14:23"})
    assert err.value.status == 400 and err.value.code == "naive_timestamp"


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        (acme_payload(data={"direction": "sideways", "ts": 1, "vehicle": {"plate": "A"}}), "event"),
        (acme_payload(data={"direction": "in", "ts": 1}), "plate"),
        (
            acme_payload(data={"direction": "in", "ts": "soon", "vehicle": {"plate": "A"}}),
            "timestamp",
        ),
    ],
)
def test_payloads_that_do_not_fit_are_400(payload, fragment: str) -> None:
    with pytest.raises(ApiError) as err:
        parse(ACME, payload)
    assert err.value.status == 400
    assert fragment in err.value.message


def test_a_broken_adapter_config_is_our_500_not_the_callers_400() -> None:
    with pytest.raises(ApiError) as err:
        parse({"fields": {"plate": "p"}}, {"p": "X"})
    assert err.value.status == 500 and err.value.code == "adapter_misconfigured"


@pytest.mark.parametrize(
    "config",
    [
        {"fields": {"evnt": "a", "plate": "p", "facility_id": "f", "timestamp": "t", "event": "e"}},
        {"fields": {"event": "e..x", "plate": "p", "facility_id": "f", "timestamp": "t"}},
        {"fields": {"event": "e", "plate": "p", "facility_id": "f"}},
        {
            "fields": {"event": "e", "plate": "p", "facility_id": "f", "timestamp": "t"},
            "timestamp_format": "rfc-whatever",
        },
        {
            "fields": {"event": "e", "plate": "p", "facility_id": "f", "timestamp": "t"},
            "timezone": "Mars/Olympus",
        },
    ],
)
def test_adapter_config_is_validated(config) -> None:
    with pytest.raises(pydantic.ValidationError):
        adapters.load(config)


def _canonical(**over):
    body = {
        "event": "entry",
        "plate": "ABC-123",
        "facility_id": "kamppi-p1",
        "timestamp": "2026-03-30T14:23:00+03:00",
    }
    body.update(over)
    return body


@pytest.mark.parametrize(
    ("over", "code"),
    [
        ({"timestamp": "2026-03-30T14:23:00"}, "naive_timestamp"),
        ({"event": "enter"}, "invalid_event"),
        ({"plate": "AB/12"}, "invalid_event"),
        ({"plate": ""}, "invalid_event"),
        ({"image_url": "ftp://cam/x.jpg"}, "invalid_event"),
        ({"image_url": "file:///etc/passwd"}, "invalid_event"),
        ({"timestamp": (datetime.now(UTC) + timedelta(minutes=10)).isoformat()}, "invalid_event"),
        ({"country": "F1"}, "invalid_event"),
    ],
)
def test_canonical_validation(over, code: str) -> None:
    with pytest.raises(ApiError) as err:
        parse(None, _canonical(**over))
    assert err.value.status == 400 and err.value.code == code


def test_small_future_skew_is_tolerated_and_times_become_utc() -> None:
    soon = datetime.now(UTC) + timedelta(minutes=2)
    assert parse(None, _canonical(timestamp=soon.isoformat())).timestamp == soon
    event = CanonicalEvent.model_validate(_canonical())
    assert event.timestamp.utcoffset() == timedelta(0)
    assert event.timestamp == datetime(2026, 3, 30, 11, 23, tzinfo=UTC)


def test_body_must_be_an_object() -> None:
    with pytest.raises(ApiError) as err:
        parse(None, [1, 2])
    assert err.value.status == 400


@given(
    st.dictionaries(
        st.sampled_from(["a", "b", "id", "data", "x_y"]),
        st.integers() | st.sampled_from(["", "v", "ABC-123"]),
        max_size=4,
    ),
    st.lists(st.sampled_from(["a", "b", "id", "zz"]), max_size=3),
)
def test_extract_never_raises_and_finds_what_is_there(payload, path_parts) -> None:
    path = ".".join(path_parts) if path_parts else "x"
    adapters.extract(payload, path)  # any shape: a value or None, never an exception
    for key, value in payload.items():
        assert adapters.extract(payload, key) == value
        assert adapters.extract({"a": [{"b": payload}]}, f"a[0].b.{key}") == value
