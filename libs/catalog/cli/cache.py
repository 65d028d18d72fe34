"""`catalog cache warm|invalidate`."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from catalog.cli.common import EXIT_UNREACHABLE, console, fail, load_settings
from catalog.settings import Settings

app = typer.Typer(no_args_is_help=True, help="The multilevel cache (Redis, pgvector, Postgres).")


async def _run(settings: Settings, action: str, category: str | None) -> str:
    from catalog.cache import maintenance
    from catalog.cache.stores import CacheStores
    from catalog.domain.taxonomy import load_taxonomy

    stores = await CacheStores.open(settings, min_size=1, max_size=2)
    try:
        if action == "invalidate":
            removed = await maintenance.invalidate(
                stores.pool, stores.l1, settings.cache.namespace, category
            )
            return f"invalidated {removed} cached answer(s) in {settings.cache.namespace}"
        report = await maintenance.warm(
            stores.pool, stores.l1, stores.semantic, stores.embedder, load_taxonomy(),
            settings.cache.namespace, settings.cache.l1_default_ttl_s, category,
        )  # fmt: skip
        redis_note = "" if stores.l1.available else " (Redis unreachable: L1 skipped)"
        return (
            f"warmed {report.entries} answer(s): {report.l1_written} into L1, "
            f"{report.vectors_added} new L2 vector(s){redis_note}"
        )
    finally:
        await stores.close()


def _execute(action: str, category: str | None) -> None:
    settings = load_settings()
    try:
        console.print(asyncio.run(_run(settings, action, category)))
    except OSError as exc:
        raise fail(f"Postgres unreachable ({exc})", EXIT_UNREACHABLE) from exc


@app.command()
def warm(
    category: Annotated[str | None, typer.Option(help="only this taxonomy category")] = None,
) -> None:
    """Reload L1 and fill missing L2 vectors from the durable answers (L3)."""
    _execute("warm", category)


@app.command()
def invalidate(
    category: Annotated[str | None, typer.Option(help="only this taxonomy category")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
) -> None:
    """Drop cached answers of the configured namespace from every level."""
    scope = f"category {category}" if category else "every category"
    if not yes and not typer.confirm(f"Drop cached answers for {scope}?"):
        raise typer.Exit(1)
    _execute("invalidate", category)
