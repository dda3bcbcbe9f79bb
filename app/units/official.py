"""The official list of administrative units, as reference data with a version.

The list comes from the `vietnam-provinces` package (the statistics office's codes). A database
records which package version and data date its units were loaded from; moving a database to a
newer list renumbers every stored commune code, matched by province and name, never by code
alone (a number may now name another commune). This module uses SQLAlchemy Core only, so the
migration that moves a database can call it whatever the models look like later.
"""

import contextlib
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import vietnam_provinces
from sqlalchemy.engine import Connection
from vietnam_provinces import Province as PackageProvince
from vietnam_provinces import Ward as PackageWard

from app.core.text import fold
from app.core.types import UTCDateTime

UNITS_SOURCE = "vietnam-provinces"
# Vietnamese tone marks: their place inside a syllable varies between sources ("Thuỷ"/"Thủy",
# "Hoà"/"Hòa") without changing the name, so names are compared without it.
_TONES = frozenset("\u0300\u0301\u0303\u0309\u0323")
# Marks that may be typed differently for the same name.
_LOOKALIKES = str.maketrans({"’": "'", "‘": "'", "–": "-", "—": "-"})


@dataclass(frozen=True)
class UnitsVersion:
    version: str
    data_date: str

    def __str__(self) -> str:
        return f"{UNITS_SOURCE} {self.version} ({self.data_date})"


@dataclass(frozen=True)
class OfficialCommune:
    code: str
    province_code: str
    name: str
    division_type: str
    codename: str


@dataclass(frozen=True)
class OfficialProvince:
    code: str
    name: str
    division_type: str
    codename: str


def installed_version() -> UnitsVersion:
    """The version and data date of the unit list this code carries."""
    return UnitsVersion(vietnam_provinces.__version__, vietnam_provinces.__data_version__)


def province_code_of(value: object) -> str:
    return f"{int(value):02d}"  # type: ignore[call-overload]


def commune_code_of(value: object) -> str:
    return f"{int(value):05d}"  # type: ignore[call-overload]


def official_provinces() -> list[OfficialProvince]:
    return [
        OfficialProvince(
            code=province_code_of(p.code),
            name=p.name,
            division_type=str(p.division_type.value),
            codename=p.codename,
        )
        for p in PackageProvince.iter_all()
    ]


def official_communes() -> list[OfficialCommune]:
    return [
        OfficialCommune(
            code=commune_code_of(w.code),
            province_code=province_code_of(w.province_code),
            name=w.name,
            division_type=str(w.division_type.value),
            codename=w.codename,
        )
        for w in PackageWard.iter_all()
    ]


def name_key(name: str) -> tuple[str, tuple[str, ...]]:
    """What makes two spellings of a unit's name the same name.

    Case, spacing, apostrophe and dash variants and where a syllable's tone mark sits do not
    count; the letters (ă, â, ê, ô, ơ, ư, đ) and each syllable's tone do: "Văn Lăng" and
    "Văn Lãng" are two communes of one province.
    """
    letters: list[str] = []
    tones: list[str] = []
    for syllable in name.translate(_LOOKALIKES).lower().split():
        decomposed = unicodedata.normalize("NFD", syllable)
        tones.append("".join(c for c in decomposed if c in _TONES))
        letters.append(
            unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONES))
        )
    return " ".join(letters), tuple(tones)


class UnmatchedUnits(Exception):
    """Stored communes that the official list has no commune for, by province and name."""

    def __init__(self, unmatched: Sequence[tuple[str, str, str]]) -> None:
        self.unmatched = list(unmatched)
        listed = "; ".join(
            f"{code} {name} (province {province})" for code, province, name in unmatched
        )
        super().__init__(
            f"{len(unmatched)} stored commune(s) match no commune of the official list by "
            f"province and name, so nothing was changed: {listed}"
        )


def plan_recoding(
    stored: Iterable[tuple[str, str, str]], official: Sequence[OfficialCommune]
) -> dict[str, str]:
    """Old code → new code for every stored commune whose code changes.

    `stored` is (code, province code, name) of each stored commune. Raises `UnmatchedUnits`
    when any of them has no commune of the same province and name in `official`.
    """
    by_name = {(c.province_code, name_key(c.name)): c.code for c in official}
    moves: dict[str, str] = {}
    unmatched = []
    for code, province, name in stored:
        new_code = by_name.get((province, name_key(name)))
        if new_code is None:
            unmatched.append((code, province, name))
        elif new_code != code:
            moves[code] = new_code
    if unmatched:
        raise UnmatchedUnits(unmatched)
    return moves


def _commune_columns(connection: Connection) -> list[tuple[str, str, str | None]]:
    """(table, column, level column) of every stored commune code outside `commune` itself.

    Every column named `commune_code` (or `default_commune_code`) holds one; the running totals,
    their versions and the targets hold one in a unit column on the rows of the commune level.
    """
    inspector = sa.inspect(connection)
    found: list[tuple[str, str, str | None]] = []
    for table in inspector.get_table_names():
        for column in inspector.get_columns(table):
            name = str(column["name"])
            if name in ("commune_code", "default_commune_code") and table != "commune":
                found.append((table, name, None))
    unit_columns: list[tuple[str, str, str | None]] = [
        ("stat_total", "unit_code", "level"),
        ("target", "scope_code", "level"),
        ("stat_version", "scope", None),
    ]
    found.extend(entry for entry in unit_columns if inspector.has_table(entry[0]))
    return found


@contextlib.contextmanager
def _audit_trail_renumbered(connection: Connection) -> Iterator[None]:
    """Let the audit trail's unit columns follow a renumbering, then make it append-only again.

    The trail itself records that it happened (`units.recode`).
    """
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        connection.exec_driver_sql(
            "ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"
        )
    else:
        connection.exec_driver_sql("DROP TRIGGER IF EXISTS audit_event_no_update")
    yield
    if postgres:
        connection.exec_driver_sql("ALTER TABLE audit_event ENABLE TRIGGER USER")
    else:
        connection.exec_driver_sql(
            "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
            "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
        )


def _rename(connection: Connection, moves: dict[str, str], columns: Any) -> None:
    """Point every stored code in `moves`' keys at its value, one statement per column."""
    if not moves:
        return
    for table, column, level in columns:
        target = sa.table(table, sa.column(column), *([sa.column(level)] if level else []))
        stored = target.c[column]
        condition = stored.in_(list(moves))
        if level is not None:
            condition = sa.and_(condition, target.c[level] == "commune")
        connection.execute(
            target.update().where(condition).values({column: sa.case(moves, value=stored)})
        )


def recode_communes(
    connection: Connection,
    *,
    provinces: Sequence[OfficialProvince],
    communes: Sequence[OfficialCommune],
) -> dict[str, str]:
    """Move a database's communes to this official list; answers old code → new code.

    Each stored commune is matched by province and name; if any does not match, nothing is
    changed. Codes change through temporary ones, so a number that now names another commune
    (or a rotation of three) never meets itself; every table's foreign keys hold throughout.
    Names and types are brought to the list's spelling, so seeding afterwards changes nothing.
    """
    commune = sa.table(
        "commune",
        sa.column("code"),
        sa.column("province_code"),
        sa.column("name"),
        sa.column("division_type"),
        sa.column("codename"),
        sa.column("name_folded"),
    )
    province = sa.table(
        "province",
        sa.column("code"),
        sa.column("name"),
        sa.column("division_type"),
        sa.column("codename"),
        sa.column("name_folded"),
    )
    stored = connection.execute(
        sa.select(commune.c.code, commune.c.province_code, commune.c.name)
    ).all()
    moves = plan_recoding([(r.code, r.province_code, r.name) for r in stored], communes)
    for p in provinces:
        values = {
            "name": p.name,
            "division_type": p.division_type,
            "codename": p.codename,
            "name_folded": fold(p.name),
        }
        connection.execute(province.update().where(province.c.code == p.code).values(values))
    if moves:
        with _audit_trail_renumbered(connection):
            _renumber(connection, commune, moves, communes)
    for c in communes:
        connection.execute(
            commune.update().where(commune.c.code == c.code).values(_commune_values(c))
        )
    return moves


def _renumber(
    connection: Connection,
    commune: Any,
    moves: dict[str, str],
    communes: Sequence[OfficialCommune],
) -> None:
    columns = _commune_columns(connection)
    temporary = {old: f"~{i:04d}" for i, old in enumerate(sorted(moves))}
    rows = {row.code: row for row in connection.execute(sa.select(commune)).all()}
    for old, temp in temporary.items():
        connection.execute(commune.insert().values({**rows[old]._mapping, "code": temp}))
    _rename(connection, temporary, columns)
    connection.execute(commune.delete().where(commune.c.code.in_(list(temporary))))
    official = {c.code: c for c in communes}
    for new in moves.values():
        connection.execute(commune.insert().values(code=new, **_commune_values(official[new])))
    _rename(connection, {temp: moves[old] for old, temp in temporary.items()}, columns)
    connection.execute(commune.delete().where(commune.c.code.in_(list(temporary.values()))))


def _commune_values(c: OfficialCommune) -> dict[str, str]:
    return {
        "province_code": c.province_code,
        "name": c.name,
        "division_type": c.division_type,
        "codename": c.codename,
        "name_folded": fold(c.name),
    }


reference_data = sa.table(
    "reference_data",
    sa.column("name"),
    sa.column("version"),
    sa.column("data_date"),
    sa.column("loaded_at", UTCDateTime()),
)


def loaded_version(connection: Connection) -> UnitsVersion | None:
    """The unit list this database was last loaded from, if it was recorded."""
    if not sa.inspect(connection).has_table("reference_data"):
        return None
    row = connection.execute(
        sa.select(reference_data.c.version, reference_data.c.data_date).where(
            reference_data.c.name == UNITS_SOURCE
        )
    ).first()
    return None if row is None else UnitsVersion(row.version, row.data_date)


def record_version(connection: Connection, version: UnitsVersion) -> None:
    """Record that this database's units are those of `version`."""
    connection.execute(reference_data.delete().where(reference_data.c.name == UNITS_SOURCE))
    connection.execute(
        reference_data.insert().values(
            name=UNITS_SOURCE,
            version=version.version,
            data_date=version.data_date,
            loaded_at=datetime.now(UTC),
        )
    )


def record_recoding(connection: Connection, moves: dict[str, str], version: UnitsVersion) -> None:
    """Leave in the audit trail that the units moved to `version`, and which codes changed."""
    event = sa.table(
        "audit_event",
        sa.column("at", UTCDateTime()),
        sa.column("actor_id"),
        sa.column("action"),
        sa.column("target_type"),
        sa.column("target_id"),
        sa.column("outcome"),
        sa.column("detail", sa.JSON()),
    )
    connection.execute(
        event.insert().values(
            at=datetime.now(UTC),
            actor_id="system",
            action="units.recode",
            target_type="units",
            target_id=UNITS_SOURCE,
            outcome="success",
            detail={"version": str(version), "moved": moves},
        )
    )


def require_loaded_version(connection: Connection) -> None:
    """Refuse to serve a database whose units came from another list than this code's."""
    loaded = loaded_version(connection)
    installed = installed_version()
    if loaded is not None and loaded != installed:
        raise RuntimeError(
            f"the database's units were loaded from {loaded}, this service carries "
            f"{installed}: run `hocvuso migrate` first"
        )
