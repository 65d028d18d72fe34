-- LLM work: every request item and every provider batch, recorded before and after each step so
-- that after any crash each item can be accounted for.
CREATE TABLE llm_batches (
    batch_id VARCHAR(64) PRIMARY KEY,
    provider_batch_id VARCHAR(100) UNIQUE,
    model VARCHAR(50) NOT NULL,
    status VARCHAR(20) NOT NULL,
    item_count INTEGER NOT NULL,
    input_file_id VARCHAR(100),
    output_file_id VARCHAR(100),
    error_file_id VARCHAR(100),
    error TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    closed_at TIMESTAMPTZ
);
CREATE INDEX idx_llm_batches_open ON llm_batches (status) WHERE closed_at IS NULL;

-- status: pending (accumulating) -> batched (in a provider batch) -> done (result emitted);
-- or pending -> sync -> done for the synchronous path.
CREATE TABLE llm_batch_items (
    custom_id VARCHAR(100) PRIMARY KEY,
    model VARCHAR(50) NOT NULL,
    request JSONB NOT NULL,
    status VARCHAR(20) NOT NULL DEFAULT 'pending',
    batch_id VARCHAR(64) REFERENCES llm_batches (batch_id),
    submissions INTEGER NOT NULL DEFAULT 0,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    reasoning_tokens INTEGER,
    cost_usd DECIMAL(10, 6),
    error TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX idx_llm_items_pending ON llm_batch_items (model, created_at) WHERE status = 'pending';
CREATE INDEX idx_llm_items_batch ON llm_batch_items (batch_id);

-- Daily spend, so the budget guard holds across restarts and replicas.
CREATE TABLE llm_spend (
    day DATE NOT NULL,
    model VARCHAR(50) NOT NULL,
    mode VARCHAR(10) NOT NULL,
    requests INTEGER NOT NULL DEFAULT 0,
    prompt_tokens BIGINT NOT NULL DEFAULT 0,
    completion_tokens BIGINT NOT NULL DEFAULT 0,
    cost_usd DECIMAL(12, 6) NOT NULL DEFAULT 0,
    PRIMARY KEY (day, model, mode)
);
