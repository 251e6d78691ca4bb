"""Callable functions of the driver app and the admin dashboard: thin adapters.

Each validates the data with the module's pydantic model and hands off; the caller and the
errors are parkingdone.callable_api's job.
"""

from __future__ import annotations

from typing import Any

from parkingdone import firebase
from parkingdone.accounts import gdpr, push_tokens, roles, vehicles
from parkingdone.callable_api import Caller, handler, parse


@handler
def register_vehicle(caller: Caller, data: Any) -> dict[str, Any]:
    return vehicles.register(firebase.db(), caller, parse(vehicles.RegisterVehicle, data))


@handler
def remove_vehicle(caller: Caller, data: Any) -> dict[str, Any]:
    return vehicles.remove(firebase.db(), caller, parse(vehicles.RemoveVehicle, data))


@handler
def register_push_token(caller: Caller, data: Any) -> dict[str, Any]:
    request = parse(push_tokens.RegisterPushToken, data)
    return push_tokens.register(firebase.db(), caller, request)


@handler
def remove_push_token(caller: Caller, data: Any) -> dict[str, Any]:
    return push_tokens.remove(firebase.db(), caller, parse(push_tokens.RemovePushToken, data))


@handler
def set_staff_role(caller: Caller, data: Any) -> dict[str, Any]:
    return roles.set_role(firebase.db(), caller, parse(roles.SetStaffRole, data))


@handler
def export_my_data(caller: Caller, data: Any) -> dict[str, Any]:
    return gdpr.export(firebase.db(), caller)


@handler
def request_data_deletion(caller: Caller, data: Any) -> dict[str, Any]:
    return gdpr.request_deletion(firebase.db(), caller)
