-- The review workflow: who resolved an item, how, and with what correction; dead-letter replays.
ALTER TABLE review_items
    ADD COLUMN note TEXT,
    ADD COLUMN resolved_by VARCHAR(100),
    ADD COLUMN correction JSONB;
CREATE INDEX idx_review_status ON review_items (status, queued_at);

ALTER TABLE dead_letters
    ADD COLUMN replay_count INTEGER NOT NULL DEFAULT 0;
CREATE INDEX idx_dead_letters_service ON dead_letters (service, failed_at DESC);
