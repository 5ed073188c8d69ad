//! The web viewer's static files (`map-ui/`), embedded in the binary so that the viewer works on
//! an offline network with nothing but the citygrid executable.
//!
//! Every file is listed in [`FILES`]; a file added to `map-ui/` and not listed is not served
//! (the integration test `every_viewer_file_is_served_with_its_type` walks the directory).
//! The vendored library sits under a versioned path and may be cached for a year; the page and
//! the viewer's own modules change with the binary and are revalidated on every load.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};

use serde_json::json;

use axum::routing::get;
use utoipa_axum::router::OpenApiRouter;

use super::{ApiError, AppState, media, with_type};

/// The viewer: its page, configuration and static files.
pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .route("/map", get(map_redirect))
        .route("/map/", get(map_page))
        .route("/map/config.json", get(viewer_config))
        .route("/map/{*path}", get(map_file))
}

/// One embedded file: its path under `/map/`, its bytes and its media type.
struct Asset {
    path: &'static str,
    bytes: &'static [u8],
    media_type: &'static str,
}

macro_rules! asset {
    ($path:literal, $media_type:expr) => {
        Asset {
            path: $path,
            bytes: include_bytes!(concat!("../../map-ui/", $path)),
            media_type: $media_type,
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// The files of `map-ui/`, by path.
const FILES: &[Asset] = &[
    asset!("index.html", HTML),
    asset!("style.css", CSS),
    asset!("app.js", JS),
    asset!("i18n.js", JS),
    asset!("api.js", JS),
    asset!("layers.js", JS),
    asset!("draw.js", JS),
    asset!("ui.js", JS),
    asset!("session.js", JS),
    asset!("account.js", JS),
    asset!("cases.js", JS),
    asset!("report.js", JS),
    asset!("metrics.js", JS),
    asset!("README.md", TEXT),
    asset!("vendor/maplibre-gl-5.24.1/maplibre-gl.js", JS),
    asset!("vendor/maplibre-gl-5.24.1/maplibre-gl.css", CSS),
    asset!("vendor/maplibre-gl-5.24.1/LICENSE.txt", TEXT),
];

fn respond(asset: &Asset) -> Response {
    // Versioned vendor paths never change; everything else is revalidated (no ETag needed:
    // the files are small and compressed on the way out).
    let cache = if asset.path.starts_with("vendor/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.media_type),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        asset.bytes,
    )
        .into_response()
}

/// `GET /map`: to `/map/`, so relative paths in the page resolve.
pub async fn map_redirect() -> Redirect {
    Redirect::permanent("/map/")
}

/// `GET /map/`: the viewer's page.
pub async fn map_page() -> Response {
    respond(&FILES[0])
}

/// `GET /map/{*path}`: one of the viewer's files.
pub async fn map_file(Path(path): Path<String>) -> Result<Response, ApiError> {
    FILES
        .iter()
        .find(|a| a.path == path)
        .map(respond)
        .ok_or_else(|| ApiError::NotFound(format!("the viewer has no file {path}")))
}

/// `GET /map/config.json`: what the viewer is configured with (the optional basemap).
pub async fn viewer_config(State(state): State<AppState>) -> Response {
    let basemap = state
        .basemap_url
        .as_deref()
        .map(|url| json!({ "type": "raster", "tiles": [url], "tileSize": 256 }));
    let mut response = with_type(json!({ "basemap": basemap }).to_string(), media::JSON);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
