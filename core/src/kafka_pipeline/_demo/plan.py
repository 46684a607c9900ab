"""What a demo run will do, settled before any broker starts: domains, sample results, Delta root.

Everything here can fail on the user's input (an unknown domain, a Delta
root holding other data, no domain able to make samples); deciding it first
means such a mistake costs no broker start-up.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from kafka_pipeline._broker.topics import DEV_TOPIC_PARTITIONS
from kafka_pipeline._config import PipelineConfig
from kafka_pipeline._demo.input import InputError, input_records
from kafka_pipeline._demo.samples import SampleError, SampleRecord, sample_records
from kafka_pipeline._domain import Domain
from kafka_pipeline._errors import KafkaPipelineError
from kafka_pipeline._loading import Installation, discover

DEFAULT_MESSAGES: Final = 2000
DEFAULT_SEED: Final = 1
#: Relative to the working directory; the repository's .gitignore has ``demo-output/``.
DEFAULT_DELTA_ROOT: Final = Path("demo-output/delta")
#: Left in a Delta root the demo made, so that the next run may replace it and nothing else.
MARKER: Final = ".kafka-pipeline-demo"


class DemoError(KafkaPipelineError):
    """The demo cannot run: nothing to demonstrate, an unknown domain, or a Delta root it must not touch."""


@dataclass(frozen=True)
class DemoSettings:
    """What ``kafka-pipeline demo`` is asked to do."""

    #: Results produced per domain, about 1% of them invalid on purpose.
    messages: int = DEFAULT_MESSAGES
    seed: int = DEFAULT_SEED
    delta_root: Path = DEFAULT_DELTA_ROOT
    #: Partitions of every topic the demo creates.
    partitions: int = DEV_TOPIC_PARTITIONS
    #: Only these domains; empty means every installed domain.
    domains: tuple[str, ...] = ()
    #: A JSON Lines file of the one domain's results, produced instead of sample results.
    input: Path | None = None


@dataclass
class DemoPlan:
    """The domains that take part, each with the records to produce, and those left out."""

    settings: DemoSettings
    installation: Installation
    domains: list[Domain[Any]] = field(default_factory=list)
    samples: dict[str, list[SampleRecord]] = field(default_factory=dict)
    #: Domains left out, and why.
    skipped: dict[str, str] = field(default_factory=dict)


def plan_demo(settings: DemoSettings) -> DemoPlan:
    """Discover the domains, make their sample results and clear the Delta root.

    With ``settings.input``, the file's lines are the one domain's results
    instead. Raises :class:`DemoError` for an unknown domain, a Delta root
    with data the demo did not write, an input file that cannot be read or
    is empty, or when no domain can make sample results.
    """
    installation = discover(PipelineConfig(), strict=False)
    plan = DemoPlan(settings, installation)
    if settings.input is not None:
        _plan_input(plan, settings.input)
    else:
        _plan_samples(plan)
    if not plan.domains:
        raise DemoError(_nothing_to_demonstrate(installation, plan.skipped))
    _prepare_delta_root(settings.delta_root)
    return plan


def _plan_samples(plan: DemoPlan) -> None:
    """Every chosen domain with a sample factory, with its sample results."""
    settings = plan.settings
    for domain in _choose(plan.installation, settings.domains, plan.skipped):
        # Seeded per domain: installing another domain does not change this one's results.
        rng = random.Random(f"{settings.seed}:{domain.name}")
        try:
            plan.samples[domain.name] = sample_records(domain, settings.messages, rng)
        except SampleError as exc:
            plan.skipped[domain.name] = str(exc)
        else:
            plan.domains.append(domain)


def _plan_input(plan: DemoPlan, path: Path) -> None:
    """The one domain of ``--domain`` with the lines of ``path`` as its results."""
    if len(plan.settings.domains) != 1:
        raise DemoError("--input needs exactly one --domain: the domain whose results the file holds")
    [domain] = _choose(plan.installation, plan.settings.domains, plan.skipped, samples=False)
    try:
        plan.samples[domain.name] = input_records(domain, path)
    except InputError as exc:
        raise DemoError(str(exc)) from exc
    plan.domains.append(domain)


def _prepare_delta_root(root: Path) -> None:
    """An empty Delta root marked as the demo's; an earlier demo's is replaced, anything else refused."""
    if root.exists():
        if not root.is_dir():
            raise DemoError(f"--delta-root {root} is a file; name a directory (it is created if missing)")
        if any(root.iterdir()):
            if not (root / MARKER).exists():
                raise DemoError(
                    f"--delta-root {root} holds files that the demo did not write, and the demo starts "
                    "from empty tables; name a new or empty directory (or empty this one yourself)"
                )
            try:
                shutil.rmtree(root)
            except OSError as exc:
                raise DemoError(f"cannot replace the earlier demo's tables in {root}: {exc}") from exc
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text("Written by 'kafka-pipeline demo'; its next run replaces this directory.\n")


def _choose(
    installation: Installation, wanted: Sequence[str], skipped: dict[str, str], *, samples: bool = True
) -> list[Domain[Any]]:
    installed = installation.domains
    unknown = sorted(set(wanted) - set(installed))
    if unknown:
        known = ", ".join(sorted(installed)) or "none installed"
        raise DemoError(
            f"unknown domain {', '.join(map(repr, unknown))} (installed: {known}); "
            "'kafka-pipeline plugins' lists what is installed"
        )
    chosen = []
    for name in sorted(set(wanted) or installed):
        domain = installed[name]
        if samples and domain.sample is None:
            skipped[name] = "no sample factory (Domain.sample), so nothing to produce"
        else:
            chosen.append(domain)
    return chosen


def _nothing_to_demonstrate(installation: Installation, skipped: Mapping[str, str]) -> str:
    if not installation.domains:
        return (
            "no domain is installed, so there is nothing to demonstrate; install a domain package "
            "('kafka-pipeline plugins' lists what is installed)"
        )
    reasons = "; ".join(f"{name}: {why}" for name, why in sorted(skipped.items()))
    return f"no installed domain can make sample results ({reasons})"
