"""Normalize listings in-process, without Kafka: the services' decisions, called in a row.

`InlineNormalizer.normalize(listings)` takes each raw listing through exactly what the streaming
services decide, in the same order:

1. `router.logic.Router.route` (contract, business pre-filter, rules pre-extraction, tier);
2. optionally the multilevel cache (`MultiLevelCache.lookup`, L1 Redis -> L2 pgvector -> L3);
3. `cache_lookup.logic.decide`: a cache hit or the rules tier is final, otherwise an LLM request;
4. for an LLM request, `catalog.llm.calls.call_sync` then `validator.logic.Validator.decide`,
   again and again while the validator asks for a retry with a stronger model, until the
   listing is validated or sent to review.

It returns one `InlineResult` per input, in input order. Then, unless switched off, every
normalized listing is resolved in input order against an in-memory catalog of masters
(`catalog.identity`): the resolver's decision (`known`, `attached`, `new`, `judged` or `review`)
and its master id replace the normalization's exact-hash fingerprint. The uncertain band between
the matcher's thresholds is judged by the matcher itself at its `judge_at` threshold (`uncertain
= "matcher"`, the default: an in-process run has no review queue and no pairwise LLM judgement
is wired in yet, and the emulator would answer one with the matcher anyway) or left without a
master as `review` (`uncertain = "review"`). `resolve_unnormalized` also resolves listings
the router accepted but normalization did not finish (review, needs an LLM), from the rules
extraction: what the evaluation uses to measure the resolver apart from normalization.

LLM calls run concurrently, bounded by an `asyncio.Semaphore`, through one shared
`catalog.llm.resilience.Resilience` (retries, circuit breaker, rate limits), as in the
batch-builder. A call refused by an open breaker waits for the next probe, up to `MAX_CIRCUIT_WAITS`
times, then the listing is reported as an error. Three LLM modes:

* `configured`: the endpoint in `settings.llm` (OpenAI or any compatible server);
* `emulator`: the in-process OpenAI-compatible emulator (`openai_emulator`), started and stopped
  by `open_normalizer`;
* `none`: rules only. A listing the router sends to an LLM gets the rules extraction when it
  passes the validator's quality gate (`catalog.validation.gate`), else the error
  `needs an LLM: <reasons>`.

Nothing is persisted: this is the read path of the platform (what `catalog normalize` and the
evaluation use), not a replacement for the persister.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from cache_lookup.logic import decide, lookup_key
from catalog import products
from catalog.domain.brands import load_brands
from catalog.domain.taxonomy import load_taxonomy
from catalog.identity.facts import facts_from_listing, facts_from_product
from catalog.identity.memory import InMemoryCatalog
from catalog.identity.model import Decision, Facts
from catalog.identity.resolver import Judge, Resolver, load_resolver, matcher_judge
from catalog.kafka.topics import LLM_REQUESTS, REVIEW, VALIDATED
from catalog.llm.calls import call_sync
from catalog.llm.resilience import CircuitOpenError, Resilience
from catalog.service import Rejected
from catalog.settings import ModelLimits, Settings
from catalog.validation import gate
from router.logic import Router
from schemas.models import (
    LLMRequest,
    LLMResult,
    RawListing,
    ReviewItem,
    RoutedListing,
    ValidatedProduct,
)
from validator.logic import Validator

if TYPE_CHECKING:
    from openai import AsyncOpenAI

    from catalog.cache.multilevel import MultiLevelCache
    from openai_emulator import EmulatorConfig

LLMMode = Literal["configured", "emulator", "none"]
UncertainMode = Literal["matcher", "review"]
UNCERTAIN_MODES: tuple[UncertainMode, ...] = ("matcher", "review")
MAX_CIRCUIT_WAITS = 3
LLM_MODES: tuple[LLMMode, ...] = ("configured", "emulator", "none")

__all__ = [
    "LLM_MODES",
    "UNCERTAIN_MODES",
    "InlineNormalizer",
    "InlineResolution",
    "InlineResult",
    "LLMMode",
    "UncertainMode",
    "Unreachable",
    "open_normalizer",
]


class Unreachable(RuntimeError):
    """A dependency the chosen mode needs (LLM endpoint, Postgres, Redis) cannot be reached."""


@dataclass(frozen=True)
class InlineResult:
    """What became of one listing: a validated product, or an error saying why not."""

    listing: RawListing
    product: ValidatedProduct | None = None
    error: str | None = None
    review: ReviewItem | None = None
    llm_calls: int = 0
    cost_usd: float = 0.0
    decision: Decision | None = None
    """Identity resolution's decision, when resolution ran on this listing."""

    @property
    def ok(self) -> bool:
        return self.product is not None

    @property
    def master_id(self) -> str | None:
        """The master product this listing was resolved to (None: not resolved, or review)."""
        return self.decision.master_id if self.decision is not None else None

    @property
    def product_fingerprint(self) -> str | None:
        """The product the output line names: the resolved master, else (resolution off)
        normalization's exact hash; None when not normalized or in review."""
        if self.decision is not None:
            return self.decision.master_id
        return self.product.product_fingerprint if self.product is not None else None

    def to_json(self) -> dict[str, Any]:
        """The output line of `catalog normalize` for this listing."""
        listing = self.listing
        if self.product is None:
            return {"retailer": listing.retailer, "sku": listing.sku, "error": self.error}
        p = self.product
        fingerprint = self.product_fingerprint
        resolution: dict[str, Any] = {}
        if self.decision is not None:
            resolution = {
                "resolution": self.decision.outcome,
                "match_score": round(self.decision.score, 4),
            }
        return {
            "retailer": listing.retailer,
            "sku": listing.sku,
            "brand": p.brand,
            "model": p.model,
            "normalized_name": p.normalized_name,
            "category": p.category,
            "attributes": p.attributes,
            "confidence": p.confidence,
            "tier": p.tier,
            "source": p.source,
            "input_fingerprint": p.input_fingerprint,
            "product_fingerprint": fingerprint,
            **resolution,
        }


class InlineResolution:
    """Resolves normalized listings, in input order, against one in-memory catalog of masters.

    `judge` decides the uncertain band (None: review). `router` rebuilds the rules extraction of
    listings normalization did not finish, when `resolve_unnormalized` asks for them too."""

    def __init__(
        self,
        resolver: Resolver,
        *,
        judge: Judge | None = None,
        resolve_unnormalized: bool = False,
        router: Router | None = None,
    ) -> None:
        if resolve_unnormalized and router is None:
            raise ValueError("resolve_unnormalized needs the router's rules extraction")
        self.resolver = resolver
        self.judge = judge
        self.resolve_unnormalized = resolve_unnormalized
        self.router = router
        self.catalog = InMemoryCatalog()

    def facts(self, result: InlineResult) -> Facts | None:
        if result.product is not None:
            return facts_from_product(result.product)
        if not self.resolve_unnormalized or self.router is None:
            return None
        try:
            rules = self.router.route(result.listing).rules
        except Rejected:
            return None
        return facts_from_listing(
            result.listing,
            brand=rules.brand,
            model=rules.model,
            category=rules.category,
            attributes=rules.attributes,
        )

    async def resolve(self, result: InlineResult) -> InlineResult:
        facts = self.facts(result)
        if facts is None:
            return result
        key = result.listing.listing_key
        decision = await self.resolver.resolve(self.catalog, key, facts, self.judge)
        if decision.master_id is not None:
            self.catalog.record(key, facts, decision.master_id)
        return replace(result, decision=decision)

    async def resolve_all(self, results: Sequence[InlineResult]) -> list[InlineResult]:
        return [await self.resolve(result) for result in results]


class InlineNormalizer:
    """Runs the router, cache-lookup and validator decisions in-process.

    `client` is an OpenAI-compatible client (None: rules only); `cache` an optional multilevel
    cache. `open_normalizer` builds both from settings and a mode.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        client: AsyncOpenAI | None = None,
        cache: MultiLevelCache | None = None,
        concurrency: int = 8,
        resolution: InlineResolution | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.settings = settings
        self.client = client
        self.resilience = Resilience(settings.llm)
        self.cache = cache
        self.concurrency = concurrency
        self.taxonomy = load_taxonomy()
        self.router = Router(settings)
        self.validator = Validator(settings, self.taxonomy, load_brands())
        self.resolution = resolution

    async def normalize(
        self,
        listings: Sequence[RawListing],
        on_done: Callable[[InlineResult], None] | None = None,
    ) -> list[InlineResult]:
        """One result per listing, in input order; `on_done` is called as each one finishes
        normalizing. With a `resolution`, the listings are then resolved in input order."""
        semaphore = asyncio.Semaphore(self.concurrency)

        async def one(listing: RawListing) -> InlineResult:
            async with semaphore:
                result = await self.normalize_one(listing)
            if on_done is not None:
                on_done(result)
            return result

        results = list(await asyncio.gather(*(one(listing) for listing in listings)))
        if self.resolution is not None:
            results = await self.resolution.resolve_all(results)
        return results

    async def normalize_one(self, listing: RawListing) -> InlineResult:
        try:
            routed = self.router.route(listing)
        except Rejected as rejected:
            return InlineResult(listing, error=f"rejected ({rejected.error_type}): {rejected}")
        hit = None
        if self.cache is not None:
            hit = (await self.cache.lookup([lookup_key(routed)]))[0]
        outgoing = decide(routed, hit, self.settings)[0]
        if outgoing.topic == VALIDATED:
            assert isinstance(outgoing.value, ValidatedProduct)
            return InlineResult(listing, product=outgoing.value)
        assert outgoing.topic == LLM_REQUESTS and isinstance(outgoing.value, LLMRequest)
        if self.client is None:
            return self._rules_only(routed)
        return await self._llm_loop(listing, outgoing.value)

    def _rules_only(self, routed: RoutedListing) -> InlineResult:
        rules = routed.rules
        limits = self.settings.validation
        reasons = gate(
            rules,
            self.taxonomy,
            min_confidence=limits.min_confidence,
            min_coverage=limits.min_attr_coverage,
        )
        if reasons or not (rules.brand and rules.model and rules.category):
            return InlineResult(
                routed.listing, error="needs an LLM: " + "; ".join(reasons or ["incomplete"])
            )
        product = products.from_extraction(
            routed, rules, source="rules", prompt_version=self.settings.llm.prompt_version
        )
        return InlineResult(routed.listing, product=product)

    async def _llm_loop(self, listing: RawListing, request: LLMRequest) -> InlineResult:
        assert self.client is not None
        calls = 0
        cost = 0.0
        # The validator bounds the attempts (max_llm_attempts); the cap here only guards
        # against a misconfiguration looping forever.
        for _ in range(max(1, self.settings.validation.max_llm_attempts) + 1):
            result = await self._call(request)
            if result is None:
                return InlineResult(
                    listing,
                    error=f"LLM unavailable: circuit for {request.model} stayed open",
                    llm_calls=calls,
                    cost_usd=cost,
                )
            calls += 1
            cost += result.cost_usd
            outgoing = self.validator.decide(result)[0]
            if outgoing.topic == VALIDATED:
                assert isinstance(outgoing.value, ValidatedProduct)
                return InlineResult(listing, product=outgoing.value, llm_calls=calls, cost_usd=cost)
            if outgoing.topic == REVIEW:
                assert isinstance(outgoing.value, ReviewItem)
                return InlineResult(
                    listing,
                    error="review: " + "; ".join(outgoing.value.reasons),
                    review=outgoing.value,
                    llm_calls=calls,
                    cost_usd=cost,
                )
            assert isinstance(outgoing.value, LLMRequest)
            request = outgoing.value
        return InlineResult(
            listing, error="review: too many LLM attempts", llm_calls=calls, cost_usd=cost
        )

    async def _call(self, request: LLMRequest) -> LLMResult | None:
        assert self.client is not None
        for _ in range(MAX_CIRCUIT_WAITS + 1):
            try:
                return await call_sync(self.client, self.settings.llm, request, self.resilience)
            except CircuitOpenError as exc:
                await asyncio.sleep(min(max(exc.retry_in_s, 0.05), 30.0))
        return None


def _emulator_settings(settings: Settings, base_url: str) -> Settings:
    """Point the LLM settings at the in-process emulator, which has no provider rate limits:
    the RPM/TPM buckets would only slow the run down."""
    llm = settings.llm
    unlimited = ModelLimits(rpm=1_000_000, tpm=1_000_000_000)
    models = {*llm.limits, llm.mini_model, llm.full_model, llm.fallback_model}
    return settings.model_copy(
        update={
            "llm": llm.model_copy(
                update={"base_url": base_url, "limits": dict.fromkeys(models, unlimited)}
            )
        }
    )


async def _check_llm(client: AsyncOpenAI, base_url: str) -> None:
    from openai import APIConnectionError, AuthenticationError

    try:
        await client.with_options(max_retries=0, timeout=10.0).models.list()
    except (APIConnectionError, AuthenticationError) as exc:
        raise Unreachable(f"LLM endpoint {base_url} unreachable ({exc})") from exc
    except Exception:
        pass


@asynccontextmanager
async def _open_cache(settings: Settings) -> AsyncIterator[MultiLevelCache]:
    """The cache-lookup service's multilevel cache (needs Postgres; Redis is optional)."""
    from catalog.cache.stores import CacheStores

    try:
        stores = await CacheStores.open(settings)
    except (TimeoutError, OSError) as exc:
        raise Unreachable(f"Postgres unreachable ({exc})") from exc
    try:
        yield stores.multilevel()
    finally:
        await stores.close()


@asynccontextmanager
async def open_normalizer(
    settings: Settings,
    llm: LLMMode,
    *,
    cache: bool = False,
    concurrency: int = 8,
    emulator: EmulatorConfig | None = None,
    resolve: bool = True,
    resolve_unnormalized: bool = False,
    uncertain: UncertainMode = "matcher",
) -> AsyncIterator[InlineNormalizer]:
    """An `InlineNormalizer` with its LLM client (and emulator, cache) opened and later closed.

    `emulator` configures the in-process emulator of the `emulator` mode (faults, models).
    `resolve` resolves the normalized listings against an in-memory catalog (the shipped
    matcher); `resolve_unnormalized` also those normalization did not finish (rules extraction);
    `uncertain` says who decides the band between the matcher's thresholds.

    Raises `Unreachable` when the configured LLM endpoint or the cache's Postgres cannot be
    reached.
    """
    if llm not in LLM_MODES:
        raise ValueError(f"unknown LLM mode {llm!r}; expected one of {', '.join(LLM_MODES)}")
    async with AsyncExitStack() as stack:
        client: AsyncOpenAI | None = None
        if llm == "emulator":
            from openai_emulator import EmulatorConfig, run_in_background

            handle = await run_in_background(emulator or EmulatorConfig(), port=0)
            stack.push_async_callback(handle.stop)
            settings = _emulator_settings(settings, handle.base_url)
        if llm != "none":
            from catalog.llm.client import make_client

            # Retries happen in `Resilience`, where they are counted, not inside the SDK.
            client = make_client(settings.llm, max_retries=0)
            stack.push_async_callback(client.close)
            if llm == "configured":
                await _check_llm(client, settings.llm.base_url)
        multilevel = await stack.enter_async_context(_open_cache(settings)) if cache else None
        normalizer = InlineNormalizer(
            settings, client=client, cache=multilevel, concurrency=concurrency
        )
        if resolve:
            resolver = load_resolver()
            normalizer.resolution = InlineResolution(
                resolver,
                judge=matcher_judge(resolver.matcher) if uncertain == "matcher" else None,
                resolve_unnormalized=resolve_unnormalized,
                router=normalizer.router,
            )
        yield normalizer
