-- JT/T 808 terminals: the GPS terminals already fitted to ambulances, reporting through
-- goldline-jt808. One row per terminal: its phone number (the number in every JT/T 808 header),
-- the vehicle it sits in, and the authentication code the gateway hands out at registration
-- (0x8100) and expects at authentication (0x0102).
--
-- phone is canonical: the terminal number's digits without leading zeros, lower-case, so that
-- a 2013 terminal sending 013511221122 and a 2019 one sending 00000000013511221122 are both
-- "13511221122" (the gateway normalises the same way). A few terminals send a non-BCD id
-- (hex digits a-f); those are allowed too.
-- auth_code is sent in clear over TCP by the protocol: it identifies, it does not protect.
-- The default draws 16 hex characters from the server's random(); set one explicitly to
-- reuse the code a terminal already stores.
-- One terminal per vehicle: two would interleave their fixes under one vehicle's seqs.
CREATE TABLE jt808_terminals (
    phone           text PRIMARY KEY CHECK (phone ~ '^([1-9a-f][0-9a-f]{0,19}|0)$'),
    vehicle_id      text NOT NULL UNIQUE REFERENCES vehicles (id),
    auth_code       text NOT NULL
                        DEFAULT substr(md5(random()::text || clock_timestamp()::text), 1, 16)
                        CHECK (auth_code ~ '^[!-~]{1,63}$'),
    registered_at   timestamptz,               -- last successful 0x0100, written by the gateway
    created_at      timestamptz NOT NULL DEFAULT now()
);
