"""Every check of the four packages, one session each: `nox -l` lists them, `nox` runs CI's.

In the spirit of hydra's noxfile: each plugin package is tested against core
installed the way users get it (a built wheel, not the source tree), and
core's own tests run once more with every plugin installed beside it, so a
plugin cannot break discovery for the others.

    nox                                  # everything CI runs
    nox -s "tests-plugins(xact)"         # one plugin package
    nox -s tests-core -- -m "not slow"   # arguments after -- go to pytest
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nox

CORE = "./core"
PLUGINS = ("plugins-xact", "plugins-claimx", "plugins-shared")
# The shared plugins attach to whichever Routable domains are installed; their
# tests require the real ones, so that session installs them too.
PLUGIN_TEST_NEEDS = {"plugins-shared": ("plugins-xact", "plugins-claimx")}
# Tests that need a broker carry this marker (core/tests/integration/ and a few others).
NOT_INTEGRATION = ("-m", "not integration")

# The object-store emulators of the integration tests (core/tests/integration/stores.py).
# moto >= 5.1 honours conditional writes (If-None-Match) as S3 does; Azurite >= 3.36 takes the
# startFrom of List Blobs, with which deltalake lists a table's log (older ones break the third commit).
S3_EMULATOR = ("moto[server]>=5.1", "boto3", "azure-storage-blob>=12")
AZURITE = "azurite@^3.37.0"
AZURITE_PREFIX = ".nox/azurite"

# The versions the code base is kept clean with; a new release's new rules land on purpose.
RUFF = "ruff==0.17.6"
IMPORT_LINTER = "import-linter==2.17"
MYPY = ("mypy==2.4.1", "types-PyYAML")

nox.options.sessions = ["lint", "typecheck", "tests-core", "tests-plugins", "tests-all", "integration"]
# Locally, a second run reuses the session's virtualenv; CI starts from a fresh clone anyway.
nox.options.reuse_venv = "yes"
nox.options.error_on_external_run = True


def install_core(session: nox.Session, extra: str = "test") -> None:
    """Core as a built wheel (non-editable), with one of its extras."""
    session.install(f"{CORE}[{extra}]")


def install_plugins(session: nox.Session, packages: tuple[str, ...] = PLUGINS) -> None:
    """Plugin packages with their test extras, after core so that pip keeps the local core."""
    session.install(*(f"./{package}[test]" for package in packages))


def install_tools(session: nox.Session) -> None:
    """tmux, jq and promtool, which some tests drive, from Debian's packages when missing (apt-get)."""
    session.run("bash", ".ci/install-tools", external=True)


def run_pytest(session: nox.Session, *paths: str) -> None:
    session.run("pytest", *paths, *session.posargs)


@nox.session(name="tests-core")
def tests_core(session: nox.Session) -> None:
    """Core's unit and CLI tests, against core installed as a wheel (broker tests excluded)."""
    install_tools(session)
    install_core(session)
    run_pytest(session, "core/tests", *NOT_INTEGRATION)


@nox.session(name="tests-plugins")
@nox.parametrize("package", PLUGINS, ids=[p.removeprefix("plugins-") for p in PLUGINS])
def tests_plugins(session: nox.Session, package: str) -> None:
    """One plugin package's tests, against core installed as a wheel."""
    install_core(session)
    install_plugins(session, (*PLUGIN_TEST_NEEDS.get(package, ()), package))
    session.chdir(package)  # the package's own pytest settings apply
    run_pytest(session)


@nox.session(name="tests-all")
def tests_all(session: nox.Session) -> None:
    """Core's tests again with every plugin installed, tests/ without a broker, the README's examples.

    tests/ without a broker: the design document's example plugins through the test kit, and
    the docs generated from the real domains being up to date; tests/' broker tests run in the
    integration session.
    """
    install_tools(session)
    install_core(session)
    install_plugins(session)
    run_pytest(session, "core/tests", *NOT_INTEGRATION)
    # Exit status 5 (nothing collected) when arguments after -- select none of these.
    session.run("pytest", "tests", *NOT_INTEGRATION, *session.posargs, success_codes=[0, 5])
    # What the README shows must keep working: the shipped config is valid, and
    # the sample file routes, with its two invalid lines on purpose (exit 1).
    session.run("kafka-pipeline", "check", "--config", "examples/config.yaml")
    session.run(
        "kafka-pipeline",
        "route",
        "--domain",
        "xact",
        "--config",
        "examples/config.yaml",
        "examples/xact-results.jsonl",
        success_codes=[1],
    )


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint rules and formatting) over the repository; import-linter over the packages' imports.

    .importlinter holds the contracts: core's layers, no import cycles, and
    plugin packages using core's public API only.
    """
    session.install(RUFF, IMPORT_LINTER)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    sources = ":".join(f"{package}/src" for package in ("core", *PLUGINS))
    session.run("lint-imports", env={"PYTHONPATH": sources})


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict (mypy.ini) over each package's sources and tests, everything installed."""
    install_core(session, "test,dev")
    install_plugins(session)
    session.install(*MYPY, *S3_EMULATOR)
    # One run per package: each tests/ folder has its own top-level conftest and helpers.
    for package in ("core", *PLUGINS):
        session.run("mypy", f"{package}/src", f"{package}/tests")
    session.run("mypy", "tests")
    session.run("mypy", "benchmarks")
    # What new-plugin generates passes mypy --strict as generated: an author starts type-clean.
    generated = f"{session.create_tmp()}/kafka-pipeline-typed-rule"
    shutil.rmtree(generated, ignore_errors=True)  # new-plugin refuses a folder that is not empty
    session.run("kafka-pipeline", "new-plugin", "typed-rule", "--domain", "xact", "--dir", generated)
    session.run("mypy", "--strict", f"{generated}/src", f"{generated}/tests")


@nox.session
def integration(session: nox.Session) -> None:
    """Core's broker tests, the worker end to end: embedded Tansu, or KAFKA_BOOTSTRAP_SERVERS.

    The Delta tables of some are in object stores: S3 on moto_server and Azure Blob on
    Azurite (npm, installed into .nox/azurite), both started on loopback by the tests.
    Then tests/' broker tests: the commands as the README runs them, and the design document's
    example plugins, pip-installed, against the shipped ones; every package installed.
    """
    install_tools(session)
    install_core(session)
    install_plugins(session)
    session.install(*S3_EMULATOR)
    session.run(
        "npm",
        "install",
        "--prefix",
        AZURITE_PREFIX,
        "--no-save",
        "--no-audit",
        "--no-fund",
        AZURITE,
        external=True,
    )
    azurite_blob = Path(AZURITE_PREFIX, "node_modules", ".bin", "azurite-blob").absolute()
    session.env["KAFKA_PIPELINE_AZURITE_BLOB"] = str(azurite_blob)
    run_pytest(session, "core/tests", "-m", "integration")
    # Exit status 5 (nothing collected) when arguments after -- select none of these.
    session.run("pytest", "tests", "-m", "integration", *session.posargs, success_codes=[0, 5])


@nox.session(default=False)
def demo(session: nox.Session) -> None:
    """The whole product on this machine: embedded broker, sample results, every installed plugin."""
    install_core(session, "dev")
    install_plugins(session)
    # nox would kill the command 0.5s after a Ctrl-C; the demo needs a moment to finish
    # its batch, print the summary and stop its broker.
    session.run("kafka-pipeline", "demo", *session.posargs, interrupt_timeout=30)


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """The worker against a hand-written and a naive pipeline (README, Benchmarks); not part of CI.

    Arguments after ``--`` go to benchmarks/run.py: ``nox -s bench -- --messages 50000
    --repetitions 1 --rss-messages 0 --no-scaling`` for a quick look.
    """
    install_core(session, "dev")
    install_plugins(session)
    session.run("python", "benchmarks/run.py", *session.posargs)


@nox.session(default=False)
def fuzz(session: nox.Session) -> None:
    """The property tests at length: random bytes, random JSON and mutated results through the worker's
    pieces (parse, validate, route, the Delta row) for the test domain and the real ones; not part of CI.

    ``FUZZ_EXAMPLES`` (default 1000) examples per test and domain. Prints how many examples ran
    (hypothesis's statistics) and the inputs by outcome: stored, skipped, or the DLQ and its reason.
    """
    install_core(session)
    install_plugins(session)
    session.run(
        "pytest",
        "core/tests/test_fuzz_pipeline.py",
        "-p",
        "no:cacheprovider",
        "-q",
        "--hypothesis-show-statistics",
        *session.posargs,
        env={"HYPOTHESIS_PROFILE": "fuzz"},
    )
