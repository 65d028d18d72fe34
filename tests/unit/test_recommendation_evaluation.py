"""The offline recommendation evaluation: split, loaders and variants on synthetic logs."""

from __future__ import annotations

import gzip
import importlib.util
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from catalog.evaluation import recommendations as rec
from catalog.recommendations import FusionWeights, Interaction

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def buy(user: str, item: str, day: int) -> Interaction:
    return Interaction(user, item, "purchase", T0 + timedelta(days=day))


def test_temporal_split_windows_history_and_targets() -> None:
    # 20 events on days 0..19: 70% -> train days 0..13, valid 14..16, test 17..19.
    log = [buy("u1", f"i{d}", d) for d in range(14)]
    log += [buy("u1", "i0", 14), buy("u1", "new-valid", 15), buy("cold", "x", 16)]
    log += [buy("u1", "new-test", 17), buy("u1", "new-valid", 18), buy("late", "y", 19)]
    split = rec.temporal_split(log)
    assert split.cutoffs == (T0 + timedelta(days=14), T0 + timedelta(days=17))
    assert len(split.valid.fit) == 14
    # i0 was already in u1's history: not a target; "cold" has no history: not scored.
    assert split.valid.targets == {"u1": frozenset({"new-valid"})}
    assert split.valid.history["u1"] == tuple(f"i{d}" for d in range(14))
    assert len(split.test.fit) == 17
    assert split.test.targets == {"u1": frozenset({"new-test"})}
    assert "new-valid" in split.test.history["u1"]


def test_leave_last_out_holds_back_each_users_last_two_events() -> None:
    log = [buy("u1", f"i{d}", d) for d in range(5)]  # i3 validates, i4 tests
    log += [buy("u2", "i0", 1), buy("u2", "j", 2), buy("u2", "i0", 3)]  # last one seen before
    log += [buy("short", "i9", 0), buy("short", "i8", 1)]  # too short: trains only
    split = rec.leave_last_out(log)
    assert split.cutoffs is None
    assert split.valid.targets == {"u1": frozenset({"i3"}), "u2": frozenset({"j"})}
    assert split.valid.history["u1"] == ("i0", "i1", "i2")
    assert split.test.targets == {"u1": frozenset({"i4"})}
    assert {e.item_id for e in split.valid.fit} == {"i0", "i1", "i2", "i8", "i9"}
    assert len(split.test.fit) == len(split.valid.fit) + 2


def planted(seed: int = 3) -> list[Interaction]:
    """Users buy one of three planted pairs, first item then (later) the second; a popular
    decoy is bought by everyone early. Co-occurrence should find the second item."""
    rng = random.Random(seed)
    pairs = [("a1", "a2"), ("b1", "b2"), ("c1", "c2")]
    log: list[Interaction] = []
    for u in range(90):
        first, second = pairs[u % 3]
        start = rng.randrange(0, 50)
        log += [buy(f"u{u}", "decoy", start), buy(f"u{u}", first, start)]
        log += [buy(f"u{u}", f"noise{rng.randrange(30)}", start)]
        log.append(buy(f"u{u}", second, u + 60))  # the second item always comes later
    return log


def test_cooccurrence_beats_popularity_on_planted_pairs() -> None:
    dataset = rec.Dataset("planted", planted())
    weights = FusionWeights(content=0.0, collaborative=0.8, popularity=0.2)
    rows = {r.variant: r for r in rec.evaluate([dataset], weights, "test")}
    assert set(rows) == {"popularity", "co-occurrence", "fusion"}  # no texts: no content
    assert rows["co-occurrence"].users > 0
    assert rows["co-occurrence"].ndcg[10] > rows["popularity"].ndcg[10] + 0.2
    assert rows["fusion"].ndcg[10] > rows["popularity"].ndcg[10] + 0.2
    assert 0.0 < rows["co-occurrence"].coverage <= 1.0
    table = rec.render(list(rows.values()), "planted")
    assert "baseline" in table and "co-occurrence" in table


def test_loaders_read_both_formats(tmp_path: Path) -> None:
    old = tmp_path / "interactions" / "amazon-2018-5core"
    old.mkdir(parents=True)
    with gzip.open(old / "Gift_Cards_5.json.gz", "wt") as handle:
        for n in range(3):
            row = {"reviewerID": f"r{n}", "asin": "g1", "overall": 4.0, "unixReviewTime": n}
            handle.write(json.dumps(row) + "\n")
    new = tmp_path / "interactions" / "amazon-2023-titled"
    new.mkdir()
    product = {"title": "Blue shampoo", "brand": "Acme", "main_category": "All Beauty"}
    review = {"parent_asin": "p1", "rating": 5.0, "timestamp_ms": 1_000, "product": product}
    row = {"user_id": "u", "history": [review], "heldout": {**review, "parent_asin": "p2"}}
    (new / "training.jsonl").write_text(json.dumps(row) + "\n")
    datasets = rec.load_datasets(tmp_path / "interactions")
    assert [d.name for d in datasets] == ["amazon-2018 Gift_Cards", "amazon-2023-titled"]
    assert len(datasets[0].interactions) == 3 and datasets[0].texts == {}
    assert datasets[0].interactions[0].value == 4.0
    assert set(datasets[1].texts) == {"p1", "p2"}
    assert datasets[1].texts["p1"].brand == "Acme"


def test_main_skips_without_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert rec.main(["--data-dir", str(tmp_path), "--out", str(tmp_path / "o.json")]) == 0
    assert "recommendation evaluation skipped" in capsys.readouterr().out


def test_tuning_grid_covers_the_simplex() -> None:
    spec = importlib.util.spec_from_file_location(
        "tune_recommendations", Path(__file__).parents[2] / "scripts/tune_recommendations.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    grid = module.simplex(0.1)
    assert len(grid) == 66
    assert all(abs(sum(t) - 1.0) < 1e-9 and min(t) >= 0 for t in grid)
    assert (1.0, 0.0, 0.0) in grid and (0.0, 0.0, 1.0) in grid
