-- A re-scrape rewrites its listing's price, stock, seen-at and `persisted_at`. An index on
-- `persisted_at` made every such update write a new entry into each of the table's indexes
-- (a change of an indexed column rules out a heap-only update); nothing reads listings in
-- `persisted_at` order (`catalog publish --wait` looks them up by key), so it goes.
-- Free room on each page lets those updates stay on the listing's own page.
DROP INDEX IF EXISTS idx_listings_persisted;
ALTER TABLE listings SET (fillfactor = 85);
