-- Extensions the platform needs: pgvector for the semantic cache, trigram and GIN helpers for
-- search over names and JSONB attributes.
CREATE EXTENSION IF NOT EXISTS vector;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gin;
