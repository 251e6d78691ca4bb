"""Which operator's portal a request is for: `/admin/o/{slug}/…` locally,
`{slug}.parkingdone.com/admin/…` in production (chosen by host name).

A WSGI wrapper moves the portal prefix into SCRIPT_NAME, so every route is written once
(`/sessions`) and `url_for` keeps the user inside the portal they came through.

A super admin's client preview has its own prefix, `/admin/preview/{previewId}/…`
(admin/preview.py): every page of the operator as its admin sees it, read-only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

PORTAL_DOMAINS = ("parkingdone.com", "parkingdone.test")
SLUG_KEY = "parkingdone.portal_slug"
PREVIEW_KEY = "parkingdone.preview_id"
_PREVIEW_PATH = re.compile(r"^/admin/preview/([A-Za-z0-9]{1,64})(/.*)?$")
_PATH_PORTAL = re.compile(r"^/admin/o/([a-z0-9][a-z0-9-]{0,62})(/.*)?$")
_HOST_PORTAL = re.compile(
    r"^([a-z0-9][a-z0-9-]{0,62})\.(?:"
    + "|".join(re.escape(d) for d in PORTAL_DOMAINS)
    + r")(?::\d+)?$"
)
# Host names that are the platform itself, not an operator's portal.
RESERVED = frozenset({"www", "admin", "api", "app"})


def slug_from_host(host: str) -> str | None:
    """The portal slug in a host name (`demo.parkingdone.com` -> `demo`), else None."""
    match = _HOST_PORTAL.match((host or "").strip().lower())
    if match is None or match.group(1) in RESERVED:
        return None
    return match.group(1)


def split_path(path: str) -> tuple[str, str, str | None] | None:
    """(prefix, rest, slug) for an /admin path; None for anything else."""
    match = _PREVIEW_PATH.match(path)
    if match:
        return f"/admin/preview/{match.group(1)}", match.group(2) or "/", None
    match = _PATH_PORTAL.match(path)
    if match:
        return f"/admin/o/{match.group(1)}", match.group(2) or "/", match.group(1)
    if path == "/admin" or path.startswith("/admin/"):
        return "/admin", path[len("/admin") :] or "/", None
    return None


def wrap(wsgi_app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    def portal_app(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        split = split_path(environ.get("PATH_INFO", "") or "/")
        if split is not None:
            prefix, rest, slug = split
            host = environ.get("HTTP_X_FORWARDED_HOST") or environ.get("HTTP_HOST", "")
            environ["SCRIPT_NAME"] = prefix
            environ["PATH_INFO"] = rest
            environ[SLUG_KEY] = slug or slug_from_host(host.split(",")[0])
            if prefix.startswith("/admin/preview/"):
                environ[SLUG_KEY] = None
                environ[PREVIEW_KEY] = prefix.rsplit("/", 1)[1]
        return wsgi_app(environ, start_response)

    return portal_app
