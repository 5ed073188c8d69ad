//! The HTTP interface, and the only code that knows HTTP: OGC API – Features Part 1 (core,
//! GeoJSON, HTML, OpenAPI 3.0) and Part 3 (queryables, CQL2 filters), health and readiness, the map viewer's static files, logins and
//! sessions ([`auth`]), and the one mapping of failures to RFC 7807 problems ([`error`]).

pub mod auth;
mod cases;
pub mod csv;
pub mod error;
mod extract;
mod features;
mod html;
mod landing;
pub mod open311;
pub mod openapi;
pub mod server;
mod spatial;
mod tiles;
mod units;
mod viewer;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::Response;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::cors::{AllowHeaders, Any, CorsLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

use crate::service::Catalog;
use crate::service::auth::AuthService;
use crate::service::cases::CaseService;
use crate::service::tiles::{DEFAULT_CACHE_BYTES, TileService};
pub use auth::{Actor, MaybeActor, Remote};
pub use error::ApiError;

/// Everything a handler needs, shared by all requests.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Collections and their indexes.
    pub catalog: Arc<Catalog>,
    /// The public base URL, without trailing slash; every link is absolute from it.
    pub base_url: Arc<str>,
    /// Vector tiles and their cache.
    pub tiles: Arc<TileService>,
    /// The viewer's optional raster basemap (XYZ tile URL).
    pub basemap_url: Option<Arc<str>>,
    /// Logins, sessions and users.
    pub auth: Arc<AuthService>,
    /// Cases, their photos and events.
    pub cases: Arc<CaseService>,
    /// Whether the base layers are readable without a token (`CITYGRID_PUBLIC_LAYERS`).
    pub public_layers: bool,
    /// The bounded pool heavy analyses run on (`/search`, `/analysis/summary`).
    pub analysis: Arc<crate::service::analysis::AnalysisPool>,
}

impl AppState {
    /// State with `base_url` (a trailing slash is removed) and the default tile cache.
    pub fn new(catalog: Arc<Catalog>, base_url: &str) -> Self {
        Self::with_tile_cache(catalog, base_url, DEFAULT_CACHE_BYTES)
    }

    /// State with a tile cache of `tile_cache_bytes` (0: no cache). Users and sessions live in
    /// the catalogue's store, with the default settings; the base layers are public.
    pub fn with_tile_cache(catalog: Arc<Catalog>, base_url: &str, tile_cache_bytes: usize) -> Self {
        let services = crate::app::default_services(&catalog, tile_cache_bytes);
        Self {
            tiles: services.tiles,
            catalog,
            base_url: base_url.trim_end_matches('/').into(),
            basemap_url: None,
            auth: services.auth,
            cases: services.cases,
            public_layers: true,
            analysis: Arc::default(),
        }
    }

    /// The same state with another analysis pool (`CITYGRID_ANALYSIS_*`).
    #[must_use]
    pub fn with_analysis(mut self, analysis: Arc<crate::service::analysis::AnalysisPool>) -> Self {
        self.analysis = analysis;
        self
    }

    /// The same state with another case service (the configured photo directory, calendar).
    #[must_use]
    pub fn with_cases(mut self, cases: Arc<CaseService>) -> Self {
        self.cases = cases;
        self
    }

    /// The same state with another authentication service (other settings, a test clock).
    #[must_use]
    pub fn with_auth(mut self, auth: Arc<AuthService>) -> Self {
        self.auth = auth;
        self
    }

    /// The same state with the base layers public or not.
    #[must_use]
    pub fn with_public_layers(mut self, public_layers: bool) -> Self {
        self.public_layers = public_layers;
        self
    }

    /// The same state with a raster basemap for the viewer.
    #[must_use]
    pub fn with_basemap(mut self, basemap_url: Option<&str>) -> Self {
        self.basemap_url = basemap_url.map(Into::into);
        self
    }

    /// An absolute URL for `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

/// The routes open to everyone, whether or not the base layers are public: the service's
/// description, health, the viewer's files, logins, cases, units and Open311.
fn open_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(landing::routes())
        .merge(viewer::routes())
        .merge(auth::routes())
        .merge(cases::routes())
        .merge(units::routes())
        .merge(open311::routes())
}

/// The base layers: readable without a token only while they are public.
fn layer_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(features::routes())
        .merge(spatial::routes())
        .merge(tiles::routes())
}

/// The OpenAPI document the routes declare (OpenAPI 3.0.3), before what the data adds.
pub fn generated_document() -> &'static serde_json::Value {
    static DOCUMENT: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let (_, document) = open_routes().merge(layer_routes()).split_for_parts();
        let mut document =
            openapi::to_openapi_30(serde_json::to_value(document).unwrap_or_default());
        openapi::share_items_parameters(&mut document);
        document
    })
}

/// The router of the whole service.
pub fn router(state: AppState) -> Router {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::HEAD, Method::POST, Method::OPTIONS])
        // Mirrored rather than `*`, which does not cover `Authorization`; bearer tokens are no
        // ambient credential, so any origin may send one.
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers([
            header::ETAG,
            header::CONTENT_TYPE,
            header::LOCATION,
            header::WWW_AUTHENTICATE,
            header::RETRY_AFTER,
        ])
        .max_age(Duration::from_secs(3600));
    let layers = layer_routes().route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        auth::require_token_unless_public,
    ));
    let (routes, _) = open_routes().merge(layers).split_for_parts();
    routes
        .fallback(|| async {
            ApiError::NotFound("no such resource; GET / lists what is here".into())
        })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(axum::middleware::map_response(
            error::problem_for_plain_errors,
        ))
        .layer(CompressionLayer::new().quality(CompressionLevel::Precise(4)))
        .layer(cors)
        .layer(CatchPanicLayer::custom(error::panic_problem))
        .layer(axum::middleware::map_response(error::log_failures))
        // The span records the path but not the query: `access_token` (the event stream) and
        // API keys (Open311) must not reach the logs.
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
                tracing::debug_span!(
                    "request",
                    method = %request.method(),
                    path = %request.uri().path(),
                    version = ?request.version(),
                )
            }),
        )
        .with_state(state)
}

/// The representation a client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// JSON (GeoJSON for features): the default.
    Json,
    /// HTML for browsers.
    Html,
}

/// Chooses the format from `f` (which wins) or the `Accept` header; JSON when neither says.
pub(crate) fn negotiate(f: Option<&str>, headers: &HeaderMap) -> Result<Format, ApiError> {
    match f {
        Some("json" | "geojson") => return Ok(Format::Json),
        Some("html") => return Ok(Format::Html),
        Some(other) => {
            return Err(ApiError::invalid(
                "f",
                other,
                "json, geojson or html",
                "unknown format",
            ));
        }
        None => {}
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let html = accept.contains("text/html");
    let json = accept.contains("json");
    Ok(if html && !json {
        Format::Html
    } else {
        Format::Json
    })
}

/// Splits a raw query string into pairs, refusing repeated parameters.
pub(crate) fn query_pairs(raw: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.unwrap_or("")).map_err(|e| {
            ApiError::invalid(
                "query",
                raw.unwrap_or(""),
                "application/x-www-form-urlencoded pairs",
                e.to_string(),
            )
        })?;
    for (i, (name, value)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(n, _)| n == name) {
            return Err(ApiError::invalid(
                name,
                value,
                "the parameter once",
                "given more than once",
            ));
        }
    }
    Ok(pairs)
}

/// A response with a body and content type.
pub(crate) fn with_type(body: impl Into<axum::body::Body>, content_type: &'static str) -> Response {
    let mut response = Response::new(body.into());
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Content types used in links and responses.
pub(crate) mod media {
    /// JSON.
    pub const JSON: &str = "application/json";
    /// GeoJSON.
    pub const GEOJSON: &str = "application/geo+json";
    /// HTML.
    pub const HTML: &str = "text/html; charset=utf-8";
    /// OpenAPI 3.0 in JSON, exactly as OGC API – Features asks for `service-desc`.
    pub const OPENAPI: &str = "application/vnd.oai.openapi+json;version=3.0";
    /// JSON Schema.
    pub const SCHEMA: &str = "application/schema+json";
}

/// `Vary: Accept`, so caches keep the HTML and JSON representations apart.
pub(crate) fn vary_accept(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::VARY,
        HeaderValue::from_static("accept, accept-encoding"),
    );
    response
}
