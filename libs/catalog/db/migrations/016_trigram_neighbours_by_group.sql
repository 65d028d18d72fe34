-- Identity resolution asks, for every new listing, the masters of its category group whose
-- title is within pg_trgm's reach (`match_title % title`, best similarity first). With only the
-- GIN trigram index of 010, the planner often reads the group (or the whole table) and computes
-- the similarity of every title in it: about 70 ms a listing on the end-to-end benchmark's
-- 7,300-master catalog of sibling titles, a cost that grows with the catalog. A GiST trigram
-- index led by the category group answers both conditions in one index scan, with the same
-- answers (the query is unchanged): `benchmarks/bench_trigram_neighbours.py`, 6.4 / 14.5 / 37.6
-- ms a lookup at 7,000 / 20,000 / 50,000 masters without it, 2.7 / 6.7 / 17.7 with it.
-- btree_gist lets a GiST index hold the group's equality.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE INDEX idx_productos_group_title_gist ON productos_maestros
    USING GIST (category_group, match_title gist_trgm_ops)
    WHERE merged_into IS NULL;
