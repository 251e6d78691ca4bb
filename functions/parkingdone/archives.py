"""Files we hand out and objects we remove in Cloud Storage (the EU evidence bucket).

Exports (a driver's data, an operator's archive) are written under `exports/` and handed out
behind a short-lived signed link; the retention sweep removes them once their link has
expired (EXPORT_LIFETIME). Under the emulators the link is the storage emulator's plain
download URL: there is no key to sign with, and nothing leaves the machine.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from firebase_admin import storage
from google.api_core import exceptions as gexc

from parkingdone import config, firebase

EXPORTS_PREFIX = "exports/"
EVIDENCE_PREFIX = "evidence/"
LINK_LIFETIME = timedelta(hours=1)
# An export file outlives its link by a day (a download in progress), then the sweep removes it.
EXPORT_LIFETIME = timedelta(days=7)


def bucket() -> Any:
    return storage.bucket(config.evidence_bucket(), app=firebase.app())


def split_gs(path: str) -> tuple[str, str]:
    """`gs://bucket/name` as (bucket, name)."""
    rest = path.removeprefix("gs://")
    name, _, obj = rest.partition("/")
    return name, obj


def delete_object(gs_path: str) -> bool:
    """Remove one object; True when it existed. Removing a missing object is not an error."""
    bucket_name, name = split_gs(gs_path)
    try:
        storage.bucket(bucket_name, app=firebase.app()).blob(name).delete(timeout=30)
        return True
    except gexc.NotFound:
        return False


def delete_prefix(prefix: str, limit: int) -> int:
    """Remove up to `limit` objects under `prefix`; the count removed."""
    removed = 0
    for blob in bucket().list_blobs(prefix=prefix, max_results=limit):
        try:
            blob.delete(timeout=30)
            removed += 1
        except gexc.NotFound:
            pass
    return removed


def download_link(name: str, now: datetime | None = None) -> dict[str, Any]:
    """A link to the object `name`, valid LINK_LIFETIME."""
    now = now or datetime.now(UTC)
    blob = bucket().blob(name)
    if config.is_emulator():
        host = os.environ.get("STORAGE_EMULATOR_HOST", "").rstrip("/")
        url = f"{host}/storage/v1/b/{blob.bucket.name}/o/{quote(name, safe='')}?alt=media"
    else:
        # In Cloud Functions the service account signs through IAM (signBlob): no key file.
        import google.auth
        import google.auth.transport.requests

        credentials, _ = google.auth.default()
        credentials.refresh(google.auth.transport.requests.Request())
        url = blob.generate_signed_url(
            version="v4",
            expiration=LINK_LIFETIME,
            method="GET",
            service_account_email=credentials.service_account_email,
            access_token=credentials.token,
        )
    return {"path": f"gs://{blob.bucket.name}/{name}", "url": url, "expiresAt": now + LINK_LIFETIME}


def sweep_exports(now: datetime, limit: int) -> int:
    """Remove export files older than EXPORT_LIFETIME."""
    removed = 0
    for blob in bucket().list_blobs(prefix=EXPORTS_PREFIX, max_results=limit):
        created = blob.time_created or now
        if created < now - EXPORT_LIFETIME:
            try:
                blob.delete(timeout=30)
                removed += 1
            except gexc.NotFound:
                pass
    return removed
