"""Recommendation logic on small synthetic logs whose answers are known by construction."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from catalog.recommendations import (
    ContentSimilarity,
    CoOccurrence,
    FusionWeights,
    Interaction,
    InteractionKind,
    ItemText,
    Popularity,
    catalog_coverage,
    fuse,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
    recommend,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def event(
    user: str, item: str, kind: InteractionKind = "purchase", day: int = 0, value: float = 1.0
) -> Interaction:
    return Interaction(user, item, kind, T0 + timedelta(days=day), value)


def planted_log(seed: int = 7) -> list[Interaction]:
    """Forty users; each buys one planted pair (a1+a2, b1+b2 or c1+c2) and three random items
    from a pool of forty, plus the best-seller `hit`, which every user buys."""
    rng = random.Random(seed)
    pairs = [("a1", "a2"), ("b1", "b2"), ("c1", "c2")]
    pool = [f"x{n}" for n in range(40)]
    log: list[Interaction] = []
    for u in range(40):
        user = f"u{u}"
        first, second = pairs[u % 3]
        log += [event(user, first, day=u), event(user, second, day=u + 1)]
        log += [event(user, item, kind="view", day=u) for item in rng.sample(pool, 3)]
        log.append(event(user, "hit", day=u))
    return log


def test_cooccurrence_recovers_planted_pairs() -> None:
    model = CoOccurrence.fit(planted_log())
    for first, second in [("a1", "a2"), ("b1", "b2"), ("c1", "c2")]:
        top = model.neighbours([first], k=3)
        assert next(iter(top)) == second
        assert first not in top
        assert all(0.0 <= s <= 1.0 for s in top.values())


def test_cooccurrence_damps_the_best_seller() -> None:
    # `hit` co-occurs with a1 in exactly as many histories as a2 does; a2 must still win.
    log = planted_log()
    model = CoOccurrence.fit(log)
    assert model.similarity("a1", "a2") > model.similarity("a1", "hit")


def test_cooccurrence_shrinks_single_user_evidence() -> None:
    log = [event("u1", "p"), event("u1", "q")]
    log += [event(f"v{n}", "r") for n in range(5)] + [event(f"v{n}", "s") for n in range(5)]
    shrunk = CoOccurrence.fit(log, shrinkage=2.0)
    assert shrunk.similarity("p", "q") == pytest.approx(1.0 / 3.0)
    assert shrunk.similarity("r", "s") == pytest.approx(5.0 / 7.0)
    assert CoOccurrence.fit(log, shrinkage=0.0).similarity("p", "q") == pytest.approx(1.0)


def test_cooccurrence_neighbours_of_several_seeds_exclude_every_seed() -> None:
    model = CoOccurrence.fit(planted_log())
    top = model.neighbours(["a1", "a2", "unknown"], k=50)
    assert not {"a1", "a2", "unknown"} & set(top)
    assert list(top.values()) == sorted(top.values(), reverse=True)
    assert model.neighbours(["unknown"], k=5) == {}
    assert model.neighbours(["a1"], k=0) == {}
    assert len(model.neighbours(["a1"], k=2)) == 2


def test_popularity_ranks_by_users_and_excludes_seen() -> None:
    log = [event(f"u{n}", "top") for n in range(5)]
    log += [event(f"u{n}", "second") for n in range(3)]
    log += [event("u0", "rare", kind="view")] * 50  # many views by one user stay one user
    model = Popularity.fit(log)
    assert list(model.top(3)) == ["top", "second", "rare"]
    assert model.top(3)["top"] == 1.0
    assert list(model.top(2, exclude={"top"})) == ["second", "rare"]
    assert model.top(0) == {}


def test_popularity_time_decay_favours_recent_items() -> None:
    log = [event(f"old{n}", "old", day=0) for n in range(4)]
    log += [event(f"new{n}", "new", day=365) for n in range(2)]
    assert next(iter(Popularity.fit(log).top(1))) == "old"
    assert next(iter(Popularity.fit(log, half_life_days=30).top(1))) == "new"


def test_fuse_respects_exclusion_k_and_weights() -> None:
    content = {"a": 0.9, "b": 0.45, "seen": 1.0}
    collaborative = {"b": 0.2, "c": 0.1}
    popularity = {"d": 1.0, "c": 0.5, "seen": 1.0}
    only_content = FusionWeights(content=1.0, collaborative=0.0, popularity=0.0)
    ranked = fuse(content, collaborative, popularity, only_content, k=5, exclude={"seen"})
    assert [item for item, _ in ranked] == ["a", "b"]
    assert ranked[0][1] == pytest.approx(1.0)  # divided by the best non-excluded score
    mixed = FusionWeights(content=0.5, collaborative=0.3, popularity=0.2)
    ranked = fuse(content, collaborative, popularity, mixed, k=2, exclude={"seen"})
    assert len(ranked) == 2
    assert "seen" not in dict(ranked)
    # b: 0.5 * 0.45/0.9 + 0.3 * 0.2/0.2 = 0.55; a: 0.5 * 1.0 = 0.5
    assert ranked[0] == ("b", pytest.approx(0.55))
    assert ranked[1] == ("a", pytest.approx(0.5))
    assert fuse(content, collaborative, popularity, mixed, k=0, exclude=()) == []


def test_fusion_weights_reject_negative_or_empty() -> None:
    with pytest.raises(ValueError):
        FusionWeights(content=-0.1, collaborative=1.0, popularity=0.0)
    with pytest.raises(ValueError):
        FusionWeights(content=0.0, collaborative=0.0, popularity=0.0)


def test_shipped_fusion_weights_load_and_round_trip(tmp_path: Path) -> None:
    shipped = FusionWeights.load()
    assert shipped.version == "fusion-v1"
    assert "date" in shipped.tuning and "method" in shipped.tuning
    path = tmp_path / "weights.json"
    shipped.save(path)
    again = FusionWeights.load(path)
    assert again == shipped
    assert json.loads(path.read_text())["weights"]["content"] == shipped.content


def test_content_similarity_finds_the_same_kind_of_product() -> None:
    items = {
        "shampoo-1": ItemText("Shampoo anticaspa 400 ml", "Head & Shoulders", "Belleza"),
        "shampoo-2": ItemText("Shampoo anticaspa 200 ml", "Head & Shoulders", "Belleza"),
        "tv": ItemText("Smart TV 55 pulgadas 4K UHD", "Samsung", "Televisores"),
        "phone": ItemText("Smartphone Galaxy A55 256GB", "Samsung", "Celulares"),
    }
    model = ContentSimilarity.fit(items)
    top = model.neighbours(["shampoo-1"], k=3)
    assert next(iter(top)) == "shampoo-2"
    assert "shampoo-1" not in top
    assert all(0.0 <= s <= 1.0 for s in top.values())
    assert model.similarity("shampoo-1", "shampoo-2") > model.similarity("shampoo-1", "tv")


def test_item_text_adds_brand_and_category_once() -> None:
    assert ItemText("Samsung Galaxy A55", "Samsung", "Celulares").text() == (
        "Samsung Galaxy A55 Celulares"
    )


def test_metrics_on_hand_checked_lists() -> None:
    recommended = ["a", "b", "c", "d", "e"]
    relevant = {"b", "e", "z"}
    assert precision_at_k(recommended, relevant, 5) == pytest.approx(2 / 5)
    assert precision_at_k(recommended, relevant, 2) == pytest.approx(1 / 2)
    assert recall_at_k(recommended, relevant, 5) == pytest.approx(2 / 3)
    assert recall_at_k(recommended, relevant, 1) == 0.0
    dcg = 1 / math.log2(3) + 1 / math.log2(6)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(recommended, relevant, 5) == pytest.approx(dcg / ideal)
    assert ndcg_at_k(["b"], {"b"}, 10) == pytest.approx(1.0)
    assert ndcg_at_k(["x", "b"], {"b"}, 10) == pytest.approx(1 / math.log2(3))
    # a short list is not rewarded for being short
    assert precision_at_k(["b"], {"b"}, 10) == pytest.approx(0.1)
    assert catalog_coverage([["a", "b"], ["b", "c", "q"]], {"a", "b", "c", "d"}, 2) == 0.75
    with pytest.raises(ValueError):
        precision_at_k(recommended, relevant, 0)


def test_recommend_fuses_sources_and_never_returns_seeds_or_excluded() -> None:
    log = planted_log()
    cooccurrence = CoOccurrence.fit(log)
    popularity = Popularity.fit(log)
    weights = FusionWeights(content=0.3, collaborative=0.6, popularity=0.1)
    content = {"a2": 0.4, "b1": 0.9, "x1": 0.2}
    out = recommend(
        ["a1"],
        weights,
        k=5,
        content=content,
        cooccurrence=cooccurrence,
        popularity=popularity,
        exclude={"b1"},
    )
    assert len(out) == 5
    assert out[0][0] == "a2"  # first by co-occurrence and second by content
    assert not {"a1", "b1"} & {item for item, _ in out}
    assert all(0.0 <= s <= 1.0 for _, s in out)
    # no seeds: popularity alone (the best-seller first), still without the excluded
    cold = recommend([], weights, k=3, cooccurrence=cooccurrence, popularity=popularity)
    assert cold[0][0] == "hit"
    assert len(cold) == 3
    assert recommend(["a1"], weights, k=3) == []
