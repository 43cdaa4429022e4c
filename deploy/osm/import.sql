-- The database half of deploy/import-osm.sh, run by psql inside the script's one transaction,
-- after osm2pgrouting wrote the new road graph into the staging schema osm_import and the
-- script loaded:
--   osm_features(doc jsonb)      temp table, one GeoJSON feature per line of `osmium export`
--                                (roads, places, hospitals, ambulance stations, with all tags)
--   road_speeds, road_speed_factors   the speed table of deploy/osm/speeds.conf
-- and set the psql variables source, source_sha256, bbox (may be ''), config_sha256.
--
-- It gives every edge its ambulance travel times, swaps the new graph in for the old one
-- (readers see the old graph or the new one, never half of one), and brings places, hospitals
-- and stations up to date without touching what an operator edited. Running it again on the
-- same input changes no row.

-- ---- the road graph: travel times ---------------------------------------------------------------

-- OSM tags of each imported road (osm2pgrouting's ways table does not keep them).
CREATE TEMP TABLE way_tags ON COMMIT DROP AS
SELECT DISTINCT ON (osm_id) osm_id, tags
  FROM (SELECT (doc->'properties'->>'@id')::bigint AS osm_id, doc->'properties' AS tags
          FROM osm_features
         WHERE doc->'properties'->>'@type' = 'way' AND doc->'properties' ? 'highway') t
 ORDER BY osm_id;
CREATE UNIQUE INDEX ON way_tags (osm_id);

ALTER TABLE osm_import.ways
    ADD COLUMN highway text,                      -- OSM highway=* class
    ADD COLUMN speed_kmh double precision,        -- ambulance speed used for cost_s, 0 = closed
    ADD COLUMN osm2pgr_cost_s double precision,   -- osm2pgrouting's own costs (50 km/h), kept
    ADD COLUMN osm2pgr_reverse_cost_s double precision;  -- for cross-checks with its docs

UPDATE osm_import.ways w
   SET highway = c.tag_value,
       osm2pgr_cost_s = w.cost_s,
       osm2pgr_reverse_cost_s = w.reverse_cost_s
  FROM osm_import.configuration c
 WHERE c.tag_id = w.tag_id;

-- Classes the speed table does not know are undrivable: say so.
DO $$
DECLARE
    missing text;
BEGIN
    SELECT string_agg(DISTINCT coalesce(w.highway, '?'), ', ') INTO missing
      FROM osm_import.ways w
     WHERE NOT EXISTS (SELECT 1 FROM road_speeds s WHERE s.highway = w.highway);
    IF missing IS NOT NULL THEN
        RAISE WARNING 'no speed in speeds.conf for highway class(es) %: imported as undrivable',
            missing;
    END IF;
END $$;

WITH f AS (
    SELECT w.gid,
           s.speed_kmh AS class_kmh,
           -- a tagged maxspeed ("50", "30 mph") can only lower the class speed
           CASE WHEN t.tags->>'maxspeed' ~ '^\s*[0-9]+(\.[0-9]+)?\s*$'
                THEN (t.tags->>'maxspeed')::double precision
                WHEN t.tags->>'maxspeed' ~ '^\s*[0-9]+(\.[0-9]+)?\s*mph\s*$'
                THEN substring(t.tags->>'maxspeed' FROM '[0-9]+(?:\.[0-9]+)?')::double precision
                     * 1.609344
           END AS tagged_kmh,
           (SELECT coalesce(exp(sum(ln(x.factor))), 1)
              FROM road_speed_factors x WHERE x.tag = '*') AS all_factor,
           (SELECT coalesce(min(x.factor), 1)
              FROM road_speed_factors x
             WHERE x.tag <> '*'
               AND t.tags->>split_part(x.tag, '=', 1) = substr(x.tag, strpos(x.tag, '=') + 1))
               AS tag_factor
      FROM osm_import.ways w
      LEFT JOIN road_speeds s ON s.highway = w.highway
      LEFT JOIN way_tags t ON t.osm_id = w.osm_id
)
UPDATE osm_import.ways w
   SET speed_kmh = coalesce(CASE WHEN f.tagged_kmh > 0 THEN least(f.class_kmh, f.tagged_kmh)
                                 ELSE f.class_kmh END * f.all_factor * f.tag_factor, 0)
  FROM f
 WHERE f.gid = w.gid;

-- A direction osm2pgrouting closed (one-way street: negative cost) stays closed; an undrivable
-- class closes both. -1 is the closed marker (pgRouting skips negative costs).
UPDATE osm_import.ways
   SET cost_s = CASE WHEN speed_kmh > 0 AND osm2pgr_cost_s >= 0
                     THEN length_m * 3.6 / speed_kmh ELSE -1 END,
       reverse_cost_s = CASE WHEN speed_kmh > 0 AND osm2pgr_reverse_cost_s >= 0
                             THEN length_m * 3.6 / speed_kmh ELSE -1 END;

-- ---- the road graph: swap ----------------------------------------------------------------------

DROP TABLE IF EXISTS osm_import.pointsofinterest;
DROP TABLE IF EXISTS public.ways, public.ways_vertices_pgr, public.configuration;
ALTER TABLE osm_import.ways SET SCHEMA public;
ALTER TABLE osm_import.ways_vertices_pgr SET SCHEMA public;
ALTER TABLE osm_import.configuration SET SCHEMA public;
CREATE INDEX ways_osm_id_idx ON public.ways (osm_id);
CREATE INDEX ways_source_idx ON public.ways (source);
CREATE INDEX ways_target_idx ON public.ways (target);

INSERT INTO road_graph (id, source, source_sha256, bbox, config_sha256, edges, vertices)
SELECT 1, :'source', :'source_sha256', nullif(:'bbox', ''), :'config_sha256',
       (SELECT count(*) FROM public.ways), (SELECT count(*) FROM public.ways_vertices_pgr)
ON CONFLICT (id) DO UPDATE
   SET source = EXCLUDED.source, source_sha256 = EXCLUDED.source_sha256, bbox = EXCLUDED.bbox,
       config_sha256 = EXCLUDED.config_sha256, edges = EXCLUDED.edges,
       vertices = EXCLUDED.vertices, imported_at = now()
 WHERE (road_graph.source, road_graph.source_sha256, road_graph.bbox, road_graph.config_sha256,
        road_graph.edges, road_graph.vertices)
       IS DISTINCT FROM
       (EXCLUDED.source, EXCLUDED.source_sha256, EXCLUDED.bbox, EXCLUDED.config_sha256,
        EXCLUDED.edges, EXCLUDED.vertices);

-- ---- points: one row per OSM object, areas as a point inside them --------------------------------

CREATE TEMP TABLE osm_objects ON COMMIT DROP AS
SELECT DISTINCT ON (oid)
       oid, tags, ST_PointOnSurface(g)::geography(Point, 4326) AS geom
  FROM (SELECT 'osm:' || left(doc->'properties'->>'@type', 1) || (doc->'properties'->>'@id')
                   AS oid,
               doc->'properties' AS tags,
               ST_SetSRID(ST_GeomFromGeoJSON(doc->'geometry'), 4326) AS g
          FROM osm_features
         WHERE doc->'properties' ?| array['place', 'amenity', 'emergency']) o
 -- a closed way comes both as a line and as an area: keep the area
 ORDER BY oid, ST_Dimension(g) DESC;

CREATE FUNCTION pg_temp.osm_name(tags jsonb, fallback text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(nullif(tags->>'name', ''), nullif(tags->>'name:zh', ''),
                    nullif(tags->>'name:en', ''), nullif(tags->>'official_name', ''), fallback)
$$;

-- ---- places -------------------------------------------------------------------------------------

-- Nodes and ways only: boundary relations often repeat the place node's tags. The pinyin
-- initials come from name_initials (name -> initials), which the script filled with
-- deploy/osm/pinyin_initials.py for every name tag; a name it has no row for gets NULL.
CREATE TEMP TABLE new_places ON COMMIT DROP AS
SELECT p.*, ni.initials
  FROM (SELECT o.oid AS id,
               pg_temp.osm_name(o.tags, (o.tags->>'place') || ' ' || o.oid) AS name,
               o.tags->>'place' AS place,
               CASE WHEN regexp_replace(o.tags->>'population', '[ ,]', '', 'g') ~ '^[0-9]{1,9}$'
                    THEN regexp_replace(o.tags->>'population', '[ ,]', '', 'g')::integer END
                   AS population,
               pt.area_class, pt.demand, o.geom
          FROM osm_objects o
          JOIN place_types pt ON pt.place = o.tags->>'place'
         WHERE o.oid NOT LIKE 'osm:r%') p
  LEFT JOIN name_initials ni ON ni.name = p.name;

-- deploy/import-osm.sh --town-polygon: the polygon (temporary table town_polygon, empty without
-- the option) decides the area class instead of the place type: town inside (boundary
-- included), countryside outside. Done before the upsert, so a repeated import changes no row.
UPDATE new_places n
   SET area_class = CASE WHEN EXISTS (SELECT 1 FROM town_polygon t
                                       WHERE ST_Covers(t.geom, n.geom::geometry))
                         THEN 'town' ELSE 'countryside' END
 WHERE EXISTS (SELECT 1 FROM town_polygon);

INSERT INTO places (id, name, place, population, area_class, demand, geom, initials, source)
SELECT id, name, place, population, area_class, demand, geom, initials, 'osm' FROM new_places
ON CONFLICT (id) DO UPDATE
   SET name = EXCLUDED.name, place = EXCLUDED.place, population = EXCLUDED.population,
       area_class = EXCLUDED.area_class, demand = EXCLUDED.demand, geom = EXCLUDED.geom,
       initials = EXCLUDED.initials, updated_at = now()
 WHERE places.source = 'osm'
   AND (places.name, places.place, places.population, places.area_class, places.demand,
        ST_AsBinary(places.geom), places.initials)
       IS DISTINCT FROM
       (EXCLUDED.name, EXCLUDED.place, EXCLUDED.population, EXCLUDED.area_class,
        EXCLUDED.demand, ST_AsBinary(EXCLUDED.geom), EXCLUDED.initials);

DELETE FROM places p
 WHERE p.source = 'osm' AND NOT EXISTS (SELECT 1 FROM new_places n WHERE n.id = p.id);

-- ---- hospitals and ambulance stations -------------------------------------------------------------

CREATE TEMP TABLE new_pois ON COMMIT DROP AS
SELECT 'hospitals'::text AS target, o.oid AS id, o.tags->>'amenity' AS kind,
       pg_temp.osm_name(o.tags, (o.tags->>'amenity') || ' ' || o.oid) AS name, o.geom, o.tags
  FROM osm_objects o
 WHERE o.tags->>'amenity' IN ('hospital', 'clinic', 'doctors')
UNION ALL
SELECT 'stations', o.oid, 'ambulance_station',
       pg_temp.osm_name(o.tags, 'ambulance station ' || o.oid), o.geom, o.tags
  FROM osm_objects o
 WHERE o.tags->>'emergency' = 'ambulance_station';

-- Rows the operator changed (name or position differ from what the import last wrote), or
-- deleted, are reported and left alone.
CREATE TEMP TABLE kept_pois ON COMMIT DROP AS
SELECT n.target, n.id
  FROM new_pois n
  JOIN osm_pois o ON o.target = n.target AND o.id = n.id
  LEFT JOIN (SELECT 'hospitals' AS target, id, name, geom FROM hospitals
             UNION ALL SELECT 'stations', id, name, geom FROM stations) cur
         ON cur.target = n.target AND cur.id = n.id
 WHERE cur.id IS NULL
    OR cur.name IS DISTINCT FROM o.name
    OR ST_AsBinary(cur.geom) IS DISTINCT FROM ST_AsBinary(o.geom);

CREATE TEMP TABLE poi_changes ON COMMIT DROP AS
SELECT n.*
  FROM new_pois n
 WHERE NOT EXISTS (SELECT 1 FROM kept_pois k WHERE k.target = n.target AND k.id = n.id)
   AND NOT EXISTS (SELECT 1 FROM osm_pois o
                    WHERE o.target = n.target AND o.id = n.id AND o.name = n.name
                      AND ST_AsBinary(o.geom) = ST_AsBinary(n.geom));

INSERT INTO hospitals (id, name, geom)
SELECT id, name, geom FROM poi_changes WHERE target = 'hospitals'
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, geom = EXCLUDED.geom, updated_at = now();

INSERT INTO stations (id, name, geom)
SELECT id, name, geom FROM poi_changes WHERE target = 'stations'
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, geom = EXCLUDED.geom;

INSERT INTO osm_pois (target, id, kind, name, geom, tags)
SELECT target, id, kind, name, geom, tags FROM new_pois n
 WHERE NOT EXISTS (SELECT 1 FROM kept_pois k WHERE k.target = n.target AND k.id = n.id)
ON CONFLICT (target, id) DO UPDATE
   SET kind = EXCLUDED.kind, name = EXCLUDED.name, geom = EXCLUDED.geom, tags = EXCLUDED.tags,
       imported_at = now()
 WHERE (osm_pois.kind, osm_pois.name, ST_AsBinary(osm_pois.geom), osm_pois.tags)
       IS DISTINCT FROM
       (EXCLUDED.kind, EXCLUDED.name, ST_AsBinary(EXCLUDED.geom), EXCLUDED.tags);

-- ---- summary (one line, printed by the script) --------------------------------------------------

SELECT format('edges %s, vertices %s, one-way edges %s, undrivable edges %s, places %s, '
              'hospitals %s, stations %s (written %s, left as the operator edited them %s)',
              (SELECT count(*) FROM public.ways),
              (SELECT count(*) FROM public.ways_vertices_pgr),
              (SELECT count(*) FROM public.ways
                WHERE (osm2pgr_cost_s < 0) <> (osm2pgr_reverse_cost_s < 0)),
              (SELECT count(*) FROM public.ways WHERE cost_s < 0 AND reverse_cost_s < 0),
              (SELECT count(*) FROM new_places),
              (SELECT count(*) FROM new_pois WHERE target = 'hospitals'),
              (SELECT count(*) FROM new_pois WHERE target = 'stations'),
              (SELECT count(*) FROM poi_changes),
              (SELECT count(*) FROM kept_pois));
