-- Dead letters too large for the dead-letter topic: the service that gives up on such a message
-- writes it here whole (before committing its offset) and the topic record carries only a
-- prefix, the size, the SHA-256 and a reference to this row. Every row gets size and hash.
ALTER TABLE dead_letters
    ADD COLUMN value_size INTEGER,
    ADD COLUMN value_sha256 CHAR(64),
    ADD COLUMN truncated_on_topic BOOLEAN NOT NULL DEFAULT FALSE;
