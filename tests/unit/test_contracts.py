"""Wire contracts: validation rules, CLP parsing, and the committed JSON Schema files."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from catalog.kafka.codec import MAX_MESSAGE_BYTES, ContractError, decode, encode
from schemas.generate import JSON_DIR, render
from schemas.models import RawListing, parse_clp


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("$1.299.990", 1_299_990, id="thousands dots"),
        pytest.param("1299990", 1_299_990, id="plain digits"),
        pytest.param("$ 2.490", 2_490, id="space after sign"),
        pytest.param("12.990,00", 12_990, id="decimal comma dropped"),
        pytest.param("CLP 5.000", 5_000, id="currency code"),
        pytest.param(1_500.4, 1_500, id="float rounds"),
        pytest.param(990, 990, id="int"),
    ],
)
def test_parse_clp(text: object, expected: int) -> None:
    assert parse_clp(text) == expected


@pytest.mark.parametrize("bad", ["gratis", "", "1.2.3abc", True, None, float("nan"), "9" * 20])
def test_parse_clp_rejects(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_clp(bad)


def test_raw_listing_normalizes_retailer_and_key() -> None:
    listing = RawListing(retailer=" Falabella ", sku="SKU1", name="iPhone 15", price="$999.990")
    assert listing.retailer == "falabella"
    assert listing.price == 999_990
    assert listing.listing_key == "falabella:SKU1"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({"sku": "1", "name": "abc", "price": 1}, id="missing retailer"),
        pytest.param(
            {"retailer": "x", "sku": "1", "name": "abc", "price": 1, "extra": 1}, id="unknown field"
        ),
        pytest.param({"retailer": "x", "sku": "1", "name": "a" * 501, "price": 1}, id="huge name"),
        pytest.param(
            {"retailer": "x", "sku": "1", "name": "abc", "price": 1, "ean": "12ab"}, id="bad ean"
        ),
        pytest.param(
            {"retailer": "x", "sku": "1", "name": "abc", "price": 1, "currency": "USD"},
            id="not CLP",
        ),
    ],
)
def test_raw_listing_rejects(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        RawListing.model_validate(data)


def test_codec_round_trip_and_errors() -> None:
    listing = RawListing(
        retailer="paris", sku="A", name="Leche Soprole 1L ñandú 🎧", price=1090, ean="7801234567897"
    )
    assert decode(RawListing, encode(listing)) == listing
    assert encode(listing) == listing.model_dump_json().encode("utf-8")
    with pytest.raises(ContractError, match="tombstone"):
        decode(RawListing, None)
    with pytest.raises(ContractError, match="exceeds"):
        decode(RawListing, b" " * (MAX_MESSAGE_BYTES + 1))
    with pytest.raises(ContractError, match="RawListing invalid: price"):
        decode(RawListing, b'{"retailer":"a","sku":"b","name":"cd","price":"free"}')
    with pytest.raises(ContractError, match="RawListing invalid"):
        decode(RawListing, b"\xff\xfe not json")


def test_committed_json_schemas_match_the_models() -> None:
    """Fails when a model changes without `make schemas` being run."""
    rendered = render()
    committed = {p.name: p.read_text(encoding="utf-8") for p in JSON_DIR.glob("*.json")}
    assert set(committed) == set(rendered)
    for name, text in rendered.items():
        assert json.loads(committed[name]) == json.loads(text), f"{name} is stale: make schemas"
