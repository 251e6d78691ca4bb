"""Onboarding an operator in one flow: the operator (name, portal slug, currency, time zone,
platform fee, VAT, branding, Stripe connected account), its first facility with a tariff,
its first admin and its webhook token.

`plan` is pure: it checks the whole request (the tariff through tariffs.py) and builds the
documents, so bad input is refused before anything is written. `onboard` then writes the
operator, the facility and the webhook credential in one Firestore transaction (all or
nothing) and invites the admin (Firebase Auth is outside any transaction; the invitation is
itself repeatable).

Retrying is safe. The operator document keeps a fingerprint of the request
(`onboardingKey`): the same request again finds its operator and facility, invites the same
admin again (a fresh password link), and replaces the webhook token only if it was never
used (its secret was shown once, maybe to nobody if the answer was lost). The same operator
id or slug with different details is a conflict (409), never an overwrite.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any, Literal

import pydantic
from google.cloud import firestore
from google.cloud.firestore import Client, Transaction
from google.cloud.firestore_v1.base_query import FieldFilter
from pydantic import Field, field_validator

from parkingdone import credentials, errors, ids, settings, tariffs, tenants
from parkingdone.accounts import roles
from parkingdone.admin.portal import RESERVED
from parkingdone.callable_api import Caller, Input
from parkingdone.ids import DocumentId
from parkingdone.models import facilities as facility_docs
from parkingdone.models import operators as operator_docs
from parkingdone.timestamps import TimeZoneName

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
ONBOARDING_TOKEN_LABEL = "Webhook token issued at onboarding"


class TariffInput(Input):
    """The first tariff in the simple form most car parks use; a full tariff (bands, first
    period, minimum) can be configured on the facility later."""

    free_minutes: int = Field(default=0, ge=0, le=24 * 60)
    free_mode: Literal["all_or_nothing", "deductible"] = "all_or_nothing"
    period_minutes: int = Field(default=60, gt=0, le=24 * 60)
    period_price: int = Field(ge=0, le=1_000_000)
    daily_cap: int | None = Field(default=None, ge=0, le=10_000_000)
    exit_grace_minutes: int = Field(default=15, ge=0, le=24 * 60)


class OnboardOperator(Input):
    operator_id: DocumentId | None = Field(default=None, max_length=64)
    name: str = Field(min_length=1, max_length=120)
    slug: str = Field(pattern=SLUG_PATTERN)
    currency: str = Field(default=settings.DEFAULT_CURRENCY, pattern=r"^[A-Z]{3}$")
    time_zone: TimeZoneName = settings.DEFAULT_TIME_ZONE
    platform_fee_bps: int = Field(default=settings.PLATFORM_FEE_BPS, ge=0, le=5000)
    vat_rate_bps: int = Field(default=settings.VAT_RATE_BPS, ge=0, le=5000)
    language: Literal["fi", "en"] = settings.OPERATOR_LANGUAGE  # type: ignore[assignment]
    display_name: str | None = Field(default=None, max_length=120)
    logo_url: str | None = Field(default=None, max_length=500, pattern=r"^(https://|/assets/)\S+$")
    accent_color: str | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$")
    stripe_account_id: str | None = Field(default=None, pattern=r"^acct_[A-Za-z0-9_]{1,64}$")
    facility_id: DocumentId = Field(max_length=64)
    facility_name: str = Field(min_length=1, max_length=120)
    capacity: int | None = Field(default=None, ge=1, le=100_000)
    tariff: TariffInput
    admin_email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    admin_name: str | None = Field(default=None, max_length=100)
    webhook_label: str = Field(default=ONBOARDING_TOKEN_LABEL, min_length=1, max_length=100)

    @field_validator("slug")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED:
            raise ValueError(f"{value!r} is a reserved host name")
        return value

    @property
    def the_operator_id(self) -> str:
        return self.operator_id or self.slug

    @property
    def key(self) -> str:
        """The request's fingerprint: a retry of the same onboarding has the same key."""
        body = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(body.encode()).hexdigest()


class Plan(pydantic.BaseModel):
    operator: dict[str, Any]
    facility: tenants.Facility


def tariff_version(request: OnboardOperator, valid_from: datetime) -> tariffs.TariffVersion:
    t = request.tariff
    try:
        return tariffs.TariffVersion(
            version=1,
            valid_from=valid_from,
            currency=request.currency,
            time_zone=request.time_zone,
            period_minutes=t.period_minutes,
            period_price=t.period_price,
            free_period=(
                tariffs.FreePeriod(minutes=t.free_minutes, mode=tariffs.FreeMode(t.free_mode))
                if t.free_minutes
                else None
            ),
            cap=tariffs.Cap(amount=t.daily_cap) if t.daily_cap is not None else None,
            exit_grace_minutes=t.exit_grace_minutes,
        )
    except pydantic.ValidationError as exc:
        raise errors.bad_request(
            f"Invalid tariff: {exc.errors()[0]['msg']}", "invalid_tariff"
        ) from exc


def plan(request: OnboardOperator, now: datetime) -> Plan:
    """The operator and facility documents for `request`; ApiError 400 when inconsistent."""
    version = tariff_version(request, now)
    operator_id = request.the_operator_id
    if not ids.is_valid(operator_id):
        raise errors.bad_request("The operator id is not a valid id", "invalid_operator_id")
    if not tenants.name_key(request.facility_name):
        raise errors.bad_request("The facility needs a display name", "invalid_facility")
    operator = tenants.Operator(
        id=operator_id,
        name=request.name,
        currency=request.currency,
        platform_fee_bps=request.platform_fee_bps,
        vat_rate_bps=request.vat_rate_bps,
        stripe_account_id=request.stripe_account_id,
        language=request.language,
    ).model_dump(by_alias=True, exclude={"id"}, exclude_none=True)
    operator.update(
        {
            "slug": request.slug,
            "timeZone": request.time_zone,
            "displayName": request.display_name or request.name,
            "logoUrl": request.logo_url,
            "accentColor": request.accent_color,
            "onboardingKey": request.key,
            "createdAt": now,
        }
    )
    facility = tenants.Facility(
        id=request.facility_id,
        operator_id=operator_id,
        name=request.facility_name,
        name_key=tenants.name_key(request.facility_name),
        time_zone=request.time_zone,
        currency=request.currency,
        tariffs=[version.model_dump(by_alias=True, mode="json")],
    )
    return Plan(operator=operator, facility=facility)


def _slug_holder(db: Client, transaction: Transaction, slug: str) -> str | None:
    query = (
        db.collection(operator_docs.COLLECTION)
        .where(filter=FieldFilter("slug", "==", slug))
        .limit(1)
    )
    for snapshot in transaction.get(query):
        return str(snapshot.id)
    return None


def _write(
    db: Client, request: OnboardOperator, the_plan: Plan, created_by: str
) -> tuple[bool, str | None, str | None]:
    """The transaction: (resumed, new webhook secret or None, its hash or None)."""
    operator_ref = db.collection(operator_docs.COLLECTION).document(request.the_operator_id)
    facility_ref = db.collection(facility_docs.COLLECTION).document(the_plan.facility.id)

    @firestore.transactional
    def run(transaction: Transaction) -> tuple[bool, str | None, str | None]:
        existing = operator_ref.get(transaction=transaction)
        slug_holder = _slug_holder(db, transaction, request.slug)
        facility = facility_ref.get(transaction=transaction)
        resumed = existing.exists
        if resumed and (existing.to_dict() or {}).get("onboardingKey") != request.key:
            raise errors.conflict(
                f"Operator {request.the_operator_id!r} already exists", "operator_exists"
            )
        if slug_holder not in (None, request.the_operator_id):
            raise errors.conflict(f"The portal {request.slug!r} is taken", "slug_taken")
        if facility.exists and (facility.to_dict() or {}).get("operatorId") != operator_ref.id:
            raise errors.conflict(
                f"Facility id {the_plan.facility.id!r} is taken", "facility_exists"
            )
        previous_hash = (existing.to_dict() or {}).get("onboardingCredential") if resumed else None
        if previous_hash:
            previous = db.collection(credentials.COLLECTION).document(previous_hash)
            snapshot = previous.get(transaction=transaction)
            if (snapshot.to_dict() or {}).get("lastUsedAt") is not None:
                return True, None, previous_hash  # in use: rotate it on the credentials page
            transaction.update(previous, {"revokedAt": datetime.now(UTC)})
        secret, credential = credentials.prepare(
            "webhook", operator_ref.id, label=request.webhook_label, created_by=created_by
        )
        credentials.store_in(transaction, db, credential)
        if resumed:
            transaction.update(operator_ref, {"onboardingCredential": credential.secret_hash})
        else:
            transaction.create(
                operator_ref, {**the_plan.operator, "onboardingCredential": credential.secret_hash}
            )
            facility_data = the_plan.facility.model_dump(by_alias=True, exclude={"id"})
            if request.capacity is not None:
                facility_data["capacity"] = request.capacity
            transaction.create(facility_ref, facility_data)
        return resumed, secret, credential.secret_hash

    return run(db.transaction())


def onboard(db: Client, caller: Caller, request: OnboardOperator) -> dict[str, Any]:
    """Create (or finish creating) an operator; returns what the super admin hands over."""
    if caller.role != "super_admin":
        raise errors.forbidden("Only super admins onboard operators", "not_super_admin")
    the_plan = plan(request, datetime.now(UTC))
    # Checked first, so an address that cannot be the admin leaves no operator behind.
    roles.check_invitable(request.admin_email, request.the_operator_id)
    resumed, secret, token_hash = _write(db, request, the_plan, caller.uid)
    invitation = roles.invite(
        db,
        caller,
        roles.InviteStaff(
            email=request.admin_email,
            role="operator_admin",
            operator_id=request.the_operator_id,
            display_name=request.admin_name,
        ),
    )
    tenants.clear_cache()
    return {
        "operatorId": request.the_operator_id,
        "slug": request.slug,
        "facilityId": the_plan.facility.id,
        "resumed": resumed,
        "admin": invitation,
        "webhookToken": secret,
        "webhookTokenId": (token_hash or "")[:12],
    }
