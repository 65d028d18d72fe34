"""Master-product identity: merge duplicates by hand, or find them with a re-resolution pass."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table

from catalog.cli.common import EXIT_UNREACHABLE, console, fail, load_settings

T = TypeVar("T")


def _run(work: Coroutine[Any, Any, T]) -> T:
    from catalog.masters import MergeError

    try:
        return asyncio.run(work)
    except MergeError as exc:
        raise fail(str(exc)) from exc
    except OSError as exc:
        raise fail(f"dependency unreachable ({exc})", EXIT_UNREACHABLE) from exc


def merge(
    duplicate: Annotated[str, typer.Argument(help="master id (product fingerprint) to fold in")],
    into: Annotated[str, typer.Argument(help="master id that absorbs it")],
) -> None:
    """Merge a duplicate master product into another.

    Listings, offers and price history move, the duplicate is marked merged_into and
    deactivated, and both states go out on catalog.products.v1 (the moved offers on
    catalog.offers.v1). Running it again is a no-op that re-sends the same events."""
    from catalog.masters import merge_and_publish

    settings = load_settings()
    merged = _run(merge_and_publish(settings, duplicate, into))
    if merged.already:
        console.print(f"{duplicate} was already merged into {into}: nothing changed")
    else:
        console.print(
            f"merged {duplicate} into {into}: {merged.moved_listings} listing(s) moved",
            markup=False,
        )
    for product in merged.products:
        console.print(
            f"  {product.product_fingerprint} v{product.version}: {product.offer_count} offer(s)"
            + (f", merged into {product.merged_into}" if product.merged_into else ""),
            markup=False,
        )


def resolve(
    rerun: Annotated[
        bool,
        typer.Option("--rerun", help="re-resolve every live master against the others"),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="list the duplicates found, merge nothing")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Identity re-resolution: find and merge duplicate masters.

    With --rerun, every live master is scored against its candidates with the current
    matcher; a pair at or above the attach threshold is a duplicate and the younger master is
    merged into the older one (events on the catalog topics). Idempotent."""
    from catalog.identity.resolver import load_resolver
    from catalog.masters import rerun_and_publish

    if not rerun:
        raise fail("nothing to do: give --rerun", 2)
    settings = load_settings()
    found = _run(rerun_and_publish(settings, load_resolver(), apply=not dry_run))
    if as_json:
        console.print_json(
            json.dumps(
                [
                    {
                        "duplicate": d.duplicate,
                        "into": d.into,
                        "score": round(d.score, 4),
                        "merged": d.merged is not None,
                    }
                    for d in found
                ]
            )
        )
        return
    verb = "would merge" if dry_run else "merged"
    table = Table(title=f"Re-resolution: {len(found)} duplicate(s) {verb}")
    table.add_column("duplicate", no_wrap=True)
    table.add_column("into", no_wrap=True)
    table.add_column("score", justify="right")
    for d in found:
        table.add_row(d.duplicate, d.into, f"{d.score:.3f}")
    console.print(table)
