"""A plugin package built and pip-installed like a user's, found by the installed command.

Nothing here touches core: the package is a real pyproject project in a
temporary folder, installed into a fresh virtualenv, and the virtualenv's
own ``kafka-pipeline`` executable is asked what it found.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# Builds two wheels and a virtualenv: a few seconds, so selectable with -m "not slow".
pytestmark = pytest.mark.slow

CORE = Path(__file__).resolve().parents[1]

PYPROJECT = """
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "kafka-pipeline-sprockets"
version = "3.2.1"
requires-python = ">=3.11"
dependencies = ["kafka-pipeline-core>=0.1"]

[project.entry-points."kafka_pipeline.domains"]
sprockets = "kafka_pipeline_sprockets:SPROCKETS"

[project.entry-points."kafka_pipeline.routing"]
sprocket-router = "kafka_pipeline_sprockets:SprocketRouter"

[tool.hatch.build.targets.wheel]
packages = ["src/kafka_pipeline_sprockets"]
"""

MODULE = '''
"""A domain and a routing plugin, packaged as a team would ship them."""

from typing import Literal

from pydantic import BaseModel

from kafka_pipeline import Domain, RoutingPlugin


class SprocketResult(BaseModel):
    trace_id: str
    status: Literal["completed", "failed", "failed_permanent"]
    teeth: int


SPROCKETS = Domain(
    name="sprockets",
    model=SprocketResult,
    source_topic="sprockets.results",
    tables={"completed": "sprockets"},
)


class SprocketRouter(RoutingPlugin[SprocketResult]):
    name = "sprocket-router"
    domain = "sprockets"

    def should_route(self, message: SprocketResult) -> bool:
        return message.teeth > 40

    async def route(self, message: SprocketResult) -> None:
        self.send_to_topic("sprockets.large", message)
'''


def run(*args: str | Path, cwd: Path | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_PIPELINE_", "PYTHONPATH"))}
    command = [str(a) for a in args]
    done = subprocess.run(command, check=False, capture_output=True, text=True, env=env, cwd=cwd)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def user_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with core and the sprockets package installed as wheels.

    Third-party dependencies (pydantic, pluggy, ...) come from this test's own
    environment through a ``.pth`` file, so that nothing is downloaded.
    """
    root = tmp_path_factory.mktemp("outside")
    project = root / "kafka-pipeline-sprockets"
    (project / "src" / "kafka_pipeline_sprockets").mkdir(parents=True)
    (project / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT))
    (project / "src" / "kafka_pipeline_sprockets" / "__init__.py").write_text(textwrap.dedent(MODULE))

    venv = root / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    purelib = run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").strip()
    parents = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (Path(purelib) / "_outer_environment.pth").write_text(
        "".join(f"import site; site.addsitedir({p!r})\n" for p in parents)
    )
    pip = (python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index")
    run(*pip, CORE, project, cwd=root)
    return venv


def test_a_pip_installed_plugin_package_is_found_by_the_installed_command(user_venv: Path) -> None:
    listing = json.loads(run(user_venv / "bin" / "kafka-pipeline", "plugins", "--json"))

    plugin = next(p for p in listing["plugins"] if p["name"] == "sprocket-router")
    assert (plugin["distribution"], plugin["version"], plugin["domains"], plugin["status"]) == (
        "kafka-pipeline-sprockets",
        "3.2.1",
        ["sprockets"],
        "loaded",
    )
    assert plugin["requires_core"] == ">=0.1"


def test_the_installed_plugin_routes_in_a_dry_run(user_venv: Path, tmp_path: Path) -> None:
    messages = tmp_path / "sprockets.jsonl"
    messages.write_text('{"trace_id": "s-1", "status": "completed", "teeth": 48}\n')

    out = run(user_venv / "bin" / "kafka-pipeline", "route", "--domain", "sprockets", "--json", messages)

    assert json.loads(out)["sent"] == [
        {"plugin": "sprocket-router", "topic": "sprockets.large", "key": "s-1"}
    ]
