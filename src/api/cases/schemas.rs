//! The shapes of the case routes' JSON, for the OpenAPI document: each describes exactly what
//! a handler writes (required: always present; `Option`: may be null or absent). The bodies
//! are built where the handlers are; these types are never constructed.

use serde::Serialize;
use utoipa::ToSchema;

/// One cell of a case's grid chain.
#[derive(Serialize, ToSchema)]
#[schema(as = caseCell)]
pub(crate) struct CaseCell {
    /// `district`, `street`, `community` or `grid`.
    level: String,
    /// The cell's code.
    code: String,
    /// The cell's name.
    name: String,
}

/// A feature of a collection.
#[derive(Serialize, ToSchema)]
#[schema(as = assetRef)]
pub(crate) struct AssetRef {
    /// The collection.
    collection: String,
    /// The feature id.
    id: String,
}

/// A case with its state labels and whether it is overdue now.
#[derive(Serialize, ToSchema)]
#[schema(as = case)]
pub(crate) struct CaseJson {
    id: i64,
    version: i64,
    /// A code from /cases/categories.
    category: String,
    state: String,
    state_zh: String,
    state_en: String,
    /// The state to return to when a pause ends.
    resume_state: Option<String>,
    description: String,
    address: Option<String>,
    /// WGS84 longitude, degrees.
    lon: f64,
    /// WGS84 latitude, degrees.
    lat: f64,
    /// The grid chain the case lies in, outermost first.
    cells: Vec<CaseCell>,
    responsible_unit: Option<String>,
    assigned_unit: Option<String>,
    asset: Option<AssetRef>,
    /// Photo ids.
    photos: Vec<String>,
    /// Who reported (`withheld` unless the reader may see it).
    reporter: String,
    channel: String,
    reported_at: String,
    filed_at: Option<String>,
    dispatched_at: Option<String>,
    handled_at: Option<String>,
    verified_at: Option<String>,
    closed_at: Option<String>,
    due_at: Option<String>,
    handle_due_at: Option<String>,
    on_time: Option<bool>,
    rework_count: u32,
    extension_count: u32,
    merged_into: Option<i64>,
    updated_at: String,
    /// Past its deadline now.
    overdue: bool,
}

/// A listing of cases.
#[derive(Serialize, ToSchema)]
#[schema(as = caseList)]
pub(crate) struct CaseList {
    /// How many cases match in all.
    number_matched: u64,
    /// How many are in this page.
    number_returned: u64,
    cases: Vec<CaseJson>,
}

/// A GeoJSON point.
#[derive(Serialize, ToSchema)]
pub(crate) struct PointGeometry {
    /// `Point`.
    #[schema(rename = "type")]
    kind: String,
    /// Longitude and latitude (WGS84).
    coordinates: Vec<f64>,
}

/// The properties of a case as a map feature.
#[derive(Serialize, ToSchema)]
pub(crate) struct CaseFeatureProperties {
    id: i64,
    category: String,
    state: String,
    state_zh: String,
    description: String,
    /// The most specific cell code.
    cell: Option<String>,
    assigned_unit: Option<String>,
    reported_at: String,
    due_at: Option<String>,
    overdue: bool,
}

/// A case as a GeoJSON feature.
#[derive(Serialize, ToSchema)]
pub(crate) struct CaseFeature {
    /// `Feature`.
    #[schema(rename = "type")]
    kind: String,
    id: i64,
    geometry: PointGeometry,
    properties: CaseFeatureProperties,
}

/// A listing of cases as a GeoJSON feature collection (`f=geojson`).
#[derive(Serialize, ToSchema)]
#[schema(as = caseFeatureCollection)]
pub(crate) struct CaseFeatureCollection {
    /// `FeatureCollection`.
    #[schema(rename = "type")]
    kind: String,
    #[schema(rename = "numberMatched")]
    number_matched: u64,
    #[schema(rename = "numberReturned")]
    number_returned: u64,
    features: Vec<CaseFeature>,
}

/// An open case of the same category near a new report.
#[derive(Serialize, ToSchema)]
pub(crate) struct DuplicateHint {
    id: i64,
    state: String,
    /// Geodesic distance, metres.
    distance_m: f64,
}

/// The nearest feature of the category's layer.
#[derive(Serialize, ToSchema)]
pub(crate) struct AssetSuggestion {
    collection: String,
    id: String,
    /// Geodesic distance, metres.
    distance_m: f64,
}

/// A link to the case.
#[derive(Serialize, ToSchema)]
pub(crate) struct CaseLink {
    href: String,
    rel: String,
    #[schema(rename = "type")]
    media_type: String,
}

/// A report's outcome.
#[derive(Serialize, ToSchema)]
#[schema(as = reportedCase)]
pub(crate) struct Reported {
    case: CaseJson,
    /// Open cases of the category within 50 m.
    probable_duplicates: Vec<DuplicateHint>,
    /// The asset within 15 m the report may be about.
    suggested_asset: Option<AssetSuggestion>,
    links: Vec<CaseLink>,
}

/// An action the caller may take.
#[derive(Serialize, ToSchema)]
pub(crate) struct AllowedAction {
    action: String,
    label_zh: String,
    label_en: String,
    needs_note: bool,
}

/// The case page.
#[derive(Serialize, ToSchema)]
#[schema(as = casePage)]
pub(crate) struct CasePage {
    case: CaseJson,
    /// The case's category (null when no longer in the catalogue).
    #[schema(value_type = Option<Object>)]
    category: Option<()>,
    /// The log, oldest first, with action and state labels.
    #[schema(value_type = Vec<Object>)]
    log: Vec<()>,
    /// Its deadlines.
    #[schema(value_type = Object)]
    schedule: (),
    overdue: bool,
    allowed_actions: Vec<AllowedAction>,
    /// Cases merged into this one.
    merged_duplicates: Vec<i64>,
    /// Where the photos are: this and a photo id.
    photo_base: String,
}

/// A case after an action.
#[derive(Serialize, ToSchema)]
#[schema(as = actedCase)]
pub(crate) struct Acted {
    case: CaseJson,
}

/// An overdue case: a case and how late it is.
#[derive(Serialize, ToSchema)]
pub(crate) struct OverdueCase {
    #[serde(flatten)]
    case: CaseJson,
    /// Hours past the deadline, to a tenth.
    overdue_hours: Option<f64>,
}

/// The open cases past their deadline.
#[derive(Serialize, ToSchema)]
#[schema(as = overdueCases)]
pub(crate) struct OverdueList {
    as_of: String,
    number_matched: u64,
    cases: Vec<OverdueCase>,
}

/// A task: a case and what the caller may do with it.
#[derive(Serialize, ToSchema)]
pub(crate) struct Task {
    #[serde(flatten)]
    case: CaseJson,
    allowed_actions: Vec<String>,
}

/// The caller's tasks.
#[derive(Serialize, ToSchema)]
#[schema(as = tasks)]
pub(crate) struct TaskList {
    user: String,
    role: String,
    tasks: Vec<Task>,
}

/// One line of the hazard register.
#[derive(Serialize, ToSchema)]
pub(crate) struct HazardLine {
    asset: AssetRef,
    /// Its cases in the period, newest first.
    case_ids: Vec<i64>,
    case_count: u64,
    open_cases: u64,
    categories: Vec<String>,
    first_reported_at: String,
    last_reported_at: String,
    responsible_unit: Option<String>,
    cell: Option<String>,
    /// `open`, `in_progress` or `rectified`.
    rectification: String,
    rectification_zh: String,
    /// The asset's properties, when the asset is in the catalogue.
    #[schema(value_type = Option<Object>)]
    asset_properties: Option<()>,
}

/// The hazard register (隐患清单).
#[derive(Serialize, ToSchema)]
#[schema(as = hazards)]
#[expect(clippy::struct_field_names, reason = "the members of the JSON answer")]
pub(crate) struct Hazards {
    since: String,
    min_cases: f64,
    hazards: Vec<HazardLine>,
}

/// The metrics of a group or of all cases.
#[derive(Serialize, ToSchema)]
pub(crate) struct MetricsRow {
    key: String,
    name: String,
    received: u64,
    filed: u64,
    dispatched: u64,
    due: u64,
    closed: u64,
    closed_on_time: u64,
    handled: u64,
    reworked: u64,
    extended: u64,
    overdue_now: u64,
    closure_rate: Option<f64>,
    on_time_rate: Option<f64>,
    rework_rate: Option<f64>,
    extension_rate: Option<f64>,
    median_hours_to_close: Option<f64>,
}

/// An evaluation.
#[derive(Serialize, ToSchema)]
#[schema(as = caseMetrics)]
pub(crate) struct Metrics {
    from: String,
    to: String,
    as_of: String,
    group_by: Option<String>,
    definitions: String,
    groups: Vec<MetricsRow>,
    total: MetricsRow,
}

/// The case categories.
#[derive(Serialize, ToSchema)]
#[schema(as = caseCategories)]
pub(crate) struct Categories {
    /// Each category with its conditions, unit kind, time limits and `time_unit_zh`.
    #[schema(value_type = Vec<Object>)]
    categories: Vec<()>,
}

/// The suggested asset of a report.
#[derive(Serialize, ToSchema)]
#[schema(as = suggestedAsset)]
pub(crate) struct Suggested {
    suggested_asset: Option<AssetSuggestion>,
}

/// A holiday on a weekday.
#[derive(Serialize, ToSchema)]
pub(crate) struct Holiday {
    date: String,
    name: Option<String>,
}

/// A weekend day worked to make up for a holiday.
#[derive(Serialize, ToSchema)]
pub(crate) struct MakeUpDay {
    date: String,
}

/// A year of the working calendar.
#[derive(Serialize, ToSchema)]
#[schema(as = workingCalendar)]
pub(crate) struct Calendar {
    year: i32,
    /// Whether the calendar knows the year's holidays.
    covered: bool,
    /// How the year's holidays are known (null when not covered).
    status: Option<String>,
    timezone: String,
    /// `HH:MM-HH:MM` spans.
    working_hours: Vec<String>,
    holidays_on_weekdays: Vec<Holiday>,
    make_up_working_days: Vec<MakeUpDay>,
}

/// An uploaded photo.
#[derive(Serialize, ToSchema)]
#[schema(as = photo)]
pub(crate) struct UploadedPhoto {
    /// The photo id (its SHA-256).
    id: String,
    sha256: String,
    media_type: String,
    bytes: u64,
    href: String,
}

/// A report as JSON (photos uploaded before with POST /photos).
#[derive(Serialize, ToSchema)]
#[schema(as = newReport)]
pub(crate) struct ReportBody {
    /// A code from /cases/categories.
    category: String,
    lon: f64,
    lat: f64,
    /// wgs84 (the default), gcj02 or bd09.
    crs: Option<String>,
    #[schema(max_length = 2000)]
    description: String,
    address: Option<String>,
    /// Ids returned by POST /photos.
    #[schema(max_items = 6)]
    photos: Option<Vec<String>>,
    asset: Option<AssetRef>,
    /// api (the default) or tablet.
    channel: Option<String>,
}

/// A report as a tablet form.
#[derive(Serialize, ToSchema)]
pub(crate) struct ReportForm {
    category: String,
    lon: f64,
    lat: f64,
    crs: Option<String>,
    description: String,
    address: Option<String>,
    asset_collection: Option<String>,
    asset_id: Option<String>,
    /// Up to six pictures.
    #[schema(value_type = Option<Vec<String>>, format = Binary, max_items = 6)]
    photo: Option<()>,
}

/// An action on a case.
#[derive(Serialize, ToSchema)]
#[schema(as = caseAction)]
pub(crate) struct ActionBody {
    /// The action.
    action: String,
    note: Option<String>,
    photos: Option<Vec<String>>,
    /// dispatch: the unit (default: the responsible unit).
    unit: Option<String>,
    /// `request_extension` / `approve_extension`: time in the category's unit.
    amount: Option<f64>,
    /// merge: the open case this one duplicates.
    into: Option<i64>,
    /// `link_asset` (required there): the asset to link, or null to clear the link.
    asset: Option<AssetRef>,
    /// The version the caller saw.
    version: Option<i64>,
}

/// A photo as a form of one file part.
#[derive(Serialize, ToSchema)]
pub(crate) struct PhotoForm {
    #[schema(value_type = String, format = Binary)]
    photo: (),
}
