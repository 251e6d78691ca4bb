"""What the end-to-end benchmarks share: the stack's environment, the demo tenant with a
registered driver and a phone, registered plates, the FCM recorder, percentiles, the
invocations read from the emulator's log and the CPU account read from /proc.

Used by the entries, pipeline, push and ingest benchmarks. Not a benchmark itself
(benchrun runs only devstack/bench_*.py).
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import sys
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from devstack import stack


def ensure_env(*, secrets: bool = False) -> None:
    """This process talks to the running stack's emulators (and imports the functions'
    code); `secrets` also loads the local stack's secrets (webhook tokens, Stripe)."""
    for key, value in stack.service_env().items():
        os.environ.setdefault(key, value)
    if secrets:
        os.environ.update(stack.local_secrets())
    functions = str(stack.ROOT / "functions")
    if functions not in sys.path:
        sys.path.insert(0, functions)


def connect() -> Any:
    """The Firestore client, once the stack's functions answer."""
    ensure_env(secrets=True)
    from parkingdone.firebase import db

    stack.wait_for_functions()
    return db()


def seed_driver(db: Any, push_token: str) -> Any:
    """The demo tenant (demo_data.seed) with its driver's phone registered for pushes."""
    from devstack import demo_data
    from parkingdone.notifications.sender import token_id

    demo = demo_data.seed(db)
    db.collection("users").document(demo.driver_uid).collection("pushTokens").document(
        token_id(push_token)
    ).set({"token": push_token, "platform": "android", "updatedAt": datetime.now(UTC)})
    return demo


def register_plates(db: Any, uid: str, plates: list[str]) -> None:
    """Register the plates to the driver `uid` (plateOwners), 400 to a batch."""
    now = datetime.now(UTC)
    for start in range(0, len(plates), 400):
        batch = db.batch()
        for plate in plates[start : start + 400]:
            batch.set(
                db.collection("plateOwners").document(plate),
                {"uid": uid, "plate": plate, "plateRaw": plate, "country": "FI", "since": now},
            )
        batch.commit()


class Recorder:
    """The FCM recorder: the FCM v1 requests our functions sent, each with its receivedAt."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or os.environ["FCM_RECORDER_URL"]
        self.http = requests.Session()

    def clear(self) -> None:
        self.http.delete(f"{self.url}/messages", timeout=5).raise_for_status()

    def total(self) -> int:
        """How many requests it holds (a mark for `since`)."""
        answer = self.http.get(f"{self.url}/messages", params={"since": 10**9}, timeout=5)
        return int(answer.json()["total"])

    def since(self, mark: int) -> list[dict]:
        """Requests recorded after the first `mark` (only the new ones travel)."""
        answer = self.http.get(f"{self.url}/messages", params={"since": mark}, timeout=5)
        return answer.json()["messages"]


class SendFailed(Exception):
    """A sender's request got no answer (connection refused or lost, timeout)."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # the parsed JSON body, None when it is not JSON

    @property
    def ok(self) -> bool:
        return self.status < 400


class Sender:
    """The HTTP client of one load-generating thread: one keep-alive connection to the stack
    (http.client), opened again when the server has closed it while idle.

    The senders share the machine's cores with the stack they load, so what they spend per
    request is taken from the stack: a `requests` session spent several times the CPU per
    request of a bare connection (its adapters, cookie jar, header merging and URL parsing).
    Only requests that are safe to send twice are sent again (the webhook's entries and exits
    carry their event id; checks only read)."""

    def __init__(self, base_url: str, timeout: float = 60) -> None:
        url = urllib.parse.urlsplit(base_url)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.timeout = timeout
        self._connection: http.client.HTTPConnection | None = None

    def post_json(self, path: str, body: Any, headers: dict[str, str]) -> Answer:
        data = json.dumps(body, separators=(",", ":")).encode()
        return self._send("POST", path, data, {**headers, "Content-Type": "application/json"})

    def get_json(self, path: str, params: dict[str, str], headers: dict[str, str]) -> Answer:
        query = urllib.parse.urlencode(params)
        return self._send("GET", f"{path}?{query}" if query else path, None, headers)

    def _send(self, method: str, path: str, data: bytes | None, headers: dict) -> Answer:
        for attempt in (1, 2):
            reused = self._connection is not None
            if self._connection is None:
                self._connection = http.client.HTTPConnection(
                    self.host, self.port, timeout=self.timeout
                )
            try:
                self._connection.request(method, path, body=data, headers=headers)
                response = self._connection.getresponse()
                raw = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.close()
                if reused and attempt == 1:
                    continue  # the server closed the idle connection: a new one
                raise SendFailed(repr(exc)) from exc
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise SendFailed(repr(exc)) from exc
            if response.will_close:
                self.close()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            return Answer(response.status, body)
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class Senders:
    """One `Sender` per thread, to the same base URL."""

    def __init__(self, base_url: str, timeout: float = 60) -> None:
        self.base_url, self.timeout = base_url, timeout
        self._local = threading.local()

    def mine(self) -> Sender:
        if not hasattr(self._local, "sender"):
            self._local.sender = Sender(self.base_url, self.timeout)
        return self._local.sender


def officer_check(sender: Sender, facility_id: str, plate: str) -> tuple[str, float]:
    """An enforcement officer's check of a plate, as the app makes it: "found" (any answer
    about the car), "not_found" or "failed" (an error status or no answer), and the instant
    it answered."""
    try:
        answer = sender.get_json(
            f"/api/enforcement/check/{urllib.parse.quote(plate)}",
            {"facility": facility_id},
            {"x-api-key": "demo-enforcement-key"},
        )
    except SendFailed:
        return "failed", time.time()
    seen = time.time()
    if not answer.ok:
        return "failed", seen
    status = (answer.body or {}).get("status")
    return ("not_found" if status == "not_found" else "found"), seen


def push_data(message: dict) -> dict:
    """The data payload of a recorded FCM request."""
    return ((message.get("body") or {}).get("message") or {}).get("data") or {}


class Invocations:
    """Function invocations counted from the Functions emulator's own log: the "Beginning
    execution of" lines in firebase-debug.log after this object was made."""

    def __init__(self, path: Path | None = None, from_start: bool = False) -> None:
        """Counts from now on, or (`from_start`) every invocation of the running stack."""
        self.path = path or Path(stack.ROOT) / "firebase-debug.log"
        # Held open: firebase-tools deletes the log when a stack exits cleanly, and another
        # stack of the same checkout stopping would otherwise take this one's log with it.
        self.log = self.path.open("rb") if self.path.exists() else None
        self.offset = self.log.seek(0, 0 if from_start else 2) if self.log else 0

    def since_start(self) -> Counter:
        """Invocations begun since, per function (its short name)."""
        return self._scan()[0]

    def workers_started(self) -> Counter:
        """Workers the emulator started since, per function (each a cold start)."""
        started: Counter = Counter()
        for text in self._lines():
            if "addWorker(" in text:
                started[text.split("addWorker(", 1)[1].split(")", 1)[0].rsplit("-", 1)[-1]] += 1
        return started

    def handler_ms(self) -> dict[str, list[float]]:
        """The session trigger's time per handler since, from its `sessions.dispatched` log
        lines: {handler: [ms, ...]}."""
        found: dict[str, list[float]] = {}
        decoder = json.JSONDecoder()
        for text in self._lines():
            if '"sessions.dispatched"' not in text or "{" not in text:
                continue
            try:
                entry, _ = decoder.raw_decode(text, text.index("{"))
            except ValueError:
                continue
            for name, ms in (entry.get("ms") or {}).items():
                found.setdefault(name, []).append(float(ms))
        return found

    def _lines(self) -> Iterator[str]:
        """The emulator's log lines written since this object was made."""
        if self.log is None:
            if not self.path.exists():
                return
            self.log = self.path.open("rb")  # written since this object was made
        self.log.seek(self.offset)
        for line in self.log:
            yield line.decode("utf-8", "replace")

    def wait_quiet(self, quiet: float = 2.0, timeout: float = 90.0) -> None:
        """Wait until every invocation begun since the start has finished and none has begun
        for `quiet` seconds (the work an event set off, trailing triggers included)."""
        deadline = time.time() + timeout
        last, since = None, time.time()
        while time.time() < deadline:
            begun, finished = self._scan()
            now = (sum(begun.values()), finished)
            if now != last:
                last, since = now, time.time()
            elif now[0] <= now[1] and time.time() - since >= quiet:
                return
            time.sleep(0.2)

    def _scan(self) -> tuple[Counter, int]:
        """Begun per function, and how many ended: finished, failed or timed out (the
        emulator logs no "Finished" line for the last two)."""
        begun, finished, lost = self._count()
        return begun, sum(finished.values()) + lost

    def per_function(self) -> tuple[Counter, Counter]:
        """Invocations begun and finished since, per function (its short name)."""
        begun, finished, _ = self._count()
        return begun, finished

    def _count(self) -> tuple[Counter, Counter, int]:
        """One pass over the log: begun and finished per function, and the requests that
        failed or timed out."""
        begun: Counter = Counter()
        finished: Counter = Counter()
        lost = 0
        for text in self._lines():
            if "Request to function failed" in text or "Your function timed out" in text:
                lost += 1
                continue
            for marker, counter in (('Beginning execution of "', begun), ('Finished "', finished)):
                if marker in text:
                    name = text.split(marker, 1)[1].split('"', 1)[0]
                    counter[name.rsplit("-", 1)[-1]] += 1
                    break
        return begun, finished, lost


CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_TARGET = b"FUNCTION_TARGET="  # how the Functions emulator tells a worker its function


def component_of(cmdline: str, function_target: str | None, is_benchmark: bool) -> str:
    """What a process of the stack is, for the CPU account: a function's workers by name,
    the emulators, the benchmark's own senders, or "other" (the payment provider's and the
    push service's stand-ins, shells)."""
    if is_benchmark:
        return "benchmark senders"
    if function_target:
        return f"function {function_target}"
    if "java" in cmdline and "firestore" in cmdline.lower():
        return "Firestore emulator"
    if "java" in cmdline and "pubsub" in cmdline.lower():
        return "Pub/Sub emulator"
    if "node" in cmdline and "firebase" in cmdline:
        return "firebase-tools (Hosting, Functions, Auth, Tasks, Storage)"
    return "other"


def _parent_and_ticks(stat: str) -> tuple[int, int]:
    """The parent pid and utime + stime of a /proc/<pid>/stat line (the command, in
    parentheses, may contain spaces)."""
    fields = stat[stat.rfind(")") + 2 :].split()
    return int(fields[1]), int(fields[11]) + int(fields[12])


class CpuUse:
    """CPU time the stack's processes used since `start()`, per component:
    what the machine's cores spend on each entry. Read from /proc; when the benchmark was
    not started by the stack (a run against a stack started elsewhere), every process on the
    machine counts."""

    def __init__(self, proc: Path = Path("/proc")) -> None:
        self.proc = proc
        self.before: dict[int, tuple[str, int]] = {}
        self.wall = 0.0

    def _processes(self) -> dict[int, tuple[int, int, str, str | None]]:
        """pid -> (parent pid, CPU ticks so far, cmdline, FUNCTION_TARGET) of every readable
        process."""
        found: dict[int, tuple[int, int, str, str | None]] = {}
        for entry in self.proc.iterdir() if self.proc.exists() else ():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                environ = (entry / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            target = next(
                (e[len(_TARGET) :].decode() for e in environ if e.startswith(_TARGET)), None
            )
            found[int(entry.name)] = (*_parent_and_ticks(stat), cmdline, target)
        return found

    def _stack_root(self, processes: dict) -> int | None:
        """The outermost ancestor of this process that belongs to the stack (the devstack
        launcher or firebase-tools): everything under it is the stack."""
        root, pid = None, os.getpid()
        while pid in processes and pid > 1:
            parent, _, cmdline, _ = processes[pid]
            if "devstack" in cmdline or "firebase" in cmdline:
                root = pid
            pid = parent
        return root

    def sample(self) -> dict[int, tuple[str, int]]:
        """pid -> (component, CPU ticks so far) of the stack's processes."""
        processes = self._processes()
        root = self._stack_root(processes)
        children: dict[int, list[int]] = {}
        for pid, (parent, _, _, _) in processes.items():
            children.setdefault(parent, []).append(pid)
        members, todo = set(), [root] if root is not None else []
        while todo:
            pid = todo.pop()
            members.add(pid)
            todo.extend(children.get(pid, ()))
        me = os.getpid()
        components = {
            pid: component_of(cmdline, target, pid == me)
            for pid, (_, _, cmdline, target) in processes.items()
        }
        if not any(components[pid].startswith("firebase-tools") for pid in members):
            members = set(processes)  # the stack was started elsewhere
        return {pid: (components[pid], processes[pid][1]) for pid in members}

    def start(self) -> None:
        self.before, self.wall = self.sample(), time.time()

    def idle(self, seconds: float = 5.0) -> dict[str, float]:
        """Cores each component keeps busy on a quiet stack (timers, polling, the emulators'
        own housekeeping), measured over `seconds`: taken off a step's account."""
        self.start()
        time.sleep(seconds)
        used, wall = self.since_start()
        return {name: spent / wall for name, spent in used.items()}

    def since_start(self) -> tuple[dict[str, float], float]:
        """CPU seconds per component since `start()`, and the wall-clock seconds. A process
        started since counts in full; one that ended since is not counted."""
        return used_between(self.before, self.sample()), time.time() - self.wall


def used_between(
    before: dict[int, tuple[str, int]], after: dict[int, tuple[str, int]]
) -> dict[str, float]:
    """CPU seconds per component between two samples (a pid whose component changed is a
    new process: it counts in full)."""
    used: dict[str, float] = {}
    for pid, (component, ticks) in after.items():
        earlier = before.get(pid)
        spent = ticks - earlier[1] if earlier and earlier[0] == component else ticks
        used[component] = used.get(component, 0.0) + max(0, spent) / CLOCK_TICKS
    return used


def cpu_account(
    used: dict[str, float],
    seconds: float,
    entries: int,
    busy_cores: float,
    idle: dict[str, float] | None = None,
) -> list[str]:
    """The lines of the CPU account of `entries` entries, `used` over `seconds`: the cores
    busy while they were sent, the ms per entry per component (largest first, the work behind
    them included, a quiet stack's own use over those seconds taken off), and the rate at
    which that cost fills every core of the machine."""
    idle = idle or {}
    cores = os.cpu_count() or 1
    spent = {name: max(0.0, s - idle.get(name, 0.0) * seconds) for name, s in used.items()}
    total = sum(spent.values())
    if not entries or total <= 0:
        return ["CPU: not measured"]
    per_entry = {name: 1000 * s / entries for name, s in spent.items()}
    ours = sum(ms for name, ms in per_entry.items() if name.startswith("function "))
    lines = [
        f"CPU: {busy_cores:.2f} of {cores} cores busy while sending; "
        f"{1000 * total / entries:.1f} ms per entry, {ours:.1f} of it in our functions: "
        f"{cores} cores carry at most {cores * entries / total:.0f} entries/s at this cost"
        + (f" (a quiet stack's {sum(idle.values()):.2f} cores taken off)" if idle else "")
    ]
    for name, ms in sorted(per_entry.items(), key=lambda item: -item[1]):
        if ms >= 0.05:
            lines.append(f"    {ms:6.1f} ms  {name}")
    return lines


def machine_reference_ms(rounds: int = 3) -> float:
    """How fast this machine runs Python today: the best of `rounds` timings of a fixed
    workload on one core (encoding and decoding a session-like document 20,000 times).

    The same stack and command have cost 30 ms of CPU per entry on one day and 46 on another
    on machines of the same kind: printed beside a run's figures, this tells a slower
    machine from a slower stack."""
    document = {
        "plate": "ABC123",
        "facilityId": "kamppi-p1",
        "status": "open",
        "entry": {"at": "2026-11-29T08:00:00+00:00", "eventId": "ev_0123456789abcdef"},
        "fees": [{"minutes": minute, "amount": minute * 5} for minute in range(20)],
    }
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(20000):
            json.loads(json.dumps(document))
        best = min(best, time.process_time() - started)
    return best * 1000


def machine_line() -> str:
    """The machine reference as a benchmark prints it before its figures."""
    return (
        f"machine: the reference workload took {machine_reference_ms():.0f} ms of CPU "
        "(devstack/benchlib.py: lower is a faster machine)"
    )


def add_load_arguments(parser: Any, *, rates: str, senders: int) -> None:
    """The options of an open-loop load benchmark: a sustained run, then rate steps."""
    parser.add_argument("--rates", default=rates, help="entries/s of the steps, comma-separated")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per step")
    parser.add_argument(
        "--sustained", type=float, default=20.0, help="rate of the long run first (0: none)"
    )
    parser.add_argument("--sustained-duration", type=float, default=60.0)
    parser.add_argument("--senders", type=int, default=senders, help="concurrent requests at most")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds to let triggers finish")


def run_load(args: Any, one_rate: Any) -> None:
    """The sustained run, then each step; prints the saturation rate (the highest step
    `one_rate(rate, seconds)` reported steady)."""
    if args.sustained:
        print(f"\nsustained: {args.sustained:g} entries/s for {args.sustained_duration:g} s")
        one_rate(args.sustained, args.sustained_duration)
    rates = [float(r) for r in args.rates.split(",") if r.strip()]
    steady = [rate for rate in rates if one_rate(rate, args.duration)]
    print(
        f"\nsaturation: highest steady step {max(steady) if steady else 0:g} entries/s "
        f"(steps {', '.join(f'{r:g}' for r in rates)}; steady: "
        f"{', '.join(f'{r:g}' for r in steady) or 'none'}); "
        f"load average {os.getloadavg()[0]:.1f} at the end"
    )


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summary(values: list[float]) -> str:
    """ "p50 … ms  p95 … ms  max … ms  n=…" of millisecond values."""
    if not values:
        return "none"
    return (
        f"p50 {statistics.median(values):.0f} ms  p95 {percentile(values, 0.95):.0f} ms  "
        f"max {max(values):.0f} ms  n={len(values)}"
    )
