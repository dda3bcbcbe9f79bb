"""The packages' layers: no import runs from a lower layer up to a higher one.

From the bottom: `core`; the tables (`app/<package>/models.py`) and the audit trail; the
ledger (the running totals' write side); the domains, among them the read-only `stats` and
the VNeID client `vneid`, which imports no domain but `accounts`; the entry points (`main`,
`cli`, `web`, `seed`, the model registry). The mock VNeID stands apart, an outside system that
shares only `core` with the tracker.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"
ENTRY_POINTS = {"main", "cli", "web", "seed", "models"}
# The domains that write learners' records, certificates and the catalogue: the ledger and
# the read side may use their tables, nothing else of theirs.
WRITERS = {"catalog", "certificates", "imports", "learners", "sync", "training", "me", "vneid"}


def _module(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """Every module of the app this file imports, at any depth of its code."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "app":
                yield from ((node.lineno, f"app.{alias.name}") for alias in node.names)
            elif node.module.startswith("app."):
                # `from app.ledger import totals` imports the module app.ledger.totals.
                yield from ((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Import):
            yield from ((node.lineno, a.name) for a in node.names if a.name.startswith("app."))


def _is_table(module: str) -> bool:
    return module.split(".")[-1] == "models" and module != "app.models"


def _allowed(source: str, target: str) -> bool:
    """Whether `source` may import `target` (both dotted module paths under `app`)."""
    src, dst = source.split(".")[1], target.split(".")[1]
    if _is_table(source):
        return dst == "core" or _is_table(target)
    if src == dst:
        return True
    if src == "core":
        return False
    if src == "vneid_mock" or dst == "vneid_mock":
        return dst == "core" or src in {"main", "cli", "seed", "models"}
    if src == "audit":
        return dst == "core" or _is_table(target)
    if src == "ledger":
        return dst in {"core", "audit"} or _is_table(target)
    if src == "vneid":
        # The VNeID client, which learners, certificates and citizens' pages call.
        return dst in {"core", "audit", "accounts"} or _is_table(target)
    if dst in ENTRY_POINTS:
        return src in ENTRY_POINTS and src != "models"
    if src == "stats":
        return dst not in WRITERS or _is_table(target)
    return True


def upward_imports() -> list[str]:
    found = []
    for path in sorted(APP.rglob("*.py")):
        source = _module(path)
        for line, target in _imports(path):
            # `from app.stats.models import StatTotal` names a class, not a module: the
            # module is what the rule judges, and it is the dotted path's first three parts
            # at most (app.<package>.<module>).
            module = ".".join(target.split(".")[:3])
            if not _allowed(source, module):
                found.append(f"{path.relative_to(APP.parent)}:{line}: {source} -> {module}")
    return found


def test_no_import_runs_up_the_layers() -> None:
    assert upward_imports() == []


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("app.core.db", "app.learners.models"),
        ("app.ledger.totals", "app.certificates.issuance"),
        ("app.ledger.totals", "app.stats.service"),
        ("app.stats.service", "app.learners.service"),
        ("app.vneid_mock.router", "app.certificates.credentials"),
        ("app.training.service", "app.web.forms"),
        ("app.learners.models", "app.learners.service"),
        ("app.vneid.schemas", "app.learners.schemas"),
    ],
)
def test_the_rule_refuses_an_upward_arrow(source: str, target: str) -> None:
    assert not _allowed(source, target)


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("app.ledger.totals", "app.learners.models"),
        ("app.stats.service", "app.ledger.versions"),
        ("app.certificates.issuance", "app.ledger.totals"),
        ("app.vneid_mock.router", "app.core.vneid_wire"),
        ("app.learners.router", "app.vneid.deps"),
        ("app.web.dashboards", "app.stats.service"),
    ],
)
def test_the_rule_lets_a_downward_arrow_through(source: str, target: str) -> None:
    assert _allowed(source, target)
