-- Open world. The taxonomy is a tree: coarse departments and aisles (no schema) with the typed
-- categories as deep leaves; `categories.parent_id` already links them, the view gives each node
-- its level and top-level department. Brands are an open registry that grows as listings name
-- new ones, with how often and from where (the listing's brand field, its title, a model).
CREATE OR REPLACE VIEW category_tree AS
WITH RECURSIVE tree (category_id, parent_id, level, top_level_id, path) AS (
    SELECT category_id, parent_id, 1, category_id, ARRAY[category_id::text]
    FROM categories
    WHERE parent_id IS NULL
    UNION ALL
    SELECT c.category_id, c.parent_id, t.level + 1, t.top_level_id, t.path || c.category_id::text
    FROM categories c
    JOIN tree t ON c.parent_id = t.category_id
    WHERE NOT c.category_id = ANY (t.path)
)
SELECT category_id, parent_id, level, top_level_id FROM tree;

CREATE TABLE brands (
    brand VARCHAR(100) PRIMARY KEY,
    listings BIGINT NOT NULL DEFAULT 0,
    -- observations per source, e.g. {"listing": 12, "title": 3, "llm": 1}
    sources JSONB NOT NULL DEFAULT '{}',
    first_seen TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX idx_brands_first_seen ON brands (first_seen DESC);
CREATE INDEX idx_brands_listings ON brands (listings DESC);
