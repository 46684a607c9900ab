"""docs/tutorial.md, done as a reader does it: every snippet written, every command run, in order.

The tutorial marks each fenced block with an HTML comment just before it,
which a reader does not see:

- ``<!-- tutorial: file PATH -->``: the block is the whole file ``PATH``
  (relative to the folder the tutorial starts in): it is written there.
- ``<!-- tutorial: generated PATH -->``: the block is ``PATH`` exactly as
  ``kafka-pipeline new-plugin`` wrote it.
- ``<!-- tutorial: excerpt PATH -->``: the block is a verbatim part of ``PATH``.
- ``<!-- tutorial: alternative PATH -->``: the block is a whole replacement of
  ``PATH``; the tests written so far must pass with it too.
- ``<!-- tutorial: run [broker] [exit N] [no-output] [background] -->``: a
  console block. Each ``$`` line is run, in a shell in the folder the
  ``cd`` lines lead to, with the tutorial's virtualenv first on ``PATH``;
  what follows it is its expected output (stdout and stderr, as a terminal
  shows them), where a line ``...`` stands for any lines and ``...`` in a
  line for any text. ``exit N``: the block's last command exits N (the
  others 0). ``no-output``: only the exit status is checked.
  ``background``: one long-running command, started, its output awaited,
  and stopped with Ctrl-C (SIGINT) after the last step, exiting 0.
  ``broker``: needs a Kafka-protocol broker; run only by the integration test.
- ``<!-- tutorial: skip REASON -->``: not run, for the reason given.

A fenced block without a marker fails the test: every snippet is either
executed or skipped on purpose.

The commands run in a throwaway virtualenv that sees this environment's
packages (core, the real domains and plugins, pytest, hatchling) and
installs into its own; ``pip install`` runs offline (``--no-index
--no-build-isolation``), since everything it needs is there already.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import site
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

TUTORIAL = Path(__file__).resolve().parents[1] / "docs" / "tutorial.md"
MARKER = re.compile(r"<!--\s*tutorial:\s*(\w+)\s*(.*?)\s*-->")
FENCE = re.compile(r"^(`{3,})(\S*)\s*$")
COMMAND_TIMEOUT = 300
BACKGROUND_TIMEOUT = 180

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Step:
    """One marked block of the tutorial."""

    kind: str
    args: str
    body: str
    line: int

    @property
    def options(self) -> list[str]:
        return self.args.split()

    def where(self) -> str:
        return f"docs/tutorial.md line {self.line}"


def parse(text: str) -> tuple[list[Step], list[int]]:
    """The marked blocks in order, and the line numbers of fenced blocks without a marker."""
    steps: list[Step] = []
    unmarked: list[int] = []
    lines = text.splitlines()
    pending: re.Match[str] | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if marker := MARKER.search(line):
            pending = marker
        elif fence := FENCE.match(line.strip()) if line.startswith(("```", "    ```", "  ```")) else None:
            indent = len(line) - len(line.lstrip())
            end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == fence.group(1))
            body = "\n".join(raw[indent:] for raw in lines[i + 1 : end]) + "\n"
            if pending is None:
                unmarked.append(i + 1)
            else:
                steps.append(Step(pending.group(1), pending.group(2), body, i + 1))
            pending = None
            i = end
        elif line.strip():
            pending = None if not line.lstrip().startswith("<!--") else pending
        i += 1
    return steps, unmarked


def pattern(expected: str) -> re.Pattern[str]:
    """The expected output as a regex: a line ``...`` is any lines, ``...`` in a line any text."""
    parts = []
    for line in expected.splitlines():
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(r"[^\n]*?".join(re.escape(p) for p in line.rstrip().split("...")) + r"[ \t]*\n")
    return re.compile("".join(parts))


@dataclass
class Command:
    line: str
    expected: str


def commands(body: str) -> list[Command]:
    """The ``$`` lines of a console block (with ``\\`` continuations) and the output after each."""
    found: list[Command] = []
    lines = body.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("$ "):
            command = line[2:]
            while command.endswith("\\"):
                i += 1
                command = command[:-1] + " " + lines[i].strip()
            found.append(Command(command, ""))
        elif found:
            found[-1].expected += line + "\n"
        i += 1
    return found


def shown(output: str) -> str:
    return "\n".join("    | " + line for line in output.splitlines())


@dataclass
class Background:
    proc: subprocess.Popen[str]
    step: Step
    output: list[str] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)

    def read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
        self.done.set()


@dataclass
class Reader:
    """Does the tutorial's steps in a folder of its own, with its own virtualenv."""

    root: Path
    venv: Path
    cwd: Path = field(init=False)
    background: list[Background] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.cwd = self.root

    @property
    def env(self) -> dict[str, str]:
        clean = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("KAFKA_PIPELINE_", "PYTEST_")) and k not in {"PYTHONPATH", "VIRTUAL_ENV"}
        }
        return {
            **clean,
            "PATH": f"{self.venv / 'bin'}{os.pathsep}{clean.get('PATH', '')}",
            "VIRTUAL_ENV": str(self.venv),
            "PYTHONUNBUFFERED": "1",  # stdout and stderr interleaved as on a terminal
            "COLUMNS": "80",
        }

    def do(self, step: Step, *, broker: bool) -> None:
        if "broker" in step.options and not broker:
            return
        getattr(self, f"_{step.kind}")(step)

    def _file(self, step: Step) -> None:
        path = self.root / step.args
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(step.body, encoding="utf-8")

    def _generated(self, step: Step) -> None:
        actual = (self.root / step.args).read_text(encoding="utf-8")
        assert actual == step.body, f"{step.where()}: {step.args} is not what new-plugin generates:\n{actual}"

    def _excerpt(self, step: Step) -> None:
        actual = (self.root / step.args).read_text(encoding="utf-8")
        assert step.body in actual, f"{step.where()}: not a part of {step.args} as it stands:\n{actual}"

    def _alternative(self, step: Step) -> None:
        package = self.root / Path(step.args).parts[0]
        copy = self.root.parent / f"alternative-{step.line}"
        shutil.copytree(package, copy, ignore=shutil.ignore_patterns(".pytest_cache", "__pycache__"))
        (copy / Path(*Path(step.args).parts[1:])).write_text(step.body, encoding="utf-8")
        result = subprocess.run(
            [str(self.venv / "bin" / "python"), "-m", "pytest", "-p", "no:cacheprovider", "-q"],
            cwd=copy,
            env={**self.env, "PYTHONPATH": str(copy / "src")},
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        assert result.returncode == 0, (
            f"{step.where()}: the tests fail with this {step.args}:\n{shown(result.stdout + result.stderr)}"
        )

    def _skip(self, step: Step) -> None:
        assert step.args, f"{step.where()}: a skipped block must say why"

    def _run(self, step: Step) -> None:
        found = commands(step.body)
        assert found, f"{step.where()}: a console block without a '$' command"
        if "background" in step.options:
            assert len(found) == 1, f"{step.where()}: a background block runs one command"
            self._start(step, found[0])
            return
        exit_status = int(step.options[step.options.index("exit") + 1]) if "exit" in step.options else 0
        for n, command in enumerate(found, start=1):
            wanted = exit_status if n == len(found) else 0
            self._one(step, command, wanted, check_output="no-output" not in step.options)

    def _one(self, step: Step, command: Command, wanted: int, *, check_output: bool) -> None:
        if command.line.startswith("cd "):
            self.cwd = (self.cwd / command.line[3:].strip()).resolve()
            return
        if "| jq " in command.line and shutil.which("jq") is None:
            pytest.fail(f"{step.where()}: `{command.line}` needs jq, as a reader's would: install it")
        result = subprocess.run(
            ["bash", "-o", "pipefail", "-c", offline(command.line)],
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        output = result.stdout.replace(str(self.root) + "/", "./")
        assert result.returncode == wanted, (
            f"{step.where()}: `{command.line}` exited {result.returncode}, not {wanted}:\n{shown(output)}"
        )
        if check_output:
            assert pattern(command.expected).fullmatch(output), (
                f"{step.where()}: `{command.line}` printed\n{shown(output)}\nwhich does not match\n"
                f"{shown(command.expected)}"
            )

    def _start(self, step: Step, command: Command) -> None:
        assert command.expected.rstrip().endswith("..."), f"{step.where()}: end a background block with ..."
        proc = subprocess.Popen(
            ["bash", "-c", f"exec {command.line}"],
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        running = Background(proc, step)
        self.background.append(running)
        threading.Thread(target=running.read, daemon=True).start()
        wanted = pattern(command.expected)
        deadline = time.monotonic() + BACKGROUND_TIMEOUT
        while not wanted.fullmatch("".join(running.output)):
            if running.done.is_set() or time.monotonic() > deadline:
                pytest.fail(
                    f"{step.where()}: `{command.line}` printed\n{shown(''.join(running.output))}\n"
                    f"which does not match\n{shown(command.expected)}"
                )
            time.sleep(0.1)

    def stop_background(self) -> None:
        """Ctrl-C every background command; each must exit 0."""
        for running in self.background:
            if running.proc.poll() is None:
                running.proc.send_signal(signal.SIGINT)
            try:
                status = running.proc.wait(60)
            except subprocess.TimeoutExpired:
                running.proc.kill()
                status = running.proc.wait()
            running.done.wait(10)
            if running.proc.stdout is not None:
                running.proc.stdout.close()
            assert status == 0, (
                f"{running.step.where()}: exited {status} on Ctrl-C:\n{shown(''.join(running.output))}"
            )
        self.background.clear()


def offline(command: str) -> str:
    """``pip install`` without the network: everything the tutorial installs is here already."""
    return re.sub(r"^pip install ", "python -m pip install -q --no-index --no-build-isolation ", command)


def make_venv(root: Path) -> Path:
    """A virtualenv that sees this environment's packages and installs into its own."""
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(root)], check=True
    )
    python = root / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # From inside a virtualenv, --system-site-packages reaches the base interpreter's packages only.
    parents = [f"import site; site.addsitedir({d!r})\n" for d in site.getsitepackages() if Path(d).is_dir()]
    (Path(purelib) / "_tutorial_parent_environment.pth").write_text("".join(parents))
    # The console scripts a reader's shell finds, run by this virtualenv's interpreter.
    scripts = {
        "kafka-pipeline": "-c 'from kafka_pipeline._cli import main; main(prog_name=\"kafka-pipeline\")'",
        "pytest": "-m pytest -p no:cacheprovider",
        "pip": "-m pip",
    }
    for name, args in scripts.items():
        script = root / "bin" / name
        script.write_text(f'#!/bin/sh\nexec "{python}" {args} "$@"\n')
        script.chmod(0o755)
    return root


@pytest.fixture(scope="module")
def tutorial() -> tuple[list[Step], list[int]]:
    return parse(TUTORIAL.read_text(encoding="utf-8"))


@pytest.fixture
def reader(tmp_path: Path) -> Iterator[Reader]:
    """An empty folder and a fresh virtualenv: where a reader starts."""
    root = tmp_path / "work"
    root.mkdir()
    reader = Reader(root, make_venv(tmp_path / "venv"))
    try:
        yield reader
    finally:
        for running in reader.background:
            if running.proc.poll() is None:
                running.proc.kill()
                running.proc.wait()


def test_every_fenced_block_of_the_tutorial_is_marked(tutorial: tuple[list[Step], list[int]]) -> None:
    steps, unmarked = tutorial

    assert unmarked == [], (
        f"docs/tutorial.md: fenced blocks without a <!-- tutorial: ... --> marker at lines {unmarked}"
    )
    assert {s.kind for s in steps} <= {"file", "generated", "excerpt", "alternative", "run", "skip"}


def test_the_tutorial_works_without_a_broker(tutorial: tuple[list[Step], list[int]], reader: Reader) -> None:
    for step in tutorial[0]:
        reader.do(step, broker=False)


@pytest.mark.integration
def test_the_tutorial_works_on_the_embedded_broker(
    tutorial: tuple[list[Step], list[int]], reader: Reader
) -> None:
    try:
        for step in tutorial[0]:
            reader.do(step, broker=True)
    finally:
        reader.stop_background()
