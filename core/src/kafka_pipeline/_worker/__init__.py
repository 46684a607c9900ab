"""The worker: the consumer loop, its commits, rebalances, signals and hot reload.

``runner`` (:class:`Worker`: start-up, the loop, shutdown), ``batch`` (one
poll batch: validate, route, hand to the sinks), ``checkpoint`` (the commit
order: acknowledgements, sinks, offsets), ``rebalance`` (revoke and
assign), ``signals``, ``reload`` and ``config_watch`` (hot reload of the
plugin settings) and ``memory`` (keeping resident memory flat). The parts
it drives live in their own rooms: ``_engine`` (plugins), ``_broker``
(Kafka I/O), ``_sinks`` (Delta), ``_observability`` (stats and metrics).
"""
