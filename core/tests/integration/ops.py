"""What the operations tests do to a running in-process worker: wait for it, scrape it, ask its probes."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from kafka_pipeline._worker.runner import Worker

#: ``(name, sorted labels) -> value`` of one scrape.
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


class Progress:
    """Wakes the test once the worker's flushes have made a number of consumed messages durable."""

    def __init__(self, worker: Worker) -> None:
        self._worker = worker
        self._target = 0
        self._reached = asyncio.Event()
        worker.add_flush_listener(self._check)

    def _check(self, _report: object) -> None:
        if self._worker.stats.consumed >= self._target:
            self._reached.set()

    async def consumed(self, count: int) -> None:
        self._target = count
        self._reached.clear()
        self._check(None)
        await asyncio.wait_for(self._reached.wait(), 60)


async def until(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` on the loop (the worker keeps running) until it holds; fail naming ``what``."""
    deadline = asyncio.get_running_loop().time() + 60
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after 60s waiting for {what}")
        await asyncio.sleep(0.05)


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


async def get(url: str) -> tuple[int, str]:
    """``GET url``: status and body, off the loop so the worker keeps going."""
    return await asyncio.to_thread(_get, url)


async def probe(worker: Worker, path: str) -> tuple[int, Any]:
    """Status and JSON body of ``/healthz`` or ``/readyz``."""
    assert worker.metrics is not None
    status, body = await get(worker.metrics.url + path)
    return status, json.loads(body)


async def scrape(worker: Worker) -> Samples:
    assert worker.metrics is not None
    status, text = await get(worker.metrics.url + "/metrics")
    assert status == 200, text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def by_label(samples: Samples, name: str, label: str) -> dict[str, float]:
    """The samples of metric ``name``, keyed by the value of ``label``."""
    return {dict(labels)[label]: value for (n, labels), value in samples.items() if n == name}
