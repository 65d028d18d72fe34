"""The pairwise matcher: the probability that two `Facts` describe one product.

A model over `catalog.identity.features`, trained by `scripts/train_matcher.py` on public labeled
pairs and shipped as a small JSON file in this package (`data/matcher-v3.json`): feature names,
the model, its version, decision thresholds and how it was trained. Two kinds of model read the
same feature vector:

* `logistic`: weights and a bias (raw feature units);
* `gradient_boosting`: regression trees on the log-odds, `init + learning_rate * sum(trees)`,
  each tree stored as parallel arrays (feature index, threshold, left and right child, leaf
  value; a child of -1 marks a leaf; `x <= threshold` goes left).

The file may also carry token weights (`idf`: inverse document frequencies of title tokens in the
training titles) that the weighted-text features use.

Inference is plain Python: the services need no training library.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np

from catalog.identity.features import (
    FEATURE_NAMES,
    TokenWeights,
    category_group,
    identity_conflict,
    pair_features,
)
from catalog.identity.model import Facts

__all__ = ["MODEL_FILE", "Matcher", "Thresholds", "Tree", "load_matcher"]

MODEL_FILE = "matcher-v3.json"
ModelKind = Literal["logistic", "gradient_boosting"]


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
class Tree:
    """One regression tree as parallel arrays; node 0 is the root."""

    feature: tuple[int, ...]
    threshold: tuple[float, ...]
    left: tuple[int, ...]
    right: tuple[int, ...]
    value: tuple[float, ...]

    @classmethod
    def from_dict(cls, data: dict[str, Any], features: int) -> Tree:
        tree = cls(
            feature=tuple(int(v) for v in data["feature"]),
            threshold=tuple(float(v) for v in data["threshold"]),
            left=tuple(int(v) for v in data["left"]),
            right=tuple(int(v) for v in data["right"]),
            value=tuple(float(v) for v in data["value"]),
        )
        nodes = len(tree.value)
        if not all(len(a) == nodes for a in (tree.feature, tree.threshold, tree.left, tree.right)):
            raise ValueError("tree arrays differ in length")
        for node in range(nodes):
            if tree.left[node] == -1:
                continue
            if not (0 <= tree.feature[node] < features):
                raise ValueError(f"tree splits on feature {tree.feature[node]} of {features}")
            if not (node < tree.left[node] < nodes and node < tree.right[node] < nodes):
                raise ValueError("tree children must follow their parent")
        return tree

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": list(self.feature),
            "threshold": list(self.threshold),
            "left": list(self.left),
            "right": list(self.right),
            "value": list(self.value),
        }

    def __call__(self, x: Sequence[float]) -> float:
        node = 0
        left, right, feature, threshold = self.left, self.right, self.feature, self.threshold
        while left[node] != -1:
            node = left[node] if x[feature[node]] <= threshold[node] else right[node]
        return self.value[node]


@dataclass(frozen=True)
class Matcher:
    version: str
    feature_names: tuple[str, ...]
    thresholds: Thresholds
    kind: ModelKind = "logistic"
    weights: tuple[float, ...] = ()
    bias: float = 0.0
    trees: tuple[Tree, ...] = ()
    learning_rate: float = 1.0
    token_weights: TokenWeights | None = None
    """Inverse document frequencies of title tokens in the training titles."""
    group_thresholds: dict[str, Thresholds] = field(default_factory=dict)
    """Thresholds of category groups (`category_group`) the training data covers well enough
    to choose them apart; other groups use `thresholds`."""
    training: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", _compile(self.trees) if self.trees else None)
        unknown = [name for name in self.feature_names if name not in FEATURE_NAMES]
        if unknown:
            raise ValueError(f"model uses unknown features: {', '.join(unknown)}")
        if self.kind == "logistic" and len(self.feature_names) != len(self.weights):
            raise ValueError(
                f"{len(self.feature_names)} feature names but {len(self.weights)} weights"
            )
        if self.kind == "gradient_boosting" and not self.trees:
            raise ValueError("a gradient boosting model needs trees")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Matcher:
        thresholds = data["thresholds"]
        names = tuple(data["features"])
        kind = data.get("kind", "logistic")
        if kind not in ("logistic", "gradient_boosting"):
            raise ValueError(f"unknown model kind {kind!r}")
        return cls(
            version=str(data["version"]),
            feature_names=names,
            thresholds=_thresholds(thresholds),
            group_thresholds={
                str(group): _thresholds(values)
                for group, values in dict(data.get("group_thresholds") or {}).items()
            },
            kind=kind,
            weights=tuple(float(w) for w in data.get("weights", ())),
            bias=float(data.get("bias", 0.0)),
            trees=tuple(Tree.from_dict(t, len(names)) for t in data.get("trees", ())),
            learning_rate=float(data.get("learning_rate", 1.0)),
            token_weights=_token_weights(data.get("idf")),
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
        data: dict[str, Any] = {
            "version": self.version,
            "kind": self.kind,
            "features": list(self.feature_names),
            "thresholds": {
                "attach_at": self.thresholds.attach_at,
                "new_below": self.thresholds.new_below,
                "judge_at": self.thresholds.judge_at,
            },
            "bias": self.bias,
        }
        if self.group_thresholds:
            data["group_thresholds"] = {
                group: {
                    "attach_at": t.attach_at,
                    "new_below": t.new_below,
                    "judge_at": t.judge_at,
                }
                for group, t in sorted(self.group_thresholds.items())
            }
        if self.kind == "logistic":
            data["weights"] = list(self.weights)
        else:
            data["learning_rate"] = self.learning_rate
            data["trees"] = [tree.to_dict() for tree in self.trees]
        if self.token_weights is not None:
            data["idf"] = {
                "default": self.token_weights.default,
                "tokens": dict(self.token_weights.idf),
            }
        data["training"] = self.training
        return data

    def vector(self, a: Facts, b: Facts, b_retailers: frozenset[str] | None = None) -> list[float]:
        features = pair_features(a, b, b_retailers, self.token_weights)
        return [features[name] for name in self.feature_names]

    def log_odds(self, vector: Sequence[float]) -> float:
        if self.kind == "logistic":
            return self.bias + sum(w * x for w, x in zip(self.weights, vector, strict=True))
        return self.bias + self.learning_rate * sum(tree(vector) for tree in self.trees)

    def probability(self, vector: Sequence[float]) -> float:
        return _sigmoid(self.log_odds(vector))

    def exact_log_odds(self, vectors: Sequence[Sequence[float]]) -> list[float]:
        """`log_odds` of many vectors at once, bit for bit: the trees (or weights) are walked
        for all rows together, and their values added in `log_odds`'s order, one term at a
        time, not in numpy's pairwise order."""
        if not vectors:
            return []
        x = np.asarray(vectors, dtype=float)
        total = np.zeros(x.shape[0], dtype=float)
        if self.kind == "logistic":
            for j, weight in enumerate(self.weights):
                total = total + weight * x[:, j]
            z = self.bias + total
        else:
            compiled: _Compiled = self._compiled  # type: ignore[attr-defined]
            for leaf in compiled.leaves(x):
                total = total + leaf
            z = self.bias + self.learning_rate * total
        return [float(v) for v in z]

    def probabilities(self, vectors: Sequence[Sequence[float]]) -> list[float]:
        """`probability` of many vectors at once (numpy: what scoring a listing's candidates
        costs)."""
        if not vectors:
            return []
        x = np.asarray(vectors, dtype=float)
        if self.kind == "logistic":
            z = self.bias + x @ np.asarray(self.weights, dtype=float)
        else:
            compiled: _Compiled = self._compiled  # type: ignore[attr-defined]
            z = self.bias + self.learning_rate * compiled.sum(x)
        return [float(p) for p in 1.0 / (1.0 + np.exp(-np.clip(z, -500.0, 500.0)))]

    def scores(
        self, a: Facts, others: Sequence[tuple[Facts, frozenset[str] | None]]
    ) -> list[float]:
        """`score` of `a` against each `(facts, retailers)` of `others`, in one pass."""
        out: list[float | None] = [_decided(a, b) for b, _ in others]
        open_ = [i for i, decided in enumerate(out) if decided is None]
        vectors = [self.vector(a, others[i][0], others[i][1]) for i in open_]
        for i, p in zip(open_, self.probabilities(vectors), strict=True):
            out[i] = p
        return [float(s or 0.0) for s in out]

    def score_pairs(
        self, pairs: Sequence[tuple[Facts, Facts, frozenset[str] | None]]
    ) -> list[float]:
        """`score` of each `(a, b, b_retailers)`, equal to it bit for bit (the attach threshold
        sees the same number), with the model evaluated once for all pairs."""
        out: list[float | None] = [_decided(a, b) for a, b, _ in pairs]
        open_ = [i for i, decided in enumerate(out) if decided is None]
        vectors = [self.vector(*pairs[i]) for i in open_]
        for i, z in zip(open_, self.exact_log_odds(vectors), strict=True):
            out[i] = _sigmoid(z)
        return [float(s if s is not None else 0.0) for s in out]

    def score(self, a: Facts, b: Facts, b_retailers: frozenset[str] | None = None) -> float:
        """Probability that `a` and `b` are the same product (`b_retailers`: the stores with an
        offer on `b`, when `b` is a master). The same checksum-valid GTIN on both sides scores 1
        (one product, even two skus of one store); two different GTINs, or an identity conflict
        (different stated capacity, size, volume or weight, different CPU/GPU), score 0,
        whatever the model says."""
        decided = _decided(a, b)
        if decided is not None:
            return decided
        return self.probability(self.vector(a, b, b_retailers))

    def thresholds_for(self, category: str | None) -> Thresholds:
        """The thresholds of the category's group (`category_group`), else the default ones."""
        if not self.group_thresholds:
            return self.thresholds
        return self.group_thresholds.get(category_group(category), self.thresholds)


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _decided(a: Facts, b: Facts) -> float | None:
    """The score identifiers settle before any model: 1 for one GTIN, 0 for two different GTINs
    or an identity conflict; None when the model decides."""
    if a.gtin is not None and b.gtin is not None:
        return 1.0 if a.gtin == b.gtin else 0.0
    return 0.0 if identity_conflict(a, b) else None


def _thresholds(data: dict[str, Any]) -> Thresholds:
    return Thresholds(
        attach_at=float(data["attach_at"]),
        new_below=float(data["new_below"]),
        judge_at=float(data["judge_at"]),
    )


def _token_weights(data: dict[str, Any] | None) -> TokenWeights | None:
    if not data:
        return None
    tokens = {str(t): float(w) for t, w in dict(data["tokens"]).items()}
    return TokenWeights(tokens, float(data["default"]))


@dataclass(frozen=True)
class _Compiled:
    """Every tree's nodes in flat arrays, so that all trees walk all rows together in `depth`
    vectorized steps of one-dimensional `take`s (several times cheaper than two-dimensional
    fancy indexing on the persister's batches of a few hundred rows).

    Tree `t`'s node `n` sits at slots `2 * (t * nodes + n)` and the one after it, both holding
    the node's feature, threshold and leaf value; `child` holds, at those two slots, the slot
    of the node's left and right child (a leaf's children are itself). A row at slot `s` steps
    to `child[s + (not x[feature[s]] <= threshold[s])]`: the same comparison as `Tree.__call__`,
    so the same leaf, bit for bit, NaN included (it goes right in both)."""

    feature: np.ndarray
    threshold: np.ndarray
    child: np.ndarray
    value: np.ndarray
    roots: np.ndarray
    """The slot of each tree's root, as a column (trees x 1)."""
    depth: int

    def sum(self, x: np.ndarray) -> np.ndarray:
        """Sum over trees of each row's leaf value."""
        total: np.ndarray = self.leaves(x).sum(axis=0)
        return total

    def leaves(self, x: np.ndarray) -> np.ndarray:
        """Each tree's leaf value for each row (trees x rows)."""
        rows, features = x.shape
        flat = np.ascontiguousarray(x, dtype=float).ravel()
        row_start = (np.arange(rows, dtype=np.intp) * features)[None, :]
        slot = np.repeat(self.roots, rows, axis=1)
        for _ in range(self.depth):
            go_right = flat.take(row_start + self.feature.take(slot)) <= self.threshold.take(slot)
            np.logical_not(go_right, out=go_right)
            slot = self.child.take(slot + go_right)
        values: np.ndarray = self.value.take(slot)
        return values


def _depth(tree: Tree, node: int = 0) -> int:
    if tree.left[node] == -1:
        return 0
    return 1 + max(_depth(tree, tree.left[node]), _depth(tree, tree.right[node]))


def _compile(trees: Sequence[Tree]) -> _Compiled:
    size = max(len(t.value) for t in trees)
    slots = 2 * len(trees) * size
    feature = np.zeros(slots, dtype=np.intp)
    threshold = np.zeros(slots, dtype=float)
    child = np.zeros(slots, dtype=np.intp)
    value = np.zeros(slots, dtype=float)
    for i, tree in enumerate(trees):
        for node in range(size):
            slot = 2 * (i * size + node)
            if node < len(tree.value):
                feature[slot : slot + 2] = tree.feature[node]
                threshold[slot : slot + 2] = tree.threshold[node]
                value[slot : slot + 2] = tree.value[node]
            if node < len(tree.value) and tree.left[node] != -1:
                child[slot] = 2 * (i * size + tree.left[node])
                child[slot + 1] = 2 * (i * size + tree.right[node])
            else:
                # A leaf (or padding) steps to itself, whichever way the comparison goes.
                child[slot : slot + 2] = slot
    roots = (2 * size * np.arange(len(trees), dtype=np.intp))[:, None]
    depth = max(_depth(tree) for tree in trees)
    return _Compiled(feature, threshold, child, value, roots, depth)


@lru_cache(maxsize=1)
def load_matcher() -> Matcher:
    """The shipped model, loaded once per process."""
    return Matcher.load()
