"""Versioned SQL migrations, applied in order, each once, under an advisory lock.

Files are `migrations/NNN_name.sql`. Applied versions and their checksums are recorded in
`schema_migrations`; an edited, already-applied file is an error (write a new migration instead).
After the SQL, the taxonomy and brand aliases are loaded from the versioned domain data files,
so `migrate` is the single command that brings a database up to date. Safe to run repeatedly and
from several processes at once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources

import asyncpg

LOCK_ID = 7_310_001


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


class MigrationError(RuntimeError):
    pass


def load_migrations() -> list[Migration]:
    folder = resources.files("catalog.db").joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version, _, name = entry.name.removesuffix(".sql").partition("_")
            found.append(Migration(int(version), name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"duplicate migration versions: {versions}")
    return found


async def migrate(dsn: str, *, seed: bool = True) -> list[str]:
    """Apply pending migrations (and reload reference data); returns the names applied."""
    conn = await asyncpg.connect(dsn)
    applied: list[str] = []
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", LOCK_ID)
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version INTEGER PRIMARY KEY,
                   name TEXT NOT NULL,
                   checksum TEXT NOT NULL,
                   applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"""
        )
        done = {
            r["version"]: r["checksum"]
            for r in await conn.fetch("SELECT version, checksum FROM schema_migrations")
        }
        for migration in load_migrations():
            if migration.version in done:
                if done[migration.version] != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.version:03d}_{migration.name} changed after it "
                        "was applied; add a new migration instead"
                    )
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    migration.checksum,
                )
            applied.append(f"{migration.version:03d}_{migration.name}")
        if seed:
            await load_reference_data(conn)
    finally:
        try:
            await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_ID)
        finally:
            await conn.close()
    return applied


async def load_reference_data(conn: asyncpg.Connection) -> None:
    """Upsert the taxonomy and brand aliases from the packaged data files."""
    from catalog.domain.brands import load_brands
    from catalog.domain.taxonomy import load_taxonomy

    taxonomy = load_taxonomy()
    brands = load_brands()
    async with conn.transaction():
        for row in taxonomy.rows():
            await conn.execute(
                """INSERT INTO categories (category_id, name, synonyms, parent_id,
                       attribute_schema, confidence_threshold, coverage_threshold, active,
                       taxonomy_version)
                   VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9)
                   ON CONFLICT (category_id) DO UPDATE SET
                       name = EXCLUDED.name, synonyms = EXCLUDED.synonyms,
                       parent_id = EXCLUDED.parent_id,
                       attribute_schema = EXCLUDED.attribute_schema,
                       confidence_threshold = EXCLUDED.confidence_threshold,
                       coverage_threshold = EXCLUDED.coverage_threshold,
                       active = EXCLUDED.active, taxonomy_version = EXCLUDED.taxonomy_version""",
                row["category_id"],
                row["name"],
                list(row["synonyms"]),
                row["parent_id"],
                json.dumps(row["attribute_schema"]),
                row["confidence_threshold"],
                row["coverage_threshold"],
                row.get("active", True),
                str(taxonomy.version),
            )
        await conn.executemany(
            """INSERT INTO brand_aliases (brand_canonical, alias, confidence)
               VALUES ($1, $2, $3)
               ON CONFLICT (alias) DO UPDATE SET brand_canonical = EXCLUDED.brand_canonical,
                   confidence = EXCLUDED.confidence""",
            [tuple(r) for r in brands.rows()],
        )
