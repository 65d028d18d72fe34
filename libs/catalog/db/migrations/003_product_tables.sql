-- Master products (one per product fingerprint) and current offers (one per product x retailer).
CREATE TABLE productos_maestros (
    id SERIAL PRIMARY KEY,
    fingerprint VARCHAR(64) UNIQUE NOT NULL,
    brand VARCHAR(100) NOT NULL,
    model VARCHAR(200) NOT NULL,
    normalized_name VARCHAR(500) NOT NULL,
    category_id VARCHAR(50) NOT NULL,
    attributes JSONB NOT NULL DEFAULT '{}',
    ai_confidence DECIMAL(3, 2),
    ai_enhanced BOOLEAN DEFAULT TRUE,
    processing_version VARCHAR(20) DEFAULT 'v2.0',
    active BOOLEAN DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX idx_productos_category ON productos_maestros (category_id);
CREATE INDEX idx_productos_name_trgm ON productos_maestros USING GIN (normalized_name gin_trgm_ops);

CREATE TABLE precios_actuales (
    id SERIAL PRIMARY KEY,
    product_id INTEGER NOT NULL REFERENCES productos_maestros (id),
    retailer VARCHAR(100) NOT NULL,
    sku VARCHAR(200) NOT NULL,
    listing_key VARCHAR(320) NOT NULL,
    price_current DECIMAL(12, 2) NOT NULL,
    price_original DECIMAL(12, 2),
    currency VARCHAR(3) DEFAULT 'CLP',
    stock_status VARCHAR(20),
    url TEXT,
    last_seen TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (product_id, retailer)
);
CREATE INDEX idx_precios_listing ON precios_actuales (listing_key);

-- Every listing ever seen and the master product it currently belongs to. This is what lets an
-- offer move when a listing's normalization changes, and what makes redelivery a no-op.
CREATE TABLE listings (
    listing_key VARCHAR(320) PRIMARY KEY,
    retailer VARCHAR(100) NOT NULL,
    sku VARCHAR(200) NOT NULL,
    product_id INTEGER NOT NULL REFERENCES productos_maestros (id),
    input_fingerprint VARCHAR(64) NOT NULL,
    title VARCHAR(500) NOT NULL,
    price INTEGER NOT NULL,
    price_original INTEGER,
    source VARCHAR(20) NOT NULL,
    first_seen TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- When this platform last processed the listing (operational, unlike last_seen).
    persisted_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX idx_listings_product ON listings (product_id);
CREATE INDEX idx_listings_persisted ON listings (persisted_at);

-- Every observed price change of a listing, like a price-tracker's entity history.
CREATE TABLE price_history (
    id BIGSERIAL PRIMARY KEY,
    listing_key VARCHAR(320) NOT NULL,
    product_id INTEGER NOT NULL REFERENCES productos_maestros (id),
    retailer VARCHAR(100) NOT NULL,
    price INTEGER NOT NULL,
    price_original INTEGER,
    observed_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX idx_price_history_listing ON price_history (listing_key, observed_at DESC);
