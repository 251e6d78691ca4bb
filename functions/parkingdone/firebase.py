"""The one firebase-admin app and Firestore client of this process, created on first use."""

from __future__ import annotations

import threading

import firebase_admin
import google.auth.credentials
import grpc
from firebase_admin import credentials, firestore
from google.cloud.firestore import Client
from google.cloud.firestore_v1 import base_client
from google.cloud.firestore_v1.services.firestore import FirestoreClient
from google.cloud.firestore_v1.services.firestore.transports import FirestoreGrpcTransport

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


# Streamed reads (a batch get, a query) are read on the calling thread. By default gRPC
# starts a thread to poll each streamed call made while no other is in flight and hands every
# message across to the caller: with one request at a time per instance, that is every read.
# Measured against the emulator, one process, 400 operations each: a batch get of three
# documents 1.0-1.3 ms of CPU (1.8-3.0 ms wall) by default, 0.6-0.7 (1.0-1.3) on the calling
# thread; a read-write transaction 2.7-3.0 ms (6.0-7.8 wall), 1.7-1.8 (3.6-4.0).
STREAM_ON_CALLER = (grpc.experimental.ChannelOptions.SingleThreadedUnaryStream, 1)


def _channel(client: Client) -> grpc.Channel:
    """The channel the library itself would open for `client`, with STREAM_ON_CALLER."""
    if client._emulator_host is not None:
        # As the library: insecure, and as the owner (the emulator then skips the rules).
        options = [
            ("Authorization", "Bearer owner"),
            *base_client._GRPC_MSG_SIZE_OPTIONS,
            STREAM_ON_CALLER,
        ]
        return grpc.insecure_channel(client._emulator_host, options=options)
    return FirestoreGrpcTransport.create_channel(
        client._target,
        credentials=client._credentials,
        options=[*base_client._DEFAULT_CHANNEL_OPTIONS, STREAM_ON_CALLER],
    )


def _reading_streams_on_caller(client: Client) -> Client:
    # The library opens its channel lazily with fixed options; this sets its API client, as
    # that lazy step would, before the first call (the library is pinned: requirements.txt).
    transport = FirestoreGrpcTransport(host=client._target, channel=_channel(client))
    client._firestore_api_internal = FirestoreClient(
        transport=transport, client_options=client._client_options
    )
    return client


def db() -> Client:
    global _db
    if _db is None:
        with _lock:
            if _db is None:
                _db = _reading_streams_on_caller(firestore.client(app()))
    return _db
