"""Every module of core sits in a layer of ``.importlinter``: one left out would escape the contract."""

from __future__ import annotations

import configparser
import pkgutil
from pathlib import Path

import kafka_pipeline

CONTRACT = Path(__file__).resolve().parents[2] / ".importlinter"


def layered_modules() -> set[str]:
    parser = configparser.ConfigParser()
    parser.read(CONTRACT, encoding="utf-8")
    layers = parser["importlinter:contract:layers"]["layers"]
    return {name.strip() for line in layers.splitlines() for name in line.split("|") if name.strip()}


def test_every_module_of_core_is_in_a_layer() -> None:
    children = {module.name for module in pkgutil.iter_modules(kafka_pipeline.__path__)}

    assert sorted(children - layered_modules()) == []
