"""Fault configuration and the seeded decisions that inject faults.

Every rate is a probability in [0, 1]; 0 never fires and 1 always does. All decisions come from
one `random.Random(seed)`, so a run with the same seed and the same request order injects the
same faults. `per_model` overrides only the fields it sets explicitly, so
`{"per_model": {"gpt-5": {"error_rate_500": 1}}}` breaks gpt-5 and leaves other models alone.
"""

from __future__ import annotations

import json
import random
import threading
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Rate = float
MalformedKind = Literal["truncated", "code_fence", "trailing_text"]
MALFORMED_KINDS: tuple[MalformedKind, ...] = ("truncated", "code_fence", "trailing_text")


class FaultConfig(BaseModel):
    """Fault rates for one scope (all models, or one model under `per_model`)."""

    model_config = ConfigDict(extra="forbid")

    error_rate_500: Rate = Field(default=0.0, ge=0.0, le=1.0)
    error_rate_429: Rate = Field(default=0.0, ge=0.0, le=1.0)
    retry_after_s: float = Field(default=1.0, ge=0.0, description="`retry-after` on 429s.")
    timeout_rate: Rate = Field(default=0.0, ge=0.0, le=1.0)
    timeout_s: float = Field(default=30.0, ge=0.0, description="Delay before a 'timed out' answer.")
    malformed_json_rate: Rate = Field(default=0.0, ge=0.0, le=1.0)
    low_confidence_rate: Rate = Field(default=0.0, ge=0.0, le=1.0)
    batch_fail_rate: Rate = Field(default=0.0, ge=0.0, le=1.0)
    batch_expire_rate: Rate = Field(default=0.0, ge=0.0, le=1.0)
    batch_item_error_rate: Rate = Field(default=0.0, ge=0.0, le=1.0)
    shuffle_output: bool = True


class Faults(FaultConfig):
    """The emulator's whole fault configuration: defaults, a seed and per-model overrides."""

    seed: int = 0
    per_model: dict[str, FaultConfig] = Field(default_factory=dict)

    @classmethod
    def from_json(cls, text: str | None) -> Faults:
        if not text or not text.strip():
            return cls()
        return cls.model_validate(json.loads(text))

    def for_model(self, model: str | None) -> FaultConfig:
        base = FaultConfig.model_validate(
            self.model_dump(exclude={"seed", "per_model"}),
        )
        override = self.per_model.get(model or "")
        if override is None:
            return base
        changes = {name: getattr(override, name) for name in override.model_fields_set}
        return base.model_copy(update=changes)


class FaultInjector:
    """Seeded fault decisions; thread-safe so batch work can run off the event loop."""

    def __init__(self, faults: Faults) -> None:
        self._lock = threading.Lock()
        self.faults = faults
        self._rng = random.Random(faults.seed)

    def replace(self, faults: Faults) -> None:
        with self._lock:
            self.faults = faults
            self._rng = random.Random(faults.seed)

    def config(self, model: str | None) -> FaultConfig:
        return self.faults.for_model(model)

    def roll(self, rate: float) -> bool:
        if rate <= 0.0:
            return False
        if rate >= 1.0:
            return True
        with self._lock:
            return self._rng.random() < rate

    def uniform(self, low: float, high: float) -> float:
        with self._lock:
            return self._rng.uniform(low, high)

    def malformed_kind(self) -> MalformedKind:
        with self._lock:
            return self._rng.choice(MALFORMED_KINDS)

    def shuffle(self, items: list[str]) -> None:
        with self._lock:
            self._rng.shuffle(items)


def make_malformed(content: str, kind: MalformedKind) -> str:
    """Break a JSON answer the way real models do now and then."""
    if kind == "truncated":
        cut = max(1, int(len(content) * 0.6))
        return content[:cut]
    if kind == "code_fence":
        return f"```json\n{content}\n```"
    return f"{content}\n\nEspero que esto sea útil. Avísame si necesitas algo más."
