"""Push tokens, one document per device token under users/{uid}/pushTokens.

The document id is derived from the token, so registering again only refreshes it. A device
that signs in to another account brings the same token: it is removed from the previous
account first, so pushes never reach a phone its owner has signed out of.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from firebase_functions import logger
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter
from pydantic import Field

from parkingdone.callable_api import Caller, Input
from parkingdone.models.push_tokens import COLLECTION as PUSH_TOKENS
from parkingdone.models.users import COLLECTION as USERS
from parkingdone.notifications.sender import token_id

MAX_TOKENS_PER_USER = 20


class RegisterPushToken(Input):
    token: str = Field(min_length=10, max_length=4096)
    platform: Literal["android", "ios", "web"]
    device_id: str = Field(default="", max_length=200)


class RemovePushToken(Input):
    token: str = Field(min_length=1, max_length=4096)


def register(db: firestore.Client, caller: Caller, request: RegisterPushToken) -> dict[str, Any]:
    tid = token_id(request.token)
    tokens = db.collection(USERS).document(caller.uid).collection(PUSH_TOKENS)
    moved = 0
    # The same token on other accounts: the device changed hands (sign-out, sign-in).
    others = db.collection_group(PUSH_TOKENS).where(
        filter=FieldFilter("token", "==", request.token)
    )
    batch = db.batch()
    for doc in others.stream():
        if doc.reference.parent.parent.id != caller.uid:
            batch.delete(doc.reference)
            moved += 1
    # A device that re-registers under a new token replaces its old one.
    if request.device_id:
        same_device = tokens.where(filter=FieldFilter("deviceId", "==", request.device_id))
        for doc in same_device.stream():
            if doc.id != tid:
                batch.delete(doc.reference)
    batch.set(
        tokens.document(tid),
        {
            "token": request.token,
            "platform": request.platform,
            "deviceId": request.device_id,
            "updatedAt": datetime.now(UTC),
        },
    )
    batch.commit()
    _trim(tokens)
    logger.info("accounts.push_token_registered", uid=caller.uid, platform=request.platform)
    return {"tokenId": tid, "movedFromOtherAccounts": moved}


def _trim(tokens: firestore.CollectionReference) -> None:
    """Keep the newest MAX_TOKENS_PER_USER tokens: old devices stop mattering."""
    stale = tokens.order_by("updatedAt", direction=firestore.Query.DESCENDING).offset(
        MAX_TOKENS_PER_USER
    )
    for doc in stale.stream():
        doc.reference.delete()


def remove(db: firestore.Client, caller: Caller, request: RemovePushToken) -> dict[str, Any]:
    """Forget the device's token (sign-out); repeating it is harmless."""
    ref = db.collection(USERS).document(caller.uid).collection(PUSH_TOKENS)
    ref = ref.document(token_id(request.token))
    existed = ref.get().exists
    ref.delete()
    logger.info("accounts.push_token_removed", uid=caller.uid, existed=existed)
    return {"removed": existed}
