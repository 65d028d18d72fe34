"""The chaos run's feed and verdict, as plain logic."""

from __future__ import annotations

import json
from collections import Counter

from catalog.chaos.feed import POISON_KINDS, build_feed
from catalog.chaos.report import Facts, idle_tail, longest_stall, tally
from catalog.settings import Settings
from router.logic import Router
from schemas.models import RawListing


def test_the_feed_mixes_every_kind_with_unique_keys_and_shared_titles() -> None:
    feed = build_feed(1000, seed=1, oversized_bytes=20_000)
    assert len(feed) == 1000
    assert len({item.key for item in feed}) == 1000
    kinds = Counter(item.kind for item in feed)
    assert set(kinds) == {"rules", "llm", "review", "reject", "poison"}
    assert {item.poison for item in feed if item.kind == "poison"} == set(POISON_KINDS)
    oversized = [item for item in feed if item.poison == "oversized"]
    assert len(oversized) == 1 and len(oversized[0].value) >= 20_000
    # Every product is sold by several retailers under one title: cache hits after the first.
    titles: dict[str, set[str]] = {}
    for item in feed:
        if item.product is not None:
            titles.setdefault(item.product, set()).add(json.loads(item.value)["name"])
    assert all(len(t) == 1 for t in titles.values())
    assert sum(1 for item in feed if item.product) > 2 * len(titles)
    assert build_feed(1000, seed=1, oversized_bytes=20_000) == feed


def test_rules_and_llm_listings_take_the_tier_they_are_meant_for() -> None:
    router = Router(Settings())
    tiers: dict[str, Counter[str]] = {"rules": Counter(), "llm": Counter()}
    for item in build_feed(400, seed=2):
        if item.kind in tiers:
            routed = router.route(RawListing.model_validate_json(item.value))
            tiers[item.kind][routed.tier] += 1
    assert set(tiers["rules"]) == {"rules"}
    assert "rules" not in tiers["llm"] and sum(tiers["llm"].values()) > 50


def test_longest_stall() -> None:
    samples = [(0.0, 0), (1.0, 5), (2.0, 5), (7.0, 5), (8.0, 9), (9.0, 10)]
    assert longest_stall(samples, 10) == 7.0
    assert longest_stall([], 10) == 0.0
    # An incomplete run's wait after its last rise is reported apart: it ends at the timeout.
    incomplete = [(0.0, 0), (1.0, 8), (5.0, 9), (6.0, 9), (100.0, 9)]
    assert longest_stall(incomplete, 10) == 4.0
    assert idle_tail(incomplete, 10) == 95.0
    assert idle_tail(samples, 10) == 0.0


def test_the_verdict_counts_loss_and_every_kind_of_duplicate() -> None:
    feed = build_feed(200, seed=3, oversized_bytes=1000)
    facts = Facts()
    by_product: dict[str, int] = {}
    for n, item in enumerate(feed):
        if item.product is not None:
            facts.persisted[item.key] = by_product.setdefault(item.product, n)
            facts.offers[item.key] = 1
        elif item.kind == "review":
            facts.review.add(item.key)
        else:
            facts.dead_letters[item.key] = 1
    clean_persisted = dict(facts.persisted)
    clean = tally(feed, facts, restarts=3, progress=[(0.0, 0), (2.0, 200)])
    assert clean.ok and clean.missing == 0 and clean.published == 200
    assert clean.persisted + clean.review + clean.dlq == 200

    products = [i for i in feed if i.product is not None]
    lost = products[0].key
    del facts.persisted[lost]
    facts.persisted[products[1].key] = 999_999  # a second master for one product
    facts.offers[products[2].key] = 2
    poison = next(i for i in feed if i.kind == "poison")
    facts.dead_letters[poison.key] = 2
    facts.ledger_requests, facts.billed_items = 11, 10
    bad = tally(feed, facts, restarts=3, progress=[])
    assert not bad.ok
    assert (bad.missing, bad.missing_keys) == (1, (lost,))
    assert bad.duplicate_masters == 1
    assert bad.duplicate_offers == 1
    assert bad.duplicate_dead_letters == 1
    assert bad.duplicate_charges == 1
    assert "FAILED" in bad.render()
    # A product split over two masters is reported but is the matcher's figure, not a failure.
    products = [i for i in feed if i.product is not None]
    calm = Facts(
        persisted={**clean_persisted, products[1].key: 999_999},
        review=set(facts.review),
        dead_letters=Counter({k: 1 for k in facts.dead_letters}),
        offers={k: 1 for k in clean_persisted},
    )
    split = tally(feed, calm, restarts=3, progress=[])
    assert split.duplicate_masters == 1 and split.ok
