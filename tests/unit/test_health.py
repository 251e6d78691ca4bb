"""What /api/health says of the local stack, decided without Firestore."""


def test_health_names_the_local_stack_under_the_emulators_only(monkeypatch):
    from parkingdone import health

    monkeypatch.setenv("PARKINGDONE_STACK_ID", "5eed")
    monkeypatch.setenv("FUNCTIONS_EMULATOR", "true")
    assert health._local_stack() == {"stack": "5eed"}
    # Deployed, the variable means nothing: the answer never carries it.
    monkeypatch.delenv("FUNCTIONS_EMULATOR")
    assert health._local_stack() == {}
