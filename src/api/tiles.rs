//! OGC API – Tiles for vector tiles (MVT) in WebMercatorQuad: the tile matrix set, the tilesets
//! of each collection and of the whole dataset (`collections=` chooses the layers), their
//! metadata, TileJSON 3.0.0, and the tiles with `ETag` / `If-None-Match`.
//!
//! | handler | route | query |
//! | --- | --- | --- |
//! | [`list_tile_matrix_sets`] | `GET /tileMatrixSets` | [`JsonQuery`] |
//! | [`describe_tile_matrix_set`] | `GET /tileMatrixSets/WebMercatorQuad` | [`JsonQuery`] |
//! | [`list_dataset_tilesets`] | `GET /tiles` | [`DatasetQuery`] |
//! | [`describe_dataset_tileset`] | `GET /tiles/WebMercatorQuad` | [`DatasetQuery`] |
//! | [`dataset_tilejson`] | `GET /tiles/WebMercatorQuad/tilejson.json` | [`TileJsonQuery`] |
//! | [`get_dataset_tile`] | `GET /tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}` | [`DatasetTileQuery`] |
//! | [`list_collection_tilesets`] | `GET /collections/{collectionId}/tiles` | [`JsonQuery`] |
//! | [`describe_collection_tileset`] | `GET /collections/{collectionId}/tiles/WebMercatorQuad` | [`JsonQuery`] |
//! | [`collection_tilejson`] | `GET /collections/{collectionId}/tiles/WebMercatorQuad/tilejson.json` | [`NoQuery`] |
//! | [`get_collection_tile`] | `GET /collections/{collectionId}/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}` | [`TileQuery`] |
//!
//! Tile paths put the row before the column (`{tileMatrix}/{tileRow}/{tileCol}`), as OGC API –
//! Tiles does.
//! `Cache-Control: no-cache` lets clients keep tiles but makes them revalidate (a 304 when
//! nothing changed), so that an edit shows on the next request, as it does from the server's
//! cache.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use geo::Rect;
use serde_json::{Map, Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{FromQuery, NoQuery, Query, QueryParams};
use super::features::{CRS84, display_title};
use super::landing::attribution;
use super::openapi::{BadRequest, Link, NotFound, ServerError, Unauthorized};
use super::{ApiError, AppState, media, with_type};
use crate::model::{CollectionId, GeometryFamily};
use crate::service::Collection;
use crate::service::tiles::{LayerSet, PreparedLayer};
use crate::tiles::TileError;
use crate::tiles::mvt::MEDIA_TYPE;
use crate::tiles::rules::MAX_DETAIL_ZOOM;
use crate::tiles::tms::{MAX_ZOOM, ORIGIN_SHIFT_M, TileId, TileRange};

/// The one tile matrix set offered.
pub const TMS_ID: &str = "WebMercatorQuad";
/// Its registered URI.
pub const TMS_URI: &str = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad";
/// EPSG:3857.
pub const CRS_3857: &str = "http://www.opengis.net/def/crs/EPSG/0/3857";
/// TileJSON's media type.
const TILEJSON: &str = "application/vnd.mapbox.tile+json";
/// The link relation of a tiling scheme.
const REL_TILING_SCHEME: &str = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme";
/// The zoom TileJSON suggests as the starting view.
const CENTER_ZOOM: u8 = 12;

/// The routes of this module.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tile_matrix_sets))
        .routes(routes!(describe_tile_matrix_set))
        .routes(routes!(list_dataset_tilesets))
        .routes(routes!(describe_dataset_tileset))
        .routes(routes!(dataset_tilejson))
        .routes(routes!(get_dataset_tile))
        .routes(routes!(list_collection_tilesets))
        .routes(routes!(describe_collection_tileset))
        .routes(routes!(collection_tilejson))
        .routes(routes!(get_collection_tile))
}

fn link(href: impl Into<String>, rel: &str, kind: &str, title: &str) -> Value {
    let href: String = href.into();
    json!({ "href": href, "rel": rel, "type": kind, "title": title })
}

fn json_response(body: &Value) -> Response {
    with_type(body.to_string(), media::JSON)
}

// --- requests ----------------------------------------------------------------------------------

/// Refuses `f` other than `format`, the one format offered.
fn only_format(query: &mut QueryParams, format: &str) -> Result<(), ApiError> {
    match query.get("f") {
        Some(value) if value != format => Err(ApiError::invalid(
            "f",
            value,
            format,
            "format not offered here",
        )),
        _ => Ok(()),
    }
}

/// The JSON format, the one offered.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[expect(dead_code, reason = "documents the value of f")]
enum JsonFormat {
    Json,
}

/// The Mapbox Vector Tile format, the one offered.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[expect(dead_code, reason = "documents the value of f")]
enum MvtFormat {
    Mvt,
}

/// The query of a JSON document: `f=json` at most.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct JsonQuery {
    /// The format: json, the only one
    #[param(value_type = Option<JsonFormat>, inline)]
    #[expect(dead_code, reason = "checked when parsed: one format only")]
    f: (),
}

impl FromQuery for JsonQuery {
    fn from_query(query: &mut QueryParams) -> Result<Self, ApiError> {
        only_format(query, "json")?;
        Ok(Self { f: () })
    }
}

/// The query of the dataset's tilesets: `f=json` and the layers.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DatasetQuery {
    /// The format: json, the only one
    #[param(value_type = Option<JsonFormat>, inline)]
    #[expect(dead_code, reason = "checked when parsed: one format only")]
    f: (),
    /// The collections, one layer each, in this order (default: every built-in layer)
    #[param(value_type = Option<Vec<String>>, style = Form, explode = false)]
    collections: Option<String>,
}

impl FromQuery for DatasetQuery {
    fn from_query(query: &mut QueryParams) -> Result<Self, ApiError> {
        only_format(query, "json")?;
        let collections = query.get("collections").map(str::to_owned);
        Ok(Self { f: (), collections })
    }
}

/// The query of the dataset's TileJSON: the layers.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct TileJsonQuery {
    /// The collections, one layer each, in this order (default: every built-in layer)
    #[param(value_type = Option<Vec<String>>, style = Form, explode = false)]
    collections: Option<String>,
}

impl FromQuery for TileJsonQuery {
    fn from_query(query: &mut QueryParams) -> Result<Self, ApiError> {
        let collections = query.get("collections").map(str::to_owned);
        Ok(Self { collections })
    }
}

/// The query of a dataset tile: `f=mvt` and the layers.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DatasetTileQuery {
    /// The format: mvt, the only one
    #[param(value_type = Option<MvtFormat>, inline)]
    #[expect(dead_code, reason = "checked when parsed: one format only")]
    f: (),
    /// The collections, one layer each, in this order (default: every built-in layer)
    #[param(value_type = Option<Vec<String>>, style = Form, explode = false)]
    collections: Option<String>,
}

impl FromQuery for DatasetTileQuery {
    fn from_query(query: &mut QueryParams) -> Result<Self, ApiError> {
        only_format(query, "mvt")?;
        let collections = query.get("collections").map(str::to_owned);
        Ok(Self { f: (), collections })
    }
}

/// The query of a collection's tile: `f=mvt` at most.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct TileQuery {
    /// The format: mvt, the only one
    #[param(value_type = Option<MvtFormat>, inline)]
    #[expect(dead_code, reason = "checked when parsed: one format only")]
    f: (),
}

impl FromQuery for TileQuery {
    fn from_query(query: &mut QueryParams) -> Result<Self, ApiError> {
        only_format(query, "mvt")?;
        Ok(Self { f: () })
    }
}

// --- answers -----------------------------------------------------------------------------------

/// A Mapbox Vector Tile 2.1 (protobuf).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[expect(dead_code, reason = "documents the bytes tile_response writes")]
struct Mvt(Vec<u8>);

/// A tile matrix set in the list.
#[derive(ToSchema)]
#[schema(as = tileMatrixSetRef)]
#[expect(dead_code, reason = "documents the JSON list_tile_matrix_sets writes")]
struct TileMatrixSetRef {
    id: String,
    title: String,
    uri: String,
    crs: String,
    links: Vec<Link>,
}

/// The tile matrix sets offered.
#[derive(ToSchema)]
#[schema(as = tileMatrixSets, rename_all = "camelCase")]
#[expect(dead_code, reason = "documents the JSON list_tile_matrix_sets writes")]
struct TileMatrixSets {
    tile_matrix_sets: Vec<TileMatrixSetRef>,
    links: Vec<Link>,
}

/// One zoom level of a tile matrix set.
#[derive(ToSchema)]
#[schema(as = tileMatrix, rename_all = "camelCase")]
#[expect(dead_code, reason = "documents the JSON web_mercator_quad writes")]
struct TileMatrix {
    id: String,
    scale_denominator: f64,
    cell_size: f64,
    corner_of_origin: String,
    point_of_origin: Vec<f64>,
    tile_width: u32,
    tile_height: u32,
    matrix_width: u64,
    matrix_height: u64,
}

/// A tile matrix set (OGC Two Dimensional Tile Matrix Set 2.0, JSON encoding).
#[derive(ToSchema)]
#[schema(as = tileMatrixSet, rename_all = "camelCase")]
#[expect(
    dead_code,
    reason = "documents the JSON describe_tile_matrix_set writes"
)]
struct TileMatrixSet {
    id: String,
    title: String,
    uri: String,
    crs: String,
    ordered_axes: Vec<String>,
    well_known_scale_set: String,
    tile_matrices: Vec<TileMatrix>,
    links: Vec<Link>,
}

/// A tileset in a list of tilesets.
#[derive(ToSchema)]
#[schema(as = tilesetSummary, rename_all = "camelCase")]
#[expect(dead_code, reason = "documents the JSON tileset_summary writes")]
struct TilesetSummary {
    title: String,
    data_type: String,
    crs: String,
    #[schema(rename = "tileMatrixSetURI")]
    tile_matrix_set_uri: String,
    links: Vec<Link>,
}

/// The tilesets of the dataset or of a collection.
#[derive(ToSchema)]
#[schema(as = tilesets)]
#[expect(dead_code, reason = "documents the JSON the tileset lists write")]
struct Tilesets {
    tilesets: Vec<TilesetSummary>,
    links: Vec<Link>,
}

/// The tiles of one zoom level that hold data.
#[derive(ToSchema)]
#[schema(as = tileMatrixLimits, rename_all = "camelCase")]
#[expect(dead_code, reason = "documents the JSON tileset_json writes")]
struct TileMatrixLimits {
    tile_matrix: String,
    min_tile_row: u32,
    max_tile_row: u32,
    min_tile_col: u32,
    max_tile_col: u32,
}

/// The extent of a tileset, CRS84.
#[derive(ToSchema)]
#[schema(as = tilesetBoundingBox, rename_all = "camelCase")]
#[expect(dead_code, reason = "documents the JSON tileset_json writes")]
struct BoundingBox {
    lower_left: Vec<f64>,
    upper_right: Vec<f64>,
    crs: String,
}

/// The suggested first view of a tileset.
#[derive(ToSchema)]
#[schema(as = tilesetCenterPoint, rename_all = "camelCase")]
#[expect(dead_code, reason = "documents the JSON tileset_json writes")]
struct CenterPoint {
    coordinates: Vec<f64>,
    tile_matrix: String,
    crs: String,
}

/// A layer of a tileset: one collection.
#[derive(ToSchema)]
#[schema(as = tilesetLayer, rename_all = "camelCase")]
#[expect(dead_code, reason = "documents the JSON tileset_json writes")]
struct TilesetLayer {
    id: String,
    title: String,
    description: String,
    data_type: String,
    min_tile_matrix: String,
    max_tile_matrix: String,
    /// 0 points, 1 lines, 2 polygons; absent when the collection mixes them.
    #[schema(nullable = false)]
    geometry_dimension: Option<u8>,
    /// The JSON Schema of the properties the tiles carry.
    #[schema(value_type = Object)]
    properties_schema: (),
    links: Vec<Link>,
}

/// A tileset's metadata (OGC API – Tiles).
#[derive(ToSchema)]
#[schema(as = tileset, rename_all = "camelCase")]
#[expect(dead_code, reason = "documents the JSON tileset_json writes")]
struct Tileset {
    title: String,
    data_type: String,
    crs: String,
    #[schema(rename = "tileMatrixSetURI")]
    tile_matrix_set_uri: String,
    tile_matrix_set_limits: Vec<TileMatrixLimits>,
    bounding_box: BoundingBox,
    center_point: CenterPoint,
    layers: Vec<TilesetLayer>,
    links: Vec<Link>,
}

/// A layer of a TileJSON document.
#[derive(ToSchema)]
#[schema(as = tileJsonVectorLayer)]
#[expect(dead_code, reason = "documents the JSON tilejson writes")]
struct VectorLayer {
    id: String,
    description: String,
    minzoom: u8,
    maxzoom: u8,
    /// Each property with its type and title.
    fields: std::collections::HashMap<String, String>,
}

/// TileJSON 3.0.0.
#[derive(ToSchema)]
#[schema(as = tileJson)]
#[expect(dead_code, reason = "documents the JSON tilejson writes")]
struct TileJson {
    tilejson: String,
    name: String,
    description: String,
    version: String,
    scheme: String,
    tiles: Vec<String>,
    minzoom: u8,
    maxzoom: u8,
    bounds: Vec<f64>,
    center: Vec<f64>,
    vector_layers: Vec<VectorLayer>,
    /// The credits of the layers' sources; absent when none names one.
    #[schema(nullable = false)]
    attribution: Option<String>,
}

// --- tile matrix set ---------------------------------------------------------------------------

/// The WebMercatorQuad definition (OGC Two Dimensional Tile Matrix Set 2.0, JSON encoding).
pub fn web_mercator_quad() -> Value {
    let matrices: Vec<Value> = (0..=MAX_ZOOM)
        .map(|z| {
            let size = 1u64 << z;
            let cell_size = 2.0 * ORIGIN_SHIFT_M / 256.0 / f64::from(1u32 << z);
            json!({
                "id": z.to_string(),
                // The standard's 0.28 mm pixel.
                "scaleDenominator": cell_size / 0.000_28,
                "cellSize": cell_size,
                "cornerOfOrigin": "topLeft",
                "pointOfOrigin": [-ORIGIN_SHIFT_M, ORIGIN_SHIFT_M],
                "tileWidth": 256,
                "tileHeight": 256,
                "matrixWidth": size,
                "matrixHeight": size,
            })
        })
        .collect();
    json!({
        "id": TMS_ID,
        "title": "Google Maps Compatible for the World",
        "uri": TMS_URI,
        "crs": CRS_3857,
        "orderedAxes": ["X", "Y"],
        "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        "tileMatrices": matrices,
    })
}

/// The tile matrix sets.
#[utoipa::path(get, path = "/tileMatrixSets", operation_id = "getTileMatrixSets", tag = "Tiles",
    params(JsonQuery), security((), ("bearerAuth" = [])),
    responses((status = 200, description = "the list", body = TileMatrixSets),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 404, response = NotFound), (status = 500, response = ServerError)))]
pub async fn list_tile_matrix_sets(
    State(state): State<AppState>,
    Query(_): Query<JsonQuery>,
) -> Response {
    json_response(&json!({
        "tileMatrixSets": [{
            "id": TMS_ID,
            "title": "Google Maps Compatible for the World",
            "uri": TMS_URI,
            "crs": CRS_3857,
            "links": [link(state.url(&format!("/tileMatrixSets/{TMS_ID}")), "self", media::JSON, "the tile matrix set")],
        }],
        "links": [link(state.url("/tileMatrixSets"), "self", media::JSON, "the tile matrix sets")],
    }))
}

/// The WebMercatorQuad tile matrix set.
#[utoipa::path(get, path = "/tileMatrixSets/WebMercatorQuad", operation_id = "getTileMatrixSet",
    tag = "Tiles", params(JsonQuery), security((), ("bearerAuth" = [])),
    responses((status = 200, description = "its definition (OGC TMS 2.0)", body = TileMatrixSet),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 404, response = NotFound), (status = 500, response = ServerError)))]
pub async fn describe_tile_matrix_set(
    State(state): State<AppState>,
    Query(_): Query<JsonQuery>,
) -> Response {
    let mut body = web_mercator_quad();
    body["links"] = json!([link(
        state.url(&format!("/tileMatrixSets/{TMS_ID}")),
        "self",
        media::JSON,
        "this tile matrix set"
    )]);
    json_response(&body)
}

// --- layers ------------------------------------------------------------------------------------

/// The snapshots and tile rules of a tileset's layers.
struct Layers {
    collections: Vec<Arc<PreparedLayer>>,
    /// The query string that selects them (`collections=…`), for dataset links.
    query: String,
}

impl Layers {
    fn of(state: &AppState, collections: &[Arc<Collection>], query: String) -> Self {
        let collections = collections
            .iter()
            .map(|c| state.tiles.prepared(c))
            .collect();
        Self { collections, query }
    }

    fn min_zoom(&self) -> u8 {
        self.collections
            .iter()
            .map(|p| p.rules.min_zoom)
            .min()
            .unwrap_or(0)
    }

    /// The union of the layers' extents; the world when they hold nothing.
    fn bounds(&self) -> [f64; 4] {
        let extent = self
            .collections
            .iter()
            .filter_map(|p| p.collection.index.extent())
            .reduce(|a: Rect<f64>, b| {
                Rect::new(
                    geo::coord! { x: a.min().x.min(b.min().x), y: a.min().y.min(b.min().y) },
                    geo::coord! { x: a.max().x.max(b.max().x), y: a.max().y.max(b.max().y) },
                )
            });
        extent.map_or([-180.0, -85.051_129, 180.0, 85.051_129], |r| {
            [r.min().x, r.min().y, r.max().x, r.max().y]
        })
    }
}

/// The layers of the dataset tileset, with their query string: `collections=a,b` (existing,
/// each once) or every built-in layer.
fn dataset_selection(
    state: &AppState,
    list: Option<&str>,
) -> Result<(Vec<Arc<Collection>>, String), ApiError> {
    let all = state.catalog.collections();
    let Some(list) = list else {
        let builtin: Vec<Arc<Collection>> =
            all.into_iter().filter(|c| c.def.layer.is_some()).collect();
        return Ok((builtin, String::new()));
    };
    let allowed = || {
        let ids: Vec<&str> = all.iter().map(|c| c.def.id.as_str()).collect();
        format!(
            "a comma-separated list of collections, each once: {}",
            ids.join(", ")
        )
    };
    let mut chosen: Vec<Arc<Collection>> = Vec::new();
    for id in list.split(',') {
        let found = CollectionId::parse(id.trim())
            .ok()
            .and_then(|cid| all.iter().find(|c| c.def.id == cid));
        match found {
            Some(c) if !chosen.iter().any(|x| x.def.id == c.def.id) => chosen.push(Arc::clone(c)),
            Some(_) => {
                return Err(ApiError::invalid(
                    "collections",
                    list,
                    allowed(),
                    format!("{id} is given twice"),
                ));
            }
            None => {
                return Err(ApiError::invalid(
                    "collections",
                    list,
                    allowed(),
                    format!("no collection {id:?}"),
                ));
            }
        }
    }
    let query = format!(
        "?collections={}",
        chosen
            .iter()
            .map(|c| c.def.id.as_str())
            .collect::<Vec<_>>()
            .join(",")
    );
    Ok((chosen, query))
}

fn dataset_layers(state: &AppState, list: Option<&str>) -> Result<Layers, ApiError> {
    let (collections, query) = dataset_selection(state, list)?;
    Ok(Layers::of(state, &collections, query))
}

fn collection_layers(state: &AppState, collection_id: &str) -> Result<Layers, ApiError> {
    let collection = state.catalog.collection(collection_id)?;
    Ok(Layers::of(state, &[collection], String::new()))
}

fn geometry_dimension(family: GeometryFamily) -> Option<u8> {
    match family {
        GeometryFamily::Point | GeometryFamily::Points => Some(0),
        GeometryFamily::Line => Some(1),
        GeometryFamily::Polygon => Some(2),
        GeometryFamily::Any => None,
    }
}

fn field_json_type(field: &crate::tiles::rules::Field) -> &'static str {
    match field.type_name() {
        "Number" => "number",
        "Boolean" => "boolean",
        _ => "string",
    }
}

// --- tilesets ----------------------------------------------------------------------------------

/// The path of a tileset: `/tiles/WebMercatorQuad` or `/collections/{id}/tiles/WebMercatorQuad`.
fn tileset_path(collection: Option<&str>) -> String {
    match collection {
        Some(id) => format!("/collections/{id}/tiles/{TMS_ID}"),
        None => format!("/tiles/{TMS_ID}"),
    }
}

fn tileset_summary(state: &AppState, title: &str, path: &str, query: &str) -> Value {
    json!({
        "title": title,
        "dataType": "vector",
        "crs": CRS_3857,
        "tileMatrixSetURI": TMS_URI,
        "links": [
            link(state.url(&format!("{path}{query}")), "self", media::JSON, "the tileset"),
            link(state.url(&format!("/tileMatrixSets/{TMS_ID}")), REL_TILING_SCHEME, media::JSON, "the tile matrix set"),
            tile_template_link(state, path, query),
        ],
    })
}

fn tile_template_link(state: &AppState, path: &str, query: &str) -> Value {
    json!({
        "href": state.url(&format!("{path}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}{query}")),
        "rel": "item",
        "type": MEDIA_TYPE,
        "templated": true,
        "title": "a tile (Mapbox Vector Tile)",
    })
}

fn tileset_json(state: &AppState, layers: &Layers, title: &str, collection: Option<&str>) -> Value {
    let path = tileset_path(collection);
    let query = &layers.query;
    let [west, south, east, north] = layers.bounds();
    let bounds = Rect::new(
        geo::coord! { x: west, y: south },
        geo::coord! { x: east, y: north },
    );
    let limits: Vec<Value> = (layers.min_zoom()..=MAX_DETAIL_ZOOM)
        .map(|z| {
            let range = TileRange::covering(bounds, z, 0.0);
            json!({
                "tileMatrix": z.to_string(),
                "minTileRow": range.y.start(), "maxTileRow": range.y.end(),
                "minTileCol": range.x.start(), "maxTileCol": range.x.end(),
            })
        })
        .collect();
    let layer_docs: Vec<Value> = layers
        .collections
        .iter()
        .map(|p| {
            let (c, rules) = (&p.collection, &p.rules);
            let properties: Map<String, Value> = rules
                .fields
                .iter()
                .map(|f| (f.name.clone(), json!({ "type": field_json_type(f), "title": f.title })))
                .collect();
            let mut layer = json!({
                "id": c.def.id.as_str(),
                "title": display_title(&c.def),
                "description": rules.describe(),
                "dataType": "vector",
                "minTileMatrix": rules.min_zoom.to_string(),
                "maxTileMatrix": MAX_DETAIL_ZOOM.to_string(),
                "propertiesSchema": { "type": "object", "properties": properties },
                "links": [link(state.url(&format!("/collections/{}", c.def.id)), "http://www.opengis.net/def/rel/ogc/1.0/geodata", media::JSON, "the collection")],
            });
            if let Some(d) = geometry_dimension(c.def.family) {
                layer["geometryDimension"] = json!(d);
            }
            layer
        })
        .collect();
    let mut links = vec![
        link(
            state.url(&format!("{path}{query}")),
            "self",
            media::JSON,
            "this tileset",
        ),
        link(
            state.url(&format!("/tileMatrixSets/{TMS_ID}")),
            REL_TILING_SCHEME,
            media::JSON,
            "the tile matrix set",
        ),
        link(
            state.url(&format!("{path}/tilejson.json{query}")),
            "describedby",
            TILEJSON,
            "TileJSON 3.0.0",
        ),
        tile_template_link(state, &path, query),
    ];
    if let Some(id) = collection {
        links.push(link(
            state.url(&format!("/collections/{id}")),
            "http://www.opengis.net/def/rel/ogc/1.0/geodata",
            media::JSON,
            "the collection",
        ));
    }
    json!({
        "title": title,
        "dataType": "vector",
        "crs": CRS_3857,
        "tileMatrixSetURI": TMS_URI,
        "tileMatrixSetLimits": limits,
        "boundingBox": { "lowerLeft": [west, south], "upperRight": [east, north], "crs": CRS84 },
        "centerPoint": { "coordinates": [f64::midpoint(west, east), f64::midpoint(south, north)], "tileMatrix": CENTER_ZOOM.to_string(), "crs": CRS84 },
        "layers": layer_docs,
        "links": links,
    })
}

fn tilejson(state: &AppState, layers: &Layers, name: &str, collection: Option<&str>) -> Value {
    let path = tileset_path(collection);
    let [west, south, east, north] = layers.bounds();
    let min_zoom = layers.min_zoom();
    let vector_layers: Vec<Value> = layers
        .collections
        .iter()
        .map(|p| {
            let (c, rules) = (&p.collection, &p.rules);
            let fields: Map<String, Value> = rules
                .fields
                .iter()
                .map(|f| {
                    (
                        f.name.clone(),
                        json!(format!("{}: {}", f.type_name(), f.title)),
                    )
                })
                .collect();
            json!({
                "id": c.def.id.as_str(),
                "description": format!("{}; {}", display_title(&c.def), rules.describe()),
                "minzoom": rules.min_zoom,
                "maxzoom": MAX_DETAIL_ZOOM,
                "fields": fields,
            })
        })
        .collect();
    let mut doc = json!({
        "tilejson": "3.0.0",
        "name": name,
        "description": "citygrid vector tiles (MVT 2.1, extent 4096, WebMercatorQuad); the tile path is z/y/x.",
        "version": env!("CARGO_PKG_VERSION"),
        "scheme": "xyz",
        "tiles": [state.url(&format!("{path}/{{z}}/{{y}}/{{x}}{}", layers.query))],
        "minzoom": min_zoom,
        "maxzoom": MAX_DETAIL_ZOOM,
        "bounds": [west, south, east, north],
        "center": [f64::midpoint(west, east), f64::midpoint(south, north), CENTER_ZOOM.clamp(min_zoom, MAX_DETAIL_ZOOM)],
        "vector_layers": vector_layers,
    });
    // The credits of the layers in this tileset, as each collection's import gave them;
    // TileJSON's `attribution` is optional, and left out when no layer names a source.
    if let Some(credit) = attribution(layers.collections.iter().map(|p| p.collection.def.as_ref()))
    {
        doc["attribution"] = json!(credit);
    }
    doc
}

fn tilejson_response(body: &Value) -> Response {
    with_type(body.to_string(), media::JSON)
}

/// The dataset's vector tilesets.
#[utoipa::path(get, path = "/tiles", operation_id = "getDatasetTilesets", tag = "Tiles",
    params(DatasetQuery), security((), ("bearerAuth" = [])),
    responses((status = 200, description = "the tilesets", body = Tilesets),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 404, response = NotFound), (status = 500, response = ServerError)))]
pub async fn list_dataset_tilesets(
    State(state): State<AppState>,
    Query(query): Query<DatasetQuery>,
) -> Result<Response, ApiError> {
    let layers = dataset_layers(&state, query.collections.as_deref())?;
    Ok(json_response(&json!({
        "tilesets": [tileset_summary(&state, "citygrid — all layers 全部图层", &tileset_path(None), &layers.query)],
        "links": [link(state.url(&format!("/tiles{}", layers.query)), "self", media::JSON, "the tilesets")],
    })))
}

/// The dataset tileset.
#[utoipa::path(get, path = "/tiles/WebMercatorQuad", operation_id = "getDatasetTileset",
    tag = "Tiles", params(DatasetQuery), security((), ("bearerAuth" = [])),
    responses((status = 200, description = "tileset metadata", body = Tileset),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 404, response = NotFound), (status = 500, response = ServerError)))]
pub async fn describe_dataset_tileset(
    State(state): State<AppState>,
    Query(query): Query<DatasetQuery>,
) -> Result<Response, ApiError> {
    let layers = dataset_layers(&state, query.collections.as_deref())?;
    Ok(json_response(&tileset_json(
        &state,
        &layers,
        "citygrid — all layers 全部图层",
        None,
    )))
}

/// TileJSON 3.0.0 of the dataset tileset.
#[utoipa::path(get, path = "/tiles/WebMercatorQuad/tilejson.json", operation_id = "getDatasetTileJson",
    tag = "Tiles", params(TileJsonQuery), security((), ("bearerAuth" = [])),
    responses((status = 200, description = "TileJSON", body = TileJson),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 404, response = NotFound), (status = 500, response = ServerError)))]
pub async fn dataset_tilejson(
    State(state): State<AppState>,
    Query(query): Query<TileJsonQuery>,
) -> Result<Response, ApiError> {
    let layers = dataset_layers(&state, query.collections.as_deref())?;
    Ok(tilejson_response(&tilejson(
        &state, &layers, "citygrid", None,
    )))
}

/// The vector tilesets of a collection.
#[utoipa::path(get, path = "/collections/{collectionId}/tiles", operation_id = "getCollectionTilesets",
    tag = "Tiles", params(("collectionId" = String, Path, description = "A collection id listed by /collections", example = "grid_cells"), JsonQuery), security((), ("bearerAuth" = [])),
    responses((status = 200, description = "the tilesets", body = Tilesets),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 404, response = NotFound), (status = 500, response = ServerError)))]
pub async fn list_collection_tilesets(
    State(state): State<AppState>,
    Path(collection_id): Path<String>,
    Query(_): Query<JsonQuery>,
) -> Result<Response, ApiError> {
    let collection = state.catalog.collection(&collection_id)?;
    let id = collection.def.id.as_str();
    Ok(json_response(&json!({
        "tilesets": [tileset_summary(&state, &display_title(&collection.def), &tileset_path(Some(id)), "")],
        "links": [link(state.url(&format!("/collections/{id}/tiles")), "self", media::JSON, "the tilesets")],
    })))
}

/// A collection's tileset.
#[utoipa::path(get, path = "/collections/{collectionId}/tiles/WebMercatorQuad",
    operation_id = "getCollectionTileset", tag = "Tiles", params(("collectionId" = String, Path, description = "A collection id listed by /collections", example = "grid_cells"), JsonQuery), security((), ("bearerAuth" = [])),
    responses((status = 200, description = "tileset metadata", body = Tileset),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 404, response = NotFound), (status = 500, response = ServerError)))]
pub async fn describe_collection_tileset(
    State(state): State<AppState>,
    Path(collection_id): Path<String>,
    Query(_): Query<JsonQuery>,
) -> Result<Response, ApiError> {
    let layers = collection_layers(&state, &collection_id)?;
    let c = &layers.collections[0].collection;
    let title = display_title(&c.def);
    let id = c.def.id.to_string();
    Ok(json_response(&tileset_json(
        &state,
        &layers,
        &title,
        Some(&id),
    )))
}

/// TileJSON 3.0.0 of a collection.
#[utoipa::path(get, path = "/collections/{collectionId}/tiles/WebMercatorQuad/tilejson.json",
    operation_id = "getCollectionTileJson", tag = "Tiles", params(("collectionId" = String, Path, description = "A collection id listed by /collections", example = "grid_cells"), NoQuery), security((), ("bearerAuth" = [])),
    responses((status = 200, description = "TileJSON", body = TileJson),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 404, response = NotFound), (status = 500, response = ServerError)))]
pub async fn collection_tilejson(
    State(state): State<AppState>,
    Path(collection_id): Path<String>,
    Query(NoQuery {}): Query<NoQuery>,
) -> Result<Response, ApiError> {
    let layers = collection_layers(&state, &collection_id)?;
    let c = &layers.collections[0].collection;
    let id = c.def.id.to_string();
    Ok(tilejson_response(&tilejson(
        &state,
        &layers,
        &display_title(&c.def),
        Some(&id),
    )))
}

// --- tiles -------------------------------------------------------------------------------------

/// Parses `{z}/{y}/{x}` into a tile: 400 when a value is not a number, 404 when the tile is
/// outside the tile matrix set.
fn parse_tile(z: &str, y: &str, x: &str) -> Result<TileId, ApiError> {
    let number = |name: &str, value: &str| {
        value.parse::<u32>().map_err(|_| {
            ApiError::invalid(name, value, "a non-negative integer", "not a tile index")
        })
    };
    let (z, y, x) = (
        number("tileMatrix", z)?,
        number("tileRow", y)?,
        number("tileCol", x)?,
    );
    TileId::new(z, x, y).map_err(|e| {
        let detail = match e {
            TileError::Zoom { .. } => format!("tile matrix {z} does not exist: {e}"),
            TileError::Row { .. } | TileError::Column { .. } => {
                format!("tile {z}/{y}/{x} does not exist: {e}")
            }
        };
        ApiError::NotFound(detail)
    })
}

/// The tile response: 200 with the tile, 204 when empty, 304 when `If-None-Match` matches.
fn tile_response(
    state: &AppState,
    layers: &LayerSet,
    tile: TileId,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let tile = state.tiles.tile(layers, tile)?;
    let etag = format!("W/\"{:016x}\"", tile.hash);
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',').any(|tag| {
                let tag = tag.trim();
                tag == "*" || tag.trim_start_matches("W/") == etag.trim_start_matches("W/")
            })
        });
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else if tile.is_empty() {
        StatusCode::NO_CONTENT.into_response()
    } else {
        with_type(tile.bytes, MEDIA_TYPE)
    };
    let h = response.headers_mut();
    h.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).map_err(ApiError::internal)?,
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    Ok(response)
}

/// A vector tile of several collections (`collections=`).
#[utoipa::path(get, path = "/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}",
    operation_id = "getDatasetTile", tag = "Tiles",
    params(("tileMatrix" = u32, Path, description = "zoom level, 0–24", minimum = 0),
        ("tileRow" = u32, Path, description = "row, from the north, 0 to 2^tileMatrix − 1", minimum = 0),
        ("tileCol" = u32, Path, description = "column, from the west, 0 to 2^tileMatrix − 1", minimum = 0), DatasetTileQuery, ("If-None-Match" = Option<String>, Header, description = "ETags of copies held: a 304 when one is the tile's")), security((), ("bearerAuth" = [])),
    responses((status = 200, description = "a Mapbox Vector Tile 2.1", content_type = "application/vnd.mapbox-vector-tile", body = Mvt,
            headers(("ETag" = String, description = "the tile's weak entity tag"),
                ("Cache-Control" = String, description = "no-cache: keep, but revalidate"))),
        (status = 204, description = "no feature in this tile",
            headers(("ETag" = String, description = "the tile's weak entity tag"))),
        (status = 304, description = "not modified (If-None-Match)",
            headers(("ETag" = String, description = "the tile's weak entity tag"))),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 404, response = NotFound), (status = 500, response = ServerError)))]
pub async fn get_dataset_tile(
    State(state): State<AppState>,
    Path((z, y, x)): Path<(String, String, String)>,
    Query(query): Query<DatasetTileQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let tile = parse_tile(&z, &y, &x)?;
    let (collections, _) = dataset_selection(&state, query.collections.as_deref())?;
    let layers = LayerSet::new(collections.iter().map(|c| c.def.id.clone()).collect());
    tile_response(&state, &layers, tile, &headers)
}

/// A vector tile of a collection.
#[utoipa::path(get,
    path = "/collections/{collectionId}/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}",
    operation_id = "getCollectionTile", tag = "Tiles",
    params(("collectionId" = String, Path, description = "A collection id listed by /collections", example = "grid_cells"), ("tileMatrix" = u32, Path, description = "zoom level, 0–24", minimum = 0),
        ("tileRow" = u32, Path, description = "row, from the north, 0 to 2^tileMatrix − 1", minimum = 0),
        ("tileCol" = u32, Path, description = "column, from the west, 0 to 2^tileMatrix − 1", minimum = 0), TileQuery, ("If-None-Match" = Option<String>, Header, description = "ETags of copies held: a 304 when one is the tile's")), security((), ("bearerAuth" = [])),
    responses((status = 200, description = "a Mapbox Vector Tile 2.1", content_type = "application/vnd.mapbox-vector-tile", body = Mvt,
            headers(("ETag" = String, description = "the tile's weak entity tag"),
                ("Cache-Control" = String, description = "no-cache: keep, but revalidate"))),
        (status = 204, description = "no feature in this tile",
            headers(("ETag" = String, description = "the tile's weak entity tag"))),
        (status = 304, description = "not modified (If-None-Match)",
            headers(("ETag" = String, description = "the tile's weak entity tag"))),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 404, response = NotFound), (status = 500, response = ServerError)))]
pub async fn get_collection_tile(
    State(state): State<AppState>,
    Path((collection_id, z, y, x)): Path<(String, String, String, String)>,
    Query(_): Query<TileQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let collection = state.catalog.collection(&collection_id)?;
    let tile = parse_tile(&z, &y, &x)?;
    let layers = LayerSet::new(vec![collection.def.id.clone()]);
    tile_response(&state, &layers, tile, &headers)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_generated_document_has_every_tile_operation_with_the_legacy_path_and_id() {
        let paths = &crate::api::generated_document()["paths"];
        let q = "WebMercatorQuad";
        let tile = "{tileMatrix}/{tileRow}/{tileCol}";
        let c = "/collections/{collectionId}/tiles";
        for (path, id) in [
            ("/tileMatrixSets".to_owned(), "getTileMatrixSets"),
            (format!("/tileMatrixSets/{q}"), "getTileMatrixSet"),
            ("/tiles".to_owned(), "getDatasetTilesets"),
            (format!("/tiles/{q}"), "getDatasetTileset"),
            (format!("/tiles/{q}/tilejson.json"), "getDatasetTileJson"),
            (format!("/tiles/{q}/{tile}"), "getDatasetTile"),
            (c.to_owned(), "getCollectionTilesets"),
            (format!("{c}/{q}"), "getCollectionTileset"),
            (format!("{c}/{q}/tilejson.json"), "getCollectionTileJson"),
            (format!("{c}/{q}/{tile}"), "getCollectionTile"),
        ] {
            assert_eq!(paths[path.as_str()]["get"]["operationId"], id, "{path}");
        }
        let tile = &paths["/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}"]["get"];
        assert!(tile["responses"]["200"]["content"][super::MEDIA_TYPE].is_object());
        assert!(tile["responses"]["204"].is_object() && tile["responses"]["304"].is_object());
    }
}
