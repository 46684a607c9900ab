"""Observability: what a worker has done, as plain counters and as Prometheus metrics.

``stats`` (the counters the worker bumps on its hot path) and ``timing``
(route-latency histograms kept in plain ints); ``collector`` turns them into
Prometheus metrics when scraped; ``server`` serves them at ``/metrics`` next
to ``/healthz`` and ``/readyz``, on a thread of its own.
"""
