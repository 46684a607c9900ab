"""What ``demo --keep-broker`` hands over: a configuration for the broker it keeps running.

With it, ``worker``, ``produce``, ``replay`` and ``top`` can be tried against
the demo's broker and Delta tables. It is written next to the Delta root
(``demo-output/dev.yaml`` by default), never over a file the demo did not
write.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import yaml

from kafka_pipeline._demo.runner import group_id

FILE_NAME: Final = "dev.yaml"
#: The first line of every file the demo writes; a file without it is the user's and left alone.
MARKER: Final = "# Written by 'kafka-pipeline demo --keep-broker'"
DEV_GROUP: Final = "kafka-pipeline-dev"
#: A worker that stopped is out of its group after this long, so the next one starts at once.
SESSION_TIMEOUT_MS: Final = 6000


def dev_config(bootstrap_servers: str, delta_root: Path, domains: Sequence[str]) -> dict[str, Any]:
    """The configuration: the broker, no idempotent producer, short sessions, the demo's Delta root.

    With one domain, the group is the demo worker's own, which has consumed
    the sample results: a worker started with it reads only what comes next.
    """
    return {
        "kafka": {
            "bootstrap_servers": bootstrap_servers,
            "group_id": group_id(domains[0]) if len(domains) == 1 else DEV_GROUP,
            "enable_idempotence": False,
            "session_timeout_ms": SESSION_TIMEOUT_MS,
        },
        "delta": {"root": str(delta_root.absolute()), "flush_max_seconds": 1.0},
    }


def render(config: dict[str, Any]) -> str:
    """The YAML text, with a header saying where it comes from and how long it holds."""
    servers = config["kafka"]["bootstrap_servers"]
    return (
        f"{MARKER} for the embedded broker at {servers}.\n"
        "# Valid while that command runs: the broker keeps its topics in memory.\n"
        "# enable_idempotence: false, as the embedded broker refuses idempotent producers.\n"
        + yaml.safe_dump(config, sort_keys=False)
    )


def write(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` unless a file the demo did not write is there; whether it wrote."""
    if path.exists():
        try:
            ours = path.read_text(encoding="utf-8").startswith(MARKER)
        except (OSError, UnicodeDecodeError):
            ours = False
        if not ours:
            return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True
