"""The `api` HTTP function's Flask app: /api/** (health, enforcement, OpenAPI), one blueprint
per audience. `/api/stripe/webhook` is its own function (parkingdone.payments.webhook).
"""

from __future__ import annotations

from flask import Flask, jsonify

from parkingdone import health
from parkingdone.http import MAX_JSON_BODY_BYTES, create_app


def build_app() -> Flask:
    # No route reads a body; larger ones are refused before routing.
    app = create_app("parkingdone-api", max_body_bytes=MAX_JSON_BODY_BYTES)
    from parkingdone.enforcement.routes import blueprint as enforcement

    app.register_blueprint(enforcement)

    @app.get("/api/health")
    def _health():
        status, body = health.check()
        return jsonify(body), status

    return app


app = build_app()
