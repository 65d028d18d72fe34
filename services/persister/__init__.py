"""persister: one transaction per consumed batch (master product, offer, price history, metadata
cache, embedding), then L1, then the normalized catalog topics. Also keeps the audit tables of
the review queue and the dead-letter topic."""
