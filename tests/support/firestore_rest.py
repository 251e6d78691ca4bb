"""Firestore over REST, as an app would reach it: the one way to exercise security rules.

The Python admin client talks to the emulator as `owner` and bypasses rules; these helpers
send the request with an emulator ID token (or none, for an anonymous caller) so the
emulator evaluates firestore.rules. Each returns the HTTP status (200 allowed, 403 denied)
and the decoded body.
"""

from __future__ import annotations

import base64
import os
from datetime import datetime
from typing import Any

import requests

from tests.support.tokens import id_token


def _base() -> str:
    project = os.environ.get("GCLOUD_PROJECT", "demo-parkingdone")
    host = os.environ["FIRESTORE_EMULATOR_HOST"]
    return f"http://{host}/v1/projects/{project}/databases/(default)/documents"


def _name(path: str) -> str:
    project = os.environ.get("GCLOUD_PROJECT", "demo-parkingdone")
    return f"projects/{project}/databases/(default)/documents/{path}"


class Caller:
    """Who makes the request: `Caller(None)` is anonymous; claims go into the ID token."""

    def __init__(self, uid: str | None, **claims: Any) -> None:
        self.uid = uid
        self.claims = claims

    def headers(self) -> dict[str, str]:
        if self.uid is None:
            return {}
        return {"Authorization": f"Bearer {id_token(self.uid, **self.claims)}"}

    def __repr__(self) -> str:
        return f"Caller({self.uid!r}, {self.claims!r})"


def encode(value: Any) -> dict[str, Any]:
    """A Python value as a Firestore REST `Value`."""
    if value is None:
        return {"nullValue": None}
    if isinstance(value, bool):
        return {"booleanValue": value}
    if isinstance(value, int):
        return {"integerValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, bytes):
        return {"bytesValue": base64.b64encode(value).decode()}
    if isinstance(value, datetime):
        return {"timestampValue": value.isoformat().replace("+00:00", "Z")}
    if isinstance(value, dict):
        return {"mapValue": {"fields": {k: encode(v) for k, v in value.items()}}}
    if isinstance(value, list | tuple):
        return {"arrayValue": {"values": [encode(v) for v in value]}}
    raise TypeError(f"cannot encode {type(value).__name__}")


def fields(data: dict[str, Any]) -> dict[str, Any]:
    return {key: encode(value) for key, value in data.items()}


def get(caller: Caller, path: str) -> int:
    return requests.get(f"{_base()}/{path}", headers=caller.headers(), timeout=10).status_code


def query(
    caller: Caller,
    collection: str,
    where: list[tuple[str, str, Any]] | None = None,
    parent: str = "",
) -> tuple[int, list[dict[str, Any]]]:
    """runQuery on `collection` (under `parent`) with equality filters; (status, documents)."""
    filters = [
        {"fieldFilter": {"field": {"fieldPath": f}, "op": op, "value": encode(v)}}
        for f, op, v in (where or [])
    ]
    structured: dict[str, Any] = {"from": [{"collectionId": collection}]}
    if len(filters) == 1:
        structured["where"] = filters[0]
    elif filters:
        structured["where"] = {"compositeFilter": {"op": "AND", "filters": filters}}
    url = f"{_base()}/{parent}:runQuery" if parent else f"{_base()}:runQuery"
    response = requests.post(
        url, json={"structuredQuery": structured}, headers=caller.headers(), timeout=10
    )
    if response.status_code != 200:
        return response.status_code, []
    return 200, [row["document"] for row in response.json() if "document" in row]


def create(
    caller: Caller, path: str, data: dict[str, Any], server_time: tuple[str, ...] = ()
) -> int:
    """Create the document at `path` (fails if it exists); `server_time` fields get request.time."""
    write: dict[str, Any] = {
        "update": {"name": _name(path), "fields": fields(data)},
        "currentDocument": {"exists": False},
    }
    if server_time:
        write["updateTransforms"] = [
            {"fieldPath": f, "setToServerValue": "REQUEST_TIME"} for f in server_time
        ]
    return _commit(caller, [write])


def update(caller: Caller, path: str, data: dict[str, Any]) -> int:
    """Update only the given top-level fields of an existing document."""
    write = {
        "update": {"name": _name(path), "fields": fields(data)},
        "updateMask": {"fieldPaths": list(data)},
        "currentDocument": {"exists": True},
    }
    return _commit(caller, [write])


def set_doc(caller: Caller, path: str, data: dict[str, Any]) -> int:
    """Overwrite (or create) the whole document."""
    return _commit(caller, [{"update": {"name": _name(path), "fields": fields(data)}}])


def delete(caller: Caller, path: str) -> int:
    return _commit(caller, [{"delete": _name(path)}])


def _commit(caller: Caller, writes: list[dict[str, Any]]) -> int:
    response = requests.post(
        f"{_base()}:commit", json={"writes": writes}, headers=caller.headers(), timeout=10
    )
    return response.status_code
