"""The metric registry: every Prometheus metric of the platform, defined once.

Each service process exposes this registry on `/metrics`. Names follow `catalog_<thing>_<unit>`;
the comment on each says its kind and labels so dashboards and alerts can be written from here.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

# Counter{service, topic, outcome=processed|dead_lettered|retried}: messages a service consumed.
MESSAGES = Counter(
    "catalog_messages_total",
    "Messages consumed, by outcome.",
    ["service", "topic", "outcome"],
    registry=REGISTRY,
)
# Counter{retailer}: raw listings accepted by the router.
LISTINGS = Counter(
    "catalog_listings_total", "Raw listings accepted.", ["retailer"], registry=REGISTRY
)
# Counter{tier=rules|mini|full}: routing decisions.
TIERS = Counter("catalog_tier_total", "Listings routed, by tier.", ["tier"], registry=REGISTRY)
# Counter{level=l1|l2|l3, outcome=hit|miss|error|rejected}: cache lookups per level.
CACHE_LOOKUPS = Counter(
    "catalog_cache_lookups_total",
    "Cache lookups by level and outcome.",
    ["level", "outcome"],
    registry=REGISTRY,
)
# Counter{model, mode=batch|sync, outcome=ok|error}: requests answered by a model.
LLM_REQUESTS = Counter(
    "catalog_llm_requests_total",
    "LLM requests by model, mode and outcome.",
    ["model", "mode", "outcome"],
    registry=REGISTRY,
)
# Counter{model, mode, kind=prompt|completion|reasoning}: tokens billed.
LLM_TOKENS = Counter(
    "catalog_llm_tokens_total", "LLM tokens.", ["model", "mode", "kind"], registry=REGISTRY
)
# Counter{model, mode}: USD spent.
LLM_COST = Counter(
    "catalog_llm_cost_usd_total", "LLM cost in USD.", ["model", "mode"], registry=REGISTRY
)
# Gauge: the configured daily budget in USD, and what was spent today.
LLM_BUDGET = Gauge("catalog_llm_budget_usd", "Daily LLM budget (USD).", registry=REGISTRY)
LLM_SPENT_TODAY = Gauge("catalog_llm_spent_today_usd", "LLM spend today (USD).", registry=REGISTRY)
# Gauge{state}: batches currently in each state (batch-poller's view).
BATCHES = Gauge("catalog_batches", "Open batches by state.", ["state"], registry=REGISTRY)
# Counter{source=rules|l1|l2|l3|llm, tier}: listings that passed validation.
VALIDATED = Counter(
    "catalog_validated_total", "Validated listings.", ["source", "tier"], registry=REGISTRY
)
# Counter{reason}: quality-gate and schema rejections.
VALIDATION_FAILURES = Counter(
    "catalog_validation_failures_total",
    "Validation rejections by reason.",
    ["reason"],
    registry=REGISTRY,
)
# Counter{to_model}: answers sent back to a stronger model.
FALLBACKS = Counter(
    "catalog_fallback_total", "Fallbacks to a stronger model.", ["to_model"], registry=REGISTRY
)
# Histogram{source}: confidence of validated answers.
CONFIDENCE = Histogram(
    "catalog_confidence",
    "Confidence of validated answers.",
    ["source"],
    buckets=(0.3, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.99, 1.0),
    registry=REGISTRY,
)
# Histogram{service}: time to process one consumed batch of messages.
STAGE_SECONDS = Histogram(
    "catalog_stage_seconds",
    "Processing time per consumed batch.",
    ["service"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
# Counter{service, phase=fetch|handle|send|commit}: seconds the consume loop spent per phase:
# waiting for a fetch (idle time included), decoding and handling a batch, waiting for the broker
# to acknowledge its outputs, waiting for the previous batch's commit and sending this one's. Per
# batch (with the `catalog_stage_seconds` count) it tells where a hop's latency goes.
LOOP_SECONDS = Counter(
    "catalog_loop_seconds",
    "Consume loop time by phase.",
    ["service", "phase"],
    registry=REGISTRY,
)
# Histogram{generation=0|1|2}: pauses of this process's cyclic garbage collector (the event
# loop and every batch in flight wait for them; `watch_gc_pauses` feeds it).
GC_PAUSE_SECONDS = Histogram(
    "catalog_gc_pause_seconds",
    "Cyclic garbage collector pauses, by generation.",
    ["generation"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
    registry=REGISTRY,
)
# Counter{service, error_type}: messages sent to products.dlq.v1.
DLQ = Counter(
    "catalog_dlq_messages_total",
    "Messages dead-lettered.",
    ["service", "error_type"],
    registry=REGISTRY,
)
# Counter{reason}: listings sent to the review queue (one count per first reason).
REVIEW = Counter("catalog_review_total", "Listings sent to review.", ["reason"], registry=REGISTRY)
# Counter{kind=product_created|offer|price_change|offer_moved|stale_skipped|identity_review}:
# persisted effects.
PERSISTED = Counter(
    "catalog_persisted_total", "Persisted effects by kind.", ["kind"], registry=REGISTRY
)
# Gauge{dependency}: 1 when the dependency answered the last health check.
DEPENDENCY_UP = Gauge(
    "catalog_dependency_up", "Dependency health (1 up, 0 down).", ["dependency"], registry=REGISTRY
)
# Gauge{topic, partition}: consumer lag seen by this service.
CONSUMER_LAG = Gauge(
    "catalog_consumer_lag", "Consumer lag in messages.", ["topic", "partition"], registry=REGISTRY
)

# -- identity and catalog ------------------------------------------------------------------------
# Counter: brands the persister observed for the first time (growth of the brand registry).
BRANDS_OBSERVED = Counter(
    "catalog_brands_observed_total",
    "Brands observed for the first time (brand registry growth).",
    registry=REGISTRY,
)
# Gauges refreshed by the persister from Postgres (catalog.catalog_gauges): the catalog's size
# and the review backlog, which no single process can count from its own messages.
MASTERS = Gauge("catalog_masters", "Master products in the catalog.", registry=REGISTRY)
OFFERS = Gauge("catalog_offers", "Current offers (product x retailer).", registry=REGISTRY)
REVIEW_BACKLOG = Gauge(
    "catalog_review_backlog", "Review items waiting for a decision.", registry=REGISTRY
)
REVIEW_OLDEST_AGE = Gauge(
    "catalog_review_oldest_age_seconds",
    "Age of the oldest review item waiting for a decision (0 when none waits).",
    registry=REGISTRY,
)

# -- search --------------------------------------------------------------------------------------
# Defined ahead of the search service so its dashboard and SLOs have stable names.
# Histogram{endpoint}: time to answer one search request.
SEARCH_SECONDS = Histogram(
    "catalog_search_seconds",
    "Search request latency.",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    registry=REGISTRY,
)
# Counter{endpoint, result=results|empty}: search requests, by whether anything was found.
SEARCH_REQUESTS = Counter(
    "catalog_search_requests_total",
    "Search requests, by whether they returned results.",
    ["endpoint", "result"],
    registry=REGISTRY,
)

# Counter{model, operation=chat|files.create|batches.create|..., reason=429|5xx|timeout|...}:
# provider calls retried (one count per retry).
LLM_RETRIES = Counter(
    "catalog_llm_retries_total",
    "Provider calls retried, by reason.",
    ["model", "operation", "reason"],
    registry=REGISTRY,
)
# Counter{model, operation, reason}: provider calls that failed after their last retry.
LLM_CALL_FAILURES = Counter(
    "catalog_llm_call_failures_total",
    "Provider calls that failed for good, by reason.",
    ["model", "operation", "reason"],
    registry=REGISTRY,
)
# Gauge{model}: circuit breaker state (0 closed, 1 half-open, 2 open).
LLM_BREAKER_STATE = Gauge(
    "catalog_llm_breaker_state",
    "Circuit breaker state per model (0 closed, 1 half-open, 2 open).",
    ["model"],
    registry=REGISTRY,
)
# Counter{model, to_state}: circuit breaker transitions.
LLM_BREAKER_TRANSITIONS = Counter(
    "catalog_llm_breaker_transitions_total",
    "Circuit breaker transitions.",
    ["model", "to_state"],
    registry=REGISTRY,
)
# Counter{model}: calls refused at once because the breaker was open.
LLM_BREAKER_REJECTED = Counter(
    "catalog_llm_breaker_rejected_total",
    "Calls refused by an open circuit breaker.",
    ["model"],
    registry=REGISTRY,
)
# Counter{model, kind=rpm|tpm}: calls that had to wait for the rate limiter, and the wait.
LLM_THROTTLED = Counter(
    "catalog_llm_throttled_total",
    "Calls delayed by the RPM/TPM limiter.",
    ["model", "kind"],
    registry=REGISTRY,
)
LLM_THROTTLE_SECONDS = Counter(
    "catalog_llm_throttle_seconds_total",
    "Seconds spent waiting for the RPM/TPM limiter.",
    ["model", "kind"],
    registry=REGISTRY,
)
# Gauge: 1 while the daily budget stops sending (spent + estimate > budget), else 0.
LLM_BUDGET_EXHAUSTED = Gauge(
    "catalog_llm_budget_exhausted",
    "1 while sending is paused by the daily budget.",
    registry=REGISTRY,
)
# Counter{model, mode}: USD estimated from pre-counted tokens before sending.
LLM_ESTIMATED_COST = Counter(
    "catalog_llm_estimated_cost_usd_total",
    "Estimated LLM cost (USD) of what was sent, from pre-counted tokens.",
    ["model", "mode"],
    registry=REGISTRY,
)
# Counter{service, outcome=published|recovered}: results emitted to llm.results.v1.
LLM_RESULTS_EMITTED = Counter(
    "catalog_llm_results_emitted_total",
    "LLM results published, by how (first time, or recovered after a crash).",
    ["service", "outcome"],
    registry=REGISTRY,
)
# Counter{outcome=known|attached|new|judged|review}: identity resolutions in the persister
# (known is the re-scrape fast path: no matching done).
RESOLUTIONS = Counter(
    "catalog_resolutions_total",
    "Identity resolutions, by outcome.",
    ["outcome"],
    registry=REGISTRY,
)
# Counter{service,outcome}: re-scrapes on the price-only path. router: `routed` (sent to
# products.prices.v1); persister: `applied` (price written), `stale_skipped` (older than the row),
# `full_path` (identity inputs changed or unknown: sent back through the full path).
FAST_PATH = Counter(
    "catalog_fast_path_total",
    "Re-scraped listings on the price-only fast path, by service and outcome.",
    ["service", "outcome"],
    registry=REGISTRY,
)
SAME_TITLE_ATTACHED = Counter(
    "catalog_same_title_attached_total",
    "New listings attached by the same-title lookup, without a candidate search.",
    registry=REGISTRY,
)
# Counter: candidate masters a resolution refused because one of their offers states another
# identity than the listing (another capacity, size or CPU): a chain of vaguer offers that would
# have joined two products.
MASTERS_REFUSED = Counter(
    "catalog_masters_refused_total",
    "Candidate masters refused: one of their offers states another identity than the listing.",
    registry=REGISTRY,
)
# Histogram: the matcher's probability for the best candidate of each resolution that scored one.
RESOLUTION_ROUNDS = Histogram(
    "catalog_resolution_rounds",
    "Rounds of candidate prefetching needed to resolve a batch's new listings.",
    buckets=(1, 2, 3, 5, 8, 13, 21, 34, 55, 89),
    registry=REGISTRY,
)

MATCH_SCORE = Histogram(
    "catalog_match_score",
    "Matcher score of the best candidate per resolution.",
    buckets=(0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0),
    registry=REGISTRY,
)
# Counter: master products merged into another (operator command or re-resolution pass).
MERGES = Counter("catalog_merges_total", "Master products merged.", registry=REGISTRY)
# Counter{verdict=same|different|unparseable}: pairwise LLM judgements of the uncertain band.
JUDGEMENTS = Counter(
    "catalog_identity_judgements_total",
    "Pairwise LLM judgements of uncertain matches, by verdict.",
    ["verdict"],
    registry=REGISTRY,
)
# Counter: what the pairwise judgements cost (USD), apart from normalization's spend.
JUDGE_COST = Counter(
    "catalog_identity_judge_cost_usd",
    "Cost of pairwise LLM judgements (USD).",
    registry=REGISTRY,
)
# Histogram: latency of one pairwise judgement, retries included.
JUDGE_SECONDS = Histogram(
    "catalog_identity_judge_seconds",
    "Latency of one pairwise LLM judgement.",
    registry=REGISTRY,
)
# Counter{service, reason=<dependency>|injected|error|output_too_large}: consumed batches that
# failed and were rewound to be retried (nothing committed, nothing skipped).
DELIVERY_RETRIES = Counter(
    "catalog_delivery_retries_total",
    "Consumed batches rewound and retried, by reason.",
    ["service", "reason"],
    registry=REGISTRY,
)
# Gauge{service}: 1 while the consume loop waits out a failure with its partitions paused.
CONSUMPTION_PAUSED = Gauge(
    "catalog_consumption_paused",
    "1 while consumption is paused waiting for a dependency.",
    ["service"],
    registry=REGISTRY,
)
# Counter{service}: consumers closed and replaced by a new group member because their group's
# rebalance had not completed within `kafka.rebalance_stall_limit_s`.
CONSUMER_REOPENS = Counter(
    "catalog_consumer_reopens_total",
    "Consumers replaced after a rebalance that did not complete in time.",
    ["service"],
    registry=REGISTRY,
)
# Counter{service, where=handler|send}: failures injected on purpose (CATALOG_FAULTS__*).
FAULTS_INJECTED = Counter(
    "catalog_faults_injected_total",
    "Failures injected for chaos runs.",
    ["service", "where"],
    registry=REGISTRY,
)
