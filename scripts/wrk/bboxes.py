#!/usr/bin/env python3
"""Prints the Lua table of query boxes used by scripts/wrk/items-bbox.lua.

Deterministic: the old-town box around 113.675,34.755 first, then boxes centred at positions drawn
by Python's Mersenne Twister (seed 42) in the district's bounding rectangle and kept when inside
the boundary in data/reference/guancheng_boundary.geojson. Every box is about 200 m x 200 m.
Regenerate with: python3 scripts/wrk/bboxes.py > /tmp/boxes.lua (and paste over the table).
"""
import json
import pathlib
import random

COUNT = 100
EDGE_M = 200.0
M_PER_DEG_LAT = 110_950.0  # at 34.7 deg N
M_PER_DEG_LON = 91_540.0  # 111 320 m x cos(34.7 deg)
ROOT = pathlib.Path(__file__).resolve().parents[2]


def polygons():
    doc = json.loads((ROOT / "data/reference/guancheng_boundary.geojson").read_text())
    features = doc["features"] if doc["type"] == "FeatureCollection" else [doc]
    for feature in features:
        geometry = feature["geometry"]
        if geometry["type"] == "Polygon":
            yield geometry["coordinates"]
        elif geometry["type"] == "MultiPolygon":
            yield from geometry["coordinates"]


def in_ring(x, y, ring):
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1]):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def main():
    shapes = [[[tuple(c[:2]) for c in ring] for ring in p] for p in polygons()]

    def inside(x, y):
        return any(
            in_ring(x, y, p[0]) and not any(in_ring(x, y, hole) for hole in p[1:])
            for p in shapes
        )

    half_lon, half_lat = EDGE_M / 2 / M_PER_DEG_LON, EDGE_M / 2 / M_PER_DEG_LAT
    centres = [(113.675, 34.755)]
    rng = random.Random(42)
    while len(centres) < COUNT:
        x, y = rng.uniform(113.65, 113.86), rng.uniform(34.62, 34.76)
        if inside(x, y):
            centres.append((x, y))
    print("local boxes = {")
    for x, y in centres:
        print(f'  "{x - half_lon:.6f},{y - half_lat:.6f},{x + half_lon:.6f},{y + half_lat:.6f}",')
    print("}")


if __name__ == "__main__":
    main()
