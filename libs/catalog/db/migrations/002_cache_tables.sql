-- The durable record of every normalization answer (L3) and its embedding (L2).
-- `fingerprint` is the input fingerprint: namespace + category + retailer-independent title.
CREATE TABLE ai_metadata_cache (
    id SERIAL PRIMARY KEY,
    fingerprint VARCHAR(64) UNIQUE NOT NULL,
    custom_id VARCHAR(100) UNIQUE,
    namespace VARCHAR(50) NOT NULL,
    category VARCHAR(50),
    product_fingerprint VARCHAR(64),
    product_raw JSONB NOT NULL,
    ai_response JSONB NOT NULL,
    source VARCHAR(20) NOT NULL,
    model_used VARCHAR(50) NOT NULL,
    prompt_version VARCHAR(20) NOT NULL,
    tokens_used INTEGER,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    reasoning_tokens INTEGER,
    cost_usd DECIMAL(10, 6),
    confidence DECIMAL(3, 2),
    processing_time_ms INTEGER,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT confidence_check CHECK (confidence >= 0 AND confidence <= 1)
);
CREATE INDEX idx_ai_cache_confidence ON ai_metadata_cache (confidence);
CREATE INDEX idx_ai_cache_created ON ai_metadata_cache (created_at DESC);
CREATE INDEX idx_ai_cache_category ON ai_metadata_cache (namespace, category);
CREATE INDEX idx_ai_cache_response_gin ON ai_metadata_cache USING GIN (ai_response);

-- The vector column has no fixed dimension so several embedding models can coexist; each model
-- gets its own HNSW expression index (created by the application for the configured model
-- and dimension), and queries always filter on `embedding_model`.
CREATE TABLE ai_embeddings (
    id SERIAL PRIMARY KEY,
    fingerprint VARCHAR(64) NOT NULL REFERENCES ai_metadata_cache (fingerprint) ON DELETE CASCADE,
    embedding_model VARCHAR(50) NOT NULL DEFAULT 'text-embedding-3-small',
    category VARCHAR(50),
    embedding vector NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (fingerprint, embedding_model)
);
CREATE INDEX idx_embeddings_model_category ON ai_embeddings (embedding_model, category);
