-- `search_text` and `search_tsv` were stored generated columns, and Postgres computes every
-- stored generated column again on every UPDATE of the row, whatever the UPDATE sets. The
-- persister bumps the version of each master whose offers changed (a re-scrape batch of 500
-- listings bumps about 500 masters), and each bump paid for the accent folding and three
-- Spanish `to_tsvector` calls of a text that had not changed. The columns keep their values and
-- their indexes; a trigger now fills them on INSERT and on an UPDATE that sets one of the
-- columns they are made of (or one of them: they cannot be written directly, as before), with
-- the same expressions as 011.
ALTER TABLE productos_maestros
    ALTER COLUMN search_text DROP EXPRESSION,
    ALTER COLUMN search_tsv DROP EXPRESSION;

CREATE FUNCTION productos_maestros_search_columns() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_text := lower(catalog_unaccent(
        coalesce(NEW.brand, '') || ' ' || coalesce(NEW.model, '') || ' ' ||
        coalesce(NEW.normalized_name, '') || ' ' ||
        replace(coalesce(NEW.category_id, ''), '_', ' ')));
    NEW.search_tsv :=
        setweight(to_tsvector('spanish'::regconfig,
                              catalog_unaccent(coalesce(NEW.brand, '') || ' ' ||
                                               coalesce(NEW.model, ''))),
                  'A')
        || setweight(to_tsvector('spanish'::regconfig,
                                 catalog_unaccent(coalesce(NEW.normalized_name, ''))), 'B')
        || setweight(to_tsvector('spanish'::regconfig,
                                 replace(coalesce(NEW.category_id, ''), '_', ' ')), 'C');
    RETURN NEW;
END
$$;

CREATE TRIGGER productos_maestros_search_columns
    BEFORE INSERT OR UPDATE OF brand, model, normalized_name, category_id, search_text, search_tsv
    ON productos_maestros
    FOR EACH ROW EXECUTE FUNCTION productos_maestros_search_columns();

-- That bump writes a new version of the row; with free room on its page (as `listings` has
-- since 014) the new version stays there (a heap-only update) and no index gets a new entry,
-- where a full page makes Postgres add one to each of the table's eleven indexes (four of
-- them GIN). Pages written from now on keep 20% free; existing pages as they get rewritten.
ALTER TABLE productos_maestros SET (fillfactor = 80);
