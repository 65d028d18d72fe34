"""All configuration in one place.

Every service builds a `Settings` from the environment (prefix `CATALOG_`, nested keys joined by
`__`, e.g. `CATALOG_KAFKA__BOOTSTRAP=broker:9092`) and an optional `.env` file. Nothing else in the
code base reads environment variables, so this module is the complete list of knobs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class KafkaSettings(_Section):
    bootstrap: str = "127.0.0.1:9092"
    # Prepended to every topic and consumer group name: lets tests and several stacks share a
    # broker without seeing each other's messages.
    prefix: str = ""
    # Fetch and producer batching; unset, each takes its environment's value (`KAFKA_TUNING`).
    # How long the broker may hold a fetch waiting for `fetch_min_bytes` of data.
    fetch_max_wait_ms: int | None = Field(default=None, ge=0)
    # The same for one service's consumer (by service name, e.g. `{"router": 5}`), over
    # `fetch_max_wait_ms`; a service not named takes `fetch_max_wait_ms`, else its environment's
    # value for that service (`KafkaTuning.service_fetch_max_wait_ms`), else the environment's.
    service_fetch_max_wait_ms: dict[str, int] = Field(default_factory=dict)
    fetch_min_bytes: int | None = Field(default=None, ge=1)
    # How long the producer waits to fill a batch, and how large a batch per partition may grow.
    linger_ms: int | None = Field(default=None, ge=0)
    max_batch_bytes: int | None = Field(default=None, ge=16_384)
    rebalance_timeout_s: float = 5.0
    # How long the group waits for a consumer that stopped heartbeating (e.g. a killed pod, or
    # one closed without leaving, see `leave_group_on_close`) before its partitions move to the
    # others.
    session_timeout_s: float = 30.0
    # A consumer waiting longer than this for its group's rebalance to complete (no assignment
    # since it subscribed or since its partitions were revoked) is closed and replaced by a new
    # member. Unset, `rebalance_stall_limit_s` derives it from the protocol's own timeouts.
    rebalance_stall_s: float | None = Field(default=None, gt=0)
    # Whether a consumer sends LeaveGroup when it closes; unset, its environment's value
    # (`KafkaTuning.leave_group_on_close`).
    leave_group_on_close: bool | None = None
    # When set, every topic gets this many partitions (the embedded stack uses few); otherwise
    # each topic gets its production count from the topic registry.
    partitions: int | None = None
    replication_factor: int = 1
    # The consume loop takes batches of up to this many messages; offsets are committed after
    # each batch, once its outputs are acknowledged and its side effects durable.
    batch_max: int = 500
    # The producer refuses a record larger than this (Kafka's default `max.request.size`); dead
    # letters are built to fit under it (a truncated one needs at most ~20 KB).
    max_request_bytes: int = Field(default=1_048_576, ge=65_536)
    # A failed batch is retried after `retry_base_s`, doubling up to `retry_max_s` (with jitter);
    # a dependency outage is waited out forever at that pace.
    retry_base_s: float = 0.2
    retry_max_s: float = 10.0
    # A message that raises this many times in a row while every dependency is healthy is
    # poison: it is dead-lettered as `processing_error` instead of blocking its partition.
    poison_attempts: int = 3

    @property
    def rebalance_stall_limit_s(self) -> float:
        """How long a rebalance may take before the consume loop gives up on its consumer.

        A working coordinator needs at most: the session timeout, to declare a member that went
        silent dead, and the rebalance timeout for each of the two join rounds (the one waiting
        for that member, the one completing without it). A wait longer than that will not end
        by itself (a coordinator bug, a network partition, a member stuck in its callback).
        """
        if self.rebalance_stall_s is not None:
            return self.rebalance_stall_s
        return self.session_timeout_s + 2 * self.rebalance_timeout_s

    def tuning(self, environment: str, service: str | None = None) -> KafkaTuning:
        """The fetch and batching values in force (for `service`'s consumer, when named): the
        ones set, else the environment's."""
        base = KAFKA_TUNING.get(environment, KAFKA_TUNING["prod"])
        fetch_max_wait_ms = _first(self.fetch_max_wait_ms, base.fetch_max_wait_ms)
        if service is not None and service in self.service_fetch_max_wait_ms:
            fetch_max_wait_ms = self.service_fetch_max_wait_ms[service]
        elif service is not None and self.fetch_max_wait_ms is None:
            fetch_max_wait_ms = base.service_fetch_max_wait_ms.get(service, fetch_max_wait_ms)
        return KafkaTuning(
            fetch_max_wait_ms=fetch_max_wait_ms,
            fetch_min_bytes=_first(self.fetch_min_bytes, base.fetch_min_bytes),
            linger_ms=_first(self.linger_ms, base.linger_ms),
            max_batch_bytes=min(
                _first(self.max_batch_bytes, base.max_batch_bytes), self.max_request_bytes
            ),
            service_fetch_max_wait_ms=base.service_fetch_max_wait_ms,
            leave_group_on_close=(
                base.leave_group_on_close
                if self.leave_group_on_close is None
                else self.leave_group_on_close
            ),
        )


@dataclass(frozen=True)
class KafkaTuning:
    fetch_max_wait_ms: int
    fetch_min_bytes: int
    linger_ms: int
    max_batch_bytes: int
    # Services whose consumer fetches with another wait than `fetch_max_wait_ms`.
    service_fetch_max_wait_ms: Mapping[str, int] = field(default_factory=dict)
    # Whether a closing consumer leaves its group (LeaveGroup): its partitions move to the other
    # members at once. Without it they move once its session expires, as after a crash.
    leave_group_on_close: bool = True


def _first(value: int | None, default: int) -> int:
    return default if value is None else value


# The embedded broker's settings, shared by the dev stack and the tests (see below).
EMBEDDED_BROKER_TUNING = KafkaTuning(
    fetch_max_wait_ms=20,
    fetch_min_bytes=1,
    linger_ms=2,
    max_batch_bytes=16_384,
    leave_group_on_close=False,
)

KAFKA_TUNING = {
    # The embedded broker (Tansu) answers a fetch with data ready at once, but one that waits at the
    # end of a topic only some time after data arrives (`benchmarks/bench_broker_fetch.py`: about
    # 115 ms at a 500 ms wait, 5 ms at 20 ms, 2.4 ms at 10 ms), so the wait stays short there; under
    # 20 ms it saves a hop only a few milliseconds. Producer batches stay at aiokafka's default size
    # and a 2 ms linger until larger ones (512 KiB, 5 ms: measured faster) have passed the chaos
    # runs (retried with 512 KiB / 5 ms on the re-scrape path, one run each at load average 2.4-3.2:
    # 2,204/s against 2,485/s, p95 402 ms against 75 ms; not taken). No service has a wait of its
    # own here (`service_fetch_max_wait_ms`): 5 ms for the router and the persister was not
    # measurably better on a shared machine (one run, load average 6).
    # A consumer closes without leaving its group: the broker (Tansu 0.6.0) can leave a group
    # stuck for good, every member and any new one without an assignment, when its leader
    # leaves while a rebalance is starting (4 of 4 runs against a bare broker); a member that
    # just goes silent is expired at the session timeout and the group recovers (5 of 5). The
    # price: a stopped consumer's partitions move only once its session expires.
    "dev": EMBEDDED_BROKER_TUNING,
    "test": EMBEDDED_BROKER_TUNING,
    # Real Kafka answers a fetch as soon as `fetch_min_bytes` are there: under load batches fill
    # at once, at a trickle a fetch waits at most 50 ms. A stopped consumer leaves its group, so
    # its partitions move at once instead of after the session timeout.
    "prod": KafkaTuning(
        fetch_max_wait_ms=50,
        fetch_min_bytes=16_384,
        linger_ms=2,
        max_batch_bytes=16_384,
        leave_group_on_close=True,
    ),
}


class PostgresSettings(_Section):
    dsn: SecretStr = SecretStr("postgresql://postgres@127.0.0.1:5432/catalog")
    pool_min: int = 1
    pool_max: int = 10
    command_timeout_s: float = 30.0


class RedisSettings(_Section):
    url: SecretStr = SecretStr("redis://127.0.0.1:6379/0")
    # When sentinel hosts are given, `url` is ignored and the master is discovered through them.
    sentinel_hosts: list[str] = Field(default_factory=list)
    sentinel_master: str = "catalog"
    socket_timeout_s: float = 0.25
    # After a failure, Redis is skipped for this long instead of paying a timeout per lookup.
    retry_after_s: float = 5.0


class ModelParams(_Section):
    """How to call one model family: reasoning models reject temperature and take effort."""

    reasoning: bool = False
    max_output_tokens: int = 500
    temperature: float = 0.1
    reasoning_effort: Literal["minimal", "low", "medium", "high"] = "minimal"


class ModelPrice(_Section):
    """USD per million tokens, synchronous price; batch gets `LLMSettings.batch_discount`."""

    input_per_m: float
    output_per_m: float


def _default_params() -> dict[str, ModelParams]:
    return {
        "gpt-5-mini": ModelParams(reasoning=True, max_output_tokens=400),
        "gpt-5": ModelParams(reasoning=True, max_output_tokens=800),
        "gpt-4o-mini": ModelParams(reasoning=False, max_output_tokens=300),
    }


def _default_prices() -> dict[str, ModelPrice]:
    return {
        "gpt-5-mini": ModelPrice(input_per_m=0.25, output_per_m=2.0),
        "gpt-5": ModelPrice(input_per_m=1.25, output_per_m=10.0),
        "gpt-4o-mini": ModelPrice(input_per_m=0.15, output_per_m=0.60),
    }


class ModelLimits(_Section):
    """Provider rate limits for one model: requests and tokens per minute."""

    rpm: int = Field(default=100, ge=1)
    tpm: int = Field(default=40_000, ge=1)


def _default_limits() -> dict[str, ModelLimits]:
    # The plan's tiers: the primary (mini) model 500 RPM / 100k TPM, the others 100 / 40k.
    return {
        "gpt-5-mini": ModelLimits(rpm=500, tpm=100_000),
        "gpt-5": ModelLimits(rpm=100, tpm=40_000),
        "gpt-4o-mini": ModelLimits(rpm=100, tpm=40_000),
    }


class LLMSettings(_Section):
    base_url: str = "http://127.0.0.1:8700/v1"
    api_key: SecretStr = SecretStr("sk-local-emulator")
    mini_model: str = "gpt-5-mini"
    full_model: str = "gpt-5"
    fallback_model: str = "gpt-4o-mini"
    params: dict[str, ModelParams] = Field(default_factory=_default_params)
    prices: dict[str, ModelPrice] = Field(default_factory=_default_prices)
    batch_discount: float = 0.5
    # Every provider call (chat, files, batches) has this timeout and up to `max_retries`
    # retries on 429, 5xx, timeouts and connection errors, with jittered exponential backoff
    # from `retry_base_s` capped at `retry_max_s`; a `retry-after` header wins when it is longer
    # (up to `retry_after_max_s`).
    timeout_s: float = 30.0
    max_retries: int = 3
    retry_base_s: float = 0.5
    retry_max_s: float = 20.0
    retry_after_max_s: float = 60.0
    # Circuit breaker per model: open after this many consecutive failed calls, half-open (one
    # probe call) after the cool-down. While open, calls fail fast and items stay pending.
    breaker_failures: int = 5
    breaker_cooldown_s: float = 30.0
    # RPM / TPM limiters per model; a model missing here gets `ModelLimits()`.
    limits: dict[str, ModelLimits] = Field(default_factory=_default_limits)
    prompt_version: str = "norm-ia-v2.0"
    # Fewer pending requests than this are answered synchronously (plan: 100).
    sync_threshold: int = 100
    sync_concurrency: int = 8
    batch_size: int = 10_000
    batch_max_requests: int = 50_000
    batch_max_bytes: int = 200 * 1024 * 1024
    batch_max_age_s: float = 30.0
    poll_interval_s: float = 60.0
    daily_budget_usd: float = 100.0


class CacheSettings(_Section):
    """Per-category L1 TTLs and L2 thresholds live in the taxonomy; these are the defaults."""

    namespace: str = "norm-ia-v2.0"
    l1_enabled: bool = True
    l1_default_ttl_s: int = 3600
    l2_enabled: bool = True
    l2_default_threshold: float = 0.85
    l2_top_k: int = 5
    l3_enabled: bool = True
    embedding_provider: Literal["hashing", "openai"] = "hashing"
    embedding_model: str = "char-ngram-hash-v1"
    embedding_dim: int = 384


class IdentitySettings(_Section):
    """Identity resolution in the persister. Between the matcher's thresholds (below: a new
    master; above: attach) lies the uncertain band. `judge=matcher` (default) decides it with
    the matcher's own yes/no at its group's `judge_at`; `judge=llm` asks the configured LLM
    endpoint a pairwise question per candidate (`catalog.identity.llm_judge`; the emulator
    answers it with the matcher), synchronously inside the persister's batch, so its throughput
    is bounded by the model's rate limits; `judge=none` queues those listings for review with
    their scored candidates, for a person to decide. `judge_model` defaults to the mini model."""

    judge: Literal["llm", "matcher", "none"] = "matcher"
    judge_model: str | None = None


class SearchSettings(_Section):
    """The search service: limits, timeouts and the hot-query cache. Each retrieval signal (full
    text, trigrams, vectors) contributes at most `candidates` masters to the fusion."""

    max_page_size: int = 50
    default_page_size: int = 20
    max_top_k: int = 50
    candidates: int = 100
    # Reciprocal-rank fusion constant (the usual 60): a rank's weight is 1 / (rrf_k + rank).
    rrf_k: int = 60
    # A query word the catalog does not know is corrected to catalog words at least this
    # trigram-similar to it (`samgsung` -> `samsung`).
    trigram_threshold: float = 0.4
    # How often the search service adds the words of changed masters to the typo vocabulary,
    # and recounts the masters holding each full-text lexeme.
    vocabulary_refresh_s: float = 5.0
    lexeme_refresh_s: float = 300.0
    # Full text searches the query's rarest lexemes while the masters they match add up to at
    # most this many (ranking every master sharing a common word costs more than it finds).
    full_text_budget: int = 2000
    # Semantic neighbours closer than this cosine distance count as matches.
    max_vector_distance: float = 0.75
    statement_timeout_ms: int = 2000
    cache_ttl_s: int = 30
    max_query_chars: int = 300
    # How often the recommendation model is refitted from the interactions table.
    refit_interval_s: float = 300.0


class RoutingSettings(_Section):
    simple_threshold: float = 0.35
    complex_threshold: float = 0.70
    # The rules tier answers without an LLM when the extractor is at least this confident.
    rules_min_confidence: float = 0.90
    min_price_clp: int = 100
    max_price_clp: int = 100_000_000
    # A listing without a price is no offer to compare: the router refuses it. `catalog
    # normalize` turns this off, since naming a product needs no price.
    require_price: bool = True
    excluded_categories: list[str] = Field(default_factory=lambda: ["servicios", "gift card"])
    # The router keeps each title's rules extraction in Redis this long (0: no cache), so a
    # re-scraped title or one seen at another store is not extracted again.
    extraction_cache_ttl_s: int = Field(default=86_400, ge=0)
    # The persister records in Redis, for this long, a digest of each listing's identity inputs
    # when it persists the listing on the full path; a re-scrape with the same digest skips
    # normalization and goes to products.prices.v1 (0: no fast path). Longer than the daily
    # re-scrape cycle, so a listing takes the full path about once per TTL, which is also how
    # late an improved cached answer can reach an unchanged listing.
    listing_digest_ttl_s: int = Field(default=604_800, ge=0)


class ValidationSettings(_Section):
    min_confidence: float = 0.75
    min_attr_coverage: float = 0.70
    max_llm_attempts: int = 2


class ObservabilitySettings(_Section):
    log_level: str = "INFO"
    log_json: bool = True
    otlp_endpoint: str | None = None
    web_host: str = "127.0.0.1"
    # In a container each service owns its pod and listens on `web_port`; on the embedded stack
    # all services share one host and listen on `web_port_base` + their offset.
    web_port: int | None = None
    web_port_base: int = 8710
    # Which services `catalog status` checks and where it finds their HTTP endpoints, e.g.
    # {"router": "http://router.catalog.svc:8080"}; default: every service of the embedded
    # stack (the six and search) at its ports.
    service_urls: dict[str, str] = Field(default_factory=dict)


class FaultSettings(_Section):
    """Fault injection for chaos runs: the probability (0..1) that the shared consume loop raises
    an injected, transient failure right before calling a handler, part-way through sending
    a batch's outputs (also a timer's publish, e.g. LLM results), or instead of committing a
    batch's offsets. Injected failures are retried like outages and never dead-lettered."""

    handler_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    send_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    commit_rate: float = Field(default=0.0, ge=0.0, le=1.0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CATALOG_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
        frozen=True,
    )

    environment: Literal["dev", "test", "prod"] = "dev"
    kafka: KafkaSettings = KafkaSettings()
    postgres: PostgresSettings = PostgresSettings()
    redis: RedisSettings = RedisSettings()
    llm: LLMSettings = LLMSettings()
    cache: CacheSettings = CacheSettings()
    identity: IdentitySettings = IdentitySettings()
    routing: RoutingSettings = RoutingSettings()
    search: SearchSettings = SearchSettings()
    validation: ValidationSettings = ValidationSettings()
    observability: ObservabilitySettings = ObservabilitySettings()
    faults: FaultSettings = FaultSettings()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
