//! `/collections…`: the collections, their metadata and their features (OGC API – Features
//! Part 1, and the queryables of Part 3).
//!
//! | handler | operation | request types |
//! | --- | --- | --- |
//! | [`list_collections`] | `getCollections` | [`FormatParam`] |
//! | [`describe_collection`] | `describeCollection` | [`CollectionPath`], [`FormatParam`] |
//! | [`collection_schema`] | `getCollectionSchema` | [`CollectionPath`], [`SchemaParam`] |
//! | [`list_queryables`] | `getQueryables` | [`CollectionPath`], [`SchemaParam`] |
//! | [`list_items`] | `getFeatures` | [`CollectionPath`], [`ItemsParams`] |
//! | [`get_item`] | `getFeature` | [`FeaturePath`], [`FormatParam`] |
//!
//! The items query is parsed in two steps: [`ItemsParams`] reads what needs no collection
//! (paging, bbox, datetime, the filter's language and CRS), [`ItemsParams::into_query`] what
//! needs the collection's schema (the filter, `sortby`, `properties` and the property filters).
//! Feature bodies are spliced from each feature's cached GeoJSON text, not re-serialized.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::openapi::schema::{ArrayBuilder, Object, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{FromQuery, Query, QueryParams, query_names};
use super::openapi::{
    AnalysisBusy, AnalysisTimedOut, BadRequest, Link, NotAcceptable, NotFound, ServerError,
    Unauthorized,
};
use super::{ApiError, AppState, Format, html, media, negotiate, vary_accept, with_type};
use crate::filter::{Filter, FilterLang};
use crate::model::feature::feature_json;
use crate::model::{Bbox, CollectionDef, DateInterval, Feature, Schema as PropertySchema};
use crate::service::Collection;
use crate::service::items::{
    DEFAULT_LIMIT, ItemsPage, ItemsQuery, MAX_LIMIT, SortKey, query_items, query_items_within,
};

/// Collections, their metadata and their features.
pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_collections))
        .routes(routes!(describe_collection))
        .routes(routes!(collection_schema))
        .routes(routes!(list_queryables))
        .routes(routes!(list_items))
        .routes(routes!(get_item))
}

/// CRS84: the only CRS of OGC API – Features Part 1.
pub const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";

/// The link relation of a collection's queryables (OGC API – Features – Part 3).
const REL_QUERYABLES: &str = "http://www.opengis.net/def/rel/ogc/1.0/queryables";

// ---------------------------------------------------------------------------------------------
// Requests

/// The collection a request is about.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct CollectionPath {
    /// A collection id listed by /collections
    #[serde(rename = "collectionId")]
    #[param(example = "grid_cells")]
    collection_id: String,
}

/// The feature a request is about.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct FeaturePath {
    /// A collection id listed by /collections
    #[serde(rename = "collectionId")]
    #[param(example = "grid_cells")]
    collection_id: String,
    /// A feature id of the collection
    #[serde(rename = "featureId")]
    feature_id: String,
}

/// The query of the collection resources: nothing but `f`.
#[derive(Debug, Clone, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct FormatParam {
    /// The format of the response; without it, the Accept header decides (JSON by default).
    #[param(schema_with = format_schema)]
    f: Option<String>,
}

impl FromQuery for FormatParam {
    fn from_query(query: &mut QueryParams) -> Result<Self, ApiError> {
        Ok(Self {
            f: query.get("f").map(str::to_owned),
        })
    }
}

/// The query of a collection's schema and queryables: at most `f=json` (JSON Schema is the one
/// format offered; clients such as GDAL add `f=json` to every request).
#[derive(Debug, Clone, Copy, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SchemaParam {
    /// The format: only `json` (JSON Schema).
    #[param(value_type = Option<String>, pattern = "^json$", example = "json")]
    #[expect(
        dead_code,
        reason = "checked when parsed; JSON Schema is the one format, so nothing reads it"
    )]
    f: Option<()>,
}

impl FromQuery for SchemaParam {
    fn from_query(query: &mut QueryParams) -> Result<Self, ApiError> {
        let f = query.parse_with("f", |raw| match raw {
            "json" => Ok(()),
            other => Err(ApiError::invalid(
                "f",
                other,
                "json",
                "only JSON Schema is offered here",
            )),
        })?;
        Ok(Self { f })
    }
}

/// A parameter's value as given (the paging links repeat it) and as parsed.
#[derive(Debug, Clone)]
struct Given<T> {
    raw: String,
    value: T,
}

/// The query of `/collections/{collectionId}/items`: the standard parameters, and `name=value`
/// for any simple property of the collection (only features whose value equals this).
#[derive(Debug, Clone, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ItemsParams {
    /// The number of features to return at most; larger values are clamped to the maximum.
    #[param(schema_with = limit_schema)]
    limit: Option<usize>,
    /// The number of matching features to skip (the next link sets it).
    #[param(value_type = Option<u64>, minimum = 0, default = 0)]
    offset: Option<usize>,
    /// minLon,minLat,maxLon,maxLat in CRS84 (or 6 numbers with heights, ignored); minLon >
    /// maxLon crosses the antimeridian.
    #[param(schema_with = bbox_schema, style = Form, explode = false)]
    bbox: Option<Given<Bbox>>,
    /// The CRS of bbox; only CRS84.
    #[param(rename = "bbox-crs", schema_with = crs84_schema)]
    bbox_crs: Option<String>,
    /// An instant or interval (RFC 3339 date-times or dates, `..` for an open end), matched
    /// against the collection's temporal property (x-temporal-property); ignored by
    /// collections without one.
    #[param(value_type = Option<String>)]
    datetime: Option<Given<DateInterval>>,
    /// A CQL2 expression over the collection's queryables
    /// (/collections/{collectionId}/queryables): comparisons, LIKE, BETWEEN, IN, IS NULL,
    /// AND/OR/NOT, arithmetic, CASEI/ACCENTI, S_* spatial and T_* temporal functions. Property
    /// names are case-sensitive. Limits (400 beyond them): 1 MiB, 32 levels of parentheses and
    /// brackets (64 levels of JSON in cql2-json), 256 operators (NOT, comparisons, LIKE, IN,
    /// BETWEEN, arithmetic, unary minus), 1,024 AND/OR; geometry literals at most 20,000
    /// vertices, 500 parts, 1,000 rings.
    filter: Option<String>,
    /// The encoding of filter.
    #[param(rename = "filter-lang", schema_with = filter_lang_schema)]
    filter_lang: Option<FilterLang>,
    /// The CRS of geometries in filter; only CRS84.
    #[param(rename = "filter-crs", schema_with = crs84_schema)]
    filter_crs: Option<String>,
    /// Comma-separated properties to sort by before paging, each optionally prefixed by +
    /// (ascending, the default) or - (descending); stable; nulls last when ascending.
    #[param(schema_with = sortby_schema, style = Form, explode = false)]
    sortby: Option<String>,
    /// Comma-separated properties to return (all when absent).
    #[param(value_type = Option<Vec<String>>, style = Form, explode = false)]
    properties: Option<String>,
    /// The format of the response; without it, the Accept header decides (GeoJSON by default).
    #[param(schema_with = format_schema)]
    f: Option<String>,
    /// `name=value` pairs on the collection's properties, in the order given.
    #[param(ignore)]
    equals: Vec<(String, String)>,
}

impl FromQuery for ItemsParams {
    const OPEN: bool = true;

    fn from_query(query: &mut QueryParams) -> Result<Self, ApiError> {
        Ok(Self {
            limit: query.parse_with("limit", parse_limit)?,
            offset: query.parse_with("offset", parse_offset)?,
            bbox: given(query, "bbox", parse_bbox)?,
            bbox_crs: query.parse_with("bbox-crs", |raw| only_crs84("bbox-crs", raw))?,
            datetime: given(query, "datetime", parse_datetime)?,
            filter: query.get("filter").map(str::to_owned),
            filter_lang: query.parse_with("filter-lang", parse_filter_lang)?,
            filter_crs: query.parse_with("filter-crs", |raw| only_crs84("filter-crs", raw))?,
            sortby: query.get("sortby").map(str::to_owned),
            properties: query.get("properties").map(str::to_owned),
            f: query.get("f").map(str::to_owned),
            equals: query.rest(),
        })
    }
}

impl ItemsParams {
    /// The validated items query for `collection`: its filter compiled, `sortby`,
    /// `properties` and the property filters checked against its schema.
    pub(crate) fn into_query(self, collection: &Collection) -> Result<ItemsQuery, ApiError> {
        let schema = &collection.def.schema;
        let lang = self.filter_lang.unwrap_or(FilterLang::Cql2Text);
        Ok(ItemsQuery {
            bbox: self.bbox.map(|b| b.value),
            datetime: self.datetime.map(|d| d.value),
            filter: self
                .filter
                .map(|text| parse_filter(collection, lang, &text).map(Arc::new))
                .transpose()?,
            sort: match self.sortby {
                Some(text) => parse_sortby(schema, &text)?,
                None => Vec::new(),
            },
            properties: self
                .properties
                .map(|text| parse_properties(schema, &text))
                .transpose()?,
            equals: self
                .equals
                .iter()
                .map(|(name, value)| equality_filter(schema, name, value))
                .collect::<Result<_, _>>()?,
            offset: self.offset.unwrap_or(0),
            limit: self.limit.unwrap_or(DEFAULT_LIMIT),
        })
    }

    /// What the paging links repeat: every parameter given but `limit`, `offset` and `f`,
    /// the standard ones in their declared order, then the property filters as given.
    fn pager(&self) -> Pager {
        let standard = [
            ("bbox", self.bbox.as_ref().map(|b| b.raw.as_str())),
            ("bbox-crs", self.bbox_crs.as_deref()),
            ("datetime", self.datetime.as_ref().map(|d| d.raw.as_str())),
            ("filter", self.filter.as_deref()),
            ("filter-lang", self.filter_lang.map(FilterLang::name)),
            ("filter-crs", self.filter_crs.as_deref()),
            ("sortby", self.sortby.as_deref()),
            ("properties", self.properties.as_deref()),
        ];
        let mut kept: Vec<(String, String)> = standard
            .into_iter()
            .filter_map(|(name, value)| Some((name.to_owned(), value?.to_owned())))
            .collect();
        kept.extend(self.equals.iter().cloned());
        Pager {
            kept,
            f: self.f.clone(),
        }
    }
}

/// `name`'s value parsed by `parse`, kept with its text.
fn given<T>(
    query: &mut QueryParams,
    name: &str,
    parse: impl FnOnce(&str) -> Result<T, ApiError>,
) -> Result<Option<Given<T>>, ApiError> {
    query.parse_with(name, |raw| {
        Ok(Given {
            raw: raw.to_owned(),
            value: parse(raw)?,
        })
    })
}

/// `limit`: a positive integer, clamped to [`MAX_LIMIT`].
fn parse_limit(raw: &str) -> Result<usize, ApiError> {
    let limit: u64 = raw.parse().ok().filter(|&n| n >= 1).ok_or_else(|| {
        ApiError::invalid(
            "limit",
            raw,
            format!("an integer from 1 to {MAX_LIMIT} (larger values are clamped)"),
            "not a positive integer",
        )
    })?;
    Ok(usize::try_from(limit).unwrap_or(MAX_LIMIT).min(MAX_LIMIT))
}

/// `offset`: a non-negative integer.
fn parse_offset(raw: &str) -> Result<usize, ApiError> {
    raw.parse().map_err(|_| {
        ApiError::invalid(
            "offset",
            raw,
            "an integer ≥ 0",
            "not a non-negative integer",
        )
    })
}

/// `bbox`: four (or six) numbers in CRS84.
fn parse_bbox(raw: &str) -> Result<Bbox, ApiError> {
    Bbox::parse(raw).map_err(|e| {
        ApiError::invalid(
            "bbox",
            raw,
            "minLon,minLat,maxLon,maxLat in CRS84 (or 6 numbers with heights)",
            e.to_string(),
        )
    })
}

/// `datetime`: an instant or an interval.
fn parse_datetime(raw: &str) -> Result<DateInterval, ApiError> {
    DateInterval::parse(raw).map_err(|e| {
        ApiError::invalid(
            "datetime",
            raw,
            "an RFC 3339 date-time or date, or an interval start/end with .. for an open end",
            e.to_string(),
        )
    })
}

/// `filter-lang`: `cql2-text` or `cql2-json`.
fn parse_filter_lang(raw: &str) -> Result<FilterLang, ApiError> {
    FilterLang::from_name(raw).ok_or_else(|| {
        ApiError::invalid(
            "filter-lang",
            raw,
            "cql2-text or cql2-json",
            "unknown filter language",
        )
    })
}

/// `bbox-crs` and `filter-crs`: CRS84, the only CRS offered.
fn only_crs84(name: &str, raw: &str) -> Result<String, ApiError> {
    if raw == CRS84 {
        Ok(raw.to_owned())
    } else {
        Err(ApiError::invalid(name, raw, CRS84, "unsupported CRS"))
    }
}

/// The simple properties of `schema`, for messages.
fn simple_names(schema: &PropertySchema) -> String {
    schema
        .properties
        .iter()
        .filter(|p| p.ty.is_simple())
        .map(|p| p.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `sortby`: comma-separated simple properties, each optionally prefixed by `+` or `-`.
fn parse_sortby(schema: &PropertySchema, value: &str) -> Result<Vec<SortKey>, ApiError> {
    value
        .split(',')
        .map(|raw| {
            // A `+` in a query string decodes to a space.
            let (descending, name) = match raw.strip_prefix('-') {
                Some(name) => (true, name),
                None => (false, raw.trim_start().trim_start_matches('+')),
            };
            let name = name.trim();
            match schema.property(name) {
                Some(p) if p.ty.is_simple() => Ok(SortKey {
                    property: name.to_owned(),
                    ty: p.ty,
                    descending,
                }),
                _ => Err(ApiError::invalid(
                    "sortby",
                    value,
                    format!(
                        "comma-separated properties, each optionally prefixed by + (ascending) or - (descending), among: {}",
                        simple_names(schema)
                    ),
                    format!("`{name}` is not a sortable property"),
                )),
            }
        })
        .collect()
}

/// `properties`: the comma-separated properties to return.
fn parse_properties(schema: &PropertySchema, value: &str) -> Result<Vec<String>, ApiError> {
    let mut names = Vec::new();
    for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if schema.property(name).is_none() {
            let all: Vec<&str> = schema.properties.iter().map(|p| p.name.as_str()).collect();
            return Err(ApiError::invalid(
                "properties",
                value,
                format!("comma-separated properties among: {}", all.join(", ")),
                format!("unknown property `{name}`"),
            ));
        }
        names.push(name.to_owned());
    }
    Ok(names)
}

/// `filter` in `lang`, compiled for `collection`.
fn parse_filter(
    collection: &Collection,
    lang: FilterLang,
    value: &str,
) -> Result<Filter, ApiError> {
    Filter::parse(value, lang, &collection.def).map_err(|e| {
        ApiError::invalid(
            "filter",
            value,
            format!(
                "a CQL2 expression in {lang} over the queryables of /collections/{}/queryables",
                collection.def.id
            ),
            e.to_string(),
        )
    })
}

/// `property=value` on a simple property (queryables as query parameters); any other name is an
/// unknown parameter, and the problem lists the standard parameters, then the simple properties.
fn equality_filter(
    schema: &PropertySchema,
    property: &str,
    value: &str,
) -> Result<(String, Value), ApiError> {
    match schema.property(property) {
        Some(p) if p.ty.is_simple() => {
            let typed = p.parse_text(value).map_err(|e| {
                ApiError::invalid(property, value, e.allowed.clone(), e.problem.clone())
            })?;
            Ok((property.to_owned(), typed))
        }
        _ => {
            let mut allowed = query_names::<ItemsParams>();
            allowed.extend(
                schema
                    .properties
                    .iter()
                    .filter(|p| p.ty.is_simple())
                    .map(|p| p.name.clone()),
            );
            Err(ApiError::UnknownParameter {
                parameter: property.to_owned(),
                allowed,
            })
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parameter schemas the attributes cannot say (enumerations, bounds from constants)

fn string_enum(values: &[&str]) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
}

/// `f`: json, geojson or html.
fn format_schema() -> Object {
    string_enum(&["json", "geojson", "html"]).build()
}

/// `bbox-crs` and `filter-crs`: CRS84 only.
fn crs84_schema() -> Object {
    string_enum(&[CRS84])
        .format(Some(SchemaFormat::Custom("uri".into())))
        .build()
}

/// `filter-lang`: cql2-text (the default) or cql2-json.
fn filter_lang_schema() -> Object {
    string_enum(&["cql2-text", "cql2-json"])
        .default(Some(json!("cql2-text")))
        .build()
}

/// `limit`: from 1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] by default.
fn limit_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(1))
        .maximum(Some(MAX_LIMIT))
        .default(Some(json!(DEFAULT_LIMIT)))
        .build()
}

/// `bbox`: four or six numbers.
fn bbox_schema() -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(ObjectBuilder::new().schema_type(Type::Number))
        .min_items(Some(4))
        .max_items(Some(6))
        .into()
}

/// `sortby`: property names, each optionally prefixed by + or -.
fn sortby_schema() -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^[+-]?[A-Za-z_][A-Za-z0-9_:.-]*$")),
        )
        .into()
}

// ---------------------------------------------------------------------------------------------
// Answers

/// The collections (`collections`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = collections)]
struct Collections {
    links: Vec<Link>,
    collections: Vec<CollectionInfo>,
}

/// One collection's metadata (`collectionInfo`), as in `/collections` and
/// `/collections/{collectionId}`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = collectionInfo)]
struct CollectionInfo {
    id: String,
    /// "中文 English", or the one title when both are the same.
    title: String,
    description: String,
    /// Always `feature`.
    #[serde(rename = "itemType")]
    item_type: &'static str,
    /// Always CRS84 alone.
    crs: Vec<&'static str>,
    /// Always CRS84.
    #[serde(rename = "storageCrs")]
    storage_crs: &'static str,
    extent: Extent,
    #[serde(rename = "x-title-zh")]
    title_zh: String,
    #[serde(rename = "x-title-en")]
    title_en: String,
    /// The GeoJSON geometry types the collection accepts.
    #[serde(rename = "x-geometry-types")]
    geometry_types: Vec<&'static str>,
    /// The properties holding each feature's time (what `datetime` is matched against), or
    /// null when the collection has none.
    #[serde(rename = "x-temporal-property")]
    #[schema(required = true)]
    temporal_property: Option<TemporalProperty>,
    /// Whether the data are synthetic (generated).
    #[serde(rename = "x-synthetic")]
    synthetic: bool,
    /// Where the data come from, as a map must credit them; null when unknown.
    #[schema(required = true)]
    attribution: Option<String>,
    /// The licence of the data (a name or a URL); null when unknown.
    #[schema(required = true)]
    license: Option<String>,
    /// How many features the collection holds.
    #[serde(rename = "x-feature-count")]
    feature_count: usize,
    links: Vec<Link>,
}

/// The extent of a collection; either part is absent when unknown (no feature, no time).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = collectionExtent)]
struct Extent {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    spatial: Option<SpatialExtent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    temporal: Option<TemporalExtent>,
}

/// The bounding box of every feature.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = spatialExtent)]
struct SpatialExtent {
    /// One box: minLon, minLat, maxLon, maxLat.
    bbox: Vec<[f64; 4]>,
    /// Always CRS84.
    crs: &'static str,
}

/// The time span of every feature.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = temporalExtent)]
struct TemporalExtent {
    /// One interval: start and end (RFC 3339), null where open.
    interval: Vec<[Option<String>; 2]>,
    /// Always the Gregorian calendar.
    trs: &'static str,
}

/// The properties holding a feature's time.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = temporalProperty)]
struct TemporalProperty {
    /// The property holding the start (or the only) date.
    start: String,
    /// The property holding the end of a validity period, or null.
    #[schema(required = true)]
    end: Option<String>,
}

/// A JSON Schema (draft 2019-09) of a collection's properties: its schema, or its queryables.
#[derive(ToSchema)]
#[schema(as = propertiesSchema)]
#[expect(dead_code, reason = "documents the JSON the handler writes")]
struct PropertiesSchema {
    #[schema(rename = "$schema")]
    schema: String,
    /// This document's URL.
    #[schema(rename = "$id")]
    id: String,
    /// Always `object`.
    #[schema(rename = "type")]
    kind: String,
    title: String,
    /// One JSON Schema per property, the primary geometry's first.
    #[schema(value_type = Object)]
    properties: Value,
    /// The properties every feature has.
    required: Vec<String>,
    /// Whether features may have other properties (always false for the queryables).
    #[schema(rename = "additionalProperties")]
    additional_properties: bool,
}

/// The type of a GeoJSON object.
#[derive(ToSchema)]
#[expect(dead_code, reason = "documents the JSON the handler writes")]
enum FeatureType {
    Feature,
}

/// The type of a GeoJSON collection.
#[derive(ToSchema)]
#[expect(dead_code, reason = "documents the JSON the handler writes")]
enum FeatureCollectionType {
    FeatureCollection,
}

/// A GeoJSON feature (`featureGeoJSON`).
#[derive(ToSchema)]
#[schema(as = featureGeoJSON)]
#[expect(dead_code, reason = "documents the JSON the handler writes")]
struct FeatureGeoJson {
    #[schema(rename = "type", inline)]
    kind: FeatureType,
    id: String,
    /// A GeoJSON geometry in CRS84.
    #[schema(value_type = Object)]
    geometry: Value,
    /// The feature's properties (only those asked for with `properties`).
    #[schema(value_type = Object)]
    properties: Value,
    /// On a single feature only: itself, as HTML, its collection.
    #[schema(nullable = false)]
    links: Option<Vec<Link>>,
}

/// A page of GeoJSON features (`featureCollectionGeoJSON`).
#[derive(ToSchema)]
#[schema(as = featureCollectionGeoJSON)]
#[expect(dead_code, reason = "documents the JSON the handler writes")]
struct FeatureCollectionGeoJson {
    #[schema(rename = "type", inline)]
    kind: FeatureCollectionType,
    /// How many features match in all.
    #[schema(rename = "numberMatched")]
    number_matched: u64,
    /// How many features this page holds.
    #[schema(rename = "numberReturned")]
    number_returned: u64,
    /// When the page was made.
    #[schema(rename = "timeStamp", format = DateTime)]
    time_stamp: String,
    /// This page, in the other format, the collection, the next and previous pages.
    links: Vec<Link>,
    features: Vec<FeatureGeoJson>,
}

fn link(href: impl Into<String>, rel: &str, kind: &str, title: &str) -> Link {
    Link {
        href: href.into(),
        rel: Some(rel.to_owned()),
        media_type: Some(kind.to_owned()),
        title: Some(title.to_owned()),
    }
}

/// Links from `base`: a path suffix, the relation, the media type and the title of each.
type LinkTable<const N: usize> = [(&'static str, &'static str, &'static str, &'static str); N];

/// The links of the list of collections.
const COLLECTIONS_LINKS: LinkTable<2> = [
    ("", "self", media::JSON, "the collections"),
    (
        "?f=html",
        "alternate",
        media::HTML,
        "the collections as HTML",
    ),
];

/// The links of a collection.
const COLLECTION_LINKS: LinkTable<7> = [
    ("", "self", media::JSON, "this collection"),
    (
        "?f=html",
        "alternate",
        media::HTML,
        "this collection as HTML",
    ),
    ("/items", "items", media::GEOJSON, "the features"),
    (
        "/items?f=html",
        "items",
        media::HTML,
        "the features as HTML",
    ),
    (
        "/schema",
        "describedby",
        media::SCHEMA,
        "the property schema",
    ),
    (
        "/queryables",
        REL_QUERYABLES,
        media::SCHEMA,
        "the queryables (for filter and sortby)",
    ),
    (
        "/tiles",
        "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
        media::JSON,
        "vector tiles",
    ),
];

/// The links of a feature to itself (then comes its collection).
const FEATURE_LINKS: LinkTable<2> = [
    ("", "self", media::GEOJSON, "this feature"),
    ("?f=html", "alternate", media::HTML, "this feature as HTML"),
];

/// The links of `table` from `base`, absolute.
fn links<const N: usize>(state: &AppState, base: &str, table: &LinkTable<N>) -> Vec<Link> {
    table
        .iter()
        .map(|(suffix, rel, kind, title)| {
            link(state.url(&format!("{base}{suffix}")), rel, kind, title)
        })
        .collect()
}

fn rfc3339(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// "中文 English", or the one title when both are the same.
pub(crate) fn display_title(def: &CollectionDef) -> String {
    if def.title_zh == def.title_en {
        def.title_zh.clone()
    } else {
        format!("{} {}", def.title_zh, def.title_en)
    }
}

impl CollectionInfo {
    fn new(state: &AppState, c: &Collection) -> Self {
        let id = c.def.id.as_str();
        let base = format!("/collections/{id}");
        let extent = Extent {
            spatial: c.index.extent().map(|rect| SpatialExtent {
                bbox: vec![[rect.min().x, rect.min().y, rect.max().x, rect.max().y]],
                crs: CRS84,
            }),
            temporal: c.temporal_extent.as_ref().map(|t| TemporalExtent {
                interval: vec![[t.start.map(rfc3339), t.end.map(rfc3339)]],
                trs: "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
            }),
        };
        Self {
            id: id.to_owned(),
            title: display_title(&c.def),
            description: c.def.description.clone(),
            item_type: "feature",
            crs: vec![CRS84],
            storage_crs: CRS84,
            extent,
            title_zh: c.def.title_zh.clone(),
            title_en: c.def.title_en.clone(),
            geometry_types: c.def.family.type_names().to_vec(),
            temporal_property: c.def.temporal.as_ref().map(|t| TemporalProperty {
                start: t.start.clone(),
                end: t.end.clone(),
            }),
            synthetic: c.def.synthetic,
            attribution: c.def.attribution.clone(),
            license: c.def.license.clone(),
            feature_count: c.index.len(),
            links: links(state, &base, &COLLECTION_LINKS),
        }
    }
}

/// `body` as JSON of `media_type`.
fn json_body(body: &impl Serialize, media_type: &'static str) -> Result<Response, ApiError> {
    let text = serde_json::to_string(body).map_err(ApiError::internal)?;
    Ok(with_type(text, media_type))
}

/// `body` as a JSON value, for the HTML pages.
fn json_value(body: &impl Serialize) -> Result<Value, ApiError> {
    serde_json::to_value(body).map_err(ApiError::internal)
}

// ---------------------------------------------------------------------------------------------
// Handlers

/// The collections
#[utoipa::path(get, path = "/collections", operation_id = "getCollections", tag = "Capabilities",
    params(FormatParam), security((), ("bearerAuth" = [])),
    responses(
        (status = 200, description = "The collections", content(
            (Collections = "application/json"), (String = "text/html"))),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 406, response = NotAcceptable), (status = 500, response = ServerError)))]
pub async fn list_collections(
    State(state): State<AppState>,
    Query(query): Query<FormatParam>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let format = negotiate(query.f.as_deref(), &headers)?;
    let collections = state.catalog.collections();
    let body = Collections {
        links: links(&state, "/collections", &COLLECTIONS_LINKS),
        collections: collections
            .iter()
            .map(|c| CollectionInfo::new(&state, c))
            .collect(),
    };
    Ok(vary_accept(match format {
        Format::Json => json_body(&body, media::JSON)?,
        Format::Html => with_type(html::collections(&json_value(&body)?), media::HTML),
    }))
}

/// One collection
#[utoipa::path(get, path = "/collections/{collectionId}", operation_id = "describeCollection",
    tag = "Capabilities", params(CollectionPath, FormatParam), security((), ("bearerAuth" = [])),
    responses(
        (status = 200, description = "The collection", content(
            (CollectionInfo = "application/json"), (String = "text/html"))),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 404, response = NotFound), (status = 406, response = NotAcceptable),
        (status = 500, response = ServerError)))]
pub async fn describe_collection(
    State(state): State<AppState>,
    Path(path): Path<CollectionPath>,
    Query(query): Query<FormatParam>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let format = negotiate(query.f.as_deref(), &headers)?;
    let collection = state.catalog.collection(&path.collection_id)?;
    let body = CollectionInfo::new(&state, &collection);
    Ok(vary_accept(match format {
        Format::Json => json_body(&body, media::JSON)?,
        Format::Html => with_type(
            html::collection(&json_value(&body)?, &collection.def),
            media::HTML,
        ),
    }))
}

/// The property schema of a collection
///
/// A JSON Schema of the features' properties, with their Chinese titles, enumerations and
/// bounds.
#[utoipa::path(get, path = "/collections/{collectionId}/schema",
    operation_id = "getCollectionSchema", tag = "Capabilities", params(CollectionPath, SchemaParam),
    security((), ("bearerAuth" = [])),
    responses(
        (status = 200, description = "JSON Schema", content(
            (PropertiesSchema = "application/schema+json"))),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 404, response = NotFound), (status = 500, response = ServerError)))]
pub async fn collection_schema(
    State(state): State<AppState>,
    Path(path): Path<CollectionPath>,
    Query(_): Query<SchemaParam>,
) -> Result<Response, ApiError> {
    let collection = state.catalog.collection(&path.collection_id)?;
    let mut schema = collection.def.json_schema();
    schema["$id"] = json!(state.url(&format!("/collections/{}/schema", path.collection_id)));
    Ok(with_type(schema.to_string(), media::SCHEMA))
}

/// The queryables of a collection (what filter and sortby may name)
///
/// A JSON Schema (OGC API – Features – Part 3): the geometry and every property except arrays.
#[utoipa::path(get, path = "/collections/{collectionId}/queryables",
    operation_id = "getQueryables", tag = "Capabilities", params(CollectionPath, SchemaParam),
    security((), ("bearerAuth" = [])),
    responses(
        (status = 200, description = "JSON Schema of the queryables (OGC API – Features – Part 3)",
            content((PropertiesSchema = "application/schema+json"))),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 404, response = NotFound), (status = 500, response = ServerError)))]
pub async fn list_queryables(
    State(state): State<AppState>,
    Path(path): Path<CollectionPath>,
    Query(_): Query<SchemaParam>,
) -> Result<Response, ApiError> {
    let collection = state.catalog.collection(&path.collection_id)?;
    let mut schema = collection.def.json_schema();
    if let Some(properties) = schema["properties"].as_object_mut() {
        properties.retain(|_, p| p["type"] != "array");
    }
    schema["$id"] = json!(state.url(&format!("/collections/{}/queryables", path.collection_id)));
    schema["title"] = json!(display_title(&collection.def));
    schema["additionalProperties"] = json!(false);
    Ok(with_type(schema.to_string(), media::SCHEMA))
}

/// The features of a collection
///
/// Besides the parameters listed, `name=value` on any simple (non-array) property of the
/// collection keeps the features whose value equals it; /collections/{collectionId}/queryables
/// lists the properties.
#[utoipa::path(get, path = "/collections/{collectionId}/items", operation_id = "getFeatures",
    tag = "Data", params(CollectionPath, ItemsParams), security((), ("bearerAuth" = [])),
    responses(
        (status = 200, description = "A page of features", content(
            (FeatureCollectionGeoJson = "application/geo+json"), (String = "text/html"))),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 404, response = NotFound), (status = 406, response = NotAcceptable),
        (status = 500, response = ServerError), (status = 503, response = AnalysisBusy),
        (status = 504, response = AnalysisTimedOut)))]
pub async fn list_items(
    State(state): State<AppState>,
    Path(path): Path<CollectionPath>,
    Query(params): Query<ItemsParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let format = negotiate(params.f.as_deref(), &headers)?;
    let collection = state.catalog.collection(&path.collection_id)?;
    let pager = params.pager();
    let items = Arc::new(params.into_query(&collection)?);
    let page = find_items(&state, &collection, &items).await?;
    let links = pager.links(&state, &collection.def, &items, &page, format);
    Ok(vary_accept(match format {
        Format::Json => with_type(feature_collection(&page, &links, &items)?, media::GEOJSON),
        Format::Html => with_type(
            html::items(&collection, &page, &links, items.offset),
            media::HTML,
        ),
    }))
}

/// One feature
///
/// With a strong `ETag`; `If-None-Match` with a current tag (or `*`) answers 304.
#[utoipa::path(get, path = "/collections/{collectionId}/items/{featureId}",
    operation_id = "getFeature", tag = "Data", params(FeaturePath, FormatParam),
    security((), ("bearerAuth" = [])),
    responses(
        (status = 200, description = "The feature", content(
            (FeatureGeoJson = "application/geo+json"), (String = "text/html")),
            headers(("ETag" = String, description = "The entity tag of the GeoJSON text (JSON answers only)"))),
        (status = 304, description = "The feature has not changed since the tag given in If-None-Match"),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 404, response = NotFound), (status = 406, response = NotAcceptable),
        (status = 500, response = ServerError)))]
pub async fn get_item(
    State(state): State<AppState>,
    Path(path): Path<FeaturePath>,
    Query(query): Query<FormatParam>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let format = negotiate(query.f.as_deref(), &headers)?;
    let feature = state
        .catalog
        .feature(&path.collection_id, &path.feature_id)?;
    let etag = HeaderValue::from_str(feature.etag()).map_err(ApiError::internal)?;
    let mut response = match (not_modified(&headers, feature.etag()), format) {
        (true, _) => StatusCode::NOT_MODIFIED.into_response(),
        (false, Format::Json) => with_type(
            feature_with_links(&state, &path.collection_id, &feature)?,
            media::GEOJSON,
        ),
        (false, Format::Html) => {
            let collection = state.catalog.collection(&path.collection_id)?;
            with_type(html::item(&collection, &feature), media::HTML)
        }
    };
    if format == Format::Json {
        response.headers_mut().insert(header::ETAG, etag);
    }
    Ok(vary_accept(response))
}

// ---------------------------------------------------------------------------------------------
// Shaping

/// Runs `items` on `collection`. A filter may test a large geometry literal against every
/// feature: that runs on the analysis pool within its budget; plain paging stays on the
/// request thread.
async fn find_items(
    state: &AppState,
    collection: &Arc<Collection>,
    items: &Arc<ItemsQuery>,
) -> Result<ItemsPage, ApiError> {
    if items.filter.is_none() {
        return Ok(query_items(collection, items));
    }
    let (collection, items) = (Arc::clone(collection), Arc::clone(items));
    Ok(state
        .analysis
        .run(move |budget| query_items_within(&collection, &items, budget))
        .await?)
}

/// The paging links of an items request: what they repeat, and the `f` given.
struct Pager {
    kept: Vec<(String, String)>,
    f: Option<String>,
}

impl Pager {
    /// The query string for another page: the same filters, `limit` and `offset` set.
    fn query(&self, limit: usize, offset: usize, f: Option<&str>) -> String {
        let mut pairs = self.kept.clone();
        if let Some(f) = f {
            pairs.push(("f".into(), f.into()));
        }
        pairs.push(("limit".into(), limit.to_string()));
        pairs.push(("offset".into(), offset.to_string()));
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    }

    /// This page, in the other format, the collection, and the next and previous pages when
    /// there are any.
    fn links(
        &self,
        state: &AppState,
        def: &CollectionDef,
        items: &ItemsQuery,
        page: &ItemsPage,
        format: Format,
    ) -> Vec<Link> {
        let path = state.url(&format!("/collections/{}/items", def.id));
        let (self_type, other_type, other_f) = match format {
            Format::Json => (media::GEOJSON, media::HTML, "html"),
            Format::Html => (media::HTML, media::GEOJSON, "json"),
        };
        let self_f = self.f.as_deref();
        let (limit, offset) = (items.limit, items.offset);
        let page_link = |offset: usize, f: Option<&str>, rel: &str, kind: &str, title: &str| {
            link(
                format!("{path}?{}", self.query(limit, offset, f)),
                rel,
                kind,
                title,
            )
        };
        let mut links = vec![
            page_link(offset, self_f, "self", self_type, "this page"),
            page_link(
                offset,
                Some(other_f),
                "alternate",
                other_type,
                "this page in another format",
            ),
            link(
                state.url(&format!("/collections/{}", def.id)),
                "collection",
                media::JSON,
                "the collection",
            ),
        ];
        if offset + page.features.len() < page.number_matched {
            links.push(page_link(
                offset + limit,
                self_f,
                "next",
                self_type,
                "next page",
            ));
        }
        if offset > 0 {
            let prev = offset.saturating_sub(limit);
            links.push(page_link(prev, self_f, "prev", self_type, "previous page"));
        }
        links
    }
}

/// A page as a GeoJSON `FeatureCollection`, spliced from each feature's cached text (or
/// projected to `items.properties`).
fn feature_collection(
    page: &ItemsPage,
    links: &[Link],
    items: &ItemsQuery,
) -> Result<String, ApiError> {
    let links = serde_json::to_string(links).map_err(ApiError::internal)?;
    let body_size: usize = page.features.iter().map(|f| f.json().len() + 1).sum();
    let mut body = String::with_capacity(body_size + links.len() + 256);
    body.push_str("{\"type\":\"FeatureCollection\",\"numberMatched\":");
    body.push_str(&page.number_matched.to_string());
    body.push_str(",\"numberReturned\":");
    body.push_str(&page.features.len().to_string());
    body.push_str(",\"timeStamp\":\"");
    body.push_str(&rfc3339(Utc::now()));
    body.push_str("\",\"links\":");
    body.push_str(&links);
    body.push_str(",\"features\":[");
    for (i, feature) in page.features.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        match &items.properties {
            None => body.push_str(feature.json()),
            Some(names) => body.push_str(&projected_json(feature, names)),
        }
    }
    body.push_str("]}");
    Ok(body)
}

/// A feature as GeoJSON with only the properties `names`, in that order.
fn projected_json(feature: &Feature, names: &[String]) -> Box<str> {
    let properties: serde_json::Map<String, Value> = names
        .iter()
        .filter_map(|n| feature.properties.get(n).map(|v| (n.clone(), v.to_json())))
        .collect();
    feature_json(&feature.id, &feature.geometry, &properties)
}

/// Whether `If-None-Match` names `etag` (or `*`).
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',').any(|tag| {
                let tag = tag.trim();
                tag == "*" || tag.trim_start_matches("W/") == etag
            })
        })
}

/// One feature's cached GeoJSON with its links: itself, as HTML, its collection.
fn feature_with_links(
    state: &AppState,
    collection_id: &str,
    feature: &Feature,
) -> Result<String, ApiError> {
    let path = format!("/collections/{collection_id}/items/{}", feature.id);
    let mut links = links(state, &path, &FEATURE_LINKS);
    links.push(link(
        state.url(&format!("/collections/{collection_id}")),
        "collection",
        media::JSON,
        "the collection",
    ));
    let links = serde_json::to_string(&links).map_err(ApiError::internal)?;
    let text = feature.json();
    Ok(format!("{},\"links\":{links}}}", &text[..text.len() - 1]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_document_has_every_collection_path_with_its_operation() {
        let paths = &crate::api::generated_document()["paths"];
        for (path, operation_id) in [
            ("/collections", "getCollections"),
            ("/collections/{collectionId}", "describeCollection"),
            ("/collections/{collectionId}/schema", "getCollectionSchema"),
            ("/collections/{collectionId}/queryables", "getQueryables"),
            ("/collections/{collectionId}/items", "getFeatures"),
            (
                "/collections/{collectionId}/items/{featureId}",
                "getFeature",
            ),
        ] {
            assert_eq!(paths[path]["get"]["operationId"], operation_id, "{path}");
        }
    }

    #[test]
    fn the_items_parameters_are_documented_in_order_with_their_bounds() {
        assert_eq!(
            query_names::<ItemsParams>(),
            [
                "limit",
                "offset",
                "bbox",
                "bbox-crs",
                "datetime",
                "filter",
                "filter-lang",
                "filter-crs",
                "sortby",
                "properties",
                "f"
            ]
        );
        let document = crate::api::generated_document();
        let parameters =
            document["paths"]["/collections/{collectionId}/items"]["get"]["parameters"]
                .as_array()
                .unwrap();
        // The query parameters are shared in components/parameters and referred to.
        let resolved: Vec<&Value> = parameters
            .iter()
            .map(|p| match p["$ref"].as_str() {
                Some(r) => document.pointer(r.trim_start_matches('#')).unwrap(),
                None => p,
            })
            .collect();
        let named = |name: &str| {
            *resolved
                .iter()
                .find(|p| p["name"] == name)
                .unwrap_or_else(|| panic!("{name} is documented"))
        };
        assert_eq!(named("collectionId")["in"], "path");
        assert_eq!(named("collectionId")["example"], "grid_cells");
        let limit = &named("limit")["schema"];
        assert_eq!(
            (&limit["minimum"], &limit["maximum"], &limit["default"]),
            (&json!(1), &json!(MAX_LIMIT), &json!(DEFAULT_LIMIT))
        );
        assert_eq!(named("offset")["schema"]["minimum"], 0);
        assert_eq!(
            named("filter-lang")["schema"]["enum"],
            json!(["cql2-text", "cql2-json"])
        );
        assert_eq!(
            named("f")["schema"]["enum"],
            json!(["json", "geojson", "html"])
        );
        assert_eq!(named("bbox-crs")["schema"]["enum"], json!([CRS84]));
        assert!(
            resolved
                .iter()
                .all(|p| p["required"] != true || p["in"] == "path")
        );
    }

    fn params(query: &str) -> Result<ItemsParams, ApiError> {
        ItemsParams::from_query(&mut QueryParams::from_raw(Some(query))?)
    }

    #[test]
    fn a_large_limit_is_clamped_and_a_zero_limit_names_the_range() {
        assert_eq!(params("limit=50000").unwrap().limit, Some(MAX_LIMIT));
        match params("limit=0") {
            Err(ApiError::InvalidParameter {
                parameter, allowed, ..
            }) => {
                assert_eq!(parameter, "limit");
                assert!(allowed.contains(&MAX_LIMIT.to_string()), "{allowed}");
            }
            other => panic!("expected an invalid limit, got {other:?}"),
        }
    }

    #[test]
    fn the_paging_links_keep_every_filter_but_limit_offset_and_f() {
        let given =
            params("f=html&status=damaged&limit=5&bbox=1,2,3,4&filter-lang=cql2-json").unwrap();
        assert_eq!(given.equals, [("status".to_owned(), "damaged".to_owned())]);
        let pager = given.pager();
        assert_eq!(pager.f.as_deref(), Some("html"));
        assert_eq!(
            pager.query(5, 10, Some("json")),
            "bbox=1%2C2%2C3%2C4&filter-lang=cql2-json&status=damaged&f=json&limit=5&offset=10"
        );
    }
}
