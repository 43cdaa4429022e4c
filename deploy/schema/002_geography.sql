-- goldline geography: the demand points of the golden rescue circle (places with population and
-- area class), what deploy/import-osm.sh remembers about the hospitals and ambulance stations it
-- took from OpenStreetMap, and the ambulance speed table behind the road graph's travel times.
--
-- The road graph itself (ways, ways_vertices_pgr, configuration) is not created here: it is
-- written by osm2pgrouting through deploy/import-osm.sh and replaced whole on every import, so a
-- database without an import simply has no road graph (geo/ falls back to straight lines).
--
-- Applied once like every migration (schema_migrations), inside one transaction, by the
-- dispatcher at start or by deploy/import-osm.sh, whichever comes first. Every statement is
-- also safe to run again (IF NOT EXISTS, ON CONFLICT DO NOTHING).

CREATE EXTENSION IF NOT EXISTS postgis;

-- OSM place types that become places, with their area class: the golden rescue circle is
-- 15 min in town and 30 min in the countryside. demand = false keeps a named place (a locality,
-- a field name) in the table but out of the population-weighted coverage. Operators may edit
-- these rows; the next import applies them.
CREATE TABLE IF NOT EXISTS place_types (
    place       text PRIMARY KEY,               -- OSM place=* value
    area_class  text NOT NULL CHECK (area_class IN ('town', 'countryside')),
    demand      boolean NOT NULL DEFAULT true
);
INSERT INTO place_types (place, area_class, demand) VALUES
    ('city', 'town', true),
    ('town', 'town', true),
    ('borough', 'town', true),
    ('suburb', 'town', true),
    ('quarter', 'town', true),
    ('neighbourhood', 'town', true),
    ('city_block', 'town', true),
    ('village', 'countryside', true),
    ('hamlet', 'countryside', true),
    ('isolated_dwelling', 'countryside', true),
    ('farm', 'countryside', true),
    ('locality', 'countryside', false)
ON CONFLICT (place) DO NOTHING;

-- Demand points. Rows with source = 'osm' belong to the import: each import makes them equal to
-- the extract (updated, added, removed). Set source = 'operator' on a row to keep it as edited
-- (the import then never touches it); operator-made places use any id not starting 'osm:'.
CREATE TABLE IF NOT EXISTS places (
    id          text PRIMARY KEY,               -- osm:n<node id> / osm:w<way id> when imported
    name        text NOT NULL,
    place       text NOT NULL,                  -- OSM place type (city, town, village...)
    population  integer CHECK (population >= 0),-- as tagged in OSM; NULL when not tagged
    area_class  text NOT NULL CHECK (area_class IN ('town', 'countryside')),
    demand      boolean NOT NULL DEFAULT true,  -- counts in the coverage
    geom        geography(Point, 4326) NOT NULL,
    source      text NOT NULL DEFAULT 'operator' CHECK (source IN ('osm', 'operator')),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS places_geom_idx ON places USING gist (geom);

-- What the import last wrote into hospitals/stations for each OSM object (amenity=hospital,
-- clinic, doctors -> hospitals; emergency=ambulance_station -> stations). A later import
-- updates a hospitals/stations row only while its name and position still equal what is recorded
-- here, so rows the operator edited are left alone, and a row the operator deleted is not
-- brought back.
CREATE TABLE IF NOT EXISTS osm_pois (
    target      text NOT NULL CHECK (target IN ('hospitals', 'stations')),
    id          text NOT NULL,                  -- osm:n123 / osm:w123 / osm:r123, the row's id
    kind        text NOT NULL,                  -- hospital, clinic, doctors, ambulance_station
    name        text NOT NULL,
    geom        geography(Point, 4326) NOT NULL,
    tags        jsonb NOT NULL DEFAULT '{}',    -- the OSM tags
    imported_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (target, id)
);

-- The speed table used for the road graph's cost_s/reverse_cost_s (a copy of
-- deploy/osm/speeds.conf as of the last import; edit the file and import again).
-- speed_kmh = 0: the class is not drivable (both directions get cost -1).
CREATE TABLE IF NOT EXISTS road_speeds (
    highway     text PRIMARY KEY,               -- OSM highway=* class
    speed_kmh   double precision NOT NULL CHECK (speed_kmh >= 0 AND speed_kmh <= 200)
);
-- Speed factors: tag '*' applies to every edge (the ambulance factor, multiplied together);
-- 'key=value' applies to edges whose OSM way has that tag (unpaved surfaces, poor track grades;
-- the smallest matching one applies).
CREATE TABLE IF NOT EXISTS road_speed_factors (
    tag         text PRIMARY KEY CHECK (tag = '*' OR tag ~ '^[^=]+=.+$'),
    factor      double precision NOT NULL CHECK (factor > 0 AND factor <= 3)
);

-- The road graph now in the database (one row once an extract was imported). imported_at only
-- moves when the graph changed, so it serves as the graph's version.
CREATE TABLE IF NOT EXISTS road_graph (
    id          integer PRIMARY KEY CHECK (id = 1),
    source      text NOT NULL,                  -- file name of the extract
    source_sha256 text NOT NULL,
    bbox        text,                           -- minlon,minlat,maxlon,maxlat when clipped
    config_sha256 text NOT NULL,                -- of mapconfig.xml + speeds.conf used
    edges       integer NOT NULL,
    vertices    integer NOT NULL,
    imported_at timestamptz NOT NULL DEFAULT now()
);
