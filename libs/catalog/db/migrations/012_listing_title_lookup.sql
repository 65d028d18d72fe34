-- Throughput: a new listing whose normalized title (and GTIN) other listings already carry is
-- looked up by that title, for a whole batch at once, before any candidate search.
CREATE INDEX IF NOT EXISTS idx_listings_match_title ON listings (match_title);
