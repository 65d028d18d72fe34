"""The end-to-end benchmark's split of a listing's latency into hops."""

from __future__ import annotations

import pytest

from benchmarks.bench_e2e import HopTap, hop_latencies, loop_cycles, median_latency, percentiles

ROUTED, VALIDATED, PRICES = (spec.name for spec in HopTap.TOPICS)


def test_a_cache_hit_is_split_into_its_four_hops() -> None:
    created = {ROUTED: {b"s:1": 1_030}, VALIDATED: {b"s:1": 1_045}, PRICES: {}}
    hops = hop_latencies({"s:1": 1_000.0}, {"s:1": 1_080}, {"s:1": 1_090.0}, created)
    assert hops == {
        "router": [30.0],
        "cache_lookup": [15.0],
        "persister": [35.0],
        "to tap": [10.0],
    }
    # The hops add up to the end-to-end latency.
    assert sum(x[0] for x in hops.values()) == 90.0


def test_a_rescrape_goes_from_the_price_observation_to_the_offer() -> None:
    created = {ROUTED: {}, VALIDATED: {}, PRICES: {b"s:1": 1_020}}
    hops = hop_latencies({"s:1": 1_000.0}, {"s:1": 1_050}, {"s:1": 1_055.0}, created)
    assert hops == {"router": [20.0], "persister": [30.0], "to tap": [5.0]}


def test_a_listing_whose_middle_hop_was_not_seen_keeps_the_hops_it_has() -> None:
    created: dict[str, dict[bytes, int]] = {ROUTED: {}, VALIDATED: {}, PRICES: {}}
    hops = hop_latencies({"s:1": 1_000.0}, {"s:1": 1_050}, {"s:1": 1_055.0}, created)
    assert hops == {"to tap": [5.0]}


def test_percentiles() -> None:
    q = percentiles([float(x) for x in range(1, 101)])
    assert q["p50"] == pytest.approx(50.5)
    assert q["p95"] == pytest.approx(95.95, abs=0.1)
    assert percentiles([7.0]) == {"p50": 7.0, "p95": 7.0, "p99": 7.0}


def test_loop_cycles_are_per_batch_means_between_two_snapshots() -> None:
    before = {
        "router": {"batches": 10, "processed": 100, "loop_fetch_s": 1.0, "loop_handle_s": 0.5,
                   "loop_send_s": 0.2, "loop_commit_s": 0.1},
        "validator": {"batches": 5, "processed": 50},
    }  # fmt: skip
    after = {
        "router": {"batches": 30, "processed": 500, "loop_fetch_s": 1.2, "loop_handle_s": 0.9,
                   "loop_send_s": 0.3, "loop_commit_s": 0.15, "gc_s": 0.25, "gc_full": 2,
                   "gc_full_s": 0.2},
        "validator": {"batches": 5, "processed": 50},
    }  # fmt: skip
    cycles = loop_cycles(before, after)
    # A service that handled no batch in between is left out.
    assert list(cycles) == ["router"]
    assert cycles["router"] == pytest.approx(
        {"batches": 20, "mean_batch": 20.0, "fetch_ms": 10.0, "handle_ms": 20.0,
         "send_ms": 5.0, "commit_ms": 2.5, "gc_ms": 250.0, "gc_full": 2, "gc_full_ms": 200.0}
    )  # fmt: skip


def test_repeated_latency_runs_give_medians_and_the_middle_runs_split() -> None:
    runs = [
        {"listings": 10, "p50_ms": 50.0, "p95_ms": 400.0, "p99_ms": 500.0, "max_ms": 600.0,
         "hops_ms": {"router": "slow"}, "loop_cycle_ms": {"router": "slow"}},
        {"listings": 10, "p50_ms": 40.0, "p95_ms": 90.0, "p99_ms": 120.0, "max_ms": 150.0,
         "hops_ms": {"router": "fast"}, "loop_cycle_ms": {"router": "fast"}},
        {"listings": 10, "p50_ms": 45.0, "p95_ms": 110.0, "p99_ms": 130.0, "max_ms": 140.0,
         "hops_ms": {"router": "middle"}, "loop_cycle_ms": {"router": "middle"}},
    ]  # fmt: skip
    summary = median_latency(1000.0, runs)
    assert summary["runs"] == 3 and summary["listings"] == 30
    assert (summary["p50_ms"], summary["p95_ms"], summary["p99_ms"]) == (45.0, 110.0, 130.0)
    assert summary["p95_min_max_ms"] == [90.0, 400.0]
    assert summary["max_ms"] == 150.0
    # The split shown is the run with the median p95, not a mix of runs.
    assert summary["hops_ms"] == {"router": "middle"}
    assert summary["loop_cycle_ms"] == {"router": "middle"}
