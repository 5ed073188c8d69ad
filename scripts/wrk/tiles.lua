-- wrk script for vector tiles: cycles through the 76 non-empty z14 tiles of 4 layers (grid
-- cells, roads, pipelines, manholes) over the demo district (seed 42, scale 1; the same tiles as
-- benches/tiles.rs), each thread from its own starting tile. Against a server started with
-- CITYGRID_TILE_CACHE_MB=0 every request renders its tile; with the cache, all are hits after
-- the first round. Rows before columns, as in the OGC path: {row, column}.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")

local tiles = {
  {6502, 13369}, {6502, 13370}, {6502, 13371}, {6502, 13372}, {6503, 13364}, {6503, 13365}, {6503, 13366}, {6503, 13367},
  {6503, 13368}, {6503, 13369}, {6503, 13370}, {6503, 13371}, {6503, 13372}, {6503, 13373}, {6504, 13364}, {6504, 13365},
  {6504, 13366}, {6504, 13367}, {6504, 13368}, {6504, 13369}, {6504, 13370}, {6504, 13371}, {6504, 13372}, {6504, 13373},
  {6504, 13374}, {6505, 13364}, {6505, 13365}, {6505, 13366}, {6505, 13367}, {6505, 13368}, {6505, 13369}, {6505, 13370},
  {6505, 13371}, {6505, 13372}, {6505, 13373}, {6506, 13364}, {6506, 13365}, {6506, 13366}, {6506, 13367}, {6506, 13368},
  {6506, 13369}, {6506, 13370}, {6506, 13371}, {6506, 13372}, {6506, 13373}, {6507, 13364}, {6507, 13365}, {6507, 13366},
  {6507, 13367}, {6507, 13368}, {6507, 13369}, {6507, 13370}, {6507, 13371}, {6507, 13372}, {6508, 13364}, {6508, 13365},
  {6508, 13366}, {6508, 13367}, {6508, 13368}, {6508, 13369}, {6508, 13370}, {6508, 13371}, {6509, 13364}, {6509, 13365},
  {6509, 13366}, {6509, 13367}, {6509, 13368}, {6509, 13369}, {6509, 13370}, {6509, 13371}, {6510, 13367}, {6510, 13368},
  {6510, 13369}, {6510, 13370}, {6511, 13368}, {6511, 13369},
}

local counter = 0

function init(args)
  counter = math.random(0, #tiles - 1)
end

function request()
  counter = counter + 1
  local t = tiles[(counter % #tiles) + 1]
  return wrk.format("GET", string.format(
    "/tiles/WebMercatorQuad/14/%d/%d?collections=grid_cells,roads,pipelines,manholes", t[1], t[2]))
end
