"""`catalog batches list|show|cancel|retry`: provider batches as the platform recorded them."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer
from rich.table import Table

from catalog.cli.common import EXIT_PROBLEM, EXIT_UNREACHABLE, console, fail, load_settings
from catalog.settings import Settings

app = typer.Typer(no_args_is_help=True, help="LLM provider batches.")


async def _query(settings: Settings, sql: str, *args: Any) -> list[dict[str, Any]]:
    import asyncpg

    conn = await asyncpg.connect(settings.postgres.dsn.get_secret_value())
    try:
        return [dict(r) for r in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


def _run(coro: Any) -> Any:
    try:
        return asyncio.run(coro)
    except OSError as exc:
        raise fail(f"Postgres unreachable ({exc})", EXIT_UNREACHABLE) from exc


@app.command("list")
def list_batches(
    open_only: Annotated[bool, typer.Option("--open", help="only batches not closed")] = False,
    limit: Annotated[int, typer.Option(help="most recent N")] = 20,
) -> None:
    """Recent batches with their state and item counts."""
    rows = _run(
        _query(
            load_settings(),
            """SELECT b.batch_id, b.provider_batch_id, b.model, b.status, b.item_count,
                      b.created_at, b.closed_at,
                      count(i.*) FILTER (WHERE i.status = 'done' AND i.error IS NULL) AS answered,
                      count(i.*) FILTER (WHERE i.error IS NOT NULL) AS failed
               FROM llm_batches b LEFT JOIN llm_batch_items i ON i.batch_id = b.batch_id
               WHERE NOT $1 OR b.closed_at IS NULL
               GROUP BY b.batch_id ORDER BY b.created_at DESC LIMIT $2""",
            open_only,
            limit,
        )
    )
    table = Table(title="Batches")
    table.add_column("batch", overflow="fold")
    table.add_column("provider id", overflow="fold")
    for column in ("model", "status", "items", "answered", "failed", "created"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r["batch_id"], r["provider_batch_id"] or "-", r["model"], r["status"],
            str(r["item_count"]), str(r["answered"]), str(r["failed"]),
            r["created_at"].strftime("%Y-%m-%d %H:%M:%S"),
        )  # fmt: skip
    console.print(table)


@app.command()
def show(batch_id: str) -> None:
    """One batch: its record, items by status, and the first errors."""
    settings = load_settings()
    rows = _run(_query(settings, "SELECT * FROM llm_batches WHERE batch_id = $1", batch_id))
    if not rows:
        raise fail(f"no batch {batch_id!r}; see `catalog batches list`")
    batch = rows[0]
    for key in ("batch_id", "provider_batch_id", "model", "status", "item_count",
                "input_file_id", "output_file_id", "error_file_id", "created_at", "closed_at",
                "error"):  # fmt: skip
        console.print(f"[bold]{key}[/bold]: {batch[key]}")
    items = _run(
        _query(
            settings,
            """SELECT status, count(*) AS n, coalesce(sum(cost_usd), 0)::float AS cost
               FROM llm_batch_items WHERE batch_id = $1 GROUP BY 1""",
            batch_id,
        )
    )
    for item in items:
        console.print(f"items {item['status']}: {item['n']} ({item['cost']:.6f} USD)")
    errors = _run(
        _query(
            settings,
            """SELECT custom_id, error FROM llm_batch_items
               WHERE batch_id = $1 AND error IS NOT NULL ORDER BY custom_id LIMIT 10""",
            batch_id,
        )
    )
    for error in errors:
        console.print(f"[red]{error['custom_id']}[/red]: {error['error']}")


@app.command()
def cancel(batch_id: str) -> None:
    """Ask the provider to cancel a batch; the poller reconciles what finished."""
    settings = load_settings()
    rows = _run(_query(settings, "SELECT * FROM llm_batches WHERE batch_id = $1", batch_id))
    if not rows:
        raise fail(f"no batch {batch_id!r}; see `catalog batches list`")
    batch = rows[0]
    if batch["closed_at"] is not None or not batch["provider_batch_id"]:
        raise fail(f"batch {batch_id} is {batch['status']}: nothing to cancel")

    async def run() -> str:
        from openai import OpenAIError

        from catalog.llm.client import make_client

        client = make_client(settings.llm)
        try:
            remote = await client.batches.cancel(batch["provider_batch_id"])
        except OpenAIError as exc:
            raise fail(f"the provider refused: {exc}") from exc
        await _query(
            settings,
            "UPDATE llm_batches SET status = $2, updated_at = now() WHERE batch_id = $1",
            batch_id,
            remote.status,
        )
        return str(remote.status)

    console.print(f"batch {batch_id}: {_run(run())}")


@app.command()
def retry(batch_id: str) -> None:
    """Send the items of a closed batch that ended in error through the LLM again."""
    settings = load_settings()
    rows = _run(_query(settings, "SELECT closed_at, status FROM llm_batches WHERE batch_id = $1",
                       batch_id))  # fmt: skip
    if not rows:
        raise fail(f"no batch {batch_id!r}; see `catalog batches list`")
    if rows[0]["closed_at"] is None:
        raise fail(f"batch {batch_id} is still {rows[0]['status']}; retry it once it is closed")
    retried = _run(
        _query(
            settings,
            """UPDATE llm_batch_items SET status = 'pending', batch_id = NULL, submissions = 0,
                      error = NULL, updated_at = now()
               WHERE batch_id = $1 AND status = 'done' AND error IS NOT NULL
               RETURNING custom_id""",
            batch_id,
        )
    )
    console.print(f"{len(retried)} item(s) of {batch_id} back to pending")
    if not retried:
        raise typer.Exit(EXIT_PROBLEM)
