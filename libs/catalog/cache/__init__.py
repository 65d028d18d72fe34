"""The multilevel cache: L1 Redis (exact), L2 pgvector (semantic, identity-guarded), L3 Postgres."""
