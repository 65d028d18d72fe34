"""Lookup through L1 -> L2 -> L3, promoting hits upward.

L2 answers for a *different* title, so a neighbour above the similarity threshold is accepted
only if it agrees with what the rules extracted from the new title on the category's identity
attributes (256GB is not 512GB, 55" is not 65") and on the brand. That guard is what keeps the
semantic cache's wrong-hit rate bounded. L3 is the exact record; it also answers titles whose
embedding (for the configured model) is missing, and its hits refill L1 and L2.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import asyncpg

from catalog import metrics
from catalog.cache import l3
from catalog.cache.embeddings import EmbeddingProvider
from catalog.cache.entry import CacheEntry
from catalog.cache.l1 import L1Cache
from catalog.cache.l2 import SemanticCache
from catalog.domain.extractor import names_carry_part_numbers, names_part_number, part_number
from catalog.domain.taxonomy import Taxonomy
from catalog.domain.units import fold
from catalog.settings import CacheSettings
from schemas.models import AttributeValue

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LookupKey:
    input_fingerprint: str
    title: str
    category: str | None
    brand: str | None
    attributes: Mapping[str, AttributeValue]
    model: str | None = None


@dataclass(frozen=True)
class Hit:
    level: str
    entry: CacheEntry
    similarity: float = 1.0


def _same(a: AttributeValue, b: AttributeValue) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(float(a) - float(b)) < 1e-6
    return str(a).strip().lower() == str(b).strip().lower()


# Model words that make another product when they differ: "S24" vs "S24 Ultra", "con" vs "sin
# gas". Any differing token that carries a digit counts too ("Tune 520BT" vs "Tune 720BT").
VARIANT_WORDS = frozenset(
    {"pro", "max", "ultra", "plus", "mini", "lite", "fe", "air", "neo", "sin", "con", "zero",
     "light", "diet", "entera", "descremada", "semidescremada", "ti", "xl", "oc"}
)  # fmt: skip


def _model_tokens(model: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", fold(model)))


def model_conflict(mine: str | None, theirs: str | None) -> str | None:
    if not mine or not theirs:
        return None
    differing = _model_tokens(mine) ^ _model_tokens(theirs)
    decisive = sorted(t for t in differing if t in VARIANT_WORDS or any(c.isdigit() for c in t))
    return f"model {mine!r} != {theirs!r} ({', '.join(decisive)})" if decisive else None


def identity_conflict(
    key: LookupKey, entry: CacheEntry, identity: Sequence[str], *, part_numbers: bool = False
) -> str | None:
    """Why a neighbour is not the same product as the new title, or None if it agrees. With
    `part_numbers` (technology, whose names carry the part number a title states apart), a
    title naming one agrees only with an answer whose name writes it."""
    if key.brand and entry.brand and key.brand != entry.brand:
        return f"brand {key.brand} != {entry.brand}"
    conflict = model_conflict(key.model, entry.model)
    if conflict:
        return conflict
    code = part_number(key.title) if part_numbers else None
    if code and entry.normalized_name and not names_part_number(entry.normalized_name, code):
        # The title names its configuration; the neighbour's answer names another or none.
        return f"part number {code} not in {entry.normalized_name!r}"
    for name in identity:
        mine = key.attributes.get(name)
        theirs = entry.attributes.get(name)
        if mine is None and theirs is None:
            continue
        if mine is None or theirs is None:
            # One side cannot confirm the attribute that defines the product: not a safe hit.
            return f"{name} unknown on one side ({mine!r} vs {theirs!r})"
        if not _same(mine, theirs):
            return f"{name} {mine!r} != {theirs!r}"
    return None


class MultiLevelCache:
    def __init__(
        self,
        settings: CacheSettings,
        taxonomy: Taxonomy,
        l1: L1Cache | None,
        pool: asyncpg.Pool,
        semantic: SemanticCache | None,
        embedder: EmbeddingProvider | None,
    ) -> None:
        self.settings = settings
        self.taxonomy = taxonomy
        self.l1 = l1
        self.pool = pool
        self.semantic = semantic
        self.embedder = embedder

    def ttl(self, category: str | None) -> int:
        cat = self.taxonomy.get(category) if category else None
        return cat.l1_ttl_s if cat else self.settings.l1_default_ttl_s

    def threshold(self, category: str) -> float:
        cat = self.taxonomy.get(category)
        return cat.l2_threshold if cat else self.settings.l2_default_threshold

    async def lookup(self, keys: Sequence[LookupKey]) -> list[Hit | None]:
        hits: list[Hit | None] = [None] * len(keys)
        fps = [k.input_fingerprint for k in keys]
        if self.l1 is not None and self.settings.l1_enabled:
            found = await self.l1.get_many(fps)
            for i, fp in enumerate(fps):
                if fp in found:
                    hits[i] = Hit("l1", found[fp])
            self._count("l1", hits, range(len(keys)))
        pending = [i for i, h in enumerate(hits) if h is None]
        if (
            pending
            and self.semantic is not None
            and self.embedder is not None
            and self.settings.l2_enabled
        ):
            await self._lookup_l2(keys, hits, pending)
            pending = [i for i, h in enumerate(hits) if h is None]
        if pending and self.settings.l3_enabled:
            found = await l3.get_many(self.pool, [fps[i] for i in pending])
            for i in pending:
                if fps[i] in found:
                    hits[i] = Hit("l3", found[fps[i]])
            self._count("l3", hits, pending)
            await self._promote_l3(keys, hits, pending)
        await self._promote_l1(keys, hits)
        return hits

    async def _lookup_l2(
        self, keys: Sequence[LookupKey], hits: list[Hit | None], pending: list[int]
    ) -> None:
        assert self.semantic is not None and self.embedder is not None
        candidates = [i for i in pending if keys[i].category]
        if not candidates:
            return
        vectors = await self.embedder.embed([keys[i].title for i in candidates])
        for i, vector in zip(candidates, vectors, strict=True):
            key = keys[i]
            assert key.category is not None
            category = self.taxonomy.get(key.category)
            identity = category.identity if category else ()
            part_numbers = names_carry_part_numbers(category)
            threshold = self.threshold(key.category)
            for neighbour in await self.semantic.nearest(
                vector, key.category, self.settings.l2_top_k
            ):
                if neighbour.similarity < threshold:
                    break
                conflict = identity_conflict(
                    key, neighbour.entry, identity, part_numbers=part_numbers
                )
                if conflict is None:
                    hits[i] = Hit("l2", neighbour.entry, neighbour.similarity)
                    break
                metrics.CACHE_LOOKUPS.labels("l2", "rejected").inc()
                log.debug("L2 neighbour rejected for %s: %s", key.title, conflict)
        self._count("l2", hits, candidates)

    async def _promote_l3(
        self, keys: Sequence[LookupKey], hits: list[Hit | None], pending: list[int]
    ) -> None:
        if self.semantic is None or self.embedder is None:
            return
        promoted = [i for i in pending if hits[i] is not None and hits[i].level == "l3"]  # type: ignore[union-attr]
        if not promoted:
            return
        vectors = await self.embedder.embed([keys[i].title for i in promoted])
        async with self.pool.acquire() as conn:
            await self.semantic.store(
                conn,
                [
                    (keys[i].input_fingerprint, hits[i].entry.category, v)  # type: ignore[union-attr]
                    for i, v in zip(promoted, vectors, strict=True)
                ],
            )

    async def _promote_l1(self, keys: Sequence[LookupKey], hits: list[Hit | None]) -> None:
        if self.l1 is None:
            return
        items = [
            (keys[i].input_fingerprint, hit.entry, self.ttl(hit.entry.category))
            for i, hit in enumerate(hits)
            if hit is not None and hit.level in ("l2", "l3")
        ]
        await self.l1.set_many(items)

    @staticmethod
    def _count(level: str, hits: Sequence[Hit | None], indexes: Sequence[int]) -> None:
        found = sum(1 for i in indexes if (hit := hits[i]) is not None and hit.level == level)
        metrics.CACHE_LOOKUPS.labels(level, "hit").inc(found)
        metrics.CACHE_LOOKUPS.labels(level, "miss").inc(len(indexes) - found)
