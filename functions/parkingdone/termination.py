"""An operator's contract ends: a full export, then removal of everything, within 30 days.

A super admin starts it (callable `terminateOperator`, or the admin dashboard through
`start`). Its staff lose access at once: the role and operator claims are removed from every
account naming the operator and their refresh tokens revoked (repeated by the first step if
that did not finish). The record operatorTerminations/{operatorId} carries it through,
advanced by the hourly scheduled function `operatorTerminations` (`advance`), each step resumable:

1. exporting: every collection holding the operator's documents (privacy.of_operator) as
   JSON lines and CSV, every evidence image, and manifest.json (each file's size, SHA-256
   and document count) in one zip, `exports/operators/{operatorId}/{requestId}.zip`; the
   manifest also beside it. The operator downloads it behind a one-hour link (asked again,
   the callable gives a fresh link); the file is kept for 7 days.
2. exported: waits until `deleteFrom` (7 days after the export, so the operator can fetch
   it), never later than 7 days before `dueBy` (requestedAt + 30 days).
3. deleting: removes the operator's documents collection by collection (documents naming
   only one of its stays, such as recorded pushes, with the stays) and its Storage objects,
   at most BUDGET per run; `progress` counts what went, so the dashboard shows it.
4. completed: the operator's own document goes last; a proof, deletionProofs/{id}, says
   what was removed (counts per collection, when). No other operator's data is touched:
   every query is by the operator's id, every Storage prefix carries it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import secrets
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

from firebase_admin import auth
from firebase_functions import logger
from google.cloud import firestore
from google.cloud.firestore import Client
from google.cloud.firestore_v1.base_query import FieldFilter

from parkingdone import archives, firebase, privacy
from parkingdone.accounts.gdpr import jsonable
from parkingdone.callable_api import OPERATOR_ROLES
from parkingdone.models import retention_state
from parkingdone.models.deletion_proofs import COLLECTION as PROOFS
from parkingdone.models.operator_terminations import COLLECTION as TERMINATIONS

DEADLINE = timedelta(days=30)
DOWNLOAD_WINDOW = timedelta(days=7)
PAGE = 400
BUDGET = 20_000  # documents removed per run
# Removed last, when nothing else of the operator is left; the record and proof stay.
LAST = ("operators", "retentionPolicies")
KEPT = ("operatorTerminations", "deletionProofs")


def _ref(db: Client, operator_id: str) -> firestore.DocumentReference:
    return db.collection(TERMINATIONS).document(operator_id)


def _query(db: Client, entry: privacy.Collection, operator_id: str) -> firestore.Query:
    if entry.tenant_field == "__id__":
        return db.collection(entry.name).where(
            filter=FieldFilter("__name__", "==", db.collection(entry.name).document(operator_id))
        )
    return db.collection(entry.name).where(
        filter=FieldFilter(entry.tenant_field, "==", operator_id)
    )


def _collections() -> list[privacy.Collection]:
    return [c for c in privacy.of_operator() if c.name not in KEPT]


def start(db: Client, operator_id: str, by_uid: str, now: datetime | None = None) -> dict:
    """Record the termination (once: asking again returns the record as it stands)."""
    now = now or datetime.now(UTC)
    ref = _ref(db, operator_id)

    @firestore.transactional
    def run(transaction: firestore.Transaction) -> dict[str, Any]:
        snapshot = ref.get(transaction=transaction)
        if snapshot.exists:
            return snapshot.to_dict()
        record = {
            "operatorId": operator_id,
            "requestId": secrets.token_hex(8),
            "status": "exporting",
            "requestedAt": now,
            "requestedBy": by_uid,
            "dueBy": now + DEADLINE,
            "deleteFrom": None,
            "archive": None,
            "progress": {},
            "proofId": None,
            "updatedAt": now,
        }
        transaction.set(ref, record)
        return record

    record = run(db.transaction())
    if not record.get("staffRevokedAt"):
        record |= _revoke_staff(db, operator_id, now)
    logger.info("termination.started", operatorId=operator_id, status=record["status"])
    return record


def revoke_staff(operator_id: str) -> int:
    """Remove the staff role of everyone whose claims name the operator, and revoke their
    refresh tokens (admin endpoints verify with check_revoked, so access ends at once).
    Auth has no query by claim: every account is read, a thousand a page. Returns how many."""
    revoked = 0
    app = firebase.app()
    for user in auth.list_users(app=app).iterate_all():
        claims = dict(user.custom_claims or {})
        if claims.get("operatorId") != operator_id or claims.get("role") not in OPERATOR_ROLES:
            continue
        for key in ("role", "operatorId"):
            claims.pop(key, None)
        auth.set_custom_user_claims(user.uid, claims or None, app=app)
        auth.revoke_refresh_tokens(user.uid, app=app)
        revoked += 1
    return revoked


def _revoke_staff(db: Client, operator_id: str, now: datetime) -> dict[str, Any]:
    update = {"staffRevoked": revoke_staff(operator_id), "staffRevokedAt": now}
    _ref(db, operator_id).update(update)
    logger.info("termination.staff_revoked", operatorId=operator_id, count=update["staffRevoked"])
    return update


# --- export -------------------------------------------------------------------------------


class _HashingWriter(io.RawIOBase):
    """Counts and hashes what goes into one zip member."""

    def __init__(self, target) -> None:
        self.target = target
        self.sha256 = hashlib.sha256()
        self.bytes = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.sha256.update(data)
        self.bytes += len(data)
        return self.target.write(data)


def _member(zf: zipfile.ZipFile, name: str, manifest: list[dict], chunks, documents=None):
    with zf.open(name, "w", force_zip64=True) as raw:
        writer = _HashingWriter(raw)
        for chunk in chunks:
            writer.write(chunk)
    manifest.append(
        {
            "file": name,
            "bytes": writer.bytes,
            "sha256": writer.sha256.hexdigest(),
            **({"documents": documents} if documents is not None else {}),
        }
    )


def _stream(query: firestore.Query):
    last = None
    while True:
        page_query = query.order_by("__name__").limit(PAGE)
        if last is not None:
            page_query = page_query.start_after(last)
        page = list(page_query.stream())
        yield from page
        if len(page) < PAGE:
            return
        last = page[-1]


def _documents(db: Client, entry: privacy.Collection, operator_id: str, sub: str | None):
    """(id, data) of the operator's documents in the collection, or in its subcollection
    `sub` (each with its parentId), streamed page by page."""
    for snapshot in _stream(_query(db, entry, operator_id)):
        if sub is None:
            yield snapshot.id, jsonable(snapshot.to_dict())
            continue
        for child in _stream(snapshot.reference.collection(sub)):
            yield child.id, {"parentId": snapshot.id, **jsonable(child.to_dict())}


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _write_collection(zf: zipfile.ZipFile, manifest: list[dict], group: str, documents) -> None:
    """`group`.jsonl, then `group`.csv from a second read (its columns: every field the first
    read saw), streamed: memory stays flat whatever the operator's size."""
    columns: set[str] = set()
    count = 0

    def lines():
        nonlocal count
        for doc_id, data in documents():
            columns.update(data)
            count += 1
            yield (json.dumps({"id": doc_id, **data}, ensure_ascii=False) + "\n").encode()

    def rows():
        header = sorted(columns)
        text = io.StringIO()
        table = csv.writer(text)
        table.writerow(["id", *header])
        for doc_id, data in documents():
            table.writerow([doc_id, *(_csv_value(data.get(c)) for c in header)])
            yield text.getvalue().encode()
            text.seek(0)
            text.truncate()
        yield text.getvalue().encode()

    _member(zf, f"{group}.jsonl", manifest, lines())
    manifest[-1]["documents"] = count
    _member(zf, f"{group}.csv", manifest, rows())
    manifest[-1]["documents"] = count


def export(db: Client, operator_id: str, request_id: str) -> dict[str, Any]:
    """Write the operator's archive; returns where it is and its manifest's summary."""
    name = f"{archives.EXPORTS_PREFIX}operators/{operator_id}/{request_id}.zip"
    blob = archives.bucket().blob(name)
    manifest: list[dict[str, Any]] = []
    with (
        blob.open("wb", content_type="application/zip", ignore_flush=True) as out,
        zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf,
    ):
        for entry in _collections():
            for sub in (None, *entry.subcollections):
                group = entry.name if sub is None else f"{entry.name}__{sub}"
                _write_collection(
                    zf, manifest, group, lambda e=entry, s=sub: _documents(db, e, operator_id, s)
                )
        images = 0
        for image in archives.bucket().list_blobs(
            prefix=f"{archives.EVIDENCE_PREFIX}{operator_id}/"
        ):
            _member(zf, image.name, manifest, [image.download_as_bytes(timeout=60)])
            images += 1
        summary = {
            "operatorId": operator_id,
            "requestId": request_id,
            "createdAt": datetime.now(UTC).isoformat(),
            "files": manifest,
        }
        body = json.dumps(summary, indent=1).encode()
        zf.writestr("manifest.json", body)
    archives.bucket().blob(name.removesuffix(".zip") + ".manifest.json").upload_from_string(
        body, content_type="application/json", timeout=60
    )
    documents = sum(f.get("documents", 0) for f in manifest if f["file"].endswith(".jsonl"))
    return {
        "path": f"gs://{blob.bucket.name}/{name}",
        "name": name,
        "files": len(manifest),
        "documents": documents,
        "images": images,
        "manifestSha256": hashlib.sha256(body).hexdigest(),
    }


# --- removal ------------------------------------------------------------------------------


def _remove_some(db: Client, operator_id: str, budget: int, progress: dict[str, int]) -> int:
    """Remove up to `budget` documents and objects of the operator; how many went."""
    removed = 0
    for entry in _collections():
        if entry.name in LAST:
            continue
        while removed < budget:
            page = list(_query(db, entry, operator_id).limit(min(PAGE, budget - removed)).stream())
            if not page:
                break
            if entry.name == "sessions":
                removed += _remove_via_stays(db, [s.id for s in page], progress)
            if entry.subcollections:
                for snapshot in page:
                    db.recursive_delete(snapshot.reference)
            else:
                batch = db.batch()
                for snapshot in page:
                    batch.delete(snapshot.reference)
                batch.commit()
            removed += len(page)
            progress[entry.name] = progress.get(entry.name, 0) + len(page)
        if removed >= budget:
            return removed
    objects = archives.delete_prefix(f"{archives.EVIDENCE_PREFIX}{operator_id}/", budget - removed)
    progress["evidenceImages"] = progress.get("evidenceImages", 0) + objects
    return removed + objects


def _remove_via_stays(db: Client, session_ids: list[str], progress: dict[str, int]) -> int:
    """Documents that name none of the operator but one of these stays of it (pushes)."""
    removed = 0
    for entry in privacy.via_stays():
        for start in range(0, len(session_ids), 30):  # an "in" filter takes 30 values
            ids = session_ids[start : start + 30]
            query = db.collection(entry.name).where(
                filter=FieldFilter(entry.session_field, "in", ids)
            )
            batch = db.batch()
            found = 0
            for snapshot in query.stream():
                batch.delete(snapshot.reference)
                found += 1
            if found:
                batch.commit()
                progress[entry.name] = progress.get(entry.name, 0) + found
            removed += found
    return removed


def _finish(db: Client, operator_id: str, record: dict, now: datetime) -> dict[str, Any]:
    progress = dict(record.get("progress") or {})
    for name in LAST:
        ref = db.collection(name).document(operator_id)
        if ref.get().exists:
            ref.delete()
            progress[name] = progress.get(name, 0) + 1
    retention_state.ref(db, operator_id).delete()
    proof = db.collection(PROOFS).document(secrets.token_hex(12))
    proof.set(
        {
            "kind": "operator_termination",
            "operatorId": operator_id,
            "requestedAt": record["requestedAt"],
            "dueBy": record["dueBy"],
            "completedAt": now,
            "counts": progress,
            "archiveSha256": (record.get("archive") or {}).get("manifestSha256"),
        }
    )
    return {"status": "completed", "progress": progress, "proofId": proof.id, "completedAt": now}


def step(db: Client, operator_id: str, now: datetime, budget: int = BUDGET) -> dict[str, Any]:
    """Move one termination on as far as this run allows; returns the record."""
    ref = _ref(db, operator_id)
    record = ref.get().to_dict()
    status = record["status"]
    update: dict[str, Any] = {}
    if not record.get("staffRevokedAt"):  # start() did not get that far: do it first
        record |= _revoke_staff(db, operator_id, now)
    if status == "exporting":
        archive = export(db, operator_id, record["requestId"])
        delete_from = min(now + DOWNLOAD_WINDOW, record["dueBy"] - DOWNLOAD_WINDOW)
        update = {"status": "exported", "archive": archive, "deleteFrom": delete_from}
        logger.info("termination.exported", operatorId=operator_id, **archive)
    elif status == "exported" and now >= record["deleteFrom"]:
        update = {"status": "deleting"}
    elif status == "deleting":
        progress = dict(record.get("progress") or {})
        removed = _remove_some(db, operator_id, budget, progress)
        update = {"progress": progress}
        if removed < budget:
            update |= _finish(db, operator_id, {**record, "progress": progress}, now)
        logger.info("termination.progress", operatorId=operator_id, removed=removed, **progress)
    if update:
        ref.update({**update, "updatedAt": now})
        record |= update
    return record


def advance(db: Client, now: datetime | None = None, budget: int = BUDGET) -> dict[str, str]:
    """The scheduled job: every unfinished termination one step further (twice when a step
    only changed the status, so a due deletion starts in the same run)."""
    now = now or datetime.now(UTC)
    states: dict[str, str] = {}
    query = db.collection(TERMINATIONS).where(
        filter=FieldFilter("status", "in", ["exporting", "exported", "deleting"])
    )
    for snapshot in query.stream():
        try:
            record = step(db, snapshot.id, now, budget)
            if record["status"] == "deleting" and snapshot.get("status") == "exported":
                record = step(db, snapshot.id, now, budget)
            states[snapshot.id] = record["status"]
        except Exception as exc:  # one operator's failure must not stop the others
            logger.error("termination.failed", operatorId=snapshot.id, error=repr(exc))
            snapshot.reference.update({"lastError": type(exc).__name__, "updatedAt": now})
            states[snapshot.id] = "failed"
    logger.info("termination.run", **states)
    return states


def view(record: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """The record as the dashboard shows it, with a fresh download link while the archive
    is kept."""
    shown = jsonable(record)
    archive = record.get("archive")
    if archive and record["status"] in ("exported", "deleting"):
        blob = archives.bucket().blob(archive["name"])
        if blob.exists():
            shown["download"] = jsonable(archives.download_link(archive["name"], now))
    return shown
