"""Install everything the local stack and the tests need, idempotently.

Runs with the system Python and the standard library only, because it creates the
virtualenvs everything else runs in. Each step records a stamp (a hash of its inputs) in
.cache/setup/ and is skipped while its inputs are unchanged, so a second run takes a second.

Steps: the dev virtualenv (.venv), the functions virtualenv (functions/venv) that the
Functions emulator requires, firebase-tools and the dashboard's front-end libraries from
package-lock.json (the libraries' files are copied into public/assets/vendor/, which Hosting
serves: no CDN), Java 21 from PyPI (firebase-tools refuses Java < 21), the launcher JAR that
points firebase-tools at the Firestore emulator already installed with the Google Cloud CLI,
so nothing is downloaded, and Debian's Chromium for the browser tests (apt, as root;
Playwright's own browser download is never used).
On a machine without the Google Cloud CLI emulators, firebase-tools downloads its own.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"
STAMPS = CACHE / "setup"
VENV = ROOT / ".venv"
FUNCTIONS_VENV = ROOT / "functions" / "venv"
LAUNCHER_JAR = CACHE / "emulators" / "firestore-launcher.jar"
GCLOUD_PLATFORM = Path("/usr/lib/google-cloud-sdk/platform")
FIRESTORE_JAR = GCLOUD_PLATFORM / "cloud-firestore-emulator" / "cloud-firestore-emulator.jar"
PUBSUB_BINARY = GCLOUD_PLATFORM / "pubsub-emulator" / "bin" / "cloud-pubsub-emulator"
FIRESTORE_MAIN_CLASS = "com.google.cloud.datastore.emulator.firestore.CloudFirestore"
# Front-end libraries of the admin dashboard: npm package file -> served name.
VENDOR_DIR = ROOT / "public" / "assets" / "vendor"
VENDOR_FILES = {
    "node_modules/htmx.org/dist/htmx.min.js": "htmx.min.js",
    "node_modules/chart.js/dist/chart.umd.min.js": "chart.umd.min.js",
}
CHROMIUM = Path("/usr/lib/chromium/chromium-headless-shell")


def log(message: str) -> None:
    print(f"[setup] {message}", flush=True)


def digest(*paths: Path, extra: str = "") -> str:
    h = hashlib.sha256(extra.encode())
    for path in paths:
        h.update(path.read_bytes() if path.exists() else b"-")
    return h.hexdigest()


def up_to_date(step: str, stamp: str) -> bool:
    path = STAMPS / step
    return path.exists() and path.read_text() == stamp


def mark_done(step: str, stamp: str) -> None:
    STAMPS.mkdir(parents=True, exist_ok=True)
    (STAMPS / step).write_text(stamp)


def run(cmd: list[str], **kwargs) -> None:
    subprocess.run(cmd, check=True, cwd=ROOT, **kwargs)


def step(name: str, stamp: str, action) -> None:
    if up_to_date(name, stamp):
        log(f"{name}: up to date")
        return
    log(f"{name}: installing…")
    started = time.monotonic()
    action()
    mark_done(name, stamp)
    log(f"{name}: done in {time.monotonic() - started:.0f} s")


def make_venv(venv: Path, requirements: Path) -> None:
    if not (venv / "bin" / "python").exists():
        run([sys.executable, "-m", "venv", str(venv)])
    result = subprocess.run(
        [
            str(venv / "bin" / "pip"),
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
            str(requirements),
        ],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    # pip warns once per package about this machine's unused local index folders; keep
    # only the lines that say something.
    noise = ("is ignored: it is neither a file nor a directory",)
    for line in result.stderr.splitlines():
        if not any(n in line for n in noise):
            print(line, file=sys.stderr)
    if result.returncode:
        sys.exit(f"[setup] pip install -r {requirements.name} failed")


def npm_install() -> None:
    if not shutil.which("npm"):
        sys.exit("[setup] npm is required (Node.js 20 or newer) and was not found on PATH")
    run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"])


def copy_vendor_assets() -> None:
    VENDOR_DIR.mkdir(parents=True, exist_ok=True)
    for source, name in VENDOR_FILES.items():
        shutil.copyfile(ROOT / source, VENDOR_DIR / name)


def vendor_assets_present() -> bool:
    return all((VENDOR_DIR / name).exists() for name in VENDOR_FILES.values())


def install_chromium() -> None:
    """Debian's headless Chromium for the Playwright browser tests (apt, needs root)."""
    if CHROMIUM.exists():
        return
    if not shutil.which("apt-get") or os.geteuid() != 0:
        log("browser tests need Chromium: `apt-get install chromium-headless-shell` as root")
        return
    log("installing Debian's chromium-headless-shell for the browser tests (apt-get)")
    run(["apt-get", "update", "-qq"])
    run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium-headless-shell"])


def write_launcher_jar() -> None:
    # A JAR holding only a manifest: `java -jar` then runs the Google Cloud CLI's emulator.
    LAUNCHER_JAR.parent.mkdir(parents=True, exist_ok=True)
    manifest = (
        "Manifest-Version: 1.0\r\n"
        f"Main-Class: {FIRESTORE_MAIN_CLASS}\r\n"
        f"Class-Path: file:{FIRESTORE_JAR}\r\n\r\n"
    )
    with zipfile.ZipFile(LAUNCHER_JAR, "w") as jar:
        jar.writestr("META-INF/MANIFEST.MF", manifest)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 devstack/setup.py",
        description="Set up the ParkingDone development environment (idempotent).",
    )
    parser.add_argument("--force", action="store_true", help="redo every step")
    args = parser.parse_args(argv)
    if args.force and STAMPS.exists():
        shutil.rmtree(STAMPS)

    started = time.monotonic()
    step(
        "dev-venv",
        digest(ROOT / "requirements.txt", ROOT / "functions" / "requirements.txt"),
        lambda: make_venv(VENV, ROOT / "requirements.txt"),
    )
    step(
        "functions-venv",
        digest(ROOT / "functions" / "requirements.txt"),
        lambda: make_venv(FUNCTIONS_VENV, ROOT / "functions" / "requirements.txt"),
    )
    step("firebase-tools", digest(ROOT / "package-lock.json"), npm_install)
    if not vendor_assets_present():
        (STAMPS / "front-end-assets").unlink(missing_ok=True)
    step(
        "front-end-assets",
        digest(ROOT / "package-lock.json", extra=repr(VENDOR_FILES)),
        copy_vendor_assets,
    )
    if FIRESTORE_JAR.exists():
        step("firestore-launcher", digest(extra=str(FIRESTORE_JAR)), write_launcher_jar)
    else:
        log("Google Cloud CLI emulators not found: firebase-tools will download its own")
    step("chromium", digest(extra=str(CHROMIUM)), install_chromium)
    if not CHROMIUM.exists():
        (STAMPS / "chromium").unlink(missing_ok=True)
    log(f"ready in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
