"""wallets/{operatorId}__{uid}: a driver's prepaid balance at one operator, in minor units.

Written only by payments/wallet.py, in the same transaction as the movement that explains
the change (wallet_movements); the balance never goes below zero.
"""

from __future__ import annotations

from google.cloud.firestore import Client
from pydantic import AwareDatetime, Field

from parkingdone.models.base import Document

COLLECTION = "wallets"


def wallet_id(operator_id: str, uid: str) -> str:
    return f"{operator_id}__{uid}"


class WalletDoc(Document):
    operator_id: str
    uid: str
    balance: int = Field(default=0, ge=0)
    currency: str = "EUR"
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None


def get(db: Client, operator_id: str, uid: str) -> WalletDoc | None:
    ref = db.collection(COLLECTION).document(wallet_id(operator_id, uid))
    return WalletDoc.from_snapshot(ref.get())
