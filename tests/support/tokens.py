"""Emulator ID tokens: unsigned JWTs the Firestore and Auth emulators accept.

Used for REST calls to Firestore under security rules and for callable functions. The
emulators never check signatures; production never sees these.
"""

from __future__ import annotations

import base64
import json
import os
import time
from typing import Any


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def id_token(uid: str, email: str | None = None, **claims: Any) -> str:
    project = os.environ.get("GCLOUD_PROJECT", "demo-parkingdone")
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": f"https://securetoken.google.com/{project}",
        "aud": project,
        "auth_time": now,
        "iat": now,
        "exp": now + 3600,
        "sub": uid,
        "user_id": uid,
        "firebase": {"sign_in_provider": "password", "identities": {}},
        **claims,
    }
    if email:
        payload["email"] = email
        payload["email_verified"] = True
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(payload)}."
