"""The chaos run's own feed: synthetic listings whose true product and expected path are known.

Each product is sold by several retailers under the same title, so its first listing is
normalized (by the rules tier or the LLM) and the others are cache hits. The mix:

- `rules`: known brands with every required attribute in the title; the rules tier answers.
- `llm`: invented brands the rules tier does not know; the LLM (the emulator) answers, through the
  Batch API when the backlog is large and synchronously when it is small.
- `review`: titles with nothing to read (digits and punctuation only): no brand, model or name,
  so no tier passes the gate. (Made-up words are not enough: the open world takes a leading
  unknown word for a new brand.)
- `reject`: well-formed listings the router's business rules refuse (price 0): dead-lettered.
- `poison`: malformed JSON, binary garbage, wrong schemas and one oversized listing: dead-lettered.

Every message has a unique Kafka key, so each one can be found again in `listings`,
`review_items` or `dead_letters`. Standard library only and deterministic for a seed.

While the run publishes, it also re-publishes listings it sent earlier with a new price
(`rescrape`, the daily re-scrape of a store's catalog): same key, same title, a later
`scraped_at`, so most of them take the re-scrape fast path. Every listing carries `scraped_at`,
as real scrapers send it: it orders a listing's observations across redeliveries.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass
from typing import Literal

Kind = Literal["rules", "llm", "review", "reject", "poison"]
KINDS: tuple[Kind, ...] = ("rules", "llm", "review", "reject", "poison")

RETAILERS = ("falabella", "paris", "ripley", "lider", "hites", "pcfactory", "abcdin", "sodimac")

# Known brands with titles the deterministic extractor reads completely.
_RULES_TEMPLATES = (
    ("Celulares", "Smartphone Samsung Galaxy A{n} 5G {cap}GB {ram}GB RAM {color}"),
    ("Celulares", "Smartphone Motorola Moto G{n} {cap}GB {ram}GB RAM {color}"),
    ("Televisores", "Smart TV LG {size} pulgadas 4K UHD {size}UR{n}PSA"),
    ("Televisores", "Smart TV Samsung {size} pulgadas 4K UHD UN{size}DU{n}"),
    ("Notebooks", "Notebook Lenovo IdeaPad Slim 3 {n}IRU8 Intel Core i5 {ram}GB RAM {cap}GB SSD"),
)
_LLM_KINDS = (
    ("Electrodomésticos", "Licuadora {brand} {code} {watts}W Vaso Vidrio 1.5L"),
    ("Audio", "Parlante Bluetooth {brand} {code} {watts}W"),
    ("Electrodomésticos", "Hervidor Electrico {brand} {code} {watts}W 1.7L"),
    ("Electrodomésticos", "Aspiradora {brand} {code} {watts}W Sin Bolsa"),
)
_SYLLABLES = ("qwo", "rva", "vor", "tex", "zan", "dri", "kel", "mox", "pli", "tar", "quen", "sul")
_COLORS = ("Negro", "Azul", "Verde", "Blanco", "Gris")
_UNREADABLE = ("??", "!!", "##", "--", "..", "1234", "5678", "**")
POISON_KINDS = ("malformed_json", "binary", "wrong_schema", "wrong_types", "oversized")
# Fixed times keep the feed deterministic; every re-scrape is observed after every first listing.
SCRAPED_FROM = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
RESCRAPED_FROM = SCRAPED_FROM + dt.timedelta(days=1)


@dataclass(frozen=True)
class FeedItem:
    key: str
    value: bytes
    kind: Kind
    # The true product of a valid listing (`rules`/`llm`): its listings must share one master.
    product: str | None = None
    poison: str | None = None


@dataclass(frozen=True)
class FeedMix:
    """Shares of the feed by kind (the rest of the listings are `rules`/`llm` products)."""

    llm: float = 0.45
    review: float = 0.04
    reject: float = 0.02
    poison: float = 0.04
    listings_per_product: int = 3


def _brand(rng: random.Random, taken: set[str]) -> str:
    while True:
        name = "".join(rng.choice(_SYLLABLES) for _ in range(3)).capitalize()
        if name not in taken:
            taken.add(name)
            return name


def _scraped_at(start: dt.datetime, serial: int) -> str:
    return (start + dt.timedelta(milliseconds=serial)).isoformat()


def _listing(
    retailer: str, sku: str, name: str, category: str, price: int, serial: int = 0
) -> dict[str, object]:
    return {
        "retailer": retailer,
        "sku": sku,
        "name": name,
        "category": category,
        "price": price,
        "stock_status": "in_stock",
        "scraped_at": _scraped_at(SCRAPED_FROM, serial),
    }


def rescrape(item: FeedItem, serial: int) -> tuple[FeedItem, int]:
    """`item` scraped again later (the `serial`-th re-scrape of the run) at a new price: the
    message and the price the listing must end up with."""
    body = json.loads(item.value)
    body["price"] = int(body["price"]) + 1000 * (serial % 9 + 1)
    body["scraped_at"] = _scraped_at(RESCRAPED_FROM, serial)
    return FeedItem(item.key, json.dumps(body).encode(), item.kind, item.product), body["price"]


def _poison(kind: str, index: int, rng: random.Random, oversized_bytes: int) -> bytes:
    sku = f"poison-{index}"
    if kind == "malformed_json":
        return b'{"retailer": "paris", "sku": "' + sku.encode() + b'", "name": "Smart TV'
    if kind == "binary":
        return bytes(rng.randrange(256) for _ in range(64)) + b"\x00\xff"
    if kind == "wrong_schema":
        return json.dumps({"retailer": "paris", "sku": sku, "title": "sin nombre"}).encode()
    if kind == "wrong_types":
        body = {"retailer": ["paris"], "sku": sku, "name": 42, "price": "gratis"}
        return json.dumps(body).encode()
    listing = _listing("paris", sku, "Smart TV LG 55 pulgadas 4K UHD", "Televisores", 299990)
    listing["url"] = "https://example.cl/"
    padding = max(0, oversized_bytes - len(json.dumps(listing)))
    listing["url"] = "https://example.cl/" + "x" * padding
    return json.dumps(listing).encode()


def build_feed(
    listings: int, seed: int = 7, mix: FeedMix | None = None, oversized_bytes: int = 950_000
) -> list[FeedItem]:
    """`listings` messages in a shuffled order; the first oversized poison message is
    `oversized_bytes` long, later ones (if any) are other poison kinds."""
    mix = mix or FeedMix()
    rng = random.Random(seed)
    count = {
        "review": round(listings * mix.review),
        "reject": round(listings * mix.reject),
        "poison": max(len(POISON_KINDS), round(listings * mix.poison)),
    }
    valid = listings - sum(count.values())
    items: list[FeedItem] = []
    brands: set[str] = set()
    product_no = 0
    while len(items) < valid:
        product_no += 1
        product = f"p{product_no:05d}"
        if rng.random() < mix.llm:
            category, template = rng.choice(_LLM_KINDS)
            title = template.format(
                brand=_brand(rng, brands),
                code=f"QX-{product_no:05d}",
                watts=rng.choice((300, 600, 800, 1200, 1800)),
            )
            kind: Kind = "llm"
        else:
            category, template = rng.choice(_RULES_TEMPLATES)
            title = template.format(
                n=1000 + product_no,  # equal widths: no model number is a prefix of another
                cap=rng.choice((64, 128, 256, 512)),
                ram=rng.choice((4, 6, 8, 12, 16)),
                size=rng.choice((43, 50, 55, 65)),
                color=rng.choice(_COLORS),
            )
            kind = "rules"
        price = rng.randrange(20, 900) * 1000 - 10
        sellers = rng.sample(RETAILERS, k=min(mix.listings_per_product, valid - len(items)))
        for retailer in sellers:
            sku = f"{product}-{retailer[:3]}"
            price_here = price + rng.randrange(0, 5) * 1000
            body = _listing(retailer, sku, title, category, price_here, len(items))
            items.append(FeedItem(f"{retailer}:{sku}", json.dumps(body).encode(), kind, product))
    for i in range(count["review"]):
        noise = " ".join(rng.choice(_UNREADABLE) for _ in range(3))
        body = _listing("lider", f"review-{i}", f"{noise} {i}", "Varios", 5990)
        items.append(FeedItem(f"lider:review-{i}", json.dumps(body).encode(), "review"))
    for i in range(count["reject"]):
        body = _listing("ripley", f"reject-{i}", f"Smart TV LG 43 pulgadas {i}", "Televisores", 0)
        items.append(FeedItem(f"ripley:reject-{i}", json.dumps(body).encode(), "reject"))
    for i in range(count["poison"]):
        kind_name = POISON_KINDS[i % len(POISON_KINDS)]
        if kind_name == "oversized" and i >= len(POISON_KINDS):
            kind_name = "wrong_schema"
        value = _poison(kind_name, i, rng, oversized_bytes)
        items.append(FeedItem(f"chaos-poison:{i}", value, "poison", poison=kind_name))
    rng.shuffle(items)
    return items
