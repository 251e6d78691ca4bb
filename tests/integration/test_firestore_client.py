"""The process's Firestore client reads streamed answers on the calling thread.

gRPC otherwise starts a thread to poll each streamed call (a batch get, a query) made while no
other is in flight; parkingdone/firebase.py opens the channel with STREAM_ON_CALLER.
"""

import threading
import uuid

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter


def threads_started_by(action) -> int:
    started = []
    start = threading.Thread.start

    def counting_start(thread, *args, **kwargs):
        started.append(thread.name)
        return start(thread, *args, **kwargs)

    threading.Thread.start = counting_start
    try:
        action()
    finally:
        threading.Thread.start = start
    return len(started)


def test_streamed_reads_and_transactions_start_no_thread(db) -> None:
    run = uuid.uuid4().hex
    refs = [db.collection("clientChecks").document(f"{run}-{n}") for n in range(3)]
    for n, ref in enumerate(refs):
        ref.set({"run": run, "n": n})
    db.collection("clientChecks").document("warm").get()  # the channel is open

    read: list = []

    def batch_get_and_query():
        read.extend(db.get_all(refs))
        query = db.collection("clientChecks").where(filter=FieldFilter("run", "==", run))
        read.extend(query.stream())

    def transaction():
        @firestore.transactional
        def move(tx):
            docs = list(tx.get_all(refs))
            tx.set(refs[0], {"run": run, "n": sum(d.get("n") for d in docs)})

        move(db.transaction())

    assert threads_started_by(batch_get_and_query) == 0
    assert len(read) == 6
    assert threads_started_by(transaction) == 0
    assert refs[0].get().get("n") == 3
    assert (
        db.collection("clientChecks")
        .where(filter=FieldFilter("run", "==", run))
        .count()
        .get()[0][0]
        .value
        == 3
    )
