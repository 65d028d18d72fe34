"""The emulator's configuration."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from openai_emulator.brain import DEFAULT_CHAT_MODELS, DEFAULT_EMBEDDING_MODELS
from openai_emulator.faults import Faults

MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_BATCH_LINES = 50_000


class EmulatorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    known_models: list[str] = Field(default_factory=lambda: list(DEFAULT_CHAT_MODELS))
    embedding_models: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_EMBEDDING_MODELS),
        description="Embedding model -> native dimensions.",
    )
    faults: Faults = Field(default_factory=Faults)
    batch_step_s: float = Field(
        default=0.5, ge=0.0, description="Seconds each batch status lasts before the next one."
    )
    batch_expire_fraction: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Share of items done when a batch expires."
    )
    data_dir: Path | None = Field(default=None, description="Persist files and batches here.")
    max_file_bytes: int = Field(default=MAX_FILE_BYTES, ge=1)
    max_batch_lines: int = Field(default=MAX_BATCH_LINES, ge=1)
    enforce_completion_limit: bool = Field(
        default=True,
        description=(
            "Cut answers that exceed max_completion_tokens/max_tokens (reasoning tokens count "
            "first), with finish_reason 'length', as the real API does."
        ),
    )
    system_fingerprint: str = "fp_emulator01"
