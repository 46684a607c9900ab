"""``kafka-pipeline demo``: the whole product on one machine, with nothing but Python.

An embedded broker, realistic sample results from every installed domain's
``sample`` factory (a few broken ones among them), one in-process
:class:`~kafka_pipeline._worker.Worker` per domain with every installed
plugin, and a summary whose every number is what the topics and Delta
tables hold. ``plan`` settles what to run before a broker starts,
``samples`` makes the results, ``runner`` runs the show, ``summary`` holds
the numbers and ``report`` prints them.
"""
