"""Production backups and recovery of Firestore: set up once, drill regularly.

    python -m devstack.production_backups setup --project P [--bucket B] [--dry-run]
    python -m devstack.production_backups drill --project P [--backup NAME | --snapshot-time T]
                                                [--dry-run]

`setup` checks that the database and the evidence bucket are in the EU, turns on
point-in-time recovery (7 days, a version a minute) and delete protection, and creates a
daily backup schedule whose retention (default 14 days) stays inside our 30-day deletion
promise: a deletion done by the daily job is gone from every backup within retention + 1
days. It deploys the TTL policies declared in firestore.indexes.json too.

`drill` restores a backup (or clones a point in time) into a new database `drill-YYYYMMDD`,
prints the checks to run against it, and the steps to switch to it in a real recovery
(docs/data-lifecycle.md, "Restore drill").

Every command is printed before it runs; --dry-run only prints. These commands change a real
Google Cloud project: the script refuses the emulators (FIRESTORE_EMULATOR_HOST set, or a
`demo-` project id).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
from datetime import UTC, datetime

EU_LOCATIONS = re.compile(r"^(eur\d+|europe-[a-z0-9-]+|EU)$", re.IGNORECASE)
MAX_RETENTION_DAYS = 28  # + 1 day for the daily deletion job: inside the 30-day promise
DATABASE = "(default)"


def _refuse_emulator(project: str) -> None:
    if os.environ.get("FIRESTORE_EMULATOR_HOST") or project.startswith("demo-"):
        sys.exit(
            "refusing: backups and point-in-time recovery exist only in a real project "
            "(unset FIRESTORE_EMULATOR_HOST and give the production project id)"
        )


def _retention_days(value: str) -> int:
    match = re.fullmatch(r"(\d+)d", value)
    if not match:
        raise argparse.ArgumentTypeError("retention as days, e.g. 14d")
    days = int(match.group(1))
    if not 1 <= days <= MAX_RETENTION_DAYS:
        raise argparse.ArgumentTypeError(
            f"retention must be 1d..{MAX_RETENTION_DAYS}d: a backup keeps deleted data until "
            "it expires, and we promise deletion within 30 days"
        )
    return days


def _run(command: list[str], dry_run: bool, capture: bool = False) -> str:
    print("$ " + shlex.join(command), flush=True)
    if dry_run:
        return ""
    result = subprocess.run(command, check=True, text=True, capture_output=capture)
    return (result.stdout or "").strip()


def _firebase(*args: str, project: str) -> list[str]:
    return ["npx", "firebase", *args, "--project", project]


def _check_eu(kind: str, location: str, dry_run: bool) -> None:
    if dry_run:
        print(f"  (check: the {kind} location must be in the EU: eur3 or europe-*)")
        return
    if not EU_LOCATIONS.match(location):
        sys.exit(f"refusing: the {kind} is in {location!r}, not in the EU")
    print(f"  {kind} location {location}: in the EU")


def setup(args: argparse.Namespace) -> None:
    project = args.project
    location = _run(
        [
            "gcloud",
            "firestore",
            "databases",
            "describe",
            f"--database={DATABASE}",
            f"--project={project}",
            "--format=value(locationId)",
        ],
        args.dry_run,
        capture=True,
    )
    _check_eu("database", location, args.dry_run)
    bucket = args.bucket or f"{project}-evidence"
    bucket_location = _run(
        [
            "gcloud",
            "storage",
            "buckets",
            "describe",
            f"gs://{bucket}",
            f"--project={project}",
            "--format=value(location)",
        ],
        args.dry_run,
        capture=True,
    )
    _check_eu("evidence bucket", bucket_location, args.dry_run)
    _run(
        _firebase(
            "firestore:databases:update",
            DATABASE,
            "--point-in-time-recovery",
            "ENABLED",
            "--delete-protection",
            "ENABLED",
            project=project,
        ),
        args.dry_run,
    )
    _run(
        _firebase(
            "firestore:backups:schedules:create",
            "-d",
            DATABASE,
            "--recurrence",
            "DAILY",
            "--retention",
            f"{args.retention}d",
            project=project,
        ),
        args.dry_run,
    )
    _run(_firebase("deploy", "--only", "firestore:indexes", project=project), args.dry_run)
    _run(
        _firebase("firestore:backups:schedules:list", "-d", DATABASE, project=project), args.dry_run
    )


def drill(args: argparse.Namespace) -> None:
    project = args.project
    target = args.target or f"drill-{datetime.now(UTC):%Y%m%d}"
    if args.snapshot_time:
        command = _firebase(
            "firestore:databases:clone",
            DATABASE,
            target,
            "--snapshot-time",
            args.snapshot_time,
            project=project,
        )
    else:
        if not args.backup:
            _run(_firebase("firestore:backups:list", project=project), args.dry_run)
            sys.exit("pick a backup from the list above and pass it as --backup")
        command = _firebase(
            "firestore:databases:restore", "-d", target, "-b", args.backup, project=project
        )
    _run(command, args.dry_run)
    print(
        f"""
Check the restored database `{target}` (Firestore console or gcloud):
  - counts of operators, facilities, sessions, payments, receipts against the live one;
  - the newest sessions' updatedAt is close to the backup's time;
  - a sample driver's gdprRequests and a sample receipt read back whole.
To switch in a real recovery: stop ingestion (revoke nothing: operators' systems retry),
delete or rename the broken "(default)" database after turning its delete protection off,
restore the same backup into "(default)", run this script's `setup` again (PITR, schedule),
let the operators' retries and `python -m devstack.replay` bring in the events since.
Drill only: delete the drill database when done:
  $ {shlex.join(_firebase("firestore:databases:delete", target, project=project))}"""
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.production_backups", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    set_up = commands.add_parser("setup", help="PITR, daily backups, EU checks, TTL policies")
    set_up.add_argument("--bucket", help="evidence bucket (default: PROJECT-evidence)")
    set_up.add_argument("--retention", type=_retention_days, default=14, help="e.g. 14d")
    restore = commands.add_parser("drill", help="restore into a new database and check it")
    restore.add_argument("--backup", help="backup resource name (firestore:backups:list)")
    restore.add_argument("--snapshot-time", help="RFC 3339 time within the last 7 days (PITR)")
    restore.add_argument("--target", help="new database id (default: drill-YYYYMMDD)")
    for sub in (set_up, restore):
        sub.add_argument("--project", required=True, help="the production project id")
        sub.add_argument("--dry-run", action="store_true", help="print the commands only")
    args = parser.parse_args(argv)
    _refuse_emulator(args.project)
    (setup if args.command == "setup" else drill)(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
