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
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::{BadRequest, NotFound};
use super::{ApiError, AppState, media, with_type};

/// The viewer: its page, configuration and static files.
pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(map_redirect))
        .routes(routes!(map_page))
        .routes(routes!(viewer_config))
        .routes(routes!(map_file))
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

/// The path of a viewer file.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct FilePath {
    /// The file's path under /map/
    #[param(example = "app.js")]
    path: String,
}

/// What the viewer is configured with (`GET /map/config.json`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = mapConfig)]
struct MapConfig {
    /// The raster basemap under the layers, or null when none is configured.
    #[schema(required = true)]
    basemap: Option<RasterBasemap>,
}

/// A raster basemap, as a MapLibre raster source.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = rasterBasemap)]
struct RasterBasemap {
    /// Always `raster`.
    #[serde(rename = "type")]
    #[schema(example = "raster")]
    kind: &'static str,
    /// The XYZ tile URL template (`CITYGRID_BASEMAP_URL`).
    tiles: Vec<String>,
    /// The tiles' size in pixels.
    #[serde(rename = "tileSize")]
    tile_size: u16,
}

/// Redirects to /map/
///
/// So that relative paths in the viewer's page resolve.
#[utoipa::path(get, path = "/map", operation_id = "redirectToMap", tag = "Viewer", security(()),
    responses((status = 308, description = "to /map/",
        headers(("Location" = String, description = "/map/")))))]
pub async fn map_redirect() -> Redirect {
    Redirect::permanent("/map/")
}

/// The map viewer (pinned, vendored libraries; no CDN)
#[utoipa::path(get, path = "/map/", operation_id = "getMap", tag = "Viewer", security(()),
    responses((status = 200, description = "The map viewer (pinned, vendored libraries; no CDN)",
        content((String = "text/html")))))]
pub async fn map_page() -> Response {
    respond(&FILES[0])
}

/// One of the viewer's static files
///
/// The vendored library (under `vendor/`) may be cached for a year; every other file is
/// revalidated (`Cache-Control: no-cache`).
#[utoipa::path(get, path = "/map/{*path}", operation_id = "getMapFile", tag = "Viewer",
    params(FilePath), security(()),
    responses(
        (status = 200, description = "The file", content(
            (String = "text/javascript"), (String = "text/css"), (String = "text/html"),
            (String = "text/plain"))),
        (status = 400, response = BadRequest), (status = 404, response = NotFound)))]
pub async fn map_file(Path(FilePath { path }): Path<FilePath>) -> Result<Response, ApiError> {
    FILES
        .iter()
        .find(|a| a.path == path)
        .map(respond)
        .ok_or_else(|| ApiError::NotFound(format!("the viewer has no file {path}")))
}

/// The viewer's configuration: its optional raster basemap
///
/// The basemap is `CITYGRID_BASEMAP_URL`'s; the answer is never cached.
#[utoipa::path(get, path = "/map/config.json", operation_id = "getMapConfig", tag = "Viewer",
    security(()),
    responses((status = 200, description = "The configuration", body = MapConfig)))]
pub async fn viewer_config(State(state): State<AppState>) -> Result<Response, ApiError> {
    let config = MapConfig {
        basemap: state.basemap_url.as_deref().map(|url| RasterBasemap {
            kind: "raster",
            tiles: vec![url.to_owned()],
            tile_size: 256,
        }),
    };
    let body = serde_json::to_string(&config).map_err(ApiError::internal)?;
    let mut response = with_type(body, media::JSON);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_generated_document_has_every_viewer_path_with_its_operation() {
        let paths = &crate::api::generated_document()["paths"];
        for (path, operation_id) in [
            ("/map", "redirectToMap"),
            ("/map/", "getMap"),
            ("/map/config.json", "getMapConfig"),
            ("/map/{path}", "getMapFile"),
        ] {
            let operation = &paths[path]["get"];
            assert_eq!(operation["operationId"], operation_id, "{path}");
            assert_eq!(operation["tags"][0], "Viewer", "{path}");
            assert_eq!(
                operation["security"],
                serde_json::json!([{}]),
                "{path} is open"
            );
        }
        let file = &paths["/map/{path}"]["get"]["parameters"][0];
        assert_eq!(
            (&file["name"], &file["in"], &file["example"]),
            (&"path".into(), &"path".into(), &"app.js".into())
        );
    }
}
