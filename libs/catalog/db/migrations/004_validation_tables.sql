-- Taxonomy and brand aliases; rows are loaded from the versioned domain data files.
CREATE TABLE categories (
    category_id VARCHAR(50) PRIMARY KEY,
    name VARCHAR(100) NOT NULL,
    synonyms TEXT[],
    parent_id VARCHAR(50),
    attribute_schema JSONB NOT NULL DEFAULT '{}',
    confidence_threshold DECIMAL(3, 2) DEFAULT 0.75,
    coverage_threshold DECIMAL(3, 2) DEFAULT 0.70,
    active BOOLEAN DEFAULT TRUE,
    taxonomy_version VARCHAR(20)
);

CREATE TABLE brand_aliases (
    id SERIAL PRIMARY KEY,
    brand_canonical VARCHAR(100) NOT NULL,
    alias VARCHAR(100) UNIQUE NOT NULL,
    confidence DECIMAL(3, 2) DEFAULT 1.0
);
CREATE INDEX idx_brand_aliases_canonical ON brand_aliases (brand_canonical);
