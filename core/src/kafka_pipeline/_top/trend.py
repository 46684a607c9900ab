"""The last few values of each rate, drawn as a sparkline: ``▁▁▂▅█▇``."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Final

from kafka_pipeline._top.snapshot import Snapshot

#: Zero is the lowest block alone, so that a trickle never looks like nothing.
BLOCKS: Final = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float]) -> str:
    """One block per value, scaled to the largest."""
    peak = max(values, default=0.0)
    if peak <= 0:
        return BLOCKS[0] * len(values)
    steps = len(BLOCKS) - 2
    return "".join(BLOCKS[0] if v <= 0 else BLOCKS[1 + round(v / peak * steps)] for v in values)


class Trends:
    """The recent rates (and lags) of one ``top`` session, by what they measure."""

    def __init__(self, width: int = 16) -> None:
        self.width = width
        self._history: dict[tuple[str, ...], deque[float]] = {}

    def add(self, key: tuple[str, ...], value: float | None) -> None:
        if value is not None:
            self._history.setdefault(key, deque(maxlen=self.width)).append(value)

    def line(self, *key: str) -> str:
        return sparkline(list(self._history.get(key, ())))

    def record(self, snapshot: Snapshot) -> None:
        """Add every rate of ``snapshot`` (each consumer lag too)."""
        for count in snapshot.consumed:
            self.add(("consumed", count.key), count.rate)
        for count in snapshot.outcomes:
            self.add(("outcome", count.key), count.rate)
        for plugin in snapshot.plugins:
            self.add(("matched", plugin.plugin), plugin.matched.rate)
            self.add(("sent", plugin.plugin), plugin.sent.rate)
            self.add(("errors", plugin.plugin), plugin.errors.rate)
        for row in snapshot.lag:
            self.add(("lag", row.topic, str(row.partition), row.worker), row.lag)
        for count in snapshot.dlq:
            self.add(("dlq", count.key), count.rate)
        for count in snapshot.delta:
            self.add(("delta", count.key), count.rate)
