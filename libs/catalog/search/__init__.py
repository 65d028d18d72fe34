"""Catalog search: hybrid retrieval over the live catalog tables, product pages, similar
products, shoppers' interactions and recommendations. Framework-free; `services/search` is the
HTTP layer over it."""
