-- The re-scrape fast path: a digest of the identity inputs (title, GTIN, brand, retailer
-- category, attributes, cache namespace) each listing was last normalized from. The router sends
-- a re-scrape straight to the persister when Redis holds the same digest; the persister applies
-- its price only when this column still holds it, so Postgres decides, not Redis.
ALTER TABLE listings ADD COLUMN IF NOT EXISTS identity_digest text;
