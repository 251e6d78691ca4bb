"""The stack's own tests: they start, refuse and stop whole stacks, so they run outside one.

They use this run's PARKINGDONE_PORT_OFFSET, one stack at a time, and `make test` runs them
before the emulator tiers start theirs, so they never meet another stack on their ports.
Inside an emulator stack (`devstack.testrun tests/integration ...`) they refuse to run: their
stacks would need the very ports that stack holds.
"""

from __future__ import annotations

import os

import pytest

from devstack import lifecycle


@pytest.fixture(autouse=True)
def _outside_any_stack() -> None:
    if os.environ.get(lifecycle.STACK_ID_VAR) or os.environ.get("FIRESTORE_EMULATOR_HOST"):
        pytest.fail(
            "tests/lifecycle start stacks of their own: run them outside a stack, with "
            "`python -m devstack.testrun tests/lifecycle` or `python -m pytest tests/lifecycle`"
        )
