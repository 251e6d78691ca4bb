"""Onboarding's pure part: the request is checked whole and turned into the operator and
facility documents, with a tariff the engine prices; its fingerprint names a retry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pydantic
import pytest

from parkingdone import errors, onboarding, tariffs

NOW = datetime(2026, 3, 30, 10, 0, tzinfo=UTC)
REQUEST = {
    "name": "Acme Parking Oy",
    "slug": "acme",
    "platformFeeBps": 450,
    "vatRateBps": 2550,
    "stripeAccountId": "acct_1Acme",
    "accentColor": "#aa3300",
    "facilityId": "acme-p1",
    "facilityName": "Acme P1",
    "tariff": {"freeMinutes": 10, "periodMinutes": 30, "periodPrice": 150, "dailyCap": 1800},
    "adminEmail": "boss@acme.test",
}


def request(**changes) -> onboarding.OnboardOperator:
    return onboarding.OnboardOperator.model_validate({**REQUEST, **changes})


def test_plan_builds_the_operator_and_a_facility_whose_tariff_prices_stays():
    plan = onboarding.plan(request(), NOW)
    assert plan.operator["slug"] == "acme"
    assert (plan.operator["platformFeeBps"], plan.operator["vatRateBps"]) == (450, 2550)
    assert plan.operator["stripeAccountId"] == "acct_1Acme"
    assert plan.operator["onboardingKey"] == request().key
    assert plan.facility.operator_id == "acme" and plan.facility.name_key == "acme p1"
    version = tariffs.TariffVersion.model_validate(plan.facility.tariffs[0])
    # 10 min free (all or nothing); 45 min = two started half hours at 1.50; capped per day.
    assert tariffs.compute_fee(version, NOW, NOW + timedelta(minutes=9)).total == 0
    assert tariffs.compute_fee(version, NOW, NOW + timedelta(minutes=45)).total == 300
    assert tariffs.compute_fee(version, NOW, NOW + timedelta(hours=9)).total == 1800


def test_the_operator_id_defaults_to_the_slug():
    assert onboarding.plan(request(), NOW).facility.operator_id == "acme"
    assert onboarding.plan(request(operatorId="acme-oy"), NOW).facility.operator_id == "acme-oy"


@pytest.mark.parametrize(
    "changes",
    [
        {"slug": "www"},
        {"slug": "Acme!"},
        {"timeZone": "Mars/Olympus"},
        {"currency": "euro"},
        {"platformFeeBps": -1},
        {"stripeAccountId": "cus_123"},
        {"logoUrl": "javascript:alert(1)"},
        {"adminEmail": "nobody"},
        {"facilityId": "a/b"},
        {"tariff": {"periodPrice": -5}},
        {"unknown": 1},
    ],
)
def test_bad_requests_are_refused_whole(changes):
    with pytest.raises(pydantic.ValidationError):
        request(**changes)


def test_a_name_that_cannot_be_looked_up_is_a_clear_400():
    with pytest.raises(errors.ApiError) as refused:
        onboarding.plan(request(facilityName="+ +"), NOW)
    assert refused.value.status == 400


def test_the_fingerprint_names_the_same_request_only():
    assert request().key == request().key
    assert request().key != request(adminEmail="other@acme.test").key
