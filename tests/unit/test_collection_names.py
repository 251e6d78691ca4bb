"""Every Firestore collection is named once, in its module under models/: a string literal
naming a collection anywhere else in the package fails here (an AST scan of
`.collection("…")` / `.collection_group("…")` calls and of module-level string constants)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from parkingdone import privacy

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "functions" / "parkingdone"
MODELS = PACKAGE / "models"
# Collections planned in the privacy registry whose models the support and disputes features
# add with their code; until then the retention sweep names them itself.
PLANNED = {"messages"}  # tickets/{id}/messages: named by models/tickets.py as MESSAGES


def _model_collections() -> dict[str, str]:
    """collection name -> its models module."""
    found: dict[str, str] = {}
    for path in sorted(MODELS.glob("*.py")):
        module = importlib.import_module(f"parkingdone.models.{path.stem}")
        name = getattr(module, "COLLECTION", None)
        if name is not None:
            assert name not in found, f"{name} is declared in {found.get(name)} and {path.stem}"
            found[name] = path.stem
    return found


def _collection_names() -> set[str]:
    return set(_model_collections()) | set(privacy.BY_NAME)


def _literals_in(source: str, where: str, names: set[str]) -> list[str]:
    """The collection names `source` spells: in module-level string constants and as the
    argument of `.collection(…)` / `.collection_group(…)`."""
    hits: list[str] = []
    tree = ast.parse(source)
    for node in tree.body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign)
            else []
        )
        value = getattr(node, "value", None)
        if (
            targets
            and isinstance(value, ast.Constant)
            and value.value in names
            and value.value not in PLANNED
        ):
            hits.append(f"{where}:{node.lineno} {ast.unparse(targets[0])} = {value.value!r}")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("collection", "collection_group")
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            hits.append(f"{where}:{node.lineno} .{node.func.attr}({node.args[0].value!r})")
    return sorted(hits)


def _literals_outside_models() -> list[str]:
    names = _collection_names()
    hits: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if not path.is_relative_to(MODELS):
            hits += _literals_in(path.read_text(), str(path.relative_to(PACKAGE)), names)
    return hits


def test_no_collection_name_is_spelled_outside_models() -> None:
    hits = _literals_outside_models()
    assert not hits, "name the collection through its models/ module instead:\n" + "\n".join(hits)


def test_every_collection_in_the_privacy_registry_has_its_model_module() -> None:
    modelled = set(_model_collections())
    missing = sorted(set(privacy.BY_NAME) - modelled - PLANNED)
    assert not missing, f"collections without a models/ module: {missing}"
    unregistered = sorted(modelled - set(privacy.BY_NAME))
    assert not unregistered, f"models/ collections missing from privacy.py: {unregistered}"


def test_the_scan_reports_constants_and_calls_but_not_other_strings() -> None:
    source = (
        'SESSIONS = "sessions"\n'
        'STATUS = "open"\n'
        "def f(db):\n"
        '    db.collection("users").document("u").collection("vehicles")\n'
        '    db.collection_group("pushTokens")\n'
        "    db.collection(models.COLLECTION)\n"
    )
    assert _literals_in(source, "m.py", _collection_names()) == [
        "m.py:1 SESSIONS = 'sessions'",
        "m.py:4 .collection('users')",
        "m.py:4 .collection('vehicles')",
        "m.py:5 .collection_group('pushTokens')",
    ]
