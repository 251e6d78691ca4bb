"""Replay dead-lettered payments (sessions whose payment.status is "dead_letter") by hand.

    python -m devstack.replay_payments SESSION_ID [SESSION_ID ...]
    python -m devstack.replay_payments --list      show them, change nothing

Run it once the cause is fixed (the facility exists again, the provider answers). Against
the local emulators it uses the stack's addresses; against production run it with the
project's credentials (GOOGLE_APPLICATION_CREDENTIALS), GCLOUD_PROJECT and
STRIPE_SECRET_KEY set and --production.
"""

from __future__ import annotations

import argparse
import os


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.replay_payments", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("session_ids", nargs="*")
    parser.add_argument("--list", action="store_true", help="list dead letters and exit")
    parser.add_argument("--production", action="store_true", help="not the local emulators")
    args = parser.parse_args(argv)
    if not args.production:
        from devstack import stack

        for key, value in {**stack.service_env(), **stack.local_secrets()}.items():
            os.environ.setdefault(key, value)
    from google.cloud.firestore_v1.base_query import FieldFilter

    from parkingdone.firebase import db
    from parkingdone.payments import retry

    if args.list or not args.session_ids:
        query = (
            db()
            .collection("sessions")
            .where(filter=FieldFilter("payment.status", "==", "dead_letter"))
        )
        for snapshot in query.limit(500).get():
            payment = snapshot.get("payment")
            print(snapshot.id, payment.get("errorCode"), payment.get("lastError"))
        return 0
    for session_id in args.session_ids:
        print(session_id, retry.replay_dead_letter(session_id))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
