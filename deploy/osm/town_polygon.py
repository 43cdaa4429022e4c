#!/usr/bin/env python3
"""Reads the GeoJSON of deploy/import-osm.sh --town-polygon and prints its polygons as one line
of JSON: an array of GeoJSON geometries (Polygon or MultiPolygon), which the import loads into
the temporary table town_polygon (ST_GeomFromGeoJSON, SRID 4326).

Accepted: a Polygon or MultiPolygon geometry, a Feature of one, or a FeatureCollection of such
Features (their union is the town). Coordinates are WGS-84 longitude, latitude (GeoJSON order).
Anything else (a Point, a LineString, an empty collection, coordinates out of range, a ring
that is not closed or has fewer than 4 positions) is refused with a message on stderr and exit
status 1, so the import stops before touching the database.

usage: town_polygon.py FILE.geojson
"""
import json
import sys


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def check_ring(ring, where):
    if not isinstance(ring, list) or len(ring) < 4:
        fail(f"{where}: a ring needs at least 4 positions")
    for p in ring:
        if (not isinstance(p, list) or len(p) < 2
                or not all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in p[:2])):
            fail(f"{where}: a position must be [longitude, latitude]")
        if not (-180 <= p[0] <= 180 and -90 <= p[1] <= 90):
            fail(f"{where}: position {p[:2]} is not a WGS-84 longitude, latitude")
    if ring[0][:2] != ring[-1][:2]:
        fail(f"{where}: a ring must end where it starts")


def geometries(obj, where):
    if not isinstance(obj, dict):
        fail(f"{where}: not a GeoJSON object")
    kind = obj.get("type")
    if kind == "FeatureCollection":
        feats = obj.get("features")
        if not isinstance(feats, list) or not feats:
            fail(f"{where}: an empty FeatureCollection")
        out = []
        for i, f in enumerate(feats):
            out += geometries(f, f"{where}: feature {i}")
        return out
    if kind == "Feature":
        return geometries(obj.get("geometry"), where)
    if kind == "Polygon":
        rings = obj.get("coordinates")
        if not isinstance(rings, list) or not rings:
            fail(f"{where}: a Polygon without rings")
        for r in rings:
            check_ring(r, where)
        return [{"type": "Polygon", "coordinates": rings}]
    if kind == "MultiPolygon":
        polys = obj.get("coordinates")
        if not isinstance(polys, list) or not polys:
            fail(f"{where}: a MultiPolygon without polygons")
        for rings in polys:
            if not isinstance(rings, list) or not rings:
                fail(f"{where}: a MultiPolygon member without rings")
            for r in rings:
                check_ring(r, where)
        return [{"type": "MultiPolygon", "coordinates": polys}]
    fail(f"{where}: a {kind} is not a polygon (Polygon, MultiPolygon, Feature or FeatureCollection)")


def main():
    if len(sys.argv) != 2:
        fail("usage: town_polygon.py FILE.geojson")
    try:
        with open(sys.argv[1], encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"not readable GeoJSON: {e}")
    print(json.dumps(geometries(doc, "GeoJSON"), separators=(",", ":")))


if __name__ == "__main__":
    main()
