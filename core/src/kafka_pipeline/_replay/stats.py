"""``ReplayStats``: what one replay run did with the DLQ records it read."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ReplayStats:
    """What one replay run did with the DLQ records it read."""

    read: int = 0
    #: Per plugin: records its replay routed (or that it no longer matched), and are resolved.
    replayed: Counter[str] = field(default_factory=Counter)
    #: Per plugin: records that failed again, back in the DLQ.
    failed_again: Counter[str] = field(default_factory=Counter)
    #: Per plugin: records that failed their last replay (``--max-attempts``), now ``replay_exhausted``.
    exhausted: Counter[str] = field(default_factory=Counter)
    #: Per reason: invalid-input and exhausted records, untouched.
    left_alone: Counter[str] = field(default_factory=Counter)
    #: Plugin failures that ``--reason``/``--plugin`` did not select, copied to the end of the DLQ.
    not_selected: int = 0
    #: Plugin failures outside ``--since``/``--until``, copied to the end of the DLQ.
    outside_window: int = 0
    #: Per plugin: failures of a plugin not running here, copied to the end of the DLQ.
    unavailable: Counter[str] = field(default_factory=Counter)
    #: Records the replayed plugins sent, per topic.
    routed_by_topic: Counter[str] = field(default_factory=Counter)
    committed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "replayed": dict(self.replayed),
            "failed_again": dict(self.failed_again),
            "exhausted": dict(self.exhausted),
            "left_alone": dict(self.left_alone),
            "not_selected": self.not_selected,
            "outside_window": self.outside_window,
            "unavailable": dict(self.unavailable),
            "routed_by_topic": dict(self.routed_by_topic),
            "committed_offsets": self.committed,
        }
