"""The review queue: list, show, accept (with a correction or the best answer; for an identity
review, a candidate master or a new product), reject."""

from __future__ import annotations

import asyncio
import getpass
import json
from collections.abc import Awaitable, Callable, Coroutine
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table

from catalog.cli.common import EXIT_PROBLEM, EXIT_UNREACHABLE, console, err, fail, load_settings
from catalog.settings import Settings

T = TypeVar("T")

app = typer.Typer(no_args_is_help=True, help="The human review queue.")


def run(settings: Settings, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run `work`, turning review errors and unreachable dependencies into clear exits."""
    from catalog.review import CorrectionRejected, ReviewError

    try:
        return asyncio.run(work())
    except CorrectionRejected as exc:
        err.print("[red]error:[/red] the correction does not pass the quality bar:")
        for reason in exc.verdict.reasons:
            err.print(f"  - {reason}")
        raise typer.Exit(EXIT_PROBLEM) from exc
    except ReviewError as exc:
        raise fail(str(exc)) from exc
    except OSError as exc:
        raise fail(f"dependency unreachable ({exc})", EXIT_UNREACHABLE) from exc


async def _with_conn(settings: Settings, action: Callable[[Any], Awaitable[T]]) -> T:
    import asyncpg

    conn = await asyncpg.connect(settings.postgres.dsn.get_secret_value())
    try:
        return await action(conn)
    finally:
        await conn.close()


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@app.command("list")
def list_(
    status: Annotated[str, typer.Option(help="pending, accepted, rejected or all")] = "pending",
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Review items, oldest first."""
    from catalog.review import STATUSES, list_reviews

    if status != "all" and status not in STATUSES:
        raise fail(f"status must be one of {', '.join(STATUSES)} or all", 2)
    settings = load_settings()
    rows = run(
        settings,
        lambda: _with_conn(
            settings, lambda c: list_reviews(c, None if status == "all" else status, limit)
        ),
    )
    if as_json:
        console.print_json(
            json.dumps(
                [
                    {
                        "listing_key": r.listing_key,
                        "title": r.listing.name,
                        "reasons": r.reasons,
                        "status": r.status,
                        "queued_at": r.queued_at.isoformat(),
                        "candidates": [c.model_dump() for c in r.candidates],
                    }
                    for r in rows
                ]
            )
        )
        return
    table = Table(title=f"Review queue ({status}): {len(rows)} item(s)")
    table.add_column("listing key", no_wrap=True)
    table.add_column("title")
    table.add_column("first reasons")
    table.add_column("queued at", no_wrap=True)
    if status != "pending":
        table.add_column("status")
    for r in rows:
        cells = [
            r.listing_key,
            _short(r.listing.name, 60),
            "\n".join(_short(reason, 70) for reason in r.reasons[:2]),
            r.queued_at.strftime("%Y-%m-%d %H:%M:%S"),
        ]
        if status != "pending":
            cells.append(r.status)
        table.add_row(*cells)
    console.print(table)


@app.command()
def show(listing_key: Annotated[str, typer.Argument(help="retailer:sku")]) -> None:
    """One review item: the listing, every reason, the best answer and the resolution."""
    from catalog.review import get_review

    settings = load_settings()
    row = run(settings, lambda: _with_conn(settings, lambda c: get_review(c, listing_key)))
    listing = row.listing
    console.print(f"[bold]{row.listing_key}[/bold]  status: {row.status}  attempts: {row.attempts}")
    console.print(f"title:     {listing.name}")
    console.print(f"category:  {listing.category or '-'}   brand field: {listing.brand or '-'}")
    console.print(f"price:     {listing.price} CLP   queued at: {row.queued_at.isoformat()}")
    console.print("reasons:")
    for reason in row.reasons:
        console.print(f"  - {reason}", markup=False)
    console.print("best answer:")
    if row.best_answer is None:
        console.print("  (none)")
    else:
        console.print_json(row.best_answer.model_dump_json())
    if row.candidates:
        table = Table(title="candidate masters (accept one with --candidate, or --new-product)")
        table.add_column("master id", no_wrap=True)
        table.add_column("score", justify="right")
        table.add_column("name")
        for candidate in row.candidates:
            table.add_row(candidate.master_id, f"{candidate.score:.2f}", candidate.name)
        console.print(table)
    if row.decided_master is not None:
        console.print(f"decided master: {row.decided_master}")
    if row.status != "pending":
        console.print(f"resolved at: {row.resolved_at}  by: {row.resolved_by or '-'}")
        console.print(f"note: {row.note or '-'}", markup=False)
    if row.correction is not None:
        console.print("correction:")
        console.print_json(row.correction.model_dump_json())


@app.command()
def accept(
    listing_key: Annotated[str, typer.Argument(help="retailer:sku")],
    brand: Annotated[str | None, typer.Option(help="brand (aliases are canonicalized)")] = None,
    model: Annotated[str | None, typer.Option(help="model, without the brand")] = None,
    category: Annotated[str | None, typer.Option(help="taxonomy category id")] = None,
    name: Annotated[str | None, typer.Option(help="normalized name (built if omitted)")] = None,
    attr: Annotated[
        list[str] | None,
        typer.Option("--attr", help="NAME=VALUE, repeatable; an empty VALUE removes it"),
    ] = None,
    from_best: Annotated[
        bool, typer.Option("--from-best", help="accept the best answer as it is")
    ] = False,
    candidate: Annotated[
        str | None,
        typer.Option(help="identity review: the master id this listing is (see `show`)"),
    ] = None,
    new_product: Annotated[
        bool, typer.Option("--new-product", help="identity review: none of them, a new product")
    ] = False,
    note: Annotated[str | None, typer.Option(help="why")] = None,
) -> None:
    """Accept a correction: validate it, cache it, and re-emit the listing so it flows again.
    For an identity review: attach the listing to a candidate master, or declare a new product."""
    from catalog.review import Correction, ReviewError, parse_attribute_options
    from catalog.review import accept as do_accept

    settings = load_settings()
    if candidate is not None or new_product:
        correcting = any(v is not None for v in (brand, model, category, name))
        if (candidate is not None and new_product) or correcting or attr or from_best:
            raise fail("give --candidate MASTER_ID or --new-product, and no correction", 2)
        _decide(settings, listing_key, candidate, note)
        return
    try:
        attributes = parse_attribute_options(attr or [])
    except ReviewError as exc:
        raise fail(str(exc), 2) from exc
    done = run(
        settings,
        lambda: do_accept(
            settings,
            listing_key,
            Correction(brand, model, category, name, attributes, from_best),
            note=note,
            resolved_by=_user(),
        ),
    )
    entry = done.entry
    console.print(
        f"accepted {listing_key}: {entry.normalized_name} [{entry.category}]", markup=False
    )
    console.print(f"attributes: {json.dumps(entry.attributes, ensure_ascii=False)}", markup=False)
    for remark in done.verdict.notes:
        console.print(f"note: {remark}", markup=False)
    console.print("cached (L3 + L1) and re-emitted on products.raw.v1")


def _decide(settings: Settings, listing_key: str, master_id: str | None, note: str | None) -> None:
    from catalog.review import decide_identity

    done = run(
        settings,
        lambda: decide_identity(settings, listing_key, master_id, note=note, resolved_by=_user()),
    )
    what = "a new product" if done.new_product else "master"
    console.print(f"accepted {listing_key}: {what} {done.master_id}", markup=False)
    console.print("re-published on products.validated.v1: the persister attaches it")


@app.command()
def reject(
    listing_key: Annotated[str, typer.Argument(help="retailer:sku")],
    note: Annotated[str, typer.Option(help="why it is rejected")],
) -> None:
    """Reject an item: it stays out of the catalog, with a note."""
    from catalog.review import reject as do_reject

    settings = load_settings()
    row = run(
        settings,
        lambda: _with_conn(settings, lambda c: do_reject(c, listing_key, note, _user())),
    )
    console.print(f"rejected {row.listing_key}: {row.note}", markup=False)


def _user() -> str | None:
    try:
        return getpass.getuser()[:100]
    except (OSError, KeyError):
        return None
