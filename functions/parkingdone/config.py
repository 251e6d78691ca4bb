"""Typed settings: everything configurable lives here, read lazily from params/env.

Secrets are `SecretParam`s (Secret Manager in production, `functions/.secret.local` under
the emulator); plain settings are environment variables (`functions/.env`). Nothing is read
at import time: deploy imports main.py to discover functions.
"""

from __future__ import annotations

import os

from firebase_functions import params

REGION = "europe-west1"
DEMO_PROJECT_ID = "demo-parkingdone"
VERSION = "0.1.0"

# Secrets.
STRIPE_SECRET_KEY = params.SecretParam("STRIPE_SECRET_KEY")
STRIPE_WEBHOOK_SECRET = params.SecretParam("STRIPE_WEBHOOK_SECRET")


def is_emulator() -> bool:
    """True inside the Functions emulator and in tests talking to the emulators."""
    return os.environ.get("FUNCTIONS_EMULATOR") == "true" or bool(
        os.environ.get("FIRESTORE_EMULATOR_HOST")
    )


def project_id() -> str:
    for name in ("GCLOUD_PROJECT", "GOOGLE_CLOUD_PROJECT"):
        if os.environ.get(name):
            return os.environ[name]
    return DEMO_PROJECT_ID


def evidence_bucket() -> str:
    """Cloud Storage bucket (EU location) for ANPR evidence images."""
    return os.environ.get("EVIDENCE_BUCKET") or f"{project_id()}-evidence"


def emulator_setting(name: str) -> str | None:
    """An address of a local stand-in (localstripe, FCM recorder); never used in production."""
    return os.environ.get(name) if is_emulator() else None
