// UI strings in Chinese (default) and English. Property titles and enumeration labels come from
// /collections/{id}/schema, not from here.

const STRINGS = {
  zh: {
    title: '管城回族区 网格化管理',
    layers: '图层', info: '信息', search: '搜索', locate: '定位', analysis: '分析', stats: '统计',
    lang_switch: 'English',
    grid_cells: '网格', manholes: '窨井盖', pipelines: '地下管网', parks: '公园游园', roads: '道路',
    renovation_areas: '城市更新片区', facilities: '公共设施',
    level_district: '区', level_street: '街道', level_community: '社区', level_grid: '网格',
    tap_feature: '点击地图上的要素查看属性。',
    search_placeholder: '网格编码、街道、社区或公园名称',
    search_go: '搜索', no_results: '没有结果',
    where_am_i: '我在哪个网格', use_my_location: '使用我的位置', tap_point: '在地图上点选',
    tap_point_hint: '请在地图上点选一个位置。', geolocation_failed: '无法获得位置，请在地图上点选。',
    not_in_grid: '该位置不在任何网格内。',
    draw_start: '绘制多边形', draw_finish: '完成', draw_clear: '清除',
    draw_hint: '在地图上依次点击多边形顶点，然后点“完成”。', draw_need3: '至少需要 3 个顶点。',
    vertices: '顶点', region_area: '区域面积',
    collection: '图层', group: '分类', count: '数量', length_km: '长度 (km)', area: '面积',
    download_geojson: '下载 GeoJSON', download_csv: '下载 CSV', search_results: '区域内要素',
    stats_collection: '图层', stats_measure: '指标', stats_level: '层级', stats_show: '显示', stats_hide: '隐藏',
    measure_count: '数量', measure_length_m: '长度 (m)', measure_area_m2: '面积 (m²)',
    loading: '加载中…', error: '出错了', properties: '属性', level: '层级', code: '编码', name: '名称',
    responsible_unit: '责任单位', workers: '网格员', close: '关闭',
    status: '状态', kind: '类型', condition: '状况', class: '等级', other: '其他',
  },
  en: {
    title: 'Guancheng district grid management',
    layers: 'Layers', info: 'Info', search: 'Search', locate: 'Locate', analysis: 'Analysis', stats: 'Statistics',
    lang_switch: '中文',
    grid_cells: 'Grid cells', manholes: 'Manhole covers', pipelines: 'Pipelines', parks: 'Parks', roads: 'Roads',
    renovation_areas: 'Renewal areas', facilities: 'Facilities',
    level_district: 'District', level_street: 'Street', level_community: 'Community', level_grid: 'Grid',
    tap_feature: 'Tap a feature on the map to see its properties.',
    search_placeholder: 'Grid code, street, community or park name',
    search_go: 'Search', no_results: 'No results',
    where_am_i: 'Which grid am I in?', use_my_location: 'Use my location', tap_point: 'Tap a point on the map',
    tap_point_hint: 'Tap a point on the map.', geolocation_failed: 'No location available; tap a point on the map.',
    not_in_grid: 'This point is in no grid cell.',
    draw_start: 'Draw a polygon', draw_finish: 'Finish', draw_clear: 'Clear',
    draw_hint: 'Tap the vertices of a polygon on the map, then “Finish”.', draw_need3: 'At least 3 vertices are needed.',
    vertices: 'vertices', region_area: 'Region area',
    collection: 'Layer', group: 'Group', count: 'Count', length_km: 'Length (km)', area: 'Area',
    download_geojson: 'Download GeoJSON', download_csv: 'Download CSV', search_results: 'Features in the region',
    stats_collection: 'Layer', stats_measure: 'Measure', stats_level: 'Level', stats_show: 'Show', stats_hide: 'Hide',
    measure_count: 'Count', measure_length_m: 'Length (m)', measure_area_m2: 'Area (m²)',
    loading: 'Loading…', error: 'Error', properties: 'Properties', level: 'Level', code: 'Code', name: 'Name',
    responsible_unit: 'Responsible unit', workers: 'Grid workers', close: 'Close',
    status: 'Status', kind: 'Kind', condition: 'Condition', class: 'Class', other: 'other',
  },
};

let current = 'zh';
const listeners = [];

/** The current language, `zh` or `en`. */
export function lang() { return current; }

/** The string of `key` in the current language (the key itself when missing). */
export function t(key) { return STRINGS[current][key] ?? STRINGS.zh[key] ?? key; }

/** Switches language, rewrites every `[data-i18n]` element and tells the listeners. */
export function setLang(next) {
  current = next === 'en' ? 'en' : 'zh';
  document.documentElement.lang = current === 'zh' ? 'zh-CN' : 'en';
  applyTo(document);
  for (const f of listeners) f(current);
}

/** Calls `f(lang)` after every switch. */
export function onLangChange(f) { listeners.push(f); }

/** Fills `[data-i18n]` text and `[data-i18n-placeholder]` placeholders under `root`. */
export function applyTo(root) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
}
