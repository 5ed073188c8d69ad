//! The spatial questions: `/grid/locate`, `/search`, `/analysis/summary`,
//! `/collections/{id}/nearest` and `/grid/stats`.
//!
//! Input coordinates are WGS84 unless `crs` says `gcj02` or `bd09` (converted at this edge);
//! output is always WGS84. Lengths are metres, areas m², geodesic.

use axum::routing::{get, post};
use std::fmt::Write as _;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use chrono::NaiveDate;
use geo::{Geometry, MultiPolygon};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{ApiError, AppState, media, param, query_pairs, with_type};
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
        .route(
            "/collections/{collection_id}/nearest",
            get(nearest_features),
        )
        .route("/grid/locate", get(locate_point).post(locate_points))
        .route("/grid/stats", get(grid_stats))
        .route("/search", post(search_features))
        .route("/analysis/summary", post(summarize))
}

/// Largest request body accepted by the POST endpoints, bytes.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Largest number of points in one `POST /grid/locate`.
pub const MAX_LOCATE_POINTS: usize = 10_000;
/// Largest `k` of `nearest`.
pub const MAX_K: usize = 1_000;

pub(crate) fn number(
    pairs: &[(String, String)],
    name: &str,
    allowed: &str,
) -> Result<Option<f64>, ApiError> {
    param(pairs, name)
        .map(|raw| {
            raw.parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .ok_or_else(|| ApiError::invalid(name, raw, allowed, "not a number"))
        })
        .transpose()
}

/// Whether `f` asks for GeoJSON (`geojson`) rather than plain JSON (`json`, the default).
pub(crate) fn geojson_format(pairs: &[(String, String)]) -> Result<bool, ApiError> {
    match param(pairs, "f") {
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

fn grid(state: &AppState) -> Result<Arc<crate::service::grid::GridIndex>, ApiError> {
    Ok(state.catalog.grid()?)
}

/// `GET /grid/locate?lon=&lat=[&crs=][&at=]`: the chain of cells containing a point.
pub async fn locate_point(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let pairs = query_pairs(query.as_deref())?;
    check_known(&pairs, &["lon", "lat", "crs", "at", "f"])?;
    let lon = number(&pairs, "lon", "a longitude in degrees")?
        .ok_or_else(|| ApiError::invalid("lon", "", "a longitude in degrees", "missing"))?;
    let lat = number(&pairs, "lat", "a latitude in degrees")?
        .ok_or_else(|| ApiError::invalid("lat", "", "a latitude in degrees", "missing"))?;
    let crs = crs_param(param(&pairs, "crs"))?;
    let day = date_param(param(&pairs, "at"), "at")?;
    let (x, y) = position(lon, lat, crs, "lon,lat")?;
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
    .map_err(|e| ApiError::internal(e))?;
    Ok(with_type(body, media::JSON))
}

/// `POST /grid/locate`: up to 10,000 points (e.g. a GPS track), answered in order.
pub async fn locate_points(
    State(state): State<AppState>,
    body: Body,
) -> Result<Response, ApiError> {
    let body = read_json(body).await?;
    let members = object(&body)?;
    reject_unknown_members(members, &["points", "crs", "at"])?;
    let crs = crs_param(members.get("crs").and_then(Value::as_str))?;
    let day = date_param(members.get("at").and_then(Value::as_str), "at")?;
    let points = members
        .get("points")
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
    let grid = grid(&state)?;
    let mut results = Vec::with_capacity(points.len());
    for (i, point) in points.iter().enumerate() {
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
        let (x, y) = position(lon, lat, crs, &format!("points[{i}]"))?;
        let chain = grid.locate(x, y, day);
        results.push(if chain.is_empty() {
            json!({ "lon": x, "lat": y, "chain": null, "detail": "outside every grid cell" })
        } else {
            json!({ "lon": x, "lat": y, "chain": chain_json(&state, &chain) })
        });
    }
    Ok(with_type(
        json!({ "at": day.to_string(), "results": results }).to_string(),
        media::JSON,
    ))
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
    members: &Map<String, Value>,
) -> Result<(Vec<Arc<Collection>>, Option<FilterText>), ApiError> {
    let ids = string_list(members.get("collections"), "collections")?;
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
    let filter = match members.get("filter") {
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
    members: &Map<String, Value>,
    name: &str,
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    match members.get(name) {
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
    members: &Map<String, Value>,
) -> Result<(SearchRequest, Vec<String>), ApiError> {
    let crs = crs_param(members.get("crs").and_then(Value::as_str))?;
    let geometry = counted_geometry(members.get("intersects"), "intersects")?.clone();
    let predicate = match members.get("predicate") {
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
    let within_distance_m = match members.get("within_distance_m") {
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
    let properties = string_list(members.get("properties"), "properties")?;
    let (collections, filter) = target_collections(state, members)?;
    let search = SearchRequest {
        collections,
        filter,
        geometry,
        crs,
        predicate,
        within_distance_m,
        offset: usize_member(members, "offset", 0, usize::MAX)?,
        limit: usize_member(members, "limit", 100, MAX_LIMIT)?.max(1),
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

/// `POST /search`: features of one or more collections related to a geometry.
pub async fn search_features(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    body: Body,
) -> Result<Response, ApiError> {
    let pairs = query_pairs(query.as_deref())?;
    check_known(&pairs, &["f"])?;
    let csv = match param(&pairs, "f") {
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
    let body = read_json(body).await?;
    let members = object(&body)?;
    reject_unknown_members(
        members,
        &[
            "collections",
            "intersects",
            "predicate",
            "within_distance_m",
            "filter",
            "properties",
            "limit",
            "offset",
            "crs",
        ],
    )?;
    let (search, properties) = parse_search(&state, members)?;
    let (offset, limit) = (search.offset, search.limit);
    let page = state
        .analysis
        .run(move |budget| search.run(budget))
        .await??;
    if csv {
        return Ok(with_type(
            search_csv(&page.hits, &properties),
            "text/csv; charset=utf-8",
        ));
    }
    let features: Vec<String> = page
        .hits
        .iter()
        .map(|hit| {
            feature_text(
                &hit.feature,
                &properties,
                &[("collection", json!(hit.collection.def.id.as_str()))],
            )
        })
        .collect();
    let mut links = vec![
        json!({ "href": state.url("/search"), "rel": "self", "type": media::GEOJSON, "method": "POST", "body": body }),
    ];
    if offset + page.hits.len() < page.number_matched {
        let mut next = body.clone();
        next["offset"] = json!(offset + limit);
        links.push(json!({ "href": state.url("/search"), "rel": "next", "type": media::GEOJSON, "method": "POST", "body": next }));
    }
    if offset > 0 {
        let mut prev = body.clone();
        prev["offset"] = json!(offset.saturating_sub(limit));
        links.push(json!({ "href": state.url("/search"), "rel": "prev", "type": media::GEOJSON, "method": "POST", "body": prev }));
    }
    let head = json!({
        "type": "FeatureCollection",
        "numberMatched": page.number_matched,
        "numberReturned": features.len(),
        "timeStamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "links": links,
    });
    Ok(with_type(collection_text(&head, &features), media::GEOJSON))
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

/// The region of a polygonal query geometry (other types were refused when it was parsed).
fn region_of(geometry: Geometry<f64>) -> Region {
    let polygons = match geometry {
        Geometry::Polygon(p) => MultiPolygon(vec![p]),
        Geometry::MultiPolygon(m) => m,
        _ => MultiPolygon(Vec::new()),
    };
    Region::new(polygons)
}

fn group_by_for(
    members: &Map<String, Value>,
    collection: &Collection,
) -> Result<Vec<String>, ApiError> {
    let names = match members.get("group_by") {
        Some(Value::Object(per_collection)) => {
            string_list(per_collection.get(collection.def.id.as_str()), "group_by")?
        }
        other => string_list(other, "group_by")?,
    };
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

/// `POST /analysis/summary`: per collection, count and geodesic length and area clipped to a
/// polygon, in all and by the `group_by` properties.
pub async fn summarize(State(state): State<AppState>, body: Body) -> Result<Response, ApiError> {
    let body = read_json(body).await?;
    let members = object(&body)?;
    reject_unknown_members(
        members,
        &["collections", "intersects", "group_by", "filter", "crs"],
    )?;
    let crs = crs_param(members.get("crs").and_then(Value::as_str))?;
    let geometry = counted_geometry(members.get("intersects"), "intersects")?.clone();
    let (collections, filter) = target_collections(&state, members)?;
    let group_bys = collections
        .iter()
        .map(|c| group_by_for(members, c))
        .collect::<Result<Vec<_>, _>>()?;
    let (area_m2, summaries) = state
        .analysis
        .run(move |budget| {
            let targets = match compile_targets(collections, filter.as_ref(), budget)? {
                Ok(targets) => targets,
                Err(e) => return Ok(Err(e)),
            };
            let targets_with_groups: Vec<(Target, Vec<String>)> =
                targets.into_iter().zip(group_bys).collect();
            let geometry = match query_geometry(
                &geometry,
                "intersects",
                crs,
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
        })
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

/// `GET /collections/{id}/nearest?lon=&lat=&k=5[&max_distance_m=][&crs=]`.
pub async fn nearest_features(
    State(state): State<AppState>,
    Path(collection_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let pairs = query_pairs(query.as_deref())?;
    check_known(&pairs, &["lon", "lat", "k", "max_distance_m", "crs", "f"])?;
    let collection = state.catalog.collection(&collection_id)?;
    let lon = number(&pairs, "lon", "a longitude in degrees")?
        .ok_or_else(|| ApiError::invalid("lon", "", "a longitude in degrees", "missing"))?;
    let lat = number(&pairs, "lat", "a latitude in degrees")?
        .ok_or_else(|| ApiError::invalid("lat", "", "a latitude in degrees", "missing"))?;
    let crs = crs_param(param(&pairs, "crs"))?;
    let (x, y) = position(lon, lat, crs, "lon,lat")?;
    let k = match param(&pairs, "k") {
        None => 5,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|k| (1..=MAX_K).contains(k))
            .ok_or_else(|| {
                ApiError::invalid(
                    "k",
                    raw,
                    format!("an integer from 1 to {MAX_K}"),
                    "not an allowed count",
                )
            })?,
    };
    let max_distance_m = number(&pairs, "max_distance_m", "metres ≥ 0")?;
    if let Some(d) = max_distance_m.filter(|d| *d < 0.0) {
        return Err(ApiError::invalid(
            "max_distance_m",
            &d.to_string(),
            "metres ≥ 0",
            "negative",
        ));
    }
    let found = collection.index.nearest(x, y, k, max_distance_m);
    let features: Vec<String> = found
        .iter()
        .map(|(f, d)| with_property(f, "distance_m", &json!((d * 1000.0).round() / 1000.0)))
        .collect();
    let head = json!({
        "type": "FeatureCollection",
        "numberReturned": features.len(),
        "query": { "lon": x, "lat": y, "k": k, "max_distance_m": max_distance_m },
    });
    Ok(with_type(collection_text(&head, &features), media::GEOJSON))
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

/// `GET /grid/stats?level=&collection=[&group_by=][&at=][&f=json|geojson]`.
pub async fn grid_stats(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let pairs = query_pairs(query.as_deref())?;
    check_known(&pairs, &["level", "collection", "group_by", "at", "f"])?;
    let level = match param(&pairs, "level") {
        None => Level::Grid,
        Some(raw) => Level::parse(raw)
            .filter(|l| *l != Level::District || raw == "district")
            .ok_or_else(|| {
                ApiError::invalid(
                    "level",
                    raw,
                    "grid, community, street or district",
                    "unknown level",
                )
            })?,
    };
    let collection_id = param(&pairs, "collection")
        .ok_or_else(|| ApiError::invalid("collection", "", "a collection id", "missing"))?;
    let collection = state.catalog.collection(collection_id).map_err(|_| {
        ApiError::invalid(
            "collection",
            collection_id,
            "ids listed by /collections",
            "unknown collection",
        )
    })?;
    let group_by: Vec<String> = param(&pairs, "group_by")
        .map(|g| g.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    let mut members = Map::new();
    members.insert("group_by".into(), json!(group_by));
    let group_by = group_by_for(&members, &collection)?;
    let day = date_param(param(&pairs, "at"), "at")?;
    let geojson = geojson_format(&pairs)?;
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
}
