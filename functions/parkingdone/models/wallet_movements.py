"""walletMovements/{movementId}: every change of a wallet's balance, one document each.

The id is the movement's idempotency key (`topup_{paymentId}`, `stay_{sessionId}`,
`refund_{refundId}`, `credit_{hash}`): a movement that exists is never applied again.
"""

from __future__ import annotations

from typing import Literal

from google.cloud import firestore
from google.cloud.firestore import Client
from google.cloud.firestore_v1.base_query import FieldFilter
from pydantic import AwareDatetime

from parkingdone.models.base import Document

COLLECTION = "walletMovements"
MovementKind = Literal["topup", "stay", "refund", "credit"]


class MovementDoc(Document):
    operator_id: str
    uid: str
    wallet_id: str
    kind: MovementKind
    # Signed: a top-up, refund or credit is positive, a stay paid from the wallet negative.
    amount: int
    balance_after: int
    currency: str
    session_id: str | None = None
    payment_id: str | None = None
    dispute_id: str | None = None
    reason: str | None = None
    by: str | None = None
    at: AwareDatetime


def of_wallet(db: Client, wallet_id: str, limit: int = 100) -> list[MovementDoc]:
    """The wallet's movements, newest first."""
    query = (
        db.collection(COLLECTION)
        .where(filter=FieldFilter("walletId", "==", wallet_id))
        .order_by("at", direction=firestore.Query.DESCENDING)
        .limit(limit)
    )
    return [d for d in (MovementDoc.from_snapshot(s) for s in query.get()) if d is not None]


def of_session(db: Client, session_id: str) -> list[MovementDoc]:
    query = db.collection(COLLECTION).where(filter=FieldFilter("sessionId", "==", session_id))
    return [d for d in (MovementDoc.from_snapshot(s) for s in query.get()) if d is not None]
