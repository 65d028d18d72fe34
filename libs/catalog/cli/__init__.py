"""`catalog`: the operator's command-line tool.

Exit codes: 0 success; 1 the command ran but found a problem (bad input lines, listings not
accounted for before the timeout); 2 usage error; 3 a dependency (broker, Postgres, LLM endpoint)
unreachable.
"""

from __future__ import annotations

import sys

import typer

from catalog.cli import (
    admin,
    batches,
    brands,
    cache,
    dlq,
    identity,
    ingest,
    normalize,
    review,
    status,
)

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
topics_app = typer.Typer(no_args_is_help=True, help="Kafka topics.")
app.add_typer(topics_app, name="topics")
app.add_typer(cache.app, name="cache")
app.add_typer(batches.app, name="batches")
app.add_typer(brands.app, name="brands")

app.command()(admin.migrate)
topics_app.command("create")(admin.topics_create)
app.command()(ingest.publish)
app.command()(ingest.summary)
app.add_typer(review.app, name="review")
app.add_typer(dlq.app, name="dlq")
app.command()(status.status)
app.command()(normalize.normalize)
app.command()(identity.merge)
app.command()(identity.resolve)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
