"""`catalog normalize`: normalize a file of raw listings in-process, without the stack.

The file is JSONL, JSON, CSV or .xlsx, in the raw contract's shape or with a store's own column
names (`catalog.cli.listing_files`). The listings go through the same decisions as the services
(`catalog.inline`): router, optional multilevel cache, rules tier or LLM with the validator's
fallback chain. The output has one JSON line per input record, in input order:

* a normalized listing: `retailer`, `sku`, `brand`, `model`, `normalized_name`, `category`,
  `attributes`, `confidence`, `tier`, `source`, `input_fingerprint`, `product_fingerprint`;
  with resolution on (the default), `product_fingerprint` is the master product id the listing
  was resolved to against the listings before it in the file (null when it went to review),
  `resolution` the outcome (`attached`, `new`, `judged`, `review`, `known`) and `match_score`
  the matcher's probability for the chosen (or best) candidate;
* a listing that could not be normalized: `{"retailer", "sku", "error"}`;
* a record that is not a valid raw listing: `{"line": n, "error"}` (`n`: its line; a JSON
  array's element, from 1).

With `-o out.csv` the same fields are written as a CSV, one row per input record, with the
record's line and its title beside them (`CSV_COLUMNS`).
"""

from __future__ import annotations

import asyncio
import csv
import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from catalog.cli.common import (
    EXIT_PROBLEM,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    console,
    err,
    fail,
    load_settings,
)
from catalog.cli.listing_files import RETAILER_HELP, read_listings, report_ignored
from catalog.inline import (
    LLM_MODES,
    UNCERTAIN_MODES,
    InlineResult,
    LLMMode,
    UncertainMode,
    Unreachable,
    open_normalizer,
)
from catalog.settings import Settings
from schemas.models import RawListing

if TYPE_CHECKING:
    from catalog.evaluation import PRF
    from catalog.evaluation.matching import BrandAgreement


@dataclass
class NormalizeRun:
    """Everything one run produced, in input order."""

    lines: list[dict[str, Any]] = field(default_factory=list)
    results: list[InlineResult] = field(default_factory=list)
    invalid: int = 0
    numbers: list[int] = field(default_factory=list)
    """Each line's record number in the input file."""
    truths: list[str | None] = field(default_factory=list)
    """With `--truth`: each result's product key from the file (None where it is empty)."""

    def counts(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for result in self.results:
            if result.decision is not None:
                counts[f"resolution {result.decision.outcome}"] += 1
            if result.product is not None:
                counts[f"answered by {result.product.source}"] += 1
            elif result.review is not None:
                counts["review"] += 1
            elif (result.error or "").startswith("rejected"):
                counts["rejected"] += 1
            else:
                counts["needs an LLM"] += 1
        if self.invalid:
            counts["invalid lines"] = self.invalid
        return counts

    def grouping(self) -> tuple[int, int]:
        """How many master products the resolved listings landed on, and how many of them
        have listings of two stores or more (the cross-store grouping a run is for)."""
        stores: dict[str, set[str]] = {}
        for result in self.results:
            master = result.product_fingerprint
            if master is not None:
                stores.setdefault(master, set()).add(result.listing.retailer)
        return len(stores), sum(1 for held in stores.values() if len(held) > 1)

    def scored(self) -> tuple[PRF, int, BrandAgreement]:
        """Cross-store grouping against `truths` (`make eval`'s figure: over every pair of
        listings of two stores, the same master predicted, the same key true; listings with no
        key left out), how many keyed listings got no master (with `--no-resolve`, the master
        is normalization's product fingerprint), and how often two stores' listings of one key
        got the same brand."""
        from catalog.evaluation.matching import brand_agreement, cross_store_prf

        kept = [(r, key) for r, key in zip(self.results, self.truths, strict=True) if key]
        masters = [r.product_fingerprint for r, _ in kept]
        keys = [key for _, key in kept]
        stores = [r.listing.retailer for r, _ in kept]
        brands = [r.product.brand if r.product is not None else None for r, _ in kept]
        prf = cross_store_prf(masters, keys, stores)
        unresolved = sum(1 for m in masters if m is None)
        return prf, unresolved, brand_agreement(brands, keys, stores)

    @property
    def problems(self) -> int:
        return self.invalid + sum(1 for r in self.results if not r.ok)


def default_llm_mode(settings: Settings) -> LLMMode:
    return "emulator" if settings.environment == "dev" else "configured"


async def normalize_listings(
    settings: Settings,
    listings: Sequence[RawListing],
    *,
    llm: LLMMode,
    cache: bool = False,
    concurrency: int = 8,
    progress: Progress | None = None,
    resolve: bool = True,
    resolve_unnormalized: bool = False,
    uncertain: UncertainMode = "matcher",
) -> list[InlineResult]:
    """Normalize `listings` in order, then resolve them in order against an in-memory catalog;
    what the command and the evaluation both call."""
    async with open_normalizer(
        settings,
        llm,
        cache=cache,
        concurrency=concurrency,
        resolve=resolve,
        resolve_unnormalized=resolve_unnormalized,
        uncertain=uncertain,
    ) as normalizer:
        if progress is None:
            return await normalizer.normalize(listings)
        task = progress.add_task("normalize", total=len(listings))
        return await normalizer.normalize(listings, lambda _r: progress.advance(task))


def run_file(
    settings: Settings,
    file: Path,
    *,
    llm: LLMMode,
    cache: bool = False,
    concurrency: int = 8,
    show_progress: bool = True,
    resolve: bool = True,
    uncertain: UncertainMode = "matcher",
    retailer: str | None = None,
    truth: str | None = None,
) -> NormalizeRun:
    """Read, validate and normalize a JSONL, JSON, CSV or .xlsx file (`catalog.cli.listing_files`);
    one output line per input record. A record without a price is normalized too: naming a
    product needs none (the pipeline's router refuses it, `routing.require_price`)."""
    read = read_listings(file, retailer, truth, require_price=False)
    settings = settings.model_copy(
        update={"routing": settings.routing.model_copy(update={"require_price": False})}
    )
    if truth is not None and not read.truth_found:
        raise ValueError(f"no record of {file} has a column named {truth!r}")
    report_ignored(file, read.ignored)
    errors = dict(read.errors)
    with Progress(
        TextColumn("normalizing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=not (show_progress and err.is_terminal),
    ) as progress:
        results = asyncio.run(
            normalize_listings(
                settings,
                read.listings,
                llm=llm,
                cache=cache,
                concurrency=concurrency,
                progress=progress,
                resolve=resolve,
                uncertain=uncertain,
            )
        )
    run = NormalizeRun(
        results=results, invalid=len(errors), numbers=read.numbers, truths=read.truths
    )
    pending = iter(results)
    for number in read.numbers:
        if number in errors:
            run.lines.append({"line": number, "error": errors[number]})
        else:
            run.lines.append(next(pending).to_json())
    return run


CSV_COLUMNS = (
    "line",
    "retailer",
    "sku",
    "name",
    "brand",
    "model",
    "normalized_name",
    "category",
    "attributes",
    "confidence",
    "tier",
    "source",
    "input_fingerprint",
    "product_fingerprint",
    "resolution",
    "match_score",
    "error",
)
"""`-o out.csv`: the JSON lines' fields, the record's line in the input file, and the input
title beside its reading (a spreadsheet shows no order to join on); attributes as JSON."""


def write_csv(run: NormalizeRun, out: Path) -> None:
    """The run as a CSV (with a byte-order mark, so spreadsheets read it as UTF-8)."""
    results = iter(run.results)
    with out.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for number, line in zip(run.numbers, run.lines, strict=True):
            row = {**line, "line": number}
            if "line" not in line:
                row["name"] = next(results).listing.name
            if isinstance(row.get("attributes"), dict):
                row["attributes"] = json.dumps(row["attributes"], ensure_ascii=False)
            writer.writerow(row)


def normalize(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="JSONL, JSON, CSV or .xlsx")
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="output JSONL (or CSV: -o out.csv; JSONL on standard output: -o -), one line "
            "per input",
        ),
    ],
    llm: Annotated[
        str | None,
        typer.Option(
            help="configured (settings.llm endpoint), emulator (in-process) or none (rules "
            "only); default: emulator when CATALOG_ENVIRONMENT=dev, else configured",
        ),
    ] = None,
    cache: Annotated[
        bool, typer.Option(help="look listings up in the multilevel cache (needs Postgres, Redis)")
    ] = False,
    concurrency: Annotated[int, typer.Option(min=1, help="LLM calls in flight at once")] = 8,
    resolve: Annotated[
        bool,
        typer.Option(
            help="resolve each listing to a master product against the listings before it "
            "(off: product_fingerprint is normalization's exact hash)"
        ),
    ] = True,
    uncertain: Annotated[
        str,
        typer.Option(
            help="who decides a listing whose best candidate falls between the matcher's "
            "thresholds: matcher (its own judge_at threshold) or review (no master)"
        ),
    ] = "matcher",
    retailer: Annotated[str | None, typer.Option(help=RETAILER_HELP)] = None,
    truth: Annotated[
        str | None,
        typer.Option(
            help="a column holding each listing's true product (an EAN, a product id): held "
            "out of normalization, and cross-store grouping is scored against it"
        ),
    ] = None,
) -> None:
    """Normalize raw listings in-process (no Kafka): one output line per input record (JSONL, or
    CSV with -o out.csv)."""
    settings = load_settings()
    mode = llm or default_llm_mode(settings)
    if mode not in LLM_MODES:
        raise fail(f"--llm must be one of {', '.join(LLM_MODES)}, not {mode!r}", EXIT_USAGE)
    if uncertain not in UNCERTAIN_MODES:
        raise fail(
            f"--uncertain must be one of {', '.join(UNCERTAIN_MODES)}, not {uncertain!r}",
            EXIT_USAGE,
        )
    band: UncertainMode = "matcher" if uncertain == "matcher" else "review"
    try:
        run = run_file(
            settings,
            file,
            llm=mode,
            cache=cache,
            concurrency=concurrency,
            resolve=resolve,
            uncertain=band,
            retailer=retailer,
            truth=truth,
        )
    except Unreachable as exc:
        raise fail(str(exc), EXIT_UNREACHABLE) from exc
    except ValueError as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    # `-o -`: the lines are the standard output, so everything said about them goes to stderr.
    to_stdout = str(out) == "-"
    report = err if to_stdout else console
    target = "standard output" if to_stdout else str(out)
    if to_stdout:
        for line in run.lines:
            sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    elif out.suffix.lower() == ".csv":
        out.parent.mkdir(parents=True, exist_ok=True)
        write_csv(run, out)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", encoding="utf-8") as handle:
            for line in run.lines:
                handle.write(json.dumps(line, ensure_ascii=False) + "\n")
    for line in run.lines:
        if "line" in line:
            err.print(f"{file}:{line['line']}: {line['error']}")
    counts = run.counts()
    summary = ", ".join(f"{name} {n}" for name, n in sorted(counts.items()))
    normalized = sum(1 for r in run.results if r.ok)
    report.print(
        f"{normalized} of {len(run.lines)} line(s) normalized (llm: {mode}) -> {target}"
        + (f" ({summary})" if summary else ""),
        markup=False,
    )
    masters, shared = run.grouping()
    if masters:
        report.print(f"{masters} master product(s), {shared} with listings of 2+ stores")
    if truth is not None:
        prf, unresolved, brands = run.scored()
        report.print(
            f"grouping against {truth}: precision {prf.precision:.3f}, recall {prf.recall:.3f}, "
            f"F1 {prf.f1:.3f} over {prf.gold:,} true cross-store pair(s); "
            f"{unresolved} keyed listing(s) without a master; the same brand in "
            f"{brands.rate:.1%} of {brands.pairs:,} cross-store pair(s) with both brands read",
            markup=False,
        )
    if run.problems:
        raise typer.Exit(EXIT_PROBLEM)
