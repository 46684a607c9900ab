"""Broker I/O: the Kafka clients, topics, offsets, the outbox of routed and DLQ records, lag."""
