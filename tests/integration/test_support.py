"""Support tickets end to end on the emulators: drivers through the deployed callables,
staff and super admins through the dashboard (Flask test client), pushes at the FCM
recorder, the SLA with an injected clock, numbering under concurrency, the CSV export."""

from __future__ import annotations

import csv
import io
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from devstack import demo_data
from tests.integration import admin_support as support
from tests.support.services import call_callable, fcm_messages
from tests.support.waiting import wait_for

DRIVER = demo_data.DRIVER
OP = demo_data.OPERATOR_ID


def _open(data: dict, uid: str = DRIVER.uid, email: str | None = DRIVER.email):
    response = call_callable("openTicket", data, uid=uid, email=email)
    return response


def _opened(data: dict, **kwargs) -> dict:
    response = _open(data, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()["result"]


def _say(ticket_id: str, text: str, uid: str = DRIVER.uid, **extra) -> dict:
    response = call_callable(
        "sendTicketMessage", {"ticketId": ticket_id, "text": text, **extra}, uid=uid
    )
    assert response.status_code == 200, response.text
    return response.json()["result"]


def _ticket(db, ticket_id: str) -> dict:
    return db.document(f"tickets/{ticket_id}").get().to_dict()


def _messages(db, ticket_id: str) -> list[dict]:
    return [
        m.to_dict()
        for m in db.collection(f"tickets/{ticket_id}/messages").order_by("createdAt").stream()
    ]


def _reply(c, ticket_id: str, text: str, status: str | None = None, prefix: str = "/admin"):
    data = {"text": text, "csrf_token": support.csrf(c)}
    if status:
        data["status"] = status
    return c.post(f"{prefix}/tickets/{ticket_id}/messages", data=data)


def test_a_driver_opens_a_ticket_about_their_stay_and_reads_it_back(demo, db):
    stay = support.stay(db, "ABC-123", closed=False)
    result = _opened(
        {"subject": "Gate did not open", "text": "I waited 5 min", "sessionId": stay.session_id}
    )
    assert result["number"] == "DEMO-T-000001" and result["created"] is True
    ticket = _ticket(db, result["ticketId"])
    assert ticket["operatorId"] == OP and ticket["uid"] == DRIVER.uid
    assert (ticket["status"], ticket["priority"], ticket["line"]) == ("open", "normal", "driver")
    assert ticket["plate"] == "ABC123" and ticket["email"] == DRIVER.email
    assert ticket["closedAt"] is None  # retention starts from closedAt
    assert ticket["firstResponseDueAt"] - ticket["createdAt"] == timedelta(hours=24)
    assert [m["text"] for m in _messages(db, result["ticketId"])] == ["I waited 5 min"]
    # Someone else's stay is not theirs to ask about.
    refused = _open({"subject": "x", "text": "y", "sessionId": stay.session_id}, uid="mallory")
    assert refused.status_code == 404
    assert refused.json()["error"]["details"]["reason"] == "session_not_found"
    # The reader the customer profile uses.
    from parkingdone.models import tickets

    mine = tickets.of_driver_at_operator(db, OP, DRIVER.uid)
    assert [t.number for t in mine] == ["DEMO-T-000001"]
    assert tickets.of_driver_at_operator(db, demo_data.OTHER_OPERATOR_ID, DRIVER.uid) == []


def test_bad_input_is_refused_and_writes_nothing(demo, db):
    for data, reason in [
        ({"subject": "x", "text": "y"}, "invalid_argument"),  # no operator, no stay
        ({"subject": "", "text": "y", "operatorId": OP}, "invalid_argument"),
        ({"subject": "x", "text": "y" * 5000, "operatorId": OP}, "invalid_argument"),
        ({"subject": "x", "text": "y", "operatorId": "nobody"}, "operator_not_found"),
        ({"subject": "x", "text": "y", "operatorId": "a/b"}, "invalid_argument"),
        ({"subject": "x", "text": "y", "operatorId": OP, "extra": 1}, "invalid_argument"),
    ]:
        response = _open(data)
        assert response.status_code in (400, 404), (data, response.text)
        assert response.json()["error"]["details"]["reason"] == reason, data
    assert list(db.collection("tickets").stream()) == []
    assert list(db.collection("ticketCounters").stream()) == []
    unsigned = call_callable("openTicket", {"subject": "x", "text": "y", "operatorId": OP})
    assert unsigned.status_code == 401


def test_retried_open_and_send_are_idempotent(demo, db):
    data = {
        "subject": "Receipt",
        "text": "Need a receipt",
        "operatorId": OP,
        "requestId": "r-1234567",
    }
    first, second = _opened(data), _opened(data)
    assert first["ticketId"] == second["ticketId"] and second["created"] is False
    assert db.document(f"ticketCounters/{OP}").get().get("driver") == 1
    _say(first["ticketId"], "Any news?", messageId="msg-1")
    _say(first["ticketId"], "Any news?", messageId="msg-1")
    assert [m["text"] for m in _messages(db, first["ticketId"])] == ["Need a receipt", "Any news?"]


def test_chat_staff_reply_pushes_in_the_drivers_language_and_a_driver_message_reopens(demo, db):
    call_callable(
        "registerPushToken", {"token": "fcm-" + "d" * 40, "platform": "ios"}, uid=DRIVER.uid
    )
    db.document(f"users/{DRIVER.uid}").set({"language": "fi"}, merge=True)
    ticket_id = _opened({"subject": "Wrong fee", "text": "Charged twice", "operatorId": OP})[
        "ticketId"
    ]
    staff = support.sign_in("staff")
    # The staff see the driver's message on the ticket page and its live fragment.
    assert "Charged twice" in staff.get(f"/admin/tickets/{ticket_id}").get_data(as_text=True)
    response = _reply(staff, ticket_id, "We refunded one charge")
    assert response.status_code == 303
    ticket = _ticket(db, ticket_id)
    assert ticket["status"] == "pending" and ticket["firstResponseWithinSla"] is True
    assert ticket["responseDueAt"] is None and ticket["lastMessageSide"] == "support"
    sent = fcm_messages()
    assert len(sent) == 1
    message = sent[0]["body"]["message"]
    assert message["notification"]["title"] == "Uusi vastaus asiakastuelta"
    assert "DEMO-T-000001" in message["notification"]["body"]
    assert message["data"]["ticketId"] == ticket_id and message["data"]["kind"] == "support_reply"
    assert _messages(db, ticket_id)[-1]["pushStatus"] == "sent"
    # The driver writes back: the ticket is open again and staff see it without a reload.
    assert _say(ticket_id, "Thanks, and the other one?")["status"] == "open"
    fragment = staff.get(f"/admin/tickets/{ticket_id}/messages").get_data(as_text=True)
    assert "Thanks, and the other one?" in fragment and 'hx-trigger="every 5s"' in fragment
    listing = staff.get("/admin/tickets", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "new message" in listing and "<html" not in listing
    # A driver's own message pushes nothing; English for an English driver.
    assert len(fcm_messages()) == 1
    db.document(f"users/{DRIVER.uid}").set({"language": "en"}, merge=True)
    _reply(staff, ticket_id, "Refunded too")
    wait_for(lambda: len(fcm_messages()) == 2, timeout=10, what="second push")
    assert fcm_messages()[1]["body"]["message"]["notification"]["title"] == (
        "New reply from support"
    )
    audit = [e.to_dict()["action"] for e in db.collection("auditLog").stream()]
    assert audit.count("ticket.reply") == 2


def test_status_transitions_reopen_and_closed_at(demo, db):
    ticket_id = _opened({"subject": "Card", "text": "Card declined", "operatorId": OP})["ticketId"]
    admin = support.sign_in("admin")

    def set_status(status):
        return admin.post(
            f"/admin/tickets/{ticket_id}/status",
            data={"status": status, "csrf_token": support.csrf(admin)},
        )

    assert _reply(admin, ticket_id, "Try again now", status="resolved").status_code == 303
    ticket = _ticket(db, ticket_id)
    assert ticket["status"] == "resolved" and ticket["resolutionSeconds"] >= 0
    assert _say(ticket_id, "Still declined")["status"] == "open"
    ticket = _ticket(db, ticket_id)
    assert ticket["reopened"] == 1 and ticket["resolvedAt"] is None
    assert ticket["responseDueAt"] is not None  # waiting on support again
    assert set_status("pending").status_code == 303
    assert set_status("closed").status_code == 303
    ticket = _ticket(db, ticket_id)
    assert ticket["status"] == "closed" and ticket["closedAt"] is not None
    refused = set_status("pending")
    assert refused.status_code == 409
    assert "cannot become pending" in refused.get_data(as_text=True)
    assert _say(ticket_id, "Hello again")["status"] == "open"
    ticket = _ticket(db, ticket_id)
    assert ticket["closedAt"] is None and ticket["reopened"] == 2
    # Priority and assignee: a staff user of the operator only.
    response = admin.post(
        f"/admin/tickets/{ticket_id}/priority",
        data={"priority": "critical", "csrf_token": support.csrf(admin)},
    )
    assert response.status_code == 303
    ticket = _ticket(db, ticket_id)
    assert ticket["priority"] == "critical"
    assert ticket["responseDueAt"] - ticket["waitingSince"] == timedelta(hours=1)
    support.ensure_staff()
    ok = admin.post(
        f"/admin/tickets/{ticket_id}/assignee",
        data={"email": support.STAFF.email, "csrf_token": support.csrf(admin)},
    )
    assert ok.status_code == 303 and _ticket(db, ticket_id)["assigneeUid"] == support.STAFF.uid
    for email in (demo_data.OTHER_ADMIN.email, DRIVER.email, "nobody@example.test"):
        bad = admin.post(
            f"/admin/tickets/{ticket_id}/assignee",
            data={"email": email, "csrf_token": support.csrf(admin)},
        )
        assert bad.status_code == 400, email
    assert _ticket(db, ticket_id)["assigneeEmail"] == support.STAFF.email
    # A driver moves the ticket only by writing.
    from parkingdone.callable_api import Caller
    from parkingdone.errors import ApiError
    from parkingdone.support import service

    try:
        service.set_status(db, Caller(DRIVER.uid), ticket_id, "closed")
        raise AssertionError("a driver closed a ticket")
    except ApiError as error:
        assert error.status == 403


def test_sla_breach_and_figures_with_an_injected_clock(demo, db):
    from parkingdone.callable_api import Caller
    from parkingdone.support import figures, service

    t0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    driver = Caller(DRIVER.uid, {"email": DRIVER.email})
    staff = Caller("staff-x", {"role": "operator_staff", "operatorId": OP})

    def opened(subject: str, at: datetime) -> str:
        request = service.OpenTicket(subject=subject, text="help", operator_id=OP)
        return service.open_ticket(db, driver, request, now=at)["ticketId"]

    late, quick, waiting = opened("late", t0), opened("quick", t0), opened("waiting", t0)
    service.set_priority(db, staff, quick, "critical", now=t0)
    assert _ticket(db, quick)["responseDueAt"] == t0 + timedelta(hours=1)
    service.add_message(db, staff, quick, "on it", now=t0 + timedelta(minutes=20))
    assert service.sweep(db, now=t0 + timedelta(hours=23))["breached"] == 0
    counts = service.sweep(db, now=t0 + timedelta(hours=25))
    assert counts["breached"] == 2  # late and waiting passed 24 h unanswered
    for ticket_id in (late, waiting):
        doc = _ticket(db, ticket_id)
        assert doc["slaBreached"] is True and doc["breachedAt"] == t0 + timedelta(hours=24)
    assert service.sweep(db, now=t0 + timedelta(hours=26))["breached"] == 0  # recorded once
    service.add_message(db, staff, late, "sorry", now=t0 + timedelta(hours=30))
    doc = _ticket(db, late)
    assert doc["firstResponseWithinSla"] is False and doc["firstResponseSeconds"] == 30 * 3600
    assert _ticket(db, quick)["firstResponseWithinSla"] is True
    found = figures.full(db, "driver", OP, t0 + timedelta(hours=31))
    assert found.by_status == {"open": 1, "pending": 2, "resolved": 0}
    assert found.open_breaches == 1  # "waiting" still waits past its target
    assert found.answered == 2 and found.within_sla == 1 and found.share_within_sla == 0.5
    assert found.median_first_response_seconds == (20 * 60 + 30 * 3600) // 2
    # An operator's own target applies to its drivers' new tickets.
    db.document(f"operators/{OP}").set({"supportSla": {"normalMinutes": 30}}, merge=True)
    own = _ticket(db, opened("own target", t0))
    assert own["firstResponseDueAt"] == t0 + timedelta(minutes=30)
    # Resolved tickets nobody writes to close by themselves a week later.
    service.add_message(db, staff, waiting, "done", status="resolved", now=t0 + timedelta(days=2))
    assert service.sweep(db, now=t0 + timedelta(days=10))["closed"] == 1
    assert _ticket(db, waiting)["closedAt"] == t0 + timedelta(days=10)


def test_numbers_under_concurrency_have_no_gap_and_no_duplicate(demo, db):
    from parkingdone.callable_api import Caller
    from parkingdone.support import service

    def open_one(i: int) -> str:
        request = service.OpenTicket(subject=f"t{i}", text="hi", operator_id=OP)
        return service.open_ticket(db, Caller(f"driver-{i}"), request)["number"]

    # Four callers at once: the emulator resolves contention on one document by lock
    # timeouts, so more at once mostly measures the emulator (see service._transact).
    with ThreadPoolExecutor(max_workers=4) as pool:
        numbers = list(pool.map(open_one, range(20)))
    # Beside them, the other operator counts on its own.
    other = service.OpenTicket(subject="o", text="hi", operator_id=demo_data.OTHER_OPERATOR_ID)
    assert service.open_ticket(db, Caller("d"), other)["number"] == "OTHER-T-000001"
    assert sorted(numbers) == [f"DEMO-T-{n:06d}" for n in range(1, 21)]
    stored = sorted(
        t.get("seq") for t in db.collection("tickets").stream() if t.get("operatorId") == OP
    )
    assert stored == list(range(1, 21))


def test_operators_line_to_parkingdone(demo, db):
    staff = support.sign_in("staff")
    assert staff.get("/admin/tickets/new").status_code == 200
    response = staff.post(
        "/admin/tickets/new",
        data={
            "subject": "Webhook down",
            "text": "All entries fail since 9:00",
            "priority": "critical",
            "csrf_token": support.csrf(staff),
        },
    )
    assert response.status_code == 303
    (ticket,) = [t for t in db.collection("tickets").stream()]
    data = ticket.to_dict()
    assert data["number"] == "DEMO-P-000001" and data["line"] == "operator"
    assert data["uid"] is None and data["openedBy"] == support.STAFF.uid
    assert data["firstResponseDueAt"] - data["createdAt"] == timedelta(hours=1)
    assert "DEMO-P-000001" in staff.get("/admin/tickets?line=operator").get_data(as_text=True)
    assert "DEMO-P-000001" not in staff.get("/admin/tickets").get_data(as_text=True)
    # The requester may write but not move the ticket; another operator sees nothing.
    refused = staff.post(
        f"/admin/tickets/{ticket.id}/status",
        data={"status": "resolved", "csrf_token": support.csrf(staff)},
    )
    assert refused.status_code == 403
    other = support.sign_in("other_admin")
    assert other.get(f"/admin/tickets/{ticket.id}").status_code == 404
    # ParkingDone (super admin) sees every operator's tickets and answers.
    root = support.sign_in("super")
    queue = root.get("/admin/support-line").get_data(as_text=True)
    assert "DEMO-P-000001" in queue and "Demo Parking" in queue
    page = root.get(f"/admin/tickets/{ticket.id}")
    assert page.status_code == 200 and "All entries fail" in page.get_data(as_text=True)
    assert _reply(root, ticket.id, "Looking now").status_code == 303
    data = _ticket(db, ticket.id)
    assert data["status"] == "pending" and data["firstResponseWithinSla"] is True
    assert fcm_messages() == []  # staff get no pushes
    assert _reply(staff, ticket.id, "Still down").status_code == 303
    assert _ticket(db, ticket.id)["status"] == "open"
    # A super admin does not open tickets to ParkingDone; staff do not see ParkingDone's queue.
    assert root.get("/admin/o/demo/tickets/new").status_code == 403
    assert staff.get("/admin/support-line").status_code == 403
    entries = {e.to_dict()["action"] for e in db.collection("auditLog").stream()}
    assert {"ticket.open", "ticket.reply", "ticket.message"} <= entries


def test_filters_search_and_csv_export(demo, db):
    stay = support.stay(db, "ABC-123", closed=False)
    _opened(
        {"subject": '=HYPERLINK("http://x")', "text": "Gate stuck", "sessionId": stay.session_id}
    )
    second = _opened(
        {"subject": "Refund please", "text": "Double charge", "operatorId": OP},
        uid="bob",
        email="bob@example.test",
    )
    admin = support.sign_in("admin")
    _reply(admin, second["ticketId"], "Done", status="resolved")

    def listed(query: str) -> set[str]:
        page = admin.get(f"/admin/tickets?{query}").get_data(as_text=True)
        return {n for n in ("DEMO-T-000001", "DEMO-T-000002") if n in page}

    assert listed("status=resolved") == {"DEMO-T-000002"}
    assert listed("status=open") == {"DEMO-T-000001"}
    assert listed("priority=critical") == set()
    assert listed("q=DEMO-T-000002") == {"DEMO-T-000002"}
    assert listed("q=1") == {"DEMO-T-000001"}
    assert listed("q=abc+123") == {"DEMO-T-000001"}
    assert listed("q=bob%40example.test") == {"DEMO-T-000002"}
    assert listed("q=double+charge") == {"DEMO-T-000002"}
    assert listed("q=gate") == {"DEMO-T-000001"}
    assert listed("q=nothing+here") == set()
    assert admin.get("/admin/tickets?status=bogus").status_code == 400

    response = admin.get("/admin/tickets.csv?status=open")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.is_streamed
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["number"] for r in rows] == ["DEMO-T-000001"]
    row = rows[0]
    assert row["subject"] == '\'=HYPERLINK("http://x")'  # never run as a formula
    assert row["plate"] == "ABC123" and row["time_zone"] == "Europe/Helsinki"
    assert datetime.fromisoformat(row["created_local"]).utcoffset() in (
        timedelta(hours=2),
        timedelta(hours=3),
    )
    everything = admin.get("/admin/tickets.csv").get_data(as_text=True)
    assert "DEMO-T-000002" in everything and "bob@example.test" in everything
    # Another operator's export holds none of these.
    other = support.sign_in("other_admin").get("/admin/tickets.csv").get_data(as_text=True)
    assert "DEMO-T" not in other


def test_operations_page_support_tile(demo, db):
    _opened({"subject": "a", "text": "b", "operatorId": OP})
    staff = support.sign_in("staff")
    assert 'id="support"' in staff.get("/admin/").get_data(as_text=True)
    tile = staff.get("/admin/fragments/support").get_data(as_text=True)
    assert 'data-support="open"' in tile and 'data-support="breaches"' in tile


def test_gdpr_export_and_deletion_cover_tickets_and_messages(demo, db):
    from parkingdone.accounts import gdpr

    ticket_id = _opened({"subject": "About my data", "text": "hello", "operatorId": OP})["ticketId"]
    exported = call_callable("exportMyData", {}, uid=DRIVER.uid).json()["result"]
    (ticket,) = exported["tickets"]
    assert ticket["subject"] == "About my data" and ticket["messages"][0]["text"] == "hello"
    gdpr.delete_driver_data(db, DRIVER.uid)
    assert not db.document(f"tickets/{ticket_id}").get().exists
    assert list(db.collection(f"tickets/{ticket_id}/messages").stream()) == []
