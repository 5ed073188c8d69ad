-- psql: manholes per current grid cell and status at scale 3 (111,305 manholes), the join behind
-- GET /grid/stats recomputed; timed three times, then the number of (cell, manhole) pairs.
\timing on
SELECT g.code, m.status, count(*) FROM bench_postgis.grid_cells_s3 g JOIN bench_postgis.manholes_s3 m ON ST_Intersects(g.geom, m.geom) WHERE g.level = 'grid' AND g.valid_to IS NULL GROUP BY 1, 2 \g /dev/null
SELECT g.code, m.status, count(*) FROM bench_postgis.grid_cells_s3 g JOIN bench_postgis.manholes_s3 m ON ST_Intersects(g.geom, m.geom) WHERE g.level = 'grid' AND g.valid_to IS NULL GROUP BY 1, 2 \g /dev/null
SELECT g.code, m.status, count(*) FROM bench_postgis.grid_cells_s3 g JOIN bench_postgis.manholes_s3 m ON ST_Intersects(g.geom, m.geom) WHERE g.level = 'grid' AND g.valid_to IS NULL GROUP BY 1, 2 \g /dev/null
SELECT count(*) FROM bench_postgis.grid_cells_s3 g JOIN bench_postgis.manholes_s3 m ON ST_Intersects(g.geom, m.geom) WHERE g.level = 'grid' AND g.valid_to IS NULL;
