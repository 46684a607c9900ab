"""(c) The naive pipeline: (b) but awaiting ``send_and_wait`` for every routed record.

This is what the original design's ``send_to_topic`` did: one broker round
trip per routed message, so the loop runs at the broker's latency, not at
Python's speed. Everything else is (b)'s code, so the difference is that alone.
"""

from __future__ import annotations

from baseline import consume
from spec import RunSpec, Stopwatch

__all__ = ["run"]


async def run(spec: RunSpec, watch: Stopwatch) -> int:
    return await consume(spec, watch, send_and_wait_each=True)
