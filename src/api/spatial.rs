//! The spatial questions of grid management, one handler each beside its request types:
//!
//! | handler | route | request |
//! | --- | --- | --- |
//! | [`locate_point`] | `GET /grid/locate` | [`LocateQuery`] |
//! | [`locate_points`] | `POST /grid/locate` | [`LocateBody`] |
//! | [`grid_stats`] | `GET /grid/stats` | [`StatsQuery`] |
//! | [`nearest_features`] | `GET /collections/{collectionId}/nearest` | [`NearestQuery`] |
//! | [`search_features`] | `POST /search` | [`SearchQuery`], [`SearchBody`] |
//! | [`summarize`] | `POST /analysis/summary` | [`SummaryBody`] |
//!
//! Input coordinates are WGS84 unless `crs` says `gcj02` or `bd09` (converted at this edge);
//! output is always WGS84. Lengths are metres, areas m², geodesic. Bodies are JSON objects of
//! at most [`MAX_BODY_BYTES`] whose members are checked one by one ([`JsonMembers`]), so that
//! each problem names the member at fault; `/search` and `/analysis/summary` run on the
//! bounded analysis pool.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Path, Request, State};
use axum::response::Response;
use chrono::NaiveDate;
use geo::{Geometry, MultiPolygon};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{FromQuery, Query, QueryParams};
use super::openapi::{
    AnalysisBusy, AnalysisTimedOut, BadRequest, NotFound, PayloadTooLarge, ServerError,
    Unauthorized, UnsupportedMediaType,
};
use super::{ApiError, AppState, media, with_type};
use crate::filter::{Filter, FilterLang};
use crate::index::measure::Region;
use crate::index::predicate::Predicate;
use crate::index::validity::{self, ValidityError};
use crate::model::complexity::{self, MAX_QUERY_PARTS, MAX_QUERY_RINGS, MAX_QUERY_VERTICES};
use crate::model::crs::InputCrs;
use crate::model::geometry::{self, GeometryFamily};
use crate::model::temporal::today_in_china;
use crate::model::{Feature, PropertyValue};
use crate::service::analysis::{Budget, Interrupted};
use crate::service::grid::{CellStats, Level, Measures};
use crate::service::items::MAX_LIMIT;
use crate::service::spatial::{self, Search, Target};
use crate::service::{Collection, StatsRequest};

/// The spatial questions of grid management: nearest, locate, statistics, search, summary.
pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(nearest_features))
        .routes(routes!(locate_point, locate_points))
        .routes(routes!(grid_stats))
        .routes(routes!(search_features))
        .routes(routes!(summarize))
}

/// Largest request body accepted by the POST endpoints, bytes.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Largest number of points in one `POST /grid/locate`.
pub const MAX_LOCATE_POINTS: usize = 10_000;
/// Largest `k` of `nearest`.
pub const MAX_K: usize = 1_000;

/// `raw` as a finite number; otherwise a 400 naming `name` and saying `allowed`.
fn finite(raw: &str, name: &str, allowed: &str) -> Result<f64, ApiError> {
    raw.parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .ok_or_else(|| ApiError::invalid(name, raw, allowed, "not a number"))
}

/// Whether the format `f` is GeoJSON (`geojson`) rather than plain JSON (`json`, the default).
fn geojson_requested(f: Option<&str>) -> Result<bool, ApiError> {
    match f {
        None | Some("json") => Ok(false),
        Some("geojson") => Ok(true),
        Some(other) => Err(ApiError::invalid(
            "f",
            other,
            "json or geojson",
            "unknown format",
        )),
    }
}

pub(crate) fn check_known(pairs: &[(String, String)], allowed: &[&str]) -> Result<(), ApiError> {
    if let Some((name, _)) = pairs.iter().find(|(n, _)| !allowed.contains(&n.as_str())) {
        return Err(ApiError::UnknownParameter {
            parameter: name.clone(),
            allowed: allowed.iter().map(|s| (*s).to_owned()).collect(),
        });
    }
    Ok(())
}

pub(crate) fn crs_param(raw: Option<&str>) -> Result<InputCrs, ApiError> {
    raw.map_or(Ok(InputCrs::Wgs84), |raw| {
        InputCrs::parse(raw).ok_or_else(|| {
            ApiError::invalid(
                "crs",
                raw,
                "wgs84, gcj02 or bd09",
                "unknown coordinate system",
            )
        })
    })
}

pub(crate) fn date_param(raw: Option<&str>, name: &str) -> Result<NaiveDate, ApiError> {
    raw.map_or(Ok(today_in_china()), |raw| {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .map_err(|_| ApiError::invalid(name, raw, "a date YYYY-MM-DD", "not a date"))
    })
}

/// A validated WGS84 position from `lon`/`lat` given in `crs`.
pub(crate) fn position(
    lon: f64,
    lat: f64,
    crs: InputCrs,
    what: &str,
) -> Result<(f64, f64), ApiError> {
    if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
        return Err(ApiError::invalid(
            what,
            &format!("{lon},{lat}"),
            "longitude -180..180 and latitude -90..90",
            "out of range",
        ));
    }
    Ok(crs.to_wgs84(lon, lat))
}

pub(crate) async fn read_json(body: Body) -> Result<Value, ApiError> {
    let bytes: Bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|e| super::error::body_error(&e, MAX_BODY_BYTES))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::invalid("body", "", "a JSON object", e.to_string()))
}

pub(crate) fn object(body: &Value) -> Result<&Map<String, Value>, ApiError> {
    body.as_object()
        .ok_or_else(|| ApiError::invalid("body", "", "a JSON object", "not an object"))
}

pub(crate) fn reject_unknown_members(
    body: &Map<String, Value>,
    allowed: &[&str],
) -> Result<(), ApiError> {
    check_known(
        &body
            .keys()
            .map(|k| (k.clone(), String::new()))
            .collect::<Vec<_>>(),
        allowed,
    )
}

// --- request types ----------------------------------------------------------------------------

/// The coordinate systems `crs` names (see [`crs_param`], which also takes a few aliases).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[expect(dead_code, reason = "documents the values crs_param reads")]
enum CrsName {
    Wgs84,
    Gcj02,
    Bd09,
}

/// The levels of the grid.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[expect(dead_code, reason = "documents the names Level::parse reads")]
enum LevelName {
    Grid,
    Community,
    Street,
    District,
}

/// The one format of an answer that is JSON only.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[expect(dead_code, reason = "documents the value of f")]
enum JsonOnly {
    Json,
}

/// The formats of an answer in JSON or GeoJSON.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[expect(dead_code, reason = "documents the values of f")]
enum JsonOrGeoJson {
    Json,
    Geojson,
}

/// The formats of `/search`.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[expect(dead_code, reason = "documents the values of f")]
enum SearchFormat {
    Json,
    Geojson,
    Csv,
}

/// The spatial predicates of `/search`.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[expect(dead_code, reason = "documents the names Predicate::parse reads")]
enum PredicateName {
    Intersects,
    Within,
    Contains,
    Disjoint,
}

/// A required finite number `name`; otherwise a 400 saying `allowed`.
fn required_number(query: &mut QueryParams, name: &str, allowed: &str) -> Result<f64, ApiError> {
    query
        .parse_with(name, |raw| finite(raw, name, allowed))?
        .ok_or_else(|| ApiError::invalid(name, "", allowed, "missing"))
}

/// The query of `GET /grid/locate`: a point, its coordinate system and the day.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LocateQuery {
    /// Longitude, degrees
    #[param(example = 113.68)]
    lon: f64,
    /// Latitude, degrees
    #[param(example = 34.75)]
    lat: f64,
    /// The CRS of lon and lat: WGS84, or GCJ-02 / BD-09 as Chinese web maps give them
    /// (converted before use)
    #[param(value_type = Option<CrsName>, inline, default = "wgs84")]
    crs: InputCrs,
    /// The day whose valid cells are used (YYYY-MM-DD; default: today, China time)
    #[param(value_type = Option<String>, format = Date, example = "2025-06-01")]
    at: NaiveDate,
    /// The format: JSON, the only one (any value is taken as JSON)
    #[param(value_type = Option<JsonOnly>, inline)]
    #[expect(dead_code, reason = "accepted and ignored: JSON is the only format")]
    f: (),
}

impl FromQuery for LocateQuery {
    fn from_query(query: &mut QueryParams) -> Result<Self, ApiError> {
        let lon = required_number(query, "lon", "a longitude in degrees")?;
        let lat = required_number(query, "lat", "a latitude in degrees")?;
        let crs = crs_param(query.get("crs"))?;
        let at = date_param(query.get("at"), "at")?;
        position(lon, lat, crs, "lon,lat")?;
        query.get("f");
        Ok(Self {
            lon,
            lat,
            crs,
            at,
            f: (),
        })
    }
}

impl LocateQuery {
    /// The point in WGS84 (its range was checked when parsed).
    fn point(&self) -> (f64, f64) {
        self.crs.to_wgs84(self.lon, self.lat)
    }
}

/// The query of `GET /collections/{collectionId}/nearest`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct NearestQuery {
    /// Longitude, degrees
    #[param(example = 113.68)]
    lon: f64,
    /// Latitude, degrees
    #[param(example = 34.75)]
    lat: f64,
    /// How many features, nearest first
    #[param(value_type = Option<usize>, minimum = 1, maximum = 1000, default = 5)]
    k: usize,
    /// Only features within this many metres
    #[param(minimum = 0)]
    max_distance_m: Option<f64>,
    /// The CRS of lon and lat: WGS84, or GCJ-02 / BD-09 as Chinese web maps give them
    /// (converted before use)
    #[param(value_type = Option<CrsName>, inline, default = "wgs84")]
    crs: InputCrs,
    /// The format: GeoJSON whichever is named (any value is taken as GeoJSON)
    #[param(value_type = Option<JsonOrGeoJson>, inline)]
    #[expect(dead_code, reason = "accepted and ignored: GeoJSON is the only format")]
    f: (),
}

impl FromQuery for NearestQuery {
    fn from_query(query: &mut QueryParams) -> Result<Self, ApiError> {
        let lon = required_number(query, "lon", "a longitude in degrees")?;
        let lat = required_number(query, "lat", "a latitude in degrees")?;
        let crs = crs_param(query.get("crs"))?;
        position(lon, lat, crs, "lon,lat")?;
        let k = query
            .parse_with("k", |raw| {
                raw.parse::<usize>()
                    .ok()
                    .filter(|k| (1..=MAX_K).contains(k))
                    .ok_or_else(|| {
                        ApiError::invalid(
                            "k",
                            raw,
                            format!("an integer from 1 to {MAX_K}"),
                            "not an allowed count",
                        )
                    })
            })?
            .unwrap_or(5);
        let max_distance_m = query.parse_with("max_distance_m", |raw| {
            finite(raw, "max_distance_m", "metres ≥ 0")
        })?;
        if let Some(d) = max_distance_m.filter(|d| *d < 0.0) {
            return Err(ApiError::invalid(
                "max_distance_m",
                &d.to_string(),
                "metres ≥ 0",
                "negative",
            ));
        }
        query.get("f");
        Ok(Self {
            lon,
            lat,
            k,
            max_distance_m,
            crs,
            f: (),
        })
    }
}

impl NearestQuery {
    /// The point in WGS84 (its range was checked when parsed).
    fn point(&self) -> (f64, f64) {
        self.crs.to_wgs84(self.lon, self.lat)
    }
}

/// The query of `GET /grid/stats`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct StatsQuery {
    /// The level of the cells the figures are given for
    #[param(value_type = Option<LevelName>, inline, default = "grid")]
    level: Level,
    /// The collection measured
    #[param(example = "manholes")]
    collection: String,
    /// Comma-separated properties of the collection to break the figures down by
    #[param(value_type = Option<Vec<String>>, style = Form, explode = false)]
    group_by: Vec<String>,
    /// The day whose valid cells are used (YYYY-MM-DD; default: today, China time)
    #[param(value_type = Option<String>, format = Date, example = "2025-06-01")]
    at: NaiveDate,
    /// json: rows; geojson: the cells with their figures
    #[param(rename = "f", value_type = Option<JsonOrGeoJson>, inline)]
    geojson: bool,
}

impl FromQuery for StatsQuery {
    fn from_query(query: &mut QueryParams) -> Result<Self, ApiError> {
        let level = query
            .parse_with("level", |raw| {
                Level::parse(raw)
                    .filter(|l| *l != Level::District || raw == "district")
                    .ok_or_else(|| {
                        ApiError::invalid(
                            "level",
                            raw,
                            "grid, community, street or district",
                            "unknown level",
                        )
                    })
            })?
            .unwrap_or(Level::Grid);
        let collection = query
            .get("collection")
            .ok_or_else(|| ApiError::invalid("collection", "", "a collection id", "missing"))?
            .to_owned();
        let group_by = query
            .get("group_by")
            .map(|g| g.split(',').map(str::to_owned).collect())
            .unwrap_or_default();
        Ok(Self {
            level,
            collection,
            group_by,
            at: date_param(query.get("at"), "at")?,
            geojson: geojson_requested(query.get("f"))?,
        })
    }
}

impl StatsQuery {
    /// The collection measured, and the properties its figures are broken down by.
    fn collection(&self, state: &AppState) -> Result<(Arc<Collection>, Vec<String>), ApiError> {
        let collection = state.catalog.collection(&self.collection).map_err(|_| {
            ApiError::invalid(
                "collection",
                &self.collection,
                "ids listed by /collections",
                "unknown collection",
            )
        })?;
        let group_by = checked_group_by(self.group_by.clone(), &collection)?;
        Ok((collection, group_by))
    }
}

/// The query of `POST /search`: the format.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SearchQuery {
    /// GeoJSON (`json` or `geojson`, the default) or CSV with the geometry as WKT
    #[param(rename = "f", value_type = Option<SearchFormat>, inline)]
    csv: bool,
}

impl FromQuery for SearchQuery {
    fn from_query(query: &mut QueryParams) -> Result<Self, ApiError> {
        let csv = match query.get("f") {
            None | Some("json" | "geojson") => false,
            Some("csv") => true,
            Some(other) => {
                return Err(ApiError::invalid(
                    "f",
                    other,
                    "json, geojson or csv",
                    "unknown format",
                ));
            }
        };
        Ok(Self { csv })
    }
}

/// A JSON object body of at most [`MAX_BODY_BYTES`] with only the members `T` names, each
/// kept as sent for `T`'s own checks, whose problems name the member at fault.
pub(crate) struct JsonMembers<T> {
    /// The members.
    members: T,
    /// The body as sent (`/search` repeats it in its links).
    raw: Value,
}

/// A request body read by [`JsonMembers`].
pub(crate) trait Members: DeserializeOwned {
    /// The members allowed, in the order an unknown member's problem lists them.
    const NAMES: &'static [&'static str];
}

impl<S: Send + Sync, T: Members> FromRequest<S> for JsonMembers<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, ApiError> {
        let raw = read_json(request.into_body()).await?;
        reject_unknown_members(object(&raw)?, T::NAMES)?;
        let members = T::deserialize(&raw)
            .map_err(|e| ApiError::invalid("body", "", "a JSON object", e.to_string()))?;
        Ok(Self { members, raw })
    }
}

/// A member as sent, `null` included (absent is `None`).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// The body of `POST /grid/locate`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LocateBody {
    /// The points, `[lon, lat]` each, at most 10,000
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Vec<Vec<f64>>, max_items = 10000, required = true)]
    points: Option<Value>,
    /// The CRS of the points (default wgs84)
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<CrsName>, inline)]
    crs: Option<Value>,
    /// The day whose valid cells are used (YYYY-MM-DD; default: today, China time)
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Date, example = "2025-06-01")]
    at: Option<Value>,
}

impl Members for LocateBody {
    const NAMES: &'static [&'static str] = &["points", "crs", "at"];
}

impl LocateBody {
    /// The points in WGS84 and the day.
    fn points(&self) -> Result<(Vec<(f64, f64)>, NaiveDate), ApiError> {
        let crs = crs_param(self.crs.as_ref().and_then(Value::as_str))?;
        let day = date_param(self.at.as_ref().and_then(Value::as_str), "at")?;
        let points = self
            .points
            .as_ref()
            .and_then(Value::as_array)
            .ok_or_else(|| {
                ApiError::invalid(
                    "points",
                    "",
                    "an array of [lon, lat] pairs",
                    "missing or not an array",
                )
            })?;
        if points.len() > MAX_LOCATE_POINTS {
            return Err(ApiError::invalid(
                "points",
                &points.len().to_string(),
                format!("at most {MAX_LOCATE_POINTS} points"),
                "too many points",
            ));
        }
        let points = points
            .iter()
            .enumerate()
            .map(|(i, point)| {
                let pair = point
                    .as_array()
                    .filter(|p| p.len() == 2)
                    .and_then(|p| Some((p[0].as_f64()?, p[1].as_f64()?)));
                let (lon, lat) = pair.ok_or_else(|| {
                    ApiError::invalid(
                        &format!("points[{i}]"),
                        &point.to_string(),
                        "[lon, lat]",
                        "not a pair of numbers",
                    )
                })?;
                position(lon, lat, crs, &format!("points[{i}]"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((points, day))
    }
}

/// The body of `POST /search`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchBody {
    /// The collections searched (one id, or several, each once)
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Vec<String>, required = true)]
    collections: Option<Value>,
    /// A GeoJSON geometry (at most 20000 vertices, 500 parts and 1000 rings)
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Object, required = true)]
    intersects: Option<Value>,
    /// How the features relate to the geometry (default intersects)
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<PredicateName>, inline)]
    predicate: Option<Value>,
    /// Features within this many metres of the geometry instead (0 to 100000)
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<f64>, minimum = 0, maximum = 100_000)]
    within_distance_m: Option<Value>,
    /// CQL2 text or JSON over the collections' queryables
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Value>)]
    filter: Option<Value>,
    /// The properties to return (all when absent)
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>)]
    properties: Option<Value>,
    /// The page size (default 100, at most 10000)
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<usize>, minimum = 1)]
    limit: Option<Value>,
    /// The number of matching features to skip (the next link sets it)
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<usize>, minimum = 0)]
    offset: Option<Value>,
    /// The CRS of the geometry (default wgs84)
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<CrsName>, inline)]
    crs: Option<Value>,
}

impl Members for SearchBody {
    const NAMES: &'static [&'static str] = &[
        "collections",
        "intersects",
        "predicate",
        "within_distance_m",
        "filter",
        "properties",
        "limit",
        "offset",
        "crs",
    ];
}

/// The body of `POST /analysis/summary`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SummaryBody {
    /// The collections measured (one id, or several, each once)
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Vec<String>, required = true)]
    collections: Option<Value>,
    /// A GeoJSON Polygon or MultiPolygon (at most 20000 vertices, 500 parts and 1000 rings)
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Object, required = true)]
    intersects: Option<Value>,
    /// Properties to break the figures down by: a list for every collection, or an object of
    /// lists by collection id
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Value>)]
    group_by: Option<Value>,
    /// CQL2 text or JSON over the collections' queryables
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Value>)]
    filter: Option<Value>,
    /// The CRS of the geometry (default wgs84)
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<CrsName>, inline)]
    crs: Option<Value>,
}

impl Members for SummaryBody {
    const NAMES: &'static [&'static str] =
        &["collections", "intersects", "group_by", "filter", "crs"];
}

// --- answers ----------------------------------------------------------------------------------

/// A grid cell of a locate chain (its properties, `null` where the cell has none).
#[derive(ToSchema)]
#[schema(as = locatedCell)]
#[expect(dead_code, reason = "documents the JSON CellJson writes")]
struct LocatedCell {
    #[schema(inline)]
    level: LevelName,
    #[schema(required = true)]
    code: Option<String>,
    #[schema(required = true)]
    name: Option<String>,
    #[schema(required = true)]
    responsible_unit: Option<String>,
    #[schema(required = true)]
    workers: Option<Vec<String>>,
    #[schema(required = true, format = Date)]
    valid_from: Option<String>,
    #[schema(required = true, format = Date)]
    valid_to: Option<String>,
    /// The cell's item.
    href: String,
}

/// `GET /grid/locate`: the point (WGS84), the day and its cells, district first.
#[derive(ToSchema)]
#[schema(as = locatedPoint)]
#[expect(dead_code, reason = "documents the JSON LocatedJson writes")]
struct LocatedPoint {
    lon: f64,
    lat: f64,
    #[schema(format = Date)]
    at: String,
    chain: Vec<LocatedCell>,
}

/// One point of `POST /grid/locate`: its cells, or `null` and why.
#[derive(ToSchema)]
#[schema(as = locateResult)]
#[expect(dead_code, reason = "documents the JSON locate_points writes")]
struct LocateResult {
    lon: f64,
    lat: f64,
    #[schema(required = true)]
    chain: Option<Vec<LocatedCell>>,
    /// Why there is no chain (present only then).
    #[schema(nullable = false)]
    detail: Option<String>,
}

/// `POST /grid/locate`: one result per point, in order.
#[derive(ToSchema)]
#[schema(as = locatedPoints)]
#[expect(dead_code, reason = "documents the JSON locate_points writes")]
struct LocatedPoints {
    #[schema(format = Date)]
    at: String,
    results: Vec<LocateResult>,
}

/// A count, geodesic length (m) and area (m²), rounded to the millimetre.
#[derive(ToSchema)]
#[schema(as = measuredGroup)]
#[expect(dead_code, reason = "documents the JSON groups_json writes")]
struct MeasuredGroup {
    count: u64,
    length_m: f64,
    area_m2: f64,
    /// The values of the `group_by` properties (`null` where a feature has none).
    #[schema(value_type = HashMap<String, Option<String>>)]
    group: (),
}

/// The figures of one cell.
#[derive(ToSchema)]
#[schema(as = gridStatsRow)]
#[expect(dead_code, reason = "documents the JSON stats_row writes")]
struct StatsRow {
    count: u64,
    length_m: f64,
    area_m2: f64,
    #[schema(required = true)]
    code: Option<String>,
    #[schema(required = true)]
    name: Option<String>,
    groups: Vec<MeasuredGroup>,
}

/// `GET /grid/stats` in JSON: the figures per cell, in code order.
#[derive(ToSchema)]
#[schema(as = gridStats)]
#[expect(dead_code, reason = "documents the JSON render_stats writes")]
struct StatsRows {
    #[schema(inline)]
    level: LevelName,
    collection: String,
    group_by: Vec<String>,
    #[schema(format = Date)]
    at: String,
    rows: Vec<StatsRow>,
}

/// The `type` of a GeoJSON feature.
#[derive(ToSchema)]
#[expect(dead_code, reason = "documents a constant")]
enum FeatureType {
    Feature,
}

/// The `type` of a GeoJSON feature collection.
#[derive(ToSchema)]
#[expect(dead_code, reason = "documents a constant")]
enum FeatureCollectionType {
    FeatureCollection,
}

/// A GeoJSON feature: its id, geometry (WGS84) and properties.
#[derive(ToSchema)]
#[schema(as = spatialFeature)]
#[expect(dead_code, reason = "documents the JSON of Feature::json")]
struct FeatureDoc {
    #[schema(rename = "type", inline)]
    kind: FeatureType,
    id: String,
    #[schema(value_type = Object)]
    geometry: (),
    #[schema(value_type = Object)]
    properties: (),
}

/// `GET /grid/stats?f=geojson`: the cells with their figures among their properties.
#[derive(ToSchema)]
#[schema(as = gridStatsCells)]
#[expect(dead_code, reason = "documents the JSON render_stats writes")]
struct StatsCells {
    #[schema(rename = "type", inline)]
    kind: FeatureCollectionType,
    features: Vec<FeatureDoc>,
}

/// The question of a nearest search, as understood (the point in WGS84).
#[derive(ToSchema)]
#[schema(as = nearestQuery)]
#[expect(dead_code, reason = "documents the JSON nearest_features writes")]
struct NearestEcho {
    lon: f64,
    lat: f64,
    k: usize,
    #[schema(required = true)]
    max_distance_m: Option<f64>,
}

/// `GET /collections/{collectionId}/nearest`: the features, nearest first.
#[derive(ToSchema)]
#[schema(as = nearestFeatures)]
#[expect(dead_code, reason = "documents the JSON nearest_features writes")]
struct NearestFeatures {
    #[schema(rename = "type", inline)]
    kind: FeatureCollectionType,
    #[schema(rename = "numberReturned")]
    number_returned: usize,
    query: NearestEcho,
    features: Vec<FeatureDoc>,
}

/// A link of a `/search` page: the request to send for it (POST with this body).
#[derive(ToSchema)]
#[schema(as = searchLink)]
#[expect(dead_code, reason = "documents the JSON search_page writes")]
struct SearchLink {
    href: String,
    rel: String,
    #[schema(rename = "type")]
    media_type: String,
    method: String,
    #[schema(value_type = Object)]
    body: (),
}

/// A feature found by `/search`, with the collection it belongs to.
#[derive(ToSchema)]
#[schema(as = searchFeature)]
#[expect(dead_code, reason = "documents the JSON search_page writes")]
struct SearchFeature {
    collection: String,
    #[schema(rename = "type", inline)]
    kind: FeatureType,
    id: String,
    #[schema(value_type = Object)]
    geometry: (),
    #[schema(value_type = Object)]
    properties: (),
}

/// A page of `/search`.
#[derive(ToSchema)]
#[schema(as = searchFeatures)]
#[expect(dead_code, reason = "documents the JSON search_page writes")]
struct SearchAnswer {
    #[schema(rename = "type", inline)]
    kind: FeatureCollectionType,
    #[schema(rename = "numberMatched")]
    number_matched: usize,
    #[schema(rename = "numberReturned")]
    number_returned: usize,
    #[schema(rename = "timeStamp", format = DateTime)]
    time_stamp: String,
    links: Vec<SearchLink>,
    features: Vec<SearchFeature>,
}

/// The figures of one collection in a summary.
#[derive(ToSchema)]
#[schema(as = collectionSummary)]
#[expect(dead_code, reason = "documents the JSON summarize writes")]
struct CollectionSummary {
    count: u64,
    length_m: f64,
    area_m2: f64,
    id: String,
    group_by: Vec<String>,
    groups: Vec<MeasuredGroup>,
}

/// The region of a summary.
#[derive(ToSchema)]
#[schema(as = summaryRegion)]
#[expect(dead_code, reason = "documents the JSON summarize writes")]
struct SummaryRegion {
    /// Geodesic, m².
    area_m2: f64,
}

/// `POST /analysis/summary`: the region's area and each collection's figures.
#[derive(ToSchema)]
#[schema(as = summary)]
#[expect(dead_code, reason = "documents the JSON summarize writes")]
struct SummaryAnswer {
    region: SummaryRegion,
    collections: Vec<CollectionSummary>,
}

// --- handlers ---------------------------------------------------------------------------------

fn grid(state: &AppState) -> Result<Arc<crate::service::grid::GridIndex>, ApiError> {
    Ok(state.catalog.grid()?)
}

/// The chain of grid cells (district, street, community, grid) containing a point.
#[utoipa::path(get, path = "/grid/locate", operation_id = "locatePoint", tag = "Grid",
    params(LocateQuery), security((), ("bearerAuth" = [])),
    responses(
        (status = 200, description = "The point and its cells, district first", body = LocatedPoint),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 404, response = NotFound), (status = 500, response = ServerError)))]
pub async fn locate_point(
    State(state): State<AppState>,
    Query(query): Query<LocateQuery>,
) -> Result<Response, ApiError> {
    let (x, y) = query.point();
    let day = query.at;
    let chain = grid(&state)?.locate(x, y, day);
    if chain.is_empty() {
        return Err(ApiError::NotFound(format!(
            "the point ({x:.7}, {y:.7}) lies outside every grid cell valid on {day}"
        )));
    }
    let body = serde_json::to_vec(&LocatedJson {
        lon: x,
        lat: y,
        at: day,
        chain: ChainJson {
            base_url: &state.base_url,
            chain: &chain,
        },
    })
    .map_err(ApiError::internal)?;
    Ok(with_type(body, media::JSON))
}

/// Locate up to 10000 points at once (a GPS track), answered in order.
#[utoipa::path(post, path = "/grid/locate", operation_id = "locatePoints", tag = "Grid",
    request_body(content = LocateBody, description = "The points",
        example = json!({ "points": [[113.69, 34.745], [113.75, 34.70]] })),
    security((), ("bearerAuth" = [])),
    responses(
        (status = 200, description = "One result per point, in order", body = LocatedPoints),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 404, response = NotFound), (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType), (status = 500, response = ServerError)))]
pub async fn locate_points(
    State(state): State<AppState>,
    body: JsonMembers<LocateBody>,
) -> Result<Response, ApiError> {
    let (points, day) = body.members.points()?;
    let grid = grid(&state)?;
    let results: Vec<Value> = points
        .into_iter()
        .map(|(x, y)| {
            let chain = grid.locate(x, y, day);
            if chain.is_empty() {
                json!({ "lon": x, "lat": y, "chain": null, "detail": "outside every grid cell" })
            } else {
                json!({ "lon": x, "lat": y, "chain": chain_json(&state, &chain) })
            }
        })
        .collect();
    Ok(with_type(
        json!({ "at": day.to_string(), "results": results }).to_string(),
        media::JSON,
    ))
}

/// Per-cell statistics of a collection: count, geodesic length and area clipped to each
/// cell, optionally by property values.
#[utoipa::path(get, path = "/grid/stats", operation_id = "getGridStats", tag = "Grid",
    params(StatsQuery), security((), ("bearerAuth" = [])),
    responses(
        (status = 200, description = "The figures per cell, in code order", content(
            (StatsRows = "application/json"), (StatsCells = "application/geo+json"))),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 404, response = NotFound), (status = 500, response = ServerError)))]
pub async fn grid_stats(
    State(state): State<AppState>,
    Query(query): Query<StatsQuery>,
) -> Result<Response, ApiError> {
    let (collection, group_by) = query.collection(&state)?;
    let (level, day, geojson) = (query.level, query.at, query.geojson);
    let request = StatsRequest {
        level,
        collection: collection.def.id.clone(),
        group_by: group_by.clone(),
        day,
    };
    let format = if geojson { "geojson" } else { "json" };
    let text = state
        .catalog
        .grid_stats_rendered(&request, format, |computed| {
            render_stats(computed, level, &collection, &group_by, day, geojson)
        })?;
    Ok(with_type(
        text,
        if geojson { media::GEOJSON } else { media::JSON },
    ))
}

/// The k features nearest to a point, nearest first, with their geodesic distance.
#[utoipa::path(get, path = "/collections/{collectionId}/nearest", operation_id = "getNearest",
    tag = "Data",
    params(("collectionId" = String, Path, description = "A collection id listed by /collections", example = "grid_cells"),
        NearestQuery),
    security((), ("bearerAuth" = [])),
    responses(
        (status = 200, description = "The features, nearest first; each has `distance_m` (geodesic metres to its closest point) among its properties",
            content_type = "application/geo+json", body = NearestFeatures),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 404, response = NotFound), (status = 500, response = ServerError)))]
pub async fn nearest_features(
    State(state): State<AppState>,
    Path(collection_id): Path<String>,
    Query(query): Query<NearestQuery>,
) -> Result<Response, ApiError> {
    let collection = state.catalog.collection(&collection_id)?;
    let (x, y) = query.point();
    let found = collection
        .index
        .nearest(x, y, query.k, query.max_distance_m);
    let features: Vec<String> = found
        .iter()
        .map(|(f, d)| with_property(f, "distance_m", &json!((d * 1000.0).round() / 1000.0)))
        .collect();
    let head = json!({
        "type": "FeatureCollection",
        "numberReturned": features.len(),
        "query": { "lon": x, "lat": y, "k": query.k, "max_distance_m": query.max_distance_m },
    });
    Ok(with_type(collection_text(&head, &features), media::GEOJSON))
}

/// Features of one or more collections related to a geometry (intersects, within, contains,
/// within a distance), with a CQL2 filter.
#[utoipa::path(post, path = "/search", operation_id = "searchFeatures", tag = "Data",
    params(SearchQuery), request_body(content = SearchBody, description = "The question",
        example = json!({ "collections": ["manholes"], "intersects": { "type": "Point", "coordinates": [113.69, 34.745] }, "within_distance_m": 150 })),
    security((), ("bearerAuth" = [])),
    responses(
        (status = 200, description = "The matching features", content(
            (SearchAnswer = "application/geo+json"), (String = "text/csv"))),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 404, response = NotFound), (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType), (status = 500, response = ServerError),
        (status = 503, response = AnalysisBusy), (status = 504, response = AnalysisTimedOut)))]
pub async fn search_features(
    State(state): State<AppState>,
    Query(query): Query<SearchQuery>,
    body: JsonMembers<SearchBody>,
) -> Result<Response, ApiError> {
    let (search, properties) = parse_search(&state, &body.members)?;
    let (offset, limit) = (search.offset, search.limit);
    let page = state
        .analysis
        .run(move |budget| search.run(budget))
        .await??;
    if query.csv {
        return Ok(with_type(
            search_csv(&page.hits, &properties),
            "text/csv; charset=utf-8",
        ));
    }
    let text = search_page(&state, body.raw, &page, &properties, offset, limit);
    Ok(with_type(text, media::GEOJSON))
}

/// Per collection: count, geodesic length and area clipped to a polygon, in all and by
/// property values.
#[utoipa::path(post, path = "/analysis/summary", operation_id = "summarize", tag = "Data",
    request_body(content = SummaryBody, description = "The region and the collections",
        example = json!({ "collections": ["manholes", "pipelines"], "intersects": { "type": "Polygon", "coordinates": [[[113.68, 34.74], [113.70, 34.74], [113.70, 34.75], [113.68, 34.75], [113.68, 34.74]]] } })),
    security((), ("bearerAuth" = [])),
    responses(
        (status = 200, description = "The region's area and each collection's figures", body = SummaryAnswer),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 404, response = NotFound), (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType), (status = 500, response = ServerError),
        (status = 503, response = AnalysisBusy), (status = 504, response = AnalysisTimedOut)))]
pub async fn summarize(
    State(state): State<AppState>,
    body: JsonMembers<SummaryBody>,
) -> Result<Response, ApiError> {
    let request = parse_summary(&state, &body.members)?;
    let (area_m2, summaries) = state
        .analysis
        .run(move |budget| request.run(budget))
        .await??;
    let collections: Vec<Value> = summaries
        .iter()
        .map(|s| {
            let mut entry = measures_json(&s.total);
            entry["id"] = json!(s.collection.def.id.as_str());
            entry["group_by"] = json!(s.group_by);
            entry["groups"] = groups_json(&s.group_by, &s.groups);
            entry
        })
        .collect();
    let doc = json!({ "region": { "area_m2": (area_m2 * 1000.0).round() / 1000.0 }, "collections": collections });
    Ok(with_type(doc.to_string(), media::JSON))
}

/// A cell of a locate chain as JSON, serialised straight from the cell's properties (no
/// intermediate `Value` tree: locate is the hottest route).
#[derive(Serialize)]
struct CellJson<'a> {
    level: &'static str,
    code: Option<&'a PropertyValue>,
    name: Option<&'a PropertyValue>,
    responsible_unit: Option<&'a PropertyValue>,
    workers: Option<&'a PropertyValue>,
    valid_from: Option<&'a PropertyValue>,
    valid_to: Option<&'a PropertyValue>,
    href: CellHref<'a>,
}

/// The absolute URL of a cell's item, written while serialising.
struct CellHref<'a> {
    base_url: &'a str,
    cell: &'a Feature,
}

impl Serialize for CellHref<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!(
            "{}/collections/grid_cells/items/{}",
            self.base_url, self.cell.id
        ))
    }
}

/// The chain of cells containing a point, outermost first.
struct ChainJson<'a> {
    base_url: &'a str,
    chain: &'a [(Level, Arc<Feature>)],
}

impl Serialize for ChainJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.chain.iter().map(|(level, cell)| {
            let p = &cell.properties;
            CellJson {
                level: level.name(),
                code: p.get("code"),
                name: p.get("name"),
                responsible_unit: p.get("responsible_unit"),
                workers: p.get("workers"),
                valid_from: p.get("valid_from"),
                valid_to: p.get("valid_to"),
                href: CellHref {
                    base_url: self.base_url,
                    cell,
                },
            }
        }))
    }
}

/// `GET /grid/locate`'s answer.
#[derive(Serialize)]
struct LocatedJson<'a> {
    lon: f64,
    lat: f64,
    #[serde(serialize_with = "serialize_display")]
    at: NaiveDate,
    chain: ChainJson<'a>,
}

fn serialize_display<S: serde::Serializer>(
    value: &impl std::fmt::Display,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

fn chain_json(state: &AppState, chain: &[(Level, Arc<Feature>)]) -> Value {
    serde_json::to_value(ChainJson {
        base_url: &state.base_url,
        chain,
    })
    .unwrap_or(Value::Null)
}

/// A GeoJSON geometry member of a request body, counted (vertices, parts, rings) before anything
/// else: refused in microseconds however large it is.
fn counted_geometry<'v>(value: Option<&'v Value>, name: &str) -> Result<&'v Value, ApiError> {
    let value =
        value.ok_or_else(|| ApiError::invalid(name, "", "a GeoJSON geometry", "missing"))?;
    complexity::check_geojson(value).map_err(|e| {
        ApiError::invalid(
            name,
            "",
            format!(
                "a GeoJSON geometry of at most {MAX_QUERY_VERTICES} vertices, {MAX_QUERY_PARTS} parts and {MAX_QUERY_RINGS} rings"
            ),
            format!("too large: {e}"),
        )
    })?;
    Ok(value)
}

/// Parses and checks a counted query geometry; run on the analysis pool, since checking the
/// validity of a large polygon takes time (it stops when `budget` says so).
fn query_geometry(
    value: &Value,
    name: &str,
    crs: InputCrs,
    family: GeometryFamily,
    budget: &Budget,
) -> Result<Result<Geometry<f64>, ApiError>, Interrupted> {
    let invalid = |detail: String| {
        ApiError::invalid(
            name,
            "",
            "a valid GeoJSON geometry in WGS84 (or the crs given)",
            detail,
        )
    };
    let parsed = match geojson::Geometry::from_json_value(value.clone()) {
        Ok(parsed) => parsed,
        Err(e) => {
            return Ok(Err(ApiError::invalid(
                name,
                "",
                "a GeoJSON geometry",
                e.to_string(),
            )));
        }
    };
    let geometry = match geometry::parse_without_validity(Some(parsed.value), family, crs) {
        Ok(geometry) => geometry,
        Err(e) => return Ok(Err(invalid(e.to_string()))),
    };
    match validity::check(&geometry, &|| budget.spent()) {
        Ok(()) => Ok(Ok(geometry)),
        Err(ValidityError::Invalid(detail)) => Ok(Err(invalid(detail))),
        Err(ValidityError::Stopped) => Err(budget.check().err().unwrap_or(Interrupted::Deadline)),
    }
}

pub(crate) fn string_list(value: Option<&Value>, name: &str) -> Result<Vec<String>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_owned).ok_or_else(|| {
                    ApiError::invalid(name, &v.to_string(), "strings", "not a string")
                })
            })
            .collect(),
        Some(other) => Err(ApiError::invalid(
            name,
            &other.to_string(),
            "a string or an array of strings",
            "wrong type",
        )),
    }
}

/// A filter's text and language, checked for size and depth, not yet compiled.
type FilterText = (String, FilterLang);

/// The collections of a body (each once) and its filter, the filter's size and depth checked
/// (compiling it per collection is left to the analysis pool: a filter may be 1 MiB).
fn target_collections(
    state: &AppState,
    collections: Option<&Value>,
    filter: Option<&Value>,
) -> Result<(Vec<Arc<Collection>>, Option<FilterText>), ApiError> {
    let ids = string_list(collections, "collections")?;
    if ids.is_empty() {
        return Err(ApiError::invalid(
            "collections",
            "",
            "one or more collection ids",
            "missing",
        ));
    }
    let mut collections: Vec<Arc<Collection>> = Vec::with_capacity(ids.len());
    for id in &ids {
        let collection = state.catalog.collection(id).map_err(|_| {
            ApiError::invalid(
                "collections",
                id,
                "ids listed by /collections",
                "unknown collection",
            )
        })?;
        if collections.iter().any(|c| c.def.id == collection.def.id) {
            return Err(ApiError::invalid(
                "collections",
                id,
                "each collection at most once",
                "repeated collection",
            ));
        }
        collections.push(collection);
    }
    let filter = match filter {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some((text.clone(), FilterLang::Cql2Text)),
        Some(json) => Some((json.to_string(), FilterLang::Cql2Json)),
    };
    if let Some((text, lang)) = &filter {
        crate::filter::limits::check(text, *lang).map_err(|e| filter_error(&e.to_string()))?;
    }
    Ok((collections, filter))
}

fn filter_error(detail: &str) -> ApiError {
    ApiError::invalid(
        "filter",
        "",
        "a CQL2 expression (JSON, or text) over the collection's queryables",
        detail,
    )
}

/// Compiles the filter for each collection; run on the analysis pool.
fn compile_targets(
    collections: Vec<Arc<Collection>>,
    filter: Option<&FilterText>,
    budget: &Budget,
) -> Result<Result<Vec<Target>, ApiError>, Interrupted> {
    let mut targets = Vec::with_capacity(collections.len());
    for collection in collections {
        budget.check()?;
        let compiled = match filter {
            None => None,
            Some((text, lang)) => match Filter::parse(text, *lang, &collection.def) {
                Ok(compiled) => Some(compiled),
                Err(e) => {
                    return Ok(Err(filter_error(&format!("{}: {e}", collection.def.id))));
                }
            },
        };
        targets.push(Target {
            collection,
            filter: compiled,
        });
    }
    Ok(Ok(targets))
}

fn usize_member(
    value: Option<&Value>,
    name: &str,
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .map(|n| n.min(max))
            .ok_or_else(|| {
                ApiError::invalid(
                    name,
                    &v.to_string(),
                    format!("an integer from 0 to {max}"),
                    "not a non-negative integer",
                )
            }),
    }
}

/// Selects `properties` of a feature's GeoJSON (all when empty) and adds foreign members.
fn feature_value(feature: &Feature, properties: &[String], extra: &[(&str, Value)]) -> Value {
    let mut value: Value = serde_json::from_str(feature.json()).unwrap_or(Value::Null);
    if let Some(props) = value
        .get_mut("properties")
        .and_then(Value::as_object_mut)
        .filter(|_| !properties.is_empty())
    {
        props.retain(|k, _| properties.iter().any(|p| p == k));
    }
    if let Some(object) = value.as_object_mut() {
        for (k, v) in extra {
            object.insert((*k).to_owned(), v.clone());
        }
    }
    value
}

/// A feature's GeoJSON text with `extra` members, reusing the cached text when all properties
/// are returned (the common case: no parse, no re-serialisation).
fn feature_text(feature: &Feature, properties: &[String], extra: &[(&str, Value)]) -> String {
    if !properties.is_empty() {
        return feature_value(feature, properties, extra).to_string();
    }
    let cached = feature.json();
    let mut out = String::with_capacity(cached.len() + 48);
    out.push('{');
    for (k, v) in extra {
        let _ = write!(out, "{}:{v},", Value::from(*k));
    }
    out.push_str(&cached[1..]);
    out
}

/// A feature's GeoJSON text with one more member in `properties` (where GDAL, QGIS and every
/// GeoJSON reader look; foreign members beside them are dropped by most clients). The cached
/// text is spliced when the feature has no property of that name; otherwise the computed value
/// replaces the stored one.
fn with_property(feature: &Feature, name: &str, value: &Value) -> String {
    const MARK: &str = ",\"properties\":{";
    let cached = feature.json();
    // `properties` is the cached text's last member, after the id (a JSON string, so it holds
    // no unescaped quote) and the geometry (numbers and type names): its first mark is it.
    match cached.find(MARK) {
        Some(at) if feature.properties.get(name).is_none() => {
            let open = at + MARK.len();
            let empty = cached[open..].starts_with('}');
            let mut out = String::with_capacity(cached.len() + name.len() + 32);
            out.push_str(&cached[..open]);
            let _ = write!(out, "{}:{value}", Value::from(name));
            if !empty {
                out.push(',');
            }
            out.push_str(&cached[open..]);
            out
        }
        _ => {
            let mut doc = feature_value(feature, &[], &[]);
            if let Some(props) = doc.get_mut("properties").and_then(Value::as_object_mut) {
                props.insert(name.to_owned(), value.clone());
            }
            doc.to_string()
        }
    }
}

/// Splices a FeatureCollection document (`head`, an object without `features`) with feature
/// texts, so cached feature JSON is copied, not parsed.
fn collection_text(head: &Value, features: &[String]) -> String {
    let head = head.to_string();
    let size: usize = features.iter().map(|f| f.len() + 1).sum();
    let mut out = String::with_capacity(head.len() + size + 16);
    out.push_str(&head[..head.len() - 1]);
    out.push_str(",\"features\":[");
    for (i, f) in features.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(f);
    }
    out.push_str("]}");
    out
}

/// A `/search` body validated but for its geometry's validity (checked on the analysis pool).
struct SearchRequest {
    geometry: Value,
    crs: InputCrs,
    collections: Vec<Arc<Collection>>,
    filter: Option<FilterText>,
    predicate: Predicate,
    within_distance_m: Option<f64>,
    offset: usize,
    limit: usize,
}

impl SearchRequest {
    /// Parses the geometry and runs the search within `budget`.
    fn run(self, budget: &Budget) -> Result<Result<spatial::SearchPage, ApiError>, Interrupted> {
        let targets = match compile_targets(self.collections, self.filter.as_ref(), budget)? {
            Ok(targets) => targets,
            Err(e) => return Ok(Err(e)),
        };
        let geometry = match query_geometry(
            &self.geometry,
            "intersects",
            self.crs,
            GeometryFamily::Any,
            budget,
        )? {
            Ok(geometry) => geometry,
            Err(e) => return Ok(Err(e)),
        };
        let search = Search {
            targets,
            geometry,
            predicate: self.predicate,
            within_distance_m: self.within_distance_m,
            offset: self.offset,
            limit: self.limit,
        };
        spatial::search(&search, budget).map(Ok)
    }
}

/// Validates the members of a `/search` body: the search, and the properties to return.
fn parse_search(
    state: &AppState,
    body: &SearchBody,
) -> Result<(SearchRequest, Vec<String>), ApiError> {
    let crs = crs_param(body.crs.as_ref().and_then(Value::as_str))?;
    let geometry = counted_geometry(body.intersects.as_ref(), "intersects")?.clone();
    let predicate = match &body.predicate {
        None | Some(Value::Null) => Predicate::Intersects,
        Some(v) => v.as_str().and_then(Predicate::parse).ok_or_else(|| {
            ApiError::invalid(
                "predicate",
                &v.to_string(),
                "intersects, within, contains or disjoint",
                "unknown predicate",
            )
        })?,
    };
    let within_distance_m = match &body.within_distance_m {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_f64()
                .filter(|d| d.is_finite() && *d >= 0.0 && *d <= 100_000.0)
                .ok_or_else(|| {
                    ApiError::invalid(
                        "within_distance_m",
                        &v.to_string(),
                        "metres from 0 to 100000",
                        "not an allowed distance",
                    )
                })?,
        ),
    };
    let properties = string_list(body.properties.as_ref(), "properties")?;
    let (collections, filter) =
        target_collections(state, body.collections.as_ref(), body.filter.as_ref())?;
    let search = SearchRequest {
        collections,
        filter,
        geometry,
        crs,
        predicate,
        within_distance_m,
        offset: usize_member(body.offset.as_ref(), "offset", 0, usize::MAX)?,
        limit: usize_member(body.limit.as_ref(), "limit", 100, MAX_LIMIT)?.max(1),
    };
    for name in &properties {
        if !search
            .collections
            .iter()
            .any(|c| c.def.schema.property(name).is_some())
        {
            return Err(ApiError::invalid(
                "properties",
                name,
                "properties of the collections searched",
                "unknown property",
            ));
        }
    }
    Ok((search, properties))
}

/// A page of `/search` as GeoJSON: the features (with their collection), and links that
/// repeat the request `body` for this page, the next and the previous.
fn search_page(
    state: &AppState,
    body: Value,
    page: &spatial::SearchPage,
    properties: &[String],
    offset: usize,
    limit: usize,
) -> String {
    let features: Vec<String> = page
        .hits
        .iter()
        .map(|hit| {
            feature_text(
                &hit.feature,
                properties,
                &[("collection", json!(hit.collection.def.id.as_str()))],
            )
        })
        .collect();
    // The next and previous pages are the body with another offset; the body itself moves
    // into the self link (no copy of a large geometry more than needed).
    let with_offset = |offset: usize| {
        let mut other = body.clone();
        other["offset"] = json!(offset);
        other
    };
    let next =
        (offset + page.hits.len() < page.number_matched).then(|| with_offset(offset + limit));
    let prev = (offset > 0).then(|| with_offset(offset.saturating_sub(limit)));
    let link = |rel: &str, body: Value| {
        let mut link = json!({ "href": state.url("/search"), "rel": rel, "type": media::GEOJSON, "method": "POST" });
        link["body"] = body;
        link
    };
    let mut links = vec![link("self", body)];
    links.extend(next.map(|body| link("next", body)));
    links.extend(prev.map(|body| link("prev", body)));
    let head = json!({
        "type": "FeatureCollection",
        "numberMatched": page.number_matched,
        "numberReturned": features.len(),
        "timeStamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "links": links,
    });
    collection_text(&head, &features)
}

/// The region of a polygonal query geometry (other types were refused when it was parsed).
fn region_of(geometry: Geometry<f64>) -> Region {
    let polygons = match geometry {
        Geometry::Polygon(p) => MultiPolygon(vec![p]),
        Geometry::MultiPolygon(m) => m,
        _ => MultiPolygon(Vec::new()),
    };
    Region::new(polygons)
}

/// The `group_by` of a body for `collection`: one list for every collection, or an object of
/// lists by collection id.
fn group_by_for(value: Option<&Value>, collection: &Collection) -> Result<Vec<String>, ApiError> {
    let names = match value {
        Some(Value::Object(per_collection)) => {
            string_list(per_collection.get(collection.def.id.as_str()), "group_by")?
        }
        other => string_list(other, "group_by")?,
    };
    checked_group_by(names, collection)
}

/// `names` if each is a simple property of `collection`.
fn checked_group_by(names: Vec<String>, collection: &Collection) -> Result<Vec<String>, ApiError> {
    for name in &names {
        match collection.def.schema.property(name) {
            Some(p) if p.ty.is_simple() => {}
            _ => {
                let allowed: Vec<&str> = collection
                    .def
                    .schema
                    .properties
                    .iter()
                    .filter(|p| p.ty.is_simple())
                    .map(|p| p.name.as_str())
                    .collect();
                return Err(ApiError::invalid(
                    "group_by",
                    name,
                    format!(
                        "properties of {}: {}",
                        collection.def.id,
                        allowed.join(", ")
                    ),
                    "unknown property",
                ));
            }
        }
    }
    Ok(names)
}

/// A `/analysis/summary` body validated but for its geometry's validity (checked on the
/// analysis pool).
struct SummaryRequest {
    geometry: Value,
    crs: InputCrs,
    collections: Vec<Arc<Collection>>,
    filter: Option<FilterText>,
    group_bys: Vec<Vec<String>>,
}

/// Validates the members of a `/analysis/summary` body.
fn parse_summary(state: &AppState, body: &SummaryBody) -> Result<SummaryRequest, ApiError> {
    let crs = crs_param(body.crs.as_ref().and_then(Value::as_str))?;
    let geometry = counted_geometry(body.intersects.as_ref(), "intersects")?.clone();
    let (collections, filter) =
        target_collections(state, body.collections.as_ref(), body.filter.as_ref())?;
    let group_bys = collections
        .iter()
        .map(|c| group_by_for(body.group_by.as_ref(), c))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SummaryRequest {
        geometry,
        crs,
        collections,
        filter,
        group_bys,
    })
}

impl SummaryRequest {
    /// Parses the geometry and measures the collections within it, within `budget`: the
    /// region's geodesic area (m²) and each collection's summary.
    fn run(
        self,
        budget: &Budget,
    ) -> Result<Result<(f64, Vec<spatial::Summary>), ApiError>, Interrupted> {
        let targets = match compile_targets(self.collections, self.filter.as_ref(), budget)? {
            Ok(targets) => targets,
            Err(e) => return Ok(Err(e)),
        };
        let targets_with_groups: Vec<(Target, Vec<String>)> =
            targets.into_iter().zip(self.group_bys).collect();
        let geometry = match query_geometry(
            &self.geometry,
            "intersects",
            self.crs,
            GeometryFamily::Polygon,
            budget,
        )? {
            Ok(geometry) => geometry,
            Err(e) => return Ok(Err(e)),
        };
        let area_m2 = crate::index::measure::geodesic_area_m2(&geometry);
        let region = region_of(geometry);
        let summaries = spatial::summarize(&targets_with_groups, &region, budget)?;
        Ok(Ok((area_m2, summaries)))
    }
}

fn search_csv(hits: &[spatial::Hit], properties: &[String]) -> String {
    use super::csv::{Cell, Table};
    use geozero::ToWkt as _;
    let mut columns: Vec<String> = Vec::new();
    for hit in hits {
        for name in hit.feature.properties.keys() {
            if (properties.is_empty() || properties.iter().any(|p| p == name))
                && !columns.iter().any(|c| c == name)
            {
                columns.push(name.to_owned());
            }
        }
    }
    let mut table = Table::new(
        ["collection", "id", "wkt"]
            .into_iter()
            .chain(columns.iter().map(String::as_str)),
    );
    for hit in hits {
        let wkt = hit.feature.geometry.to_wkt().unwrap_or_default();
        let cells = [
            Cell::text(hit.collection.def.id.as_str()),
            Cell::text(hit.feature.id.as_str()),
            Cell::text(wkt),
        ];
        let values = columns.iter().map(|c| match hit.feature.properties.get(c) {
            None | Some(PropertyValue::Null) => Cell::Empty,
            Some(PropertyValue::String(s)) => Cell::text(&**s),
            Some(PropertyValue::Number(n)) => Cell::number(n),
            Some(other) => Cell::text(other.to_string()),
        });
        table.row(cells.into_iter().chain(values));
    }
    table.finish()
}

fn measures_json(m: &Measures) -> Value {
    json!({ "count": m.count, "length_m": (m.length_m * 1000.0).round() / 1000.0, "area_m2": (m.area_m2 * 1000.0).round() / 1000.0 })
}

fn groups_json(
    group_by: &[String],
    groups: &std::collections::BTreeMap<Vec<String>, Measures>,
) -> Value {
    Value::Array(
        groups
            .iter()
            .map(|(key, m)| {
                let mut entry = measures_json(m);
                let values: Map<String, Value> = group_by
                    .iter()
                    .cloned()
                    .zip(
                        key.iter()
                            .map(|v| if v.is_empty() { Value::Null } else { json!(v) }),
                    )
                    .collect();
                entry["group"] = Value::Object(values);
                entry
            })
            .collect(),
    )
}

/// Renders per-cell statistics as JSON rows or as GeoJSON cells.
fn render_stats(
    computed: &crate::service::Stats,
    level: Level,
    collection: &Collection,
    group_by: &[String],
    day: NaiveDate,
    geojson: bool,
) -> bytes::Bytes {
    let rows = computed.cells.iter().map(|c| stats_row(group_by, c));
    let doc = if geojson {
        let features: Vec<Value> = computed
            .cells
            .iter()
            .map(|c| {
                let mut f = feature_value(
                    &c.cell,
                    &[
                        "code".into(),
                        "name".into(),
                        "level".into(),
                        "responsible_unit".into(),
                    ],
                    &[],
                );
                if let Some(props) = f.get_mut("properties").and_then(Value::as_object_mut) {
                    props.insert("count".into(), json!(c.total.count));
                    props.insert(
                        "length_m".into(),
                        json!((c.total.length_m * 1000.0).round() / 1000.0),
                    );
                    props.insert(
                        "area_m2".into(),
                        json!((c.total.area_m2 * 1000.0).round() / 1000.0),
                    );
                    for (key, m) in c.groups.iter().filter(|_| !group_by.is_empty()) {
                        let label = key.join("|");
                        props.insert(format!("count:{label}"), json!(m.count));
                    }
                }
                f
            })
            .collect();
        json!({ "type": "FeatureCollection", "features": features })
    } else {
        json!({
            "level": level.name(),
            "collection": collection.def.id.as_str(),
            "group_by": group_by,
            "at": day.to_string(),
            "rows": rows.collect::<Vec<_>>(),
        })
    };
    bytes::Bytes::from(doc.to_string())
}

fn stats_row(group_by: &[String], c: &CellStats) -> Value {
    let mut row = measures_json(&c.total);
    row["code"] = c
        .cell
        .properties
        .get("code")
        .map_or(Value::Null, PropertyValue::to_json);
    row["name"] = c
        .cell
        .properties
        .get("name")
        .map_or(Value::Null, PropertyValue::to_json);
    row["groups"] = groups_json(group_by, &c.groups);
    row
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FeatureId;
    use chrono::Utc;

    fn feature(properties: Map<String, Value>) -> Feature {
        let now = Utc::now();
        Feature::new(
            1,
            FeatureId::parse("m-1").unwrap(),
            geo::point!(x: 113.7, y: 34.7).into(),
            properties,
            1,
            now,
            now,
        )
    }

    #[test]
    fn a_computed_member_goes_into_the_properties_whatever_they_hold() {
        let mut some = Map::new();
        some.insert("status".into(), json!("intact"));
        some.insert("nested".into(), json!({"properties": {}}));
        for properties in [Map::new(), some] {
            let f = feature(properties.clone());
            let text = with_property(&f, "distance_m", &json!(12.5));
            let doc: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(doc["properties"]["distance_m"], 12.5, "{text}");
            assert_eq!(
                doc["properties"].as_object().unwrap().len(),
                properties.len() + 1
            );
            for (k, v) in &properties {
                assert_eq!(&doc["properties"][k], v);
            }
            assert_eq!(
                doc["id"],
                serde_json::from_str::<Value>(f.json()).unwrap()["id"]
            );
        }
    }

    #[test]
    fn a_stored_property_of_the_same_name_is_replaced_not_repeated() {
        let mut properties = Map::new();
        properties.insert("distance_m".into(), json!("stored"));
        let text = with_property(&feature(properties), "distance_m", &json!(3.0));
        assert_eq!(text.matches("distance_m").count(), 1, "{text}");
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["properties"]["distance_m"], 3.0);
    }

    #[test]
    fn the_generated_document_has_every_spatial_operation_with_its_bounds() {
        let paths = &crate::api::generated_document()["paths"];
        for (path, method, id) in [
            ("/grid/locate", "get", "locatePoint"),
            ("/grid/locate", "post", "locatePoints"),
            ("/grid/stats", "get", "getGridStats"),
            ("/collections/{collectionId}/nearest", "get", "getNearest"),
            ("/search", "post", "searchFeatures"),
            ("/analysis/summary", "post", "summarize"),
        ] {
            assert_eq!(paths[path][method]["operationId"], id, "{method} {path}");
        }
        let nearest = &paths["/collections/{collectionId}/nearest"]["get"]["parameters"];
        let k = nearest
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "k")
            .unwrap();
        assert_eq!(k["schema"]["maximum"].as_f64(), Some(MAX_K as f64));
        let schemas = &crate::api::generated_document()["components"]["schemas"];
        assert_eq!(
            schemas["LocateBody"]["properties"]["points"]["maxItems"].as_u64(),
            Some(MAX_LOCATE_POINTS as u64)
        );
    }
}
