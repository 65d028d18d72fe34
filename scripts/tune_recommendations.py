"""Tune the recommendation fusion weights and write `fusion-v1.json`.

    .venv/bin/python scripts/tune_recommendations.py [--data-dir ../shared/data] \
        [--out libs/catalog/recommendations/data/fusion-v1.json] [--step 0.1]

Every data set of `../shared/data/interactions` is split by time (70/15/15, see
`catalog.evaluation.recommendations`). Each source (content, co-occurrence, popularity) is fitted
on the training part and queried once per user of the validation window; then every weight triple
on a grid over the simplex (steps of `--step`, weights summing to 1) is scored by NDCG@10 over
all validation users pooled across data sets (each user counts once, so a data set with three
scored users cannot swing the choice). The best triple wins; ties go to the earlier triple in
grid order. The test window is only scored afterwards, for the record: it never takes part in
the choice.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from catalog.evaluation.matching_data import default_data_dir
from catalog.evaluation.recommendations import (
    TRAIN_SHARE,
    VALID_SHARE,
    Dataset,
    Scores,
    Sources,
    Window,
    evaluate,
    load_datasets,
    render,
    score,
    sources,
    temporal_split,
)
from catalog.recommendations import Popularity, ndcg_at_k
from catalog.recommendations.fusion import FUSION_FILE, FusionWeights, tuning_record

OUT = Path("libs/catalog/recommendations/data") / FUSION_FILE
OBJECTIVE_K = 10
HALF_LIVES: tuple[float | None, ...] = (None, 7.0, 30.0, 90.0, 365.0)


def simplex(step: float) -> list[tuple[float, float, float]]:
    """(content, collaborative, popularity) triples with a positive sum of 1, on a `step` grid."""
    n = round(1 / step)
    return [
        (round(c * step, 6), round(k * step, 6), round((n - c - k) * step, 6))
        for c in range(n + 1)
        for k in range(n + 1 - c)
    ]


def pooled_ndcg(rows: Sequence[Scores]) -> float:
    users = sum(r.users for r in rows)
    return sum(r.ndcg[OBJECTIVE_K] * r.users for r in rows) / users if users else 0.0


def popularity_ndcg(
    valid: Sequence[tuple[Dataset, Window, Sources]], half_life_days: float | None
) -> float:
    """Pooled validation NDCG@10 of popularity alone with the given time decay."""
    total, users = 0.0, 0
    for _, window, _ in valid:
        model = Popularity.fit(window.fit, half_life_days=half_life_days)
        for user, targets in window.targets.items():
            top = list(model.top(OBJECTIVE_K, exclude=window.history[user]))
            total += ndcg_at_k(top, targets, OBJECTIVE_K)
            users += 1
    return total / users if users else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--step", type=float, default=0.1)
    args = parser.parse_args(argv)
    folder = args.data_dir / "interactions"
    datasets = load_datasets(folder) if folder.is_dir() else []
    if not datasets:
        print(f"{folder} not found: nothing to tune on", file=sys.stderr)
        return 2

    valid: list[tuple[Dataset, Window, Sources]] = []
    for dataset in datasets:
        window = temporal_split(dataset.interactions).valid
        valid.append((dataset, window, sources(window, dataset.texts)))

    grid = simplex(args.step)
    results: list[tuple[float, FusionWeights, list[Scores]]] = []
    for content, collaborative, popularity in grid:
        weights = FusionWeights(content, collaborative, popularity)
        rows = [
            score(d.name, "fusion", window, found, weights, d.catalog) for d, window, found in valid
        ]
        results.append((pooled_ndcg(rows), weights, rows))
    best_value, best, best_rows = max(results, key=lambda r: r[0])  # first max: grid order
    baseline_rows = [
        score(d.name, "popularity", window, found, best, d.catalog) for d, window, found in valid
    ]
    print(render(baseline_rows + best_rows, "validation window: popularity and the best fusion"))
    print(
        f"best of {len(grid)} weight triples: content {best.content:g}, collaborative "
        f"{best.collaborative:g}, popularity {best.popularity:g}; pooled valid NDCG@10 "
        f"{best_value:.4f} (popularity {pooled_ndcg(baseline_rows):.4f})"
    )

    # Popularity's time decay, on validation only: recorded, not shipped unless it helps.
    decay = {
        "none" if half_life is None else f"{half_life:g} days": round(
            popularity_ndcg(valid, half_life), 4
        )
        for half_life in HALF_LIVES
    }
    print(f"popularity-only valid NDCG@{OBJECTIVE_K} by half-life: {decay}")

    test_rows = evaluate(datasets, best, "test")
    print()
    print(render(test_rows, "test window (not used for the choice)"))
    test_fusion = [r for r in test_rows if r.variant == "fusion"]
    test_popularity = [r for r in test_rows if r.variant == "popularity"]
    record = tuning_record(
        method=(
            f"grid search over (content, collaborative, popularity) summing to 1 in steps of "
            f"{args.step:g} ({len(grid)} triples); objective: NDCG@{OBJECTIVE_K} over all "
            "validation users pooled; scripts/tune_recommendations.py"
        ),
        split=(
            f"global temporal split per data set, {TRAIN_SHARE:.0%} train / {VALID_SHARE:.0%} "
            f"validation / {1 - TRAIN_SHARE - VALID_SHARE:.0%} test by timestamp; sources "
            "fitted on train for validation, on train + validation for test"
        ),
        data=[d.name for d in datasets],
        source="../shared/data/interactions (Amazon Review Data 2018 5-core, Amazon Reviews 2023)",
        valid_users={r.dataset: r.users for r in best_rows},
        valid_ndcg10={
            "fusion": round(best_value, 4),
            "popularity": round(pooled_ndcg(baseline_rows), 4),
            "per_dataset_fusion": {r.dataset: round(r.ndcg[OBJECTIVE_K], 4) for r in best_rows},
        },
        popularity_half_life_valid_ndcg10=decay,
        test_ndcg10={
            "fusion": round(pooled_ndcg(test_fusion), 4),
            "popularity": round(pooled_ndcg(test_popularity), 4),
            "per_dataset_fusion": {r.dataset: round(r.ndcg[OBJECTIVE_K], 4) for r in test_fusion},
        },
    )
    tuned = FusionWeights(
        best.content, best.collaborative, best.popularity, version="fusion-v1", tuning=record
    )
    tuned.save(args.out)
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
