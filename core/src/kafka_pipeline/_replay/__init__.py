"""Replaying dead-lettered plugin failures through the plugin that failed, and nothing else.

``selection`` (which DLQ records a replay takes, leaves alone or keeps for
later: ``--reason``, ``--plugin``, ``--since``/``--until``,
``--max-attempts``), ``replayer`` (the replay itself, on the worker's
engine, checkpoint and rebalancer), ``stats`` (what a run did), ``reading``
(the replay group, what is left to read) and ``dry_run`` (what a replay
would do, read without sending or committing anything).
"""
