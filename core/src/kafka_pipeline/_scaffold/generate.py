"""Planning and writing a new routing-plugin package from the templates.

Everything is validated and rendered before anything is written, so a
refused name or domain leaves no half-made folder behind. The generated
plugin imports the domain's real model class, and its tests draw messages
from the domain's own ``sample`` factory: that is why the domain must be
installed, and why its samples are tried here first.
"""

from __future__ import annotations

import keyword
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any, Final

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from kafka_pipeline._discovery import CORE_DISTRIBUTION, DomainRecord, core_version, discover_domains
from kafka_pipeline._domain import Domain
from kafka_pipeline._errors import KafkaPipelineError
from kafka_pipeline._protocols import Routable

_PLUGIN_NAME: Final = re.compile(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*")
# PEP 508 names, as packaging and pip accept them.
_DISTRIBUTION_NAME: Final = re.compile(r"[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?", re.IGNORECASE)
#: How many sample messages are tried to choose the status the default rule routes.
SAMPLE_TRIES: Final = 200
#: The status routed by default when the samples have it: the one people alert on.
PREFERRED_STATUS: Final = "failed_permanent"

# output path (``{package}`` filled in) -> template file, None for an empty file
_LAYOUT: Final[dict[str, str | None]] = {
    "pyproject.toml": "pyproject.toml.tmpl",
    "README.md": "README.md.tmpl",
    "CHANGELOG.md": "CHANGELOG.md.tmpl",
    "src/{package}/__init__.py": "__init__.py.tmpl",
    "src/{package}/plugin.py": "plugin.py.tmpl",
    "src/{package}/py.typed": None,
    "tests/test_plugin.py": "test_plugin.py.tmpl",
}


class ScaffoldError(KafkaPipelineError):
    """The plugin package cannot be created; ``param`` names the input at fault."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        self.param = param
        super().__init__(message)


@dataclass(frozen=True)
class PluginPackage:
    """A rendered plugin package: where it goes and the text of every file."""

    name: str
    domain: str
    distribution: str
    package: str
    class_name: str
    root: Path
    files: dict[str, str] = field(repr=False)

    def write(self) -> list[Path]:
        """Create the files under ``root`` (which must be missing or empty)."""
        _check_target(self.root)
        written = []
        for relative, text in self.files.items():
            path = self.root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
        return written


def compatible_core_requirement(version: str | None = None) -> str:
    """``kafka-pipeline-core>=X.Y,<X.(Y+1)`` for the installed (or given) core version X.Y.Z.

    Core may break plugins between minor releases while it is young, and
    discovery skips a plugin whose range excludes the running core.
    """
    try:
        release = Version(version or core_version()).release
    except InvalidVersion as exc:
        raise ScaffoldError(f"cannot derive a core version range from {version!r}: {exc}") from exc
    major, minor = (*release, 0)[:2]
    return f"{CORE_DISTRIBUTION}>={major}.{minor},<{major}.{minor + 1}"


def _check_name(name: str) -> None:
    if _PLUGIN_NAME.fullmatch(name):
        return
    suggestion = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    hint = f" such as {suggestion!r}" if suggestion and _PLUGIN_NAME.fullmatch(suggestion) else ""
    raise ScaffoldError(
        f"invalid plugin name {name!r}: it becomes the entry-point name and part of the "
        "distribution and import package names, so use lowercase letters and digits, words "
        f"joined by single '-' or '_', starting with a letter{hint}",
        param="NAME",
    )


def _import_package(distribution: str) -> str:
    if not _DISTRIBUTION_NAME.fullmatch(distribution):
        raise ScaffoldError(
            f"invalid package name {distribution!r}: a distribution name has letters, digits, "
            "'.', '-' or '_', and starts and ends with a letter or digit",
            param="--package-name",
        )
    package = str(canonicalize_name(distribution)).replace("-", "_").replace(".", "_")
    if not package.isidentifier() or keyword.iskeyword(package) or package == "kafka_pipeline":
        raise ScaffoldError(
            f"package name {distribution!r} gives the import package {package!r}, which is not a "
            "usable Python package name; choose a --package-name that starts with a letter",
            param="--package-name",
        )
    return package


def _class_name(name: str) -> str:
    words = "".join(word.capitalize() for word in re.split(r"[-_]", name))
    return words if words.endswith("Plugin") else f"{words}Plugin"


def _check_target(root: Path) -> None:
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ScaffoldError(
            f"target {root} already exists and is not an empty directory; "
            "pass another with --dir, or remove it first",
            param="--dir",
        )


def _find_domain(name: str) -> DomainRecord:
    records = {r.name: r for r in discover_domains()}
    record = records.get(name)
    if record is None:
        known = ", ".join(sorted(records)) or "none installed"
        raise ScaffoldError(
            f"unknown domain {name!r} (installed: {known}); install the package that provides "
            "it first: the generated plugin imports that domain's message model",
            param="--domain",
        )
    if record.domain is None:
        raise ScaffoldError(
            f"domain {name!r} from {record.distribution or '?'} {record.version or '?'} failed to "
            f"load: {record.error}; fix or reinstall that package ('kafka-pipeline plugins' shows it)",
            param="--domain",
        )
    return record


def _routed_status(domain: Domain[Any]) -> str:
    """A status the default rule routes, chosen so that the samples also hold others."""
    if domain.sample is None:
        raise ScaffoldError(
            f"domain {domain.name!r} has no sample factory, and the generated tests build their "
            "messages with it; ask its maintainers to set Domain(sample=...), or write the plugin "
            "by hand (docs/tutorial.md explains every file)",
            param="--domain",
        )
    rng = random.Random(0)
    counts: Counter[str] = Counter()
    for _ in range(SAMPLE_TRIES):
        raw = domain.sample(rng)
        try:
            counts[domain.status(domain.model.model_validate(raw))] += 1
        except Exception as exc:  # a sample its own model or status function refuses
            raise ScaffoldError(
                f"the sample factory of domain {domain.name!r} made a message its model refuses "
                f"({type(exc).__name__}: {exc}); report this to the domain's maintainers",
                param="--domain",
            ) from exc
    if len(counts) < 2:
        raise ScaffoldError(
            f"{SAMPLE_TRIES} samples of domain {domain.name!r} all have status "
            f"{next(iter(counts))!r}; the generated tests need one message the rule routes "
            "and one it does not",
            param="--domain",
        )
    if PREFERRED_STATUS in counts:
        return PREFERRED_STATUS
    return min(counts, key=lambda status: (counts[status], status))


def _import_block(imports: dict[str, set[str]]) -> str:
    """``from m import a, B`` lines in the order ruff's isort wants them."""

    def name_order(name: str) -> tuple[int, str]:
        kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
        return kind, name

    return "\n".join(
        f"from {module} import {', '.join(sorted(names, key=name_order))}"
        for module, names in sorted(imports.items(), key=lambda item: item[0].lower())
    )


def _plugin_code_context(record: DomainRecord) -> dict[str, str]:
    domain = record.domain
    assert domain is not None  # _find_domain checked it
    model = domain.model
    if model.__module__ == "__main__" or "<locals>" in model.__qualname__:
        raise ScaffoldError(
            f"the model of domain {domain.name!r} ({model.__qualname__}) cannot be imported by "
            "name from another package",
            param="--domain",
        )
    imports: dict[str, set[str]] = {
        "kafka_pipeline": {"RoutingPlugin"},
        "pydantic": {"BaseModel", "Field"},
        model.__module__: {model.__qualname__.split(".")[0]},
    }
    if domain.satisfies(Routable):
        status_expression = "message.status"
    else:
        # No ``status`` on the model: ask the Domain object, which knows how to derive it.
        module, _, attribute = record.entry_point.partition(":")
        imports.setdefault(module.strip(), set()).add(attribute.strip().split(".")[0])
        status_expression = f"{attribute.strip()}.status(message)"
    return {
        "imports": _import_block(imports),
        "model": model.__qualname__,
        "status_expression": status_expression,
    }


def _dependencies(record: DomainRecord, core_requirement: str) -> str:
    requirements = [core_requirement]
    if record.distribution and record.version and canonicalize_name(record.distribution) != CORE_DISTRIBUTION:
        try:
            major, minor = (*Version(record.version).release, 0)[:2]
            requirements.append(f"{record.distribution}>={major}.{minor}")
        except InvalidVersion:
            requirements.append(record.distribution)
    requirements.append("pydantic>=2.7,<3")
    return "".join(f'    "{r}",\n' for r in requirements)


def _render(template: str | None, context: dict[str, str]) -> str:
    if template is None:
        return ""
    text = resources.files("kafka_pipeline._scaffold").joinpath("templates", template).read_text("utf-8")
    return Template(text).substitute(context)


def plan_plugin_package(
    name: str,
    domain: str,
    *,
    directory: Path | None = None,
    package_name: str | None = None,
    core_requirement: str | None = None,
) -> PluginPackage:
    """Validate the inputs and render every file, writing nothing.

    ``directory`` defaults to ``./<distribution>``; ``package_name`` (the
    distribution) to ``kafka-pipeline-<name>``, and the import package is
    derived from it.
    """
    _check_name(name)
    distribution = package_name or f"kafka-pipeline-{name}"
    package = _import_package(distribution)
    root = (directory or Path.cwd() / distribution).absolute()
    _check_target(root)
    record = _find_domain(domain)
    assert record.domain is not None
    class_name = _class_name(name)
    context = {
        "name": name,
        "domain": domain,
        "distribution": distribution,
        "package": package,
        "class_name": class_name,
        "default_topic": f"{domain}.{name}",
        "routed_status": _routed_status(record.domain),
        "dependencies": _dependencies(record, core_requirement or compatible_core_requirement()),
        **_plugin_code_context(record),
    }
    files = {path.format(package=package): _render(t, context) for path, t in _LAYOUT.items()}
    return PluginPackage(name, domain, distribution, package, class_name, root, files)


def create_plugin_package(
    name: str,
    domain: str,
    *,
    directory: Path | None = None,
    package_name: str | None = None,
) -> PluginPackage:
    """Plan the package (see :func:`plan_plugin_package`), then write it."""
    planned = plan_plugin_package(name, domain, directory=directory, package_name=package_name)
    planned.write()
    return planned
