"""The personal-data registry names every collection the package writes, and agrees with the
TTL policies declared in firestore.indexes.json; retention cutoffs follow the policy."""

from __future__ import annotations

import ast
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from parkingdone import privacy, retention

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "functions" / "parkingdone"


def _collection_names_written_by_the_package() -> set[str]:
    """Every name passed to `.collection(...)`: literals, and string constants (NAME or
    module.NAME) defined anywhere in the package."""
    constants: dict[str, set[str]] = {}
    calls: list[ast.expr] = []
    trees = {path: ast.parse(path.read_text()) for path in PACKAGE.rglob("*.py")}
    # `COLLECTION` of each models/ module, for `from parkingdone.models.x import COLLECTION as X`.
    model_names = {
        path.stem: node.value.value
        for path, tree in trees.items()
        if path.parent.name == "models"
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and any(isinstance(t, ast.Name) and t.id == "COLLECTION" for t in node.targets)
    }
    for tree in trees.values():
        for node in tree.body:  # module-level string constants
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        constants.setdefault(target.id, set()).add(node.value.value)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "parkingdone.models."
            ):
                stem = (node.module or "").rsplit(".", 1)[1]
                for alias in node.names:
                    if alias.name == "COLLECTION" and stem in model_names:
                        constants.setdefault(alias.asname or alias.name, set()).add(
                            model_names[stem]
                        )
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "collection"
                and node.args
            ):
                calls.append(node.args[0])
    names: set[str] = set()
    unresolved = []
    for arg in calls:
        if isinstance(arg, ast.Constant):
            names.add(arg.value)
        elif isinstance(arg, ast.Name | ast.Attribute):
            key = arg.id if isinstance(arg, ast.Name) else arg.attr
            if key in constants:
                names |= constants[key]
            else:
                unresolved.append(ast.unparse(arg))
        else:
            unresolved.append(ast.unparse(arg))
    # Variables holding a name that came from the registry itself (loops over it) are fine.
    allowed_dynamic = {"collection", "name", "entry.name", "sub", "SESSIONS", "PAYMENTS"}
    assert not [u for u in unresolved if u not in allowed_dynamic], unresolved
    return names


def test_every_collection_the_package_writes_is_in_the_registry() -> None:
    written = _collection_names_written_by_the_package()
    assert {"sessions", "events", "payments", "users", "gdprRequests"} <= written
    missing = sorted(written - set(privacy.BY_NAME))
    assert not missing, f"collections without a personal-data rule in privacy.py: {missing}"


def test_collections_planned_but_not_built_yet_have_their_rules() -> None:
    assert privacy.get("disputes").driver_fields == ("uid",)
    assert privacy.get("tickets").subcollections == ("messages",)
    assert privacy.get("tickets").retention == "tickets"


def test_a_collection_holding_a_driver_says_what_deletion_does() -> None:
    for entry in privacy.REGISTRY:
        if entry.driver_fields:
            assert entry.on_deletion in ("delete", "anonymise") or entry.name == "gdprRequests"


def test_ttl_fields_match_firestore_indexes_json() -> None:
    overrides = json.loads((ROOT / "firestore.indexes.json").read_text())["fieldOverrides"]
    declared = {o["collectionGroup"]: o["fieldPath"] for o in overrides if o.get("ttl") is True}
    assert declared == privacy.ttl_fields()


def test_default_policy_is_the_promise() -> None:
    now = datetime(2030, 6, 15, 12, tzinfo=UTC)
    cut = retention.cutoffs(retention.DEFAULT, now)
    assert cut.sessions == datetime(2028, 6, 15, 12, tzinfo=UTC)
    assert cut.images == datetime(2028, 12, 15, 12, tzinfo=UTC)
    assert cut.tickets == datetime(2028, 6, 15, 12, tzinfo=UTC)
    # 2023's books were closed on 31 Dec 2023: kept until 1 Jan 2030, so gone by mid-2030.
    assert cut.accounting == datetime(2024, 1, 1, tzinfo=UTC)


def test_months_before_clamps_to_the_end_of_a_shorter_month() -> None:
    assert retention.months_before(datetime(2030, 3, 31, tzinfo=UTC), 1) == datetime(
        2030, 2, 28, tzinfo=UTC
    )


@given(
    now=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2090, 1, 1)).map(
        lambda d: d.replace(tzinfo=UTC)
    ),
    years=st.integers(6, 10),
    month=st.integers(1, 12),
)
def test_accounting_cutoff_keeps_every_year_still_required(now, years, month) -> None:
    cutoff = retention.accounting_cutoff(now, years, month)
    # The cutoff starts a financial year; the year before it ended at least `years` ago...
    assert cutoff.day == 1 and (cutoff.month - 1) % 12 == month % 12
    assert cutoff.replace(year=cutoff.year + years) <= now
    # ...and the year it starts has not: its records are all kept.
    nxt = cutoff.replace(year=cutoff.year + 1)
    assert nxt.replace(year=nxt.year + years) > now


def test_policy_refuses_what_the_law_does_not_allow() -> None:
    with pytest.raises(ValidationError):
        retention.RetentionPolicy(accounting_years=5)
    with pytest.raises(ValidationError):
        retention.RetentionPolicy(sessions_months=12, images_months=18)
    assert retention.RetentionPolicy(sessionsMonths=36).sessions_months == 36
