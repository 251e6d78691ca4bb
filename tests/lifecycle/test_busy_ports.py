"""A stack starts only on ports that are free, and only takes an answer from its own services."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from devstack import lifecycle, ports, stack
from tests.lifecycle.runner import Runner, wait_until_ports_free


@pytest.fixture
def taken_port():
    """Occupy this run's storage stand-in port, as a stack left behind would."""
    port = ports.ports()["storage"]
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))
        server.listen()
        yield port


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["devstack.run"], id="make-run"),
        pytest.param(["devstack.testrun", "tests/integration/test_foundation.py"], id="testrun"),
        pytest.param(["devstack.benchrun", "ingest"], id="benchrun"),
    ],
)
def test_runners_refuse_a_taken_port_naming_it_before_starting_anything(taken_port, command):
    started = time.monotonic()
    runner = Runner(*command)
    try:
        code = runner.wait(timeout=60)
    finally:
        runner.cleanup()

    assert code != 0
    assert f"port {taken_port} (storage) is in use by pid {os.getpid()}" in runner.output
    assert "nothing was started" in runner.output
    assert runner.stack_id is None  # refused before a stack existed
    others = {name: p for name, p in ports.ports().items() if name != "storage"}
    assert ports.busy_ports(others) == {}
    assert time.monotonic() - started < 30  # no emulator start was attempted


@pytest.mark.parametrize("module", ["devstack.run", "devstack.testrun", "devstack.benchrun"])
def test_runners_refuse_an_offset_that_could_collide(module):
    runner = Runner(module, env={"PARKINGDONE_PORT_OFFSET": "205"})
    try:
        code = runner.wait(timeout=60)
    finally:
        runner.cleanup()
    assert code != 0
    assert "PARKINGDONE_PORT_OFFSET must be a multiple of 10 from 0 to 990 (got 205)" in (
        runner.output
    )


def test_a_stand_in_port_answered_by_another_process_is_not_taken_for_ours(taken_port):
    # Past the start-up check (the port was taken just after it, say): the storage stand-in
    # cannot bind, and the process that answers on its port is not ours.
    running = stack.Stack()
    try:
        with pytest.raises(lifecycle.StackError, match=rf"port {taken_port} \(storage\)"):
            running.start_side_services()
    finally:
        left = running.stop()
    assert left == [f"port {taken_port} (storage) still in use"]  # the stranger's, not ours
    assert lifecycle.processes_of(running.id) == []
    assert (
        wait_until_ports_free({"stripe": running.ports["stripe"], "fcm": running.ports["fcm"]})
        == {}
    )


class _OtherStacksHealth(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"status": "ok", "version": "x", "stack": "another-stack"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:
        pass


def test_a_health_answer_from_another_stack_is_refused():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OtherStacksHealth)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(lifecycle.StackError, match="answered by another stack"):
            stack.wait_for_functions(
                {"hosting": server.server_address[1]}, timeout=10, stack_id="ours"
            )
    finally:
        server.shutdown()
        server.server_close()
