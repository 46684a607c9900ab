"""``python -m kafka_pipeline.cli``: the ``kafka-pipeline`` command without its console script."""

from kafka_pipeline.cli import main

main(prog_name="kafka-pipeline")
