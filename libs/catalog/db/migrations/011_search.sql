-- Search over the live catalog tables: Spanish full text without accents, trigrams for typos,
-- and the shoppers' interactions that recommendations learn from.
CREATE EXTENSION IF NOT EXISTS unaccent;

-- `unaccent(text)` is only STABLE (it looks its dictionary up through search_path), so it cannot
-- appear in a generated column or an index; naming the dictionary makes it safely IMMUTABLE.
CREATE OR REPLACE FUNCTION catalog_unaccent(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$;

-- What search reads of a master, without accents and in lower case: brand, model, name and the
-- category id's words. Generated columns follow every write of the persister, merges and
-- deactivations included, so the index is never behind the catalog.
ALTER TABLE productos_maestros
    ADD COLUMN search_text TEXT GENERATED ALWAYS AS (
        lower(catalog_unaccent(
            coalesce(brand, '') || ' ' || coalesce(model, '') || ' ' ||
            coalesce(normalized_name, '') || ' ' || replace(coalesce(category_id, ''), '_', ' ')))
    ) STORED,
    ADD COLUMN search_tsv TSVECTOR GENERATED ALWAYS AS (
        setweight(to_tsvector('spanish'::regconfig,
                              catalog_unaccent(coalesce(brand, '') || ' ' || coalesce(model, ''))),
                  'A')
        || setweight(to_tsvector('spanish'::regconfig,
                                 catalog_unaccent(coalesce(normalized_name, ''))), 'B')
        || setweight(to_tsvector('spanish'::regconfig,
                                 replace(coalesce(category_id, ''), '_', ' ')), 'C')
    ) STORED;

-- Only live masters are ever searched: partial indexes keep merged and inactive rows out.
CREATE INDEX idx_productos_search_tsv ON productos_maestros USING GIN (search_tsv)
    WHERE active AND merged_into IS NULL;
CREATE INDEX idx_productos_search_trgm ON productos_maestros
    USING GIN (search_text gin_trgm_ops) WHERE active AND merged_into IS NULL;
CREATE INDEX idx_productos_live_category ON productos_maestros (category_id, brand)
    WHERE active AND merged_into IS NULL;
-- Words of the live masters' texts, for typo correction: a misspelled query word is matched to
-- its nearest catalog words by trigram similarity (GIN, fast on short words), and those words are
-- searched instead. Kept by the search service (it adds the words of masters changed since its
-- last pass), never by the writers of the catalog, so the persister's transactions do not touch
-- it. A word whose masters are gone only costs a lookup that finds nothing.
CREATE TABLE search_vocabulary (
    word TEXT PRIMARY KEY
);
CREATE INDEX idx_search_vocabulary_trgm ON search_vocabulary USING GIN (word gin_trgm_ops);
INSERT INTO search_vocabulary (word)
SELECT DISTINCT w FROM productos_maestros p,
    regexp_split_to_table(p.search_text, '[^[:alnum:]]+') AS w
WHERE length(w) >= 3 AND p.active AND p.merged_into IS NULL
ON CONFLICT DO NOTHING;

-- How many live masters hold each full-text lexeme (from ts_stat, recomputed by the search
-- service every few minutes): a long query searches its rarest lexemes, not every common word.
CREATE TABLE search_lexemes (
    lexeme TEXT PRIMARY KEY,
    documents INTEGER NOT NULL
);

-- Offers of a master, cheapest first (the product page and the cheapest-offer lookups).
CREATE INDEX idx_precios_product_price ON precios_actuales (product_id, price_current);

-- Views, clicks and purchases of shoppers, consumed from catalog.interactions.v1. `event_id` is
-- the producer's id: a redelivered event is inserted once.
CREATE TABLE interactions (
    id BIGSERIAL PRIMARY KEY,
    event_id VARCHAR(64) UNIQUE NOT NULL,
    user_id VARCHAR(128) NOT NULL,
    product_id VARCHAR(64) NOT NULL,
    kind VARCHAR(16) NOT NULL CHECK (kind IN ('view', 'click', 'purchase')),
    occurred_at TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX idx_interactions_user ON interactions (user_id, occurred_at DESC);
CREATE INDEX idx_interactions_product ON interactions (product_id);
CREATE INDEX idx_interactions_occurred ON interactions (occurred_at DESC);
