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
    global _app
    if _app is None:
        with _lock:
            if _app is None:
                options = {"projectId": config.project_id()}
                # firebase_functions' Firestore triggers initialise the default app (with
                # application default credentials) before our handler runs.
                taken = firebase_admin._DEFAULT_APP_NAME in firebase_admin._apps
                if config.is_emulator():
                    # The emulators need anonymous credentials: use our own named app then.
                    name = "parkingdone" if taken else firebase_admin._DEFAULT_APP_NAME
                    _app = firebase_admin.initialize_app(_AnonymousCredentials(), options, name)
                elif taken:
                    _app = firebase_admin.get_app()
                else:
                    # Application default credentials of the function's service account.
                    _app = firebase_admin.initialize_app(options=options)
    return _app


def db() -> Client:
    global _db
    if _db is None:
        with _lock:
            if _db is None:
                _db = firestore.client(app())
    return _db
