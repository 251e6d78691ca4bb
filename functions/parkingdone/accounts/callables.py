"""Callable functions of the driver app and the admin dashboard: thin adapters.

Each checks the caller, validates the data with the module's pydantic model and hands off.
Errors reach the app as HttpsError with a code and a message it can show.
"""

from __future__ import annotations

from typing import Any

from firebase_functions import https_fn

from parkingdone import firebase
from parkingdone.accounts import gdpr, push_tokens, roles, vehicles
from parkingdone.accounts.common import caller_of, parse


def register_vehicle(req: https_fn.CallableRequest) -> dict[str, Any]:
    caller = caller_of(req)
    return vehicles.register(firebase.db(), caller, parse(vehicles.RegisterVehicle, req.data))


def remove_vehicle(req: https_fn.CallableRequest) -> dict[str, Any]:
    caller = caller_of(req)
    return vehicles.remove(firebase.db(), caller, parse(vehicles.RemoveVehicle, req.data))


def register_push_token(req: https_fn.CallableRequest) -> dict[str, Any]:
    caller = caller_of(req)
    request = parse(push_tokens.RegisterPushToken, req.data)
    return push_tokens.register(firebase.db(), caller, request)


def remove_push_token(req: https_fn.CallableRequest) -> dict[str, Any]:
    caller = caller_of(req)
    return push_tokens.remove(firebase.db(), caller, parse(push_tokens.RemovePushToken, req.data))


def set_staff_role(req: https_fn.CallableRequest) -> dict[str, Any]:
    caller = caller_of(req)
    return roles.set_role(firebase.db(), caller, parse(roles.SetStaffRole, req.data))


def export_my_data(req: https_fn.CallableRequest) -> dict[str, Any]:
    return gdpr.export(firebase.db(), caller_of(req))


def request_data_deletion(req: https_fn.CallableRequest) -> dict[str, Any]:
    return gdpr.request_deletion(firebase.db(), caller_of(req))
