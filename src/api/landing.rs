//! Landing page, conformance, the API document, health and readiness.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::model::CollectionDef;

use super::extract::{FormatQuery, Query};
use super::openapi::{BadRequest, NotAcceptable, Unavailable};
use super::{ApiError, AppState, Format, html, media, negotiate, openapi, vary_accept, with_type};

/// Landing page, conformance, the API document, health and readiness.
pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(landing_page))
        .routes(routes!(conformance))
        .routes(routes!(api_document))
        .routes(routes!(health))
        .routes(routes!(ready))
}

/// The conformance classes this service implements, and only those.
/// Every CQL2 class listed is exercised by `tests/it/cql2.rs` (the standard's cases) or by the
/// unit tests of `src/filter/`.
pub const CONFORMANCE: [&str; 28] = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/accent-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/temporal-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/arithmetic",
    "http://www.opengis.net/spec/cql2/1.0/conf/property-property",
    // OGC API – Tiles – Part 1 (vector tiles in WebMercatorQuad; see api/tiles.rs).
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/dataset-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-selection",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/oas30",
];

/// Service title shown on the landing page.
pub const TITLE: &str = "citygrid — 管城回族区网格化管理 Guancheng district grid management";

/// The credits of a set of collections: each distinct attribution once, in catalogue order;
/// `None` when no collection names one.
pub fn attribution<'a>(defs: impl IntoIterator<Item = &'a CollectionDef>) -> Option<String> {
    let mut seen: Vec<&str> = Vec::new();
    for def in defs {
        if let Some(a) = def.attribution.as_deref()
            && !seen.contains(&a)
        {
            seen.push(a);
        }
    }
    (!seen.is_empty()).then(|| seen.join("; "))
}

/// The landing page (OGC API – Common `landingPage`).
#[derive(ToSchema)]
#[schema(as = landingPage)]
#[expect(dead_code, reason = "documents the JSON the handler writes")]
struct LandingPage {
    title: String,
    description: String,
    /// The credits of the collections, when any names one.
    attribution: Option<String>,
    links: Vec<openapi::Link>,
}

/// The conformance classes (`confClasses`).
#[derive(ToSchema)]
#[schema(as = confClasses)]
#[expect(dead_code, reason = "documents the JSON the handler writes")]
struct ConfClasses {
    #[schema(rename = "conformsTo")]
    conforms_to: Vec<String>,
    links: Vec<openapi::Link>,
}

fn link(href: impl Into<String>, rel: &str, kind: &str, title: &str) -> Value {
    let href: String = href.into();
    json!({ "href": href, "rel": rel, "type": kind, "title": title })
}

/// The landing page: what this service offers, as links.
#[utoipa::path(get, path = "/", operation_id = "getLandingPage", tag = "Capabilities",
    params(FormatQuery), security(()),
    responses(
        (status = 200, description = "The landing page", content(
            (LandingPage = "application/json"), (String = "text/html"))),
        (status = 400, response = BadRequest), (status = 406, response = NotAcceptable)))]
pub async fn landing_page(
    State(state): State<AppState>,
    Query(query): Query<FormatQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let format = negotiate(query.f.as_deref(), &headers)?;
    let (self_type, alt_type, alt_f) = match format {
        Format::Json => (media::JSON, media::HTML, "html"),
        Format::Html => (media::HTML, media::JSON, "json"),
    };
    let body = json!({
        "title": TITLE,
        "description": "网格化管理与城市更新的空间数据服务（OGC API – Features）。Spatial data service for grid management and urban renewal (OGC API – Features).",
        "attribution": attribution(state.catalog.collections().iter().map(|c| c.def.as_ref())),
        "links": [
            link(state.url("/"), "self", self_type, "this document"),
            link(state.url(&format!("/?f={alt_f}")), "alternate", alt_type, "this document in another format"),
            link(state.url("/api"), "service-desc", media::OPENAPI, "the API definition (OpenAPI 3.0)"),
            link(state.url("/api?f=html"), "service-doc", media::HTML, "the API documentation"),
            link(state.url("/conformance"), "conformance", media::JSON, "OGC API conformance classes implemented"),
            link(state.url("/collections"), "data", media::JSON, "the collections"),
            link(state.url("/tiles"), "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector", media::JSON, "vector tiles of all layers 矢量瓦片"),
            link(state.url("/tileMatrixSets"), "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes", media::JSON, "the tile matrix sets"),
            link(state.url("/map/"), "alternate", media::HTML, "the map viewer 地图"),
        ],
    });
    Ok(vary_accept(match format {
        Format::Json => with_type(body.to_string(), media::JSON),
        Format::Html => with_type(html::landing(&body), media::HTML),
    }))
}

/// The conformance classes implemented.
#[utoipa::path(get, path = "/conformance", operation_id = "getConformance", tag = "Capabilities",
    params(FormatQuery), security(()),
    responses(
        (status = 200, description = "The conformance classes", content(
            (ConfClasses = "application/json"), (String = "text/html"))),
        (status = 400, response = BadRequest), (status = 406, response = NotAcceptable)))]
pub async fn conformance(
    State(state): State<AppState>,
    Query(query): Query<FormatQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let format = negotiate(query.f.as_deref(), &headers)?;
    let body = json!({
        "conformsTo": CONFORMANCE,
        "links": [link(state.url("/conformance"), "self", media::JSON, "this document")],
    });
    Ok(vary_accept(match format {
        Format::Json => with_type(body.to_string(), media::JSON),
        Format::Html => with_type(html::conformance(&CONFORMANCE), media::HTML),
    }))
}

/// This API definition: the OpenAPI 3.0 document (or its HTML rendering).
#[utoipa::path(get, path = "/api", operation_id = "getApi", tag = "Capabilities",
    params(FormatQuery), security(()),
    responses(
        (status = 200, description = "The OpenAPI 3.0 document", content(
            (Object = "application/vnd.oai.openapi+json;version=3.0"), (String = "text/html"))),
        (status = 400, response = BadRequest), (status = 406, response = NotAcceptable)))]
pub async fn api_document(
    State(state): State<AppState>,
    Query(query): Query<FormatQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let format = negotiate(query.f.as_deref(), &headers)?;
    let document = openapi::served_document(
        super::generated_document(),
        &state.base_url,
        &state.catalog.collections(),
        state.public_layers,
    );
    Ok(vary_accept(match format {
        Format::Json => with_type(document.to_string(), media::OPENAPI),
        Format::Html => with_type(html::api(&document), media::HTML),
    }))
}

/// Liveness: the process is alive.
#[utoipa::path(get, path = "/health", operation_id = "getHealth", tag = "Operations", security(()),
    responses((status = 200, description = "alive", body = Object)))]
pub async fn health() -> Response {
    with_type(json!({ "status": "ok" }).to_string(), media::JSON)
}

/// Readiness: the store answers and the indexes are loaded.
#[utoipa::path(get, path = "/ready", operation_id = "getReady", tag = "Operations", security(()),
    responses((status = 200, description = "ready", body = Object),
        (status = 503, response = Unavailable)))]
pub async fn ready(State(state): State<AppState>) -> Result<Response, ApiError> {
    state
        .catalog
        .store()
        .ping()
        .await
        .map_err(|e| ApiError::Unavailable(e.into()))?;
    let collections = state.catalog.collections();
    let features: usize = collections.iter().map(|c| c.index.len()).sum();
    let body = json!({ "status": "ready", "collections": collections.len(), "features": features });
    Ok((StatusCode::OK, with_type(body.to_string(), media::JSON)).into_response())
}
