"""Brand read from real titles alone, scored against the brand labels of public data sets.

`python -m catalog.evaluation.brands [--data-dir ../shared/data] [--split develop|report|all]`

Each labeled offer's title goes through the rules extraction (`catalog.domain.extractor.parts`,
the brand that routes, caches and resolves a listing) with no store category and no brand field:
the brand must come from the title. Two data sets, each in a develop split (rules are tuned
on it) and a report split (never looked at while tuning):

* **WDC Products** (`wdc-products/tableA.csv`, `tableB.csv`; offers deduplicated by id, tableB's
  rows repeat tableA's): the `brand` column. Develop = offers that `train.csv` references,
  report = offers that only `valid.csv` references.
* **WDC PAVE** (`wdc-pave/wdc_with_all_attributes_normalized/`): the Brand and Manufacturer
  values annotated in the title (`pid` holds 0). Develop = `train_large.jsonl` minus the offers
  of `train.jsonl` (which `train_large` contains, same ids), report = `train.jsonl` (the split
  `make eval`'s WDC PAVE figure reports).

The labels are noisy ("Nicht angegeben", "Znacka: Originalni", a store's own name), so a label is
kept only when its alias key (`catalog.domain.units.alias_key`: folded words) occurs in the
title as whole words; the filter depends on the data alone, not on the alias table, so the
scored set does not move when the brand rules change.

Per data set and split: `accuracy` = offers whose brand has the gold's canonical spelling (the
alias table's canonical name when it knows the brand, else the folded words; compared by
`brand_key`), over all kept offers; `coverage` = share of offers given any brand (the declared
unbranded marker counts as none); `precision` = correct among offers given a brand.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from catalog.brand_registry import canonical_spelling
from catalog.domain.brands import load_brands
from catalog.domain.units import alias_key

__all__ = [
    "SPLITS",
    "BrandCase",
    "BrandScores",
    "brand_key",
    "evaluate",
    "main",
    "score",
    "title_states",
    "unseen_brands",
    "wdc_pave_cases",
    "wdc_products_cases",
]

DEVELOP = "develop"
REPORT = "report"
SPLITS = (DEVELOP, REPORT)
# The report offers whose gold brands the develop split never names: brand rules and aliases
# tuned on develop cannot have seen them.
REPORT_UNSEEN = "report, brand unseen in develop"
WDC_PRODUCTS = "wdc-products"
WDC_PAVE = "wdc-pave"
PAVE_FOLDER = Path("wdc_with_all_attributes_normalized")
PAVE_BRAND_ATTRIBUTES = ("Brand", "Manufacturer")


@dataclass(frozen=True)
class BrandCase:
    """One labeled offer: its id, title and the brand labels the title states."""

    id: str
    title: str
    gold: tuple[str, ...]


@dataclass(frozen=True)
class BrandError:
    title: str
    gold: tuple[str, ...]
    predicted: str | None


@dataclass(frozen=True)
class BrandScores:
    offers: int
    correct: int
    branded: int
    labels_seen: int = 0
    errors: list[BrandError] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.correct / self.offers if self.offers else 0.0

    @property
    def coverage(self) -> float:
        return self.branded / self.offers if self.offers else 0.0

    @property
    def precision(self) -> float:
        return self.correct / self.branded if self.branded else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "offers": self.offers,
            "labels_seen": self.labels_seen,
            "accuracy": round(self.accuracy, 4),
            "coverage": round(self.coverage, 4),
            "precision": round(self.precision, 4),
            "correct": self.correct,
            "branded": self.branded,
        }


def title_states(label: str, title: str) -> bool:
    """The label's folded words occur in the title as whole words: "TP-Link" in "Switch TP-LINK
    TL-SG105E", not "Nicht angegeben" in "Samsung 860 EVO", not "LG" in "Algodón"."""
    key = alias_key(label)
    return bool(key) and f" {key} " in f" {alias_key(title)} "


def brand_key(name: str | None) -> str:
    """Comparable form of a brand: the canonical spelling (alias table, else the upper-cased
    text) folded to its alias key; "" for none."""
    spelling = canonical_spelling(name)
    return alias_key(spelling) if spelling else ""


def _case(offer_id: str, title: str, labels: Iterable[str]) -> tuple[BrandCase | None, bool]:
    """The offer as a case when the title states one of its labels; and whether it had any."""
    title = " ".join(title.split())
    stated = tuple(label.strip() for label in labels if label.strip())
    kept = tuple(label for label in stated if title_states(label, title))
    return (BrandCase(offer_id, title, kept) if kept and title else None), bool(stated)


def _ids(path: Path) -> set[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {
            side for row in csv.DictReader(handle) for side in (row["ltable_id"], row["rtable_id"])
        }


def wdc_products_cases(folder: Path) -> tuple[dict[str, list[BrandCase]], dict[str, int]]:
    """Develop/report cases of WDC Products and the labeled offers per split before the filter."""
    offers: dict[str, dict[str, str]] = {}
    for table in ("tableA.csv", "tableB.csv"):
        with (folder / table).open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                offers.setdefault(row["id"], row)
    develop = _ids(folder / "train.csv")
    report = _ids(folder / "valid.csv") - develop
    cases: dict[str, list[BrandCase]] = {DEVELOP: [], REPORT: []}
    labeled = dict.fromkeys(SPLITS, 0)
    for offer_id, row in offers.items():
        split = DEVELOP if offer_id in develop else REPORT if offer_id in report else None
        if split is None:
            continue
        case, had_label = _case(offer_id, row.get("title") or "", [row.get("brand") or ""])
        labeled[split] += had_label
        if case is not None:
            cases[split].append(case)
    return cases, labeled


def _pave_rows(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def wdc_pave_cases(folder: Path) -> tuple[dict[str, list[BrandCase]], dict[str, int]]:
    """Develop (`train_large` minus `train`) and report (`train`) cases of WDC PAVE."""
    report_rows = _pave_rows(folder / PAVE_FOLDER / "train.jsonl")
    report_ids = {str(row["id"]) for row in report_rows}
    develop_rows = [
        row
        for row in _pave_rows(folder / PAVE_FOLDER / "train_large.jsonl")
        if str(row["id"]) not in report_ids
    ]
    cases: dict[str, list[BrandCase]] = {DEVELOP: [], REPORT: []}
    labeled = dict.fromkeys(SPLITS, 0)
    for split, rows in ((DEVELOP, develop_rows), (REPORT, report_rows)):
        for row in rows:
            labels = [
                value
                for name in PAVE_BRAND_ATTRIBUTES
                for value, info in (row["target_scores"].get(name) or {}).items()
                if value != "n/a" and 0 in info.get("pid", [])
            ]
            case, had_label = _case(str(row["id"]), str(row.get("input_title") or ""), labels)
            labeled[split] += had_label
            if case is not None:
                cases[split].append(case)
    return cases, labeled


def _rules_brand(title: str) -> str | None:
    from catalog.domain.extractor import parts

    brand = parts(title).brand
    return None if load_brands().is_unbranded(brand) else brand


def score(
    cases: Sequence[BrandCase],
    read_brand: Callable[[str], str | None] = _rules_brand,
    labels_seen: int = 0,
) -> BrandScores:
    correct = branded = 0
    errors: list[BrandError] = []
    for case in cases:
        predicted = read_brand(case.title)
        if predicted:
            branded += 1
        wanted = {brand_key(label) for label in case.gold}
        if predicted and brand_key(predicted) in wanted:
            correct += 1
        else:
            errors.append(BrandError(case.title, case.gold, predicted))
    return BrandScores(len(cases), correct, branded, labels_seen or len(cases), errors)


def evaluate(data_dir: Path, splits: Sequence[str] = SPLITS) -> dict[str, dict[str, BrandScores]]:
    """Scores per data set and split, for the data sets present under `data_dir`."""
    loaders = {WDC_PRODUCTS: wdc_products_cases, WDC_PAVE: wdc_pave_cases}
    out: dict[str, dict[str, BrandScores]] = {}
    for name, loader in loaders.items():
        folder = data_dir / name
        if not folder.is_dir():
            continue
        cases, labeled = loader(folder)
        out[name] = {split: score(cases[split], labels_seen=labeled[split]) for split in splits}
        if REPORT in splits:
            out[name][REPORT_UNSEEN] = score(unseen_brands(cases[REPORT], cases[DEVELOP]))
    return out


def unseen_brands(cases: Sequence[BrandCase], seen: Sequence[BrandCase]) -> list[BrandCase]:
    """The cases none of whose gold brands is a gold brand of `seen`."""
    known = {brand_key(label) for case in seen for label in case.gold}
    return [case for case in cases if not known & {brand_key(label) for label in case.gold}]


def _print(results: dict[str, dict[str, BrandScores]]) -> None:
    print(
        f"{'data set':<14}{'split':<34}{'labeled':>8}{'kept':>6}"
        f"{'accuracy':>10}{'coverage':>10}{'precision':>11}"
    )
    for name, by_split in results.items():
        for split, s in by_split.items():
            print(
                f"{name:<14}{split:<34}{s.labels_seen:>8}{s.offers:>6}"
                f"{100 * s.accuracy:>9.1f}%{100 * s.coverage:>9.1f}%{100 * s.precision:>10.1f}%"
            )


def main(argv: list[str] | None = None) -> int:
    from catalog.evaluation.matching_data import default_data_dir

    parser = argparse.ArgumentParser(
        prog="python -m catalog.evaluation.brands",
        description="Brand read from titles alone against WDC Products and WDC PAVE labels.",
    )
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--split", choices=(*SPLITS, "all"), default="all")
    parser.add_argument(
        "--errors", type=int, default=0, help="print this many wrong offers of the develop split"
    )
    parser.add_argument("--out", type=Path, default=None, help="write the scores as JSON here")
    args = parser.parse_args(argv)
    splits = SPLITS if args.split == "all" else (args.split,)
    results = evaluate(args.data_dir, splits)
    if not results:
        print(
            f"brands: skipped, neither {WDC_PRODUCTS}/ nor {WDC_PAVE}/ under {args.data_dir}",
            file=sys.stderr,
        )
        return 0
    _print(results)
    if args.errors:
        for name, by_split in results.items():
            develop = by_split.get(DEVELOP)
            for error in (develop.errors if develop else [])[: args.errors]:
                print(f"{name}\t{error.predicted}\t{'|'.join(error.gold)}\t{error.title}")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        payload = {n: {s: v.as_dict() for s, v in d.items()} for n, d in results.items()}
        args.out.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
