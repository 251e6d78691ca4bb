"""Passes: listed per facility, bought with the saved card, active only once paid."""

from __future__ import annotations

from tests.integration.payments_helpers import AUTH_CARD, payment_intents, stripe_requests, use_card
from tests.support.services import call_callable

ADMIN = {"role": "operator_admin", "operatorId": "demo-operator"}


def _products(db, demo) -> None:
    base = {"operatorId": demo.operator_id, "facilityId": demo.facility_id, "currency": "EUR"}
    products = db.collection("passProducts")
    products.document("kamppi-month").set(
        {
            **base,
            "name": "Monthly pass",
            "period": "month",
            "validityDays": 30,
            "price": 9000,
            "active": True,
        }
    )
    products.document("kamppi-week").set(
        {
            **base,
            "name": "Weekly pass",
            "period": "week",
            "validityDays": 7,
            "price": 3000,
            "active": True,
        }
    )
    products.document("kamppi-old").set(
        {**base, "name": "Old pass", "validityDays": 7, "price": 100, "active": False}
    )


def _buy(demo, request_id: str, product: str = "kamppi-month", plate: str = "abc-123"):
    data = {"productId": product, "plate": plate, "requestId": request_id}
    return call_callable("buyPass", data, demo.driver_uid, role="driver")


def test_buy_a_pass_once_and_see_it(db, demo):
    _products(db, demo)
    listed = call_callable("listPasses", {"facilityId": demo.facility_id}, demo.driver_uid)
    names = [p["name"] for p in listed.json()["result"]["products"]]
    assert names == ["Weekly pass", "Monthly pass"]

    bought = _buy(demo, "purchase-0001")
    assert bought.status_code == 200, bought.text
    result = bought.json()["result"]
    assert (result["status"], result["paymentStatus"]) == ("active", "succeeded")
    parking_pass = db.collection("passes").document(result["passId"]).get().to_dict()
    assert parking_pass["plate"] == "ABC123" and parking_pass["amount"] == 9000
    days = (parking_pass["validUntil"] - parking_pass["validFrom"]).days
    assert days == 30
    receipt = db.collection("receipts").document(result["paymentId"]).get().to_dict()
    assert receipt["total"] == 9000 and receipt["lines"][0]["description"] == "Monthly pass"
    [sent] = stripe_requests(db, "/v1/payment_intents")
    assert sent["params"]["application_fee_amount"] == "450"
    assert "off_session" not in sent["params"]

    # The app retries the same purchase: same pass, no second charge.
    again = _buy(demo, "purchase-0001").json()["result"]
    assert again["passId"] == result["passId"] and again["status"] == "active"
    assert len(payment_intents(demo.stripe_customer_id)) == 1

    mine = call_callable("listPasses", {"facilityId": demo.facility_id}, demo.driver_uid)
    assert [p["id"] for p in mine.json()["result"]["passes"]] == [result["passId"]]

    revenue = call_callable(
        "passRevenue", {"facilityId": demo.facility_id}, demo.admin_uid, **ADMIN
    ).json()["result"]
    assert (revenue["passesSold"], revenue["grossAmount"], revenue["netAmount"]) == (1, 9000, 9000)


def test_pass_needing_authentication_stays_pending(db, demo):
    _products(db, demo)
    use_card(db, demo, AUTH_CARD)
    result = _buy(demo, "purchase-sca-1").json()["result"]
    assert (result["status"], result["paymentStatus"]) == ("pending", "requires_action")
    assert result["clientSecret"]


def test_pass_rules(db, demo):
    _products(db, demo)
    assert _buy(demo, "purchase-x-01", plate="ZZZ999").status_code == 403  # not the driver's
    assert _buy(demo, "purchase-x-02", product="kamppi-old").status_code == 400
    assert _buy(demo, "purchase-x-03", product="nope").status_code == 404
    assert (
        call_callable("buyPass", {"productId": "kamppi-week"}, demo.driver_uid).status_code == 400
    )
    revenue = call_callable("passRevenue", {"facilityId": demo.facility_id}, demo.driver_uid)
    assert revenue.status_code == 403
    assert db.collection("passes").count().get()[0][0].value == 0


def test_a_facility_s_passes_are_listed_however_many_the_driver_has_elsewhere(db, demo):
    from datetime import UTC, datetime, timedelta

    from parkingdone.payments import passes

    start = datetime(2026, 3, 1, tzinfo=UTC)
    batch = db.batch()
    for n in range(55):  # more than the listing's limit, all ending later than the one below
        batch.set(
            db.collection("passes").document(f"elsewhere-{n:02d}"),
            {
                "uid": demo.driver_uid,
                "operatorId": demo.operator_id,
                "facilityId": "another-facility",
                "validFrom": start,
                "validUntil": start + timedelta(days=60 + n),
                "status": "active",
            },
        )
    batch.set(
        db.collection("passes").document("here"),
        {
            "uid": demo.driver_uid,
            "operatorId": demo.operator_id,
            "facilityId": demo.facility_id,
            "validFrom": start,
            "validUntil": start + timedelta(days=30),
            "status": "active",
        },
    )
    batch.commit()
    listed = passes.list_passes(db, demo.driver_uid, facility_id=demo.facility_id)
    assert [p["id"] for p in listed] == ["here"]
    assert len(passes.list_passes(db, demo.driver_uid)) == 50
