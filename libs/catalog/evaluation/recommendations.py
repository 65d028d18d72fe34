"""Offline quality of the recommendations on real shopper logs, beside a popularity baseline.

Data (`../shared/data/interactions`, read when present, never copied):

- `amazon-2018-5core`: five small Amazon categories, ratings only, no titles. Each category is its
  own data set (items do not cross categories). Used for co-occurrence and fusion.
- `amazon-2023-titled`: 691 short histories over 23 categories, each item with title, brand and
  category. Too sparse for co-occurrence; used for content similarity and fusion. Its own
  training/validation/test files split users, not time, so they are pooled and split like the
  others.

Split (the plan's phase C): one global temporal split per data set, 70/15/15 by timestamp. The
first 70% of events train; the validation window's events are the targets of users with a
history in train (fit on train); the test window's events are the targets of users with a history
before it (fit on train + validation). Targets are the items a user first met in the window:
an item already in their history is excluded from both the recommendations and the targets.
Users without history (cold start) are not scored: every variant would fall back to popularity.
Items first seen in a window are still relevant targets, so collaborative variants cannot reach
them; content similarity can, because its candidates are the whole titled catalog (a store knows
its catalog before anyone buys from it).

Variants: popularity (the baseline), content only (titled set), co-occurrence only, and the
fusion of all sources available with the shipped `fusion-v1.json` weights, which
`scripts/tune_recommendations.py` chooses on the validation windows only. Metrics: Precision@K,
Recall@K and NDCG@K for K = 5 and 10, averaged over scored users, and catalog coverage@10.
`python -m catalog.evaluation.recommendations`.
"""

from __future__ import annotations

import argparse
import gzip
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from catalog.evaluation.matching_data import default_data_dir
from catalog.recommendations import (
    CANDIDATE_DEPTH,
    ContentSimilarity,
    CoOccurrence,
    FusionWeights,
    Interaction,
    ItemText,
    Popularity,
    catalog_coverage,
    fuse,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)

KS = (5, 10)
TRAIN_SHARE = 0.70
VALID_SHARE = 0.15
VARIANTS = ("popularity", "content", "co-occurrence", "fusion")
AMAZON_2018_CATEGORIES = (
    "All_Beauty",
    "AMAZON_FASHION",
    "Appliances",
    "Gift_Cards",
    "Magazine_Subscriptions",
)


@dataclass(frozen=True)
class Dataset:
    name: str
    interactions: Sequence[Interaction]
    # Item texts; empty when the set has none (content similarity is then not evaluated).
    texts: Mapping[str, ItemText] = field(default_factory=dict)

    @property
    def catalog(self) -> set[str]:
        return {e.item_id for e in self.interactions} | set(self.texts)


@dataclass(frozen=True)
class Window:
    """What a model may learn from (`fit`) and what it must find (`targets` per user), with each
    scored user's history in `fit`, oldest first."""

    fit: Sequence[Interaction]
    history: Mapping[str, Sequence[str]]
    targets: Mapping[str, frozenset[str]]


@dataclass(frozen=True)
class Split:
    valid: Window
    test: Window
    # The validation and test windows' first instants (global split only).
    cutoffs: tuple[datetime, datetime] | None = None


def temporal_split(
    interactions: Iterable[Interaction],
    train_share: float = TRAIN_SHARE,
    valid_share: float = VALID_SHARE,
) -> Split:
    """Global split by timestamp: events before the `train_share` quantile train, the next
    `valid_share` validate, the rest test. Events at a cutoff's exact time go to the later part."""
    events = sorted(interactions, key=lambda e: (e.at, e.user_id, e.item_id))
    if not events:
        raise ValueError("no interactions to split")
    n = len(events)
    valid_from = events[min(int(train_share * n), n - 1)].at
    test_from = events[min(int((train_share + valid_share) * n), n - 1)].at
    train = [e for e in events if e.at < valid_from]
    valid = [e for e in events if valid_from <= e.at < test_from]
    test = [e for e in events if e.at >= test_from]
    return Split(
        valid=_window(train, valid),
        test=_window(train + valid, test),
        cutoffs=(valid_from, test_from),
    )


def leave_last_out(interactions: Iterable[Interaction]) -> Split:
    """Per user, by time: the last event is the test target, the one before it the validation
    target, the rest trains (users with fewer than three events only train). Many more users
    are scored than with the global split, at the price of a mild leak: other users' events
    later than a target are in the fit."""
    events = sorted(interactions, key=lambda e: (e.at, e.user_id, e.item_id))
    by_user: dict[str, list[Interaction]] = {}
    for event in events:
        by_user.setdefault(event.user_id, []).append(event)
    train: list[Interaction] = []
    valid: list[Interaction] = []
    test: list[Interaction] = []
    for history in by_user.values():
        if len(history) < 3:
            train += history
            continue
        train += history[:-2]
        valid.append(history[-2])
        test.append(history[-1])

    def in_time_order(part: list[Interaction]) -> list[Interaction]:
        return sorted(part, key=lambda e: (e.at, e.user_id, e.item_id))

    return Split(
        valid=_window(in_time_order(train), valid),
        test=_window(in_time_order(train + valid), test),
    )


PROTOCOLS: Mapping[str, Callable[[Iterable[Interaction]], Split]] = {
    "temporal": temporal_split,
    "leave-last-out": leave_last_out,
}


def _window(fit: Sequence[Interaction], later: Sequence[Interaction]) -> Window:
    history: dict[str, list[str]] = {}
    for event in fit:  # already in time order
        items = history.setdefault(event.user_id, [])
        if event.item_id not in items:
            items.append(event.item_id)
    targets: dict[str, set[str]] = {}
    for event in later:
        seen = history.get(event.user_id)
        if seen and event.item_id not in seen:
            targets.setdefault(event.user_id, set()).add(event.item_id)
    return Window(
        fit=fit,
        history={user: tuple(history[user]) for user in targets},
        targets={user: frozenset(items) for user, items in targets.items()},
    )


@dataclass(frozen=True)
class Sources:
    """Each source's candidates per scored user, computed once and fused many times."""

    content: Mapping[str, Mapping[str, float]]
    collaborative: Mapping[str, Mapping[str, float]]
    popularity: Mapping[str, Mapping[str, float]]


def sources(window: Window, texts: Mapping[str, ItemText], depth: int = CANDIDATE_DEPTH) -> Sources:
    popularity = Popularity.fit(window.fit)
    cooccurrence = CoOccurrence.fit(window.fit)
    content = ContentSimilarity.fit(texts) if texts else None
    by_content: dict[str, Mapping[str, float]] = {}
    by_cooccurrence: dict[str, Mapping[str, float]] = {}
    by_popularity: dict[str, Mapping[str, float]] = {}
    for user, seen in window.history.items():
        by_popularity[user] = popularity.top(depth, exclude=seen)
        by_cooccurrence[user] = cooccurrence.neighbours(seen, depth)
        by_content[user] = content.neighbours(seen, depth) if content else {}
    return Sources(by_content, by_cooccurrence, by_popularity)


def ranked(
    variant: str, user: str, seen: Sequence[str], found: Sources, weights: FusionWeights, k: int
) -> list[str]:
    """The first `k` recommendations of one variant for one user, never an item seen."""
    if variant == "fusion":
        fused = fuse(
            found.content[user],
            found.collaborative[user],
            found.popularity[user],
            weights,
            k=k,
            exclude=seen,
        )
        return [item for item, _ in fused]
    source = {
        "popularity": found.popularity,
        "content": found.content,
        "co-occurrence": found.collaborative,
    }[variant][user]
    excluded = set(seen)
    return [item for item in source if item not in excluded][:k]


@dataclass(frozen=True)
class Scores:
    dataset: str
    variant: str
    users: int
    precision: Mapping[int, float]
    recall: Mapping[int, float]
    ndcg: Mapping[int, float]
    coverage: float  # at the largest K

    def as_dict(self) -> dict[str, object]:
        return {
            "dataset": self.dataset,
            "variant": self.variant,
            "users": self.users,
            **{f"precision@{k}": round(v, 4) for k, v in self.precision.items()},
            **{f"recall@{k}": round(v, 4) for k, v in self.recall.items()},
            **{f"ndcg@{k}": round(v, 4) for k, v in self.ndcg.items()},
            f"coverage@{max(KS)}": round(self.coverage, 4),
        }


def score(
    dataset: str,
    variant: str,
    window: Window,
    found: Sources,
    weights: FusionWeights,
    catalog: set[str],
) -> Scores:
    depth = max(KS)
    lists = {
        user: ranked(variant, user, window.history[user], found, weights, depth)
        for user in window.targets
    }
    users = len(lists)

    def mean(metric: Callable[[Sequence[str], frozenset[str], int], float], k: int) -> float:
        total = sum(metric(lists[u], window.targets[u], k) for u in lists)
        return total / users if users else 0.0

    return Scores(
        dataset=dataset,
        variant=variant,
        users=users,
        precision={k: mean(precision_at_k, k) for k in KS},
        recall={k: mean(recall_at_k, k) for k in KS},
        ndcg={k: mean(ndcg_at_k, k) for k in KS},
        coverage=catalog_coverage(lists.values(), catalog, depth),
    )


def variants_for(dataset: Dataset) -> tuple[str, ...]:
    return VARIANTS if dataset.texts else tuple(v for v in VARIANTS if v != "content")


def evaluate(
    datasets: Sequence[Dataset],
    weights: FusionWeights,
    part: str = "test",
    protocol: str = "temporal",
) -> list[Scores]:
    """Every variant on every data set, on the `test` (or `valid`) window of a split made by
    `protocol` (`temporal` or `leave-last-out`)."""
    rows: list[Scores] = []
    for dataset in datasets:
        split = PROTOCOLS[protocol](dataset.interactions)
        window = split.test if part == "test" else split.valid
        found = sources(window, dataset.texts)
        for variant in variants_for(dataset):
            rows.append(score(dataset.name, variant, window, found, weights, dataset.catalog))
    return rows


# --- data -----------------------------------------------------------------------------------


def load_amazon_2018(folder: Path) -> list[Dataset]:
    """One data set per category file present: every review is a `rating` interaction."""
    out: list[Dataset] = []
    for category in AMAZON_2018_CATEGORIES:
        path = folder / f"{category}_5.json.gz"
        if not path.exists():
            continue
        events: list[Interaction] = []
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                events.append(
                    Interaction(
                        user_id=row["reviewerID"],
                        item_id=row["asin"],
                        kind="rating",
                        at=datetime.fromtimestamp(int(row["unixReviewTime"]), UTC),
                        value=float(row["overall"]),
                    )
                )
        out.append(Dataset(f"amazon-2018 {category}", events))
    return out


def load_amazon_2023(folder: Path) -> Dataset | None:
    """All three files pooled (they split users, not time); texts from each item's product."""
    events: list[Interaction] = []
    texts: dict[str, ItemText] = {}
    for part in ("training", "validation", "test"):
        path = folder / f"{part}.jsonl"
        if not path.exists():
            continue
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                for review in [*row["history"], row["heldout"]]:
                    item = review["parent_asin"]
                    events.append(
                        Interaction(
                            user_id=row["user_id"],
                            item_id=item,
                            kind="rating",
                            at=datetime.fromtimestamp(review["timestamp_ms"] / 1000, UTC),
                            value=float(review["rating"]),
                        )
                    )
                    product = review.get("product") or {}
                    if product.get("title") and item not in texts:
                        texts[item] = ItemText(
                            title=product["title"],
                            brand=product.get("brand"),
                            category=product.get("main_category"),
                        )
    if not events:
        return None
    return Dataset("amazon-2023-titled", events, texts)


def load_datasets(interactions_dir: Path) -> list[Dataset]:
    datasets = load_amazon_2018(interactions_dir / "amazon-2018-5core")
    titled = load_amazon_2023(interactions_dir / "amazon-2023-titled")
    return [*datasets, titled] if titled else datasets


# --- report ---------------------------------------------------------------------------------


def render(rows: Sequence[Scores], title: str) -> str:
    """One block per data set, popularity first; the last column is NDCG@10 relative to it."""
    lines = [
        title,
        f"{'dataset':<34} {'variant':<14} {'users':>5} "
        + " ".join(f"{m + '@' + str(k):>8}" for k in KS for m in ("P", "R", "NDCG"))
        + f" {'cov@10':>7} {'NDCG@10 vs pop':>15}",
    ]
    baseline = {r.dataset: r.ndcg[max(KS)] for r in rows if r.variant == "popularity"}
    for r in rows:
        cells = " ".join(
            f"{value:>8.4f}" for k in KS for value in (r.precision[k], r.recall[k], r.ndcg[k])
        )
        base = baseline.get(r.dataset, 0.0)
        if r.variant == "popularity":
            versus = "baseline"
        elif base > 0:
            versus = f"{r.ndcg[max(KS)] / base:.2f}x"
        else:
            versus = "n/a (pop 0)"
        lines.append(
            f"{r.dataset:<34} {r.variant:<14} {r.users:>5} {cells} {r.coverage:>7.1%} {versus:>15}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m catalog.evaluation.recommendations")
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--weights", type=Path, default=None, help="default: shipped fusion-v1")
    parser.add_argument("--out", type=Path, default=Path("out/recommendations.json"))
    args = parser.parse_args(argv)
    folder = args.data_dir / "interactions"
    datasets = load_datasets(folder) if folder.is_dir() else []
    if not datasets:
        print(f"{folder} not found: recommendation evaluation skipped")
        return 0
    weights = FusionWeights.load(args.weights)
    shares = f"{TRAIN_SHARE:.0%}/{VALID_SHARE:.0%}/{1 - TRAIN_SHARE - VALID_SHARE:.0%}"
    fusion = (
        f"fusion {weights.version}: content {weights.content:g}, collaborative "
        f"{weights.collaborative:g}, popularity {weights.popularity:g}"
    )
    titles = {
        "temporal": f"recommendations, test window of the temporal split {shares}; {fusion}",
        "leave-last-out": "recommendations, each user's last event (leave-last-out by time; "
        "more users, other users' later events in the fit); same weights",
    }
    report: dict[str, object] = {"weights": weights.to_dict()}
    for protocol, title in titles.items():
        rows = evaluate(datasets, weights, "test", protocol)
        print(render(rows, title))
        print()
        report[protocol] = [r.as_dict() for r in rows]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
