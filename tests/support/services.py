"""Clients for the local stand-ins: the FCM recorder, localstripe, the callable endpoint."""

from __future__ import annotations

import os
from typing import Any

import requests
from stripe import StripeClient

from tests.support.tokens import id_token


def fcm_messages() -> list[dict[str, Any]]:
    """Every FCM v1 send request the recorder received, oldest first."""
    response = requests.get(f"{os.environ['FCM_RECORDER_URL']}/messages", timeout=5)
    response.raise_for_status()
    return response.json()["messages"]


def clear_fcm_messages() -> None:
    requests.delete(f"{os.environ['FCM_RECORDER_URL']}/messages", timeout=5).raise_for_status()


def stripe_client() -> StripeClient:
    return StripeClient(
        os.environ["STRIPE_SECRET_KEY"],
        base_addresses={"api": os.environ["STRIPE_API_BASE"]},
    )


def call_callable(name: str, data: dict[str, Any], uid: str | None = None, **claims: Any):
    """Call a callable function the way the Firebase SDKs do; returns the requests.Response."""
    headers = {"Content-Type": "application/json"}
    if uid is not None:
        headers["Authorization"] = f"Bearer {id_token(uid, **claims)}"
    url = f"{os.environ['FUNCTIONS_URL']}/{name}"
    return requests.post(url, json={"data": data}, headers=headers, timeout=30)
