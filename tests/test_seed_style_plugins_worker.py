"""The design document's XACT example plugins, pip-installed, routing on a real broker like the shipped ones.

``tests/seed_style_plugins/`` holds the document's ``EsxProcessorPlugin``,
``FailureAlerterPlugin`` and ``StatusSubtypeRouterPlugin`` verbatim but for
their imports: a ``result`` parameter, ``await self.send_to_topic(topic,
result.model_dump(), result.trace_id)``, a dict config read with
``self.config.get``. It is installed as a user would install it, with pip,
non-editable, into a folder of its own (``pip install --no-deps --target``).
Its entry points carry the shipped plugins' names, and discovery keeps the
first entry point of a name on ``sys.path``, so putting that folder first on
``PYTHONPATH`` makes the seed-style plugins shadow the shipped ones for one
run; ``kafka-pipeline plugins --json`` proves which distribution each run
used, and names the shadowed one.

The same few hundred results (the XACT sample factory, plus hand-made ones
for the edges) are produced once; ``kafka-pipeline worker --exit-when-idle``
then consumes them twice, in two consumer groups, once per set of plugins,
each sending to topics of its own prefix. The records both send are the
same (topic, key, decoded JSON payload, as multisets) except where the
shipped plugins differ on purpose:

- ``esx-processor`` compares ``file_type`` case-insensitively, so it also
  routes ``ESX`` and ``Esx``; the seed's ``== "esx"`` does not. That one
  difference is asserted exactly.
- The shipped plugins forward the result's original bytes; the seed's
  re-serialize ``result.model_dump()``. The decoded payloads are equal but
  for how ``created_at`` is spelled (``...07.089Z`` forwarded,
  ``...07.089000Z`` re-serialized: both ISO 8601, the same instant), so the
  comparison reads ``created_at`` as an instant, and a test of its own
  checks each side's spelling. Likewise a numeric ``assignment_id``, which
  the model accepts as text (``8633906`` forwarded, ``"8633906"``
  re-serialized), is compared as text.

Run alone (starts the embedded broker; ``KAFKA_BOOTSTRAP_SERVERS`` uses yours)::

    pytest tests/test_seed_style_plugins_worker.py -v
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import pytest
import yaml
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from kafka_pipeline.testing.pytest_plugin import KafkaBroker
from kafka_pipeline_xact import XACT_DOMAIN, DownloadResultMessage

pytestmark = pytest.mark.integration

SEED_PACKAGE: Final = Path(__file__).parent / "seed_style_plugins"
DISTRIBUTIONS: Final = {"seed": "kafka-pipeline-seed-style-plugins", "shipped": "kafka-pipeline-xact"}
PLUGINS: Final = ("esx-processor", "failure-alerter", "status-subtype-router")
ESX: Final = "xact.esx.processing"
ALERTS: Final = "xact.alerts.failures"
ESTIMATES: Final = "xact.estimates.received"
DOCUMENTS: Final = "xact.documents.received"
#: The design's default topics; each run sends to them under a prefix of its own.
ROUTED_TOPICS: Final = (ESX, ALERTS, ESTIMATES, DOCUMENTS)
PARTITIONS: Final = 3
SAMPLES: Final = 300
#: Results the shipped esx-processor routes and the seed's does not.
UPPER_CASE_ESX: Final = ("ESX", "Esx", "ESX")


def sample_mix() -> list[dict[str, Any]]:
    """300 results from the XACT sample factory, and the edges it may miss.

    The hand-made ones: completed ``ESX``/``Esx`` files; permanent failures at
    2 (no alert), 3 and 4 (medium), 5 and 6 retries (high); a transient
    failure at 6 retries (no alert); a completed ``esx`` whose subtype no route
    names.
    """
    sample = XACT_DOMAIN.sample
    assert sample is not None
    rng = random.Random(8)
    results = [sample(rng) for _ in range(SAMPLES)]
    subtypes = ("estimateCreated", "noteAdded", "documentsReceived")
    edges: list[dict[str, Any]] = [
        {"status": "completed", "file_type": file_type, "status_subtype": subtype}
        for file_type, subtype in zip(UPPER_CASE_ESX, subtypes, strict=True)
    ]
    failure = {"http_status": 404, "error_message": "attachment not found at source", "blob_path": None}
    edges += [{"status": "failed_permanent", "retry_count": n, **failure} for n in (2, 3, 4, 5, 6)]
    edges += [
        {"status": "failed", "retry_count": 6, **failure},
        {"status": "completed", "file_type": "esx", "status_subtype": "photosReceived"},
    ]
    return results + [{**sample(rng), **edge} for edge in edges]


@dataclass(frozen=True)
class Routed:
    """One record a run's plugins sent; its topic without the run's prefix."""

    topic: str
    key: str | None
    value: bytes
    headers: Mapping[str, str]

    @property
    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = json.loads(self.value)
        return payload

    def comparable(self) -> tuple[str, str | None, str]:
        """Topic, key and decoded payload, ``created_at`` read as an instant and ids as text.

        See the module docstring: these are how forwarding and re-serializing spell the same value.
        """
        payload = self.payload
        if isinstance(payload.get("created_at"), str):
            payload["created_at"] = datetime.fromisoformat(payload["created_at"]).isoformat()
        if isinstance(payload.get("assignment_id"), int):
            payload["assignment_id"] = str(payload["assignment_id"])
        return self.topic, self.key, json.dumps(payload, sort_keys=True)


@dataclass(frozen=True)
class Run:
    """What one ``kafka-pipeline worker`` run loaded, reported and sent."""

    listing: dict[str, Any]
    returncode: int
    summary: dict[str, Any]
    stderr: str
    records: list[Routed]

    def plugin(self, name: str) -> dict[str, Any]:
        return next(p for p in self.listing["plugins"] if p["name"] == name)

    def on(self, topic: str) -> list[Routed]:
        return [r for r in self.records if r.topic == topic]


@dataclass(frozen=True)
class Experiment:
    """The results produced once, and the run of each set of plugins over them."""

    results: list[dict[str, Any]]
    source_values: dict[str, bytes]
    runs: dict[str, Run]


async def create_topics(bootstrap: str, topics: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, PARTITIONS, 1) for topic in topics])
    finally:
        await admin.close()


async def produce(bootstrap: str, topic: str, values: dict[str, bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=key.encode()) for key, value in values.items()]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def read_topic(bootstrap: str, topic: str) -> list[Any]:
    """Every record of ``topic``, read up to each partition's high watermark of the fetch responses.

    Not ``end_offsets()``: Tansu answers ListOffsets(latest) with a batch's base offset.
    """
    partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        records: list[Any] = []

        async def behind() -> bool:
            for tp in partitions:
                highwater = consumer.highwater(tp)
                if highwater is None or await consumer.position(tp) < highwater:
                    return True
            return False

        while await behind():
            batch = await consumer.getmany(timeout_ms=500)
            records += [record for partition in batch.values() for record in partition]
        return records
    finally:
        await consumer.stop()


def install_seed_package(target: Path) -> Path:
    """``pip install`` the seed-style package into ``target`` alone: non-editable, no dependencies."""
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index"]
    # hatchling comes with core's test extra, so the build needs no network.
    command += ["--no-build-isolation", "--target", str(target), str(SEED_PACKAGE)]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    return target


def plugin_settings(prefix: str) -> dict[str, Any]:
    """Each plugin's config, in the keys both styles read, sending to ``prefix``-ed topics."""
    return {
        "esx-processor": {"config": {"topic": f"{prefix}.{ESX}"}},
        "failure-alerter": {"config": {"topic": f"{prefix}.{ALERTS}", "min_retries": 3}},
        "status-subtype-router": {
            "config": {
                "routes": {
                    "estimateCreated": f"{prefix}.{ESTIMATES}",
                    "documentsReceived": f"{prefix}.{DOCUMENTS}",
                }
            }
        },
    }


def worker_config(bootstrap: str, source: str, prefix: str, delta_root: Path) -> dict[str, Any]:
    """One run's configuration: its own group, Delta root and ``prefix``-ed routed topics."""
    return {
        "kafka": {
            "bootstrap_servers": bootstrap,
            "group_id": f"{prefix}-group",
            "enable_idempotence": False,  # the embedded broker refuses the idempotent producer
            "session_timeout_ms": 6000,
        },
        "source_topic": source,
        "delta": {"root": str(delta_root), "flush_max_seconds": 0.5},
        "load": list(PLUGINS),
        "strict": True,  # a plugin that does not load stops the run instead of routing nothing
        "plugins": plugin_settings(prefix),
        "worker": {"poll_timeout_ms": 200},
    }


def kafka_pipeline(*args: str, env: Mapping[str, str]) -> subprocess.Popen[str]:
    """The console script next to this interpreter: the command a user's shell finds."""
    command = Path(sys.executable).with_name("kafka-pipeline")
    return subprocess.Popen(
        [str(command), *args], env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def stop_summary(stderr: str) -> dict[str, Any]:
    """The counters ``kafka-pipeline worker`` prints when it stops; empty when it did not get there."""
    line = next((line for line in stderr.splitlines() if line.startswith("worker stopped: ")), None)
    summary: dict[str, Any] = json.loads(line.removeprefix("worker stopped: ")) if line else {}
    return summary


def routed_records(bootstrap: str, prefix: str) -> list[Routed]:
    return [
        Routed(
            topic,
            None if r.key is None else r.key.decode(),
            r.value,
            {k: v.decode() for k, v in r.headers},
        )
        for topic in ROUTED_TOPICS
        for r in asyncio.run(read_topic(bootstrap, f"{prefix}.{topic}"))
    ]


@pytest.fixture(scope="module")
def experiment(kafka_broker: KafkaBroker, tmp_path_factory: pytest.TempPathFactory) -> Experiment:
    bootstrap = kafka_broker.bootstrap_servers
    workdir = tmp_path_factory.mktemp("seed-style")
    site = install_seed_package(workdir / "seed-site")
    run_id = f"seed-style-{uuid.uuid4().hex[:8]}"
    prefixes = {variant: f"{run_id}.{variant}" for variant in DISTRIBUTIONS}
    source = f"{run_id}.xact.downloads.results"
    results = sample_mix()
    values = {r["trace_id"]: json.dumps(r).encode() for r in results}
    assert len(values) == len(results), "trace ids must be unique: records are matched by them"

    routed = [f"{prefix}.{topic}" for prefix in prefixes.values() for topic in ROUTED_TOPICS]
    asyncio.run(create_topics(bootstrap, [source, f"{source}.dlq", *routed]))
    asyncio.run(produce(bootstrap, source, values))

    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_PIPELINE_", "PYTHONPATH"))}
    # Only the seed run sees the seed-style package, first on sys.path.
    envs = {"seed": {**base_env, "PYTHONPATH": str(site)}, "shipped": base_env}
    configs, listings = {}, {}
    for variant, prefix in prefixes.items():
        config = worker_config(bootstrap, source, prefix, delta_root=workdir / variant)
        configs[variant] = workdir / f"{variant}.yaml"
        configs[variant].write_text(yaml.safe_dump(config))
        listing = kafka_pipeline(
            "plugins", "--domain", "xact", "--json", "--config", str(configs[variant]), env=envs[variant]
        )
        out, err = listing.communicate(timeout=120)
        assert listing.returncode == 0, err
        listings[variant] = json.loads(out)

    # Both groups at once: they share nothing but the source topic.
    workers = {
        variant: kafka_pipeline(
            "worker", "--domain", "xact", "--config", str(config), "--exit-when-idle", "3", env=envs[variant]
        )
        for variant, config in configs.items()
    }
    runs = {}
    try:
        for variant, worker in workers.items():
            _, stderr = worker.communicate(timeout=300)
            records = routed_records(bootstrap, prefixes[variant])
            runs[variant] = Run(listings[variant], worker.returncode, stop_summary(stderr), stderr, records)
    finally:
        for worker in workers.values():
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    return Experiment(results, values, runs)


@pytest.mark.parametrize("variant", sorted(DISTRIBUTIONS))
def test_each_run_loads_the_three_plugins_from_its_own_distribution(
    experiment: Experiment, variant: str
) -> None:
    run = experiment.runs[variant]

    assert {
        name: (run.plugin(name)["distribution"], run.plugin(name)["status"]) for name in PLUGINS
    } == dict.fromkeys(PLUGINS, (DISTRIBUTIONS[variant], "loaded"))


def test_the_seed_run_loads_the_classes_of_the_pip_installed_seed_style_package(
    experiment: Experiment,
) -> None:
    run = experiment.runs["seed"]

    assert {name: run.plugin(name)["entry_point"] for name in PLUGINS} == {
        "esx-processor": "seed_style_plugins.esx_processor:EsxProcessorPlugin",
        "failure-alerter": "seed_style_plugins.failure_alerter:FailureAlerterPlugin",
        "status-subtype-router": "seed_style_plugins.status_router:StatusSubtypeRouterPlugin",
    }


@pytest.mark.parametrize("variant", sorted(DISTRIBUTIONS))
def test_the_listing_names_the_distribution_each_plugin_shadows(experiment: Experiment, variant: str) -> None:
    run = experiment.runs[variant]

    shadowed = {name: [s["distribution"] for s in run.plugin(name)["shadows"]] for name in PLUGINS}
    assert shadowed == dict.fromkeys(PLUGINS, ["kafka-pipeline-xact"] if variant == "seed" else [])


@pytest.mark.parametrize("variant", sorted(DISTRIBUTIONS))
def test_each_worker_consumes_every_result_and_parks_none(experiment: Experiment, variant: str) -> None:
    run = experiment.runs[variant]

    assert (run.returncode, run.summary.get("consumed"), run.summary.get("dlq_by_reason")) == (
        0,
        len(experiment.results),
        {},
    ), run.stderr


def test_both_runs_write_the_same_delta_rows(experiment: Experiment) -> None:
    seed, shipped = experiment.runs["seed"], experiment.runs["shipped"]

    assert seed.summary["delta_rows"] == shipped.summary["delta_rows"] != {}


@pytest.mark.parametrize("variant", sorted(DISTRIBUTIONS))
def test_the_results_make_every_plugin_route_every_case(experiment: Experiment, variant: str) -> None:
    run = experiment.runs[variant]
    alerts = [r.payload for r in run.on(ALERTS)]

    assert {topic: len(run.on(topic)) > 0 for topic in ROUTED_TOPICS} == dict.fromkeys(ROUTED_TOPICS, True)
    assert {(a["severity"], a["retry_count"] >= 5) for a in alerts} == {("medium", False), ("high", True)}
    assert {3, 5} <= {a["retry_count"] for a in alerts}


def test_seed_style_and_shipped_plugins_send_the_same_records_but_upper_case_esx(
    experiment: Experiment,
) -> None:
    seed = Counter(r.comparable() for r in experiment.runs["seed"].records)
    shipped = Counter(r.comparable() for r in experiment.runs["shipped"].records)
    upper_case_esx = [
        r for r in experiment.results if r["status"] == "completed" and r["file_type"] in UPPER_CASE_ESX
    ]
    # The shipped esx-processor forwards each of them; the seed's compares case-sensitively.
    only_shipped = Counter(
        Routed(ESX, r["trace_id"], experiment.source_values[r["trace_id"]], {}).comparable()
        for r in upper_case_esx
    )

    assert (shipped - seed, seed - shipped) == (only_shipped, Counter())
    assert sum((seed & shipped).values()) == sum(seed.values()) > SAMPLES / 2


def test_each_seed_style_record_carries_the_provenance_headers_of_its_shipped_twin(
    experiment: Experiment,
) -> None:
    # Both groups read the same source records, so plugin, source partition and offset coincide.
    def provenance(variant: str) -> Counter[tuple[str, tuple[tuple[str, str], ...]]]:
        return Counter((r.topic, tuple(sorted(r.headers.items()))) for r in experiment.runs[variant].records)

    assert provenance("seed") <= provenance("shipped")


def test_every_record_is_keyed_by_the_trace_id_of_its_result(experiment: Experiment) -> None:
    # The seed passes the key as send_to_topic's third positional argument; the shipped ones rely on
    # the default key.
    records = [r for run in experiment.runs.values() for r in run.records]

    assert [r for r in records if not r.key == r.headers["x-trace-id"] == r.payload["trace_id"]] == []


def test_the_shipped_plugins_forward_the_results_original_bytes(experiment: Experiment) -> None:
    forwarded = [r for topic in (ESX, ESTIMATES, DOCUMENTS) for r in experiment.runs["shipped"].on(topic)]

    assert [r for r in forwarded if r.value != experiment.source_values[r.payload["trace_id"]]] == []


def test_the_seed_style_plugins_send_the_results_model_dump(experiment: Experiment) -> None:
    sent = [r for topic in (ESX, ESTIMATES, DOCUMENTS) for r in experiment.runs["seed"].on(topic)]
    model_dumps = {
        trace_id: DownloadResultMessage.model_validate_json(value).model_dump(mode="json")
        for trace_id, value in experiment.source_values.items()
    }

    assert [r for r in sent if r.payload != model_dumps[r.payload["trace_id"]]] == []


#: ISO 8601 with a UTC offset, as pydantic writes an aware datetime.
ISO_8601: Final = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


def test_created_at_of_a_model_dump_payload_is_iso_8601_of_the_same_instant(experiment: Experiment) -> None:
    sent = [r for topic in (ESX, ESTIMATES, DOCUMENTS) for r in experiment.runs["seed"].on(topic)]
    source = {trace_id: json.loads(value) for trace_id, value in experiment.source_values.items()}

    assert sent
    assert [
        r.payload["created_at"]
        for r in sent
        if not ISO_8601.fullmatch(r.payload["created_at"])
        or datetime.fromisoformat(r.payload["created_at"])
        != datetime.fromisoformat(source[r.payload["trace_id"]]["created_at"])
    ] == []


def test_created_at_is_spelled_as_produced_when_forwarded_and_by_pydantic_when_re_serialized(
    experiment: Experiment,
) -> None:
    esx = next(r for r in experiment.results if r["status"] == "completed" and r["file_type"] == "esx")
    spelled = {
        variant: next(r.payload["created_at"] for r in run.on(ESX) if r.key == esx["trace_id"])
        for variant, run in experiment.runs.items()
    }

    # The sample factory writes milliseconds ("...07.089Z"); pydantic writes microseconds.
    assert spelled == {"shipped": esx["created_at"], "seed": esx["created_at"].replace("Z", "000Z")}
