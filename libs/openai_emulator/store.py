"""In-memory files and batches, optionally mirrored to a directory so a restart keeps them.

Layout under `data_dir`: `files/<id>.json` (the file object) with `files/<id>.bin` (its bytes),
and `batches/<id>.json` (the batch object plus the emulator's own progress). Writes go to a
temporary name first and are renamed into place, so a crash never leaves half a record.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openai_emulator.brain import new_id

log = logging.getLogger(__name__)


@dataclass
class StoredFile:
    meta: dict[str, Any]
    content: bytes

    @property
    def id(self) -> str:
        return str(self.meta["id"])


@dataclass
class ItemResult:
    index: int
    ok: bool
    line: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "ok": self.ok, "line": self.line}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ItemResult:
        return cls(index=int(data["index"]), ok=bool(data["ok"]), line=dict(data["line"]))


@dataclass
class BatchState:
    """One batch: the public object plus the clock marks and outcome the emulator planned."""

    public: dict[str, Any]
    marks: dict[str, float] = field(default_factory=dict)
    plan: dict[str, Any] = field(default_factory=dict)
    results: list[ItemResult] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)
    lines: list[dict[str, Any]] | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def id(self) -> str:
        return str(self.public["id"])

    @property
    def status(self) -> str:
        return str(self.public["status"])

    def to_json(self) -> dict[str, Any]:
        return {
            "public": self.public,
            "marks": self.marks,
            "plan": self.plan,
            "results": [result.to_json() for result in self.results],
            "usage": self.usage,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BatchState:
        return cls(
            public=dict(data["public"]),
            marks={key: float(value) for key, value in data.get("marks", {}).items()},
            plan=dict(data.get("plan", {})),
            results=[ItemResult.from_json(item) for item in data.get("results", [])],
            usage={key: int(value) for key, value in data.get("usage", {}).items()},
        )


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class Store:
    def __init__(self, data_dir: Path | None = None) -> None:
        self.data_dir = data_dir
        self.files: dict[str, StoredFile] = {}
        self.batches: dict[str, BatchState] = {}
        if data_dir is not None:
            (data_dir / "files").mkdir(parents=True, exist_ok=True)
            (data_dir / "batches").mkdir(parents=True, exist_ok=True)
            self._load(data_dir)

    # --- files ----------------------------------------------------------------------------

    def add_file(self, filename: str, purpose: str, content: bytes) -> StoredFile:
        meta: dict[str, Any] = {
            "id": new_id("file-", 22),
            "object": "file",
            "bytes": len(content),
            "created_at": int(time.time()),
            "expires_at": None,
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
            "status_details": None,
        }
        stored = StoredFile(meta=meta, content=content)
        self.files[stored.id] = stored
        if self.data_dir is not None:
            folder = self.data_dir / "files"
            _write_atomic(folder / f"{stored.id}.bin", content)
            _write_atomic(folder / f"{stored.id}.json", json.dumps(meta).encode())
        return stored

    def get_file(self, file_id: str) -> StoredFile | None:
        return self.files.get(file_id)

    def delete_file(self, file_id: str) -> bool:
        if self.files.pop(file_id, None) is None:
            return False
        if self.data_dir is not None:
            for suffix in (".json", ".bin"):
                (self.data_dir / "files" / f"{file_id}{suffix}").unlink(missing_ok=True)
        return True

    # --- batches --------------------------------------------------------------------------

    def add_batch(self, state: BatchState) -> None:
        self.batches[state.id] = state
        self.save_batch(state)

    def save_batch(self, state: BatchState) -> None:
        if self.data_dir is None:
            return
        path = self.data_dir / "batches" / f"{state.id}.json"
        _write_atomic(path, json.dumps(state.to_json(), ensure_ascii=False).encode())

    # --- loading --------------------------------------------------------------------------

    def _load(self, data_dir: Path) -> None:
        for meta_path in sorted((data_dir / "files").glob("*.json")):
            try:
                meta = json.loads(meta_path.read_text())
                content = meta_path.with_suffix(".bin").read_bytes()
            except (OSError, ValueError) as exc:
                log.warning("skipping unreadable stored file %s: %s", meta_path, exc)
                continue
            self.files[str(meta["id"])] = StoredFile(meta=meta, content=content)
        for batch_path in sorted((data_dir / "batches").glob("*.json")):
            try:
                state = BatchState.from_json(json.loads(batch_path.read_text()))
            except (OSError, ValueError, KeyError) as exc:
                log.warning("skipping unreadable stored batch %s: %s", batch_path, exc)
                continue
            self.batches[state.id] = state
        log.info(
            "loaded %d files and %d batches from %s", len(self.files), len(self.batches), data_dir
        )
