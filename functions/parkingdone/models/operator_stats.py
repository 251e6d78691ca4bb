"""operatorStats/{operatorId}__s{shard}: one shard of an operator's running totals
(written and read through models/figures.py)."""

from __future__ import annotations

from google.cloud.firestore import Client

COLLECTION = "operatorStats"


def collection(db: Client):
    return db.collection(COLLECTION)
