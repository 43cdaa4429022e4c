-- Road closures and slowdowns (docs/api.md: road.close, road.slow, road.open;
-- dispatcher/api_roads.h). Each row is the journal op that set the closure, as the dispatcher
-- recorded it: what was marked (OSM way ids, or a line drawn on the map), the factor (0 closed,
-- else a travel-time multiplier), reason, expiry and creator. The dispatcher applies them again
-- at start on the road graph it loads then (a re-import that renumbers the graph does not move
-- a closure); a reopening deletes the row. Expired rows are ignored at start.
CREATE TABLE road_closures (
    id          text PRIMARY KEY,
    op          jsonb NOT NULL CHECK (op->>'t' = 'closure' AND op->>'action' = 'set'),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
