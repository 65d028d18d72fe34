"""Administration: migrations and topics."""

from __future__ import annotations

import asyncio

from catalog.cli.common import EXIT_UNREACHABLE, console, fail, load_settings


def migrate() -> None:
    """Apply pending SQL migrations and reload the taxonomy and brand aliases."""
    from catalog.db.migrate import migrate as run_migrations

    settings = load_settings()
    try:
        applied = asyncio.run(run_migrations(settings.postgres.dsn.get_secret_value()))
    except OSError as exc:
        raise fail(
            f"Postgres unreachable ({exc}); is the stack up (`make up`)?", EXIT_UNREACHABLE
        ) from exc
    console.print(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}")


def topics_create() -> None:
    """Create the platform's topics with their partition counts (idempotent)."""
    from catalog.kafka.admin import create_topics

    settings = load_settings()
    try:
        created = asyncio.run(create_topics(settings.kafka))
    except Exception as exc:
        raise fail(
            f"broker unreachable at {settings.kafka.bootstrap} ({exc})", EXIT_UNREACHABLE
        ) from exc
    console.print(f"created {len(created)} topic(s): {', '.join(created) or 'all existed'}")
