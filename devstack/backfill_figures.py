"""Backfill the dashboard's figures from the stays and payments already stored.

    python -m devstack.backfill_figures                  every operator
    python -m devstack.backfill_figures --operator acme  one operator

Recomputes each operator's stored figures (dailyStats, operatorStats, figureContributions)
and its activity feed (activityFeed)
with the same pure code the triggers run (parkingdone.admin.aggregates.build) and replaces
what is stored. Run it once after deploying the figures, or to repair them, while the
operator's stays are quiet; the session and pass triggers keep them from then on. Against the
local emulators this uses the stack's addresses; against production run it with the
project's credentials (GOOGLE_APPLICATION_CREDENTIALS) and GCLOUD_PROJECT set and --production.
"""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.backfill_figures", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--operator", help="only this operator")
    parser.add_argument(
        "--production", action="store_true", help="do not default to the local emulators"
    )
    args = parser.parse_args(argv)
    if not args.production:
        from devstack import stack

        for key, value in stack.service_env().items():
            os.environ.setdefault(key, value)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "functions"))
    from parkingdone.admin import aggregates
    from parkingdone.firebase import db as firestore_client
    from parkingdone.models import operators

    db = firestore_client()
    ids = [args.operator] if args.operator else [op.id for op in operators.all_operators(db)]
    for operator_id in ids:
        built = aggregates.rebuild(db, operator_id)
        print(
            f"{operator_id}: {len(built.shards)} shard documents from "
            f"{len(built.contributions)} stays and passes, {len(built.feed)} feed shards"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
