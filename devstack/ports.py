"""The local stack's port layout, and which process holds a port.

Every port of a stack is its base port plus PARKINGDONE_PORT_OFFSET. Valid offsets are the
multiples of OFFSET_STEP from 0 to MAX_OFFSET. The base ports are chosen so that two stacks at
any two valid offsets never share a port: base ports with the same last digit lie more than
MAX_OFFSET apart, and ports with different last digits can never meet by shifting both by
multiples of 10. tests/unit/test_ports.py proves it for every pair of valid offsets.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
from dataclasses import dataclass
from pathlib import Path

OFFSET_STEP = 10
MAX_OFFSET = 990

# Hosting, Functions, Firestore, Auth and Pub/Sub keep the emulators' well-known ports at
# offset 0 (clients and docs rely on them). The others end in a digit of their own, and stay
# out of WORKER_PORTS, where the Functions emulator picks a free port for each Python worker
# (so a running stack's workers can sit on a port another stack would need).
BASE_PORTS = {
    "hosting": 5000,
    "functions": 5001,
    "firestore": 8080,
    "auth": 9099,
    "pubsub": 8085,
    "hub": 4402,
    "logging": 4503,
    "eventarc": 9294,
    "tasks": 9496,
    "firestore-websocket": 9155,
    # Stand-ins outside the Firebase Emulator Suite.
    "storage": 9197,
    "stripe": 6421,
    "stripe_proxy": 6423,
    "fcm": 9398,
}
# firebase-tools: portfinder from 8081 + a random 0..999, upwards to the first free port.
WORKER_PORTS = range(8081, 9081)


class PortOffsetError(ValueError):
    """PARKINGDONE_PORT_OFFSET is not one of the offsets the layout keeps apart."""


def check_offset(offset: int) -> int:
    if offset % OFFSET_STEP or not 0 <= offset <= MAX_OFFSET:
        raise PortOffsetError(
            f"PARKINGDONE_PORT_OFFSET must be a multiple of {OFFSET_STEP} from 0 to "
            f"{MAX_OFFSET} (got {offset}): only those offsets keep two stacks' ports apart"
        )
    return offset


def port_offset() -> int:
    raw = os.environ.get("PARKINGDONE_PORT_OFFSET", "0").strip() or "0"
    try:
        offset = int(raw)
    except ValueError:
        raise PortOffsetError(
            f"PARKINGDONE_PORT_OFFSET must be a whole number (got {raw!r})"
        ) from None
    return check_offset(offset)


def ports(offset: int | None = None) -> dict[str, int]:
    shift = port_offset() if offset is None else check_offset(offset)
    return {name: port + shift for name, port in BASE_PORTS.items()}


def is_free(port: int) -> bool:
    """True when this machine could start a server on 127.0.0.1:port right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Sockets still in TIME_WAIT from a stack that just stopped do not count as busy.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


@dataclass(frozen=True)
class Holder:
    pid: int
    command: str

    def __str__(self) -> str:
        return f"pid {self.pid}: {self.command}"


def listeners(port: int) -> list[Holder]:
    """The processes listening on TCP `port` (Linux /proc; empty where it cannot be read)."""
    inodes = _listening_inodes(port)
    if not inodes:
        return []
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            for fd in (proc / "fd").iterdir():
                with contextlib.suppress(OSError):
                    link = os.readlink(fd)
                    if link.startswith("socket:[") and link[8:-1] in inodes:
                        found.append(Holder(int(proc.name), command_line(int(proc.name))))
                        break
    return sorted(found, key=lambda holder: holder.pid)


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                    inodes.add(inode)
    return inodes


def command_line(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()[:160]


def busy_ports(port_map: dict[str, int]) -> dict[str, int]:
    return {name: port for name, port in port_map.items() if not is_free(port)}


def describe_busy(busy: dict[str, int]) -> str:
    """One line per busy port: what the stack wanted it for and who holds it."""
    lines = []
    for name, port in busy.items():
        holders = listeners(port)
        held_by = "; ".join(map(str, holders)) if holders else "holder not visible"
        lines.append(f"  port {port} ({name}) is in use by {held_by}")
    return "\n".join(lines)
