"""The webhook's Firestore cost per event, counted at the client's RPC layer (see bench)."""

import pytest

from devstack.bench_ingest import OpCounter
from tests.integration.ingest_support import T0, body, minutes
from tests.support.waiting import wait_for

pytestmark = pytest.mark.usefixtures("demo")


def test_entry_and_exit_cost_at_most_four_reads_and_four_writes_projection_included(
    db, demo
) -> None:
    from parkingdone.ingest import webhook

    counter = OpCounter().install(db)
    client = webhook.app.test_client()
    headers = {"Authorization": f"Bearer {demo.webhook_token}"}
    client.post("/webhook", json=body("entry", T0, plate="WARM-1"), headers=headers)

    # An unregistered plate's first entry.
    counter.reset()
    entry = body("entry", T0, plate="NEW-1")
    assert client.post("/webhook", json=entry, headers=headers).status_code == 202
    # (credential, plate document, plateOwners) in one batch; inbox event + session + plate
    # document (track and projection) + the plate's look-alike index entry
    assert (counter.reads, counter.writes) == (3, 4)
    # The credential, recalled by this process, is confirmed with the plate's documents:
    # one read round trip and the commit (and the transaction's begin, not counted).
    assert counter.rpcs == {"batch_get": 1, "commit": 1}

    counter.reset()
    exit_body = body("exit", T0 + minutes(45), plate="NEW-1")
    assert client.post("/webhook", json=exit_body, headers=headers).status_code == 202
    # (credential, plate document, plateOwners); inbox event + session + plate document
    assert (counter.reads, counter.writes) == (3, 3)

    # Charging's write-back on the closed stay (to_invoice: no driver) comes first.
    wait_for(
        lambda: all(
            d.get("payment") for d in db.collection("sessions").get() if d.get("plate") == "NEW1"
        ),
        what="the stay's payment outcome",
    )
    before = {d.id: d.update_time for d in db.collection("sessions").get()}
    counter.reset()
    assert client.post("/webhook", json=exit_body, headers=headers).status_code == 200
    # A replay's only write is the inbox create, refused by its precondition.
    assert counter.writes == 1 and counter.rpcs["commit"] == 1
    assert {d.id: d.update_time for d in db.collection("sessions").get()} == before

    # A registered driver with a saved card: covered by automatic payment, so the plate also
    # enters the whitelist (its shard) and the driver's card is read.
    counter.reset()
    assert client.post("/webhook", json=body("entry", T0), headers=headers).status_code == 202
    assert (counter.reads, counter.writes) == (4, 5)
    counter.reset()
    exit_body = body("exit", T0 + minutes(45))
    assert client.post("/webhook", json=exit_body, headers=headers).status_code == 202
    assert (counter.reads, counter.writes) == (3, 4)
