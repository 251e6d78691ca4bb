"""Evidence images: copy an operator's ANPR image into our EU bucket, under the session.

The operator's URL is untrusted input, fetched from inside our network, so the copy is
guarded: http(s) only; every address the host resolves to must be public (no private,
loopback, link-local, multicast or reserved targets), and an IPv6 address that carries an
IPv4 address (IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo) is judged by the IPv4
address it delivers to. The connection then goes to the address that was checked, never to a
second lookup (a name can answer differently the next time: DNS rebinding), with the Host
header and the TLS server name and certificate check still on the name; proxy settings of the
environment are ignored. Redirects are re-checked hop by hop, and size, content type
(declared and by magic bytes) and time are bounded. Loopback is allowed only under the
emulators, for the local camera stand-in of tests and demos. A failed copy never touches the
session's state: it is recorded as an item of the session's evidence timeline, retryable
failures are retried by the scheduled sweep.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import certifi
import urllib3
from firebase_admin import storage
from firebase_functions import logger
from google.cloud import firestore
from google.cloud.firestore import Client, Transaction
from google.cloud.storage.retry import DEFAULT_RETRY
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util.connection import create_connection

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
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port) -> the host's addresses; tests inject one that answers differently each time.
Resolver = Callable[[str, int], list[str]]

# IPv6 ranges whose packets are delivered to the IPv4 address in their low 32 bits.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 well-known prefix
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d
_IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # SIIT ::ffff:0:a.b.c.d
# RFC 8215 local-use NAT64: where the IPv4 address sits is the network's choice; never fetched.
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


class EvidenceError(Exception):
    def __init__(self, code: str, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable


@dataclass(frozen=True)
class Image:
    data: bytes
    content_type: str


@dataclass(frozen=True)
class Target:
    """Where one request goes: the URL's scheme, host and port, and the checked address."""

    scheme: str
    host: str
    port: int
    address: str


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address delivers to (none for a plain IPv6 address)."""
    if address.ipv4_mapped:
        return [address.ipv4_mapped]
    if address in _NAT64 or address in _IPV4_TRANSLATED or address in _IPV4_COMPATIBLE:
        return [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)]
    if address.sixtofour:
        return [address.sixtofour]
    if address.teredo:
        return list(address.teredo)  # the relay server and the (de-obfuscated) client
    return []


def _public(address: IPAddress) -> bool:
    return address.is_global and not address.is_multicast


def address_allowed(address: IPAddress) -> bool:
    if address.is_loopback:
        # The local camera stand-in of tests and demos; never in production.
        return config.is_emulator()
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:  # the host's own IPv4 stack: exactly that IPv4 address
            return address_allowed(address.ipv4_mapped)
        if address in _NAT64_LOCAL:
            return False
        if not all(_public(ipv4) for ipv4 in embedded_ipv4(address)):
            return False
    return _public(address)


def resolve(host: str, port: int) -> list[str]:
    """The host's addresses, from the system resolver."""
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return [info[4][0].split("%")[0] for info in infos]


def check_target(url: str, resolver: Resolver = resolve) -> Target:
    """The checked target of `url`; EvidenceError unless http(s) to only public addresses."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EvidenceError("bad_url", "Only http and https image URLs are fetched")
    if parts.username or parts.password:
        raise EvidenceError("bad_url", "Image URLs with credentials are not fetched")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = [ipaddress.ip_address(a) for a in resolver(parts.hostname, port)]
    except (OSError, ValueError) as exc:
        raise EvidenceError("dns_failed", f"Cannot resolve {parts.hostname}", True) from exc
    if not addresses:
        raise EvidenceError("dns_failed", f"No address for {parts.hostname}", True)
    for address in addresses:
        if not address_allowed(address):
            raise EvidenceError("blocked_address", f"{parts.hostname} resolves to {address}")
    return Target(parts.scheme, parts.hostname, port, str(addresses[0]))


class _Pinned:
    """A urllib3 connection that connects to the checked address instead of resolving again.

    Everything else (Host header, TLS server name, certificate check) uses the host name.
    """

    def __init__(self, *args: Any, pinned_address: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pinned_address = pinned_address

    def _new_conn(self) -> socket.socket:
        try:
            return create_connection(
                (self.pinned_address, self.port),
                self.timeout,
                source_address=self.source_address,
                socket_options=self.socket_options,
            )
        except TimeoutError as exc:
            raise ConnectTimeoutError(self, f"Connection to {self.host} timed out") from exc
        except OSError as exc:
            raise NewConnectionError(self, f"Cannot connect to {self.host}: {exc}") from exc


class _PinnedHTTPConnection(_Pinned, HTTPConnection):
    pass


class _PinnedHTTPSConnection(_Pinned, HTTPSConnection):
    pass


class _PinnedHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _PinnedHTTPConnection


class _PinnedHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


def _pool(target: Target) -> urllib3.HTTPConnectionPool:
    """A pool for one request to the target; urllib3 alone reads no proxy settings."""
    timeout = urllib3.Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT)
    common = {"timeout": timeout, "retries": False, "pinned_address": target.address}
    if target.scheme == "https":
        return _PinnedHTTPSPool(target.host, target.port, ca_certs=certifi.where(), **common)
    return _PinnedHTTPPool(target.host, target.port, **common)


def _request_target(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def sniff(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def fetch(url: str, resolver: Resolver = resolve) -> Image:
    """Download an image under the limits above."""
    deadline = time.monotonic() + TOTAL_SECONDS
    for _ in range(MAX_REDIRECTS + 1):
        target = check_target(url, resolver)
        try:
            with _pool(target) as pool:
                response = pool.urlopen(
                    "GET",
                    _request_target(url),
                    headers={"Accept": ", ".join(CONTENT_TYPES)},
                    redirect=False,
                    preload_content=False,
                )
                try:
                    if response.status in REDIRECT_STATUSES and "Location" in response.headers:
                        url = urljoin(url, response.headers["Location"])
                        continue
                    return _read_image(response, deadline)
                finally:
                    response.release_conn()
        except NewConnectionError as exc:  # before TimeoutError: urllib3 derives it from that
            raise EvidenceError("unreachable", f"{type(exc).__name__}", True) from exc
        except urllib3.exceptions.TimeoutError as exc:
            raise EvidenceError("timeout", "The image server did not answer in time", True) from exc
        except urllib3.exceptions.HTTPError as exc:
            raise EvidenceError("unreachable", f"{type(exc).__name__}", True) from exc
    raise EvidenceError("too_many_redirects", f"More than {MAX_REDIRECTS} redirects")


def _read_image(response: urllib3.BaseHTTPResponse, deadline: float) -> Image:
    if response.status != 200:
        retryable = response.status >= 500 or response.status == 429
        raise EvidenceError("http_error", f"Image server answered {response.status}", retryable)
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type not in CONTENT_TYPES:
        raise EvidenceError("bad_content_type", f"Not an image type: {content_type!r}")
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > MAX_BYTES:
        raise EvidenceError("too_large", f"Image exceeds {MAX_BYTES} bytes")
    chunks, size = [], 0
    for chunk in response.stream(64 * 1024):
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


def object_path(session: dict[str, Any], session_id: str, kind: str, content_type: str) -> str:
    ext = CONTENT_TYPES[content_type]
    return f"evidence/{session['operatorId']}/{session['facilityId']}/{session_id}/{kind}.{ext}"


UPLOAD_RETRY = DEFAULT_RETRY.with_timeout(20.0)


def upload(path: str, image: Image) -> str:
    bucket = storage.bucket(config.evidence_bucket(), app=firebase.app())
    blob = bucket.blob(path)
    # A short retry budget: during a storage outage the copy is recorded as failed (and the
    # sweep copies it later) instead of holding the trigger for the client's 120 s default.
    blob.upload_from_string(
        image.data, content_type=image.content_type, timeout=30, retry=UPLOAD_RETRY
    )
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
