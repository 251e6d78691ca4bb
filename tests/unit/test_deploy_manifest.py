"""What `firebase deploy` reads from functions/main.py: which function holds which secret."""

from __future__ import annotations

import inspect

import yaml

# firebase deploy imports main.py and asks firebase-functions for this manifest.
from firebase_functions.private.serving import functions_as_yaml


def _manifest() -> dict:
    import main

    functions = {
        name: function
        for name, function in inspect.getmembers(main, inspect.isfunction)
        if hasattr(function, "__firebase_endpoint__")
    }
    return yaml.safe_load(functions_as_yaml(functions))


def _secrets(endpoint: dict) -> list[str]:
    return sorted(s["key"] for s in endpoint.get("secretEnvironmentVariables") or [])


def test_only_the_stripe_webhook_function_holds_the_webhook_secret():
    endpoints = _manifest()["endpoints"]
    holders = [n for n, e in endpoints.items() if "STRIPE_WEBHOOK_SECRET" in _secrets(e)]
    assert holders == ["stripeWebhook"]
    assert _secrets(endpoints["stripeWebhook"]) == ["STRIPE_WEBHOOK_SECRET"]
    assert _secrets(endpoints["api"]) == []
    assert "httpsTrigger" in endpoints["stripeWebhook"]
    assert endpoints["stripeWebhook"]["region"] == ["europe-west1"]
