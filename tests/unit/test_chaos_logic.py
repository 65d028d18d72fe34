"""The chaos run's feed and verdict, as plain logic."""

from __future__ import annotations

import json
from collections import Counter

from catalog.chaos.feed import POISON_KINDS, build_feed, rescrape
from catalog.chaos.report import Facts, idle_tail, longest_stall, tally
from catalog.chaos.run import RestartingCounter
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


def test_a_rescrape_is_the_same_listing_later_at_another_price() -> None:
    item = next(i for i in build_feed(100, seed=4) if i.kind == "rules")
    again, price = rescrape(item, 5)
    before = RawListing.model_validate_json(item.value)
    after = RawListing.model_validate_json(again.value)
    assert again.key == item.key and again.product == item.product
    assert after.name == before.name and after.price == price != before.price
    assert before.scraped_at is not None and after.scraped_at is not None
    assert after.scraped_at > before.scraped_at
    assert rescrape(item, 6)[0].value != again.value


def test_the_verdict_fails_a_rescraped_listing_left_at_an_older_price() -> None:
    feed = build_feed(200, seed=3, oversized_bytes=1000)
    facts = Facts()
    for item in feed:
        if item.product is not None:
            facts.persisted[item.key] = 1
            facts.offers[item.key] = 1
            facts.prices[item.key] = json.loads(item.value)["price"]
        elif item.kind == "review":
            facts.review.add(item.key)
        else:
            facts.dead_letters[item.key] = 1
    rules = [i for i in feed if i.kind == "rules"][:3]
    last_prices = {i.key: rescrape(i, n)[1] for n, i in enumerate(rules)}
    for key, price in list(last_prices.items())[:2]:
        facts.prices[key] = price
    behind = tally(feed, facts, restarts=0, progress=[], last_prices=last_prices, rescrapes=4)
    assert not behind.ok
    assert behind.stale_prices == 1 and behind.stale_keys == (rules[2].key,)
    assert (behind.rescrapes, behind.rescraped_listings) == (4, 3)
    assert "not at their last price" in behind.render()
    facts.prices[rules[2].key] = last_prices[rules[2].key]
    assert tally(feed, facts, restarts=0, progress=[], last_prices=last_prices).ok


def test_a_restarting_counter_adds_up_each_life() -> None:
    counter = RestartingCounter()
    for value in (0.0, 3.0, 5.0, None, 1.0, 4.0, 0.0, 2.0):
        counter.sample(value)
    assert counter.value == 5.0 + 4.0 + 2.0
