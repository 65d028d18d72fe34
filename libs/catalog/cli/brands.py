"""`catalog brands`: the brand registry (brands seen in listings, with counts) and aliases."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table

from catalog.cli.common import EXIT_UNREACHABLE, EXIT_USAGE, console, fail, load_settings

T = TypeVar("T")

app = typer.Typer(no_args_is_help=True, help="The brand registry: brands seen, and aliases.")


def _run(action: Callable[[Any], Awaitable[T]]) -> T:
    settings = load_settings()

    async def work() -> T:
        import asyncpg

        conn = await asyncpg.connect(settings.postgres.dsn.get_secret_value())
        try:
            return await action(conn)
        finally:
            await conn.close()

    try:
        return asyncio.run(work())
    except OSError as exc:
        raise fail(f"Postgres unreachable ({exc})", EXIT_UNREACHABLE) from exc


@app.command("list")
def list_(
    new: Annotated[
        bool, typer.Option("--new", help="only brands the packaged alias table does not know")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON lines")] = False,
) -> None:
    """Registered brands: most listed first (`--new`: unknown ones, newest first)."""
    from catalog.brand_registry import list_brands

    rows = _run(lambda conn: list_brands(conn, new_only=new, limit=limit))
    if as_json:
        for row in rows:
            typer.echo(
                json.dumps(
                    {
                        "brand": row.brand,
                        "listings": row.listings,
                        "sources": row.sources,
                        "known": row.known,
                        "first_seen": row.first_seen.isoformat(),
                        "last_seen": row.last_seen.isoformat(),
                    },
                    ensure_ascii=False,
                )
            )
        return
    table = Table("brand", "listings", "sources", "known", "first seen")
    for row in rows:
        sources = ", ".join(f"{k} {v}" for k, v in sorted(row.sources.items()))
        table.add_row(
            row.brand,
            str(row.listings),
            sources,
            "yes" if row.known else "new",
            row.first_seen.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)
    console.print(f"{len(rows)} brand(s)", markup=False)


@app.command("alias")
def alias_(
    alias: Annotated[str, typer.Argument(help="the spelling to fold, e.g. SAMSUMG")],
    brand: Annotated[str, typer.Argument(help="the brand it names, e.g. SAMSUNG")],
) -> None:
    """Make ALIAS a spelling of BRAND: later listings count for BRAND, past counts move."""
    from catalog.brand_registry import alias as make_alias

    try:
        moved = _run(lambda conn: make_alias(conn, alias, brand))
    except ValueError as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    console.print(f"{alias} -> {brand.upper()} ({moved} listing(s) moved)", markup=False)
