-- Identity resolution: master ids assigned by resolution, merges, versions for catalog events,
-- identifiers for candidate lookup, and one price row per listing.

-- A master keeps `fingerprint` as its public id: assigned once by resolution, never recomputed.
-- A merged duplicate keeps its row (history and old events point to it) with `merged_into`
-- naming the master that absorbed it.
ALTER TABLE productos_maestros
    ADD COLUMN merged_into VARCHAR(64),
    -- Bumped on every change of the state published on catalog.products.v1.
    ADD COLUMN version BIGINT NOT NULL DEFAULT 0,
    -- Hash of the last published state: a redelivery that changes nothing keeps the version.
    ADD COLUMN state_hash VARCHAR(32),
    -- What candidate lookup blocks on, fused from the master's listings.
    ADD COLUMN gtin VARCHAR(14),
    ADD COLUMN model_codes TEXT[] NOT NULL DEFAULT '{}',
    -- The codes and their stems without regional or colour suffixes: what lookup overlaps.
    ADD COLUMN code_keys TEXT[] NOT NULL DEFAULT '{}',
    ADD COLUMN match_brand VARCHAR(100),
    ADD COLUMN category_group VARCHAR(50) NOT NULL DEFAULT '',
    ADD COLUMN match_title TEXT NOT NULL DEFAULT '',
    -- Which listing each fused attribute (and the name) came from.
    ADD COLUMN attribute_sources JSONB NOT NULL DEFAULT '{}',
    ADD COLUMN name_source VARCHAR(320);

-- Masters made before resolution: what SQL can derive now (brand, category group, a title); their
-- codes and normalized title are learned from their listings the next time one is persisted.
WITH RECURSIVE up AS (
    SELECT category_id AS leaf, category_id AS node, parent_id FROM categories
    UNION ALL
    SELECT up.leaf, c.category_id, c.parent_id
    FROM up JOIN categories c ON c.category_id = up.parent_id
)
UPDATE productos_maestros p SET match_title = lower(p.normalized_name), version = 1,
    match_brand = p.brand,
    category_group = coalesce(
        (SELECT up.node FROM up WHERE up.leaf = p.category_id AND up.parent_id IS NULL LIMIT 1),
        p.category_id);

CREATE INDEX idx_productos_gtin ON productos_maestros (gtin)
    WHERE gtin IS NOT NULL AND merged_into IS NULL;
CREATE INDEX idx_productos_code_keys ON productos_maestros USING GIN (code_keys);
CREATE INDEX idx_productos_brand_group ON productos_maestros (match_brand, category_group)
    WHERE merged_into IS NULL;
CREATE INDEX idx_productos_match_title_trgm ON productos_maestros
    USING GIN (match_title gin_trgm_ops);

-- Every listing keeps its own price and offer details; `precios_actuales` keeps each store's
-- best current price for a product, recomputed from that store's listings of it.
ALTER TABLE listings
    ADD COLUMN gtin VARCHAR(14),
    -- Normalized title: with the GTIN, what makes a re-scrape a known listing.
    ADD COLUMN match_title TEXT NOT NULL DEFAULT '',
    -- The listing's identity facts (brand, category, attributes, codes...), fused into its master.
    ADD COLUMN facts JSONB NOT NULL DEFAULT '{}',
    -- Normalization's exact-hash fingerprint: with the same title and GTIN, a re-scrape whose
    -- normalization did not change reuses its stored facts.
    ADD COLUMN normalization VARCHAR(64),
    ADD COLUMN normalized_name VARCHAR(500),
    ADD COLUMN currency VARCHAR(3) NOT NULL DEFAULT 'CLP',
    ADD COLUMN stock_status VARCHAR(20) NOT NULL DEFAULT 'unknown',
    ADD COLUMN url TEXT,
    -- How the listing got its master (known, attached, new, judged, review) and the score.
    ADD COLUMN resolution VARCHAR(16),
    ADD COLUMN match_score REAL,
    -- Bumped on every change of the offer published on catalog.offers.v1.
    ADD COLUMN version BIGINT NOT NULL DEFAULT 1,
    -- The version at which the price last changed: an offer event's `price_changed`, the same
    -- when the event is re-emitted.
    ADD COLUMN price_version BIGINT NOT NULL DEFAULT 1;

-- Listings persisted before resolution keep their master: their empty `facts` tell the persister
-- to take their next unchanged-title message as a re-scrape (and let the master learn from it).
UPDATE listings SET match_title = lower(title);

CREATE INDEX idx_listings_product_retailer ON listings (product_id, retailer);
CREATE INDEX idx_listings_gtin ON listings (gtin) WHERE gtin IS NOT NULL;
-- Vector neighbours: from a title embedding (keyed by input fingerprint) to its listings.
CREATE INDEX idx_listings_input_fingerprint ON listings (input_fingerprint);
CREATE INDEX idx_price_history_product ON price_history (product_id);

-- Identity review: the scored candidates, the validated listing waiting for a decision, and the
-- master a person chose (a candidate, or a new master).
ALTER TABLE review_items
    ADD COLUMN candidates JSONB,
    ADD COLUMN validated JSONB,
    ADD COLUMN decided_master VARCHAR(64);
