"""The one trigger on sessions/{sessionId}: each write goes to the handlers it really needs.

A trigger invocation costs far more than the work most handlers do, so one function reads the
change and calls only what it asks for, and a handler's own write-back (evidence recorded, a
payment outcome) does not wake the others:

- evidence copy: only when the session names an image not yet recorded;
- entry push and free-period reminder: only when an open stay of a registered driver is created;
- charging: only on the change to "closed" (a stay created closed included);
- correction: only when the pairing marked a charged stay as changed (`correctionPending`);
- enforcement projection: only when a field it reads changed outside the webhook's own
  transaction (payment, fee, driver, plate); the webhook already wrote it for the pairing;
- dashboard figures and activity feed: when the stay was created or deleted or a field a
  figure counts or the feed shows changed (status, facility, createdAt, entry, exit, plate,
  the payment's status or amounts). A write stamped with its commit time (the webhook's
  pairing, the charge) only asks the figures pump for a run (admin/figures_pump.py, no
  Firestore call) while the trigger is busy (sessions/trigger_load.py). A quiet trigger
  counts such a write here, after the others, as it does any other write and a deletion.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from firebase_functions import logger

# What the projection mirrors of a session and only other writers change.
PROJECTED_ELSEWHERE = ("payment", "fee", "driverUid", "plate")
# What the dashboard's figures count of a session and of its payment summary.
COUNTED = ("status", "createdAt", "operatorId", "facilityId")
COUNTED_PAYMENT = ("status", "paymentId", "amount", "refundedAmount", "paidAt")
# What the dashboard's activity feed shows of a session besides the counted fields.
FED = ("entry", "exit", "plate", "plateRaw")


def needs_evidence(after: dict[str, Any]) -> bool:
    from parkingdone.sessions import evidence

    return bool(evidence.pending(after))


def needs_entry_push(before: dict[str, Any] | None, after: dict[str, Any]) -> bool:
    return before is None and after.get("status") == "open" and bool(after.get("driverUid"))


def needs_charge(before: dict[str, Any] | None, after: dict[str, Any]) -> bool:
    if after.get("status") != "closed":
        return False
    if before is None:
        # Created closed by the pairing (a late event split a stay). A session imported
        # closed by other means is history, not a stay to charge.
        return after.get("pairingSeq") is not None
    return before.get("status") != "closed"


def needs_correction(before: dict[str, Any] | None, after: dict[str, Any]) -> bool:
    return bool(after.get("correctionPending")) and not (before or {}).get("correctionPending")


def written_outside_pairing(before: dict[str, Any] | None, after: dict[str, Any]) -> bool:
    """A session created or re-paired by something other than the webhook's pairing (an import,
    an operator's tool): the plate's track must take it in from the session documents."""
    if before is None:
        return after.get("pairingSeq") is None
    paired_fields = ("status", "entry", "exit")
    changed = any(before.get(f) != after.get(f) for f in paired_fields)
    return changed and before.get("pairingSeq") == after.get("pairingSeq")


def projection_keys(before: dict[str, Any] | None, after: dict[str, Any]) -> list[tuple[str, bool]]:
    """(plate, resync) whose projection must be refreshed; resync when the plate's track must
    be rebuilt from its sessions (a session moved in, or written outside the pairing)."""
    if not all(after.get(k) for k in ("operatorId", "facilityId", "plate")):
        return []
    if written_outside_pairing(before, after):
        return [(after["plate"], True)]
    if before is None or all(before.get(f) == after.get(f) for f in PROJECTED_ELSEWHERE):
        return []
    keys = [(after["plate"], before.get("plate") != after.get("plate"))]
    if before.get("plate") and before.get("plate") != after.get("plate"):
        keys.append((before["plate"], False))
    return keys


def needs_figures(before: dict[str, Any] | None, after: dict[str, Any] | None) -> bool:
    if before is None or after is None:
        return before is not None or after is not None
    if any(before.get(f) != after.get(f) for f in COUNTED + FED):
        return True
    paid_before, paid_after = before.get("payment") or {}, after.get("payment") or {}
    return any(paid_before.get(f) != paid_after.get(f) for f in COUNTED_PAYMENT)


def figures_by_pump(before: dict[str, Any] | None, after: dict[str, Any] | None) -> bool:
    """The write carries a new commit-time stamp: the figures pump will read it."""
    stamp = (after or {}).get("changedAt")
    return stamp is not None and stamp != (before or {}).get("changedAt")


def figures_handler(
    before: dict[str, Any] | None, after: dict[str, Any] | None, busy: bool = True
) -> list[str]:
    """The pump for a stamped write while the trigger is busy; else the trigger counts it."""
    if not needs_figures(before, after):
        return []
    return ["figures_pump"] if busy and figures_by_pump(before, after) else ["figures"]


def handlers(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    """The names of the handlers a change needs, in the order they run (pure)."""
    if not after:
        # A deleted session (retention, a correction tool): its plate's track forgets it.
        keys = ("operatorId", "facilityId", "plate")
        return ["projection"] if before and all(before.get(k) for k in keys) else []
    names = []
    if needs_evidence(after):
        names.append("evidence")
    if needs_entry_push(before, after):
        names.append("entry_push")
    if needs_charge(before, after):
        names.append("charge")
    if needs_correction(before, after):
        names.append("correction")
    if projection_keys(before, after):
        names.append("projection")
    return names


def on_session_written(
    session_id: str, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> list[str]:
    """Run the handlers the change needs; returns their names (for logs and tests)."""
    from parkingdone.sessions import trigger_load

    stamp = (after or {}).get("changedAt")
    busy = trigger_load.busy(written_at=stamp if isinstance(stamp, datetime) else None)
    names = handlers(before, after) + figures_handler(before, after, busy)
    spent: dict[str, float] = {}
    for name in names:
        started = time.perf_counter()
        try:
            _run(name, session_id, before, after or {})
        except Exception as exc:
            # Each handler records its own failures for a retry; this only keeps one handler's
            # bug from starving the others.
            logger.error(
                "sessions.handler_failed", handler=name, sessionId=session_id, error=repr(exc)
            )
        spent[name] = round((time.perf_counter() - started) * 1000, 1)
    if spent:
        # The trigger receives its events one at a time: its time per handler is what every
        # later event waits for (the pipeline benchmark reads these lines).
        logger.info("sessions.dispatched", sessionId=session_id, busy=busy, ms=spent)
    return names


def _run(name: str, session_id: str, before: dict[str, Any] | None, after: dict[str, Any]) -> None:
    if name == "evidence":
        from parkingdone.sessions import evidence

        evidence.on_session_written(session_id, after)
    elif name == "entry_push":
        from parkingdone.notifications import session_pushes

        session_pushes.on_session_created(session_id, after)
    elif name == "charge":
        from parkingdone.payments import charging

        charging.on_session_closed(session_id, after)
    elif name == "correction":
        from parkingdone.payments import charging

        charging.correct_session(session_id)
    elif name == "figures_pump":
        from parkingdone.admin import figures_pump

        figures_pump.request(after["operatorId"])
    elif name == "figures":
        from parkingdone.admin import aggregates

        try:
            aggregates.on_session_written(session_id)
        except Exception:
            if not figures_by_pump(before, after):
                raise
            # A stamped write the quiet trigger could not count (its transaction gave up):
            # the pump reads it.
            from parkingdone.admin import figures_pump

            figures_pump.request(after["operatorId"])
            raise
    elif name == "projection" and not after:
        from parkingdone.enforcement import triggers

        assert before is not None
        triggers.refresh_plates(
            before["operatorId"], before["facilityId"], [(before["plate"], True)], session_id
        )
    elif name == "projection":
        from parkingdone.enforcement import triggers

        triggers.refresh_plates(
            after["operatorId"], after["facilityId"], projection_keys(before, after), session_id
        )
