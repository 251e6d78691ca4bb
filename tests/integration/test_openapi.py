"""The OpenAPI document matches the live API, and no generated input makes it answer 500.

Real responses (through the Hosting emulator) are validated against the document's schemas;
schemathesis then generates requests for every operation from the document and sends them
to the live Hosting URL, with and without a valid key.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema_rs
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import negative_data_rejection, status_code_conformance

from tests.support.waiting import wait_for

SPEC_PATH = Path(__file__).resolve().parents[2] / "functions" / "parkingdone" / "openapi.json"
SPEC = json.loads(SPEC_PATH.read_text())
KEY = {"x-api-key": "demo-enforcement-key"}
schema = schemathesis.openapi.from_dict(SPEC)


def validator(name: str):
    """A validator for one component schema, with the document's components to resolve $refs."""
    wrapped = {"$ref": f"#/components/schemas/{name}", "components": SPEC["components"]}
    return jsonschema_rs.validator_for(wrapped)


def test_served_document_is_the_repository_document(hosting_url):
    assert requests.get(f"{hosting_url}/api/openapi.json", timeout=10).json() == SPEC


def test_real_responses_match_the_document(db, demo, hosting_url):
    now = datetime.now(UTC)
    db.collection("passes").document("p1").set(
        {
            "operatorId": demo.operator_id,
            "facilityId": demo.facility_id,
            "uid": demo.driver_uid,
            "plate": "ABC123",
            "productId": "kamppi-month",
            "validFrom": now - timedelta(days=1),
            "validUntil": now + timedelta(days=1),
            "status": "active",
            "amount": 9900,
            "currency": "EUR",
        }
    )
    ref = db.collection("plateStatus").document(f"{demo.facility_id}__ABC123")
    wait_for(lambda: ref.get().exists, timeout=15, what="projection")
    base = f"{hosting_url}/api/enforcement"

    check = requests.get(f"{base}/check/ABC-123", params={"facility": "Kamppi P1"}, headers=KEY)
    assert check.status_code == 200 and check.json()["status"] == "pass_active"
    validator("CheckResponse").validate(check.json())

    unknown = requests.get(f"{base}/check/ZZZ-1", params={"facility": "kamppi-p1"}, headers=KEY)
    validator("CheckResponse").validate(unknown.json())

    full = requests.get(f"{base}/facility/Kamppi+P1/paid-plates", headers=KEY)
    validator("Whitelist").validate(full.json())
    delta = requests.get(
        f"{base}/facility/kamppi-p1/paid-plates",
        params={"since": full.json()["cursor"]},
        headers=KEY,
    )
    validator("WhitelistDelta").validate(delta.json())

    for response, status in [
        (requests.get(f"{base}/check/ABC-123", params={"facility": "kamppi-p1"}), 401),
        (requests.get(f"{base}/check/ABC-123", params={"facility": "nowhere"}, headers=KEY), 404),
        (requests.get(f"{base}/facility/kamppi-p1/paid-plates?since=x", headers=KEY), 400),
    ]:
        assert response.status_code == status
        assert (
            str(status)
            in SPEC["paths"][
                "/api/enforcement/check/{plate}"
                if "/check/" in response.url
                else "/api/enforcement/facility/{facility}/paid-plates"
            ]["get"]["responses"]
        )
        validator("Error").validate(response.json())


@pytest.mark.timeout(600)
@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_input_produces_a_server_error(case, demo, hosting_url):
    # Half the cases carry the demo key so the authenticated paths are exercised too.
    headers = dict(case.headers or {})
    if case.path.startswith("/api/enforcement") and "x-api-key" not in headers:
        headers.update(KEY)
    if case.path == "/webhook":
        headers.setdefault("Authorization", f"Bearer {demo.webhook_token}")
    # Every answer is one the document lists (a 500 never is), and input the document
    # rules out is refused with a 4xx rather than accepted.
    case.call_and_validate(
        base_url=hosting_url,
        headers=headers,
        checks=[not_a_server_error, status_code_conformance, negative_data_rejection],
        # A function's first call on a loaded machine includes its cold start.
        timeout=60,
    )
