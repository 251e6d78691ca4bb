"""Operator credentials: webhook bearer tokens and enforcement API keys.

Only a SHA-256 hash of a secret is stored, as the document id of `credentials/{hash}`, so a
lookup is one read by id and a leaked database holds no usable secret. Secrets are random
256-bit values, so a fast hash is enough (no password stretching needed). An operator may
hold several active credentials at once, which is how rotation overlaps: `rotate` issues a
successor with the same kind, label, scope and payload format and lets the old one expire
after the overlap.

Every request reads the credential document, so a revocation answers 401 at the very next
request. The webhook reads it inside the transaction that records its event, in the same
batch as the plate's documents (`recall` and `Confirmation`): one round trip fewer per event.
`lastUsedAt` is written at most once per LAST_USED_INTERVAL per credential, not on every
request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pydantic
from firebase_functions import logger
from google.cloud import firestore
from google.cloud.firestore import Client, Transaction
from google.cloud.firestore_v1.base_query import FieldFilter
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from parkingdone import errors
from parkingdone.models.cache import Loader
from parkingdone.models.credentials import COLLECTION

CredentialKind = Literal["webhook", "enforcement"]
KINDS: tuple[CredentialKind, ...] = ("webhook", "enforcement")
# How stale `lastUsedAt` may be: one write per credential per interval, whatever the traffic.
LAST_USED_INTERVAL = timedelta(minutes=5)
# Rotation: how long the old secret keeps working beside its successor, by default and at most.
DEFAULT_OVERLAP = timedelta(hours=24)
MAX_OVERLAP = timedelta(days=30)
MAX_LABEL = 100


class Credential(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    kind: CredentialKind
    operator_id: str
    label: str = ""
    # The facilities the credential may act for. Empty means all of the operator's.
    facility_ids: list[str] = Field(default_factory=list)
    # Webhook tokens: the operator's payload format (see ingest adapters); None = canonical.
    adapter: dict[str, Any] | None = None
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None
    # Who issued it (a staff uid) and, for a rotation's successor, the hash it replaces.
    created_by: str | None = None
    rotated_from: str | None = None
    replaced_by: str | None = None
    # Set from the document id when read; never stored as a field.
    secret_hash: str = Field(default="", exclude=True)

    def is_active(self, now: datetime) -> bool:
        if self.revoked_at is not None and self.revoked_at <= now:
            return False
        return self.expires_at is None or self.expires_at > now

    def covers_facility(self, facility_id: str) -> bool:
        return not self.facility_ids or facility_id in self.facility_ids

    @property
    def key_id(self) -> str:
        """A short, public name of the credential (a prefix of its hash) for pages and logs."""
        return self.secret_hash[:12]


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret(kind: CredentialKind) -> str:
    prefix = "pdw" if kind == "webhook" else "pde"
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def _data(credential: Credential) -> dict[str, Any]:
    return credential.model_dump(by_alias=True, exclude_none=False)


def store(db: Client, secret: str, credential: Credential) -> str:
    """Store `credential` under the hash of `secret`; returns the hash (its id)."""
    digest = hash_secret(secret)
    db.collection(COLLECTION).document(digest).set(_data(credential))
    return digest


def prepare(kind: CredentialKind, operator_id: str, **fields: Any) -> tuple[str, Credential]:
    """A new secret and its credential, not yet stored (for a caller's own transaction)."""
    secret = new_secret(kind)
    credential = Credential(
        kind=kind, operator_id=operator_id, created_at=datetime.now(UTC), **fields
    )
    credential.secret_hash = hash_secret(secret)
    return secret, credential


def store_in(transaction: Transaction, db: Client, credential: Credential) -> None:
    """Create a prepared credential inside `transaction` (fails if the hash exists)."""
    transaction.create(
        db.collection(COLLECTION).document(credential.secret_hash), _data(credential)
    )


def issue(db: Client, kind: CredentialKind, operator_id: str, **fields: Any) -> tuple[str, str]:
    """Create a new credential; returns (secret, hash). The secret is shown once, never stored."""
    secret, credential = prepare(kind, operator_id, **fields)
    return secret, store(db, secret, credential)


def get(db: Client, secret_hash: str) -> Credential | None:
    if not secret_hash or len(secret_hash) != 64 or not secret_hash.isalnum():
        return None
    snapshot = db.collection(COLLECTION).document(secret_hash).get()
    return _of(snapshot) if snapshot.exists else None


def _of(snapshot: Any) -> Credential:
    credential = Credential.model_validate(snapshot.to_dict())
    credential.secret_hash = snapshot.id
    return credential


def of_operator(db: Client, operator_id: str, limit: int = 200) -> list[Credential]:
    """The operator's credentials, newest first (revoked and expired ones included)."""
    docs = (
        db.collection(COLLECTION)
        .where(filter=FieldFilter("operatorId", "==", operator_id))
        .limit(limit)
        .get()
    )
    return sorted((_of(s) for s in docs), key=lambda c: c.created_at, reverse=True)


def revoke(db: Client, secret_hash: str, at: datetime | None = None) -> None:
    db.collection(COLLECTION).document(secret_hash).update({"revokedAt": at or datetime.now(UTC)})


def rotate(
    db: Client,
    secret_hash: str,
    overlap: timedelta = DEFAULT_OVERLAP,
    created_by: str | None = None,
) -> tuple[str, Credential]:
    """Issue the successor of an active credential (same kind, operator, label, scope and
    payload format); the old one keeps working for `overlap`, then expires. Returns the new
    secret (shown once) and its credential. One transaction: never two successors."""
    if overlap < timedelta(0) or overlap > MAX_OVERLAP:
        raise errors.bad_request("The overlap must be between 0 and 30 days", "invalid_overlap")
    old_ref = db.collection(COLLECTION).document(secret_hash)
    transaction = db.transaction()

    @firestore.transactional
    def run(transaction: Transaction) -> tuple[str, Credential]:
        snapshot = old_ref.get(transaction=transaction)
        if not snapshot.exists:
            raise errors.not_found("No such credential", "unknown_credential")
        old = _of(snapshot)
        now = datetime.now(UTC)
        if not old.is_active(now) or old.replaced_by:
            raise errors.not_now(
                "Only an active credential that was not rotated yet can be rotated",
                "not_rotatable",
            )
        secret, successor = prepare(
            old.kind,
            old.operator_id,
            label=old.label,
            facility_ids=old.facility_ids,
            adapter=old.adapter,
            expires_at=old.expires_at,
            created_by=created_by,
            rotated_from=old.secret_hash,
        )
        ends = now + overlap
        if old.expires_at is not None and old.expires_at < ends:
            ends = old.expires_at
        store_in(transaction, db, successor)
        transaction.update(old_ref, {"expiresAt": ends, "replacedBy": successor.secret_hash})
        return secret, successor

    return run(transaction)


def record_use(db: Client, credential: Credential, now: datetime) -> bool:
    """Note that the credential was used, when the stored time (read by `authenticate`
    anyway) is older than LAST_USED_INTERVAL; True if written. So a credential costs one write
    per interval whatever its traffic (a few if requests race at the interval's end). A failed
    write never fails the request that used the credential."""
    if credential.last_used_at is not None and now - credential.last_used_at < LAST_USED_INTERVAL:
        return False
    try:
        db.collection(COLLECTION).document(credential.secret_hash).update({"lastUsedAt": now})
    except Exception as exc:
        logger.warn("credentials.last_used_not_written", key_id=credential.key_id, error=repr(exc))
        return False
    return True


def authenticate(db: Client, kind: CredentialKind, secret: str | None) -> Credential:
    """The active credential of `kind` for `secret`, or 401. One document read."""
    if not secret or len(secret) > 512:
        raise errors.unauthorized()
    digest = hash_secret(secret)
    snapshot = db.collection(COLLECTION).document(digest).get()
    # The lookup is by hash; the constant-time comparison guards against a store that
    # ever returned a near match.
    if not snapshot.exists or not hmac.compare_digest(snapshot.id, digest):
        raise errors.unauthorized()
    credential = _of(snapshot)
    now = datetime.now(UTC)
    if credential.kind != kind or not credential.is_active(now):
        raise errors.unauthorized()
    record_use(db, credential, now)
    return credential


# Credentials as this process last read them, by (kind, hash): what a request is parsed with
# before its own transaction confirms the credential (`Confirmation`).
_recalled: Loader[tuple[str, str], Credential] = Loader()


def recall(db: Client, kind: CredentialKind, secret: str | None) -> tuple[Credential, bool]:
    """The credential of `secret` and whether it was confirmed just now.

    As this process last read it when it can (False: the caller must confirm it inside the
    transaction that acts on the request, `Confirmation`, and answer any earlier refusal of
    the request only after `authenticate`), else read and checked now (True), or 401."""
    if not secret or len(secret) > 512:
        raise errors.unauthorized()
    read_now = []

    def load() -> Credential:
        read_now.append(True)
        return authenticate(db, kind, secret)

    credential = _recalled.get((kind, hash_secret(secret)), load)
    assert credential is not None  # authenticate raises rather than answer None
    return credential, bool(read_now)


class CredentialChanged(errors.ApiError):
    """The credential's operator, scope or payload format changed since this process read it:
    the request was parsed with the old one and is handled again with the new one."""

    def __init__(self) -> None:
        super().__init__(
            503, "credential_changed", "The credential changed during the request; send it again"
        )


class Confirmation:
    """A recalled credential, confirmed inside the transaction that acts on the request: its
    document (`ref`) is read with the transaction's other reads and handed to `check`, which
    refuses the request (401) when the credential is gone, revoked or expired, so nothing is
    written for it. `fresh` is then the credential as stored."""

    def __init__(self, db: Client, recalled: Credential) -> None:
        self.recalled = recalled
        self.ref = db.collection(COLLECTION).document(recalled.secret_hash)
        self.fresh: Credential | None = None

    def check(self, snapshot: Any) -> None:
        key = (self.recalled.kind, self.recalled.secret_hash)
        fresh = _of(snapshot) if snapshot is not None and snapshot.exists else None
        if (
            fresh is None
            or fresh.kind != self.recalled.kind
            or not fresh.is_active(datetime.now(UTC))
        ):
            _recalled.invalidate(lambda k: k == key)
            raise errors.unauthorized()
        parsed_with = ("operator_id", "adapter", "facility_ids")
        if any(getattr(fresh, f) != getattr(self.recalled, f) for f in parsed_with):
            _recalled.invalidate(lambda k: k == key)
            raise CredentialChanged()
        self.fresh = fresh


class IssueRequest(BaseModel):
    """What an operator's admin chooses when issuing a credential."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    kind: CredentialKind
    label: str = Field(min_length=1, max_length=MAX_LABEL)
    facility_ids: list[str] = Field(default_factory=list, max_length=200)
    expires_at: datetime | None = None
    adapter: dict[str, Any] | None = None


def issue_for_operator(
    db: Client, operator_id: str, request: IssueRequest, created_by: str | None = None
) -> tuple[str, Credential]:
    """Issue a credential after checking its scope (the operator's own facilities), expiry
    (in the future) and payload format (webhook tokens only); returns (secret, credential)."""
    from parkingdone.ingest import adapters
    from parkingdone.models import facilities

    now = datetime.now(UTC)
    if request.expires_at is not None and request.expires_at <= now:
        raise errors.bad_request("The expiry must be in the future", "invalid_expiry")
    known = {f.id for f in facilities.of_operator(db, operator_id)}
    unknown = sorted(set(request.facility_ids) - known)
    if unknown:
        raise errors.not_found(f"Unknown facility {unknown[0]!r}", "unknown_facility")
    if request.adapter is not None:
        if request.kind != "webhook":
            raise errors.bad_request(
                "Only webhook tokens carry a payload format", "invalid_adapter"
            )
        try:
            adapters.load(request.adapter)
        except pydantic.ValidationError as exc:
            raise errors.bad_request(f"Invalid payload format: {exc}", "invalid_adapter") from exc
    secret, credential = prepare(
        request.kind,
        operator_id,
        label=request.label,
        facility_ids=sorted(set(request.facility_ids)),
        expires_at=request.expires_at,
        adapter=request.adapter or None,
        created_by=created_by,
    )
    store(db, secret, credential)
    return secret, credential
