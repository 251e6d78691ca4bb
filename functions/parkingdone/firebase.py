"""The one firebase-admin app and Firestore client of this process, created on first use."""

from __future__ import annotations

import threading

import firebase_admin
import google.auth.credentials
from firebase_admin import credentials, firestore
from google.cloud.firestore import Client

from parkingdone import config

_lock = threading.RLock()
APP_NAME = "parkingdone"
_app: firebase_admin.App | None = None
_db: Client | None = None


class _AnonymousCredentials(credentials.Base):
    """The emulators accept any caller; google.auth finds no credentials there."""

    def get_credential(self) -> google.auth.credentials.Credentials:
        return google.auth.credentials.AnonymousCredentials()


def app() -> firebase_admin.App:
    """This process's admin app.

    A named app, because firebase-functions' Firestore triggers initialise the default app
    (with application default credentials) before our handler runs; ours must not depend on
    whether that happened.
    """
    global _app
    if _app is None:
        with _lock:
            if _app is None:
                options = {"projectId": config.project_id()}
                # The emulators accept anonymous callers and google.auth finds no credentials
                # there; in production the function's service account is used.
                credential = (
                    _AnonymousCredentials()
                    if config.is_emulator()
                    else credentials.ApplicationDefault()
                )
                _app = firebase_admin.initialize_app(credential, options, name=APP_NAME)
    return _app


def db() -> Client:
    global _db
    if _db is None:
        with _lock:
            if _db is None:
                _db = firestore.client(app())
    return _db
