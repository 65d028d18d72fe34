"""Run every evaluation, print one table and write `out/eval.json`."""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from catalog.evaluation import PRF, chile, devset, matching, matching_data, wdc_pave
from catalog.inline import LLMMode
from catalog.settings import Settings

__all__ = ["Report", "build_table", "run"]


@dataclass
class Report:
    llm: LLMMode
    data_dir: Path
    devset: devset.DevsetScores
    matching: dict[str, matching.ResolutionScores] = field(default_factory=dict)
    wdc_pave: wdc_pave.WdcScores | None = None
    chile: chile.ChileScores | None = None
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "llm": self.llm,
            "data_dir": str(self.data_dir),
            "machine": {"cpus": _cpus(), "python": platform.python_version()},
            "matching": {name: scores.as_dict() for name, scores in self.matching.items()},
            "devset": self.devset.as_dict(),
            "wdc_pave": self.wdc_pave.as_dict() if self.wdc_pave else None,
            "chile_unlabeled": self.chile.as_dict() if self.chile else None,
            "skipped": self.skipped,
            "seconds": round(self.seconds, 2),
        }


def _cpus() -> int:
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _prf(prf: PRF) -> str:
    return f"P {_pct(prf.precision)}  R {_pct(prf.recall)}  F1 {_pct(prf.f1)}"


def build_table(report: Report) -> Table:
    table = Table(title=f"Evaluation (llm: {report.llm})")
    table.add_column("data set")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("note")
    for name, m in report.matching.items():
        label = f"{name} ({m.listings} listings)"
        for title, figures in (
            ("catalog normalize", m.normalize),
            ("resolver on accepted", m.resolver),
        ):
            table.add_row(
                label,
                f"grouping, {title}",
                _prf(figures.matching),
                f"no master {_pct(figures.review_rate)}; {figures.matching.gold} true pairs",
            )
        if m.brands is not None:
            table.add_row(
                label,
                "brand agreement across stores",
                _pct(m.brands.rate),
                f"{m.brands.pairs} pairs of one product at two stores, both normalized",
            )
    d = report.devset
    dev = f"dev set ({d.listings}, regression fixture)"
    table.add_row(dev, "normalized", _pct(d.normalized / (d.listings or 1)), "the rest: errors")
    table.add_row(dev, "brand accuracy", _pct(d.brand), "exact canonical brand")
    table.add_row(dev, "model accuracy", _pct(d.model), "casefold, no accents/spaces/hyphens")
    table.add_row(dev, "category accuracy", _pct(d.category), "exact taxonomy id")
    table.add_row(dev, "attributes", _prf(d.attributes), "micro, (attr, value) pairs")
    table.add_row(dev, "grouping", _prf(d.grouping), "pairwise, same master vs group")
    table.add_row(dev, "rules-tier share", _pct(d.rules_share), f"LLM calls: {d.llm_calls}")
    if report.wdc_pave is not None:
        w = report.wdc_pave
        name = f"WDC PAVE train ({w.offers})"
        table.add_row(name, "mapped attributes", _prf(w.overall), "reference: GPT-4 about 91 F1")
        for attribute, prf in sorted(w.by_attribute.items()):
            if prf.gold or prf.predicted:
                table.add_row(name, f"  {attribute}", _prf(prf), f"{prf.gold} gold in titles")
        uncovered = sum(w.not_covered.values())
        table.add_row(
            name, "not covered", str(uncovered), f"gold values of {len(w.not_covered)} attributes"
        )
    for name, c in (report.chile.sets if report.chile else {}).items():
        label = f"{name} ({c.listings}, unlabeled)"
        table.add_row(
            label,
            "false merges",
            _pct(c.false_merge_rate),
            f"{c.false_merges} listings share a master with another title; "
            f"no master {_pct(c.without_master / (c.listings or 1))}",
        )
        table.add_row(label, "in its section", _pct(c.in_section / (c.listings or 1)), "")
        table.add_row(
            label,
            "shared names",
            _pct(c.shared_names / (c.listings or 1)),
            f"{c.shared_names} listings named like a listing of another title",
        )
        table.add_row(
            label,
            "brand",
            _pct(c.brand_agrees / (c.brand_checked or 1)),
            "= the title's first word" if name.startswith("SoloTodo") else "found at all",
        )
        table.add_row(
            label,
            "stated sizes",
            _pct(c.sizes_agree / (c.sizes_stated or 1)),
            f"{c.sizes_stated} sizes stated in titles",
        )
    for name, why in report.skipped.items():
        table.add_row(name, "skipped", "-", why)
    return table


def run(
    settings: Settings,
    llm: LLMMode,
    data_dir: Path,
    out: Path | None = Path("out/eval.json"),
    console: Console | None = None,
) -> Report:
    if console is None:
        console = Console()
        if not console.is_terminal:
            console = Console(width=140)
    started = time.perf_counter()
    console.print(f"dev set: {devset.DEVSET}")
    report = Report(llm=llm, data_dir=data_dir, devset=devset.evaluate(settings, llm))
    abt = data_dir / "abt-buy"
    if (abt / "valid.csv").is_file():
        console.print(f"Abt-Buy: {abt}")
        report.matching["Abt-Buy valid"] = matching.evaluate_labeled(
            settings, llm, matching_data.abt_buy(abt, "valid")
        )
    else:
        report.skipped["Abt-Buy"] = f"{abt} not found"
    products = data_dir / "wdc-products"
    if (products / "valid.csv").is_file():
        console.print(f"WDC Products: {products}")
        report.matching["WDC Products valid"] = matching.evaluate_labeled(
            settings, llm, matching_data.wdc_products(products, "valid")
        )
    else:
        report.skipped["WDC Products"] = f"{products} not found"
    grocery = data_dir / "latam-grocery" / "listings.csv"
    if grocery.is_file():
        console.print(f"latam-grocery: {grocery}")
        report.matching["latam-grocery eval half"] = matching.evaluate_latam(
            settings, llm, matching_data.latam_grocery(grocery, "eval")
        )
    else:
        report.skipped["latam-grocery"] = f"{grocery} not found"
    wdc = data_dir / "wdc-pave"
    if (wdc / wdc_pave.TRAIN).is_file():
        console.print(f"WDC PAVE: {wdc}")
        report.wdc_pave = wdc_pave.evaluate(settings, llm, wdc)
    else:
        report.skipped["WDC PAVE"] = f"{wdc / wdc_pave.TRAIN} not found"
    unlabeled = data_dir / chile.FOLDER
    if unlabeled.is_dir():
        console.print(f"Chilean titles without labels: {unlabeled}")
        report.chile = chile.evaluate(settings, llm, unlabeled)
    else:
        report.skipped["chile-unlabeled"] = f"{unlabeled} not found"
    for name, why in report.skipped.items():
        console.print(f"[yellow]{name} skipped:[/yellow] {why}")
    report.seconds = time.perf_counter() - started
    console.print(build_table(report))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report.as_dict(), indent=2, ensure_ascii=False) + "\n")
        console.print(f"wrote {out} ({report.seconds:.1f} s)")
    return report
