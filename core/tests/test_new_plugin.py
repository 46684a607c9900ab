"""``kafka-pipeline new-plugin``: a package that installs, is discovered and passes its own tests."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from distributions import forget_modules, write_distribution
from packaging.requirements import Requirement
from packaging.version import Version
from widget_domain import install_gadgets, install_widgets

from kafka_pipeline import __version__ as core_version
from kafka_pipeline._cli import main
from kafka_pipeline._scaffold.generate import compatible_core_requirement

# The CLI as the console script runs it, for an interpreter that has no script of its own.
CLI = "from kafka_pipeline._cli import main; main(prog_name='kafka-pipeline')"

GENERATED_FILES = {
    "pyproject.toml",
    "README.md",
    "CHANGELOG.md",
    "src/kafka_pipeline_red_alert/__init__.py",
    "src/kafka_pipeline_red_alert/plugin.py",
    "src/kafka_pipeline_red_alert/py.typed",
    "tests/test_plugin.py",
}


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def widgets_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The widgets domain installed for this process; the test's cwd is an empty folder."""
    root = install_widgets(tmp_path / "site")
    monkeypatch.syspath_prepend(str(root))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    yield root
    forget_modules("widgets_domain")
    forget_modules("sampleless_domain")


def new_plugin(*args: str) -> Result:
    return CliRunner().invoke(main, ["new-plugin", *args])


# -- what it writes -----------------------------------------------------------


@pytest.mark.usefixtures("widgets_site")
def test_writes_the_package_into_a_folder_named_after_the_distribution() -> None:
    result = new_plugin("red-alert", "--domain", "widgets")

    assert result.exit_code == 0, result.output
    assert files_under(Path("kafka-pipeline-red-alert")) == GENERATED_FILES


@pytest.mark.usefixtures("widgets_site")
def test_registers_the_plugin_class_under_its_name_in_the_routing_group() -> None:
    new_plugin("red-alert", "--domain", "widgets", "--dir", "pkg")

    project = tomllib.loads(Path("pkg/pyproject.toml").read_text())

    assert project["project"]["entry-points"]["kafka_pipeline.routing"] == {
        "red-alert": "kafka_pipeline_red_alert.plugin:RedAlertPlugin"
    }


@pytest.mark.usefixtures("widgets_site")
@pytest.mark.parametrize("file", ["README.md", "src/kafka_pipeline_red_alert/plugin.py"])
def test_the_readme_and_the_plugin_say_where_the_message_fields_are_listed(file: str) -> None:
    new_plugin("red-alert", "--domain", "widgets", "--dir", "pkg")

    assert "kafka-pipeline domains --domain widgets" in Path("pkg", file).read_text()


@pytest.mark.usefixtures("widgets_site")
def test_package_name_sets_the_distribution_and_the_import_package() -> None:
    new_plugin("red-alert", "--domain", "widgets", "--dir", "pkg", "--package-name", "acme-widget-rules")

    project = tomllib.loads(Path("pkg/pyproject.toml").read_text())["project"]

    assert (project["name"], project["entry-points"]["kafka_pipeline.routing"]["red-alert"]) == (
        "acme-widget-rules",
        "acme_widget_rules.plugin:RedAlertPlugin",
    )


@pytest.mark.usefixtures("widgets_site")
def test_requires_the_installed_core_minor_release_and_no_other() -> None:
    new_plugin("red-alert", "--domain", "widgets", "--dir", "pkg")
    dependencies = tomllib.loads(Path("pkg/pyproject.toml").read_text())["project"]["dependencies"]
    [core] = [Requirement(d) for d in dependencies if Requirement(d).name == "kafka-pipeline-core"]
    installed = Version(core_version)
    next_minor = Version(f"{installed.major}.{installed.minor + 1}.0")

    assert (installed in core.specifier, next_minor in core.specifier) == (True, False)


def test_core_requirement_spans_exactly_one_minor_release() -> None:
    assert compatible_core_requirement("1.12.3") == "kafka-pipeline-core>=1.12,<1.13"


# -- what it refuses ------------------------------------------------------------


@pytest.mark.usefixtures("widgets_site")
def test_refuses_a_target_folder_that_is_not_empty_and_leaves_it_alone() -> None:
    Path("pkg").mkdir()
    Path("pkg/notes.txt").write_text("mine")

    result = new_plugin("red-alert", "--domain", "widgets", "--dir", "pkg")

    assert (result.exit_code, files_under(Path("pkg"))) == (2, {"notes.txt"})
    assert "already exists and is not an empty directory" in result.output


@pytest.mark.usefixtures("widgets_site")
def test_accepts_an_existing_empty_target_folder() -> None:
    Path("pkg").mkdir()

    result = new_plugin("red-alert", "--domain", "widgets", "--dir", "pkg")

    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("name", ["Red-Alert", "red alert", "9-lives", "red--alert", "red-", "réd"])
@pytest.mark.usefixtures("widgets_site")
def test_refuses_a_name_that_is_not_a_clean_entry_point_name(name: str) -> None:
    result = new_plugin(name, "--domain", "widgets", "--dir", "pkg")

    assert (result.exit_code, Path("pkg").exists()) == (2, False)
    assert f"invalid plugin name {name!r}" in result.output


@pytest.mark.usefixtures("widgets_site")
def test_suggests_a_valid_spelling_of_a_refused_name() -> None:
    result = new_plugin("Red Alert", "--domain", "widgets")

    assert "such as 'red-alert'" in result.output


@pytest.mark.usefixtures("widgets_site")
def test_refuses_an_unknown_domain_and_lists_the_installed_ones() -> None:
    result = new_plugin("red-alert", "--domain", "widgetz", "--dir", "pkg")

    assert (result.exit_code, Path("pkg").exists()) == (2, False)
    assert "unknown domain 'widgetz' (installed: " in result.output
    assert "widgets" in result.output.split("(installed: ")[1]


@pytest.mark.usefixtures("widgets_site")
def test_refuses_a_package_name_that_is_no_distribution_name() -> None:
    result = new_plugin("red-alert", "--domain", "widgets", "--package-name", "-acme rules")

    assert result.exit_code == 2
    assert "invalid package name '-acme rules'" in result.output


def test_refuses_a_domain_without_a_sample_factory(widgets_site: Path) -> None:
    write_distribution(
        widgets_site,
        "kafka-pipeline-sampleless",
        entry_points={"kafka_pipeline.domains": {"sampleless": "sampleless_domain:SAMPLELESS"}},
        modules={
            "sampleless_domain": """
                from widgets_domain import WidgetResult
                from kafka_pipeline import Domain
                SAMPLELESS = Domain(name="sampleless", model=WidgetResult, source_topic="s")
            """
        },
    )

    result = new_plugin("red-alert", "--domain", "sampleless", "--dir", "pkg")

    assert result.exit_code == 2
    assert "domain 'sampleless' has no sample factory" in result.output


# -- the promise: install it, and it is discovered and tested -------------------


@dataclass
class Venv:
    """A throwaway virtualenv that sees this environment's packages but installs into its own."""

    root: Path

    @property
    def python(self) -> Path:
        return self.root / ("Scripts" if os.name == "nt" else "bin") / "python"

    @property
    def site_packages(self) -> Path:
        return Path(
            self.run("-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
        )

    def run(
        self, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        clean = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("KAFKA_PIPELINE_", "PYTEST_")) and k not in {"PYTHONPATH", "VIRTUAL_ENV"}
        }
        return subprocess.run(
            [str(self.python), *args],
            cwd=cwd,
            env={**clean, **(env or {})},
            capture_output=True,
            text=True,
            check=False,
        )

    def kafka_pipeline(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return self.run("-c", CLI, *args, cwd=cwd)


def make_venv(root: Path) -> Venv:
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(root)], check=True
    )
    venv = Venv(root)
    # Made from inside a virtualenv, --system-site-packages reaches the base
    # interpreter's packages, not this environment's (core, pytest, hatchling).
    lines = [f"import site; site.addsitedir({d!r})\n" for d in site.getsitepackages() if Path(d).is_dir()]
    (venv.site_packages / "_test_parent_environment.pth").write_text("".join(lines))
    return venv


def checked(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"{result.args} failed:\n{result.stdout}\n{result.stderr}"
    return result


@dataclass
class InstalledPlugin:
    venv: Venv
    source: Path
    domain: str


INSTALLERS: dict[str, Callable[[Path], Path]] = {"widgets": install_widgets, "gadgets": install_gadgets}


@pytest.fixture(scope="module", params=sorted(INSTALLERS))
def installed_plugin(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> InstalledPlugin:
    """``new-plugin watch`` for a domain, run and pip-installed in a fresh virtualenv.

    ``widgets`` messages carry their status; ``gadgets`` messages do not, and
    the generated rule must ask the domain for it.
    """
    domain: str = request.param
    tmp = tmp_path_factory.mktemp(domain)
    venv = make_venv(tmp / "venv")
    INSTALLERS[domain](venv.site_packages)
    source = tmp / "kafka-pipeline-watch"
    checked(venv.kafka_pipeline("new-plugin", "watch", "--domain", domain, "--dir", str(source)))
    pip = ("-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index")
    checked(venv.run(*pip, str(source)))
    return InstalledPlugin(venv, source, domain)


@pytest.mark.slow
def test_the_installed_new_plugin_is_discovered_and_loaded(installed_plugin: InstalledPlugin) -> None:
    listing = json.loads(checked(installed_plugin.venv.kafka_pipeline("plugins", "--json")).stdout)

    [watch] = [p for p in listing["plugins"] if p["name"] == "watch"]

    assert (watch["status"], watch["distribution"], watch["domains"]) == (
        "loaded",
        "kafka-pipeline-watch",
        [installed_plugin.domain],
    )


@pytest.mark.slow
def test_the_new_plugin_passes_its_own_tests(installed_plugin: InstalledPlugin) -> None:
    tests = installed_plugin.venv.run("-m", "pytest", "-p", "no:cacheprovider", cwd=installed_plugin.source)

    assert tests.returncode == 0, tests.stdout + tests.stderr


@pytest.mark.slow
def test_the_new_plugin_tests_catch_an_inverted_rule(
    installed_plugin: InstalledPlugin, tmp_path: Path
) -> None:
    broken = shutil.copytree(installed_plugin.source, tmp_path / "broken")
    plugin_py = next(broken.glob("src/*/plugin.py"))
    plugin_py.write_text(
        plugin_py.read_text().replace(" in self.config.statuses", " not in self.config.statuses")
    )

    # The copy comes first on the path, so its module is the one the entry point loads.
    tests = installed_plugin.venv.run(
        "-m", "pytest", "-p", "no:cacheprovider", cwd=broken, env={"PYTHONPATH": str(broken / "src")}
    )

    assert tests.returncode == 1, tests.stdout + tests.stderr
