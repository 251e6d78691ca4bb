"""The one firebase-admin app and Firestore client of this process, created on first use."""

from __future__ import annotations

import threading

import firebase_admin
import google.auth.credentials
from firebase_admin import credentials, firestore
from google.cloud.firestore import Client

from parkingdone import config

_lock = threading.RLock()
_app: firebase_admin.App | None = None
_db: Client | None = None


class _AnonymousCredentials(credentials.Base):
    """The emulators accept any caller; google.auth finds no credentials there."""

    def get_credential(self) -> google.auth.credentials.Credentials:
        return google.auth.credentials.AnonymousCredentials()


def app() -> firebase_admin.App:
    """This process's admin app: the default app, so firebase-functions uses it too.

    Callable functions verify ID tokens with the default app, and Firestore triggers create
    a default app (with application default credentials, which the emulator lacks) if none
    exists yet; main.py therefore calls this at import, before any request, so the default
    app is always this one. Creating it makes no network call.
    """
    global _app
    if _app is None:
        with _lock:
            if _app is None:
                if firebase_admin._DEFAULT_APP_NAME in firebase_admin._apps:
                    _app = firebase_admin.get_app()
                else:
                    # The emulators accept anonymous callers and google.auth finds no
                    # credentials there; in production the function's service account is
                    # used (loaded lazily, on first use).
                    credential = (
                        _AnonymousCredentials()
                        if config.is_emulator()
                        else credentials.ApplicationDefault()
                    )
                    options = {"projectId": config.project_id()}
                    _app = firebase_admin.initialize_app(credential, options)
    return _app


def db() -> Client:
    global _db
    if _db is None:
        with _lock:
            if _db is None:
                _db = firestore.client(app())
    return _db
