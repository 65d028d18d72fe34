"""Dead letters: list, show, replay to the original topic."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from catalog.cli.common import console, fail, load_settings
from catalog.cli.review import _short, _with_conn, run

app = typer.Typer(no_args_is_help=True, help="Dead letters (products.dlq.v1 audit).")


@app.command("list")
def list_(
    service: Annotated[str | None, typer.Option(help="only this service's")] = None,
    pending: Annotated[bool, typer.Option("--pending", help="only not yet replayed")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
) -> None:
    """Dead letters, newest first."""
    from catalog.review import list_dead_letters

    settings = load_settings()
    rows = run(
        settings,
        lambda: _with_conn(
            settings,
            lambda c: list_dead_letters(
                c, service=service, include_replayed=not pending, limit=limit
            ),
        ),
    )
    table = Table(title=f"Dead letters: {len(rows)}")
    for column in ("id", "service", "topic", "key", "error", "failed at", "replayed at"):
        table.add_column(column, no_wrap=column in ("id", "failed at", "replayed at"))
    for r in rows:
        table.add_row(
            str(r.id),
            r.service,
            f"{r.topic}[{r.partition}]@{r.offset}",
            _short(r.key_text, 40),
            _short(f"{r.error_type}: {r.error}", 80),
            r.failed_at.strftime("%Y-%m-%d %H:%M:%S"),
            r.replayed_at.strftime("%Y-%m-%d %H:%M:%S") if r.replayed_at else "-",
        )
    console.print(table)


@app.command()
def show(letter_id: Annotated[int, typer.Argument(help="dead-letter id")]) -> None:
    """One dead letter: where it came from, the error and the original message."""
    from catalog.review import get_dead_letter

    settings = load_settings()
    r = run(settings, lambda: _with_conn(settings, lambda c: get_dead_letter(c, letter_id)))
    facts = run(settings, lambda: _with_conn(settings, lambda c: _original_facts(c, letter_id)))
    console.print(f"id {r.id}  service: {r.service}  error type: {r.error_type}", markup=False)
    console.print(f"source: {r.topic} partition {r.partition} offset {r.offset}", markup=False)
    console.print(f"key: {r.key_text or '-'}", markup=False)
    console.print(f"failed at: {r.failed_at.isoformat()}", markup=False)
    replayed = r.replayed_at.isoformat() if r.replayed_at else "never"
    console.print(f"replayed: {replayed} ({r.replay_count} time(s))", markup=False)
    console.print(f"error: {r.error}", markup=False)
    console.print(
        f"original: {len(r.value):,} bytes, sha256 {hashlib.sha256(r.value).hexdigest()}"
        + (" (too large for the topic: kept whole here only)" if facts["truncated"] else ""),
        markup=False,
    )
    console.print("message:")
    try:
        console.print_json(json.dumps(json.loads(r.value)))
    except ValueError:
        text = r.value.decode("utf-8", "replace")
        console.print(_short(text, 4000), markup=False)


@app.command()
def replay(
    letter_id: Annotated[int | None, typer.Argument(help="dead-letter id")] = None,
    id_: Annotated[
        list[int] | None, typer.Option("--id", help="dead-letter id, repeatable")
    ] = None,
    all_from: Annotated[
        str | None, typer.Option("--all-from", help="every not yet replayed one of a service")
    ] = None,
    value_file: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="send these bytes instead (one id)"),
    ] = None,
    again: Annotated[bool, typer.Option("--again", help="include already replayed")] = False,
) -> None:
    """Republish dead letters to their original topic (after a fix) and mark them replayed."""
    from catalog.review import replay as do_replay

    ids = [*([letter_id] if letter_id is not None else []), *(id_ or [])]
    if bool(ids) == bool(all_from):
        raise fail("give an id (or --id) or --all-from SERVICE", 2)
    value = value_file.read_bytes() if value_file is not None else None
    settings = load_settings()
    rows = run(
        settings,
        lambda: do_replay(settings, ids=ids, all_from=all_from, value=value, again=again),
    )
    for r in rows:
        console.print(f"replayed {r.id} -> {r.topic} (key {r.key_text or '-'})", markup=False)
    console.print(f"{len(rows)} dead letter(s) replayed")


async def _original_facts(conn: Any, letter_id: int) -> dict[str, Any]:
    row = await conn.fetchrow(
        "SELECT value_size, value_sha256, truncated_on_topic FROM dead_letters WHERE id = $1",
        letter_id,
    )
    return {"truncated": bool(row and row["truncated_on_topic"])}


@app.command()
def export(
    letter_id: Annotated[int, typer.Argument(help="dead-letter id")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", dir_okay=False, help="file (default: stdout)")
    ] = None,
) -> None:
    """Write a dead letter's original message, byte for byte (also one too large for the
    dead-letter topic, which keeps only its first bytes)."""
    from catalog.review import get_dead_letter

    settings = load_settings()
    r = run(settings, lambda: _with_conn(settings, lambda c: get_dead_letter(c, letter_id)))
    if out is None:
        sys.stdout.buffer.write(r.value)
        sys.stdout.buffer.flush()
        return
    out.write_bytes(r.value)
    digest = hashlib.sha256(r.value).hexdigest()
    console.print(f"wrote {len(r.value):,} bytes (sha256 {digest}) to {out}", markup=False)
