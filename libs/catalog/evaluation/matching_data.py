"""The public matching data sets as raw listings and labeled pairs, for training and evaluation.

Read from `../shared/data` when present (never copied into the repository):

* `abt-buy/`: tableA (retailer `abt`) and tableB (retailer `buy`), lowercased tokenised titles,
  USD prices; pairs of `train.csv` / `valid.csv`;
* `wdc-products/`: tableA and tableB offers from many shops (each offer its own store, retailer
  `wdc-a` / `wdc-b` + id, so no two offers count as one store's), with the title, the `brand`
  field when filled, and the price converted to USD with fixed approximate rates
  (`USD_RATES`; other currencies: no price); pairs of `train.csv` / `valid.csv`;
* `latam-grocery/listings.csv`: store, title and price (ARS) of Argentine supermarket listings,
  never the EAN; truth is "same EAN". The file is split again in two halves by a stable hash of
  the EAN (`latam_half`): `train` for the matcher's training, `eval` for the reported figures.

A listing's price must be a positive integer (the contract's CLP pesos): the amount is rounded
and 1 stands for "no price" (`catalog.identity.facts` ignores prices below 2).
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from schemas.models import RawListing

__all__ = [
    "USD_RATES",
    "LabeledPairs",
    "LatamSet",
    "abt_buy",
    "default_data_dir",
    "latam_grocery",
    "latam_half",
    "parse_amount",
    "wdc_products",
]

# Approximate USD value of one unit (2020-2021 averages): enough to tell a 30 USD cable from a
# 300 USD headset; a currency missing here gives no price.
USD_RATES: dict[str, float] = {
    "USD": 1.0,
    "EUR": 1.18,
    "GBP": 1.35,
    "AUD": 0.75,
    "CAD": 0.79,
    "NZD": 0.70,
    "CHF": 1.09,
    "SEK": 0.116,
    "NOK": 0.116,
    "DKK": 0.159,
    "PLN": 0.26,
    "CZK": 0.046,
    "HUF": 0.0033,
    "RON": 0.24,
    "ZAR": 0.067,
    "SGD": 0.74,
    "HKD": 0.129,
    "AED": 0.272,
    "INR": 0.0135,
}

Half = Literal["train", "eval"]


@dataclass(frozen=True)
class LabeledPairs:
    """Listings in the order they are resolved, and labeled pairs of listing indices."""

    name: str
    listings: list[RawListing]
    pairs: list[tuple[int, int, int]]


@dataclass(frozen=True)
class LatamSet:
    """Listings of one half of latam-grocery, in file order, with each one's EAN (the truth)."""

    listings: list[RawListing]
    eans: list[str]

    @property
    def stores(self) -> list[str]:
        return [listing.retailer for listing in self.listings]


def default_data_dir() -> Path:
    """`../shared/data` from the working directory, else next to a worktree folder."""
    here = Path.cwd()
    for base in (here, *here.parents):
        candidate = base / "shared" / "data"
        if candidate.is_dir() and base != here:
            return candidate
    return Path("../shared/data")


def parse_amount(raw: str | None) -> float | None:
    """`"$ 3210,00"`, `"$5.625,00"`, `"$9.650"`, `"3443,33c/u"`, `"1.893E3"`, `"£12.99"` ->
    a float; None when there is no number."""
    text = re.sub(r"[^\d.,eE+-]", "", raw or "").strip(".,")
    if not text or not any(c.isdigit() for c in text):
        return None
    if "," in text and "." in text:
        # The later separator is the decimal one.
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif "," in text:
        head, _, tail = text.rpartition(",")
        text = f"{head.replace(',', '')}{tail}" if len(tail) == 3 else f"{head}.{tail}"
    elif re.fullmatch(r"\d{1,3}(?:\.\d{3})+", text):
        text = text.replace(".", "")
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value > 0 else None


def _price(amount: float | None) -> int:
    return max(round(amount), 1) if amount is not None else 1


def _title(text: str | None) -> str:
    return (text or "").strip()[:500] or "(no title)"


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _pairs(path: Path) -> list[tuple[str, str, int]]:
    return [
        (row["ltable_id"].strip(), row["rtable_id"].strip(), int(row["label"]))
        for row in _read(path)
    ]


def _labeled(
    name: str,
    left: dict[str, RawListing],
    right: dict[str, RawListing],
    pairs: list[tuple[str, str, int]],
) -> LabeledPairs:
    """The listings the pairs reference, left table first (each in id order), and the pairs as
    indices into them."""
    wanted_left = sorted({a for a, _, _ in pairs if a in left}, key=_id_order)
    wanted_right = sorted({b for _, b, _ in pairs if b in right}, key=_id_order)
    listings = [left[a] for a in wanted_left] + [right[b] for b in wanted_right]
    index_left = {a: i for i, a in enumerate(wanted_left)}
    index_right = {b: len(wanted_left) + i for i, b in enumerate(wanted_right)}
    indexed = [
        (index_left[a], index_right[b], label)
        for a, b, label in pairs
        if a in index_left and b in index_right
    ]
    return LabeledPairs(name, listings, indexed)


def _id_order(key: str) -> tuple[int, str]:
    return (int(key), key) if key.isdigit() else (0, key)


def abt_buy(folder: Path, split: Literal["train", "valid"]) -> LabeledPairs:
    def table(path: Path, retailer: str) -> dict[str, RawListing]:
        return {
            row["id"].strip(): RawListing(
                retailer=retailer,
                sku=row["id"].strip(),
                name=_title(row["name"]),
                price=_price(parse_amount(row.get("price"))),
            )
            for row in _read(path)
        }

    left = table(folder / "tableA.csv", "abt")
    right = table(folder / "tableB.csv", "buy")
    return _labeled(f"abt-buy {split}", left, right, _pairs(folder / f"{split}.csv"))


def _wdc_listing(side: str, row: dict[str, str]) -> RawListing:
    rate = USD_RATES.get((row.get("pricecurrency") or "").strip().upper())
    amount = parse_amount(row.get("price"))
    brand = (row.get("brand") or "").strip()[:100] or None
    return RawListing(
        retailer=f"wdc-{side}{row['id'].strip()}",
        sku=row["id"].strip(),
        name=_title(row["title"]),
        price=_price(amount * rate if amount is not None and rate is not None else None),
        brand=brand,
    )


def wdc_products(folder: Path, split: Literal["train", "valid"]) -> LabeledPairs:
    left = {r["id"].strip(): _wdc_listing("a", r) for r in _read(folder / "tableA.csv")}
    right = {r["id"].strip(): _wdc_listing("b", r) for r in _read(folder / "tableB.csv")}
    return _labeled(f"wdc-products {split}", left, right, _pairs(folder / f"{split}.csv"))


def latam_half(ean: str) -> Half:
    """Which half of latam-grocery an EAN belongs to: a stable hash, about half each."""
    digest = hashlib.sha256(f"latam-split|{ean.strip()}".encode()).digest()
    return "train" if digest[0] % 2 == 0 else "eval"


def latam_grocery(path: Path, half: Half) -> LatamSet:
    listings: list[RawListing] = []
    eans: list[str] = []
    for number, row in enumerate(_read(path)):
        ean = row["ean"].strip()
        if latam_half(ean) != half:
            continue
        listings.append(
            RawListing(
                retailer=row["store"].strip(),
                sku=f"{number}",
                name=_title(row["title"]),
                price=_price(parse_amount(row.get("price"))),
            )
        )
        eans.append(ean)
    return LatamSet(listings, eans)
