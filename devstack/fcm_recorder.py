"""A local stand-in for the FCM v1 API: records every send request and answers like FCM.

firebase-admin's real messaging code is pointed here under the emulator (see
parkingdone.notifications), so tests assert the exact FCM v1 requests.
- POST /v1/projects/{project}/messages:send   record; a token starting with "unregistered"
  answers 404 UNREGISTERED, as FCM does for an app that was uninstalled.
- GET /messages[?since=N]                     everything recorded (or after the first N),
                                              oldest first
- DELETE /messages                            forget everything (and end an outage)
- PUT /outage  {"down": true|false}           while down, every send answers 503
                                              UNAVAILABLE (refused, not recorded), as FCM
                                              does during an outage
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from devstack.ports import BASE_PORTS

_lock = threading.Lock()
_messages: list[dict] = []
_outage = {"down": False}


class Handler(BaseHTTPRequestHandler):
    show = False

    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._reply(400, {"error": {"code": 400, "status": "INVALID_ARGUMENT"}})
            return
        if self.path == "/outage":
            with _lock:
                _outage["down"] = bool(body.get("down"))
            self._reply(200, dict(_outage))
            return
        if not self.path.endswith("/messages:send"):
            self._reply(404, {"error": {"code": 404, "status": "NOT_FOUND"}})
            return
        if _outage["down"]:
            self._reply(503, {"error": {"code": 503, "message": "down", "status": "UNAVAILABLE"}})
            return
        message = body.get("message", {})
        token = message.get("token", "")
        with _lock:
            _messages.append({"receivedAt": time.time(), "path": self.path, "body": body})
            number = len(_messages)
        if self.show:
            notification = message.get("notification", {})
            print(
                f"[push] to …{token[-8:]}: {notification.get('title', '')} — "
                f"{notification.get('body', '')}",
                flush=True,
            )
        if token.startswith("unregistered"):
            self._reply(
                404,
                {
                    "error": {
                        "code": 404,
                        "message": "Requested entity was not found.",
                        "status": "NOT_FOUND",
                        "details": [
                            {
                                "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                                "errorCode": "UNREGISTERED",
                            }
                        ],
                    }
                },
            )
            return
        project = self.path.split("/")[3] if self.path.count("/") >= 3 else "local"
        self._reply(200, {"name": f"projects/{project}/messages/{number}"})

    def do_GET(self) -> None:
        # ?since=N lets a poller fetch only what is new instead of the whole history.
        query = parse_qs(urlparse(self.path).query)
        since = int(query.get("since", ["0"])[0] or 0)
        with _lock:
            self._reply(200, {"messages": _messages[since:], "total": len(_messages)})

    def do_PUT(self) -> None:
        self.do_POST()

    def do_DELETE(self) -> None:
        with _lock:
            _messages.clear()
            _outage["down"] = False
        self._reply(200, {})

    def log_message(self, format: str, *args) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=BASE_PORTS["fcm"])
    parser.add_argument("--print", action="store_true", help="print each push as it arrives")
    args = parser.parse_args()
    Handler.show = args.print
    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
