"""The pipeline configuration: one YAML file, validated with pydantic.

Every error names its path (``plugins.failure-alerter.config.min_retries``)
and never quotes a value: the value may be a password. Secrets may be given
in the file but are better set in the environment
(``KAFKA_PIPELINE_SASL_PASSWORD``, ``KAFKA_PIPELINE_STORAGE_OPTIONS``); they
are ``SecretStr`` and never printed. Of the storage options, those whose
names say they are credentials (:func:`is_credential_option`) are also
masked in the logs.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal

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

from kafka_pipeline._errors import ConfigError, format_validation_error

ENV_SASL_PASSWORD = "KAFKA_PIPELINE_SASL_PASSWORD"
ENV_STORAGE_OPTIONS = "KAFKA_PIPELINE_STORAGE_OPTIONS"

#: A storage option whose name holds one of these (in any case) is a credential.
CREDENTIAL_WORDS: Final = ("key", "secret", "token", "password", "sas", "credential", "connection_string")


def is_credential_option(name: str) -> bool:
    """Whether the storage option ``name`` holds a credential, whose value the logs must mask.

    ``AWS_SECRET_ACCESS_KEY``, ``azure_storage_sas_token``, ``connection string``
    are; ``AWS_REGION``, ``max_retries``, ``allow_http`` are not: masking
    their values would only mangle every log line that happens to contain them.
    """
    folded = re.sub(r"[\s-]+", "_", name.lower())
    return any(word in folded for word in CREDENTIAL_WORDS)


def _option_text(value: object) -> str:
    # deltalake takes strings; YAML and JSON give numbers and booleans as such.
    return str(value).lower() if isinstance(value, bool) else str(value)


def storage_options_from_env() -> dict[str, str]:
    """The options in ``KAFKA_PIPELINE_STORAGE_OPTIONS``; raises :class:`ConfigError` without showing them."""
    raw = os.environ.get(ENV_STORAGE_OPTIONS)
    if not raw:
        return {}
    hint = (
        f"set {ENV_STORAGE_OPTIONS} to a JSON object of option names and values, "
        'e.g. {"AWS_REGION": "eu-west-1", "AWS_SECRET_ACCESS_KEY": "..."}'
    )
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        # The message and the position only, never the document.
        problem = (
            f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}; the value is not shown)"
        )
        raise ConfigError([f"{ENV_STORAGE_OPTIONS} (environment): {problem}; {hint}"]) from None
    if not isinstance(data, dict):
        kind = type(data).__name__.replace("dict", "object").replace("list", "array")
        raise ConfigError([f"{ENV_STORAGE_OPTIONS} (environment): a JSON {kind}, not an object; {hint}"])
    nested = sorted(k for k, v in data.items() if not isinstance(v, str | int | float | bool))
    if nested:
        raise ConfigError(
            [f"{ENV_STORAGE_OPTIONS} (environment): {', '.join(nested)}: the value must be a string; {hint}"]
        )
    return {str(k): _option_text(v) for k, v in data.items()}


def environment_problems() -> list[str]:
    """What is wrong with the configuration given in environment variables, one line per problem."""
    try:
        storage_options_from_env()
    except ConfigError as exc:
        return exc.problems
    return []


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
    #: Object-store options; credentials better in KAFKA_PIPELINE_STORAGE_OPTIONS (a JSON object).
    #: Every value is a SecretStr, never printed; only credentials are masked in logs.
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

    @field_validator("storage_options", mode="before")
    @classmethod
    def _scalars_as_text(cls, value: Any) -> Any:
        # ``max_retries: 3`` is as good as ``max_retries: "3"``.
        if isinstance(value, dict):
            return {k: _option_text(v) if isinstance(v, int | float | bool) else v for k, v in value.items()}
        return value

    def resolved_storage_options(self) -> dict[str, str]:
        """The file's options with the environment's merged over them; raises :class:`ConfigError`."""
        options = {k: v.get_secret_value() for k, v in self.storage_options.items()}
        options.update(storage_options_from_env())
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
        """The values the logs must mask: the SASL password and the credential storage options."""
        values = [v for k, v in self.delta.resolved_storage_options().items() if is_credential_option(k)]
        if self.kafka.sasl_password is not None:
            values.append(self.kafka.sasl_password.get_secret_value())
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


class _DuplicateKeyError(Exception):
    def __init__(self, path: str, line: int, first_line: int) -> None:
        super().__init__(path)
        self.path, self.line, self.first_line = path, line, first_line


_MERGE_TAG: Final = "tag:yaml.org,2002:merge"


def _refuse_duplicate_keys(node: yaml.Node, path: str, seen: set[int]) -> None:
    if id(node) in seen:  # an alias: checked where its anchor is (and it may point back up)
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first: dict[tuple[str, str], int] = {}
        for key, value in node.value:
            name = str(key.value) if isinstance(key, yaml.ScalarNode) else "?"
            where = f"{path}.{name}" if path else name
            if isinstance(key, yaml.ScalarNode) and key.tag != _MERGE_TAG:
                line = key.start_mark.line + 1
                if (key.tag, key.value) in first:
                    raise _DuplicateKeyError(where, line, first[key.tag, key.value])
                first[key.tag, key.value] = line
            _refuse_duplicate_keys(value, where, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _refuse_duplicate_keys(item, f"{path}[{i}]", seen)


class UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a mapping key given twice.

    Plain YAML keeps the last of two equal keys without a word, so a second
    ``kafka:`` section silently replaces the first.
    """

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        _refuse_duplicate_keys(node, "", set())
        return self.construct_document(node)


# A quoted token in a YAML problem may be a value (``found undefined alias 'pw'`` for a password
# that starts with ``*``). Kept: token kinds (``'<block end>'``) and a single (maybe escaped) character.
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'" r'|"(?:[^"\\]|\\.)*"')
_HARMLESS = re.compile(r"<[a-z ]+>|\\(?:[a-z0-9]|x[0-9a-f]{2})|.", re.DOTALL)


def _without_values(problem: str) -> str:
    def hide(quoted: re.Match[str]) -> str:
        return quoted[0] if _HARMLESS.fullmatch(quoted[0][1:-1]) else "(value not shown)"

    return _QUOTED.sub(hide, problem)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.reader.ReaderError):
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        return f"not valid YAML at character {exc.position + 1}: {exc.reason} (#x{code:04x})"
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or type(exc).__name__
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and context_mark is not None and context_mark is not mark:
        # e.g. "found duplicate anchor 'a'; first occurrence" + "second occurrence"
        problem = f"{context} (line {context_mark.line + 1}), {problem}"
    return f"not valid YAML{where}: {_without_values(problem)}"


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The YAML mapping in ``path``, not yet validated; raises :class:`ConfigError`.

    No message quotes the file: a problem is given by its position.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError([f"<file>: cannot read {path}: {exc.strerror}"], source=str(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - raw.rfind(b"\n", 0, exc.start)
        problem = (
            f"<file>: not UTF-8 text: byte {exc.start} (line {line}, column {column}) is not valid "
            "UTF-8; save the file as UTF-8"
        )
        raise ConfigError([problem], source=str(path)) from None
    try:
        data = yaml.load(text, Loader=UniqueKeyLoader)
    except _DuplicateKeyError as exc:
        problem = (
            f"{exc.path}: given twice, at lines {exc.first_line} and {exc.line}; YAML would silently "
            "keep only the last one: delete one of them"
        )
        raise ConfigError([problem], source=str(path)) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"<file>: {_yaml_problem(exc)}"], source=str(path)) from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError(["<root>: expected a mapping at the top level"], source=str(path))
    return data or {}


def load_config(path: str | Path | None) -> PipelineConfig:
    """Read and validate a YAML file and the environment; ``None`` gives the defaults.

    Raises :class:`ConfigError` listing every problem, of the file and of the environment.
    """
    source = None if path is None else str(path)
    data = {} if path is None else read_config_file(path)
    problems = environment_problems()
    try:
        config = parse_config(data, source=source)
    except ConfigError as exc:
        raise ConfigError(exc.problems + problems, source=source) from None
    if problems:
        raise ConfigError(problems, source=source)
    return config
