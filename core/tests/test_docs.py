"""The reference docs keep up with the code: every hook and every config key is documented.

The lists come from the code (``HOOK_NAMES``, the pydantic models), so a hook
or a setting added without its documentation fails here. The docs are read
from the checkout this test runs in.
"""

from __future__ import annotations

import importlib
import inspect
import re
import types
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel

from kafka_pipeline._config import ENV_SASL_PASSWORD, ENV_STORAGE_OPTIONS, PipelineConfig
from kafka_pipeline._discovery import ENV_LOAD_PLUGINS, ENV_STRICT_PLUGINS
from kafka_pipeline._plugin import RoutingPlugin
from kafka_pipeline.hookspecs import HOOK_NAMES
from kafka_pipeline.testing.pytest_plugin import ENV_BOOTSTRAP_SERVERS

DOCS = Path(__file__).resolve().parents[2] / "docs"

# A mapping of names to settings (``plugins``) is documented once, with this placeholder.
NAME_PLACEHOLDER = "<name>"


def read_doc(name: str) -> str:
    path = DOCS / name
    if not path.is_file():
        pytest.fail(f"{path} is missing; the docs live in docs/ at the top of the repository")
    return path.read_text(encoding="utf-8")


def sections(markdown: str) -> dict[str, str]:
    """Each heading's text, mapped to its body up to the next heading of the same or a higher level."""
    lines = markdown.splitlines()
    headings = [
        (i, len(m.group(1)), m.group(2))
        for i, line in enumerate(lines)
        if (m := re.match(r"(#{1,6})\s+(.*)", line))
    ]
    found = {}
    for n, (start, level, title) in enumerate(headings):
        end = next((i for i, lvl, _ in headings[n + 1 :] if lvl <= level), len(lines))
        found[title] = "\n".join(lines[start + 1 : end])
    return found


def hook_signature(hook: str) -> str:
    """The signature a plugin author writes, as in ``async def route(self, message: T) -> None``."""
    method = getattr(RoutingPlugin, hook)
    signature = inspect.signature(method)
    params = ", ".join(
        p.name if p.annotation is p.empty else f"{p.name}: {p.annotation}"
        for p in signature.parameters.values()
    )
    kind = "async def" if inspect.iscoroutinefunction(method) else "def"
    return f"{kind} {hook}({params}) -> {signature.return_annotation}"


def _nested_model(annotation: object) -> tuple[type[BaseModel], str] | None:
    """The settings model inside a field's type, and the key segment that leads into it."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, ""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is dict and len(args) == 2:
        inner = _nested_model(args[1])
        return (inner[0], f".{NAME_PLACEHOLDER}") if inner else None
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            if (inner := _nested_model(arg)) is not None:
                return inner
    return None


def config_keys(model: type[BaseModel] = PipelineConfig, prefix: str = "") -> Iterator[str]:
    """Every key path of the configuration, e.g. ``kafka.sasl_password``, ``plugins.<name>.enabled``."""
    for name, field in model.model_fields.items():
        key = prefix + (field.alias or name)
        yield key
        nested = _nested_model(field.annotation)
        if nested is not None:
            yield from config_keys(nested[0], f"{key}{nested[1]}.")


def test_the_config_walk_reaches_nested_and_per_plugin_keys() -> None:
    keys = set(config_keys())

    assert {"kafka.sasl_password", "delta.flush_max_rows", "plugins.<name>.timeout_seconds"} <= keys


@pytest.mark.parametrize("hook", sorted(HOOK_NAMES))
def test_every_hook_has_a_section_with_its_signature(hook: str) -> None:
    hook_sections = [body for title, body in sections(read_doc("hooks.md")).items() if f"`{hook}`" in title]

    assert hook_sections, f"docs/hooks.md has no heading naming `{hook}`"
    assert any(hook_signature(hook) in body for body in hook_sections), (
        f"the `{hook}` section of docs/hooks.md does not show its signature: {hook_signature(hook)}"
    )


@pytest.mark.parametrize("key", list(config_keys()))
def test_every_config_key_is_documented(key: str) -> None:
    assert f"`{key}`" in read_doc("configuration.md"), f"docs/configuration.md does not document `{key}`"


@pytest.mark.parametrize(
    "variable",
    [
        ENV_LOAD_PLUGINS,
        ENV_STRICT_PLUGINS,
        ENV_SASL_PASSWORD,
        ENV_STORAGE_OPTIONS,
        ENV_BOOTSTRAP_SERVERS,
    ],
)
def test_every_environment_variable_is_documented(variable: str) -> None:
    assert f"`{variable}`" in read_doc("configuration.md")


@pytest.mark.parametrize("module", ["kafka_pipeline", "kafka_pipeline.testing"])
def test_every_public_name_is_in_the_api_reference(module: str) -> None:
    exported = importlib.import_module(module).__all__
    documented = set(re.findall(r"`([A-Za-z_]+)`", read_doc("api.md")))

    assert sorted(set(exported) - documented) == []
