"""The demo data: Demo Parking Oy with the Kamppi P1 facility, a second tenant (Other
Parking Oy, Other P1) so that isolation is visible, credentials, users and their portals.

`make run` seeds it into the running emulators, `make demo-data` regenerates emulator-data/
from it, and the tests' `demo` fixture uses this same code. Idempotent: every document has
a fixed id, so seeding twice leaves one copy.

These are emulator-only test credentials; a real deployment issues its own
(`credentials.issue`) and never uses these.

    python -m devstack.demo_data        seed the running emulators (needs the env of `make run`)
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import stripe
from firebase_admin import auth
from google.cloud.firestore import Client
from stripe import StripeClient

from parkingdone import credentials, tariffs, tenants
from parkingdone.firebase import app
from parkingdone.firebase import db as firestore_client
from parkingdone.models import facilities, operators, staff_members
from parkingdone.notifications.sender import token_id
from parkingdone.payments.models import PassProduct

OPERATOR_ID = "demo-operator"
FACILITY_ID = "kamppi-p1"
FACILITY_NAME = "Kamppi P1"
WEBHOOK_TOKEN = "demo-webhook-token"
ENFORCEMENT_KEY = "demo-enforcement-key"
PASSWORD = "demo-password"
DRIVER_PLATE = "ABC123"
DRIVER_PLATE_RAW = "ABC-123"
TEST_CARD = "4242424242424242"
# The driver's phone, so `make run` shows every push the demo driver gets.
DRIVER_PUSH_TOKEN = "demo-driver-phone-fcm-token"


@dataclass(frozen=True)
class User:
    uid: str
    email: str
    display_name: str
    claims: dict[str, str]


SUPER_ADMIN = User(
    "super-admin", "super@parkingdone.test", "ParkingDone Support", {"role": "super_admin"}
)
OPERATOR_ADMIN = User(
    "demo-operator-admin",
    "admin@demo-operator.test",
    "Demo Parking Admin",
    {"role": "operator_admin", "operatorId": OPERATOR_ID},
)
DRIVER = User("demo-driver", "driver@example.test", "Demo Driver", {"role": "driver"})

# The second tenant (DESIGN.md): its dashboard must never show the demo operator's data.
OTHER_OPERATOR_ID = "other-operator"
OTHER_FACILITY_ID = "other-p1"
OTHER_FACILITY_NAME = "Other P1"
OTHER_WEBHOOK_TOKEN = "other-webhook-token"
OTHER_ADMIN = User(
    "other-operator-admin",
    "admin@other-operator.test",
    "Other Parking Admin",
    {"role": "operator_admin", "operatorId": OTHER_OPERATOR_ID},
)
# Branded portals: /admin/o/{slug}/ locally, {slug}.parkingdone.com/admin/ in production.
BRANDS = {
    OPERATOR_ID: {
        "slug": "demo",
        "displayName": "Demo Parking",
        "logoUrl": "/assets/admin/logos/demo.svg",
        "accentColor": "#0b6e4f",
    },
    OTHER_OPERATOR_ID: {
        "slug": "other",
        "displayName": "Other Parking",
        "logoUrl": "/assets/admin/logos/other.svg",
        "accentColor": "#7a3db8",
    },
}
CAPACITY = {FACILITY_ID: 400, OTHER_FACILITY_ID: 120}


@dataclass(frozen=True)
class DemoData:
    operator_id: str
    facility_id: str
    facility_name: str
    webhook_token: str
    enforcement_key: str
    driver_uid: str
    driver_email: str
    driver_plate: str
    admin_uid: str
    super_uid: str
    password: str
    stripe_customer_id: str
    payment_method_id: str


def demo_operator() -> tenants.Operator:
    return tenants.Operator(
        id=OPERATOR_ID,
        name="Demo Parking Oy",
        currency="EUR",
        platform_fee_bps=500,
        vat_rate_bps=2550,
        stripe_account_id="acct_demo_operator",
        language="fi",
    )


def demo_facility() -> tenants.Facility:
    return tenants.Facility(
        id=FACILITY_ID,
        operator_id=OPERATOR_ID,
        name=FACILITY_NAME,
        name_key=tenants.name_key(FACILITY_NAME),
        time_zone="Europe/Helsinki",
        currency="EUR",
        tariffs=[v.model_dump(by_alias=True, mode="json") for v in tariffs.demo_tariff().versions],
        enforcement_grace_minutes=10,
        max_stay_minutes=7 * 24 * 60,
        # Charged at exit without a settle window, so tests, benchmarks and a walkthrough see
        # the receipt at once (a real facility keeps the default window).
        charge_settle_seconds=0,
        # The Kamppi centre block in Helsinki, corners clockwise from the north-west.
        geofence=[
            tenants.LatLng(lat=60.1700, lng=24.9300),
            tenants.LatLng(lat=60.1700, lng=24.9345),
            tenants.LatLng(lat=60.1675, lng=24.9345),
            tenants.LatLng(lat=60.1675, lng=24.9300),
        ],
        rate_label="€3.00 per started hour · first 15 min free · max €20.00 per day",
        driver_notice="Height limit 2.1 m. Exit via Urho Kekkosen katu after 22:00.",
        rules=["Stays of 15 minutes or less are free.", "Maximum stay 7 days."],
    )


def other_operator() -> tenants.Operator:
    return tenants.Operator(
        id=OTHER_OPERATOR_ID,
        name="Other Parking Oy",
        currency="EUR",
        time_zone="Europe/Helsinki",
        platform_fee_bps=500,
        vat_rate_bps=2550,
        stripe_account_id="acct_other_operator",
        language="fi",
    )


def other_facility() -> tenants.Facility:
    return demo_facility().model_copy(
        update={
            "id": OTHER_FACILITY_ID,
            "operator_id": OTHER_OPERATOR_ID,
            "name": OTHER_FACILITY_NAME,
            "name_key": tenants.name_key(OTHER_FACILITY_NAME),
            "geofence": [],
            "driver_notice": "",
        }
    )


def demo_pass_products() -> list[PassProduct]:
    common = {"operator_id": OPERATOR_ID, "facility_id": FACILITY_ID, "currency": "EUR"}
    return [
        PassProduct(
            id="kamppi-month",
            name="Monthly pass",
            period="month",
            validity_days=30,
            price=9000,
            **common,
        ),
        PassProduct(
            id="kamppi-week",
            name="Weekly pass",
            period="week",
            validity_days=7,
            price=3000,
            **common,
        ),
    ]


def _store(db: Client, collection: str, doc_id: str, model) -> None:
    data = model.model_dump(by_alias=True, exclude={"id"})
    db.collection(collection).document(doc_id).set(data)


def _ensure_user(user: User) -> None:
    try:
        auth.get_user(user.uid, app=app())
        auth.update_user(
            user.uid, email=user.email, password=PASSWORD, display_name=user.display_name, app=app()
        )
    except auth.UserNotFoundError:
        auth.create_user(
            uid=user.uid,
            email=user.email,
            password=PASSWORD,
            display_name=user.display_name,
            email_verified=True,
            app=app(),
        )
    auth.set_custom_user_claims(user.uid, user.claims, app=app())
    if user.claims.get("operatorId"):
        # The dashboard's users page lists an operator's people from this directory.
        staff_members.put(
            firestore_client(),
            user.uid,
            {
                "operatorId": user.claims["operatorId"],
                "email": user.email,
                "displayName": user.display_name,
                "role": user.claims["role"],
                "updatedAt": datetime.now(UTC),
            },
        )


def _stripe() -> StripeClient:
    base = os.environ.get("STRIPE_API_BASE")
    if not base:
        raise RuntimeError("STRIPE_API_BASE (localstripe) is not set; run inside `make run`")
    return StripeClient(os.environ["STRIPE_SECRET_KEY"], base_addresses={"api": base})


def _ensure_saved_card(db: Client) -> tuple[str, str]:
    """The driver's Stripe customer with a saved test card; reused while localstripe has it."""
    client = _stripe()
    profile = db.collection("users").document(DRIVER.uid).get()
    known = profile.to_dict() or {}
    if known.get("stripeCustomerId") and known.get("defaultPaymentMethodId"):
        try:
            client.v1.customers.retrieve(known["stripeCustomerId"])
            return known["stripeCustomerId"], known["defaultPaymentMethodId"]
        except stripe.InvalidRequestError:
            # localstripe forgets everything when it restarts.
            print("[seed] the driver's Stripe customer is gone; creating it again")
    customer = client.v1.customers.create(
        params={"email": DRIVER.email, "name": DRIVER.display_name, "metadata": {"uid": DRIVER.uid}}
    )
    method = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {
                "number": TEST_CARD,
                "exp_month": 12,
                "exp_year": datetime.now(UTC).year + 3,
                "cvc": "123",
            },
        }
    )
    client.v1.payment_methods.attach(method.id, params={"customer": customer.id})
    return customer.id, method.id


def seed(db: Client, with_phone: bool = False, with_stays: bool | None = None) -> DemoData:
    """Seed the demo data; `with_phone` also registers the driver's phone for pushes.

    Tests leave the phone out and register their own devices, so they see only their pushes.
    `with_stays` (by default as `with_phone`: the interactive stack) also sends a few stays
    of both tenants through the running webhook, so the dashboards have something to show.
    """
    now = datetime.now(UTC)
    _store(db, operators.COLLECTION, OPERATOR_ID, demo_operator())
    _store(db, facilities.COLLECTION, FACILITY_ID, demo_facility())
    _store(db, operators.COLLECTION, OTHER_OPERATOR_ID, other_operator())
    _store(db, facilities.COLLECTION, OTHER_FACILITY_ID, other_facility())
    for operator_id, brand in BRANDS.items():
        db.collection(operators.COLLECTION).document(operator_id).set(brand, merge=True)
    for facility_id, capacity in CAPACITY.items():
        db.collection(facilities.COLLECTION).document(facility_id).set(
            {"capacity": capacity}, merge=True
        )
    credentials.store(
        db,
        OTHER_WEBHOOK_TOKEN,
        credentials.Credential(
            kind="webhook",
            operator_id=OTHER_OPERATOR_ID,
            label="Other ANPR cameras",
            created_at=now,
        ),
    )
    credentials.store(
        db,
        WEBHOOK_TOKEN,
        credentials.Credential(
            kind="webhook", operator_id=OPERATOR_ID, label="Demo ANPR cameras", created_at=now
        ),
    )
    credentials.store(
        db,
        ENFORCEMENT_KEY,
        credentials.Credential(
            kind="enforcement",
            operator_id=OPERATOR_ID,
            label="Demo enforcement handhelds",
            created_at=now,
        ),
    )

    for user in (SUPER_ADMIN, OPERATOR_ADMIN, OTHER_ADMIN, DRIVER):
        _ensure_user(user)

    customer_id, method_id = _ensure_saved_card(db)
    db.collection("users").document(DRIVER.uid).set(
        {
            "email": DRIVER.email,
            "displayName": DRIVER.display_name,
            "language": "en",
            "notificationPrefs": {"push": True},
            "stripeCustomerId": customer_id,
            "defaultPaymentMethodId": method_id,
            "createdAt": now,
        }
    )
    vehicle = {"plate": DRIVER_PLATE, "plateRaw": DRIVER_PLATE_RAW, "country": "FI"}
    db.collection("users").document(DRIVER.uid).collection("vehicles").document(DRIVER_PLATE).set(
        {**vehicle, "addedAt": now}
    )
    if with_phone:
        db.collection("users").document(DRIVER.uid).collection("pushTokens").document(
            token_id(DRIVER_PUSH_TOKEN)
        ).set(
            {
                "token": DRIVER_PUSH_TOKEN,
                "platform": "android",
                "deviceId": "demo-phone",
                "updatedAt": now,
            }
        )
    db.collection("plateOwners").document(DRIVER_PLATE).set(
        {**vehicle, "uid": DRIVER.uid, "since": now}
    )

    if with_stays if with_stays is not None else with_phone:
        send_demo_stays(now)
    return DemoData(
        operator_id=OPERATOR_ID,
        facility_id=FACILITY_ID,
        facility_name=FACILITY_NAME,
        webhook_token=WEBHOOK_TOKEN,
        enforcement_key=ENFORCEMENT_KEY,
        driver_uid=DRIVER.uid,
        driver_email=DRIVER.email,
        driver_plate=DRIVER_PLATE,
        admin_uid=OPERATOR_ADMIN.uid,
        super_uid=SUPER_ADMIN.uid,
        password=PASSWORD,
        stripe_customer_id=customer_id,
        payment_method_id=method_id,
    )


# (token, facility, plate, entry minutes ago, exit minutes ago or None): a few stays per
# tenant, sent through the real webhook so that sessions, fees and invoices are genuine.
DEMO_STAYS = (
    (WEBHOOK_TOKEN, FACILITY_ID, "XYZ-789", 200, 70),
    (WEBHOOK_TOKEN, FACILITY_ID, "KLM-456", 95, None),
    (WEBHOOK_TOKEN, FACILITY_ID, "CAR-404", None, 30),
    (OTHER_WEBHOOK_TOKEN, OTHER_FACILITY_ID, "OTH-111", 240, 100),
    (OTHER_WEBHOOK_TOKEN, OTHER_FACILITY_ID, "OTH-222", 50, None),
    (OTHER_WEBHOOK_TOKEN, OTHER_FACILITY_ID, "OTH-333", 300, 290),
)


def send_demo_stays(now: datetime) -> None:
    """Entry and exit events through the webhook (Hosting); idempotent by event id."""
    import requests

    base = os.environ.get("HOSTING_URL")
    if not base:
        return
    events = []
    for token, facility_id, plate, entry_ago, exit_ago in DEMO_STAYS:
        for kind, ago in (("entry", entry_ago), ("exit", exit_ago)):
            if ago is not None:
                events.append((now - timedelta(minutes=ago), token, facility_id, plate, kind))
    for at, token, facility_id, plate, kind in sorted(events):
        stamp = at.replace(second=0, microsecond=0)
        body = {
            "event": kind,
            "plate": plate,
            "facility_id": facility_id,
            "timestamp": stamp.isoformat().replace("+00:00", "Z"),
            "event_id": f"demo-{facility_id}-{plate}-{kind}-{stamp:%Y%m%d}",
        }
        # The first call may meet a cold functions worker on a busy machine: wait for it.
        response = requests.post(
            f"{base}/webhook", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )
        if response.status_code >= 300:
            print(f"[seed] demo {kind} of {plate} refused: {response.status_code} {response.text}")


def main() -> None:
    argparse.ArgumentParser(
        prog="python -m devstack.demo_data", description=__doc__.split("\n\n")[0]
    ).parse_args()
    from parkingdone.firebase import db

    data = seed(db(), with_phone=True)
    print(
        f"[seed] operator {data.operator_id}, facility {data.facility_name} ({data.facility_id}),"
        f" users {SUPER_ADMIN.email}, {OPERATOR_ADMIN.email}, {OTHER_ADMIN.email}, {DRIVER.email}"
    )


if __name__ == "__main__":
    main()
