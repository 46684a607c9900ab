"""``kafka-pipeline check --storage``: the Delta root probed, and each table as the worker would find it."""

from __future__ import annotations

from collections.abc import Iterable

from kafka_pipeline._config import PipelineConfig
from kafka_pipeline._loading import Installation


def storage_report(
    config: PipelineConfig, installation: Installation, domains: Iterable[str]
) -> tuple[list[str], list[str]]:
    """``(lines to print, problems)`` for the root and the tables of ``domains``.

    Writes, reads and deletes a small table under the root and races a few
    commits there (see :func:`~kafka_pipeline._sinks.storage.probe_root`).
    """
    # deltalake and pyarrow only when asked for.
    from kafka_pipeline._sinks.delta import table_uri
    from kafka_pipeline._sinks.storage import commit_safety, probe_root, table_status

    settings = config.delta
    options = settings.resolved_storage_options()
    safety = commit_safety(settings, options)
    probe = probe_root(settings.root, options or None)
    lines = [f"storage: {settings.root} ({probe.kind})", f"  commits kept apart by: {safety.mechanism}"]
    lines += [f"  {finding}" for finding in probe.findings]
    problems = list(safety.problems)
    if not probe.ok:
        problems.append(f"delta.root: the probe of {settings.root} failed; its findings are above")
        return lines, problems
    known: set[str] = set()
    for name in sorted(domains):
        domain = installation.domain(name)
        for table in sorted(set(domain.tables.values())):
            known.add(table)
            try:
                status = table_status(table, table_uri(settings.root, table), domain.model, settings, options)
            except Exception as exc:  # one unreadable table must not hide the others
                problems.append(f"table {table!r} ({name}): cannot read it: {exc}")
                continue
            lines.append(f"  table {table} ({name}): {_describe(status)}")
            problems += list(status.problems)
    problems += [
        f"delta.tables.{t}: no table of the installed domains is named {t!r}"
        for t in sorted(settings.tables)
        if t not in known
    ]
    return lines, problems


def _describe(status: object) -> str:
    from kafka_pipeline._sinks.storage import TableStatus

    assert isinstance(status, TableStatus)
    if not status.exists:
        layout = f", partitioned by {list(status.partition_by)}" if status.partition_by else ""
        return f"not created yet (the first append creates it{layout})"
    layout = f"partitioned by {list(status.partition_by)}" if status.partition_by else "not partitioned"
    text = f"version {status.version}, {status.files} files, {layout}"
    plan = status.evolution
    if plan is not None and plan.problems:
        return f"{text}; schema: {len(plan.problems)} incompatible change(s), see below"
    if plan is not None and plan.added:
        return f"{text}; schema evolution due: the worker will add nullable column(s) {', '.join(plan.added)}"
    return f"{text}; schema up to date"
