"""Train the pairwise identity matcher and write its JSON model file.

    .venv/bin/pip install -e ".[train]"      # scikit-learn, only for this script
    .venv/bin/python scripts/train_matcher.py [--data-dir ../shared/data] \
        [--out libs/catalog/identity/data/matcher-v3.json]

Labeled pairs, from training data only (the valid splits and the other half of latam-grocery are
what the evaluation reports, so nothing here reads them):

* Abt-Buy `train.csv` pairs, plus hard negatives from blocking: for each Buy offer with a known
  match, the Abt offers the in-memory catalog's blocking ranks highest, when each of those has a
  known match of its own elsewhere (Abt-Buy matches are one to one, so these are surely different);
* WDC Products `train.csv` pairs, plus blocking neighbours among the offers those pairs reference,
  labeled by `cluster_id` (same cluster = same product);
* the `train` half of latam-grocery (split by a hash of the EAN): every cross-store pair with the
  same EAN as positives, blocking neighbours (same or other store) with another EAN as negatives.

Token weights (inverse document frequencies over the training titles, tokens seen at least
`MIN_DF` times) ship in the model file for the weighted-text features.

Each listing's facts are built as the evaluation builds them: `catalog normalize`'s code with the
offline emulator (`normalize_listings`, no resolution), the rules extraction where normalization
did not finish. Gradient-boosted trees (`KIND`; a logistic regression is the alternative) are
fitted with classes balanced within each data set and each data set weighing the same, and
exported as arrays the run-time `Matcher` walks (checked against the fitted model). Pairs the
matcher's identity-conflict rule vetoes count as scoring 0.

Thresholds, from training data only, with `FOLDS` folds by product (a hash of the WDC cluster,
the EAN, or the Abt-Buy match component: no product in two folds), each fold scored by a model
fitted on the other folds' pairs:

* `attach_at` / `new_below`, from the out-of-fold pair probabilities: the lowest probability at or
  above the best-F1 point whose pairs are at least `ATTACH_PRECISION` precise in every data set;
  the highest probability at or below it that leaves at most `NEW_RECALL_LOSS` of each data
  set's true pairs below it;
* `judge_at`, per category group: each training set resolved in order by each fold's model at
  the values of `JUDGE_GRID`, scored on the pairs that involve a product that model did not see;
  for each category group with at least `GROUP_MIN_LISTINGS` training listings in some sets
  (`group_thresholds`), and over all sets for the default, the best mean F1 among the values at
  least `JUDGE_PRECISION` precise on average over those sets (else the most precise value);
  `attach_at` is raised to `judge_at` where it is below.

Deterministic: fixed seeds, sorted inputs, and the script re-runs itself with `PYTHONHASHSEED=0`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

# String hashing decides set iteration order, which a few tie-breaks in the rules extraction
# follow: one fixed seed makes the training pairs and the model file reproducible.
if os.environ.get("PYTHONHASHSEED") != "0" and __name__ == "__main__":
    os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "PYTHONHASHSEED": "0"})
sys.path[:0] = [str(ROOT / "libs"), str(ROOT / "services"), str(ROOT)]

from catalog.domain.extractor import extract_listing  # noqa: E402
from catalog.evaluation import PRF, matching_data  # noqa: E402
from catalog.evaluation.matching import cross_store_prf, labeled_prf  # noqa: E402
from catalog.identity.facts import facts_from_listing, facts_from_product  # noqa: E402
from catalog.identity.features import (  # noqa: E402
    FEATURE_NAMES,
    TokenWeights,
    category_group,
    identity_conflict,
    pair_features,
    profile,
)
from catalog.identity.matcher import Matcher  # noqa: E402
from catalog.identity.memory import InMemoryCatalog  # noqa: E402
from catalog.identity.model import Facts  # noqa: E402
from catalog.identity.resolver import MatcherJudge, Resolver  # noqa: E402
from schemas.models import RawListing  # noqa: E402

VERSION = "matcher-v3"
SEED = 20261130
FOLDS = 2
NEIGHBOURS = 8
ATTACH_PRECISION = 0.97
NEW_RECALL_LOSS = 0.03
C = 1.0
TREES = 250
DEPTH = 5
LEARNING_RATE = 0.08
SUBSAMPLE = 0.8
MIN_DF = 3
JUDGE_PRECISION = 0.90
JUDGE_GRID = (
    0.5,
    0.6,
    0.7,
    0.75,
    0.8,
    0.85,
    0.875,
    0.9,
    0.91,
    0.925,
    0.93,
    0.935,
    0.94,
    0.945,
    0.95,
)
GROUP_MIN_LISTINGS = 200

KIND = "gradient_boosting"

Pair = tuple[int, int, int]


def listing_facts(listings: list[RawListing]) -> list[Facts]:
    """Each listing's facts as the evaluation's `catalog normalize` builds them (same settings,
    offline emulator, the product normalization validated); the rules extraction where
    normalization did not finish, as the evaluation's resolver figure does."""
    import asyncio

    from catalog.cli.normalize import normalize_listings
    from catalog.evaluation import foreign_settings
    from catalog.settings import get_settings

    settings = foreign_settings(get_settings())
    results = asyncio.run(
        normalize_listings(settings, listings, llm="emulator", concurrency=16, resolve=False)
    )
    facts = []
    for listing, result in zip(listings, results, strict=True):
        if result.product is not None:
            facts.append(facts_from_product(result.product))
            continue
        rules = extract_listing(listing)
        facts.append(
            facts_from_listing(
                listing,
                brand=rules.brand,
                model=rules.model,
                category=rules.category,
                attributes=rules.attributes,
            )
        )
    return facts


def neighbours(facts: list[Facts], queries: Iterable[int], pool: Iterable[int]) -> list[Pair]:
    """(query, neighbour, 0) for the `NEIGHBOURS` best blocking candidates of each query among
    `pool`; the caller labels them."""
    catalog = InMemoryCatalog()
    for index in pool:
        catalog.record(str(index), facts[index], str(index))
    found: list[Pair] = []
    for query in queries:
        for master in catalog.candidate_ids(facts[query], NEIGHBOURS + 1):
            other = int(master)
            if other != query:
                found.append((query, other, 0))
    return found


Scorer = Callable[[list[str | None], list[bool]], PRF]
"""Grouping quality of one master id per listing, on the set's own training truth, over the
pairs with at least one listing marked (the listings a model has not seen)."""
Built = tuple[list[Facts], list[Pair], Scorer, list[str]]
"""Facts, labeled pairs, scorer, and each listing's product key (what splits the set into
folds that share no product)."""


def _labeled_scorer(pairs: list[Pair]) -> Scorer:
    def score(masters: list[str | None], marked: list[bool]) -> PRF:
        return labeled_prf([p for p in pairs if marked[p[0]] or marked[p[1]]], masters)

    return score


def _components(size: int, pairs: list[Pair]) -> list[str]:
    """Product keys from positive pairs (connected components)."""
    parent = list(range(size))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b, label in pairs:
        if label:
            parent[find(a)] = find(b)
    return [str(find(i)) for i in range(size)]


def abt_buy_pairs(folder: Path) -> Built:
    data = matching_data.abt_buy(folder, "train")
    facts = listing_facts(data.listings)
    pairs = list(data.pairs)
    partner: dict[int, set[int]] = defaultdict(set)
    for a, b, label in pairs:
        if label:
            partner[a].add(b)
            partner[b].add(a)
    labeled = {(a, b) for a, b, _ in pairs}
    left = [i for i, listing in enumerate(data.listings) if listing.retailer == "abt"]
    queries = sorted(b for b in partner if data.listings[b].retailer == "buy")
    for b, a, _ in neighbours(facts, queries, left):
        if (a, b) in labeled or a not in partner or a in partner[b]:
            continue
        pairs.append((a, b, 0))
        labeled.add((a, b))
    # Each table lists a product once: two offers of one store are different products.
    for side in ("abt", "buy"):
        members = [i for i in partner if data.listings[i].retailer == side]
        for a, b, _ in neighbours(facts, members, members):
            if a < b:
                pairs.append((a, b, 0))
    return facts, pairs, _labeled_scorer(data.pairs), _components(len(facts), data.pairs)


def wdc_pairs(folder: Path) -> Built:
    data = matching_data.wdc_products(folder, "train")
    facts = listing_facts(data.listings)
    clusters = _wdc_clusters(folder)
    cluster = [clusters.get((x.retailer[4], x.sku)) for x in data.listings]
    pairs = list(data.pairs)
    seen = {(min(a, b), max(a, b)) for a, b, _ in pairs}
    everyone = range(len(data.listings))
    for a, b, _ in neighbours(facts, everyone, everyone):
        key = (min(a, b), max(a, b))
        if key in seen or cluster[a] is None or cluster[b] is None:
            continue
        seen.add(key)
        pairs.append((a, b, int(cluster[a] == cluster[b])))
    keys = [c if c is not None else f"listing:{i}" for i, c in enumerate(cluster)]
    return facts, pairs, _labeled_scorer(data.pairs), keys


def _wdc_clusters(folder: Path) -> dict[tuple[str, str], str]:
    import csv

    clusters: dict[tuple[str, str], str] = {}
    for side, name in (("a", "tableA.csv"), ("b", "tableB.csv")):
        with (folder / name).open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                clusters[(side, row["id"].strip())] = row["cluster_id"].strip()
    return clusters


def latam_pairs(path: Path) -> Built:
    data = matching_data.latam_grocery(path, "train")
    facts = listing_facts(data.listings)
    by_ean: dict[str, list[int]] = defaultdict(list)
    for index, ean in enumerate(data.eans):
        by_ean[ean].append(index)
    pairs: list[Pair] = []
    seen: set[tuple[int, int]] = set()
    for members in by_ean.values():
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                if data.listings[a].retailer != data.listings[b].retailer:
                    pairs.append((a, b, 1))
                    seen.add((min(a, b), max(a, b)))
    everyone = range(len(data.listings))
    for a, b, _ in neighbours(facts, everyone, everyone):
        key = (min(a, b), max(a, b))
        if key in seen or data.eans[a] == data.eans[b]:
            continue
        seen.add(key)
        pairs.append((a, b, 0))
    stores = data.stores

    def score(masters: list[str | None], marked: list[bool]) -> PRF:
        every = cross_store_prf(masters, data.eans, stores)
        rest = [i for i, m in enumerate(marked) if not m]
        unmarked = cross_store_prf(
            [masters[i] for i in rest], [data.eans[i] for i in rest], [stores[i] for i in rest]
        )
        return PRF(
            tp=every.tp - unmarked.tp,
            predicted=every.predicted - unmarked.predicted,
            gold=every.gold - unmarked.gold,
        )

    return facts, pairs, score, list(data.eans)


def token_weights(titles: list[str]) -> TokenWeights:
    """Smoothed inverse document frequency of the tokens of `titles`, kept for tokens in at
    least `MIN_DF` of them; rarer tokens weigh the default (the weight of a token seen once)."""
    df: Counter[str] = Counter()
    for title in titles:
        df.update(profile(title).tokens)
    n = len(titles)

    def idf(count: int) -> float:
        return round(math.log((n + 1) / (count + 1)) + 1.0, 4)

    kept = {token: idf(count) for token, count in sorted(df.items()) if count >= MIN_DF}
    return TokenWeights(kept, idf(1))


def matrix(
    facts: list[Facts], pairs: list[Pair], weights: TokenWeights
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Feature rows, labels, and which pairs the matcher's identity-conflict rule vetoes."""
    rows = []
    for a, b, _ in pairs:
        features = pair_features(facts[a], facts[b], weights=weights)
        rows.append([features[name] for name in FEATURE_NAMES])
    veto = np.array([identity_conflict(facts[a], facts[b]) for a, b, _ in pairs], dtype=bool)
    labels = np.array([label for _, _, label in pairs], dtype=int)
    return np.array(rows, dtype=float), labels, veto


def sample_weights(labels: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Each data set weighs the same in total; within one, both classes weigh the same."""
    weights = np.zeros(len(labels), dtype=float)
    names = sorted(set(groups.tolist()))
    for name in names:
        for label in (0, 1):
            mask = (groups == name) & (labels == label)
            if mask.any():
                weights[mask] = 1.0 / (2 * len(names) * mask.sum())
    return weights * len(labels)


def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float]:
    """Logistic regression on standardized features, returned in raw feature units."""
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=C, max_iter=2000, random_state=SEED)
    model.fit((x - mean) / scale, y, sample_weight=w)
    coef = model.coef_[0] / scale
    bias = float(model.intercept_[0] - (coef * mean).sum())
    return coef, bias


def predict(coef: np.ndarray, bias: float, x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-(x @ coef + bias))))


def fit_trees(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> Any:
    from sklearn.ensemble import GradientBoostingClassifier

    model = GradientBoostingClassifier(
        n_estimators=TREES,
        max_depth=DEPTH,
        learning_rate=LEARNING_RATE,
        subsample=SUBSAMPLE,
        random_state=SEED,
    )
    model.fit(x, y, sample_weight=w)
    return model


def export_trees(model: Any, x: np.ndarray) -> dict[str, Any]:
    """The fitted ensemble as `Matcher` reads it: bias (the initial log-odds), learning rate and
    each tree's arrays."""
    trees = []
    for estimator in model.estimators_[:, 0]:
        tree = estimator.tree_
        leaf = tree.children_left == -1
        trees.append(
            {
                "feature": [
                    0 if is_leaf else int(f) for f, is_leaf in zip(tree.feature, leaf, strict=True)
                ],
                "threshold": [
                    0.0 if is_leaf else float(t)
                    for t, is_leaf in zip(tree.threshold, leaf, strict=True)
                ],
                "left": [int(v) for v in tree.children_left],
                "right": [int(v) for v in tree.children_right],
                "value": [float(v) for v in tree.value[:, 0, 0]],
            }
        )
    sample = x[:1]
    summed = sum(float(e.predict(sample)[0]) for e in model.estimators_[:, 0])
    bias = float(model.decision_function(sample)[0]) - LEARNING_RATE * summed
    return {"bias": bias, "learning_rate": LEARNING_RATE, "trees": trees}


def f1_at(p: np.ndarray, y: np.ndarray, t: float) -> tuple[float, float, float]:
    predicted = p >= t
    tp = float((predicted & (y == 1)).sum())
    precision = tp / predicted.sum() if predicted.sum() else 1.0
    recall = tp / (y == 1).sum() if (y == 1).sum() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return float(precision), float(recall), float(f1)


def thresholds(p: np.ndarray, y: np.ndarray, groups: np.ndarray) -> dict[str, float]:
    names = sorted(set(groups.tolist()))
    grid = [round(t, 3) for t in np.arange(0.05, 0.99, 0.01)]

    def per_set(t: float) -> list[tuple[float, float, float]]:
        return [f1_at(p[groups == n], y[groups == n], t) for n in names]

    judge_at = max(grid, key=lambda t: (sum(f for _, _, f in per_set(t)), -t))
    attach_at = next(
        (
            t
            for t in grid
            if t >= judge_at and all(pr >= ATTACH_PRECISION for pr, _, _ in per_set(t))
        ),
        grid[-1],
    )
    new_below = judge_at
    for t in sorted((t for t in grid if t <= judge_at), reverse=True):
        losses = [
            float(((p[groups == n] < t) & (y[groups == n] == 1)).sum())
            / max(int((y[groups == n] == 1).sum()), 1)
            for n in names
        ]
        if all(loss <= NEW_RECALL_LOSS for loss in losses):
            new_below = t
            break
    else:
        new_below = grid[0]
    return {
        "attach_at": float(attach_at),
        "new_below": float(new_below),
        "judge_at": float(judge_at),
    }


def product_folds(keys: list[str]) -> np.ndarray:
    """Each listing's fold, from a hash of its product key: the folds share no product, so a
    fold's listings are unseen products to a model fitted on the other folds (as most of a new
    catalog's products are)."""
    return np.array(
        [hashlib.sha256(f"fold|{key}".encode()).digest()[0] % FOLDS for key in keys], dtype=int
    )


async def _resolve(resolver: Resolver, facts: list[Facts], judge_at: float) -> list[str | None]:
    catalog = InMemoryCatalog()
    judge = MatcherJudge(resolver.matcher, judge_at)
    masters: list[str | None] = []
    for index, one in enumerate(facts):
        decision = await resolver.resolve(catalog, str(index), one, judge)
        if decision.master_id is not None:
            catalog.record(str(index), one, decision.master_id)
        masters.append(decision.master_id)
    return masters


def resolve_folds(
    models: list[dict[str, Any]],
    built: dict[str, Built],
    folds: dict[str, np.ndarray],
    chosen: dict[str, float],
) -> dict[float, dict[str, PRF]]:
    """Grouping quality of each training set at each `judge_at` of `JUDGE_GRID`: the whole set
    resolved in order by each fold's model (fitted without that fold's products), scored on the
    pairs that involve an unseen product (at least one listing of the fold), summed over the
    folds. As in a new catalog, part of the products were seen in training and part not, and
    an unseen product's siblings are there to be confused with it."""
    import asyncio

    results: dict[float, dict[str, PRF]] = {}
    grid = [t for t in JUDGE_GRID if t >= chosen["new_below"]]
    for k, model in enumerate(models):
        matcher = Matcher.from_dict({**model, "thresholds": chosen, "training": {}})
        for t in grid:
            resolver = Resolver(
                matcher,
                attach_at=max(chosen["attach_at"], t),
                new_below=chosen["new_below"],
            )
            for name, (facts, _, scorer, _) in built.items():
                masters = asyncio.run(_resolve(resolver, facts, t))
                prf = scorer(masters, [int(f) == k for f in folds[name]])
                held = results.setdefault(t, {}).get(name)
                if held is not None:
                    prf = PRF(
                        tp=held.tp + prf.tp,
                        predicted=held.predicted + prf.predicted,
                        gold=held.gold + prf.gold,
                    )
                results[t][name] = prf
    for t, per_set in results.items():
        summary = {n: (round(prf.precision, 3), round(prf.f1, 3)) for n, prf in per_set.items()}
        print(f"judge_at {t} (P, F1) on unseen products: {summary}", flush=True)
    return results


def choose_judge_at(results: dict[float, dict[str, PRF]], names: list[str]) -> float:
    """Among the `judge_at` values whose resolution is at least `JUDGE_PRECISION` precise on
    average over the sets in `names` (each set weighs the same, as in training), the one with
    the best mean F1; if none, the most precise one. A floor on each set would let the hardest
    set (WDC's siblings never reach it) cost the others most of their recall."""
    grid = sorted(results)

    def precision(t: float) -> float:
        return sum(results[t][n].precision for n in names) / len(names)

    def mean_f1(t: float) -> float:
        return sum(results[t][n].f1 for n in names) / len(names)

    precise = [t for t in grid if precision(t) >= JUDGE_PRECISION]
    if precise:
        return max(precise, key=lambda t: (mean_f1(t), t))
    return max(grid, key=lambda t: (precision(t), t))


def group_sets(built: dict[str, Built]) -> dict[str, list[str]]:
    """Category groups (`category_group`) the training data covers: each with the training sets
    holding at least `GROUP_MIN_LISTINGS` of its listings."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for name, (facts, _, _, _) in built.items():
        for one in facts:
            group = category_group(one.category)
            if group:
                counts[group][name] += 1
    covered: dict[str, list[str]] = {}
    for group, per_set in sorted(counts.items()):
        names = sorted(n for n, count in per_set.items() if count >= GROUP_MIN_LISTINGS)
        if names:
            covered[group] = names
    return covered


def check_export(model: dict[str, Any], x: np.ndarray, reference: np.ndarray) -> None:
    """The exported file, read by the run-time `Matcher`, gives the fitted model's numbers."""
    from catalog.identity.matcher import Matcher

    matcher = Matcher.from_dict({**model, "training": {}})
    rows = np.random.default_rng(SEED).choice(len(x), size=min(2000, len(x)), replace=False)
    worst = max(abs(matcher.probability(list(x[i])) - reference[i]) for i in rows)
    if worst > 1e-6:
        raise SystemExit(f"exported model disagrees with the fitted one by {worst}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=matching_data.default_data_dir())
    parser.add_argument(
        "--out", type=Path, default=ROOT / "libs/catalog/identity/data/matcher-v3.json"
    )
    args = parser.parse_args(argv)
    data_dir: Path = args.data_dir
    started = time.perf_counter()
    sets = {
        "abt-buy train": lambda: abt_buy_pairs(data_dir / "abt-buy"),
        "wdc-products train": lambda: wdc_pairs(data_dir / "wdc-products"),
        "latam-grocery train half": lambda: latam_pairs(
            data_dir / "latam-grocery" / "listings.csv"
        ),
    }
    xs, ys, gs, vetoes, pair_folds = [], [], [], [], []
    counts: dict[str, Any] = {}
    built = {name: build() for name, build in sets.items()}
    folds = {name: product_folds(keys) for name, (_, _, _, keys) in built.items()}
    weights = token_weights([f.title for facts, _, _, _ in built.values() for f in facts])
    for name, (facts, pairs, _, _) in built.items():
        x, y, veto = matrix(facts, pairs, weights)
        fold = folds[name]
        pair_folds.append(
            np.array([fold[a] if fold[a] == fold[b] else -1 for a, b, _ in pairs], dtype=int)
        )
        vetoes.append(veto)
        xs.append(x)
        ys.append(y)
        gs.append(np.array([name] * len(y)))
        counts[name] = {
            "listings": len(facts),
            "pairs": len(pairs),
            "positive": int(y.sum()),
            "negative": int(len(y) - y.sum()),
            "vetoed": int(veto.sum()),
            "vetoed_positive": int((veto & (y == 1)).sum()),
        }
        print(f"{name}: {counts[name]}", flush=True)
    x, y, groups = np.vstack(xs), np.concatenate(ys), np.concatenate(gs)
    pair_fold = np.concatenate(pair_folds)
    w = sample_weights(y, groups)
    # Out of fold: each fold's pairs scored by a model fitted on the other folds' pairs (pairs
    # across folds are left out of both). Vetoed pairs score 0 at run time, as here.
    vetoed = np.concatenate(vetoes)
    oof = np.zeros(len(y), dtype=float)
    fold_models: list[dict[str, Any]] = []
    for k in range(FOLDS):
        train = (pair_fold != k) & (pair_fold != -1)
        fitted_k = fit_trees(x[train], y[train], sample_weights(y[train], groups[train]))
        test = pair_fold == k
        oof[test] = fitted_k.predict_proba(x[test])[:, 1]
        fold_models.append(
            {
                "version": VERSION,
                "kind": KIND,
                "features": list(FEATURE_NAMES),
                "idf": {"default": weights.default, "tokens": dict(weights.idf)},
                **export_trees(fitted_k, x),
            }
        )
    oof = np.where(vetoed, 0.0, oof)
    held = pair_fold != -1
    chosen = thresholds(oof[held], y[held], groups[held])
    cv: dict[str, Any] = {}
    for name in sets:
        mask = (groups == name) & held
        precision, recall, f1 = f1_at(oof[mask], y[mask], chosen["judge_at"])
        attach_p, attach_r, _ = f1_at(oof[mask], y[mask], chosen["attach_at"])
        cv[name] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "attach_precision": round(attach_p, 4),
            "attach_recall": round(attach_r, 4),
            "band_share": round(
                float(
                    ((oof[mask] >= chosen["new_below"]) & (oof[mask] < chosen["attach_at"])).mean()
                ),
                4,
            ),
        }
        print(f"cv {name}: {cv[name]}", flush=True)
    resolved = resolve_folds(fold_models, built, folds, chosen)
    names = sorted(sets)
    per_set = {name: choose_judge_at(resolved, [name]) for name in names}
    default_judge = choose_judge_at(resolved, names)
    covered = group_sets(built)
    per_group = {group: choose_judge_at(resolved, names) for group, names in covered.items()}
    print(
        f"judge_at per set: {per_set}; default {default_judge}; per group {per_group} "
        f"(from {covered})",
        flush=True,
    )

    def with_judge(t: float) -> dict[str, float]:
        return {**chosen, "judge_at": t, "attach_at": max(chosen["attach_at"], t)}

    model: dict[str, Any] = {
        "version": VERSION,
        "kind": KIND,
        "features": list(FEATURE_NAMES),
        "thresholds": with_judge(default_judge),
        "group_thresholds": {group: with_judge(t) for group, t in per_group.items()},
        "idf": {"default": weights.default, "tokens": dict(weights.idf)},
    }
    if KIND == "logistic":
        coef, bias = fit(x, y, w)
        model.update(weights=[round(float(c), 6) for c in coef], bias=round(bias, 6))
        description = f"logistic regression, C={C}, standardized"
        reference = predict(coef, bias, x)
    else:
        fitted = fit_trees(x, y, w)
        model.update(export_trees(fitted, x))
        description = (
            f"gradient boosting, {TREES} trees of depth {DEPTH}, learning rate {LEARNING_RATE}, "
            f"subsample {SUBSAMPLE}"
        )
        reference = fitted.predict_proba(x)[:, 1]
    check_export(model, x, reference)
    model["training"] = {
        "script": "scripts/train_matcher.py",
        "model": f"{description}; classes balanced within each data set, data sets equal",
        "data": counts,
        "folds": f"{FOLDS}, by product (no product in two folds)",
        "cv_pairwise_at_best_f1_threshold": cv,
        "seed": SEED,
        "attach_precision": ATTACH_PRECISION,
        "new_recall_loss": NEW_RECALL_LOSS,
        "best_f1_threshold_pairwise_cv": chosen["judge_at"],
        "judge_at_resolution_unseen_products": {
            str(t): {n: prf.as_dict() for n, prf in per.items()} for t, per in resolved.items()
        },
        "judge_precision": JUDGE_PRECISION,
        "judge_at_per_set": per_set,
        "group_sets": covered,
    }
    args.out.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    print(f"thresholds: {model['thresholds']}")
    print(f"wrote {args.out} ({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
