"""Render one JSON Schema file per topic into `schemas/json/` (named after the topic)."""

from __future__ import annotations

import json
from pathlib import Path

JSON_DIR = Path(__file__).parent / "json"


def render() -> dict[str, str]:
    """File name -> JSON text, for every topic in the registry."""
    from catalog.kafka.topics import ALL_TOPICS

    files = {}
    for spec in ALL_TOPICS:
        schema = spec.model.model_json_schema(mode="validation")
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"{spec.name}.schema.json",
            "x-topic": spec.name,
            "x-key": spec.key,
            **schema,
        }
        files[f"{spec.name}.schema.json"] = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
    return files


def write() -> list[Path]:
    JSON_DIR.mkdir(exist_ok=True)
    written = []
    for name, text in render().items():
        path = JSON_DIR / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
