// The map's layers on citygrid's own vector tiles (one MVT layer per collection, see
// src/tiles/rules.rs for which features appear from which zoom) and the legend of each.
// No symbol (text) layers: there is no glyph server offline; names are shown in the panel.

export const MANHOLE_STATUS = {
  intact: '#2e7d32', damaged: '#e65100', missing: '#c62828', displaced: '#6a1b9a', sunken: '#795548', rattling: '#f9a825',
};
export const PIPELINE_KIND = {
  gas: '#f9a825', water: '#1565c0', sewage: '#6d4c41', rain: '#26a69a', heat: '#d84315', power: '#c2185b', telecom: '#7cb342',
};
export const FACILITY_KIND = {
  public_toilet: '#00838f', sanitation_transfer_station: '#5d4037', civil_air_defence: '#455a64', parking: '#3949ab',
  school: '#f57c00', kindergarten: '#c0a000', hospital: '#d32f2f', fitness_path: '#43a047',
};
export const ROAD_CLASS = { arterial: ['#8d8d8d', 5], secondary: ['#a0a0a0', 3.5], branch: ['#b5b5b5', 2], alley: ['#c8c8c8', 1] };
export const GRID_LEVEL = {
  district: ['#b71c1c', 3.5], street: ['#1a237e', 2.2], community: ['#3f51b5', 1.2], grid: ['#7986cb', 0.7],
};
export const PARK_COLOR = '#66bb6a';
export const RENOVATION_COLOR = '#ef6c00';

const match = (property, table, fallback) => ['match', ['get', property], ...Object.entries(table).flat(), fallback];
const src = (layer) => ({ source: 'citygrid', 'source-layer': layer });

/** A diagonal hatch pattern for renovation areas, drawn once into an image. */
export function hatchImage() {
  const size = 12;
  const data = new Uint8Array(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const on = (x + y) % size < 2;
      const i = (y * size + x) * 4;
      data.set(on ? [239, 108, 0, 200] : [239, 108, 0, 25], i);
    }
  }
  return { width: size, height: size, data };
}

/** The style layers, bottom to top. */
export function styleLayers() {
  return [
    { id: 'background', type: 'background', paint: { 'background-color': '#f4f1ea' } },
    { id: 'parks-fill', type: 'fill', ...src('parks'), paint: { 'fill-color': PARK_COLOR, 'fill-opacity': 0.55 } },
    { id: 'parks-outline', type: 'line', ...src('parks'), paint: { 'line-color': '#2e7d32', 'line-width': 1 } },
    { id: 'renovation-fill', type: 'fill', ...src('renovation_areas'), paint: { 'fill-pattern': 'hatch' } },
    { id: 'renovation-outline', type: 'line', ...src('renovation_areas'), paint: { 'line-color': RENOVATION_COLOR, 'line-width': 1.5, 'line-dasharray': [3, 2] } },
    { id: 'grid-fill', type: 'fill', ...src('grid_cells'), filter: ['==', ['get', 'level'], 'grid'], paint: { 'fill-color': '#ffffff', 'fill-opacity': 0 } },
    { id: 'roads-line', type: 'line', ...src('roads'), layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: { 'line-color': match('class', Object.fromEntries(Object.entries(ROAD_CLASS).map(([k, v]) => [k, v[0]])), '#bbbbbb'),
        'line-width': ['interpolate', ['linear'], ['zoom'], 10, ['*', 0.4, match('class', Object.fromEntries(Object.entries(ROAD_CLASS).map(([k, v]) => [k, v[1]])), 1)], 16, ['*', 2, match('class', Object.fromEntries(Object.entries(ROAD_CLASS).map(([k, v]) => [k, v[1]])), 1)]] } },
    ...['grid', 'community', 'street', 'district'].map((level) => ({
      id: `grid-${level}`, type: 'line', ...src('grid_cells'), filter: ['==', ['get', 'level'], level],
      paint: { 'line-color': GRID_LEVEL[level][0], 'line-width': GRID_LEVEL[level][1], ...(level === 'community' ? { 'line-dasharray': [4, 2] } : {}) },
    })),
    { id: 'pipelines-line', type: 'line', ...src('pipelines'), filter: ['!=', ['get', 'condition'], 'needs_renovation'],
      paint: { 'line-color': match('kind', PIPELINE_KIND, '#888888'),
        'line-width': ['case', ['==', ['get', 'condition'], 'aging'], 3.5, 1.5] } },
    { id: 'pipelines-renovate', type: 'line', ...src('pipelines'), filter: ['==', ['get', 'condition'], 'needs_renovation'],
      paint: { 'line-color': match('kind', PIPELINE_KIND, '#888888'), 'line-width': 4, 'line-dasharray': [2, 1] } },
    { id: 'facilities-circle', type: 'circle', ...src('facilities'),
      paint: { 'circle-color': match('kind', FACILITY_KIND, '#607d8b'), 'circle-radius': 7, 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 2 } },
    { id: 'manholes-circle', type: 'circle', ...src('manholes'),
      paint: { 'circle-color': match('status', MANHOLE_STATUS, '#9e9e9e'),
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 13, 3, 17, 7],
        'circle-stroke-color': '#ffffff', 'circle-stroke-width': 1 } },
  ];
}

/** The layer list: each entry toggles its style layers and shows a legend keyed by a property. */
export const LAYER_GROUPS = [
  { collection: 'grid_cells', layers: ['grid-fill', 'grid-grid', 'grid-community', 'grid-street', 'grid-district'],
    legend: { property: 'level', shape: 'line', colors: Object.fromEntries(Object.entries(GRID_LEVEL).map(([k, v]) => [k, v[0]])) } },
  { collection: 'manholes', layers: ['manholes-circle'], legend: { property: 'status', shape: 'circle', colors: MANHOLE_STATUS } },
  { collection: 'pipelines', layers: ['pipelines-line', 'pipelines-renovate'], legend: { property: 'kind', shape: 'line', colors: PIPELINE_KIND },
    note: { property: 'condition', codes: ['aging', 'needs_renovation'] } },
  { collection: 'roads', layers: ['roads-line'], legend: { property: 'class', shape: 'line', colors: Object.fromEntries(Object.entries(ROAD_CLASS).map(([k, v]) => [k, v[0]])) } },
  { collection: 'parks', layers: ['parks-fill', 'parks-outline'], legend: { shape: 'fill', color: PARK_COLOR } },
  { collection: 'renovation_areas', layers: ['renovation-fill', 'renovation-outline'], legend: { shape: 'hatch', color: RENOVATION_COLOR } },
  { collection: 'facilities', layers: ['facilities-circle'], legend: { property: 'kind', shape: 'circle', colors: FACILITY_KIND } },
];

/** Style layers a tap may select, most specific first. */
export const PICKABLE = ['manholes-circle', 'facilities-circle', 'pipelines-renovate', 'pipelines-line', 'roads-line',
  'renovation-fill', 'parks-fill', 'grid-fill'];

/** Colours of open case states (closed and voided cases are not drawn). */
export const CASE_STATE = {
  reported: '#1e88e5', filed: '#3949ab', dispatched: '#8e24aa', in_progress: '#fb8c00', extension_pending: '#f06292',
  handled: '#00897b', verified: '#7cb342', returned: '#6d4c41', suspended: '#757575',
};
export const OVERDUE_COLOR = '#d50000';

/** The cases layer on the `cases` GeoJSON source: a red ring under overdue cases, then the cases. */
export function caseLayers() {
  return [
    { id: 'cases-overdue', type: 'circle', source: 'cases', filter: ['==', ['get', 'overdue'], true],
      paint: { 'circle-radius': 16, 'circle-color': 'rgba(213,0,0,0.18)', 'circle-stroke-color': OVERDUE_COLOR, 'circle-stroke-width': 3 } },
    { id: 'cases-circle', type: 'circle', source: 'cases',
      paint: { 'circle-color': match('state', CASE_STATE, '#9e9e9e'), 'circle-radius': 9, 'circle-stroke-color': '#1d232a', 'circle-stroke-width': 2 } },
  ];
}
