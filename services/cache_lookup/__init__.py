"""cache-lookup: answers routed listings from L1 Redis -> L2 pgvector -> L3 Postgres, or from
the rules tier; everything else becomes an LLM request."""
