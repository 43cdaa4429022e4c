-- Imported historical call records (`goldlinectl import-calls`, docs/reports.md): real calls of
-- another service (San Francisco Fire Dept, New York City EMS) loaded as closed incidents with
-- their timelines, so that `goldlinectl report` computes the golden-time metrics on real stage
-- times. `import_key` is the source's own call number ("sf:180014214", "nyc:130010001"): it
-- makes the import idempotent (a re-import adds nothing) and is NULL for the dispatcher's own
-- incidents. Some sources publish no coordinates (NYC EMS gives only a borough and ZIP code), so
-- an imported incident may have no location; a live incident still must have one.
ALTER TABLE incidents ADD COLUMN import_key text UNIQUE;
ALTER TABLE incidents ALTER COLUMN geom DROP NOT NULL;
ALTER TABLE incidents ADD CONSTRAINT incidents_geom_unless_imported
    CHECK (geom IS NOT NULL OR import_key IS NOT NULL);
