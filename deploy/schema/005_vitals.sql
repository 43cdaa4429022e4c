-- Vital signs and ECG strips from the ambulances, per incident (issue "The ambulance unit on a
-- real 5G link"). Written in batches by the dispatcher with the position history; a unit resends
-- what was not acknowledged, so each row is keyed by what the unit sent (vehicle, seq, ...) and a
-- resend is ON CONFLICT DO NOTHING. Patient data: readable by the dispatcher's role only.
CREATE TABLE vitals_numerics (
    vehicle_id      text NOT NULL,
    seq             bigint NOT NULL,           -- uplink seq of the VitalsNumerics envelope
    incident_id     text,                      -- NULL when the unit served no incident
    mdc_code        integer NOT NULL,          -- ISO/IEEE 11073-10101 (research/clinical.md 5.1)
    value           real,                      -- NULL: measurement not available
    unit_code       integer,
    measured_at     timestamptz NOT NULL,
    received_at     timestamptz NOT NULL,
    PRIMARY KEY (vehicle_id, seq, mdc_code, measured_at)
);
CREATE INDEX vitals_numerics_incident_idx ON vitals_numerics (incident_id, measured_at);

-- One row per EcgFrame as the unit sent it (the protobuf bytes: lead set, rate, scale and the
-- delta-coded samples), with what is needed to find and order strips without decoding them.
CREATE TABLE ecg_strips (
    vehicle_id          text NOT NULL,
    seq                 bigint NOT NULL,
    incident_id         text,
    first_sample_at     timestamptz NOT NULL,
    first_sample_index  bigint,                -- position in the unit's continuous stream
    sample_rate_hz      integer NOT NULL,
    leads               smallint NOT NULL,
    samples_per_lead    integer NOT NULL,
    frame               bytea NOT NULL,        -- goldline.EcgFrame, protobuf
    received_at         timestamptz NOT NULL,
    PRIMARY KEY (vehicle_id, seq)
);
CREATE INDEX ecg_strips_incident_idx ON ecg_strips (incident_id, first_sample_at);
