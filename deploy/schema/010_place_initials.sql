-- Pinyin initials of place names, for the gazetteer search (op places.search, issue 8: "gx" finds
-- 贵溪市, whose initials are "gxs"). Filled by deploy/import-osm.sh (deploy/osm/pinyin_initials.py:
-- the first letter of each Han character's reading, Latin letters in lower case, everything else
-- left out); NULL for a name that gives no letter, for places imported before this column, and
-- for operator-made places until someone sets it. Matched by prefix: initials LIKE 'gx%'.
ALTER TABLE places ADD COLUMN IF NOT EXISTS initials text;
CREATE INDEX IF NOT EXISTS places_initials_idx ON places (initials text_pattern_ops);
