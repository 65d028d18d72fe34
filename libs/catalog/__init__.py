"""Shared runtime of the catalog normalization platform: settings, Kafka wiring, storage,
cache, LLM client, domain knowledge and the embedded development stack."""
