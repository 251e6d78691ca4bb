"""Replay inbox events whose processing failed, oldest event time first.

    python -m devstack.replay                      replay every failed event (up to --limit)
    python -m devstack.replay --dead-letters       replay the dead letters instead
    python -m devstack.replay --operator acme      only one operator's events
    python -m devstack.replay --list               show them, change nothing

Events are replayed in the order of their timestamps, so pairing reads them as they
happened. Replaying is idempotent: an event processed since is left alone. Against the
local emulators this uses the stack's addresses; against production run it with the
project's credentials (GOOGLE_APPLICATION_CREDENTIALS) and GCLOUD_PROJECT set. The
scheduled `sessionsSweep` function retries failed events every 15 minutes; after 5 failed
attempts an event becomes a dead letter (`status: dead_letter`), counted by the sweep's log
and replayed only by hand with --dead-letters (one more attempt each).
"""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.replay", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--operator", help="only this operator's events")
    parser.add_argument("--limit", type=int, default=500)
    parser.add_argument(
        "--dead-letters", action="store_true", help="events past their attempts, not failed ones"
    )
    parser.add_argument("--list", action="store_true", help="list failed events and exit")
    parser.add_argument(
        "--production", action="store_true", help="do not default to the local emulators"
    )
    args = parser.parse_args(argv)

    if not args.production:
        from devstack import stack

        for key, value in stack.service_env().items():
            os.environ.setdefault(key, value)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "functions"))
    from parkingdone.firebase import db as firestore_client
    from parkingdone.ingest import inbox

    db = firestore_client()
    if args.list:
        status = "dead_letter" if args.dead_letters else "failed"
        failed = inbox.failed_events(db, args.limit, args.operator, status)
        for snapshot in failed:
            data = snapshot.to_dict()
            print(
                f"{snapshot.id}  {data.get('operatorId')}/{data.get('facilityId')}  "
                f"{data.get('kind')} {data.get('plate')} at {data.get('at')}  "
                f"attempts={data.get('attempts')}  {data.get('error')}"
            )
        print(f"{len(failed)} {status.replace('_', ' ')} event(s)")
        return 0
    results = inbox.replay_failed(db, args.limit, args.operator, args.dead_letters)
    for result in results:
        print(f"{result.event_id}  {result.status}  {result.outcome}  {result.session_id}")
    still = sum(1 for r in results if r.status != "processed")
    print(f"replayed {len(results)} event(s); {still} still failing")
    return 1 if still else 0


if __name__ == "__main__":
    raise SystemExit(main())
