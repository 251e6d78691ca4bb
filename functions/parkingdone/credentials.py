"""Operator credentials: webhook bearer tokens and enforcement API keys.

Only a SHA-256 hash of a secret is stored, as the document id of `credentials/{hash}`, so a
lookup is one read by id and a leaked database holds no usable secret. Secrets are random
256-bit values, so a fast hash is enough (no password stretching needed). An operator may
hold several active webhook tokens at once, which is how rotation overlaps.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from typing import Any, Literal

from google.cloud.firestore import Client
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from parkingdone import errors
from parkingdone.models.credentials import COLLECTION

CredentialKind = Literal["webhook", "enforcement"]


class Credential(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    kind: CredentialKind
    operator_id: str
    label: str = ""
    # Enforcement keys: the facilities the key may see. Empty means all of the operator's.
    facility_ids: list[str] = Field(default_factory=list)
    # Webhook tokens: the operator's payload format (see ingest adapters); None = canonical.
    adapter: dict[str, Any] | None = None
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    # Set from the document id when read; never stored as a field.
    secret_hash: str = Field(default="", exclude=True)

    def is_active(self, now: datetime) -> bool:
        if self.revoked_at is not None and self.revoked_at <= now:
            return False
        return self.expires_at is None or self.expires_at > now

    def covers_facility(self, facility_id: str) -> bool:
        return not self.facility_ids or facility_id in self.facility_ids


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret(kind: CredentialKind) -> str:
    prefix = "pdw" if kind == "webhook" else "pde"
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def store(db: Client, secret: str, credential: Credential) -> str:
    """Store `credential` under the hash of `secret`; returns the hash (its id)."""
    digest = hash_secret(secret)
    db.collection(COLLECTION).document(digest).set(
        credential.model_dump(by_alias=True, exclude_none=False)
    )
    return digest


def issue(db: Client, kind: CredentialKind, operator_id: str, **fields: Any) -> tuple[str, str]:
    """Create a new credential; returns (secret, hash). The secret is shown once, never stored."""
    secret = new_secret(kind)
    credential = Credential(
        kind=kind, operator_id=operator_id, created_at=datetime.now(UTC), **fields
    )
    return secret, store(db, secret, credential)


def revoke(db: Client, secret_hash: str, at: datetime | None = None) -> None:
    db.collection(COLLECTION).document(secret_hash).update({"revokedAt": at or datetime.now(UTC)})


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
    credential = Credential.model_validate(snapshot.to_dict())
    credential.secret_hash = digest
    if credential.kind != kind or not credential.is_active(datetime.now(UTC)):
        raise errors.unauthorized()
    return credential
