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
    // sessions
    signin: '登录', signin_title: '登录', signout: '退出登录', username: '用户名', password: '密码',
    signin_hint: '账号由管理员在服务器上用 citygrid user add 创建。', signin_missing: '请输入用户名和密码。',
    signin_refused: '用户名或密码不正确，或账号已停用。',
    user_name: '姓名', user_role: '角色', user_unit: '单位', user_cells: '负责网格',
    role_admin: '系统管理员', role_dispatcher: '指挥中心', role_supervisor: '监督中心', role_handler: '责任单位',
    role_worker: '网格员', role_analyst: '分析员', role_viewer: '只读用户',
    network_error: '网络连接失败，请稍后重试',
    problem_400: '输入有误', problem_401: '登录已过期，请重新登录', problem_403: '无权执行此操作',
    problem_404: '未找到', problem_409: '案件已被他人更新，已重新载入最新状态',
    problem_413: '照片太大（每张不超过 10 MB）', problem_415: '照片格式不支持（仅限 JPEG、PNG、WebP）',
    problem_422: '提交的内容无法处理', problem_422_location: '该位置不在本区网格范围内，无法上报',
    problem_429: '尝试次数过多，请稍后再试', problem_other: '服务器出错，请稍后重试',
    // cases
    report: '上报', my_tasks: '我的任务', case: '案件', metrics: '案件评价', cases_layer: '案件',
    state_reported: '待立案', state_filed: '已立案', state_dispatched: '已派遣', state_in_progress: '处置中',
    state_extension_pending: '延期申请中', state_handled: '待核查', state_verified: '待结案', state_closed: '已结案',
    state_returned: '已回退', state_suspended: '挂账', state_voided: '已作废',
    overdue: '已超期', time_left: '剩余', overdue_by: '已超期', no_deadline: '无时限', closed_at: '结案时间', voided_at: '作废时间', closed_on_time: '按期结案', closed_late: '超期结案', report_again: '再报一件', clock_paused: '计时暂停',
    unit_working_hours: '工作时', unit_working_days: '工作日', unit_emergency_hours: '紧急工作时',
    kind_component: '部件', kind_event: '事件',
    channel_api: '接口', channel_tablet: '移动端', channel_open311: 'Open311',
    stage_handle: '处置时限', stage_verify: '核查时限', stage_close: '结案时限',
    report_title: '上报问题', category: '问题类别', category_search: '搜索类别：名称、编码或关键词',
    change: '更改', filing_condition: '立案条件',
    description: '问题描述', description_placeholder: '看到了什么问题？', address: '地址或标志物（可选）', address_short: '地址',
    location: '位置', location_none: '尚未选择位置', report_tap_hint: '请在地图上点选问题位置（标记可拖动调整）。',
    photos: '照片（最多 6 张）', take_photo: '拍照或选择照片', photo: '照片', remove: '移除',
    too_many_photos: '最多 6 张照片。', photo_too_large: '照片太大（每张不超过 10 MB），已忽略。',
    report_submit: '提交上报', report_reset: '清空', sending: '正在提交…',
    category_missing: '请选择问题类别。', description_missing: '请填写问题描述。', location_missing: '请选择位置：使用我的位置或在地图上点选。',
    reported_case: '已上报：案件', grid_chain: '所在网格', probable_duplicates: '附近可能重复的案件',
    suggested_asset: '建议关联部件', show_on_map: '在地图上查看', open_case: '查看案件',
    asset_nearby: '附近部件', asset_confirm: '关联此部件', asset_confirmed: '✓ 已确认关联', linked_asset: '已关联部件',
    asset_collection: '部件图层', asset_id: '部件编号（留空则取消关联）', asset_suggest: '查找附近部件',
    asset_none_nearby: '附近没有可关联的部件。', asset_cleared: '已取消关联部件', asset_id_missing: '请填写部件编号，或确认取消关联。',
    refresh: '刷新', no_tasks: '暂无任务', live_open: '● 实时更新', live_connecting: '○ 正在连接…', live_closed: '',
    assigned_unit: '处置单位', reporter: '上报人', withheld: '（不公开）', reported_at: '上报时间', handle_due: '处置时限',
    time_limits: '时限', asset: '关联部件', rework_count: '返工次数', extension_count: '延期次数',
    merged_into: '合并到', merged_duplicates: '已合并的重复案件', report_photos: '上报照片',
    actions: '可执行操作', no_actions: '您当前无可执行的操作。', timeline: '处理过程', deadline: '当前时限',
    dispatched_to: '派遣至', extension_amount: '延期时长', dispatch_unit: '派遣单位', merge_into: '合并到案件编号',
    note_required: '说明（必填）', note_optional: '说明（可选）', confirm: '确认', cancel: '取消',
    note_missing: '此操作需要填写说明。', unit_missing: '请填写派遣单位。', amount_invalid: '请填写大于 0 的延期时长。',
    into_missing: '请填写要合并到的案件编号。', action_done: '已完成', action_gone: '案件状态已变化，该操作已不可执行。',
    // metrics
    group_by: '分组', group_street: '街道', group_community: '社区', group_grid: '网格', group_unit: '责任单位', group_category: '类别',
    date_from: '开始日期', date_to: '结束日期', metrics_show: '查询', total: '合计', none: '（无）',
    m_received: '受理数', m_filed: '立案数', m_due: '应结案数', m_closed: '结案数', m_closure_rate: '结案率',
    m_on_time_rate: '按期结案率', m_rework_rate: '返工率', m_extension_rate: '延期率',
    m_median_hours_to_close: '结案中位时长(小时)', m_overdue_now: '当前超期',
    metrics_note: '应结案数：时限已到或已结案的派遣案件；率的分母为 0 时显示“—”。',
    metrics_nothing_due: '该时段内没有应结案的案件。', metrics_chart: '结案率与按期结案率',
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
    signin: 'Sign in', signin_title: 'Sign in', signout: 'Sign out', username: 'User name', password: 'Password',
    signin_hint: 'Accounts are created on the server by an administrator (citygrid user add).', signin_missing: 'Enter your user name and password.',
    signin_refused: 'Wrong user name or password, or the account is disabled.',
    user_name: 'Name', user_role: 'Role', user_unit: 'Unit', user_cells: 'Grid cells',
    role_admin: 'Administrator', role_dispatcher: 'Dispatcher (command centre)', role_supervisor: 'Supervisor (supervision centre)',
    role_handler: 'Unit handler', role_worker: 'Grid worker', role_analyst: 'Analyst', role_viewer: 'Viewer',
    network_error: 'The network failed; try again later',
    problem_400: 'Invalid input', problem_401: 'Your session has expired; sign in again', problem_403: 'You may not do this',
    problem_404: 'Not found', problem_409: 'Someone else changed the case first; it was reloaded',
    problem_413: 'Photo too large (10 MB at most each)', problem_415: 'Unsupported photo format (JPEG, PNG or WebP only)',
    problem_422: 'The report cannot be processed', problem_422_location: 'This place is outside the district’s grid; it cannot be reported',
    problem_429: 'Too many attempts; try again later', problem_other: 'Server error; try again later',
    report: 'Report', my_tasks: 'My tasks', case: 'Case', metrics: 'Evaluation', cases_layer: 'Cases',
    state_reported: 'reported', state_filed: 'filed', state_dispatched: 'dispatched', state_in_progress: 'in progress',
    state_extension_pending: 'extension pending', state_handled: 'handled, to verify', state_verified: 'verified, to close', state_closed: 'closed',
    state_returned: 'returned', state_suspended: 'suspended', state_voided: 'voided',
    overdue: 'overdue', time_left: 'left:', overdue_by: 'overdue by', no_deadline: 'no deadline', closed_at: 'Closed', voided_at: 'Voided', closed_on_time: 'on time', closed_late: 'late', report_again: 'Report another', clock_paused: 'clock paused',
    unit_working_hours: 'working hours', unit_working_days: 'working days', unit_emergency_hours: 'emergency hours',
    kind_component: 'Component', kind_event: 'Event',
    channel_api: 'API', channel_tablet: 'tablet', channel_open311: 'Open311',
    stage_handle: 'Handling limit', stage_verify: 'Verification limit', stage_close: 'Closing limit',
    report_title: 'Report a problem', category: 'Category', category_search: 'Search categories: name, code or keyword',
    change: 'Change', filing_condition: 'Filed when',
    description: 'Description', description_placeholder: 'What is wrong?', address: 'Address or landmark (optional)', address_short: 'Address',
    location: 'Location', location_none: 'No location chosen yet', report_tap_hint: 'Tap the place of the problem on the map (the marker can be dragged).',
    photos: 'Photos (up to 6)', take_photo: 'Take or choose photos', photo: 'Photo', remove: 'Remove',
    too_many_photos: 'At most 6 photos.', photo_too_large: 'Photo too large (10 MB at most each); left out.',
    report_submit: 'Send report', report_reset: 'Clear', sending: 'Sending…',
    category_missing: 'Choose a category.', description_missing: 'Describe the problem.', location_missing: 'Choose the location: use my location or tap the map.',
    reported_case: 'Reported: case', grid_chain: 'Grid cells', probable_duplicates: 'Probable duplicates nearby',
    suggested_asset: 'Suggested asset', show_on_map: 'Show on map', open_case: 'Open the case',
    asset_nearby: 'Asset nearby', asset_confirm: 'Link this asset', asset_confirmed: '✓ Linked on sending', linked_asset: 'Linked asset',
    asset_collection: 'Asset layer', asset_id: 'Asset id (empty: clear the link)', asset_suggest: 'Find the asset nearby',
    asset_none_nearby: 'No asset nearby.', asset_cleared: 'Asset link cleared', asset_id_missing: 'Enter the asset id, or confirm clearing the link.',
    refresh: 'Refresh', no_tasks: 'No tasks', live_open: '● live', live_connecting: '○ connecting…', live_closed: '',
    assigned_unit: 'Assigned unit', reporter: 'Reporter', withheld: '(withheld)', reported_at: 'Reported at', handle_due: 'Handling deadline',
    time_limits: 'Time limits', asset: 'Asset', rework_count: 'Rework', extension_count: 'Extensions',
    merged_into: 'Merged into', merged_duplicates: 'Merged duplicates', report_photos: 'Photos of the report',
    actions: 'Actions', no_actions: 'There is nothing you can do on this case now.', timeline: 'Timeline', deadline: 'Deadline',
    dispatched_to: 'Dispatched to', extension_amount: 'Extension', dispatch_unit: 'Unit to dispatch to', merge_into: 'Merge into case number',
    note_required: 'Note (required)', note_optional: 'Note (optional)', confirm: 'Confirm', cancel: 'Cancel',
    note_missing: 'This action needs a note.', unit_missing: 'Enter the unit to dispatch to.', amount_invalid: 'Enter an extension greater than 0.',
    into_missing: 'Enter the number of the case to merge into.', action_done: 'Done', action_gone: 'The case changed; that action is no longer possible.',
    group_by: 'Group by', group_street: 'Street', group_community: 'Community', group_grid: 'Grid cell', group_unit: 'Unit', group_category: 'Category',
    date_from: 'From', date_to: 'To', metrics_show: 'Show', total: 'Total', none: '(none)',
    m_received: 'Received', m_filed: 'Filed', m_due: 'Due', m_closed: 'Closed', m_closure_rate: 'Closure rate',
    m_on_time_rate: 'On-time rate', m_rework_rate: 'Rework rate', m_extension_rate: 'Extension rate',
    m_median_hours_to_close: 'Median hours to close', m_overdue_now: 'Overdue now',
    metrics_note: 'Due: dispatched cases whose deadline has passed or that were closed; a rate with nothing to divide by shows “—”.',
    metrics_nothing_due: 'No case was due in this period.', metrics_chart: 'Closure and on-time closure rates',
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
