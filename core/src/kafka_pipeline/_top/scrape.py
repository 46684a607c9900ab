"""A worker's ``/metrics`` from outside: fetched over HTTP with urllib, parsed with prometheus_client.

Whatever goes wrong (no such host, nothing listening, a timeout, an HTTP
error, an answer that is not a kafka-pipeline worker's metrics) becomes one
:class:`ScrapeError` that says so in a line, never a traceback.
"""

from __future__ import annotations

import http.client
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final

from prometheus_client.parser import text_string_to_metric_families

from kafka_pipeline._errors import KafkaPipelineError

Labels = tuple[tuple[str, str], ...]
#: ``(sample name, sorted labels) -> value`` of one scrape.
Samples = dict[tuple[str, Labels], float]

PREFIX: Final = "kafka_pipeline_"


class ScrapeError(KafkaPipelineError):
    """A worker's metrics could not be read: ``url`` and the ``reason``, on one line."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot scrape {url}: {reason}")
        self.url = url
        self.reason = reason


@dataclass(frozen=True)
class Scrape:
    """One scrape of one worker: when (``time.monotonic``) and every sample."""

    url: str
    at: float
    samples: Samples

    def by(self, name: str, *labels: str) -> dict[tuple[str, ...], float]:
        """The values of sample ``name`` keyed by the values of ``labels``, summed over any other label."""
        values: dict[tuple[str, ...], float] = {}
        for (sample, sample_labels), value in self.samples.items():
            if sample == name:
                found = dict(sample_labels)
                key = tuple(found.get(label, "") for label in labels)
                values[key] = values.get(key, 0.0) + value
        return values


def metrics_url(address: str) -> str:
    """``host:port``, ``http://host:port`` or a full URL, as the URL to scrape (``/metrics`` by default)."""
    text = address.strip()
    parts = urllib.parse.urlsplit(text if "://" in text else f"http://{text}")
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"{address!r} is not a worker's metrics address; give host:port or http://host:port")
    path = parts.path if parts.path not in {"", "/"} else "/metrics"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def fetch(url: str, timeout: float) -> Scrape:
    """Scrape ``url`` once; :class:`ScrapeError` when it cannot be had or is no worker's metrics."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        raise ScrapeError(url, f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise ScrapeError(url, _why(exc.reason, timeout)) from None
    except (OSError, http.client.HTTPException) as exc:
        raise ScrapeError(url, _why(exc, timeout)) from None
    return Scrape(url, time.monotonic(), _parse(url, body.decode("utf-8", errors="replace")))


def scrape_all(urls: Sequence[str], timeout: float) -> dict[str, Scrape | ScrapeError]:
    """Every URL at once (a slow worker does not delay the others), in the order given."""
    if not urls:
        return {}

    def one(url: str) -> Scrape | ScrapeError:
        try:
            return fetch(url, timeout)
        except ScrapeError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=len(urls), thread_name_prefix="kafka-pipeline-top") as pool:
        return dict(zip(urls, pool.map(one, urls), strict=True))


def _why(reason: object, timeout: float) -> str:
    if isinstance(reason, TimeoutError):
        return f"no answer within {timeout:g}s"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused (is a worker serving metrics there? see 'worker --metrics-port')"
    if isinstance(reason, socket.gaierror):
        return "unknown host"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    return str(reason) or type(reason).__name__


def _parse(url: str, text: str) -> Samples:
    try:
        samples = {
            (sample.name, tuple(sorted(sample.labels.items()))): float(sample.value)
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }
    except Exception:  # the parser raises whatever a foreign answer makes it trip on
        raise ScrapeError(url, "the answer is not in Prometheus text format") from None
    if not any(name.startswith(PREFIX) for name, _ in samples):
        raise ScrapeError(
            url, "no kafka_pipeline_ metrics there; is it a kafka-pipeline worker's metrics port?"
        )
    return samples
