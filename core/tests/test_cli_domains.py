"""``kafka-pipeline domains``: the message-field reference of every installed domain.

The ``kites`` domain below has one field of each kind the reference must
describe: nested and optional models, a literal, an enum, bounds, defaults,
examples and computed fields.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result
from fake_plugins import Site

KITES = '''
"""The kites test domain."""

import enum
from typing import Literal

from pydantic import BaseModel, Field, computed_field

from kafka_pipeline import Domain


class Colour(enum.StrEnum):
    RED = "red"
    BLUE = "blue"


class Tail(BaseModel):
    length_m: float = Field(gt=0, description="How long the tail is.")


class Flight(BaseModel):
    flight_id: str = Field(min_length=1, description="Unique per flight.", examples=["f-1"])
    altitude_m: int | None = Field(default=None, description="Highest point; None when it never rose.")
    tail: Tail | None = None


class KiteResult(BaseModel):
    """What a kite flight reports.

    This second paragraph is not shown.
    """

    flight: Flight
    outcome: Literal["flown", "crashed"] = Field(description="How the flight | ended.")
    colour: Colour = Colour.RED
    retries: int = Field(default=0, ge=0, le=9)
    tags: list[str] = Field(default_factory=list)

    @computed_field
    @property
    def status(self) -> str:
        """``completed`` when flown, else ``failed_permanent``."""
        return "completed" if self.outcome == "flown" else "failed_permanent"


def flight_id(result: KiteResult) -> str:
    """The flight's ``flight.flight_id``."""
    return result.flight.flight_id


KITES = Domain(
    name="kites",
    model=KiteResult,
    source_topic="kites.results",
    tables={"completed": "kites"},
    trace_id=flight_id,
    description="Kite flight results",
)


class Plain(BaseModel):
    trace_id: str
    status: str


PLAINS = Domain(name="plains", model=Plain, source_topic="plains.results", trace_id=lambda m: m.trace_id)
'''


@pytest.fixture
def kites(site: Site) -> Site:
    """The ``kites`` and ``plains`` domains installed."""
    site.install(
        "kafka-pipeline-kites",
        "1.2.0",
        domains={"kites": "kites_domain:KITES", "plains": "kites_domain:PLAINS"},
        modules={"kites_domain": KITES},
    )
    return site


def text_of(cli: Callable[..., Result], *args: str) -> str:
    result = cli("domains", *args)
    assert result.exit_code == 0, result.output
    return result.stdout


def field_line(output: str, name: str) -> list[str]:
    """The words of the line that describes field ``name``."""
    return next(line.split() for line in output.splitlines() if line.split()[:1] == [name])


def reference(cli: Callable[..., Result], domain: str) -> dict[str, Any]:
    listing = json.loads(text_of(cli, "--domain", domain, "--json"))
    found: dict[str, Any] = listing["domains"][0]
    return found


def json_field(cli: Callable[..., Result], name: str) -> dict[str, Any]:
    return next(f for f in reference(cli, "kites")["fields"] if f["name"] == name)


@pytest.mark.usefixtures("kites")
def test_each_field_is_listed_with_its_type_and_whether_it_is_required(cli: Callable[..., Result]) -> None:
    output = text_of(cli, "--domain", "kites")

    assert field_line(output, "outcome") == ["outcome", '"flown"', "|", '"crashed"', "required"]
    assert field_line(output, "flight.altitude_m") == ["flight.altitude_m", "int", "|", "None", "optional"]


@pytest.mark.usefixtures("kites")
def test_nested_model_fields_are_dotted_after_their_parent(cli: Callable[..., Result]) -> None:
    names = [f["name"] for f in reference(cli, "kites")["fields"]]

    assert names == [
        "flight",
        "flight.flight_id",
        "flight.altitude_m",
        "flight.tail",
        "flight.tail.length_m",
        "outcome",
        "colour",
        "retries",
        "tags",
        "status",
    ]


@pytest.mark.usefixtures("kites")
def test_a_fields_description_comes_from_its_pydantic_field(cli: Callable[..., Result]) -> None:
    assert json_field(cli, "flight.altitude_m")["description"] == "Highest point; None when it never rose."


@pytest.mark.usefixtures("kites")
def test_a_computed_field_is_marked_computed_and_described_by_its_docstring(
    cli: Callable[..., Result],
) -> None:
    status = json_field(cli, "status")

    assert status["computed"] is True
    assert status["description"] == "`completed` when flown, else `failed_permanent`."


@pytest.mark.usefixtures("kites")
def test_defaults_bounds_enum_values_and_examples_are_given(cli: Callable[..., Result]) -> None:
    retries, colour = json_field(cli, "retries"), json_field(cli, "colour")

    assert (retries["default"], retries["constraints"]) == ("0", [">= 0", "<= 9"])
    assert (colour["type"], colour["values"], colour["default"]) == ("Colour", ['"red"', '"blue"'], '"red"')
    assert json_field(cli, "flight.flight_id")["examples"] == ['"f-1"']


@pytest.mark.usefixtures("kites")
def test_the_topics_tables_and_derived_values_of_a_domain_are_given(cli: Callable[..., Result]) -> None:
    kites = reference(cli, "kites")

    assert {k: kites[k] for k in ("source_topic", "dlq_topic", "tables", "derived")} == {
        "source_topic": "kites.results",
        "dlq_topic": "kites.results.dlq",
        "tables": {"completed": "kites"},
        "derived": {
            "trace_id": "The flight's `flight.flight_id`.",
            "status": "The message's `status` field.",
        },
    }


@pytest.mark.usefixtures("kites")
def test_a_trace_id_function_without_a_docstring_is_named_so_its_code_can_be_read(
    cli: Callable[..., Result],
) -> None:
    assert reference(cli, "plains")["derived"]["trace_id"] == (
        "computed by kites_domain.<lambda> (no docstring)"
    )


@pytest.mark.usefixtures("kites")
def test_the_text_starts_with_the_domains_facts(cli: Callable[..., Result]) -> None:
    head = text_of(cli, "--domain", "kites").splitlines()[:9]

    assert head == [
        "kites: Kite flight results",
        "  distribution  kafka-pipeline-kites 1.2.0",
        "  model         kites_domain.KiteResult",
        "  source topic  kites.results (source_topic in the configuration overrides it)",
        "  DLQ topic     kites.results.dlq",
        "  Delta tables  completed -> kites; any other status: not stored",
        "  trace id      The flight's `flight.flight_id`.",
        "  status        The message's `status` field.",
        "",
    ]


@pytest.mark.usefixtures("kites")
def test_without_domain_every_installed_domain_is_described(cli: Callable[..., Result]) -> None:
    domains = json.loads(text_of(cli, "--json"))["domains"]

    assert {"kites", "plains"} <= {d["name"] for d in domains}


@pytest.mark.usefixtures("kites")
def test_an_unknown_domain_is_a_usage_error_naming_the_installed_ones(cli: Callable[..., Result]) -> None:
    result = cli("domains", "--domain", "sprockets")

    assert result.exit_code == 2
    assert "unknown domain 'sprockets' (installed: " in result.stderr


@pytest.mark.usefixtures("kites")
def test_markdown_has_a_table_row_per_field_with_pipes_escaped(cli: Callable[..., Result]) -> None:
    page = text_of(cli, "--domain", "kites", "--markdown")

    assert (
        '| `outcome` | `"flown" \\| "crashed"` | required | How the flight \\| ended. |' in page.splitlines()
    )
    assert "| `retries` | `int`, >= 0, <= 9 | optional, default 0 |  |" in page.splitlines()


@pytest.mark.usefixtures("kites")
def test_the_markdown_page_says_which_command_generated_it(cli: Callable[..., Result]) -> None:
    page = text_of(cli, "--domain", "plains", "--domain", "kites", "--markdown")

    assert (
        "<!-- Generated by `kafka-pipeline domains --markdown --domain kites --domain plains "
        "> docs/message-fields.md`." in page
    )


@pytest.mark.usefixtures("kites")
def test_json_and_markdown_together_are_a_usage_error(cli: Callable[..., Result]) -> None:
    assert cli("domains", "--json", "--markdown").exit_code == 2


@pytest.fixture
def broken(site: Site) -> Site:
    """A domain ``broken`` whose module fails to import."""
    site.install(
        "kafka-pipeline-broken",
        domains={"broken": "broken_domain:BROKEN"},
        modules={"broken_domain": "raise ImportError('needs libfoo')\n"},
    )
    return site


@pytest.mark.usefixtures("broken")
def test_a_domain_that_fails_to_load_is_reported_and_stops_the_markdown(cli: Callable[..., Result]) -> None:
    text, markdown = cli("domains", "--domain", "broken"), cli("domains", "--domain", "broken", "--markdown")

    assert "domain broken (broken_domain:BROKEN): import failed: ImportError: needs libfoo" in text.stdout
    assert (markdown.exit_code, "Fix them before generating the reference." in markdown.stderr) == (1, True)


@pytest.mark.usefixtures("broken")
def test_json_lists_a_domain_that_failed_to_load_with_its_error(cli: Callable[..., Result]) -> None:
    (listed,) = json.loads(text_of(cli, "--domain", "broken", "--json"))["domains"]

    assert (listed["status"], listed["error"], "fields" in listed) == (
        "failed",
        "import failed: ImportError: needs libfoo",
        False,
    )
