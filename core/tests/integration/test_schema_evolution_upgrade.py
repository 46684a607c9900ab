"""A domain package upgraded in a user's virtualenv, on the real broker: v1, v2 adds a field, v3 breaks one.

v2's new optional field becomes a nullable column, added once at start-up;
the rows v1 wrote read it as null. v3 changes a field's type: the worker
stops before it consumes anything, and says which table, which column,
both types and what to do.
"""

from __future__ import annotations

import asyncio
import json
import os
import site
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pytest

from integration.kit import committed_offsets, create_topics, make_names, produce, read_table, write_config

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CORE = Path(__file__).resolve().parents[2]

PYPROJECT = """
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "kafka-pipeline-crates"
version = "{version}"
requires-python = ">=3.11"
dependencies = ["kafka-pipeline-core>=0.1"]

[project.entry-points."kafka_pipeline.domains"]
crates = "kafka_pipeline_crates:CRATES"

[tool.hatch.build.targets.wheel]
packages = ["src/kafka_pipeline_crates"]
"""

MODULE = """
from typing import Literal

from pydantic import BaseModel

from kafka_pipeline import Domain


class CrateResult(BaseModel):
    trace_id: str
    status: Literal["completed", "failed", "failed_permanent"]
    weight: {weight_type}
    {extra_field}


CRATES = Domain(
    name="crates",
    model=CrateResult,
    source_topic="crates.results",
    tables={{"completed": "crates"}},
)
"""

VERSIONS = {
    "1.0.0": {"weight_type": "float", "extra_field": ""},
    "2.0.0": {"weight_type": "float", "extra_field": "label: str | None = None"},
    "3.0.0": {"weight_type": "str", "extra_field": "label: str | None = None"},
}


def run(*args: str | Path, env: dict[str, str] | None = None, check: bool = True) -> tuple[int, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_PIPELINE_", "PYTHONPATH"))}
    done = subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        env=environ | (env or {}),
        check=False,
        timeout=300,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0 or not check, f"{args} failed:\n{output}"
    return done.returncode, output


class UserVenv:
    """A virtualenv with core installed as a wheel; the crates package goes in, then is upgraded."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.venv = root / "venv"
        run(sys.executable, "-m", "venv", "--without-pip", self.venv)
        self.python = self.venv / "bin" / "python"
        purelib = run(self.python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")[1].strip()
        # Third-party dependencies come from the test's own environment: nothing is downloaded.
        parents = [p for p in site.getsitepackages() if Path(p).is_dir()]
        (Path(purelib) / "_outer_environment.pth").write_text(
            "".join(f"import site; site.addsitedir({p!r})\n" for p in parents)
        )
        self.pip_install(CORE)

    def pip_install(self, *paths: Path) -> None:
        pip = (
            self.python,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
        )
        run(*pip, "--upgrade", *paths, "--root-user-action=ignore")

    def install_crates(self, version: str) -> None:
        project = self.root / f"crates-{version}"
        package = project / "src" / "kafka_pipeline_crates"
        package.mkdir(parents=True)
        (project / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT.format(version=version)))
        (package / "__init__.py").write_text(textwrap.dedent(MODULE.format(**VERSIONS[version])))
        self.pip_install(project)

    def worker(self, config: Path) -> tuple[int, str]:
        command = (
            self.venv / "bin" / "kafka-pipeline",
            "--log-level",
            "info",
            "worker",
            "--domain",
            "crates",
        )
        return run(*command, "--config", config, "--exit-when-idle", "2", check=False)


def crates(prefix: str, count: int, **fields: object) -> list[tuple[bytes, bytes]]:
    return [
        (
            f"{prefix}-{i}".encode(),
            json.dumps(
                {"trace_id": f"{prefix}-{i}", "status": "completed", "weight": 1.5, **fields}
            ).encode(),
        )
        for i in range(count)
    ]


@dataclass
class Upgrade:
    v1: tuple[int, str]
    v2: tuple[int, str]
    v3: tuple[int, str]
    after_v2: pa.Table
    committed_before_v3: dict[int, int | None]
    committed_after_v3: dict[int, int | None]


@pytest.fixture(scope="module")
def upgrade(bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Upgrade:
    root = tmp_path_factory.mktemp("evolution")
    names = make_names(root, "evolution")
    asyncio.run(create_topics(bootstrap, names.source, names.dlq, partitions=2))
    config = write_config(
        root / "worker.yaml",
        {
            "kafka": {"bootstrap_servers": bootstrap, "group_id": names.group, "enable_idempotence": False},
            "source_topic": names.source,
            "delta": {"root": str(names.delta_root), "flush_max_seconds": 0.5},
            "worker": {"poll_timeout_ms": 200},
        },
    )
    venv = UserVenv(root)

    venv.install_crates("1.0.0")
    asyncio.run(produce(bootstrap, names.source, crates("v1", 40)))
    v1 = venv.worker(config)

    venv.install_crates("2.0.0")
    asyncio.run(produce(bootstrap, names.source, crates("v2", 40, label="fragile")))
    v2 = venv.worker(config)
    after_v2 = read_table(names.table("crates"))
    committed_before_v3 = asyncio.run(committed_offsets(bootstrap, names.group, names.source, 2))

    venv.install_crates("3.0.0")
    asyncio.run(produce(bootstrap, names.source, crates("v3", 10)))
    v3 = venv.worker(config)
    return Upgrade(
        v1=v1,
        v2=v2,
        v3=v3,
        after_v2=after_v2,
        committed_before_v3=committed_before_v3,
        committed_after_v3=asyncio.run(committed_offsets(bootstrap, names.group, names.source, 2)),
    )


def test_the_v1_and_v2_workers_stop_cleanly(upgrade: Upgrade) -> None:
    assert (upgrade.v1[0], upgrade.v2[0]) == (0, 0), upgrade.v1[1] + upgrade.v2[1]


def test_the_v2_worker_adds_the_new_field_as_a_nullable_column_and_says_so_once(upgrade: Upgrade) -> None:
    added = [line for line in upgrade.v2[1].splitlines() if "added nullable column" in line]
    print("\n" + "\n".join(added))

    assert len(added) == 1
    assert "added nullable column label for the installed domain model" in added[0]
    assert upgrade.after_v2.schema.field("label").nullable


def test_rows_written_before_the_upgrade_read_the_new_column_as_null(upgrade: Upgrade) -> None:
    rows = sorted(
        zip(upgrade.after_v2["trace_id"].to_pylist(), upgrade.after_v2["label"].to_pylist(), strict=True)
    )

    assert rows == sorted(
        [(f"v1-{i}", None) for i in range(40)] + [(f"v2-{i}", "fragile") for i in range(40)]
    )


def test_a_type_change_stops_the_worker_before_it_consumes(upgrade: Upgrade) -> None:
    status, output = upgrade.v3
    print("\n" + next(line for line in output.splitlines() if "column 'weight'" in line))

    assert status == 1, output
    assert upgrade.committed_after_v3 == upgrade.committed_before_v3


def test_the_type_change_message_names_table_column_types_and_remedy(upgrade: Upgrade) -> None:
    output = upgrade.v3[1]

    assert "Delta table 'crates', column 'weight': the field's type changed" in output
    assert "(table: double; installed model: string)" in output
    assert "Keep the old type" in output
