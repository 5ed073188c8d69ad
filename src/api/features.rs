//! `/collections…`: collection metadata and their features (OGC API – Features Part 1).

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;

use super::{
    ApiError, AppState, Format, html, media, negotiate, param, query_pairs, vary_accept, with_type,
};
use std::sync::Arc;

use crate::filter::{Filter, FilterLang};
use crate::model::feature::feature_json;
use crate::model::{Bbox, DateInterval, Feature, Schema};
use crate::service::Collection;
use crate::service::items::{ItemsQuery, MAX_LIMIT, SortKey, query_items, query_items_within};

/// Collections, their metadata and their features.
pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .route("/collections", get(list_collections))
        .route("/collections/{collection_id}", get(describe_collection))
        .route(
            "/collections/{collection_id}/schema",
            get(collection_schema),
        )
        .route(
            "/collections/{collection_id}/queryables",
            get(list_queryables),
        )
        .route("/collections/{collection_id}/items", get(list_items))
        .route(
            "/collections/{collection_id}/items/{feature_id}",
            get(get_item),
        )
}

/// CRS84: the only CRS of OGC API – Features Part 1.
pub const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";

/// The parameters of the items endpoint besides property names.
const ITEMS_PARAMETERS: [&str; 11] = [
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
    "f",
];

/// The link relation of a collection's queryables (OGC API – Features – Part 3).
const REL_QUERYABLES: &str = "http://www.opengis.net/def/rel/ogc/1.0/queryables";

fn link(href: impl Into<String>, rel: &str, kind: &str, title: &str) -> Value {
    let href: String = href.into();
    json!({ "href": href, "rel": rel, "type": kind, "title": title })
}

fn rfc3339(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// "中文 English", or the one title when both are the same.
pub(crate) fn display_title(def: &crate::model::CollectionDef) -> String {
    if def.title_zh == def.title_en {
        def.title_zh.clone()
    } else {
        format!("{} {}", def.title_zh, def.title_en)
    }
}

/// The metadata of one collection, as in `/collections` and `/collections/{id}`.
pub(crate) fn collection_json(state: &AppState, c: &Collection) -> Value {
    let id = c.def.id.as_str();
    let base = format!("/collections/{id}");
    let mut extent = serde_json::Map::new();
    if let Some(rect) = c.index.extent() {
        extent.insert(
            "spatial".into(),
            json!({ "bbox": [[rect.min().x, rect.min().y, rect.max().x, rect.max().y]], "crs": CRS84 }),
        );
    }
    if let Some(t) = &c.temporal_extent {
        extent.insert(
            "temporal".into(),
            json!({ "interval": [[t.start.map(rfc3339), t.end.map(rfc3339)]], "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian" }),
        );
    }
    json!({
        "id": id,
        "title": display_title(&c.def),
        "description": c.def.description,
        "itemType": "feature",
        "crs": [CRS84],
        "storageCrs": CRS84,
        "extent": extent,
        "x-title-zh": c.def.title_zh,
        "x-title-en": c.def.title_en,
        "x-geometry-types": c.def.family.type_names(),
        "x-temporal-property": c.def.temporal.as_ref().map(|t| json!({ "start": t.start, "end": t.end })),
        "x-synthetic": c.def.synthetic,
        "attribution": c.def.attribution,
        "license": c.def.license,
        "x-feature-count": c.index.len(),
        "links": [
            link(state.url(&base), "self", media::JSON, "this collection"),
            link(state.url(&format!("{base}?f=html")), "alternate", media::HTML, "this collection as HTML"),
            link(state.url(&format!("{base}/items")), "items", media::GEOJSON, "the features"),
            link(state.url(&format!("{base}/items?f=html")), "items", media::HTML, "the features as HTML"),
            link(state.url(&format!("{base}/schema")), "describedby", media::SCHEMA, "the property schema"),
            link(state.url(&format!("{base}/queryables")), REL_QUERYABLES, media::SCHEMA, "the queryables (for filter and sortby)"),
            link(state.url(&format!("{base}/tiles")), "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector", media::JSON, "vector tiles"),
        ],
    })
}

/// `GET /collections`.
pub async fn list_collections(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let pairs = query_pairs(query.as_deref())?;
    let format = negotiate(param(&pairs, "f"), &headers)?;
    let collections = state.catalog.collections();
    let body = json!({
        "links": [
            link(state.url("/collections"), "self", media::JSON, "the collections"),
            link(state.url("/collections?f=html"), "alternate", media::HTML, "the collections as HTML"),
        ],
        "collections": collections.iter().map(|c| collection_json(&state, c)).collect::<Vec<_>>(),
    });
    Ok(vary_accept(match format {
        Format::Json => with_type(body.to_string(), media::JSON),
        Format::Html => with_type(html::collections(&body), media::HTML),
    }))
}

/// `GET /collections/{collection_id}`.
pub async fn describe_collection(
    State(state): State<AppState>,
    Path(collection_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let pairs = query_pairs(query.as_deref())?;
    let format = negotiate(param(&pairs, "f"), &headers)?;
    let collection = state.catalog.collection(&collection_id)?;
    let body = collection_json(&state, &collection);
    Ok(vary_accept(match format {
        Format::Json => with_type(body.to_string(), media::JSON),
        Format::Html => with_type(html::collection(&body, &collection.def), media::HTML),
    }))
}

/// `GET /collections/{collection_id}/schema`: the property schema as JSON Schema.
pub async fn collection_schema(
    State(state): State<AppState>,
    Path(collection_id): Path<String>,
) -> Result<Response, ApiError> {
    let collection = state.catalog.collection(&collection_id)?;
    let mut schema = collection.def.json_schema();
    schema["$id"] = json!(state.url(&format!("/collections/{collection_id}/schema")));
    Ok(with_type(schema.to_string(), media::SCHEMA))
}

/// `GET /collections/{collection_id}/queryables`: what `filter` may name, as JSON Schema
/// (OGC API – Features – Part 3): the geometry and every property except arrays.
pub async fn list_queryables(
    State(state): State<AppState>,
    Path(collection_id): Path<String>,
) -> Result<Response, ApiError> {
    let collection = state.catalog.collection(&collection_id)?;
    let mut schema = collection.def.json_schema();
    if let Some(properties) = schema["properties"].as_object_mut() {
        properties.retain(|_, p| p["type"] != "array");
    }
    schema["$id"] = json!(state.url(&format!("/collections/{collection_id}/queryables")));
    schema["title"] = json!(display_title(&collection.def));
    schema["additionalProperties"] = json!(false);
    Ok(with_type(schema.to_string(), media::SCHEMA))
}

fn simple_names(schema: &Schema) -> String {
    schema
        .properties
        .iter()
        .filter(|p| p.ty.is_simple())
        .map(|p| p.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `sortby`: comma-separated simple properties, each optionally prefixed by `+` or `-`.
fn parse_sortby(schema: &Schema, value: &str) -> Result<Vec<SortKey>, ApiError> {
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
fn parse_properties(schema: &Schema, value: &str) -> Result<Vec<String>, ApiError> {
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
/// unknown parameter.
fn equality_filter(
    schema: &Schema,
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
            let mut allowed: Vec<String> =
                ITEMS_PARAMETERS.iter().map(|s| (*s).to_owned()).collect();
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

/// Turns query pairs into a validated items query for `collection`.
pub(crate) fn parse_items_query(
    collection: &Collection,
    pairs: &[(String, String)],
) -> Result<ItemsQuery, ApiError> {
    let schema = &collection.def.schema;
    let mut query = ItemsQuery::default();
    let lang = match param(pairs, "filter-lang") {
        None => FilterLang::Cql2Text,
        Some(name) => FilterLang::from_name(name).ok_or_else(|| {
            ApiError::invalid(
                "filter-lang",
                name,
                "cql2-text or cql2-json",
                "unknown filter language",
            )
        })?,
    };
    for (name, value) in pairs {
        match name.as_str() {
            "limit" => {
                let limit: u64 = value.parse().ok().filter(|&n| n >= 1).ok_or_else(|| {
                    ApiError::invalid(
                        "limit",
                        value,
                        format!("an integer from 1 to {MAX_LIMIT} (larger values are clamped)"),
                        "not a positive integer",
                    )
                })?;
                query.limit = usize::try_from(limit).unwrap_or(MAX_LIMIT).min(MAX_LIMIT);
            }
            "offset" => {
                query.offset = value.parse().map_err(|_| {
                    ApiError::invalid(
                        "offset",
                        value,
                        "an integer ≥ 0",
                        "not a non-negative integer",
                    )
                })?;
            }
            "bbox" => {
                let bbox = Bbox::parse(value).map_err(|e| {
                    ApiError::invalid(
                        "bbox",
                        value,
                        "minLon,minLat,maxLon,maxLat in CRS84 (or 6 numbers with heights)",
                        e.to_string(),
                    )
                })?;
                query.bbox = Some(bbox);
            }
            "bbox-crs" => {
                if value != CRS84 {
                    return Err(ApiError::invalid(
                        "bbox-crs",
                        value,
                        CRS84,
                        "unsupported CRS",
                    ));
                }
            }
            "datetime" => {
                let interval = DateInterval::parse(value).map_err(|e| {
                    ApiError::invalid("datetime", value, "an RFC 3339 date-time or date, or an interval start/end with .. for an open end", e.to_string())
                })?;
                query.datetime = Some(interval);
            }
            "filter" => query.filter = Some(Arc::new(parse_filter(collection, lang, value)?)),
            "filter-crs" => {
                if value != CRS84 {
                    return Err(ApiError::invalid(
                        "filter-crs",
                        value,
                        CRS84,
                        "unsupported CRS",
                    ));
                }
            }
            "sortby" => query.sort = parse_sortby(schema, value)?,
            "properties" => query.properties = Some(parse_properties(schema, value)?),
            "f" | "filter-lang" => {}
            property => query.equals.push(equality_filter(schema, property, value)?),
        }
    }
    Ok(query)
}

/// The query string for another page: the same filters, `limit` and `offset` set.
fn page_query(pairs: &[(String, String)], limit: usize, offset: usize, f: Option<&str>) -> String {
    let mut kept: Vec<(String, String)> = pairs
        .iter()
        .filter(|(n, _)| !matches!(n.as_str(), "limit" | "offset" | "f"))
        .cloned()
        .collect();
    if let Some(f) = f {
        kept.push(("f".into(), f.into()));
    }
    kept.push(("limit".into(), limit.to_string()));
    kept.push(("offset".into(), offset.to_string()));
    serde_urlencoded::to_string(&kept).unwrap_or_default()
}

/// `GET /collections/{collection_id}/items`.
pub async fn list_items(
    State(state): State<AppState>,
    Path(collection_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let pairs = query_pairs(query.as_deref())?;
    let format = negotiate(param(&pairs, "f"), &headers)?;
    let collection = state.catalog.collection(&collection_id)?;
    let items = Arc::new(parse_items_query(&collection, &pairs)?);
    // A filter may test a large geometry literal against every feature: that runs on the
    // analysis pool within its budget; plain paging stays on the request thread.
    let page = if items.filter.is_some() {
        let (collection, items) = (Arc::clone(&collection), Arc::clone(&items));
        state
            .analysis
            .run(move |budget| query_items_within(&collection, &items, budget))
            .await?
    } else {
        query_items(&collection, &items)
    };
    let path = state.url(&format!("/collections/{}/items", collection.def.id));
    let (self_type, other_type, other_f) = match format {
        Format::Json => (media::GEOJSON, media::HTML, "html"),
        Format::Html => (media::HTML, media::GEOJSON, "json"),
    };
    let self_f = param(&pairs, "f");
    let mut links = vec![
        link(
            format!(
                "{path}?{}",
                page_query(&pairs, items.limit, items.offset, self_f)
            ),
            "self",
            self_type,
            "this page",
        ),
        link(
            format!(
                "{path}?{}",
                page_query(&pairs, items.limit, items.offset, Some(other_f))
            ),
            "alternate",
            other_type,
            "this page in another format",
        ),
        link(
            state.url(&format!("/collections/{}", collection.def.id)),
            "collection",
            media::JSON,
            "the collection",
        ),
    ];
    if items.offset + page.features.len() < page.number_matched {
        let next = items.offset + items.limit;
        links.push(link(
            format!("{path}?{}", page_query(&pairs, items.limit, next, self_f)),
            "next",
            self_type,
            "next page",
        ));
    }
    if items.offset > 0 {
        let prev = items.offset.saturating_sub(items.limit);
        links.push(link(
            format!("{path}?{}", page_query(&pairs, items.limit, prev, self_f)),
            "prev",
            self_type,
            "previous page",
        ));
    }
    let time_stamp = rfc3339(Utc::now());
    if format == Format::Html {
        return Ok(vary_accept(with_type(
            html::items(&collection, &page, &links, items.offset),
            media::HTML,
        )));
    }
    let body_size: usize = page.features.iter().map(|f| f.json().len() + 1).sum();
    let mut body = String::with_capacity(body_size + 1024);
    body.push_str("{\"type\":\"FeatureCollection\",\"numberMatched\":");
    body.push_str(&page.number_matched.to_string());
    body.push_str(",\"numberReturned\":");
    body.push_str(&page.features.len().to_string());
    body.push_str(",\"timeStamp\":\"");
    body.push_str(&time_stamp);
    body.push_str("\",\"links\":");
    body.push_str(&Value::Array(links).to_string());
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
    Ok(vary_accept(with_type(body, media::GEOJSON)))
}

/// A feature as GeoJSON with only the properties `names`, in that order.
fn projected_json(feature: &Feature, names: &[String]) -> Box<str> {
    let properties: serde_json::Map<String, serde_json::Value> = names
        .iter()
        .filter_map(|n| feature.properties.get(n).map(|v| (n.clone(), v.to_json())))
        .collect();
    feature_json(&feature.id, &feature.geometry, &properties)
}

/// `GET /collections/{collection_id}/items/{feature_id}`, with `ETag` and `If-None-Match`.
pub async fn get_item(
    State(state): State<AppState>,
    Path((collection_id, feature_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let pairs = query_pairs(query.as_deref())?;
    let format = negotiate(param(&pairs, "f"), &headers)?;
    let feature = state.catalog.feature(&collection_id, &feature_id)?;
    let etag = HeaderValue::from_str(feature.etag()).map_err(ApiError::internal)?;
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',').any(|tag| {
                let tag = tag.trim();
                tag == "*" || tag.trim_start_matches("W/") == feature.etag()
            })
        });
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let path = format!("/collections/{collection_id}/items/{}", feature.id);
        match format {
            Format::Json => {
                let links = json!([
                    link(state.url(&path), "self", media::GEOJSON, "this feature"),
                    link(
                        state.url(&format!("{path}?f=html")),
                        "alternate",
                        media::HTML,
                        "this feature as HTML"
                    ),
                    link(
                        state.url(&format!("/collections/{collection_id}")),
                        "collection",
                        media::JSON,
                        "the collection"
                    ),
                ]);
                let text = feature.json();
                let body = format!("{},\"links\":{links}}}", &text[..text.len() - 1]);
                with_type(body, media::GEOJSON)
            }
            Format::Html => {
                let collection = state.catalog.collection(&collection_id)?;
                with_type(html::item(&collection, &feature), media::HTML)
            }
        }
    };
    if format == Format::Json {
        response.headers_mut().insert(header::ETAG, etag);
    }
    Ok(vary_accept(response))
}
