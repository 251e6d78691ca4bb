"""Every deployed ParkingDone function, declared. No logic here: each hands off to the package.

Importing this module must not touch the network: `firebase deploy` imports it to discover
the functions.
"""

from firebase_functions import https_fn, options
from flask import Response

from parkingdone import config
from parkingdone.http import dispatch

# Explicit cpu: set_global_options without it silently selects gen1 CPU sizing.
options.set_global_options(
    region=config.REGION,
    cpu=1,
    memory=options.MemoryOption.MB_512,
    concurrency=80,
    max_instances=20,
)


# --- HTTP: one function per audience ------------------------------------------------------


@https_fn.on_request()
def api(request: https_fn.Request) -> Response:
    """/api/**: health, enforcement, Stripe webhook, OpenAPI document."""
    from parkingdone.api import app

    return dispatch(app, request)


# --- ingestion and sessions -----------------------------------------------------------------


# --- payments --------------------------------------------------------------------------------


# --- enforcement -----------------------------------------------------------------------------


# --- driver app: accounts and notifications --------------------------------------------------
