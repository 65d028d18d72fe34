"""`catalog status`: the live system at a glance.

Service health comes from each service's `/health/ready`; consumer lag from the broker
(committed offsets of each service's group against the end of its topics); batches, answer
sources, fallbacks and spend from Postgres.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Annotated, Any

import typer
from rich.table import Table

from catalog.cli.common import EXIT_PROBLEM, EXIT_UNREACHABLE, console, fail, load_settings
from catalog.kafka.topics import (
    DLQ,
    INTERACTIONS,
    LLM_BATCHES,
    LLM_REQUESTS,
    LLM_RESULTS,
    RAW,
    REVIEW,
    ROUTED,
    VALIDATED,
    TopicSpec,
)
from catalog.service import SERVICE_PORT_OFFSETS
from catalog.settings import Settings

CONSUMES: dict[str, tuple[TopicSpec, ...]] = {
    "router": (RAW,),
    "cache_lookup": (ROUTED,),
    "batch_builder": (LLM_REQUESTS,),
    "batch_poller": (LLM_BATCHES,),
    "validator": (LLM_RESULTS,),
    "persister": (VALIDATED, REVIEW, DLQ),
    "search": (INTERACTIONS,),
}


def service_url(settings: Settings, service: str) -> str:
    obs = settings.observability
    if service in obs.service_urls:
        return obs.service_urls[service].rstrip("/")
    return f"http://127.0.0.1:{obs.web_port_base + SERVICE_PORT_OFFSETS[service]}"


def health(settings: Settings, service: str) -> dict[str, Any]:
    url = f"{service_url(settings, service)}/health/ready"
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as exc:
        return dict(json.loads(exc.read()))
    except OSError as exc:
        return {"ready": False, "down": ["unreachable"], "error": str(exc)}


async def consumer_lag(settings: Settings) -> dict[tuple[str, str], int]:
    """(service, topic) -> messages not yet committed by that service's consumer group."""
    from aiokafka import AIOKafkaConsumer
    from aiokafka.structs import TopicPartition

    kafka = settings.kafka
    lag: dict[tuple[str, str], int] = {}
    for service, topics in CONSUMES.items():
        # A consumer that never subscribes only reads the group's committed offsets; it does
        # not join the group, so it cannot trigger a rebalance of the running service.
        consumer = AIOKafkaConsumer(
            bootstrap_servers=kafka.bootstrap,
            group_id=f"{kafka.prefix}catalog-{service}",
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            for spec in topics:
                name = spec.full_name(kafka)
                partitions = consumer.partitions_for_topic(name) or set()
                tps = [TopicPartition(name, p) for p in sorted(partitions)]
                ends = await consumer.end_offsets(tps) if tps else {}
                total = 0
                for tp in tps:
                    committed = await consumer.committed(tp) or 0
                    total += max(0, ends[tp] - committed)
                lag[(service, spec.name)] = total
        finally:
            await consumer.stop()
    return lag


async def database_figures(settings: Settings) -> dict[str, Any]:
    import asyncpg

    from catalog.llm.store import today

    conn = await asyncpg.connect(settings.postgres.dsn.get_secret_value())
    try:
        batches = {
            r["status"]: r["n"]
            for r in await conn.fetch(
                "SELECT status, count(*) AS n FROM llm_batches WHERE closed_at IS NULL GROUP BY 1"
            )
        }
        sources = {
            r["source"]: r["n"]
            for r in await conn.fetch("SELECT source, count(*) AS n FROM listings GROUP BY 1")
        }
        tiers = {
            r["tier"]: r["n"]
            for r in await conn.fetch(
                """SELECT request->'routed'->>'tier' AS tier, count(*) AS n
                   FROM llm_batch_items WHERE (request->>'attempt')::int = 1 GROUP BY 1"""
            )
        }
        attempts = await conn.fetchrow(
            """SELECT count(*) FILTER (WHERE (request->>'attempt')::int = 1) AS first,
                      count(*) FILTER (WHERE (request->>'attempt')::int > 1) AS fallbacks
               FROM llm_batch_items"""
        )
        review = await conn.fetchval("SELECT count(*) FROM review_items WHERE status = 'pending'")
        spent = await conn.fetchval(
            "SELECT coalesce(sum(cost_usd), 0)::float FROM llm_spend WHERE day = $1", today()
        )
    finally:
        await conn.close()
    return {
        "open_batches": batches,
        "answered_by": sources,
        "review_pending": review,
        "llm_tiers": tiers,
        "fallback_rate": attempts["fallbacks"] / attempts["first"] if attempts["first"] else 0.0,
        "spent_today_usd": spent,
        "budget_usd": settings.llm.daily_budget_usd,
    }


def status(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Service health, consumer lag, open batches, cache hit rate by level, tier mix,
    fallback rate and today's LLM cost against the budget."""
    settings = load_settings()
    # With explicit URLs, exactly those services; otherwise every service of the stack.
    names = list(settings.observability.service_urls) or list(SERVICE_PORT_OFFSETS)
    services = {name: health(settings, name) for name in names}
    try:
        figures = asyncio.run(database_figures(settings))
    except OSError as exc:
        raise fail(f"Postgres unreachable ({exc})", EXIT_UNREACHABLE) from exc
    try:
        lag = asyncio.run(consumer_lag(settings))
    except Exception as exc:
        raise fail(f"broker unreachable at {settings.kafka.bootstrap} ({exc})",
                   EXIT_UNREACHABLE) from exc  # fmt: skip
    if as_json:
        console.print_json(
            json.dumps(
                {
                    "services": services,
                    "consumer_lag": {f"{s}:{t}": n for (s, t), n in lag.items()},
                    **figures,
                }
            )
        )
    else:
        _render(services, lag, figures)
    if not all(report.get("ready") for report in services.values()):
        raise typer.Exit(EXIT_PROBLEM)


def _render(
    services: dict[str, dict[str, Any]], lag: dict[tuple[str, str], int], figures: dict[str, Any]
) -> None:
    table = Table(title="Services")
    for column in ("service", "ready", "dependencies down", "consumer lag"):
        table.add_column(column)
    for name, report in services.items():
        ready = "[green]yes[/green]" if report.get("ready") else "[red]no[/red]"
        if report.get("degraded"):
            ready = "[yellow]degraded[/yellow]"
        lags = ", ".join(f"{t} {n}" for (s, t), n in lag.items() if s == name)
        table.add_row(name, ready, ", ".join(report.get("down", [])) or "-", lags)
    console.print(table)
    answered = {**figures["answered_by"], "review": figures["review_pending"]}
    total = sum(answered.values()) or 1
    levels = Table(title="Answers by level", show_header=False)
    for source in ("l1", "l2", "l3", "rules", "llm", "review"):
        count = answered.get(source, 0)
        levels.add_row(source, f"{count}", f"{count / total:.1%}")
    console.print(levels)
    tiers = figures["llm_tiers"]
    tier_total = sum(tiers.values()) or 1
    console.print(
        "LLM tier mix: "
        + (", ".join(f"{t} {n / tier_total:.0%}" for t, n in sorted(tiers.items())) or "none")
        + f" · fallback rate {figures['fallback_rate']:.1%}"
        + f" · open batches {figures['open_batches'] or 'none'}"
    )
    spent, budget = figures["spent_today_usd"], figures["budget_usd"]
    console.print(f"LLM cost today: {spent:.4f} USD of {budget:.2f} USD ({spent / budget:.1%})")
