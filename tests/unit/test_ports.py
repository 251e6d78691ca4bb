"""The port layout: two stacks at any two valid offsets never share a port."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devstack import ports

ROOT = Path(__file__).resolve().parents[2]
VALID_OFFSETS = list(range(0, ports.MAX_OFFSET + 1, ports.OFFSET_STEP))


def test_the_public_ports_stay_where_the_emulators_put_them():
    assert {name: ports.ports(0)[name] for name in ("hosting", "functions", "firestore")} == {
        "hosting": 5000,
        "functions": 5001,
        "firestore": 8080,
    }
    assert (ports.ports(0)["auth"], ports.ports(0)["pubsub"]) == (9099, 8085)


def test_no_two_valid_offsets_share_a_port():
    # Exhaustive: 100 offsets, 4,950 pairs.
    taken: dict[int, tuple[int, str]] = {}
    for offset in VALID_OFFSETS:
        for name, port in ports.ports(offset).items():
            assert port not in taken, f"{name} at offset {offset} meets {taken[port]}"
            taken[port] = (offset, name)


@given(
    st.sampled_from(VALID_OFFSETS),
    st.sampled_from(VALID_OFFSETS),
)
def test_two_stacks_share_no_port_unless_they_are_the_same_stack(first, second):
    shared = set(ports.ports(first).values()) & set(ports.ports(second).values())
    assert (not shared) == (first != second)


def test_a_stack_uses_each_port_once_and_every_port_is_a_user_port():
    for offset in (0, ports.MAX_OFFSET):
        values = list(ports.ports(offset).values())
        assert len(values) == len(set(values))
        # Below Linux's ephemeral range, where outgoing connections take their ports.
        assert all(1024 < port < 32768 for port in values)


def test_only_firestore_and_pubsub_lie_where_function_workers_take_ports():
    # The Functions emulator gives each Python worker a free port in WORKER_PORTS; a worker of
    # one stack can therefore hold a port of a stack not yet started. Only the two ports the
    # emulators fix at 8080 and 8085 are exposed to that; every port we choose stays clear.
    exposed = {
        name
        for offset in VALID_OFFSETS
        for name, port in ports.ports(offset).items()
        if port in ports.WORKER_PORTS
    }
    assert exposed == {"firestore", "pubsub"}


def test_the_colliding_layout_of_old_is_gone():
    # Offset 200 used to put Auth (9099 + 200) on eventarc (9299) of the stack at offset 0.
    assert not set(ports.ports(0).values()) & set(ports.ports(200).values())


@pytest.mark.parametrize("offset", [5, 205, -10, 1000, 3080])
def test_offsets_outside_the_layout_are_refused_with_the_rule(offset, monkeypatch):
    monkeypatch.setenv("PARKINGDONE_PORT_OFFSET", str(offset))
    with pytest.raises(ports.PortOffsetError, match=r"multiple of 10 from 0 to 990"):
        ports.port_offset()


@given(st.integers(min_value=-5000, max_value=5000))
def test_an_offset_is_valid_exactly_when_it_is_a_step_within_the_bound(offset):
    valid = offset in VALID_OFFSETS
    try:
        ports.check_offset(offset)
    except ports.PortOffsetError:
        assert not valid
    else:
        assert valid


def test_a_non_number_offset_is_refused(monkeypatch):
    monkeypatch.setenv("PARKINGDONE_PORT_OFFSET", "ten")
    with pytest.raises(ports.PortOffsetError, match="whole number"):
        ports.port_offset()


def test_firebase_json_holds_the_layout_at_offset_zero():
    from devstack.stack import FIREBASE_PORTS

    emulators = json.loads((ROOT / "firebase.json").read_text())["emulators"]
    for name, (emulator, key) in FIREBASE_PORTS.items():
        assert emulators[emulator][key] == ports.BASE_PORTS[name], name


def test_a_listening_socket_makes_its_port_busy_and_names_this_process():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert not ports.is_free(port)
        assert ports.busy_ports({"hosting": port}) == {"hosting": port}
        described = ports.describe_busy({"hosting": port})
    assert f"port {port} (hosting) is in use by pid {os.getpid()}" in described
    assert ports.is_free(port)
