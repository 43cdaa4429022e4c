#!/usr/bin/env python3
"""Places the demo's simulated fleet in a real town, from an OSM XML extract.

Reads the place nodes (city, town, suburb, village) and the hospitals/clinics (nodes, or ways
by the mean of their nodes) of FILE.osm and writes two CSV files for goldline-fleet:
  units.csv      id,lat,lon,kind,capabilities,call_sign  (stations at real places: ALS at the
                 city and towns, one with a transport incubator; BLS in villages)
  hospitals.csv  id,lat,lon,name
When the extract tags no hospital (central Guixi tags none), the city/town places stand in
for them and their names say so. Until the OSM import of the road-network issue lands, this is
the whole of the demo's geography.

usage: osm_demo_fleet.py FILE.osm OUTDIR
"""
import csv
import sys
import xml.etree.ElementTree as ET

KIND_BY_PLACE = {"city": "ALS", "town": "ALS", "suburb": "ALS", "village": "BLS"}


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, out = sys.argv[1], sys.argv[2]
    nodes, places, hospitals = {}, [], []
    for _, el in ET.iterparse(src):
        tags = {t.get("k"): t.get("v") for t in el.findall("tag")}
        if el.tag == "node":
            lat, lon = float(el.get("lat")), float(el.get("lon"))
            nodes[el.get("id")] = (lat, lon)
            if tags.get("place") in KIND_BY_PLACE:
                places.append((tags["place"], tags.get("name", el.get("id")), lat, lon))
        if tags.get("amenity") in ("hospital", "clinic"):
            if el.tag == "node":
                pt = nodes[el.get("id")]
            elif el.tag == "way":
                pts = [nodes[n.get("ref")] for n in el.findall("nd") if n.get("ref") in nodes]
                if not pts:
                    continue
                pt = (sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts))
            else:
                continue
            hospitals.append((tags.get("name", "hospital " + el.get("id")), pt[0], pt[1]))
        if el.tag in ("node", "way", "relation"):
            el.clear()
    if not places:
        sys.exit(f"{src}: no city/town/suburb/village place node to put stations at")
    order = {"city": 0, "town": 1, "suburb": 2, "village": 3}
    places.sort(key=lambda p: (order[p[0]], p[1]))
    with open(f"{out}/units.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "lat", "lon", "kind", "capabilities", "call_sign"])
        n = 0
        for kind_of_place, name, lat, lon in places:
            crews = 2 if kind_of_place == "city" else 1
            for _ in range(crews):
                n += 1
                kind = KIND_BY_PLACE[kind_of_place]
                caps = "ecg12|incubator" if n == 1 else ("ecg12" if kind == "ALS" else "")
                w.writerow([f"GL-{n:02d}", f"{lat:.7f}", f"{lon:.7f}", kind, caps,
                            f"{name}{n:02d}"])
    if not hospitals:
        hospitals = [(f"{name} (stand-in: the extract tags no hospital)", lat, lon)
                     for kind_of_place, name, lat, lon in places
                     if kind_of_place in ("city", "town")]
    with open(f"{out}/hospitals.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "lat", "lon", "name"])
        for i, (name, lat, lon) in enumerate(hospitals, 1):
            w.writerow([f"H{i:02d}", f"{lat:.7f}", f"{lon:.7f}", name])
    print(f"{n} units at {len(places)} places, {len(hospitals)} hospitals")


if __name__ == "__main__":
    main()
