"""The pipeline configuration: one YAML file, validated with pydantic.

Every error names its path (``plugins.failure-alerter.config.min_retries``).
Secrets may be given in the file but are better set in the environment
(``KAFKA_PIPELINE_SASL_PASSWORD``, ``KAFKA_PIPELINE_STORAGE_OPTIONS``); they
are ``SecretStr`` and never printed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from kafka_pipeline.errors import ConfigError
from kafka_pipeline.plugin import format_validation_error

__all__ = [
    "DeltaSettings",
    "KafkaSettings",
    "MaintenanceSettings",
    "MetricsSettings",
    "PipelineConfig",
    "PluginSettings",
    "ResilienceSettings",
    "TableSettings",
    "WorkerSettings",
    "load_config",
    "parse_config",
    "read_config_file",
]

ENV_SASL_PASSWORD = "KAFKA_PIPELINE_SASL_PASSWORD"
ENV_STORAGE_OPTIONS = "KAFKA_PIPELINE_STORAGE_OPTIONS"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KafkaSettings(_Strict):
    """How to reach the cluster. Passed through to aiokafka."""

    bootstrap_servers: str = "localhost:9092"
    group_id: str = "kafka-pipeline"
    client_id: str = "kafka-pipeline"
    #: Kafka's idempotent producer; the embedded Tansu broker refuses it.
    enable_idempotence: bool = True
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"] | None = None
    sasl_username: str | None = None
    #: Prefer the KAFKA_PIPELINE_SASL_PASSWORD environment variable.
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    session_timeout_ms: int = Field(default=30_000, gt=0)
    max_poll_interval_ms: int = Field(default=300_000, gt=0)
    auto_offset_reset: Literal["earliest", "latest"] = "earliest"
    linger_ms: int = Field(default=5, ge=0)
    max_batch_size: int = Field(default=262_144, gt=0)

    @model_validator(mode="after")
    def _password_from_env(self) -> KafkaSettings:
        if self.sasl_password is None and os.environ.get(ENV_SASL_PASSWORD):
            object.__setattr__(self, "sasl_password", SecretStr(os.environ[ENV_SASL_PASSWORD]))
        return self


#: URI schemes deltalake can write to: S3, Azure Blob / ADLS Gen2, Google Cloud Storage, local files.
OBJECT_STORE_SCHEMES = ("s3", "s3a", "az", "azure", "abfs", "abfss", "gs", "file")


class TableSettings(_Strict):
    """One entry under ``delta.tables``: how a table is laid out when the worker creates it."""

    #: Partition columns, applied only when the table is created; an existing table keeps its layout.
    partition_by: list[str] = Field(default_factory=list)


class MaintenanceSettings(_Strict):
    """What ``kafka-pipeline maintain`` does to each table."""

    #: Compaction rewrites small files into files of about this size.
    target_file_size_mb: int = Field(default=128, gt=0)
    #: Vacuum deletes unreferenced files older than this; deltalake's safety minimum is 168.
    vacuum_retention_hours: int = Field(default=168, ge=0)
    #: Attempts of one step when a worker's commit wins the race.
    conflict_retries: int = Field(default=5, ge=0)


class DeltaSettings(_Strict):
    """Where and how often the standard processing writes Delta tables."""

    root: str = "./delta"
    #: A Delta append holds its rows several times over while it encodes them,
    #: so this bounds the worker's memory more than anything else does (the
    #: README's Benchmarks section: 50k rows took a worker to ~300 MiB).
    flush_max_rows: int = Field(default=20_000, gt=0)
    flush_max_seconds: float = Field(default=5.0, gt=0)
    #: Object-store credentials; prefer KAFKA_PIPELINE_STORAGE_OPTIONS (a JSON object).
    storage_options: dict[str, SecretStr] = Field(default_factory=dict)
    #: Only one process ever writes these tables: permits an S3 commit mode unsafe for several.
    single_writer: bool = False
    tables: dict[str, TableSettings] = Field(default_factory=dict)
    maintenance: MaintenanceSettings = Field(default_factory=MaintenanceSettings)

    @field_validator("root")
    @classmethod
    def _known_scheme(cls, root: str) -> str:
        scheme, sep, _ = root.partition("://")
        if sep and scheme.lower() not in OBJECT_STORE_SCHEMES:
            known = ", ".join(f"{s}://" for s in OBJECT_STORE_SCHEMES)
            raise ValueError(
                f"deltalake cannot write to {scheme}:// URIs; use a local path or one of {known}"
            )
        return root

    def partition_by(self, table: str) -> list[str]:
        settings = self.tables.get(table)
        return list(settings.partition_by) if settings is not None else []

    def resolved_storage_options(self) -> dict[str, str]:
        options = {k: v.get_secret_value() for k, v in self.storage_options.items()}
        env = os.environ.get(ENV_STORAGE_OPTIONS)
        if env:
            options.update({str(k): str(v) for k, v in json.loads(env).items()})
        return options


class ResilienceSettings(_Strict):
    """Per-plugin failure handling; each plugin may override any of these."""

    timeout_seconds: float = Field(default=5.0, gt=0)
    max_retries: int = Field(default=2, ge=0)
    retry_backoff_seconds: float = Field(default=0.05, ge=0)
    breaker_failure_threshold: int = Field(default=5, gt=0)
    breaker_reset_seconds: float = Field(default=30.0, gt=0)


class PluginSettings(_Strict):
    """One entry under ``plugins:``."""

    enabled: bool = True
    priority: int | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    timeout_seconds: float | None = Field(default=None, gt=0)
    max_retries: int | None = Field(default=None, ge=0)
    breaker_failure_threshold: int | None = Field(default=None, gt=0)
    breaker_reset_seconds: float | None = Field(default=None, gt=0)


class WorkerSettings(_Strict):
    """Consumer-loop tuning."""

    batch_max_records: int = Field(default=5_000, gt=0)
    poll_timeout_ms: int = Field(default=500, gt=0)
    max_buffered_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    delivery_retries: int = Field(default=5, ge=0)
    delivery_backoff_seconds: float = Field(default=0.5, ge=0)
    #: One attempt's wait for the broker: a routed batch's acknowledgement, an offset commit.
    #: 40 s is aiokafka's own request timeout.
    delivery_timeout_seconds: float = Field(default=40.0, gt=0)


class MetricsSettings(_Strict):
    """The Prometheus and health endpoint; off unless a port is given (0: any free port)."""

    port: int | None = Field(default=None, ge=0, le=65535)
    host: str = "0.0.0.0"
    #: Time one matched message in this many per plugin for ``kafka_pipeline_plugin_route_seconds``.
    route_timing_sample_every: int = Field(default=16, ge=1)


class PipelineConfig(_Strict):
    """The whole configuration file."""

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    source_topic: str | None = None
    dlq_topic: str | None = None
    delta: DeltaSettings = Field(default_factory=DeltaSettings)
    plugins: dict[str, PluginSettings] = Field(default_factory=dict)
    #: Only these plugins are imported; None means all installed.
    load: list[str] | None = None
    #: A plugin that fails to load stops start-up instead of being skipped.
    strict: bool = False
    resilience: ResilienceSettings = Field(default_factory=ResilienceSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)

    def secrets(self) -> list[str]:
        """Every secret value this configuration holds, for log redaction."""
        values = [v.get_secret_value() for v in self.delta.storage_options.values()]
        if self.kafka.sasl_password is not None:
            values.append(self.kafka.sasl_password.get_secret_value())
        values += self.delta.resolved_storage_options().values()
        return [v for v in values if v]

    def plugin(self, name: str) -> PluginSettings:
        return self.plugins.get(name) or PluginSettings()

    def with_overrides(self, **overrides: Any) -> PipelineConfig:
        """A copy with command-line overrides.

        ``bootstrap_servers``, ``group_id``, ``delta_root`` and ``metrics_port``;
        a value of None (an option not given) keeps the file's.
        """
        kafka = {k: v for k, v in overrides.items() if k in {"bootstrap_servers", "group_id"} and v}
        new = self.model_copy(update={"kafka": self.kafka.model_copy(update=kafka)})
        if overrides.get("delta_root"):
            new = new.model_copy(
                update={"delta": new.delta.model_copy(update={"root": str(overrides["delta_root"])})}
            )
        if overrides.get("metrics_port") is not None:
            port = int(overrides["metrics_port"])
            new = new.model_copy(update={"metrics": new.metrics.model_copy(update={"port": port})})
        return new


def parse_config(data: Mapping[str, Any] | None, source: str | None = None) -> PipelineConfig:
    """Validate a mapping; raises :class:`ConfigError` listing every problem with its path."""
    try:
        return PipelineConfig.model_validate(dict(data or {}))
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc), source=source) from None


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The YAML mapping in ``path``, not yet validated; raises :class:`ConfigError`."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([f"<file>: cannot read {path}: {exc.strerror}"], source=str(path)) from None
    except yaml.YAMLError as exc:
        # str(exc) quotes the offending line, which may hold a password: give its position only.
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ConfigError([f"<file>: not valid YAML{where}: {problem}"], source=str(path)) from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError(["<root>: expected a mapping at the top level"], source=str(path))
    return data or {}


def load_config(path: str | Path | None) -> PipelineConfig:
    """Read and validate a YAML file; ``None`` gives the defaults."""
    if path is None:
        return parse_config({})
    return parse_config(read_config_file(path), source=str(path))
