"""The one registry of personal data: every Firestore collection, what it holds about people,
how long it is kept, and what a driver's deletion does to it.

Read by the GDPR export and deletion (accounts/gdpr.py), the retention sweep
(jobs/retention.py) and an operator's termination (termination.py). A test fails when the
package writes a collection this registry does not name (tests/unit/test_privacy_registry.py),
and another checks that every TTL field named here is declared in firestore.indexes.json.

Words used below:
- driver_fields: fields holding a driver's uid; the export finds the driver's documents by
  them, the deletion acts on the documents they match.
- personal_fields: further fields that identify or locate a person (plate, GPS position,
  e-mail, device token); they are cleared when the document is anonymised.
- on_deletion: what a driver's deletion does to a matching document —
  "delete" (the document and its subcollections go), "anonymise" (driver_fields and
  personal_fields set to None: bookkeeping the operator must keep), "derived" (rebuilt from
  other collections; follows them), "none" (holds no personal data).
- retention: the retention policy key deciding how long documents live (retention.py):
  sessions, images, accounting, tickets, or a fixed rule ("ttl": the document's ttl_field;
  "age": max_age; "account": while the driver keeps the account; "enforcement": the
  enforcement sweep's own keepUntil;
  "operational": configuration kept while the operator is a client; "proof": kept as
  evidence of our own compliance, no personal data).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

OnDeletion = Literal["delete", "anonymise", "derived", "none"]


@dataclass(frozen=True)
class Collection:
    name: str
    on_deletion: OnDeletion
    retention: str
    driver_fields: tuple[str, ...] = ()
    personal_fields: tuple[str, ...] = ()
    # The field naming the operator: what an operator's termination exports and deletes.
    tenant_field: str | None = "operatorId"
    ttl_field: str | None = None
    # Cleared when the stay behind the document is removed by retention (besides the above).
    stay_fields: tuple[str, ...] = ()
    # For documents that name no operator but one of its stays: the field holding the stay's
    # id. An operator's termination removes them with the stays.
    session_field: str | None = None
    # For retention "age": documents whose `field` is older than `timedelta` are deleted.
    max_age: tuple[str, timedelta] | None = None
    subcollections: tuple[str, ...] = ()
    note: str = ""


REGISTRY: tuple[Collection, ...] = (
    # --- the driver's own account -------------------------------------------------------
    Collection(
        "users",
        "delete",
        "account",
        driver_fields=("__id__",),
        personal_fields=(
            "email",
            "displayName",
            "stripeCustomerId",
            "defaultPaymentMethodId",
            "searchName",
            "searchEmail",
        ),
        tenant_field=None,
        subcollections=("vehicles", "pushTokens"),
        note="the driver's profile; kept until the driver deletes the account",
    ),
    Collection(
        "vehicles", "delete", "account", personal_fields=("plate", "plateRaw"), tenant_field=None
    ),
    Collection(
        "pushTokens", "delete", "account", personal_fields=("token", "deviceId"), tenant_field=None
    ),
    Collection(
        "plateOwners",
        "delete",
        "account",
        driver_fields=("uid",),
        personal_fields=("plate", "plateRaw"),
        tenant_field=None,
    ),
    Collection(
        "gdprRequests",
        "delete",
        "ttl",
        driver_fields=("uid",),
        tenant_field=None,
        ttl_field="expireAt",
        note="a request; the deletion request expires 30 days after it is completed (the "
        "proof, with no person, is deletionProofs); export records go with the driver",
    ),
    Collection(
        "deletionProofs",
        "none",
        "proof",
        tenant_field=None,
        note="what a driver's deletion or an operator's termination removed: counts, no person",
    ),
    Collection(
        "pushes",
        "delete",
        "age",
        driver_fields=("uid",),
        personal_fields=("params",),
        tenant_field=None,
        session_field="params.sessionId",
        max_age=("createdAt", timedelta(days=90)),
        note="idempotency record of a push; 90 days; an operator's termination removes those "
        "of its stays",
    ),
    # --- stays -----------------------------------------------------------------------------
    Collection(
        "sessions",
        "anonymise",
        "sessions",
        driver_fields=("driverUid",),
        personal_fields=(),
        note="the operator's stay record: unlinked from the driver; plate kept for the "
        "operator's disputes until the stay's retention ends",
    ),
    Collection(
        "events",
        "anonymise",
        "sessions",
        driver_fields=("uid",),
        personal_fields=("location",),
        note="the inbox; GPS events carry the driver's uid and position",
    ),
    Collection(
        "plateStatus",
        "derived",
        "enforcement",
        personal_fields=("plate", "display", "track", "sources"),
        note="enforcement projection rebuilt from sessions and passes; deleted past keepUntil "
        "by the enforcement sweep",
    ),
    Collection(
        "plateSkeletons",
        "derived",
        "enforcement",
        personal_fields=("plates",),
        note="look-alike index",
    ),
    Collection("whitelistShards", "derived", "enforcement", personal_fields=("plates",)),
    Collection(
        "whitelistSnapshots", "derived", "ttl", personal_fields=("plates",), ttl_field="expiresAt"
    ),
    Collection(
        "enforcementChecks",
        "none",
        "sessions",
        personal_fields=("plate", "plateRaw"),
        ttl_field="expiresAt",
        note="check log, evidence in disputes: kept as long as the operator's stays (the sweep, "
        "by `at` and the policy); the TTL on expiresAt is only a backstop at the longest "
        "stays policy allowed",
    ),
    # --- money -----------------------------------------------------------------------------
    Collection(
        "payments",
        "anonymise",
        "accounting",
        driver_fields=("uid",),
        personal_fields=("customerId", "paymentMethodId"),
        stay_fields=("plate",),
        note="the ledger: kept for accounting; loses the driver on deletion, the plate with "
        "its stay",
    ),
    Collection(
        "receipts", "anonymise", "accounting", driver_fields=("uid",), stay_fields=("plate",)
    ),
    Collection(
        "passes",
        "anonymise",
        "accounting",
        driver_fields=("uid",),
        stay_fields=("plate",),
        note="the plate stays while the pass is in force (enforcement reads it); plate and "
        "driver go once its validity ended past the stays' limit",
    ),
    Collection("receiptCounters", "none", "operational"),
    Collection(
        "wallets",
        "anonymise",
        "accounting",
        driver_fields=("uid",),
        note="a driver's prepaid balance at an operator: the operator owes it, so the balance "
        "is kept for its books and loses the driver on deletion",
    ),
    Collection(
        "walletMovements",
        "anonymise",
        "accounting",
        driver_fields=("uid",),
        personal_fields=("reason",),
        note="every change of a wallet (top-up, stay, refund, staff credit): bookkeeping",
    ),
    # --- the admin dashboard -------------------------------------------------------------
    Collection(
        "auditLog",
        "none",
        "accounting",
        personal_fields=("uid", "email"),
        note="staff actions (who, what, before and after): the operator's staff, not drivers; "
        "kept with the accounting records they explain",
    ),
    Collection("dailyStats", "none", "operational", note="counts and sums per day, no people"),
    Collection("operatorStats", "none", "operational", note="running totals, no people"),
    Collection(
        "figureContributions",
        "none",
        "operational",
        note="what one stay or pass added to the figures (amounts and counts), no people",
    ),
    Collection(
        "figurePumps",
        "none",
        "operational",
        tenant_field="__id__",
        note="how far the figures pump has read an operator's stay changes (a time)",
    ),
    Collection(
        "activityFeed",
        "derived",
        "sessions",
        personal_fields=("items",),
        note="the dashboard's newest events per shard, with plates: rebuilt by the stay and "
        "pass triggers from the stays and payments, so an item follows its stay (a driver's "
        "deletion keeps the stay's plate for the operator, so the item keeps it too; a stay "
        "deleted by retention, or a payment losing its plate, takes it out or anonymises it "
        "on that write); at most a few dozen items per operator; goes with the operator",
    ),
    Collection(
        "signInThrottle",
        "none",
        "ttl",
        tenant_field=None,
        ttl_field="expireAt",
        note="failed sign-ins per hashed account or address, for minutes",
    ),
    Collection("passProducts", "none", "operational"),
    Collection(
        "stripeEvents",
        "none",
        "age",
        tenant_field=None,
        max_age=("processedAt", timedelta(days=90)),
        note="Stripe redelivers for 3 days; 90 days is ample",
    ),
    Collection(
        "emulatorStripeRequests",
        "none",
        "age",
        tenant_field=None,
        max_age=("at", timedelta(days=7)),
        note="written only under the emulators",
    ),
    # --- support and disputes --------------------------------------------------------------
    Collection(
        "tickets",
        "delete",
        "tickets",
        driver_fields=("uid",),
        personal_fields=("subject", "email", "plate", "searchTerms", "openedBy"),
        subcollections=("messages",),
        note="a driver's ticket goes with the driver (with its messages); an operator's "
        "ticket to ParkingDone names staff, not drivers. 24 months after closing (closedAt); "
        "an open ticket is never removed by retention",
    ),
    Collection(
        "messages", "delete", "tickets", personal_fields=("text", "from"), tenant_field=None
    ),
    Collection(
        "ticketCounters", "none", "operational", note="the last ticket number per line, no people"
    ),
    Collection(
        "disputes",
        "anonymise",
        "sessions",
        driver_fields=("uid",),
        personal_fields=("plate", "statement", "evidence"),
        note="a contested stay (sessionId) with its timeline as evidence; an open dispute "
        "holds its stay, its invoicing and the driver's deletion",
    ),
    # --- operators and staff ---------------------------------------------------------------
    Collection("operators", "none", "operational", tenant_field="__id__"),
    Collection("facilities", "none", "operational"),
    Collection("credentials", "none", "operational"),
    Collection(
        "roleChanges",
        "none",
        "operational",
        personal_fields=("targetUid", "byUid"),
        note="audit trail of staff (not drivers) roles",
    ),
    Collection(
        "staffMembers",
        "none",
        "operational",
        personal_fields=("email", "displayName", "invitedBy"),
        note="directory of an operator's dashboard users (staff, not drivers); removed with "
        "the role",
    ),
    Collection("retentionPolicies", "none", "operational", tenant_field="__id__"),
    Collection("retentionState", "none", "operational", tenant_field=None),
    Collection(
        "operatorTerminations",
        "none",
        "proof",
        tenant_field=None,
        note="an operator's export and removal, with progress; no personal data",
    ),
    Collection("_health", "none", "operational", tenant_field=None),
)

BY_NAME = {c.name: c for c in REGISTRY}
SUBCOLLECTIONS = {s for c in REGISTRY for s in c.subcollections}


def get(name: str) -> Collection:
    return BY_NAME[name]


def top_level() -> list[Collection]:
    return [c for c in REGISTRY if c.name not in SUBCOLLECTIONS]


def linked_to_driver() -> list[Collection]:
    """Top-level collections whose documents name a driver by a field (not by id)."""
    return [c for c in top_level() if any(f != "__id__" for f in c.driver_fields)]


def ttl_fields() -> dict[str, str]:
    return {c.name: c.ttl_field for c in REGISTRY if c.ttl_field}


def of_operator() -> list[Collection]:
    """Top-level collections holding an operator's documents, found by tenant_field."""
    return [c for c in top_level() if c.tenant_field]


def via_stays() -> list[Collection]:
    """Collections whose documents belong to an operator through one of its stays."""
    return [c for c in top_level() if c.session_field and not c.tenant_field]


def age_rules() -> dict[str, tuple[str, timedelta]]:
    return {c.name: c.max_age for c in REGISTRY if c.max_age}
