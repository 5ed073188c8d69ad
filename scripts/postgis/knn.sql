-- pgbench: the 5 manholes nearest to one of the 100 points (GiST <-> kNN), with their geodesic
-- distance (geography), as GET /collections/manholes/nearest?k=5 answers it.
\set i random(0, 99)
SELECT m.*, ST_Distance(m.geom::geography, q.g::geography) AS distance_m FROM bench_postgis.pts p CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326) AS g) q CROSS JOIN LATERAL (SELECT * FROM bench_postgis.manholes m ORDER BY m.geom <-> q.g LIMIT 5) m WHERE p.i = :i;
