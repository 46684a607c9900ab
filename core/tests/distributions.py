"""Fake installed distributions: a ``*.dist-info`` folder plus modules in a temp dir.

importlib.metadata finds them like any installed package once the folder is
on ``sys.path`` (in process) or ``PYTHONPATH`` (in a subprocess).
"""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path


def write_distribution(
    root: Path,
    name: str,
    version: str = "1.0.0",
    *,
    entry_points: Mapping[str, Mapping[str, str]] | None = None,
    modules: Mapping[str, str] | None = None,
    requires: Sequence[str] = (),
) -> Path:
    """Write distribution ``name`` under ``root`` and return ``root``.

    ``entry_points`` maps a group to ``{name: "module:attr"}``; ``modules``
    maps a dotted module name to its (dedented) source.
    """
    root.mkdir(parents=True, exist_ok=True)
    info = root / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    metadata = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    metadata += [f"Requires-Dist: {r}" for r in requires]
    (info / "METADATA").write_text("\n".join(metadata) + "\n")
    lines = []
    for group, eps in (entry_points or {}).items():
        lines.append(f"[{group}]")
        lines += [f"{ep} = {target}" for ep, target in eps.items()]
        lines.append("")
    (info / "entry_points.txt").write_text("\n".join(lines))
    for module, source in (modules or {}).items():
        path = root.joinpath(*module.split(".")).with_suffix(".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        for parent in path.relative_to(root).parents:
            if str(parent) != ".":
                (root / parent / "__init__.py").touch(exist_ok=True)
        path.write_text(textwrap.dedent(source))
    importlib.invalidate_caches()
    return root


def forget_modules(prefix: str) -> None:
    """Drop imported modules under ``prefix`` so the next import re-reads them."""
    for mod in [m for m in sys.modules if m == prefix or m.startswith(prefix + ".")]:
        del sys.modules[mod]
