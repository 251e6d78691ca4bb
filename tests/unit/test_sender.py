"""The load generators' HTTP client: one keep-alive connection per sender, opened again when
the server closed it, answers parsed as JSON, failures named (devstack.benchlib.Sender)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from devstack.benchlib import Answer, Sender, SendFailed


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Hosting answers

    def _answer(self, status: int, body: bytes, close: bool = False) -> None:
        # Noted before answering: the client may read `seen` as soon as it has the answer.
        self.server.seen.append((self.command, self.path, self.client_address[1]))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        sent = json.loads(self.rfile.read(length))
        kind = self.headers["Content-Type"]
        self._answer(202, json.dumps({"echo": sent, "type": kind}).encode())

    def do_GET(self) -> None:
        if self.path.startswith("/close"):
            self._answer(200, b'{"closing": true}', close=True)
        elif self.path.startswith("/drop"):
            # Answers as keep-alive, then drops the connection (an idle timeout).
            self._answer(200, b'{"dropping": true}')
            self.close_connection = True
        elif self.path.startswith("/text"):
            self._answer(500, b"Internal Server Error")
        else:
            self._answer(200, json.dumps({"path": self.path}).encode())

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.seen = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _base(server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def test_requests_share_one_connection_and_answers_are_parsed(server) -> None:
    sender = Sender(_base(server))
    posted = sender.post_json("/webhook", {"plate": "ABC-123"}, {"Authorization": "Bearer t"})
    assert posted == Answer(202, {"echo": {"plate": "ABC-123"}, "type": "application/json"})
    got = sender.get_json("/api/check/ABC%201", {"facility": "kamppi p1"}, {})
    assert got.ok and got.body == {"path": "/api/check/ABC%201?facility=kamppi+p1"}
    failed = sender.get_json("/text", {}, {})
    assert failed == Answer(500, None) and not failed.ok  # a body that is not JSON
    ports = {port for _, _, port in server.seen}
    assert len(server.seen) == 3 and len(ports) == 1  # one keep-alive connection


def test_a_connection_the_server_closed_is_opened_again(server) -> None:
    sender = Sender(_base(server))
    assert sender.get_json("/close", {}, {}).body == {"closing": True}
    assert sender.get_json("/after", {}, {}).body == {"path": "/after"}
    first, second = server.seen[0][2], server.seen[1][2]
    assert first != second


def test_a_keep_alive_connection_the_server_dropped_is_replaced_once(server) -> None:
    sender = Sender(_base(server))
    assert sender.get_json("/drop", {}, {}).body == {"dropping": True}
    assert sender.post_json("/webhook", {"n": 2}, {}).body["echo"] == {"n": 2}
    assert [command for command, _, _ in server.seen] == ["GET", "POST"]  # sent once
    assert server.seen[0][2] != server.seen[1][2]


def test_no_answer_is_a_send_failure() -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), _Handler) as closed:
        port = closed.server_address[1]
    with pytest.raises(SendFailed):
        Sender(f"http://127.0.0.1:{port}", timeout=2).get_json("/", {}, {})
