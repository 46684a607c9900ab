"""A tiny test domain, ``widgets``, installable as a fake distribution.

Core's tests must not depend on the real domains, yet the author's kit
(pytest plugin, ``new-plugin`` scaffold) needs an installed domain with a
model and a sample factory to work against.
"""

from __future__ import annotations

from pathlib import Path

from distributions import write_distribution

WIDGETS_DISTRIBUTION = "kafka-pipeline-widgets"

WIDGETS_MODULE = '''
"""The widgets test domain: a Routable model with a plain ``status`` field."""

import random
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from kafka_pipeline import Domain


class WidgetResult(BaseModel):
    model_config = ConfigDict(extra="allow")

    trace_id: str
    status: Literal["completed", "failed", "failed_permanent"]
    colour: str


def sample_widget(rng: random.Random) -> dict[str, Any]:
    return {
        "trace_id": f"w-{rng.randrange(10**9)}",
        "status": rng.choice(["completed", "completed", "failed", "failed_permanent"]),
        "colour": rng.choice(["red", "green", "blue"]),
    }


WIDGETS = Domain(
    name="widgets",
    model=WidgetResult,
    source_topic="widgets.results",
    tables={"completed": "widgets", "failed_permanent": "widgets_failed"},
    sample=sample_widget,
)
'''

# A model without a ``status`` attribute: the domain derives it, so it is not
# Routable and a generated plugin must ask the domain for the status.
GADGETS_MODULE = '''
"""The gadgets test domain: its status is derived by the Domain, not a field."""

import random
from typing import Any

from pydantic import BaseModel

from kafka_pipeline import Domain


class GadgetEvent(BaseModel):
    gadget_id: str
    ok: bool
    retryable: bool = False


def gadget_status(event: GadgetEvent) -> str:
    if event.ok:
        return "completed"
    return "failed" if event.retryable else "failed_permanent"


def sample_gadget(rng: random.Random) -> dict[str, Any]:
    ok = rng.random() < 0.6
    return {"gadget_id": f"g-{rng.randrange(10**9)}", "ok": ok, "retryable": not ok and rng.random() < 0.5}


GADGETS = Domain(
    name="gadgets",
    model=GadgetEvent,
    source_topic="gadgets.events",
    trace_id=lambda e: e.gadget_id,
    status=gadget_status,
    sample=sample_gadget,
)
'''


def install_widgets(root: Path) -> Path:
    """Install the ``widgets`` domain as a distribution under ``root``."""
    return write_distribution(
        root,
        WIDGETS_DISTRIBUTION,
        "0.3.1",
        entry_points={"kafka_pipeline.domains": {"widgets": "widgets_domain:WIDGETS"}},
        modules={"widgets_domain": WIDGETS_MODULE},
    )


def install_gadgets(root: Path) -> Path:
    """Install the ``gadgets`` domain as a distribution under ``root``."""
    return write_distribution(
        root,
        "kafka-pipeline-gadgets",
        "2.0.0",
        entry_points={"kafka_pipeline.domains": {"gadgets": "gadgets_domain:GADGETS"}},
        modules={"gadgets_domain": GADGETS_MODULE},
    )
