"""Fuzzing: whatever arrives on the source topic ends in exactly one outcome, and nothing raises.

Random bytes, random JSON and mutated valid results go through the real
pieces of the worker, without a broker: ``BatchProcessor.process`` with fake
consumer records, the real ``RoutingEngine`` and plugins, a real
``DeltaWriter`` flushing into a temporary directory after each example, and
a plain ``Outbox`` for the routed and DLQ records. Each input must be stored
(a Delta row), or skipped (valid, no table for its status), or in the DLQ
with a reason; a plugin's own failure (``plugin_error``) comes on top of one
of those, never instead.

The domains: the ``parcels`` test domain always (a column of every kind),
and the real XACT and ClaimX models with their plugins where installed. The
normal suite runs a few examples (hypothesis profile ``ci``); ``nox -s fuzz``
runs the ``fuzz`` profile and prints the outcomes by kind.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import random
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

import pytest
from distributions import forget_modules
from fuzz_outcomes import OUTCOMES
from hypothesis import given
from hypothesis import strategies as st
from integration.parcels import install_parcels

from kafka_pipeline import Domain, parse_config
from kafka_pipeline._broker.outbox import KafkaOutbox
from kafka_pipeline._dlq import HEADER_DLQ_ERROR, HEADER_DLQ_PLUGIN, HEADER_DLQ_REASON, DlqReason
from kafka_pipeline._engine.engine import RoutingEngine
from kafka_pipeline._loading import discover
from kafka_pipeline._observability.stats import WorkerStats
from kafka_pipeline._outbox import Outbox
from kafka_pipeline._sinks.delta import DeltaWriter
from kafka_pipeline._worker.batch import BatchProcessor
from kafka_pipeline._worker.checkpoint import Checkpoint

#: Plugins of the parcels domain that run in the fuzz: the well-behaved, and those that raise.
PARCEL_PLUGINS = ["express-router", "loss-alerter", "fussy", "picky", "rogue"]

#: Values a mutation puts in a field: the edges a producer's bug or an attacker would try.
EDGES: list[Any] = [
    10**30,
    -(10**30),
    2**63,
    2**63 - 1,
    -(2**63),
    -1,
    0,
    1e308,
    -1e308,
    1e-320,
    "",
    "\x00",
    "\u2028",
    "9999-12-31T23:00:00-05:00",
    "0001-01-01T01:00:00+05:00",
    "9999-12-31T23:59:59.999999Z",
    "1970-01-01T00:00:00Z",
    253402300800,
    -62135596801,
    True,
    None,
    [],
    {},
    [10**30],
    {"a": 10**30},
]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.sampled_from(EDGES),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


#: A mutation's new value: an edge as often as anything else.
edge_or_any = st.sampled_from(EDGES) | json_values
#: A mutation removes the field one time in four, else sets it.
REMOVE = (False, False, False, True)


def parcel_sample(rng: random.Random) -> dict[str, Any]:
    return {
        "trace_id": f"p-{rng.randrange(10**6)}",
        "status": rng.choice(["completed", "failed", "failed_permanent"]),
        "carrier": rng.choice(["post", "express"]),
        "weight_kg": rng.uniform(0, 40),
        "items": rng.randrange(1, 9),
        "sent_at": "2026-11-29T10:00:00+01:00",
        "dimensions": {"width_cm": 20.0, "height_cm": 10.0},
        "tags": rng.sample(["fussy", "picky", "rogue:forward", "rogue:exit", "rogue:bad-header"], 2),
    }


@dataclass
class Rig:
    """The worker's pieces for one domain, fed by hand."""

    domain: Domain[Any]
    batch: BatchProcessor
    outbox: Outbox
    writer: DeltaWriter
    sample: Any
    fields: list[str]
    offset: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)


@pytest.fixture(scope="module")
def parcels_installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    root = install_parcels(tmp_path_factory.mktemp("fuzz-site"))
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    yield
    sys.path.remove(str(root))
    forget_modules("parcels_domain")
    forget_modules("parcels_plugins")


def real_domains() -> list[str]:
    found = ["parcels"]
    for name, module in (("xact", "kafka_pipeline_xact"), ("claimx", "kafka_pipeline_claimx")):
        try:
            importlib.import_module(module)
        except ImportError:
            continue
        found.append(name)
    return found


@pytest.fixture(scope="module", params=real_domains())
def rig(
    request: pytest.FixtureRequest, parcels_installed: None, tmp_path_factory: pytest.TempPathFactory
) -> Rig:
    name = request.param
    settings: dict[str, Any] = {
        "resilience": {"max_retries": 0, "timeout_seconds": 1, "breaker_failure_threshold": 10**6}
    }
    if name == "parcels":
        settings["load"] = PARCEL_PLUGINS
    config = parse_config(settings)
    installation = discover(config)
    domain = installation.domain(name)
    registry = installation.registry(name)
    stats = WorkerStats()
    outbox = Outbox()
    dlq = f"fuzz.{name}.dlq"

    async def no_sleep(_seconds: float) -> None:
        return None

    engine = RoutingEngine(registry.plugins, config, outbox, stats, dlq_topic=dlq, sleep=no_sleep)
    registry.attach(outbox)
    writer = DeltaWriter(
        root=str(tmp_path_factory.mktemp(f"fuzz-{name}")),
        tables=domain.tables.values(),
        model=domain.model,
        source_topic=f"fuzz.{name}",
        group_id="fuzz",
    )

    async def no_commit(_offsets: object) -> None:
        return None

    checkpoint = Checkpoint(
        cast("KafkaOutbox", outbox),
        [writer],
        no_commit,
        stats,
        max_rows=10**9,
        max_bytes=10**12,
        max_seconds=1e9,
    )
    batch = BatchProcessor(
        domain, engine, outbox, sinks=[writer], checkpoint=checkpoint, stats=stats, dlq_topic=dlq
    )
    sample = domain.sample or parcel_sample
    fields = sorted(domain.model.model_fields)
    return Rig(domain, batch, outbox, writer, sample, fields, outcomes=OUTCOMES.setdefault(name, Counter()))


def run_inputs(rig: Rig, values: list[bytes | None], traceparent: bytes | None = None) -> None:
    """Process ``values`` as one poll batch, flush, and check that each ended in exactly one outcome.

    ``traceparent``: a header every record of the batch carries (valid, invalid or junk).
    """
    first = rig.offset
    headers = [] if traceparent is None else [("traceparent", traceparent), ("tracestate", b"k=v")]
    records = [
        SimpleNamespace(offset=first + i, key=b"k", value=v, headers=headers) for i, v in enumerate(values)
    ]
    rig.offset += len(values)

    async def process() -> dict[int, str]:
        await rig.batch.process(f"fuzz.{rig.domain.name}", 0, records)
        ends: dict[int, str] = {}
        for table, buffer in rig.writer.buffers.items():
            if len(buffer):
                for offset in buffer.to_arrow().column("_source_offset").to_pylist():
                    ends[offset] = f"stored:{table}"
        await rig.writer.flush()
        return ends

    stored = asyncio.run(process())
    invalid: dict[int, str] = {}
    plugin_dlq: Counter[str] = Counter()
    for record in rig.outbox.take():
        dlq_headers = dict(record.headers)
        if record.plugin is not None:
            continue
        if HEADER_DLQ_PLUGIN in dlq_headers:
            plugin_dlq[dlq_headers[HEADER_DLQ_REASON].decode()] += 1
            continue
        offset = int(dlq_headers["x-source-offset"])
        assert offset not in invalid, f"offset {offset} parked twice as invalid"
        reason = dlq_headers[HEADER_DLQ_REASON].decode()
        assert reason in {r.value for r in DlqReason}
        unstorable = b"a Delta table cannot store it" in dlq_headers[HEADER_DLQ_ERROR]
        invalid[offset] = f"{reason} (unstorable value)" if unstorable else reason
    for offset in range(first, rig.offset):
        ends = [stored[offset]] if offset in stored else []
        ends += [f"dlq:{invalid[offset]}"] if offset in invalid else []
        assert len(ends) <= 1, f"offset {offset} ended {ends}"
        rig.outcomes[ends[0] if ends else "skipped"] += 1
    for reason, count in plugin_dlq.items():
        rig.outcomes[f"+plugin dlq:{reason}"] += count


def mutate(rig: Rig, seed: int, changes: list[tuple[int, Any, bool]]) -> bytes:
    message = rig.sample(random.Random(seed))
    for pick, value, remove in changes:
        keys = rig.fields or ["x"]
        key = keys[pick % len(keys)]
        if remove:
            message.pop(key, None)
        else:
            message[key] = value
    return json.dumps(message).encode()


#: A source record's ``traceparent``: none, valid, or anything at all.
traceparents = (
    st.none() | st.just(b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01") | st.binary(max_size=60)
)


@given(values=st.lists(st.none() | st.binary(max_size=300), min_size=1, max_size=4), traceparent=traceparents)
def test_random_bytes_end_in_exactly_one_outcome(
    rig: Rig, values: list[bytes | None], traceparent: bytes | None
) -> None:
    run_inputs(rig, values, traceparent)


@given(values=st.lists(json_values, min_size=1, max_size=4))
def test_random_json_ends_in_exactly_one_outcome(rig: Rig, values: list[Any]) -> None:
    run_inputs(rig, [json.dumps(v).encode() for v in values])


@given(
    mutations=st.lists(
        st.tuples(
            st.integers(0, 2**32),
            st.lists(st.tuples(st.integers(0, 100), edge_or_any, st.sampled_from(REMOVE)), max_size=3),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_mutated_valid_results_end_in_exactly_one_outcome(
    rig: Rig, mutations: list[tuple[int, list[tuple[int, Any, bool]]]]
) -> None:
    run_inputs(rig, [mutate(rig, seed, changes) for seed, changes in mutations])
