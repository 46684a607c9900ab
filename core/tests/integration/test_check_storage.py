"""``kafka-pipeline check --storage`` against the emulators: what it finds, and when it exits 1."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from deltalake import write_deltalake

from integration.kit import committed_offsets, config_data, create_topics, make_names, write_config
from integration.stores import S3, Azure, ignoring_conditional_writes
from kafka_pipeline._sinks.schema import table_schema

pytestmark = pytest.mark.integration


def kafka_pipeline(site: Path, *args: str | Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run the command as a user would; exit status and everything it printed."""
    environ = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    environ.pop("KAFKA_PIPELINE_STORAGE_OPTIONS", None)
    environ |= env or {}
    command = [sys.executable, "-m", "kafka_pipeline._cli", *map(str, args)]
    done = subprocess.run(command, env=environ, capture_output=True, text=True, timeout=120, check=False)
    return done.returncode, done.stdout + done.stderr


def storage_config(tmp_path: Path, root: str, options: dict[str, str], **delta: Any) -> Path:
    data = {"load": [], "delta": {"root": root, "storage_options": options, **delta}}
    return write_config(tmp_path / "check.yaml", data)


def check_storage(site: Path, config: Path) -> tuple[int, str]:
    return kafka_pipeline(site, "check", "--config", config, "--storage", "--domain", "parcels")


def test_check_storage_on_s3_finds_concurrent_commits_safe(
    parcels_site: Path, s3: S3, tmp_path: Path
) -> None:
    status, out = check_storage(parcels_site, storage_config(tmp_path, f"{s3.bucket()}/delta", s3.options))

    assert status == 0, out
    assert "concurrent commits: safe: 4 writers racing 3 rounds, all 12 commits landed" in out
    assert "commits kept apart by: conditional put (If-None-Match)" in out


def test_check_storage_leaves_nothing_behind_in_the_bucket(
    parcels_site: Path, s3: S3, tmp_path: Path
) -> None:
    bucket = s3.bucket()

    check_storage(parcels_site, storage_config(tmp_path, f"{bucket}/delta", s3.options))

    assert s3.keys(bucket) == []


def test_check_storage_fails_on_an_s3_that_ignores_conditional_writes(
    parcels_site: Path, s3: S3, tmp_path: Path
) -> None:
    bucket = s3.bucket()
    with ignoring_conditional_writes(s3) as unsafe:
        status, out = check_storage(parcels_site, storage_config(tmp_path, f"{bucket}/delta", unsafe.options))

    assert status == 1, out
    assert "concurrent commits: UNSAFE" in out
    assert "lost without an error" in out


def test_check_storage_refuses_the_unsafe_rename_option(parcels_site: Path, s3: S3, tmp_path: Path) -> None:
    options = s3.options | {"AWS_S3_ALLOW_UNSAFE_RENAME": "true"}

    status, out = check_storage(parcels_site, storage_config(tmp_path, f"{s3.bucket()}/delta", options))

    assert status == 1, out
    assert "AWS_S3_ALLOW_UNSAFE_RENAME is set" in out
    assert "delta.single_writer: true" in out


def test_check_storage_accepts_the_unsafe_rename_option_for_a_single_writer(
    parcels_site: Path, s3: S3, tmp_path: Path
) -> None:
    options = s3.options | {"AWS_S3_ALLOW_UNSAFE_RENAME": "true"}
    config = storage_config(tmp_path, f"{s3.bucket()}/delta", options, single_writer=True)

    status, out = check_storage(parcels_site, config)

    assert status == 0, out
    assert "a single writer (delta.single_writer: true" in out


def test_a_worker_with_the_unsafe_rename_option_stops_before_consuming(
    bootstrap: str, parcels_site: Path, s3: S3, tmp_path: Path
) -> None:
    names = make_names(tmp_path, "unsafe-rename")
    asyncio.run(create_topics(bootstrap, names.source, names.dlq))
    data = config_data(bootstrap, names, {})
    data["delta"] |= {"root": f"{s3.bucket()}/delta"}
    config = write_config(tmp_path / "worker.yaml", data)
    options = s3.options | {"AWS_S3_ALLOW_UNSAFE_RENAME": "true"}
    env = {"KAFKA_PIPELINE_STORAGE_OPTIONS": json.dumps(options)}

    status, out = kafka_pipeline(
        parcels_site, "worker", "--domain", "parcels", "--config", config, "--exit-when-idle", "1", env=env
    )

    assert status == 1, out
    assert "AWS_S3_ALLOW_UNSAFE_RENAME is set" in out
    assert asyncio.run(committed_offsets(bootstrap, names.group, names.source, 3)) == {
        0: None,
        1: None,
        2: None,
    }


def test_check_storage_reports_the_schema_evolution_due(parcels_site: Path, s3: S3, tmp_path: Path) -> None:
    from parcels_domain import ParcelResult  # type: ignore[import-not-found]

    root = f"{s3.bucket()}/delta"
    older = table_schema(ParcelResult)
    older = older.remove(older.get_field_index("fragile"))
    write_deltalake(f"{root}/parcels", older.empty_table(), storage_options=s3.options)

    status, out = check_storage(parcels_site, storage_config(tmp_path, root, s3.options))

    assert status == 0, out
    assert "table parcels (parcels): version 0, 0 files, not partitioned; schema evolution due: " in out
    assert "the worker will add nullable column(s) fragile" in out
    assert "table parcels_failed (parcels): not created yet" in out


def test_check_storage_on_azurite_finds_concurrent_commits_safe(
    parcels_site: Path, azure: Azure, tmp_path: Path
) -> None:
    status, out = check_storage(
        parcels_site, storage_config(tmp_path, f"{azure.container()}/delta", azure.options)
    )

    assert status == 0, out
    assert "(Azure Blob)" in out
    assert "concurrent commits: safe: 4 writers racing 3 rounds, all 12 commits landed" in out


def test_check_storage_fails_on_a_bucket_that_does_not_exist(
    parcels_site: Path, s3: S3, tmp_path: Path
) -> None:
    status, out = check_storage(
        parcels_site, storage_config(tmp_path, "s3://no-such-bucket-here/delta", s3.options)
    )

    assert status == 1, out
    assert "cannot write or read under s3://no-such-bucket-here/delta" in out
