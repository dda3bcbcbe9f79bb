"""A unit's indicators: the one entry the three stats routes call (`answer`), and the cache
of answers it keeps per process while the unit's version holds.

Reading a commune's indicators sums a couple of thousand running-total rows; checking that
nothing it depends on has changed is one read of a few counters (`app.ledger.versions`). An
answer is kept with the version read *before* its figures, so a change that lands meanwhile
can only make the kept answer newer than its version says, never older.
"""

from collections import OrderedDict
from datetime import date

from fastapi import Request

from app.accounts.deps import actor_from, actor_read, actor_read_with
from app.core.clock import vietnam_today
from app.core.direct import direct_of
from app.core.problems import language_of
from app.ledger.versions import VERSION_OF, version_read
from app.stats import service

Key = tuple[str, str, date, str]  # level, unit code, as_of, language


class AnswerCache:
    """The latest answers, the least recently used dropped first."""

    def __init__(self, capacity: int = 8_192) -> None:
        self.capacity = capacity
        self._kept: OrderedDict[Key, tuple[int, bytes]] = OrderedDict()

    def get(self, key: Key, version: int) -> bytes | None:
        kept = self._kept.get(key)
        if kept is None or kept[0] != version:
            return None
        self._kept.move_to_end(key)
        return kept[1]

    def put(self, key: Key, version: int, body: bytes) -> None:
        self._kept[key] = (version, body)
        self._kept.move_to_end(key)
        while len(self._kept) > self.capacity:
            self._kept.popitem(last=False)


_ACCOUNT_AND_VERSION = {
    level: actor_read_with(statement.scalar_subquery()) for level, statement in VERSION_OF.items()
}


async def answer(
    request: Request, caller: int, level: str, code: str | None, as_of: date | None
) -> bytes:
    """The unit's indicators as JSON, for a caller who may see them (else 401, 403 or 404)."""
    # The busiest read of all: no session, no worker thread on PostgreSQL, the caller's account
    # read in the same statement as the unit's version, and the figures themselves read only
    # when that version has moved since this process last answered.
    direct = direct_of(request)
    code = code or ""
    unit = service.known_unit(direct, level, code)
    if unit is None:
        account, found = await direct.run(actor_read(caller), service.unit_read(level, code))
        actor = actor_from(request, account)
        unit = service.unit_from(direct, level, code, found)
        [[(version,)]] = await direct.run(version_read(level, code))
    else:
        _, parameters = version_read(level, code)
        [rows] = await direct.run(_ACCOUNT_AND_VERSION[level](caller, parameters))
        actor = actor_from(request, [row[:-1] for row in rows])  # 401 when there is no row
        version = rows[0][-1]
    service.require_visible(actor, unit, action="stats.read")
    day, lang = as_of or vietnam_today(), language_of(request)
    answers: AnswerCache = request.app.state.answers
    key = (level, unit.code, day, lang)
    body = answers.get(key, version)
    if body is None:
        results = await direct.run(*service.stats_reads(unit, day))
        body = service.stats_from(unit, day, lang, results).model_dump_json().encode()
        answers.put(key, version, body)
    return body
