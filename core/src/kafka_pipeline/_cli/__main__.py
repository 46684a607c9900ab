"""``python -m kafka_pipeline._cli``: the ``kafka-pipeline`` command without its console script."""

from kafka_pipeline._cli import main

main(prog_name="kafka-pipeline")
