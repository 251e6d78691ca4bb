"""A credential recalled by the webhook's process is confirmed against the document read in
the event's own transaction (credentials.Confirmation): gone, revoked, expired or of another
kind refuses the request (401); a changed scope or payload format asks for the request to be
handled again; otherwise the stored credential is the one to record use against."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from parkingdone import credentials, errors

NOW = datetime.now(UTC)
HASH = "a" * 64


def _snapshot(**fields):
    data = {
        "kind": "webhook",
        "operatorId": "demo-operator",
        "facilityIds": [],
        "adapter": None,
        "createdAt": NOW - timedelta(days=1),
        **fields,
    }
    return SimpleNamespace(exists=True, id=HASH, to_dict=lambda: dict(data))


def _confirmation() -> credentials.Confirmation:
    recalled = credentials._of(_snapshot())
    db = SimpleNamespace(collection=lambda name: SimpleNamespace(document=lambda i: (name, i)))
    return credentials.Confirmation(db, recalled)


def test_the_stored_credential_is_kept_when_nothing_changed() -> None:
    confirmation = _confirmation()
    assert confirmation.ref == ("credentials", HASH)
    confirmation.check(_snapshot(lastUsedAt=NOW))
    assert confirmation.fresh is not None and confirmation.fresh.last_used_at == NOW


@pytest.mark.parametrize(
    "snapshot",
    [
        None,
        SimpleNamespace(exists=False, id=HASH, to_dict=lambda: None),
        _snapshot(revokedAt=NOW - timedelta(seconds=1)),
        _snapshot(expiresAt=NOW - timedelta(seconds=1)),
        _snapshot(kind="enforcement"),
    ],
    ids=["not read", "deleted", "revoked", "expired", "another kind"],
)
def test_a_credential_no_longer_valid_refuses_the_request(snapshot) -> None:
    confirmation = _confirmation()
    with pytest.raises(errors.ApiError) as refused:
        confirmation.check(snapshot)
    assert refused.value.status == 401 and confirmation.fresh is None


@pytest.mark.parametrize(
    "change",
    [
        {"facilityIds": ["kamppi-p2"]},
        {"adapter": {"fields": {"plate": "vehicle.plate"}}},
        {"operatorId": "someone-else"},
    ],
)
def test_what_the_request_was_parsed_with_changed(change) -> None:
    confirmation = _confirmation()
    with pytest.raises(credentials.CredentialChanged):
        confirmation.check(_snapshot(**change))
    assert confirmation.fresh is None
