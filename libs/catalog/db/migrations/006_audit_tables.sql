-- Audit of what left the happy path: dead letters and the review queue.
CREATE TABLE dead_letters (
    id BIGSERIAL PRIMARY KEY,
    service VARCHAR(50) NOT NULL,
    topic VARCHAR(200) NOT NULL,
    partition INTEGER NOT NULL,
    "offset" BIGINT NOT NULL,
    error_type VARCHAR(50) NOT NULL,
    error TEXT NOT NULL,
    key_b64 TEXT,
    value_b64 TEXT NOT NULL,
    failed_at TIMESTAMPTZ NOT NULL,
    replayed_at TIMESTAMPTZ,
    UNIQUE (topic, partition, "offset", service)
);
CREATE INDEX idx_dead_letters_failed ON dead_letters (failed_at DESC);

CREATE TABLE review_items (
    listing_key VARCHAR(320) PRIMARY KEY,
    input_fingerprint VARCHAR(64) NOT NULL,
    listing JSONB NOT NULL,
    reasons TEXT[] NOT NULL,
    best_answer JSONB,
    attempts INTEGER NOT NULL DEFAULT 0,
    status VARCHAR(20) NOT NULL DEFAULT 'pending',
    queued_at TIMESTAMPTZ NOT NULL,
    resolved_at TIMESTAMPTZ
);
CREATE INDEX idx_review_pending ON review_items (queued_at) WHERE status = 'pending';
