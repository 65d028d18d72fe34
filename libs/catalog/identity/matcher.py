"""The pairwise matcher: the probability that two `Facts` describe one product.

A logistic model over `catalog.identity.features`, trained by `scripts/train_matcher.py` on
public labeled pairs and shipped as a small JSON file in this package (`data/matcher-v1.json`):
feature names, weights, bias, version, decision thresholds and how it was trained. Inference is
plain Python: the services need no training library.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from catalog.identity.features import FEATURE_NAMES, pair_features
from catalog.identity.model import Facts

__all__ = ["MODEL_FILE", "Matcher", "Thresholds", "load_matcher"]

MODEL_FILE = "matcher-v1.json"


@dataclass(frozen=True)
class Thresholds:
    attach_at: float
    """At or above: the listing joins the candidate's master without further judgement."""
    new_below: float
    """No candidate at or above: a new master."""
    judge_at: float
    """Inside the band, the matcher's own yes/no (what the emulator's judgement answers)."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.new_below <= self.judge_at <= self.attach_at <= 1.0:
            raise ValueError(
                "thresholds must satisfy 0 <= new_below <= judge_at <= attach_at <= 1, "
                f"got {self.new_below}, {self.judge_at}, {self.attach_at}"
            )


@dataclass(frozen=True)
class Matcher:
    version: str
    feature_names: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    thresholds: Thresholds
    training: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.feature_names) != len(self.weights):
            raise ValueError(
                f"{len(self.feature_names)} feature names but {len(self.weights)} weights"
            )
        unknown = [name for name in self.feature_names if name not in FEATURE_NAMES]
        if unknown:
            raise ValueError(f"model uses unknown features: {', '.join(unknown)}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Matcher:
        thresholds = data["thresholds"]
        return cls(
            version=str(data["version"]),
            feature_names=tuple(data["features"]),
            weights=tuple(float(w) for w in data["weights"]),
            bias=float(data["bias"]),
            thresholds=Thresholds(
                attach_at=float(thresholds["attach_at"]),
                new_below=float(thresholds["new_below"]),
                judge_at=float(thresholds["judge_at"]),
            ),
            training=dict(data.get("training") or {}),
        )

    @classmethod
    def load(cls, path: Path | None = None) -> Matcher:
        """The model in `path`, or the one shipped with the package."""
        if path is None:
            text = resources.files("catalog.identity").joinpath("data", MODEL_FILE).read_text()
        else:
            text = path.read_text(encoding="utf-8")
        return cls.from_dict(json.loads(text))

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "features": list(self.feature_names),
            "weights": list(self.weights),
            "bias": self.bias,
            "thresholds": {
                "attach_at": self.thresholds.attach_at,
                "new_below": self.thresholds.new_below,
                "judge_at": self.thresholds.judge_at,
            },
            "training": self.training,
        }

    def vector(self, a: Facts, b: Facts) -> list[float]:
        features = pair_features(a, b)
        return [features[name] for name in self.feature_names]

    def probability(self, vector: list[float]) -> float:
        z = self.bias + sum(w * x for w, x in zip(self.weights, vector, strict=True))
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)

    def score(self, a: Facts, b: Facts) -> float:
        """Probability that `a` and `b` are the same product."""
        return self.probability(self.vector(a, b))


@lru_cache(maxsize=1)
def load_matcher() -> Matcher:
    """The shipped model, loaded once per process."""
    return Matcher.load()
