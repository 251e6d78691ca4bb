"""The driver app's support callables: thin adapters onto support.service."""

from __future__ import annotations

from typing import Any

from parkingdone import firebase
from parkingdone.callable_api import Caller, handler, parse
from parkingdone.support import service


@handler
def open_ticket(caller: Caller, data: Any) -> dict[str, Any]:
    request = parse(service.OpenTicket, data)
    if request.priority != "normal":
        # Support sets priority; a driver's ticket starts normal.
        request = request.model_copy(update={"priority": "normal"})
    return service.open_ticket(firebase.db(), caller, request, line="driver")


@handler
def send_ticket_message(caller: Caller, data: Any) -> dict[str, Any]:
    request = parse(service.SendMessage, data)
    return service.add_message(
        firebase.db(), caller, request.ticket_id, request.text, message_id=request.message_id
    )
