"""Hypothesis fuzzing of the webhook body and of every callable's data, on the emulators.

Whatever arrives, the answer is never a 500, and a refused request (any 4xx) writes
nothing: the documents are counted before and after. Examples are generated around the
shapes the boundaries expect (the right keys with hostile values: path-like ids, numbers
for timestamps, plates in other scripts) as well as arbitrary JSON. Example counts are kept
small so the whole module stays well under two minutes; hypothesis' database makes a
failure found once come back first.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.integration.ingest_support import post
from tests.support.services import call_callable

# Collections that only triggers write, some time after the request that caused them:
# counting them would blame a refused request for an earlier accepted one.
WRITTEN_LATER = {"plateStatus", "plateSkeletons", "whitelistShards", "pushes"}
SUBCOLLECTIONS = ("vehicles", "pushTokens")


def documents(db) -> int:
    """Documents in the database, but for those only triggers write (counted in parallel)."""
    queries = [c for c in db.collections() if c.id not in WRITTEN_LATER]
    queries += [db.collection_group(group) for group in SUBCOLLECTIONS]
    with ThreadPoolExecutor(max_workers=8) as pool:
        return sum(pool.map(lambda query: query.count().get()[0][0].value, queries))


FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
hostile_ids = st.sampled_from(
    ["..", ".", "__x__", "__name__", "a/b", "/", "", " ", "x" * 300, "kamppi-p1", "Kamppi P1",
     "KAMPPI-P1", "\u0000", "kamppi-p1/../x", "ＡＢＣ"]
)  # fmt: skip
hostile_times = st.one_of(
    st.sampled_from(
        ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1970-01-01T00:00:00Z",
         "-1", "1.5", "1711800000", "2026-03-30T14:23:00", "2026-02-30T10:00:00Z", "now"]
    ),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.datetimes().map(lambda d: d.isoformat() + "+14:00"),
)  # fmt: skip
hostile_plates = st.one_of(
    st.sampled_from(
        ["АВС-123", "ABC-١٢٣", "ＡＢＣ－１２３", "-" * 3000 + "A1", "ABC/123", "ABC-123"]
    ),
    st.text(max_size=45),
)
hostile = st.one_of(hostile_ids, hostile_times, hostile_plates, json_values)


def shaped(fields: dict[str, st.SearchStrategy]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with (some of) the expected keys, hostile values, and the odd extra key."""
    return st.fixed_dictionaries({}, optional={**fields, "extra": json_values}) | st.dictionaries(
        st.sampled_from([*fields, "extra"]), hostile, max_size=len(fields)
    )


webhook_bodies = st.one_of(
    shaped(
        {
            "event": st.sampled_from(["entry", "exit"]) | hostile,
            "plate": hostile_plates,
            "facility_id": hostile_ids,
            "timestamp": hostile_times,
            "event_id": hostile_ids,
            "image_url": st.sampled_from(["http://x", "file:///etc/passwd", "ftp://a"]) | hostile,
            "country": st.sampled_from(["FI", "F1", ""]) | hostile,
        }
    ),
    json_values,
)


@FUZZ
@given(payload=webhook_bodies)
def test_no_webhook_body_gives_a_500_or_a_half_write(db, demo, payload) -> None:
    before = documents(db)
    response = post(demo.webhook_token, payload)
    assert response.status_code < 500, (payload, response.text)
    if response.status_code >= 400:
        assert response.json()["error"]["code"]
        assert documents(db) == before, payload


ADMIN = {"role": "super_admin"}
CALLABLES: dict[str, tuple[list[str], dict[str, Any]]] = {
    "gpsEvent": (["facilityId", "action", "latitude", "longitude", "accuracy", "timestamp",
                  "plate", "eventId"], {}),
    "registerVehicle": (["plate", "country", "nickname"], {}),
    "removeVehicle": (["plate"], {}),
    "registerPushToken": (["token", "platform", "deviceId"], {}),
    "removePushToken": (["token"], {}),
    "exportMyData": ([], {}),
    "requestDataDeletion": ([], {}),
    "createSetupIntent": (["requestId"], {}),
    "paySession": (["sessionId"], {}),
    "listPasses": (["facilityId"], {}),
    "buyPass": (["productId", "plate", "requestId", "startsAt"], {}),
    "setStaffRole": (["uid", "email", "role", "operatorId"], ADMIN),
    "refundPayment": (["paymentId", "requestId", "amount", "reason"], ADMIN),
    "transitionInvoice": (["sessionId", "action", "reference", "note"], ADMIN),
    "passRevenue": (["operatorId", "facilityId", "since", "until"], ADMIN),
}  # fmt: skip


def _value_for(field: str) -> st.SearchStrategy:
    if field in ("timestamp", "startsAt", "since", "until"):
        return hostile_times
    if field == "plate":
        return hostile_plates
    if field.endswith("Id") or field == "uid":
        return hostile_ids
    return hostile


def _calls() -> st.SearchStrategy[tuple[str, Any]]:
    def data_for(name: str) -> st.SearchStrategy[tuple[str, Any]]:
        fields, _ = CALLABLES[name]
        shapes = shaped({f: _value_for(f) for f in fields}) | json_values
        return st.tuples(st.just(name), shapes)

    return st.sampled_from(sorted(CALLABLES)).flatmap(data_for)


def _every_callable_once(test):
    # Each callable is called at least once (with empty data) whatever hypothesis draws.
    for name in sorted(CALLABLES):
        test = example(call=(name, {}))(test)
    return test


@settings(FUZZ, max_examples=45)
@given(call=_calls())
@_every_callable_once
def test_no_callable_data_gives_a_500_or_a_half_write(db, demo, call: tuple[str, Any]) -> None:
    name, data = call
    before = documents(db)
    response = call_callable(name, data, uid=demo.driver_uid, **CALLABLES[name][1])
    assert response.status_code < 500, (name, data, response.text)
    if response.status_code >= 400:
        assert response.json()["error"]["status"] != "INTERNAL"
        assert documents(db) == before, (name, data)
