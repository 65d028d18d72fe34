-- The cache-hit path asks, for every new listing, the latest few listings with its title
-- (`same_title_masters`: newest first, five of them) and the newest listing of their master.
-- With only `(match_title)` and `(product_id)` indexed, both read every listing of the title or
-- of the master and sort them, a cost that grows with the stores selling the product. Ordered
-- indexes answer both from their first entries. `first_seen` is set once per listing, so a
-- re-scrape's update stays heap-only (migration 014).
CREATE INDEX IF NOT EXISTS idx_listings_title_recent
    ON listings (match_title, first_seen DESC, listing_key);
DROP INDEX IF EXISTS idx_listings_match_title;
CREATE INDEX IF NOT EXISTS idx_listings_product_seen ON listings (product_id, first_seen);
DROP INDEX IF EXISTS idx_listings_product;
