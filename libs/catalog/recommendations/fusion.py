"""Late fusion of content, collaborative and popularity scores with weights tuned offline.

Each source is first divided by its own best score in the candidate set, so the weights mean the
same thing whatever the source's scale: cosine similarities of one embedder sit lower than
another's, and co-occurrence similarities depend on how dense the log is. The shipped weights
(`data/fusion-v1.json`) come from `scripts/tune_recommendations.py`: a grid search on the
validation window of a temporal split, reported on the test window.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

FUSION_FILE = "fusion-v1.json"


@dataclass(frozen=True)
class FusionWeights:
    content: float
    collaborative: float
    popularity: float
    version: str = "fusion-v1"
    # How the weights were chosen (method, data, grid, metrics, date), as recorded in the file.
    tuning: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        weights = (self.content, self.collaborative, self.popularity)
        if min(weights) < 0.0 or sum(weights) <= 0.0:
            raise ValueError(f"fusion weights must be >= 0 with a positive sum: {weights}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FusionWeights:
        weights = data["weights"]
        return cls(
            content=float(weights["content"]),
            collaborative=float(weights["collaborative"]),
            popularity=float(weights["popularity"]),
            version=str(data.get("version", "fusion-v1")),
            tuning=dict(data.get("tuning") or {}),
        )

    @classmethod
    def load(cls, path: Path | None = None) -> FusionWeights:
        """The weights in `path`, or the ones shipped with the package."""
        if path is None:
            text = (
                resources.files("catalog.recommendations").joinpath("data", FUSION_FILE).read_text()
            )
        else:
            text = path.read_text(encoding="utf-8")
        return cls.from_dict(json.loads(text))

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "weights": {
                "content": self.content,
                "collaborative": self.collaborative,
                "popularity": self.popularity,
            },
            "normalization": "each source divided by its best candidate score",
            "tuning": dict(self.tuning),
        }

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n")


def fuse(
    content: Mapping[str, float],
    collaborative: Mapping[str, float],
    popularity: Mapping[str, float],
    weights: FusionWeights,
    k: int,
    exclude: Collection[str] = (),
) -> list[tuple[str, float]]:
    """The `k` best items by the weighted sum of the max-scaled sources, best first, never an
    item of `exclude`. Scores are in [0, 1] (weights are divided by their sum); an item missing
    from a source scores 0 there. Ties are broken by item id so the order is reproducible."""
    if k <= 0:
        return []
    excluded = set(exclude)
    total = weights.content + weights.collaborative + weights.popularity
    fused: dict[str, float] = {}
    for source, weight in (
        (content, weights.content),
        (collaborative, weights.collaborative),
        (popularity, weights.popularity),
    ):
        best = max((s for i, s in source.items() if i not in excluded), default=0.0)
        if weight <= 0.0 or best <= 0.0:
            continue
        scale = weight / (total * best)
        for item, score in source.items():
            if item in excluded or score <= 0.0:
                continue
            fused[item] = fused.get(item, 0.0) + score * scale
    ranked = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))
    return ranked[:k]


def tuning_record(**details: Any) -> dict[str, Any]:
    """A tuning record stamped with today's date."""
    return {"date": date.today().isoformat(), **details}
