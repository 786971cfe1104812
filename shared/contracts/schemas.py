"""JSON Schema of every published event, for consumers in other languages (agencies, BI).

``python -m shared.contracts.schemas [OUT_DIR]`` writes ``<event_type>.v<version>.json``
per event and an ``index.json`` (event type → version, topic, file) into ``docs/events/``
by default; ``tests/unit/test_event_schemas.py`` checks the files match the code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from shared import topics
from shared.contracts import agency_gateway, intake, routing
from shared.events import DomainEvent

MODULES = {"intake": intake, "routing": routing, "agency_gateway": agency_gateway}
TOPICS = {"intake": topics.INTAKE, "routing": topics.ROUTING, "gateway": topics.GATEWAY}
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "docs" / "events"


def published_events() -> list[type[DomainEvent]]:
    """The concrete event classes of the contract modules, in declaration order."""
    found = []
    for module in MODULES.values():
        for value in vars(module).values():
            if (isinstance(value, type) and issubclass(value, DomainEvent) and value.producer
                    and value.__module__ == module.__name__ and not value.__name__.endswith("Event")):
                found.append(value)
    return found


def event_schema(cls: type[DomainEvent]) -> dict[str, Any]:
    schema = cls.model_json_schema(mode="serialization")
    schema["$id"] = f"urn:servicekontor:event:{cls.event_type()}:v{cls.schema_version}"
    schema["description"] = " ".join((cls.__doc__ or cls.__name__).split())
    schema["x-event-type"] = cls.event_type()
    schema["x-schema-version"] = cls.schema_version
    schema["x-topic"] = TOPICS[cls.producer]
    return schema


def rendered() -> dict[str, str]:
    """File name → text, exactly as written (sorted keys, two-space indent, newline)."""
    files, index = {}, {}
    for cls in published_events():
        name = f"{cls.event_type()}.v{cls.schema_version}.json"
        schema = event_schema(cls)
        files[name] = json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        index[cls.event_type()] = {"version": cls.schema_version, "topic": schema["x-topic"], "file": name}
    files["index.json"] = json.dumps(index, indent=2, sort_keys=True) + "\n"
    return files


def write(out: Path = DEFAULT_OUT) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*.json"):
        stale.unlink()
    written = []
    for name, text in rendered().items():
        (out / name).write_text(text)
        written.append(out / name)
    return written


if __name__ == "__main__":  # pragma: no cover - the command; the test calls rendered()
    paths = write(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT)
    print(f"{len(paths)} files in {paths[0].parent}")
