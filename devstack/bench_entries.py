"""Benchmark entries alone: what an officer and an operator wait for behind each entry.

Fresh unregistered plates drive in at a steady rate (open loop, --senders at a time, as
bench_pipeline schedules them; 8 by default, as there: the Functions emulator runs a worker
process per concurrent request, and on 2 cores more of them only starve the session trigger,
whose events the Firestore emulator hands over one at a time, while senders that fall behind
still show a stack that cannot take the rate); each entry's acknowledgement is followed at
once by the officer's check of that plate (of every k-th entry above
--max-checks-per-second: officers check far less often than cars drive in, and at every
entry the checks would double the load under test). Per rate step it prints:
- acknowledgement latency (what the camera waits for; acknowledgement only);
- processed: entry ack -> the check answers with the car (the enforcement projection is
  written in the webhook's own transaction), with `not_found` answers counted apart;
- the session trigger's backlog: its invocations begun and finished by the last send, and
  how long after the last send the last one finished;
- entry ack -> the stay counted in the dashboard's figures (the figures pump, in batches),
  and whether those figures then agree with the aggregation queries (stays today, cars
  inside each facility);
- the rate the stack took: the step's entries over the time the senders took to send them;
- the CPU account: the cores busy while the entries were sent, and the CPU time per entry
  (the work behind it included) of each part of the stack: our functions, the emulators,
  the benchmark's own senders; and so the rate at which that cost fills the machine;
- whether the step was steady: processed latency did not grow over the step, the senders
  were on time at the end, the session trigger had begun all but a second's worth of the
  entries by the last send (more behind is a backlog that grew during the step, however
  fast it drains after), the trigger and the figures were done within 5 s of the last
  send, and the figures agree with the queries. The saturation rate is the highest steady
  step.

    python -m devstack.benchrun entries                            on a fresh stack
    python -m devstack.bench_entries --rates 20 --duration 60      against a running stack
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from devstack.bench_pipeline import DRAIN_LIMIT, LATE_AT_END_MS, Schedule, grew, thirds, warm_up
from devstack.benchlib import (
    CpuUse,
    Invocations,
    Senders,
    add_load_arguments,
    connect,
    cpu_account,
    machine_line,
    officer_check,
    percentile,
    run_load,
    seed_driver,
    summary,
)

TRIGGER = "sessionWritten"
# Entries the session trigger may not have begun by the last send, in seconds of the rate:
# what is in flight at the instant, not a backlog.
TRIGGER_BEHIND_SECONDS = 1.0


def trigger_fell_behind(entries: int, begun_at_end: int, rate: float) -> bool:
    """The session trigger's backlog grew during the step: by the last send it had begun
    fewer invocations than the step's entries, by more than a second's worth."""
    return entries - begun_at_end > rate * TRIGGER_BEHIND_SECONDS


@dataclass
class Step:
    rate: float
    duration: float
    acked: dict[str, float] = field(default_factory=dict)  # contribution id -> ack time
    ack_ms: list[float] = field(default_factory=list)
    check_ms: list[tuple[float, float]] = field(default_factory=list)  # (due, ms)
    not_found: int = 0
    failed: int = 0
    late_ms: list[tuple[float, float]] = field(default_factory=list)
    first_due: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def taken_rate(self, last_send: float) -> float:
        """Entries a second the stack let the senders send: the step's entries over the time
        from the first one's due instant to the last send (the offered rate while the
        senders keep up; less once acknowledgements hold them back)."""
        sent = int(self.rate * self.duration)
        return (sent - 1) / (last_send - self.first_due) if last_send > self.first_due else 0.0


def counted_times(db, keys: list[str]) -> dict[str, float]:
    """When each stay was first counted in the figures: its figureContributions document's
    creation time (the emulator's clock, this machine's), for those counted so far. Read
    after the senders stop: polling hundreds of documents ten times a second during the
    step loaded the very emulator under test."""
    from parkingdone.models import figures

    found: dict[str, float] = {}
    for start in range(0, len(keys), 300):
        refs = [db.collection(figures.CONTRIBUTIONS).document(k) for k in keys[start : start + 300]]
        for snapshot in db.get_all(refs):
            if snapshot.exists:
                found[snapshot.id] = snapshot.create_time.timestamp()
    return found


def figures_against_queries(db, operator_id: str) -> tuple[tuple, tuple]:
    """What the dashboard shows (the figures the triggers and the pump keep) and what the
    aggregation queries count, for the stays today and the cars inside each facility: equal
    once every stay is counted. Read after the step (the queries scan every stay)."""
    from parkingdone.admin import kpis

    now = datetime.now(UTC)
    zone, currency = "Europe/Helsinki", "EUR"

    def inside(rows) -> dict[str, int]:
        return {o.facility.id: o.inside for o in rows if o.inside}

    kept = (
        kpis.kept_figures(db, operator_id, zone, currency, now).periods[0].sessions,
        inside(kpis.kept_occupancy(db, operator_id)),
    )
    queried = (
        kpis.figures(db, operator_id, zone, currency, now).periods[0].sessions,
        inside(kpis.occupancy(db, operator_id)),
    )
    return kept, queried


def check_every(rate: float, max_checks_per_second: float) -> int:
    """Check every k-th entry so that checks stay at or below the cap (0: every entry)."""
    if max_checks_per_second <= 0 or rate <= max_checks_per_second:
        return 1
    return math.ceil(rate / max_checks_per_second)


def drive(args, demo, step: Step, hosting: str) -> float:
    """Send the step's entries; returns the instant of the last send."""
    from parkingdone.models import figures

    every = check_every(step.rate, args.max_checks_per_second)

    headers = {"Authorization": f"Bearer {demo.webhook_token}"}
    tag = uuid.uuid4().hex[:5].upper()
    senders = Senders(hosting)
    last_send = [0.0]

    def entry(number: int):
        plate = f"N{tag}{number:05d}"

        def job(due: float) -> None:
            sent = time.time()
            last_send[0] = max(last_send[0], sent)
            r = senders.mine().post_json(
                "/webhook",
                {
                    "event": "entry",
                    "plate": plate,
                    "facility_id": demo.facility_id,
                    "timestamp": (datetime.now(UTC) - timedelta(seconds=5)).isoformat(),
                    "event_id": f"{plate}-entry",
                },
                headers,
            )
            acked = time.time()
            if r.status >= 300:
                with step.lock:
                    step.failed += 1
                return
            contribution = figures.contribution_id("session", r.body["sessionId"])
            with step.lock:
                step.ack_ms.append((acked - sent) * 1000)
                step.acked[contribution] = acked
            if number % every:
                return
            found, seen = officer_check(senders.mine(), demo.facility_id, plate)
            with step.lock:
                if found == "failed":
                    step.failed += 1
                elif found == "not_found":
                    step.not_found += 1
                else:
                    step.check_ms.append((due, (seen - acked) * 1000))

        return job

    schedule = Schedule(args.senders)
    start = step.first_due = time.time() + 0.5
    for n in range(int(step.rate * step.duration)):
        schedule.add(start + n / step.rate, entry(n))

    schedule.run()
    with step.lock:
        step.late_ms.extend(schedule.late_ms)
        step.failed += schedule.failures
    return last_send[0]


def trigger_counts(counter: Invocations) -> tuple[int, int]:
    begun, finished = counter.per_function()
    return begun.get(TRIGGER, 0), finished.get(TRIGGER, 0)


def one_step(args, demo, db, hosting: str, rate: float, duration: float) -> bool:
    step = Step(rate, duration)
    counter = Invocations()
    cpu = CpuUse()
    cpu.start()
    last_send = drive(args, demo, step, hosting)
    sending, sending_seconds = cpu.since_start()
    begun_at_end, finished_at_end = trigger_counts(counter)
    entries = len(step.acked)
    trigger_done = figures_done = None
    counted_at: dict[str, float] = {}
    deadline = time.time() + 120
    while time.time() < deadline and (trigger_done is None or figures_done is None):
        begun, finished = trigger_counts(counter)
        if trigger_done is None and begun >= entries and finished >= begun:
            trigger_done = time.time()
        if figures_done is None:
            counted_at.update(counted_times(db, [k for k in step.acked if k not in counted_at]))
            if len(counted_at) == len(step.acked):
                figures_done = max(counted_at.values(), default=last_send)
        time.sleep(0.5)
    used, used_seconds = cpu.since_start()  # the entries and the work behind them
    counted = [(counted_at[k] - a) * 1000 for k, a in step.acked.items() if k in counted_at]
    uncounted = len(step.acked) - len(counted)
    kept, queried = figures_against_queries(db, demo.operator_id)
    trigger_drain = (trigger_done or time.time()) - last_send
    figures_drain = (figures_done or time.time()) - last_send
    _, late_last = thirds(step.late_ms)
    late_at_end = percentile(late_last, 0.95) if late_last else 0.0
    reasons = []
    if grew(step.check_ms):
        reasons.append("processed latency grew")
    if late_at_end > LATE_AT_END_MS:
        reasons.append(f"senders {late_at_end / 1000:.1f} s late at the end")
    if trigger_fell_behind(entries, begun_at_end, rate):
        reasons.append(f"session trigger {entries - begun_at_end} entries behind at the last send")
    if trigger_drain > DRAIN_LIMIT:
        reasons.append(f"session trigger done {trigger_drain:.1f} s after the last send")
    if figures_drain > DRAIN_LIMIT:
        reasons.append(f"figures done {figures_drain:.1f} s after the last send")
    if kept != queried:
        reasons.append("the dashboard's figures disagree with the queries")
    checks = [ms for _, ms in step.check_ms]
    every = check_every(rate, args.max_checks_per_second)
    print(
        f"\n--- {rate:g} entries/s for {duration:g} s: {entries} entries, {step.failed} failed; "
        f"the check after {'every entry' if every == 1 else f'every {every}th entry'}"
    )
    print(f"  acknowledgement only                 {summary(step.ack_ms)}")
    print(
        f"  processed: entry ack -> check        {summary(checks)}  "
        f"(answered not_found: {step.not_found})"
    )
    print(
        f"  session trigger: {begun_at_end} begun / {finished_at_end} finished at the last "
        f"send; all {entries} done {trigger_drain:.1f} s after it"
    )
    print(
        f"  entry ack -> counted in the figures  {summary(counted)}; "
        f"done {figures_drain:.1f} s after the last send"
        + (f"; {uncounted} never counted" if uncounted else "")
    )
    print(
        f"  dashboard figures (stays today; inside per facility): kept {kept}, "
        f"queried {queried}: {'agree' if kept == queried else 'DISAGREE'}"
    )
    print(f"  senders' lateness                    {summary([ms for _, ms in step.late_ms])}")
    print(f"  taken: {step.taken_rate(last_send):.1f} entries/s of the {rate:g} offered")
    cold = counter.workers_started()
    print(
        f"  load average {os.getloadavg()[0]:.1f}; emulator workers started during the step "
        f"(cold starts): {sum(cold.values())} {dict(cold) if cold else ''}"
    )
    busy = sum(sending.values()) / max(sending_seconds, 1e-9)
    for line in cpu_account(used, used_seconds, entries, busy, args.idle_cpu):
        print(f"  {line}")
    print(f"  {'GREW (' + '; '.join(reasons) + ')' if reasons else 'steady'}")
    time.sleep(args.settle)
    return not reasons


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.bench_entries", description=__doc__.split("\n\n")[0]
    )
    add_load_arguments(parser, rates="5,10,20,30,40,60", senders=8)
    parser.add_argument(
        "--max-checks-per-second",
        type=float,
        default=20.0,
        help="check every entry up to this rate, every k-th above it (0: every entry)",
    )
    args = parser.parse_args(argv)

    db = connect()
    demo = seed_driver(db, "bench-entries-device")
    hosting = os.environ["HOSTING_URL"]
    print(f"entries bench: {args.senders} senders, load average {os.getloadavg()[0]:.1f} at start")
    print(machine_line())
    print(f"workers warmed up in {warm_up(demo, hosting, args.senders):.0f} s (not measured)")
    Invocations(from_start=True).wait_quiet(quiet=1.0, timeout=60)
    args.idle_cpu = CpuUse().idle()
    print(f"a quiet stack keeps {sum(args.idle_cpu.values()):.2f} cores busy (taken off each step)")
    run_load(args, lambda rate, seconds: one_step(args, demo, db, hosting, rate, seconds))
    print(
        "targets: processed p95 < 500 ms at 20 entries/s for 60 s; a check right after the "
        "acknowledgement never answers not_found; saturation >= 60 entries/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
