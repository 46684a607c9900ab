"""``kafka-pipeline top``: running workers' ``/metrics``, read from outside and shown as rates.

``scrape`` fetches and parses one worker's metrics; ``snapshot`` merges the
scrapes of several workers into totals and per-second rates; ``trend`` keeps
the recent rates for sparklines; ``text`` prints a plain snapshot and
``live`` (the only module that imports rich) draws the refreshing view. The
command itself is ``kafka_pipeline._cli.top``.
"""
