"""dailyStats/{operatorId}__{YYYY-MM}__s{shard}: one month of one shard of an operator's
figures per local day (written and read through models/figures.py)."""

from __future__ import annotations

from google.cloud.firestore import Client

COLLECTION = "dailyStats"


def collection(db: Client):
    return db.collection(COLLECTION)
