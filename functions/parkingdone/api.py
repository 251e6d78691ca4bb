"""The `api` HTTP function's Flask app: every /api/** route, one blueprint per audience."""

from __future__ import annotations

from flask import Flask, jsonify

from parkingdone import health
from parkingdone.http import create_app


def build_app() -> Flask:
    app = create_app("parkingdone-api")
    from parkingdone.enforcement.routes import blueprint as enforcement

    app.register_blueprint(enforcement)
    from parkingdone.payments.webhook import blueprint as stripe_webhook

    app.register_blueprint(stripe_webhook)

    @app.get("/api/health")
    def _health():
        status, body = health.check()
        return jsonify(body), status

    return app


app = build_app()
