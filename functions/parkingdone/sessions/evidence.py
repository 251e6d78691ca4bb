"""Evidence images: copy an operator's ANPR image into our EU bucket, under the session.

The operator's URL is untrusted input, fetched from inside our network, so the copy is
guarded: http(s) only, every address the host resolves to must be public (no private,
loopback, link-local, multicast or reserved targets; loopback is allowed only under the
emulators), redirects are re-checked hop by hop, and size, content type (declared and by
magic bytes) and time are bounded. A failed copy never touches the session's state: it is
recorded as an item of the session's evidence timeline, retryable failures are retried by
the scheduled sweep.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from firebase_admin import storage
from firebase_functions import logger
from google.cloud import firestore
from google.cloud.firestore import Client, Transaction

from parkingdone import config, firebase
from parkingdone.sessions import store

MAX_BYTES = 5 * 1024 * 1024
CONNECT_TIMEOUT = 3.05
READ_TIMEOUT = 10.0
TOTAL_SECONDS = 20.0
MAX_REDIRECTS = 3
MAX_ATTEMPTS = 3
CONTENT_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
KINDS = ("entry", "exit")


class EvidenceError(Exception):
    def __init__(self, code: str, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable


@dataclass(frozen=True)
class Image:
    data: bytes
    content_type: str


def _address_allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.is_loopback:
        # The local camera stand-in of tests and demos; never in production.
        return config.is_emulator()
    return address.is_global and not address.is_multicast


def check_target(url: str) -> None:
    """Raise EvidenceError unless `url` is http(s) to a host with only public addresses."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EvidenceError("bad_url", "Only http and https image URLs are fetched")
    if parts.username or parts.password:
        raise EvidenceError("bad_url", "Image URLs with credentials are not fetched")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError) as exc:
        raise EvidenceError("dns_failed", f"Cannot resolve {parts.hostname}", True) from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not _address_allowed(address):
            raise EvidenceError("blocked_address", f"{parts.hostname} resolves to {address}")


def sniff(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def fetch(url: str) -> Image:
    """Download an image under the limits above."""
    deadline = time.monotonic() + TOTAL_SECONDS
    for _ in range(MAX_REDIRECTS + 1):
        check_target(url)
        try:
            response = requests.get(
                url,
                stream=True,
                allow_redirects=False,
                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                headers={"Accept": ", ".join(CONTENT_TYPES)},
            )
        except requests.Timeout as exc:
            raise EvidenceError("timeout", "The image server did not answer in time", True) from exc
        except requests.RequestException as exc:
            raise EvidenceError("unreachable", f"{type(exc).__name__}", True) from exc
        with response:
            if response.is_redirect:
                url = urljoin(url, response.headers.get("Location", ""))
                continue
            if response.status_code != 200:
                retryable = response.status_code >= 500 or response.status_code == 429
                raise EvidenceError(
                    "http_error", f"Image server answered {response.status_code}", retryable
                )
            content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if content_type not in CONTENT_TYPES:
                raise EvidenceError("bad_content_type", f"Not an image type: {content_type!r}")
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > MAX_BYTES:
                raise EvidenceError("too_large", f"Image exceeds {MAX_BYTES} bytes")
            chunks, size = [], 0
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > MAX_BYTES:
                    raise EvidenceError("too_large", f"Image exceeds {MAX_BYTES} bytes")
                if time.monotonic() > deadline:
                    raise EvidenceError("timeout", "The image download took too long", True)
                chunks.append(chunk)
            data = b"".join(chunks)
            if sniff(data) != content_type:
                raise EvidenceError("bad_content", "The body is not the declared image type")
            return Image(data, content_type)
    raise EvidenceError("too_many_redirects", f"More than {MAX_REDIRECTS} redirects")


def object_path(session: dict[str, Any], session_id: str, kind: str, content_type: str) -> str:
    ext = CONTENT_TYPES[content_type]
    return f"evidence/{session['operatorId']}/{session['facilityId']}/{session_id}/{kind}.{ext}"


def upload(path: str, image: Image) -> str:
    bucket = storage.bucket(config.evidence_bucket(), app=firebase.app())
    blob = bucket.blob(path)
    blob.upload_from_string(image.data, content_type=image.content_type, timeout=30)
    return f"gs://{bucket.name}/{path}"


def pending(session: dict[str, Any]) -> list[str]:
    """Kinds whose image is named but has no evidence item for that event yet."""
    recorded = {
        (item.get("kind"), item.get("eventId"))
        for item in session.get("evidence") or []
        if isinstance(item, dict)
    }
    kinds = []
    for kind in KINDS:
        mark = session.get(kind) or {}
        if mark.get("imageUrl") and (f"{kind}_image", mark.get("eventId")) not in recorded:
            kinds.append(kind)
    return kinds


def copy(session_id: str, session: dict[str, Any], kind: str, attempts: int = 1) -> dict:
    """Copy one image; returns the timeline item (stored or failed). Never raises."""
    mark = session[kind]
    item: dict[str, Any] = {
        "kind": f"{kind}_image",
        "at": mark.get("at"),
        "eventId": mark.get("eventId"),
        "sourceUrl": mark["imageUrl"],
        "attempts": attempts,
    }
    log = {
        "operatorId": session.get("operatorId"),
        "facilityId": session.get("facilityId"),
        "sessionId": session_id,
        "kind": kind,
    }
    try:
        image = fetch(mark["imageUrl"])
        item |= {
            "status": "stored",
            "storagePath": upload(
                object_path(session, session_id, kind, image.content_type), image
            ),
            "contentType": image.content_type,
            "bytes": len(image.data),
        }
        logger.info("evidence.stored", **log, bytes=len(image.data))
    except EvidenceError as exc:
        item |= {"status": "failed", "error": exc.code, "message": str(exc)[:300]}
        item["retryable"] = exc.retryable and attempts < MAX_ATTEMPTS
        logger.warn("evidence.copy_failed", **log, error=exc.code)
    except Exception as exc:
        item |= {"status": "failed", "error": "storage_failed", "message": type(exc).__name__}
        item["retryable"] = attempts < MAX_ATTEMPTS
        logger.error("evidence.copy_failed", **log, error=repr(exc)[:300])
    item["recordedAt"] = datetime.now(UTC)
    return item


def record(db: Client, session_id: str, item: dict[str, Any], replace: bool = False) -> bool:
    """Add `item` to the session's evidence unless one for that image exists already.

    With `replace`, a failed item of the same image is swapped for the new one (a retry).
    """
    ref = store.session_ref(db, session_id)

    @firestore.transactional
    def work(transaction: Transaction) -> bool:
        snapshot = ref.get(transaction=transaction)
        if not snapshot.exists:
            return False
        evidence = list(snapshot.get("evidence") or [])
        same = [
            i
            for i in evidence
            if i.get("kind") == item["kind"] and i.get("eventId") == item["eventId"]
        ]
        if same and not (replace and all(i.get("status") == "failed" for i in same)):
            return False
        evidence = [i for i in evidence if i not in same] + [item]
        # Only evidence fields change: the session's state stays as ingestion left it.
        # evidenceRetry lets the sweep find sessions with a copy to retry by one query.
        retry = any(i.get("status") == "failed" and i.get("retryable") for i in evidence)
        transaction.update(ref, {"evidence": evidence, "evidenceRetry": retry})
        return True

    return work(db.transaction())


def on_session_written(session_id: str, session: dict[str, Any] | None) -> int:
    """Trigger body: copy every image the session names and has not recorded yet."""
    if not session:
        return 0
    done = 0
    db = firebase.db()
    for kind in pending(session):
        if record(db, session_id, copy(session_id, session, kind)):
            done += 1
    return done


def retry_failed(db: Client, session_id: str, session: dict[str, Any]) -> int:
    """Sweep body: copy again every retryable failed image of a session."""
    done = 0
    for item in session.get("evidence") or []:
        if item.get("status") != "failed" or not item.get("retryable"):
            continue
        kind = item["kind"].removesuffix("_image")
        if kind not in KINDS or not (session.get(kind) or {}).get("imageUrl"):
            continue
        fresh = copy(session_id, session, kind, attempts=int(item.get("attempts", 1)) + 1)
        if record(db, session_id, fresh, replace=True):
            done += 1
    return done
