"""ticketCounters/{operatorId}: the last ticket number of each line of an operator.

Advanced in the same transaction that writes the ticket (support/service.py), so numbers
have no gaps and no duplicates.
"""

from __future__ import annotations

from google.cloud import firestore
from google.cloud.firestore import Client

COLLECTION = "ticketCounters"


def ref(db: Client, operator_id: str) -> firestore.DocumentReference:
    return db.collection(COLLECTION).document(operator_id)
