"""The running totals that indicators read, their recounts and their versions."""

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Column, PrimaryKeyConstraint
from sqlmodel import Field, SQLModel

from app.core.db import utcnow
from app.core.types import utc_column

NATION = "VN"  # the nation's unit code


class StatTotal(SQLModel, table=True):
    """How many people start (+) or stop (−) counting in a metric at a unit on a date.

    A metric's value at a unit on day D is the sum of its rows with `effective_on` ≤ D.
    Each learner contributes a few rows that depend only on its own records (see
    `app.ledger.contributions`), so totals are kept exact in the same transaction as every
    write and can be rebuilt from the raw records. Every learner counts at its village,
    commune and province, and at the nation (`national`, `NATION`): the nation's figures are
    then one unit's rows, not the sum of every province's.
    """

    __tablename__ = "stat_total"
    # On PostgreSQL the key carries `count`, so a unit's sum is read from the index alone
    # (an index-only scan), never from rows scattered over the heap.
    __table_args__ = (
        PrimaryKeyConstraint(
            "level", "unit_code", "metric", "effective_on", postgresql_include=["count"]
        ),
    )

    level: str = Field(primary_key=True, max_length=8)  # village, commune, province, national
    unit_code: str = Field(primary_key=True, max_length=12)
    metric: str = Field(primary_key=True, max_length=32)
    effective_on: date = Field(primary_key=True)
    count: int = Field(sa_column=Column(BigInteger, nullable=False))


class RulesRecount(SQLModel, table=True):
    """A change to the counting rules, and how far the recount of the people it moves got.

    A program edit that changes which certificates meet a group's standard stores the rules as
    they were (`before`, group → programs) and the programs and groups it moves; the recount
    then walks the programs' holders in id order (up to `stop_at`), a batch per transaction,
    and `done_through` is the last id done. Until it finishes, a learner after `done_through`
    (and not after `stop_at`) is still counted by `before`, any other by the rules in force:
    every write to a learner works out its difference by the rules that learner is counted by,
    so the totals stay right throughout.
    """

    __tablename__ = "rules_recount"

    id: int | None = Field(default=None, primary_key=True)
    program_code: str = Field(max_length=40)
    before: dict[str, list[str]] = Field(sa_column=Column(JSON, nullable=False))
    programs: list[str] = Field(sa_column=Column(JSON, nullable=False))
    groups: list[str] = Field(sa_column=Column(JSON, nullable=False))
    done_through: uuid.UUID | None = Field(default=None)
    # Only learners up to this id (all, when None): undoing a change mid-way moves back those
    # the recount had reached.
    stop_at: uuid.UUID | None = Field(default=None)
    recounted: int = 0
    requested_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    finished_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class StatVersion(SQLModel, table=True):
    """A counter per commune, raised in the same transaction as anything that changes what
    its indicators read: its running totals, its baselines. The scope `*` is raised by what
    changes every unit's (a target, a rebuild of the totals).

    A unit's answer is valid as long as the sum of its communes' counters and `*`'s is: the
    counters only grow, so any change anywhere in the unit changes the sum. Keeping an answer
    against that sum is what lets the service answer a unit's indicators again without
    reading its totals.
    """

    __tablename__ = "stat_version"

    scope: str = Field(primary_key=True, max_length=12)  # a commune's code, or "*"
    version: int = Field(sa_column=Column(BigInteger, nullable=False))
