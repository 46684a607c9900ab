"""Run one variant in this process and print its figures as one JSON line.

``python benchmarks/measure.py VARIANT SPEC_JSON``; ``run.py`` starts one of
these per measured run so that each variant's peak RSS and CPU are its own.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
from collections.abc import Callable, Coroutine
from typing import Any, cast

from spec import RunSpec, Stopwatch

__all__ = ["PROFILE_ENV", "VARIANTS", "main"]

#: Set to a file path to write a cProfile of the measured window there.
PROFILE_ENV = "KAFKA_PIPELINE_BENCH_PROFILE"
#: Variant name -> module whose ``run(spec, watch)`` does the work.
VARIANTS = {"framework": "framework", "baseline": "baseline", "naive": "naive"}


def main(argv: list[str]) -> int:
    variant, spec = argv[0], RunSpec.from_json(argv[1])
    watch = Stopwatch(os.environ.get(PROFILE_ENV) or None)
    run = cast(
        "Callable[[RunSpec, Stopwatch], Coroutine[Any, Any, int]]",
        importlib.import_module(VARIANTS[variant]).run,
    )
    count = asyncio.run(run(spec, watch))
    print(watch.figures(variant, count).to_json(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
