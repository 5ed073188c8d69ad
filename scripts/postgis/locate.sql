-- pgbench: the chain of current cells containing one of the 100 points of scripts/wrk/spatial.lua
-- (GiST index on grid_cells.geom), as GET /grid/locate answers it.
\set i random(0, 99)
SELECT g.level, g.code, g.name, g.responsible_unit, g.workers FROM bench_postgis.grid_cells g, bench_postgis.pts p WHERE p.i = :i AND g.valid_to IS NULL AND ST_Intersects(g.geom, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326));
