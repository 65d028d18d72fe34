"""Real Chilean store titles without labels (`chile-unlabeled/`): what `catalog normalize`
makes of them, checked only against what the sources themselves state.

* `jumbo_lacteos.csv`: 400 titles of the Jumbo supermarket's dairy section (mid-2024) with CLP
  prices (`$2.490`): retailer `jumbo`, store category `Lácteos`;
* `solotodo_gpus.csv`: 132 graphics cards listed by SoloTodo (2025), each row one SoloTodo
  product (its id in the link): retailer `solotodo`, store category `Tarjetas de video`.

Nothing here is labeled by hand. The checks:

* **false merges**: every row is a different product of one store's catalog, so a listing that
  shares its master with a row of another title is a false merge (rows with the same title
  may share one);
* **section**: the share of listings in the taxonomy node of the section they were scraped from
  (`dairy`, `video_cards`);
* **brand**: SoloTodo titles start with the brand (as the data set's notes say), so the brand
  must be that first word (aliases folded); for Jumbo the share of listings with a brand at all;
* **shared names**: listings of different titles whose products got the same normalized name
  (each row being another product, a shopper would see two products named alike);
* **stated sizes**: the titles that state a size in a plain unit pattern (`250 g`, `1,5 kg`,
  `1 L`, `200 ml`, `6 un.`; a card's `8GB` / `8G`) must carry that value in the matching typed
  attribute (`weight_g`, `volume_ml`, `pack_count`, `vram_gb`). The pattern is read here with
  its own regular expressions, apart from the extractor's.
"""

from __future__ import annotations

import csv
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from catalog.domain.units import alias_key
from catalog.evaluation import run_listings, values_equal
from catalog.inline import InlineResult, LLMMode
from catalog.settings import Settings
from schemas.models import RawListing

__all__ = ["FOLDER", "ChileScores", "evaluate", "jumbo_dairy", "solotodo_gpus", "stated_sizes"]

FOLDER = "chile-unlabeled"
JUMBO = "jumbo_lacteos.csv"
SOLOTODO = "solotodo_gpus.csv"

_QUANTITY = re.compile(
    r"(?<![\w.,])(\d+(?:[.,]\d+)?)\s*(kg|g|ml|cc|l|lt|litros?)(?![\w])", re.IGNORECASE
)
_PACK = re.compile(r"(?<![\w.,])(\d+)\s*(?:un|unid|unidades)\b\.?", re.IGNORECASE)
_VRAM = re.compile(r"(?<![\w.,])(\d{1,2})\s*GB?(?![\w])")
_UNIT_SCALE = {"kg": ("weight_g", 1000), "g": ("weight_g", 1)} | {
    unit: ("volume_ml", 1000) for unit in ("l", "lt", "litro", "litros")
}
_UNIT_SCALE |= {"ml": ("volume_ml", 1), "cc": ("volume_ml", 1)}


def _clp(text: str) -> int:
    """`$2.490` -> 2490 (dots are thousands separators in Chile)."""
    digits = re.sub(r"[^\d]", "", text)
    return int(digits) if digits else 0


def jumbo_dairy(path: Path) -> list[RawListing]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [
        RawListing(
            retailer="jumbo",
            sku=f"lacteos-{n}",
            name=row["Producto"],
            category="Lácteos",
            price=_clp(row["Precio"]),
        )
        for n, row in enumerate(rows)
        if row.get("Producto") and _clp(row.get("Precio") or "") > 0
    ]


def solotodo_gpus(path: Path) -> list[RawListing]:
    """One listing per SoloTodo product id; the header artefact row (no product link) is
    skipped."""
    out: list[RawListing] = []
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            found = re.search(r"/products/(\d+)", row.get("Link") or "")
            if found is None or _clp(row.get("Precio") or "") <= 0:
                continue
            out.append(
                RawListing(
                    retailer="solotodo",
                    sku=found.group(1),
                    name=row["Nombre"],
                    category="Tarjetas de video",
                    price=_clp(row["Precio"]),
                    url=row["Link"],
                )
            )
    return out


def stated_sizes(title: str, *, cards: bool = False) -> dict[str, float]:
    """The sizes a title states in a plain unit pattern, as typed attributes (first of each)."""
    stated: dict[str, float] = {}
    if cards:
        vram = _VRAM.search(title)
        if vram:
            stated["vram_gb"] = float(vram.group(1))
        return stated
    for number, unit in _QUANTITY.findall(title):
        attribute, scale = _UNIT_SCALE[unit.lower()]
        stated.setdefault(attribute, float(number.replace(",", ".")) * scale)
    pack = _PACK.search(title)
    if pack:
        stated["pack_count"] = float(pack.group(1))
    return stated


@dataclass(frozen=True)
class SetScores:
    name: str
    listings: int
    without_master: int
    false_merges: int
    """Listings sharing their master with a listing of another title."""
    in_section: int
    brand_agrees: int
    sizes_stated: int
    sizes_agree: int
    shared_names: int = 0
    """Listings whose normalized name a listing of another title also got."""
    seconds: float = 0.0
    merged_titles: tuple[tuple[str, ...], ...] = ()
    size_misses: tuple[str, ...] = ()

    @property
    def brand_checked(self) -> int:
        """Every listing is checked for its brand."""
        return self.listings

    @property
    def false_merge_rate(self) -> float:
        return self.false_merges / self.listings if self.listings else 0.0

    def as_dict(self) -> dict[str, Any]:
        def rate(part: int, whole: int) -> float:
            return round(part / whole, 4) if whole else 0.0

        return {
            "listings": self.listings,
            "without_master_rate": rate(self.without_master, self.listings),
            "false_merges": self.false_merges,
            "false_merge_rate": rate(self.false_merges, self.listings),
            "shared_names": self.shared_names,
            "shared_name_rate": rate(self.shared_names, self.listings),
            "in_section_rate": rate(self.in_section, self.listings),
            "brand": {
                "checked": self.brand_checked,
                "agrees": self.brand_agrees,
                "rate": rate(self.brand_agrees, self.brand_checked),
            },
            "stated_sizes": {
                "stated": self.sizes_stated,
                "agree": self.sizes_agree,
                "rate": rate(self.sizes_agree, self.sizes_stated),
            },
            "merged_titles": [list(t) for t in self.merged_titles],
            "size_misses": list(self.size_misses[:20]),
            "seconds": round(self.seconds, 2),
        }


@dataclass
class ChileScores:
    sets: dict[str, SetScores] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {name: scores.as_dict() for name, scores in self.sets.items()}


def score(
    name: str,
    results: Sequence[InlineResult],
    section: str,
    *,
    brand_is_first_word: bool,
    cards: bool,
    seconds: float = 0.0,
) -> SetScores:
    titles_by_master: dict[str, set[str]] = {}
    for r in results:
        if r.master_id is not None:
            titles_by_master.setdefault(r.master_id, set()).add(r.listing.name.strip().casefold())
    merged = [t for t in titles_by_master.values() if len(t) > 1]
    false_merges = sum(
        1 for r in results if r.master_id is not None and len(titles_by_master[r.master_id]) > 1
    )
    titles_by_name: dict[str, set[str]] = {}
    for r in results:
        if r.product is not None and r.product.normalized_name:
            titles_by_name.setdefault(r.product.normalized_name.casefold(), set()).add(
                r.listing.name.strip().casefold()
            )
    shared_names = sum(
        1
        for r in results
        if r.product is not None
        and r.product.normalized_name
        and len(titles_by_name[r.product.normalized_name.casefold()]) > 1
    )
    in_section = brand_agrees = stated_total = agree_total = 0
    misses: list[str] = []
    for r in results:
        product = r.product
        if product is not None and product.category == section:
            in_section += 1
        if brand_is_first_word:
            first = r.listing.name.split()[0] if r.listing.name.split() else ""
            brand_agrees += bool(
                product and product.brand and alias_key(product.brand) == alias_key(first)
            )
        else:
            brand_agrees += bool(product and product.brand)
        attributes = product.attributes if product is not None else {}
        for attribute, value in stated_sizes(r.listing.name, cards=cards).items():
            stated_total += 1
            if attribute in attributes and values_equal(attributes[attribute], value):
                agree_total += 1
            else:
                misses.append(
                    f"{r.listing.name} ({attribute} {value:g}: {attributes.get(attribute)})"
                )
    return SetScores(
        name=name,
        listings=len(results),
        without_master=sum(1 for r in results if r.master_id is None),
        false_merges=false_merges,
        in_section=in_section,
        brand_agrees=brand_agrees,
        sizes_stated=stated_total,
        sizes_agree=agree_total,
        shared_names=shared_names,
        seconds=seconds,
        merged_titles=tuple(tuple(sorted(t)) for t in merged),
        size_misses=tuple(misses),
    )


def evaluate(settings: Settings, llm: LLMMode, folder: Path, concurrency: int = 16) -> ChileScores:
    """Each file present in `folder`, through `catalog normalize`'s code (CLP prices as sent)."""
    scores = ChileScores()
    plan = (
        ("Jumbo dairy", folder / JUMBO, jumbo_dairy, "dairy", False, False),
        ("SoloTodo graphics cards", folder / SOLOTODO, solotodo_gpus, "video_cards", True, True),
    )
    for name, path, load, section, first_word, cards in plan:
        if not path.is_file():
            continue
        started = time.perf_counter()
        results = run_listings(settings, load(path), llm, concurrency)
        scores.sets[name] = score(
            name,
            results,
            section,
            brand_is_first_word=first_word,
            cards=cards,
            seconds=time.perf_counter() - started,
        )
    return scores
