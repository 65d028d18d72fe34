"""The pure parts of catalog writes: blocking keys, lookup keys, facts storage, master fusion and
catalog event ids. (What runs against Postgres is tested on the live persister in
tests/integration/test_identity.py.)"""

from __future__ import annotations

import uuid

from catalog.identity.catalog_pg import (
    blocking_keys,
    category_group,
    code_keys,
    code_tokens,
    facts_from_json,
    facts_to_json,
)
from catalog.identity.model import Facts
from catalog.masters import EVENT_NAMESPACE, event_id, fuse_listings


def test_category_group_is_the_top_level_node() -> None:
    assert category_group("notebooks") == "technology"  # notebooks < computing < technology
    assert category_group("smartphones") == "technology"
    assert category_group("dairy") == "supermarket"
    assert category_group("technology") == "technology"
    assert category_group("garden_furniture") == "garden_furniture"  # unknown: its own group
    assert category_group(None) == ""


def test_code_keys_fold_regional_and_colour_suffixes() -> None:
    keys = code_keys({"wh1000xm5b", "kdl40v5100"})
    assert "wh1000xm5" in keys and "wh1000xm5b" in keys and "kdl40v5100" in keys
    assert code_keys({"ab1"}) == []  # too short to block on


def test_code_tokens_are_model_like_not_quantities() -> None:
    facts = Facts(title="samsung galaxy s24 ultra 512gb 6.8in titanium", codes=frozenset({"sm1"}))
    tokens = code_tokens(facts)
    assert "s24" in tokens and "sm1" in tokens
    assert "512gb" not in tokens and "6.8in" not in tokens and "samsung" not in tokens


def test_blocking_keys_name_what_two_listings_of_one_product_share() -> None:
    facts = Facts(
        title="x",
        brand="SONY",
        category="headphones",
        gtin="04548736132580",
        codes=frozenset({"wh1000xm5"}),
    )
    assert blocking_keys(facts) == [
        "gtin:04548736132580",
        "code:wh1000xm5",
        "brand:SONY|technology",
    ]
    # Without identifiers, brand + category group is the fallback, also without a brand.
    assert blocking_keys(Facts(title="leche entera 1l", category="dairy")) == ["brand:|supermarket"]


def test_facts_survive_storage_as_json() -> None:
    facts = Facts(
        title="hp 18j38ua",
        brand="HP",
        category="notebooks",
        attributes={"ram_gb": 4, "touch": False, "color": "gray", "screen_in": 11.6},
        gtin="00195161234567",
        codes=frozenset({"18j38ua", "11ana0035nr"}),
        model="Chromebook 11A",
        price=189_990.0,
        retailer="ripley",
    )
    assert facts_from_json(facts_to_json(facts)) == facts
    assert facts_to_json(facts)["codes"] == ["11ana0035nr", "18j38ua"]
    assert facts_from_json(None) == Facts(title="")


def test_a_master_fuses_its_listings_with_sources_and_the_best_formed_name() -> None:
    short = Facts(title="hp 18j38ua", brand="HP", attributes={"ram_gb": 4})
    full = Facts(
        title="hp chromebook 11a na0035nr 11.6in mediatek 4gb 32gb emmc 18j38ua",
        brand="HP",
        attributes={"storage_gb": 32, "color": "gray"},
        codes=frozenset({"18j38ua"}),
    )
    master = fuse_listings(
        [
            ("ripley:1", short, "Hp 18J38UA"),
            ("pc_factory:2", full, "HP Chromebook 11A 4GB 32GB"),
        ]
    )
    assert master.name == "HP Chromebook 11A 4GB 32GB"
    assert master.name_source == "pc_factory:2"
    assert master.facts.attributes == {"ram_gb": 4, "storage_gb": 32, "color": "gray"}
    assert master.attribute_sources == {
        "ram_gb": "ripley:1",
        "storage_gb": "pc_factory:2",
        "color": "pc_factory:2",
    }
    assert master.facts.codes == frozenset({"18j38ua"})


def test_event_ids_are_stable_per_key_and_version() -> None:
    first = event_id("product", "abc", 1)
    assert first == event_id("product", "abc", 1)
    assert uuid.UUID(first).version == 5
    assert len({first, event_id("product", "abc", 2), event_id("offer", "abc", 1)}) == 3


def test_event_ids_are_the_uuid5_of_kind_key_and_version() -> None:
    # Consumers may have stored ids made by `uuid.uuid5`: the id of an event must not change.
    for kind, key, version in [("offer", "lider:123", 7), ("product", "ñandú-é", 1), ("x", "", 0)]:
        expected = uuid.uuid5(EVENT_NAMESPACE, f"{kind}:{key}:{version}")
        assert event_id(kind, key, version) == str(expected)
