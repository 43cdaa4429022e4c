-- goldline core schema: fleet, incidents and their append-only timeline, position history,
-- audit log. Applied once by the dispatcher at start (recorded in schema_migrations), inside one
-- transaction. Every time is timestamptz (UTC inside PostgreSQL); geography columns are
-- WGS-84 points with GiST indexes.

CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TABLE stations (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    geom        geography(Point, 4326) NOT NULL
);
CREATE INDEX stations_geom_idx ON stations USING gist (geom);

CREATE TABLE hospitals (
    id              text PRIMARY KEY,
    name            text NOT NULL,
    geom            geography(Point, 4326) NOT NULL,
    -- pci, stroke_ivt, stroke_evt, trauma, obstetric, neonatal
    capabilities    text[] NOT NULL DEFAULT '{}',
    cath_lab_ready  boolean NOT NULL DEFAULT true,
    ct_ready        boolean NOT NULL DEFAULT true,
    on_diversion    boolean NOT NULL DEFAULT false,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX hospitals_geom_idx ON hospitals USING gist (geom);

CREATE TABLE vehicles (
    id              text PRIMARY KEY,
    call_sign       text NOT NULL,
    station_id      text REFERENCES stations (id),
    kind            text NOT NULL CHECK (kind IN ('ALS', 'BLS')),
    -- e.g. ecg12, incubator, ventilator, bariatric
    capabilities    text[] NOT NULL DEFAULT '{}',
    active          boolean NOT NULL DEFAULT true,
    -- live state, written by the dispatcher so that a restart finds it again
    status          text NOT NULL DEFAULT 'available' CHECK (status IN ('available', 'dispatched',
                        'en_route', 'on_scene', 'transporting', 'at_hospital', 'returning',
                        'out_of_service')),
    status_at       timestamptz,
    incident_id     text,
    last_geom       geography(Point, 4326),
    last_fix_at     timestamptz,
    last_speed_mps  real,
    last_heading_deg real,
    -- highest uplink seq made durable: a restarted dispatcher refuses anything at or below it
    last_uplink_seq bigint NOT NULL DEFAULT 0,
    -- highest downlink seq sent to the unit, so a restart continues above it
    last_downlink_seq bigint NOT NULL DEFAULT 0,
    -- Assignment/Cancel messages the unit had not acknowledged: sent again after a restart
    pending_downlink jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX vehicles_last_geom_idx ON vehicles USING gist (last_geom);

CREATE TABLE incidents (
    id              text PRIMARY KEY,          -- YYYYMMDD-NNNN, county local date
    day             integer NOT NULL,          -- YYYYMMDD
    day_seq         integer NOT NULL,
    created_at      timestamptz NOT NULL,
    geom            geography(Point, 4326) NOT NULL,
    complaint       text NOT NULL CHECK (complaint IN ('chest_pain', 'stroke', 'trauma',
                        'obstetric', 'newborn', 'other')),
    priority        smallint NOT NULL CHECK (priority BETWEEN 1 AND 4),
    onset_at        timestamptz,               -- symptom onset / last known well
    caller_number   text,
    address         text,
    notes           text,
    state           text NOT NULL CHECK (state IN ('new', 'dispatched', 'en_route', 'on_scene',
                        'transporting', 'at_hospital', 'closed', 'cancelled')),
    vehicle_id      text REFERENCES vehicles (id),
    updated_at      timestamptz NOT NULL,
    UNIQUE (day, day_seq)
);
CREATE INDEX incidents_geom_idx ON incidents USING gist (geom);
CREATE INDEX incidents_open_idx ON incidents (state) WHERE state NOT IN ('closed', 'cancelled');

-- The append-only timeline. (incident_id, seq) is assigned by the dispatcher, which makes every
-- write idempotent: a replayed write is ON CONFLICT DO NOTHING.
CREATE TABLE incident_events (
    incident_id     text NOT NULL REFERENCES incidents (id),
    seq             integer NOT NULL,
    at              timestamptz NOT NULL,      -- when it happened (by its source's clock)
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    kind            text NOT NULL,
    source          text NOT NULL,             -- operator | unit | dispatcher
    vehicle_id      text,
    detail          jsonb,
    PRIMARY KEY (incident_id, seq)
);

-- Position history, partitioned by day; rows whose day has no partition land in the default
-- partition rather than being lost. gl_ensure_position_partition() is called by the dispatcher
-- for today and tomorrow at start and daily.
CREATE TABLE vehicle_positions (
    vehicle_id      text NOT NULL,
    seq             bigint NOT NULL,           -- the uplink seq of the envelope
    fix_at          timestamptz NOT NULL,
    received_at     timestamptz NOT NULL,
    geom            geography(Point, 4326) NOT NULL,
    speed_mps       real,
    heading_deg     real,
    hdop            real,
    late            boolean NOT NULL DEFAULT false  -- older than the live position when it came
) PARTITION BY RANGE (fix_at);
CREATE TABLE vehicle_positions_default PARTITION OF vehicle_positions DEFAULT;
CREATE INDEX vehicle_positions_vehicle_idx ON vehicle_positions (vehicle_id, fix_at);
-- A unit resends what was not acknowledged: the same fix must not be stored twice.
CREATE UNIQUE INDEX vehicle_positions_once_idx ON vehicle_positions (vehicle_id, seq, fix_at);

CREATE FUNCTION gl_ensure_position_partition(d date) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    name text := 'vehicle_positions_' || to_char(d, 'YYYYMMDD');
BEGIN
    IF to_regclass(name) IS NULL THEN
        EXECUTE format('CREATE TABLE %I PARTITION OF vehicle_positions FOR VALUES FROM (%L) TO (%L)',
                       name, d::timestamptz, (d + 1)::timestamptz);
    END IF;
    RETURN name;
EXCEPTION WHEN check_violation OR invalid_object_definition THEN
    -- the default partition already holds rows of that day: they stay there
    RETURN 'vehicle_positions_default';
END $$;

-- Who did what through the API (patient data is never copied here: ids and actions only).
CREATE TABLE audit_log (
    id              bigserial PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    actor           text NOT NULL,
    action          text NOT NULL,
    target          text,
    detail          jsonb
);

-- How far the dispatcher's journal (var/journal/) has been copied into this database. Each
-- journal record is written in one transaction together with the advance of applied_lsn, and
-- gl_journal_advance() refuses to skip a record, so PostGIS holds a gapless prefix of the
-- journal and a restart replays exactly the rest.
CREATE TABLE journal_state (
    id              integer PRIMARY KEY CHECK (id = 1),
    applied_lsn     bigint NOT NULL
);
INSERT INTO journal_state VALUES (1, 0);

CREATE FUNCTION gl_journal_advance(lsn bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    cur bigint;
BEGIN
    SELECT applied_lsn INTO cur FROM journal_state WHERE id = 1 FOR UPDATE;
    IF lsn <= cur THEN
        RAISE EXCEPTION 'journal record % already applied (at %)', lsn, cur
            USING ERRCODE = 'unique_violation';
    END IF;
    IF cur <> 0 AND lsn <> cur + 1 THEN
        RAISE EXCEPTION 'journal record % would skip % (applied up to %)', lsn, cur + 1, cur
            USING ERRCODE = 'data_exception';
    END IF;
    UPDATE journal_state SET applied_lsn = lsn WHERE id = 1;
END $$;
