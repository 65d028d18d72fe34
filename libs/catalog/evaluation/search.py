"""Known-item search on real listings: `python -m catalog.evaluation.search` (in `make eval`).

Masters are built from real listings exactly as the platform builds them: every listing is
normalized in-process (`catalog.inline`, the services' decisions, LLM answered by the emulator)
and persisted through the persister's own `CatalogWriter` (identity resolution, masters, offers,
embeddings) into a real Postgres (an embedded one started for the run, or `--dsn`). Then another
store's listings are the queries, each for the master(s) holding its product:

- latam-grocery (held-back half): masters from three stores (carrefour, dia, changomas); each
  jumbo listing whose EAN one of them sells queries for the masters of that EAN;
- Abt-Buy valid: masters from the Abt side of the valid pairs; each Buy listing of a positive
  pair queries for its Abt match's master.

Each query is run twice: the full title, and a short form (the brand, when the title names a
known brand, plus the first two product words), as a shopper would type it. MRR@10 is the mean
reciprocal rank of the first relevant master in the top 10 (0 when absent); Recall@10 the share of
queries with a relevant master in the top 10. Nothing here is tuned on these sets.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import time
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from pydantic import SecretStr

from catalog.cache.embeddings import HashingEmbedder
from catalog.cache.l2 import SemanticCache
from catalog.db import pool as db
from catalog.db.migrate import migrate
from catalog.domain.brands import load_brands
from catalog.domain.taxonomy import load_taxonomy
from catalog.evaluation import foreign_settings, matching_data
from catalog.evaluation.matching_data import default_data_dir
from catalog.identity.resolver import load_resolver, matcher_judge
from catalog.inline import open_normalizer
from catalog.kafka.loop import Incoming
from catalog.search.engine import CatalogSearch
from catalog.search.models import SearchRequest
from catalog.settings import Settings, get_settings
from persister.logic import CatalogWriter
from schemas.models import RawListing, ValidatedProduct

K = 10
LATAM_INDEX_STORES = ("carrefour", "dia", "changomas")
LATAM_QUERY_STORE = "jumbo"
PERSIST_BATCH = 200


@dataclass(frozen=True)
class KnownItemSet:
    name: str
    indexed: list[RawListing]
    # (query listing, listing keys of the indexed listings that are the same product)
    queries: list[tuple[RawListing, list[str]]]


@dataclass
class Scores:
    queries: int = 0
    mrr: float = 0.0
    recall: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "queries": self.queries,
            "mrr@10": round(self.mrr, 4),
            "recall@10": round(self.recall, 4),
        }


@dataclass
class SetReport:
    name: str
    indexed_listings: int = 0
    masters: int = 0
    queries_total: int = 0
    full_title: Scores = field(default_factory=Scores)
    short_form: Scores = field(default_factory=Scores)
    seconds: float = 0.0
    examples: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "indexed_listings": self.indexed_listings,
            "masters": self.masters,
            "queries_total": self.queries_total,
            "full_title": self.full_title.as_dict(),
            "short_form": self.short_form.as_dict(),
            "seconds": round(self.seconds, 1),
            "short_form_examples": self.examples,
        }


def latam_set(path: Path) -> KnownItemSet:
    data = matching_data.latam_grocery(path, "eval")
    by_ean: dict[str, list[str]] = defaultdict(list)
    indexed: list[RawListing] = []
    for listing, ean in zip(data.listings, data.eans, strict=True):
        if listing.retailer in LATAM_INDEX_STORES:
            indexed.append(listing)
            by_ean[ean].append(listing.listing_key)
    queries = [
        (listing, by_ean[ean])
        for listing, ean in zip(data.listings, data.eans, strict=True)
        if listing.retailer == LATAM_QUERY_STORE and by_ean.get(ean)
    ]
    return KnownItemSet("latam-grocery eval half", indexed, queries)


def abt_buy_set(folder: Path) -> KnownItemSet:
    data = matching_data.abt_buy(folder, "valid")
    abt_indices = sorted({a for a, _, _ in data.pairs})
    indexed = [data.listings[i] for i in abt_indices]
    targets: dict[int, list[str]] = defaultdict(list)
    for a, b, label in data.pairs:
        if label:
            targets[b].append(data.listings[a].listing_key)
    queries = [(data.listings[b], keys) for b, keys in sorted(targets.items())]
    return KnownItemSet("Abt-Buy valid", indexed, queries)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


_WORD = re.compile(r"[^\W_]+(?:[-.][^\W_]+)*", re.UNICODE)


def short_form(title: str, brand: str | None, words: int = 2) -> str:
    """The brand (as the brand registry finds it in the title) plus the first `words` product
    words of the title (words with a letter; the brand's own words skipped)."""
    brand_words = set(_fold(brand).split()) if brand else set()
    product = [
        w
        for w in _WORD.findall(title)
        if any(c.isalpha() for c in w) and _fold(w) not in brand_words
    ][:words]
    return " ".join([brand, *product] if brand else product)


async def _normalize(settings: Settings, listings: list[RawListing]) -> list[ValidatedProduct]:
    async with open_normalizer(settings, "emulator", resolve=False, concurrency=16) as normalizer:
        results = await normalizer.normalize(listings)
    return [r.product for r in results if r.product is not None]


async def _persist(
    settings: Settings, pool: asyncpg.Pool, products: list[ValidatedProduct]
) -> None:
    embedder = HashingEmbedder(settings.cache.embedding_dim, settings.cache.embedding_model)
    semantic = SemanticCache(pool, embedder.model, embedder.dim)
    await semantic.ensure_index()
    resolver = load_resolver()
    writer = CatalogWriter(
        pool, load_taxonomy(), None, semantic, embedder, settings.cache.namespace,
        settings.cache.l1_default_ttl_s, resolver, matcher_judge(resolver.matcher),
    )  # fmt: skip
    for start in range(0, len(products), PERSIST_BATCH):
        chunk = products[start : start + PERSIST_BATCH]
        await writer.handle_validated(
            [
                Incoming(p, p.listing.listing_key.encode(), {}, "eval", 0, start + i)
                for i, p in enumerate(chunk)
            ]
        )


async def _masters_of(pool: asyncpg.Pool) -> dict[str, str]:
    """Listing key -> the public id of the live master holding it."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT l.listing_key, p.fingerprint FROM listings l
               JOIN productos_maestros p ON p.id = l.product_id
               WHERE p.active AND p.merged_into IS NULL"""
        )
    return {r["listing_key"]: r["fingerprint"] for r in rows}


def _score(ranks: list[int | None]) -> Scores:
    n = len(ranks)
    if not n:
        return Scores()
    return Scores(
        queries=n,
        mrr=sum(1.0 / r for r in ranks if r is not None) / n,
        recall=sum(r is not None for r in ranks) / n,
    )


async def evaluate_set(settings: Settings, dsn: str, data: KnownItemSet) -> SetReport:
    started = time.perf_counter()
    report = SetReport(data.name, queries_total=len(data.queries))
    # Their prices are foreign amounts (or absent): the CLP price floor does not apply.
    settings = foreign_settings(settings)
    await _reset(dsn)
    settings = settings.model_copy(
        update={"postgres": settings.postgres.model_copy(update={"dsn": SecretStr(dsn)})}
    )
    pool = await db.create_pool(settings.postgres)
    try:
        products = await _normalize(settings, data.indexed)
        await _persist(settings, pool, products)
        masters = await _masters_of(pool)
        report.indexed_listings = len(masters)
        report.masters = len(set(masters.values()))
        queries = [
            (listing, {masters[k] for k in keys if k in masters}) for listing, keys in data.queries
        ]
        queries = [(listing, wanted) for listing, wanted in queries if wanted]
        embedder = HashingEmbedder(settings.cache.embedding_dim, settings.cache.embedding_model)
        search = CatalogSearch(pool, embedder, settings.search)
        await search.refresh_vocabulary()
        await search.refresh_lexemes()
        brands = load_brands()
        full: list[int | None] = []
        short: list[int | None] = []
        for listing, wanted in queries:
            brief = short_form(listing.name, brands.find_in_title(listing.name))
            for text, ranks in ((listing.name, full), (brief, short)):
                hits = await search.candidates(SearchRequest(q=text))
                top = [h.id for h in hits[:K]]
                ranks.append(next((i + 1 for i, h in enumerate(top) if h in wanted), None))
            if len(report.examples) < 5:
                report.examples.append(
                    {
                        "title": listing.name,
                        "short_form": brief,
                        "rank_full": full[-1],
                        "rank_short": short[-1],
                    }
                )
        report.full_title = _score(full)
        report.short_form = _score(short)
    finally:
        await pool.close()
    report.seconds = time.perf_counter() - started
    return report


async def _reset(dsn: str) -> None:
    """An empty catalog for each set: drop and recreate the database, then migrate."""
    base, _, name = dsn.rpartition("/")
    admin = await asyncpg.connect(f"{base}/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    await migrate(dsn)


def run(settings: Settings, data_dir: Path, dsn: str | None, out: Path | None) -> dict[str, Any]:
    sets: list[KnownItemSet] = []
    skipped: dict[str, str] = {}
    grocery = data_dir / "latam-grocery" / "listings.csv"
    if grocery.is_file():
        sets.append(latam_set(grocery))
    else:
        skipped["latam-grocery"] = f"{grocery} not found"
    abt = data_dir / "abt-buy"
    if (abt / "valid.csv").is_file():
        sets.append(abt_buy_set(abt))
    else:
        skipped["Abt-Buy"] = f"{abt} not found"
    reports: list[SetReport] = []
    stack = None
    if dsn is None and sets:
        from catalog.devstack.stack import Stack

        stack = Stack(Path(tempfile.mkdtemp(prefix="search-eval-")))
        stack.start_postgres()
        dsn = stack.postgres_dsn.rsplit("/", 1)[0] + "/search_eval"
    try:
        for data in sets:
            print(
                f"{data.name}: {len(data.indexed)} listings to index, {len(data.queries)} queries"
            )
            assert dsn is not None
            reports.append(asyncio.run(evaluate_set(settings, dsn, data)))
    finally:
        if stack is not None:
            stack.destroy()
    result = {
        "k": K,
        "sets": [r.as_dict() for r in reports],
        "skipped": skipped,
    }
    print(render(reports))
    for name, why in skipped.items():
        print(f"{name} skipped: {why}")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {out}")
    return result


def render(reports: Sequence[SetReport]) -> str:
    lines = [
        "Known-item search (top 10)",
        f"{'set':<26}{'masters':>8}{'queries':>9}{'full MRR':>10}{'full R@10':>11}"
        f"{'short MRR':>11}{'short R@10':>12}{'s':>7}",
    ]
    for r in reports:
        lines.append(
            f"{r.name:<26}{r.masters:>8}{r.full_title.queries:>9}{r.full_title.mrr:>10.3f}"
            f"{r.full_title.recall:>11.3f}{r.short_form.mrr:>11.3f}{r.short_form.recall:>12.3f}"
            f"{r.seconds:>7.0f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m catalog.evaluation.search")
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument(
        "--dsn", help="an existing Postgres server's database to (re)create; default: embedded"
    )
    parser.add_argument("--out", type=Path, default=Path("out/eval-search.json"))
    args = parser.parse_args(argv)
    run(get_settings(), args.data_dir, args.dsn, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
