"""The worker against a real broker (the embedded Tansu, or ``KAFKA_BOOTSTRAP_SERVERS``)."""
