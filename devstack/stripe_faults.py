"""A fault-injecting proxy in front of localstripe, for outage tests of the payment paths.

The functions and tests talk to Stripe through this proxy (STRIPE_API_BASE); it forwards
everything to localstripe (STRIPE_BACKEND_BASE) unless a fault is set:
- POST /_faults {"mode", "method", "path", "times", "holdSeconds"}   set one fault rule
    mode "refuse":      close the connection without forwarding (provider down)
    mode "drop_answer": forward, then close without answering (charge made, answer lost)
    mode "timeout":     forward, then hold the connection holdSeconds (at most 60) and close
    method / path:      which requests it hits (path is a prefix; "" = every request)
    times:              how many requests it hits, then it clears itself (-1 = until cleared)
- GET /_faults     the rule in force and how many requests each mode has hit
- DELETE /_faults  pass everything through again
Loopback only; an outage test's requests are bounded by the test itself.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_HOLD_SECONDS = 60.0

_lock = threading.Lock()
_rule: dict | None = None
_hits: dict[str, int] = {}


def _take_fault(method: str, path: str) -> dict | None:
    """The rule that applies to this request (counted), or None."""
    global _rule
    with _lock:
        rule = _rule
        if rule is None:
            return None
        if rule.get("method") and rule["method"].upper() != method:
            return None
        if not path.split("?")[0].startswith(rule.get("path") or ""):
            return None
        times = int(rule.get("times", -1))
        if times == 0:
            return None
        if times > 0:
            rule["times"] = times - 1
        _hits[rule["mode"]] = _hits.get(rule["mode"], 0) + 1
        return dict(rule)


class Handler(BaseHTTPRequestHandler):
    backend = "http://127.0.0.1:6421"

    def log_message(self, *args) -> None:  # quiet
        return

    def _json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _control(self) -> bool:
        global _rule
        if not self.path.startswith("/_faults"):
            return False
        if self.command == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            rule = json.loads(self.rfile.read(length) or b"{}")
            if rule.get("mode") not in ("refuse", "drop_answer", "timeout"):
                self._json(400, {"error": {"code": "invalid_mode", "message": "unknown mode"}})
                return True
            with _lock:
                _rule = rule
        elif self.command == "DELETE":
            with _lock:
                _rule = None
                _hits.clear()
        with _lock:
            self._json(200, {"rule": _rule, "hits": dict(_hits)})
        return True

    def _forward(self, body: bytes | None) -> tuple[int, list[tuple[str, str]], bytes]:
        request = urllib.request.Request(self.backend + self.path, data=body, method=self.command)
        for name, value in self.headers.items():
            if name.lower() not in ("host", "content-length", "connection"):
                request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, list(answer.headers.items()), answer.read()
        except urllib.error.HTTPError as error:
            return error.code, list(error.headers.items()), error.read()

    def _handle(self) -> None:
        if self._control():
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        fault = _take_fault(self.command, self.path)
        if fault and fault["mode"] == "refuse":
            self.close_connection = True
            return
        status, headers, data = self._forward(body)
        if fault and fault["mode"] == "timeout":
            time.sleep(min(float(fault.get("holdSeconds", 30)), MAX_HOLD_SECONDS))
        if fault:
            self.close_connection = True
            return
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _handle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--backend", required=True, help="localstripe's base address")
    args = parser.parse_args()
    Handler.backend = args.backend.rstrip("/")
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
