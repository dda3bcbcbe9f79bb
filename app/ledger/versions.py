"""Counters that say whether a unit's indicators may have changed (see `StatVersion`)."""

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import bindparam, func, literal, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from app.core.direct import Query
from app.ledger.models import StatVersion
from app.units.models import Commune

EVERYTHING = "*"  # the scope raised by a change to every unit's indicators

_TABLE: Any = StatVersion.__table__  # type: ignore[attr-defined]


def _raise(base: Any) -> Any:
    return base.on_conflict_do_update(
        index_elements=["scope"], set_={"version": _TABLE.c.version + 1}
    )


_SCOPES = bindparam("scopes", type_=postgresql.ARRAY(_TABLE.c.scope.type))
_scope = func.unnest(_SCOPES).table_valued("scope").render_derived(name="raised")
_RAISE_MANY = _raise(
    postgresql.insert(_TABLE).from_select(
        ["scope", "version"],
        sa.select(_scope.c.scope, literal(1, sa.BigInteger)).order_by(_scope.c.scope),
    )
)
_RAISE_ONE = _raise(sqlite.insert(_TABLE).values(scope=bindparam("scope"), version=1))


def raise_versions(session: Session, scopes: Iterable[str]) -> None:
    """Raise the counters of these communes (or `EVERYTHING`), in this transaction.

    In code order, so that two writers over the same communes take them in the same order.
    """
    ordered = sorted(set(scopes))
    if not ordered:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_RAISE_MANY, {"scopes": ordered})
    else:
        session.execute(_RAISE_ONE, [{"scope": scope} for scope in ordered])


def raising_with(upsert: Any, levels: Any, units: Any) -> Any:
    """`upsert` of the totals (taking their rows as arrays) that also raises the counters of
    the communes it touches: one statement, no round trip more."""
    rows = (
        func.unnest(levels, units).table_valued("level", "unit_code").render_derived(name="touched")
    )
    communes = (
        sa.select(rows.c.unit_code, literal(1, sa.BigInteger))
        .where(rows.c.level == "commune")
        .distinct()
        .order_by(rows.c.unit_code)
    )
    raised = _raise(postgresql.insert(_TABLE).from_select(["scope", "version"], communes))
    return upsert.add_cte(raised.cte("raised"))


_SUM = func.coalesce(func.sum(col(StatVersion.version)), 0)
_OF_COMMUNE = sa.select(_SUM).where(
    col(StatVersion.scope).in_([bindparam("code"), literal(EVERYTHING)])
)
_OF_PROVINCE = sa.select(_SUM).where(
    or_(
        col(StatVersion.scope) == EVERYTHING,
        col(StatVersion.scope).in_(
            sa.select(col(Commune.code)).where(col(Commune.province_code) == bindparam("code"))
        ),
    )
)
_OF_NATION = sa.select(_SUM)


# A unit's version by its level: the sum of its communes' counters and `EVERYTHING`'s, with
# the unit's code as the parameter `code`.
VERSION_OF: dict[str, sa.Select[Any]] = {
    "commune": _OF_COMMUNE,
    "province": _OF_PROVINCE,
    "national": _OF_NATION,
}


def version_read(level: str, code: str) -> Query:
    """The read of a unit's version (see `VERSION_OF`)."""
    return VERSION_OF[level], {"code": code} if level != "national" else {}
