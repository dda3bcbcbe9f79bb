"""A unit's indicators as last answered, kept per process while the unit's version holds.

Reading a commune's indicators sums a couple of thousand running-total rows; checking that
nothing it depends on has changed is one read of a few counters (`app.ledger.versions`). An
answer is kept with the version read *before* its figures, so a change that lands meanwhile
can only make the kept answer newer than its version says, never older.
"""

from collections import OrderedDict
from datetime import date

Key = tuple[str, str, date, str]  # level, unit code, as_of, language


class Answers:
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
