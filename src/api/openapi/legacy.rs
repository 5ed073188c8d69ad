//! The OpenAPI 3.0 document of the service, built from the routes and the current collections
//! (each collection's items path lists its filterable properties, with enumerations).

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::model::schema::PropertyType;
use crate::service::Collection;
use crate::service::items::{DEFAULT_LIMIT, MAX_LIMIT};

fn problem_responses() -> Value {
    json!({
        "400": { "$ref": "#/components/responses/BadRequest" },
        "404": { "$ref": "#/components/responses/NotFound" },
        "406": { "$ref": "#/components/responses/NotAcceptable" },
        "500": { "$ref": "#/components/responses/ServerError" }
    })
}

#[expect(
    clippy::needless_pass_by_value,
    reason = "call sites build the values inline with json!"
)]
fn operation(summary: &str, operation_id: &str, tag: &str, parameters: Value, ok: Value) -> Value {
    let mut responses = problem_responses();
    responses["200"] = ok;
    json!({ "summary": summary, "operationId": operation_id, "tags": [tag], "parameters": parameters, "responses": responses })
}

fn ok_json(description: &str, schema: &str, media: &str) -> Value {
    json!({
        "description": description,
        "content": {
            media: { "schema": { "$ref": format!("#/components/schemas/{schema}") } },
            "text/html": { "schema": { "type": "string" } }
        }
    })
}

fn property_parameter(p: &crate::model::schema::PropertySchema) -> Value {
    let mut schema = Map::new();
    let (ty, format) = match p.ty {
        PropertyType::Integer => ("integer", None),
        PropertyType::Number => ("number", None),
        PropertyType::Boolean => ("boolean", None),
        PropertyType::Date => ("string", Some("date")),
        PropertyType::DateTime => ("string", Some("date-time")),
        PropertyType::String | PropertyType::StringList => ("string", None),
    };
    schema.insert("type".into(), json!(ty));
    if let Some(format) = format {
        schema.insert("format".into(), json!(format));
    }
    if !p.enumeration.is_empty() {
        schema.insert(
            "enum".into(),
            json!(
                p.enumeration
                    .iter()
                    .map(|v| v.code.as_str())
                    .collect::<Vec<_>>()
            ),
        );
    }
    json!({
        "name": p.name,
        "in": "query",
        "required": false,
        "description": format!("{} {}: only features whose value equals this", p.title_zh, p.title_en),
        "schema": schema,
        "style": "form",
        "explode": false
    })
}

/// The OpenAPI 3.0 document for `base_url` and `collections`.
#[expect(
    clippy::too_many_lines,
    reason = "one declarative document reads best in one piece"
)]
pub fn document(base_url: &str, collections: &[Arc<Collection>]) -> Value {
    let common_items = json!([
        { "$ref": "#/components/parameters/collectionId" },
        { "$ref": "#/components/parameters/limit" },
        { "$ref": "#/components/parameters/offset" },
        { "$ref": "#/components/parameters/bbox" },
        { "$ref": "#/components/parameters/bbox-crs" },
        { "$ref": "#/components/parameters/datetime" },
        { "$ref": "#/components/parameters/filter" },
        { "$ref": "#/components/parameters/filter-lang" },
        { "$ref": "#/components/parameters/filter-crs" },
        { "$ref": "#/components/parameters/sortby" },
        { "$ref": "#/components/parameters/properties" },
        { "$ref": "#/components/parameters/f" }
    ]);
    let f = json!([{ "$ref": "#/components/parameters/f" }]);
    let mut paths = Map::new();
    paths.insert("/".into(), json!({ "get": operation("Landing page", "getLandingPage", "Capabilities", f.clone(), ok_json("The landing page", "landingPage", "application/json")) }));
    paths.insert("/conformance".into(), json!({ "get": operation("Conformance classes implemented", "getConformance", "Capabilities", f.clone(), ok_json("The conformance classes", "confClasses", "application/json")) }));
    paths.insert("/api".into(), json!({ "get": operation("This API definition", "getApi", "Capabilities", f.clone(), json!({
        "description": "The OpenAPI 3.0 document",
        "content": { "application/vnd.oai.openapi+json;version=3.0": { "schema": { "type": "object" } }, "text/html": { "schema": { "type": "string" } } }
    })) }));
    paths.insert("/collections".into(), json!({ "get": operation("The collections", "getCollections", "Capabilities", f.clone(), ok_json("The collections", "collections", "application/json")) }));
    paths.insert("/collections/{collectionId}".into(), json!({ "get": operation("One collection", "describeCollection", "Capabilities",
        json!([{ "$ref": "#/components/parameters/collectionId" }, { "$ref": "#/components/parameters/f" }]),
        ok_json("The collection", "collectionInfo", "application/json")) }));
    paths.insert("/collections/{collectionId}/schema".into(), json!({ "get": operation("The property schema of a collection", "getCollectionSchema", "Capabilities",
        json!([{ "$ref": "#/components/parameters/collectionId" }]),
        json!({ "description": "JSON Schema", "content": { "application/schema+json": { "schema": { "type": "object" } } } })) }));
    paths.insert("/collections/{collectionId}/queryables".into(), json!({ "get": operation("The queryables of a collection (what filter and sortby may name)", "getQueryables", "Capabilities",
        json!([{ "$ref": "#/components/parameters/collectionId" }]),
        json!({ "description": "JSON Schema of the queryables (OGC API – Features – Part 3)", "content": { "application/schema+json": { "schema": { "type": "object" } } } })) }));
    paths.insert("/collections/{collectionId}/items".into(), json!({ "get": operation("The features of a collection", "getFeatures", "Data",
        common_items, ok_json("A page of features", "featureCollectionGeoJSON", "application/geo+json")) }));
    paths.insert("/collections/{collectionId}/items/{featureId}".into(), json!({ "get": operation("One feature", "getFeature", "Data",
        json!([{ "$ref": "#/components/parameters/collectionId" }, { "$ref": "#/components/parameters/featureId" }, { "$ref": "#/components/parameters/f" }]),
        ok_json("The feature", "featureGeoJSON", "application/geo+json")) }));
    for c in collections {
        let id = c.def.id.as_str();
        let mut parameters = vec![
            json!({ "$ref": "#/components/parameters/limit" }),
            json!({ "$ref": "#/components/parameters/offset" }),
            json!({ "$ref": "#/components/parameters/bbox" }),
            json!({ "$ref": "#/components/parameters/bbox-crs" }),
            json!({ "$ref": "#/components/parameters/datetime" }),
            json!({ "$ref": "#/components/parameters/filter" }),
            json!({ "$ref": "#/components/parameters/filter-lang" }),
            json!({ "$ref": "#/components/parameters/filter-crs" }),
            json!({ "$ref": "#/components/parameters/sortby" }),
            json!({ "$ref": "#/components/parameters/properties" }),
            json!({ "$ref": "#/components/parameters/f" }),
        ];
        parameters.extend(
            c.def
                .schema
                .properties
                .iter()
                .filter(|p| p.ty.is_simple())
                .map(property_parameter),
        );
        paths.insert(
            format!("/collections/{id}/items"),
            json!({ "get": operation(&format!("{} {}", c.def.title_zh, c.def.title_en), &format!("getFeatures_{id}"), "Data",
                Value::Array(parameters), ok_json("A page of features", "featureCollectionGeoJSON", "application/geo+json")) }),
        );
    }
    paths.extend(super::super::tiles::openapi_paths());
    paths.extend(spatial_paths());
    paths.extend(viewer_paths());
    paths.extend(auth_paths());
    paths.extend(case_paths());
    paths.insert("/health".into(), json!({ "get": { "summary": "Liveness", "operationId": "getHealth", "tags": ["Operations"], "responses": { "200": { "description": "alive" } } } }));
    paths.insert("/ready".into(), json!({ "get": { "summary": "Readiness: store reachable, indexes loaded", "operationId": "getReady", "tags": ["Operations"], "responses": { "200": { "description": "ready" }, "503": { "$ref": "#/components/responses/Unavailable" } } } }));

    let problem = |d: &str| json!({ "description": d, "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/problem" } } } });
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "citygrid",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "网格化管理与城市更新空间数据服务 — OGC API – Features Part 1 (core, GeoJSON, HTML, OpenAPI 3.0) and Part 3 (queryables, CQL2 text and JSON filters), OGC API – Tiles Part 1 (vector tiles, WebMercatorQuad), and the spatial questions of grid management (locate, search, clipped summaries, nearest, per-grid statistics). Coordinates are CRS84 (WGS84 lon/lat).",
            "license": { "name": "MIT OR Apache-2.0" }
        },
        "servers": [{ "url": base_url }],
        "tags": [{ "name": "Capabilities" }, { "name": "Data" }, { "name": "Grid" }, { "name": "Tiles" }, { "name": "Sessions" }, { "name": "Cases" }, { "name": "Open311 GeoReport v2" }, { "name": "Viewer" }, { "name": "Operations" }],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http", "scheme": "bearer", "bearerFormat": "opaque token cg_…",
                    "description": "A token from POST /auth/login, sent as `Authorization: Bearer <token>`."
                }
            },
            "parameters": {
                "limit": {
                    "name": "limit", "in": "query", "required": false, "style": "form", "explode": false,
                    "description": format!("The number of features to return at most; larger values are clamped to {MAX_LIMIT}."),
                    "schema": { "type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT }
                },
                "offset": {
                    "name": "offset", "in": "query", "required": false, "style": "form", "explode": false,
                    "description": "The number of matching features to skip (the next link sets it).",
                    "schema": { "type": "integer", "minimum": 0, "default": 0 }
                },
                "bbox": {
                    "name": "bbox", "in": "query", "required": false, "style": "form", "explode": false,
                    "description": "minLon,minLat,maxLon,maxLat in CRS84 (or 6 numbers with heights, ignored); minLon > maxLon crosses the antimeridian.",
                    "schema": { "type": "array", "minItems": 4, "maxItems": 6, "items": { "type": "number" } }
                },
                "bbox-crs": {
                    "name": "bbox-crs", "in": "query", "required": false, "style": "form", "explode": false,
                    "schema": { "type": "string", "format": "uri", "enum": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"] }
                },
                "datetime": {
                    "name": "datetime", "in": "query", "required": false, "style": "form", "explode": false,
                    "description": "An instant or interval (RFC 3339 date-times or dates, `..` for an open end), matched against the collection's temporal property (x-temporal-property); ignored by collections without one.",
                    "schema": { "type": "string" }
                },
                "filter": {
                    "name": "filter", "in": "query", "required": false, "style": "form", "explode": false,
                    "description": "A CQL2 expression over the collection's queryables (/collections/{collectionId}/queryables): comparisons, LIKE, BETWEEN, IN, IS NULL, AND/OR/NOT, arithmetic, CASEI/ACCENTI, S_* spatial and T_* temporal functions. Property names are case-sensitive. Limits (400 beyond them): 1 MiB, 32 levels of parentheses and brackets (64 levels of JSON in cql2-json), 256 operators (NOT, comparisons, LIKE, IN, BETWEEN, arithmetic, unary minus), 1,024 AND/OR; geometry literals at most 20,000 vertices, 500 parts, 1,000 rings.",
                    "schema": { "type": "string" }
                },
                "filter-lang": {
                    "name": "filter-lang", "in": "query", "required": false, "style": "form", "explode": false,
                    "description": "The encoding of filter.",
                    "schema": { "type": "string", "enum": ["cql2-text", "cql2-json"], "default": "cql2-text" }
                },
                "filter-crs": {
                    "name": "filter-crs", "in": "query", "required": false, "style": "form", "explode": false,
                    "description": "The CRS of geometries in filter; only CRS84.",
                    "schema": { "type": "string", "format": "uri", "enum": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"] }
                },
                "sortby": {
                    "name": "sortby", "in": "query", "required": false, "style": "form", "explode": false,
                    "description": "Comma-separated properties to sort by before paging, each optionally prefixed by + (ascending, the default) or - (descending); stable; nulls last when ascending.",
                    "schema": { "type": "array", "items": { "type": "string", "pattern": "^[+-]?[A-Za-z_][A-Za-z0-9_:.-]*$" } }
                },
                "properties": {
                    "name": "properties", "in": "query", "required": false, "style": "form", "explode": false,
                    "description": "Comma-separated properties to return (all when absent).",
                    "schema": { "type": "array", "items": { "type": "string" } }
                },
                "f": {
                    "name": "f", "in": "query", "required": false, "style": "form", "explode": false,
                    "description": "The format of the response; without it, the Accept header decides (JSON by default).",
                    "schema": { "type": "string", "enum": ["json", "geojson", "html"] }
                },
                "collectionId": { "name": "collectionId", "in": "path", "required": true, "description": "A collection id listed by /collections", "schema": { "type": "string" }, "example": "grid_cells" },
                "featureId": { "name": "featureId", "in": "path", "required": true, "description": "A feature id of the collection", "schema": { "type": "string" } }
            },
            "responses": {
                "BadRequest": problem("A parameter is malformed or unknown"),
                "NotFound": problem("No such resource"),
                "NotAcceptable": problem("The format is not offered"),
                "ServerError": problem("An internal error (details are logged, not sent)"),
                "PayloadTooLarge": problem("The request body is larger than allowed"),
                "UnsupportedMediaType": problem("The request body is not of a media type accepted here"),
                "Unavailable": problem("The store is not reachable"),
                "AnalysisBusy": problem("Every analysis worker is busy and the queue is full (CITYGRID_ANALYSIS_WORKERS, CITYGRID_ANALYSIS_QUEUE); retry after the Retry-After header's seconds"),
                "AnalysisTimedOut": problem("The analysis used up its time budget (CITYGRID_ANALYSIS_TIMEOUT_MS) and was stopped; narrow the region, the collections or the filter"),
                "Unauthorized": problem("No valid bearer token (missing, unknown, expired or revoked), or wrong credentials"),
                "Forbidden": problem("The user's role does not allow this; the problem names the roles that do"),
                "Conflict": problem("The case's state does not allow the action, or someone changed it first (`current` holds the case as it is now)"),
                "Unprocessable": problem("The request cannot be carried out: a location outside the district, an unknown asset or photo, an unknown unit or one no active handler holds"),
                "TooManyRequests": {
                    "description": "Too many failed logins; retry after the given seconds",
                    "headers": { "Retry-After": { "schema": { "type": "integer", "minimum": 0 } } },
                    "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/problem" } } }
                }
            },
            "schemas": {
                "link": {
                    "type": "object", "required": ["href"],
                    "properties": { "href": { "type": "string" }, "rel": { "type": "string" }, "type": { "type": "string" }, "title": { "type": "string" } }
                },
                "landingPage": {
                    "type": "object", "required": ["links"],
                    "properties": { "title": { "type": "string" }, "description": { "type": "string" }, "links": { "type": "array", "items": { "$ref": "#/components/schemas/link" } } }
                },
                "confClasses": {
                    "type": "object", "required": ["conformsTo"],
                    "properties": { "conformsTo": { "type": "array", "items": { "type": "string" } } }
                },
                "collectionInfo": {
                    "type": "object", "required": ["id", "links"],
                    "properties": {
                        "id": { "type": "string" }, "title": { "type": "string" }, "description": { "type": "string" },
                        "links": { "type": "array", "items": { "$ref": "#/components/schemas/link" } },
                        "extent": { "type": "object" }, "itemType": { "type": "string" },
                        "crs": { "type": "array", "items": { "type": "string" } }
                    }
                },
                "collections": {
                    "type": "object", "required": ["links", "collections"],
                    "properties": {
                        "links": { "type": "array", "items": { "$ref": "#/components/schemas/link" } },
                        "collections": { "type": "array", "items": { "$ref": "#/components/schemas/collectionInfo" } }
                    }
                },
                "featureGeoJSON": {
                    "type": "object", "required": ["type", "geometry", "properties"],
                    "properties": {
                        "type": { "type": "string", "enum": ["Feature"] },
                        "geometry": { "type": "object", "nullable": true },
                        "properties": { "type": "object", "nullable": true },
                        "id": { "oneOf": [{ "type": "string" }, { "type": "integer" }] },
                        "links": { "type": "array", "items": { "$ref": "#/components/schemas/link" } }
                    }
                },
                "featureCollectionGeoJSON": {
                    "type": "object", "required": ["type", "features"],
                    "properties": {
                        "type": { "type": "string", "enum": ["FeatureCollection"] },
                        "features": { "type": "array", "items": { "$ref": "#/components/schemas/featureGeoJSON" } },
                        "links": { "type": "array", "items": { "$ref": "#/components/schemas/link" } },
                        "timeStamp": { "type": "string", "format": "date-time" },
                        "numberMatched": { "type": "integer", "minimum": 0 },
                        "numberReturned": { "type": "integer", "minimum": 0 }
                    }
                },
                "user": {
                    "type": "object", "required": ["id", "username", "display_name", "role", "cells", "disabled", "created_at"],
                    "properties": {
                        "id": { "type": "integer" },
                        "username": { "type": "string" },
                        "display_name": { "type": "string" },
                        "role": { "type": "string", "enum": ["admin", "dispatcher", "supervisor", "handler", "worker", "analyst", "viewer"] },
                        "unit": { "type": "string", "nullable": true },
                        "cells": { "type": "array", "items": { "type": "string" } },
                        "disabled": { "type": "boolean" },
                        "created_at": { "type": "string", "format": "date-time" }
                    }
                },
                "auditRecord": {
                    "type": "object", "required": ["id", "at", "action", "target", "detail"],
                    "properties": {
                        "id": { "type": "integer" },
                        "at": { "type": "string", "format": "date-time" },
                        "actor": { "type": "string", "nullable": true },
                        "action": { "type": "string" },
                        "target": { "type": "string" },
                        "detail": { "type": "object" },
                        "remote": { "type": "string", "nullable": true }
                    }
                },
                "problem": {
                    "type": "object", "required": ["type", "title", "status"],
                    "properties": {
                        "type": { "type": "string" }, "title": { "type": "string" }, "status": { "type": "integer" },
                        "detail": { "type": "string" }, "parameter": { "type": "string" }, "value": { "type": "string" },
                        "allowed": {}
                    }
                }
            }
        }
    })
}

/// Paths open to everyone, whether or not the base layers are public.
pub const OPEN_PATHS: [&str; 15] = [
    "/map",
    "/map/",
    "/map/config.json",
    "/map/{path}",
    "/",
    "/conformance",
    "/api",
    "/health",
    "/ready",
    "/auth/login",
    "/cases/categories",
    "/cases/calendar",
    "/open311/v2/services.json",
    "/open311/v2/services/{code}.json",
    "/open311/v2/discovery.json",
];

/// Makes a bearer token the default requirement of every operation (the base layers are not
/// public), except on [`OPEN_PATHS`].
pub fn require_bearer_by_default(document: &mut Value) {
    document["security"] = json!([{ "bearerAuth": [] }]);
    if let Some(paths) = document["paths"].as_object_mut() {
        for path in OPEN_PATHS {
            if let Some(item) = paths.get_mut(path).and_then(Value::as_object_mut) {
                for operation in item.values_mut() {
                    operation["security"] = json!([]);
                }
            }
        }
    }
}

/// The spatial questions of grid management: locate, statistics, nearest, search, summary.
#[expect(
    clippy::too_many_lines,
    reason = "one literal per path reads better than helpers"
)]
fn spatial_paths() -> Map<String, Value> {
    let r = |name: &str| json!({ "$ref": format!("#/components/responses/{name}") });
    let number = |name: &str, description: &str, required: bool, example: f64| json!({ "name": name, "in": "query", "required": required, "description": description, "schema": { "type": "number" }, "example": example });
    let crs = json!({ "name": "crs", "in": "query", "required": false, "description": "The CRS of lon and lat: WGS84, or GCJ-02 / BD-09 as Chinese web maps give them (converted before use)", "schema": { "type": "string", "enum": ["wgs84", "gcj02", "bd09"], "default": "wgs84" } });
    let at = json!({ "name": "at", "in": "query", "required": false, "description": "The day whose valid cells are used (YYYY-MM-DD; default: today, China time)", "schema": { "type": "string", "format": "date" }, "example": "2025-06-01" });
    let json_ok = |description: &str, media: &str| json!({ "description": description, "content": { media: { "schema": { "type": "object" } } } });
    let errors = |extra: &[(&str, Value)]| {
        let mut responses =
            json!({ "400": r("BadRequest"), "401": r("Unauthorized"), "500": r("ServerError") });
        for (status, response) in extra {
            responses[*status] = response.clone();
        }
        responses
    };
    let body = |description: &str, schema: Value| json!({ "required": true, "description": description, "content": { "application/json": { "schema": schema } } });
    let geometry = json!({ "type": "object", "description": format!(
        "A GeoJSON geometry (at most {} vertices, {} parts and {} rings)",
        crate::model::complexity::MAX_QUERY_VERTICES,
        crate::model::complexity::MAX_QUERY_PARTS,
        crate::model::complexity::MAX_QUERY_RINGS
    ), "required": ["type", "coordinates"] });
    let body_errors = [
        ("413", r("PayloadTooLarge")),
        ("415", r("UnsupportedMediaType")),
    ];
    let mut paths = Map::new();
    paths.insert("/grid/locate".into(), json!({
        "get": {
            "summary": "The chain of grid cells (district, street, community, grid) containing a point", "operationId": "locatePoint", "tags": ["Grid"],
            "parameters": [
                number("lon", "Longitude, degrees", true, 113.68),
                number("lat", "Latitude, degrees", true, 34.75),
                crs.clone(), at.clone(),
                { "name": "f", "in": "query", "required": false, "schema": { "type": "string", "enum": ["json"] } }
            ],
            "responses": { "200": json_ok("The point and its cells, district first", "application/json"), "400": r("BadRequest"), "401": r("Unauthorized"), "404": r("NotFound"), "500": r("ServerError") }
        },
        "post": {
            "summary": format!("Locate up to {} points at once (a GPS track), answered in order", super::super::spatial::MAX_LOCATE_POINTS), "operationId": "locatePoints", "tags": ["Grid"],
            "requestBody": body("The points", json!({ "type": "object", "required": ["points"], "additionalProperties": false, "properties": {
                "points": { "type": "array", "maxItems": super::super::spatial::MAX_LOCATE_POINTS, "items": { "type": "array", "minItems": 2, "maxItems": 2, "items": { "type": "number" } } },
                "crs": { "type": "string", "enum": ["wgs84", "gcj02", "bd09"] },
                "at": { "type": "string", "format": "date" }
            } })),
            "responses": { "200": json_ok("One result per point, in order", "application/json"), "400": r("BadRequest"), "401": r("Unauthorized"), "404": r("NotFound"), "413": r("PayloadTooLarge"), "415": r("UnsupportedMediaType"), "500": r("ServerError") }
        }
    }));
    paths.insert("/grid/stats".into(), json!({ "get": {
        "summary": "Per-cell statistics of a collection: count, geodesic length and area clipped to each cell, optionally by property values", "operationId": "getGridStats", "tags": ["Grid"],
        "parameters": [
            { "name": "collection", "in": "query", "required": true, "description": "The collection measured", "schema": { "type": "string" }, "example": "manholes" },
            { "name": "level", "in": "query", "required": false, "schema": { "type": "string", "enum": ["grid", "community", "street", "district"], "default": "grid" } },
            { "name": "group_by", "in": "query", "required": false, "style": "form", "explode": false, "description": "Comma-separated properties of the collection to break the figures down by", "schema": { "type": "array", "items": { "type": "string" } } },
            at.clone(),
            { "name": "f", "in": "query", "required": false, "description": "json: rows; geojson: the cells with their figures", "schema": { "type": "string", "enum": ["json", "geojson"] } }
        ],
        "responses": {
            "200": { "description": "The figures per cell, in code order", "content": { "application/json": { "schema": { "type": "object" } }, "application/geo+json": { "schema": { "$ref": "#/components/schemas/featureCollectionGeoJSON" } } } },
            "400": r("BadRequest"), "401": r("Unauthorized"), "404": r("NotFound"), "500": r("ServerError")
        }
    } }));
    paths.insert("/collections/{collectionId}/nearest".into(), json!({ "get": {
        "summary": "The k features nearest to a point, nearest first, with their geodesic distance", "operationId": "getNearest", "tags": ["Data"],
        "parameters": [
            { "$ref": "#/components/parameters/collectionId" },
            number("lon", "Longitude, degrees", true, 113.68),
            number("lat", "Latitude, degrees", true, 34.75),
            { "name": "k", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 1, "maximum": super::super::spatial::MAX_K, "default": 5 } },
            { "name": "max_distance_m", "in": "query", "required": false, "description": "Only features within this many metres", "schema": { "type": "number", "minimum": 0 } },
            crs.clone(),
            { "name": "f", "in": "query", "required": false, "schema": { "type": "string", "enum": ["json", "geojson"] } }
        ],
        "responses": { "200": json_ok("The features, nearest first; each has `distance_m` (geodesic metres to its closest point) among its properties", "application/geo+json"), "400": r("BadRequest"), "401": r("Unauthorized"), "404": r("NotFound"), "500": r("ServerError") }
    } }));
    paths.insert("/search".into(), json!({ "post": {
        "summary": "Features of one or more collections related to a geometry (intersects, within, contains, within a distance), with a CQL2 filter", "operationId": "searchFeatures", "tags": ["Data"],
        "parameters": [{ "name": "f", "in": "query", "required": false, "schema": { "type": "string", "enum": ["json", "geojson", "csv"] } }],
        "requestBody": body("The question", json!({ "type": "object", "additionalProperties": false, "properties": {
            "collections": { "type": "array", "items": { "type": "string" } },
            "intersects": geometry.clone(),
            "predicate": { "type": "string", "enum": ["intersects", "within", "contains"] },
            "within_distance_m": { "type": "number", "minimum": 0 },
            "filter": { "description": "CQL2 text or JSON" },
            "properties": { "type": "array", "items": { "type": "string" } },
            "limit": { "type": "integer", "minimum": 1 },
            "offset": { "type": "integer", "minimum": 0 },
            "crs": { "type": "string", "enum": ["wgs84", "gcj02", "bd09"] }
        } })),
        "responses": {
            "200": { "description": "The matching features", "content": { "application/geo+json": { "schema": { "$ref": "#/components/schemas/featureCollectionGeoJSON" } }, "text/csv": { "schema": { "type": "string" } } } },
            "400": r("BadRequest"), "401": r("Unauthorized"), "404": r("NotFound"), "413": r("PayloadTooLarge"), "415": r("UnsupportedMediaType"), "500": r("ServerError"),
            "503": r("AnalysisBusy"), "504": r("AnalysisTimedOut")
        }
    } }));
    paths.insert("/analysis/summary".into(), json!({ "post": {
        "summary": "Per collection: count, geodesic length and area clipped to a polygon, in all and by property values", "operationId": "summarize", "tags": ["Data"],
        "requestBody": body("The region and the collections", json!({ "type": "object", "required": ["intersects"], "additionalProperties": false, "properties": {
            "collections": { "type": "array", "items": { "type": "string" } },
            "intersects": geometry,
            "group_by": { "type": "array", "items": { "type": "string" } },
            "filter": { "description": "CQL2 text or JSON" },
            "crs": { "type": "string", "enum": ["wgs84", "gcj02", "bd09"] }
        } })),
        "responses": errors(&[
            ("200", json_ok("The region's area and each collection's figures", "application/json")),
            ("404", r("NotFound")),
            body_errors[0].clone(),
            body_errors[1].clone(),
            ("503", r("AnalysisBusy")),
            ("504", r("AnalysisTimedOut")),
        ])
    } }));
    paths
}

/// The map viewer's files.
fn viewer_paths() -> Map<String, Value> {
    let html = |summary: &str, operation_id: &str| {
        json!({ "get": { "summary": summary, "operationId": operation_id, "tags": ["Viewer"], "security": [],
        "responses": { "200": { "description": summary, "content": { "text/html": { "schema": { "type": "string" } } } } } } })
    };
    let mut paths = Map::new();
    paths.insert("/map".into(), json!({ "get": { "summary": "Redirects to /map/", "operationId": "redirectToMap", "tags": ["Viewer"], "security": [],
        "responses": { "308": { "description": "to /map/" } } } }));
    paths.insert(
        "/map/".into(),
        html(
            "The map viewer (pinned, vendored libraries; no CDN)",
            "getMap",
        ),
    );
    paths.insert("/map/config.json".into(), json!({ "get": { "summary": "The viewer's configuration: base URL, layers, optional raster basemap", "operationId": "getMapConfig", "tags": ["Viewer"], "security": [],
        "responses": { "200": { "description": "The configuration", "content": { "application/json": { "schema": { "type": "object" } } } } } } }));
    paths.insert("/map/{path}".into(), json!({ "get": { "summary": "One of the viewer's static files", "operationId": "getMapFile", "tags": ["Viewer"], "security": [],
        "parameters": [{ "name": "path", "in": "path", "required": true, "description": "The file's path under /map/", "schema": { "type": "string" }, "example": "app.js" }],
        "responses": { "200": { "description": "The file" }, "400": { "$ref": "#/components/responses/BadRequest" }, "404": { "$ref": "#/components/responses/NotFound" } } } }));
    paths
}

/// The session and administration paths.
fn auth_paths() -> Map<String, Value> {
    let bearer = json!([{ "bearerAuth": [] }]);
    let unauthorized = json!({ "$ref": "#/components/responses/Unauthorized" });
    let forbidden = json!({ "$ref": "#/components/responses/Forbidden" });
    let ok = |description: &str, schema: Value| json!({ "description": description, "content": { "application/json": { "schema": schema } } });
    let mut paths = Map::new();
    paths.insert("/auth/login".into(), json!({ "post": {
        "summary": "Log in with a user name and password: a bearer token",
        "operationId": "login", "tags": ["Sessions"], "security": [],
        "requestBody": { "required": true, "content": { "application/json": { "schema": {
            "type": "object", "required": ["username", "password"],
            "properties": { "username": { "type": "string" }, "password": { "type": "string", "format": "password" } }
        } } } },
        "responses": {
            "200": ok("The token, its expiry and the user", json!({
                "type": "object", "required": ["token", "token_type", "expires_at", "user"],
                "properties": {
                    "token": { "type": "string" },
                    "token_type": { "type": "string", "enum": ["Bearer"] },
                    "expires_at": { "type": "string", "format": "date-time" },
                    "expires_in": { "type": "integer", "description": "seconds" },
                    "user": { "$ref": "#/components/schemas/user" }
                }
            })),
            "400": { "$ref": "#/components/responses/BadRequest" },
            "401": unauthorized,
            "429": { "$ref": "#/components/responses/TooManyRequests" }
        }
    } }));
    paths.insert("/auth/logout".into(), json!({ "post": {
        "summary": "Revoke the request's token", "operationId": "logout", "tags": ["Sessions"], "security": bearer,
        "responses": { "204": { "description": "The token is revoked" }, "401": unauthorized }
    } }));
    paths.insert("/auth/me".into(), json!({ "get": {
        "summary": "The user of the token", "operationId": "getMe", "tags": ["Sessions"], "security": bearer,
        "responses": { "200": ok("The user", json!({ "$ref": "#/components/schemas/user" })), "401": unauthorized }
    } }));
    paths.insert("/users".into(), json!({ "get": {
        "summary": "Every user (administrators)", "operationId": "getUsers", "tags": ["Sessions"], "security": bearer,
        "responses": {
            "200": ok("The users", json!({ "type": "object", "properties": {
                "users": { "type": "array", "items": { "$ref": "#/components/schemas/user" } },
                "numberReturned": { "type": "integer" }
            } })),
            "401": unauthorized, "403": forbidden
        }
    } }));
    let text = |name: &str, description: &str| json!({ "name": name, "in": "query", "required": false, "description": description, "schema": { "type": "string" } });
    let time = |name: &str, description: &str| json!({ "name": name, "in": "query", "required": false, "description": description, "schema": { "type": "string", "format": "date-time" } });
    paths.insert("/audit".into(), json!({ "get": {
        "summary": "The audit trail, newest first (administrators)", "operationId": "getAudit", "tags": ["Sessions"], "security": bearer,
        "parameters": [
            text("actor", "Only records by this user name"),
            text("action", "Only actions starting with this, e.g. `auth.` or `user.add`"),
            text("target", "Only records about this object"),
            time("from", "Only records at or after this instant (RFC 3339)"),
            time("to", "Only records before this instant (RFC 3339)"),
            { "name": "limit", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 1, "maximum": crate::model::audit::MAX_AUDIT_LIMIT, "default": crate::model::audit::DEFAULT_AUDIT_LIMIT } }
        ],
        "responses": {
            "200": ok("Audit records", json!({ "type": "object", "properties": {
                "records": { "type": "array", "items": { "$ref": "#/components/schemas/auditRecord" } },
                "numberReturned": { "type": "integer" }
            } })),
            "400": { "$ref": "#/components/responses/BadRequest" },
            "401": unauthorized, "403": forbidden
        }
    } }));
    paths
}

/// The case workflow and Open311 paths.
#[expect(
    clippy::too_many_lines,
    reason = "one literal per path reads better than helpers"
)]
fn case_paths() -> Map<String, Value> {
    let bearer = json!([{ "bearerAuth": [] }]);
    let r = |name: &str| json!({ "$ref": format!("#/components/responses/{name}") });
    let json_ok = |description: &str| json!({ "description": description, "content": { "application/json": { "schema": { "type": "object" } } } });
    let query = |name: &str, description: &str| json!({ "name": name, "in": "query", "required": false, "description": description, "schema": { "type": "string" } });
    let id = json!({ "name": "id", "in": "path", "required": true, "description": "The case number", "schema": { "type": "integer", "minimum": 1 } });
    let states: Vec<&str> = crate::model::case::CaseState::ALL
        .iter()
        .map(|s| s.as_str())
        .collect();
    let actions: Vec<&str> = crate::model::case::Action::TRANSITIONS
        .iter()
        .map(|a| a.as_str())
        .collect();
    let report_schema = json!({
        "type": "object", "required": ["category", "lon", "lat", "description"], "additionalProperties": false,
        "properties": {
            "category": { "type": "string", "description": "A code from /cases/categories" },
            "lon": { "type": "number" }, "lat": { "type": "number" },
            "crs": { "type": "string", "enum": ["wgs84", "gcj02", "bd09"], "default": "wgs84" },
            "description": { "type": "string", "maxLength": 2000 },
            "address": { "type": "string" },
            "photos": { "type": "array", "maxItems": 6, "items": { "type": "string", "pattern": "^[0-9a-f]{64}$" }, "description": "Ids returned by POST /photos" },
            "asset": { "type": "object", "required": ["collection", "id"], "properties": { "collection": { "type": "string" }, "id": { "type": "string" } } },
            "channel": { "type": "string", "enum": ["api", "tablet"] }
        }
    });
    let mut paths = Map::new();
    paths.insert("/cases".into(), json!({
        "get": {
            "summary": "Cases, newest first or by deadline", "operationId": "getCases", "tags": ["Cases"], "security": bearer,
            "parameters": [
                { "name": "state", "in": "query", "required": false, "description": "Comma-separated states, or `open`", "schema": { "type": "string" }, "x-enum": states },
                query("category", "A category code"), query("unit", "The unit dispatched to"),
                query("cell", "Cell codes (comma-separated); a code matches every cell below it"),
                query("reporter", "Who reported"), query("overdue", "true: only open cases past their deadline"),
                query("bbox", "west,south,east,north (WGS84)"), query("from", "Reported at or after (YYYY-MM-DD China time, or RFC 3339)"),
                query("to", "Reported before (a date includes its whole day)"), query("order", "newest or deadline"),
                { "name": "limit", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 100 } },
                { "name": "offset", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 0, "default": 0 } },
                { "name": "f", "in": "query", "required": false, "schema": { "type": "string", "enum": ["json", "geojson"] } }
            ],
            "responses": { "200": json_ok("The cases and how many match"), "400": r("BadRequest"), "401": r("Unauthorized") }
        },
        "post": {
            "summary": "Report a case (JSON, or a multipart tablet form with `photo` parts)", "operationId": "reportCase", "tags": ["Cases"], "security": bearer,
            "parameters": [{ "name": "Idempotency-Key", "in": "header", "required": false, "description": "Sent again on a retry, it returns the first case instead of making a second", "schema": { "type": "string", "maxLength": 200 } }],
            "requestBody": { "required": true, "content": {
                "application/json": { "schema": report_schema },
                "multipart/form-data": { "schema": { "type": "object", "properties": {
                    "category": { "type": "string" }, "lon": { "type": "number" }, "lat": { "type": "number" }, "crs": { "type": "string" },
                    "description": { "type": "string" }, "address": { "type": "string" },
                    "asset_collection": { "type": "string" }, "asset_id": { "type": "string" },
                    "photo": { "type": "array", "maxItems": 6, "items": { "type": "string", "format": "binary" } }
                } } }
            } },
            "responses": {
                "201": json_ok("The case, probable duplicates within 50 m and a suggested asset within 15 m"),
                "200": json_ok("The case an earlier request with the same Idempotency-Key made"),
                "400": r("BadRequest"), "401": r("Unauthorized"), "403": r("Forbidden"), "413": { "description": "A photo over 10 MB" },
                "415": { "description": "A photo that is not JPEG, PNG or WebP by content" }, "422": r("Unprocessable")
            }
        }
    }));
    paths.insert("/cases/{id}".into(), json!({ "get": {
        "summary": "The case page: case, log, deadlines and the caller's possible actions", "operationId": "getCase", "tags": ["Cases"], "security": bearer,
        "description": "Only within the caller's read scope (workers: their cells; handlers: cases dispatched to their unit; everyone: what they reported; other roles: all); `reporter` and the reporter's log entries read `withheld` except for admins, dispatchers, supervisors and the reporter.",
        "parameters": [id],
        "responses": { "200": json_ok("The case"), "400": r("BadRequest"), "401": r("Unauthorized"), "404": r("NotFound") }
    } }));
    paths.insert("/cases/{id}/actions".into(), json!({ "post": {
        "summary": "Take an action on a case", "operationId": "actOnCase", "tags": ["Cases"], "security": bearer,
        "parameters": [id, { "name": "If-Match", "in": "header", "required": false, "description": "The version the caller saw, e.g. \"3\"", "schema": { "type": "string" } }],
        "requestBody": { "required": true, "content": { "application/json": { "schema": {
            "type": "object", "required": ["action"], "additionalProperties": false,
            "properties": {
                "action": { "type": "string", "enum": actions },
                "note": { "type": "string" }, "photos": { "type": "array", "items": { "type": "string" } },
                "unit": { "type": "string", "description": "dispatch: the unit (default: the responsible unit)" },
                "amount": { "type": "number", "description": "request_extension / approve_extension: time in the category's unit" },
                "into": { "type": "integer", "description": "merge: the open case this one duplicates (open, no duplicate itself; 409 otherwise, and when the case has duplicates of its own)" },
                "asset": { "nullable": true, "description": "link_asset (required there): the asset to link, or null to clear the link", "type": "object", "required": ["collection", "id"], "properties": { "collection": { "type": "string" }, "id": { "type": "string" } } },
                "version": { "type": "integer" }
            }
        } } } },
        "responses": { "200": json_ok("The case after the action"), "400": r("BadRequest"), "401": r("Unauthorized"), "403": r("Forbidden"), "404": r("NotFound"), "409": r("Conflict"), "422": r("Unprocessable") }
    } }));
    paths.insert("/cases/suggested-asset".into(), json!({ "get": {
        "summary": "The asset a report of this category here would be suggested (for the report form to confirm)", "operationId": "getSuggestedAsset", "tags": ["Cases"], "security": bearer,
        "parameters": [
            { "name": "category", "in": "query", "required": true, "schema": { "type": "string" } },
            { "name": "lon", "in": "query", "required": true, "schema": { "type": "number" } },
            { "name": "lat", "in": "query", "required": true, "schema": { "type": "number" } },
            { "name": "crs", "in": "query", "required": false, "schema": { "type": "string", "enum": ["wgs84", "gcj02", "bd09"] } }
        ],
        "responses": { "200": json_ok("`suggested_asset`: {collection, id, distance_m}, or null"), "400": r("BadRequest"), "401": r("Unauthorized") }
    } }));
    paths.insert("/units".into(), json!({
        "get": {
            "summary": "The units cases may be dispatched to: the grid cells' responsible units and the registered ones, with their active handlers", "operationId": "getUnits", "tags": ["Cases"], "security": bearer,
            "responses": { "200": json_ok("`units`: [{name, cells, registered, active_handlers, staffed}]"), "401": r("Unauthorized") }
        },
        "post": {
            "summary": "Register a unit (administrators)", "operationId": "addUnit", "tags": ["Cases"], "security": bearer,
            "requestBody": { "required": true, "content": { "application/json": { "schema": {
                "type": "object", "required": ["name"], "additionalProperties": false,
                "properties": { "name": { "type": "string", "minLength": 1, "maxLength": 100 } }
            } } } },
            "responses": { "201": json_ok("The unit was registered"), "200": json_ok("The unit was registered already"), "400": r("BadRequest"), "401": r("Unauthorized"), "403": r("Forbidden") }
        }
    }));
    let simple = |summary: &str, operation_id: &str, parameters: Value| {
        json!({ "get": {
        "summary": summary, "operationId": operation_id, "tags": ["Cases"], "security": bearer.clone(), "parameters": parameters,
        "responses": { "200": json_ok(summary), "400": r("BadRequest"), "401": r("Unauthorized"), "403": r("Forbidden") }
    } })
    };
    paths.insert(
        "/tasks".into(),
        simple(
            "The caller's tasks, earliest deadline first",
            "getTasks",
            json!([]),
        ),
    );
    paths.insert(
        "/cases/overdue".into(),
        simple(
            "Open cases past their deadline",
            "getOverdueCases",
            json!([]),
        ),
    );
    paths.insert("/cases/hazards".into(), simple("The hazard register (隐患清单): assets with repeated cases", "getHazards", json!([
        { "name": "days", "in": "query", "required": false, "schema": { "type": "number", "default": 90 } },
        { "name": "min_cases", "in": "query", "required": false, "schema": { "type": "integer", "default": 2 } }
    ])));
    paths.insert("/cases/metrics".into(), simple("Evaluation: received, filed, due, closed, 结案率, 按期结案率, 返工率, 延期率, median time to close", "getCaseMetrics", json!([
        { "name": "group_by", "in": "query", "required": false, "schema": { "type": "string", "enum": ["street", "community", "grid", "unit", "category"] } },
        query("from", "Start of the window (default: 30 days before `to`)"), query("to", "End of the window (default: now)"),
        { "name": "f", "in": "query", "required": false, "schema": { "type": "string", "enum": ["json", "csv"] } }
    ])));
    paths.insert("/cases/events".into(), json!({ "get": {
        "summary": "Server-sent events of changes to the cases the caller may read, until the session ends", "operationId": "getCaseEvents", "tags": ["Cases"], "security": bearer,
        "parameters": [query("access_token", "The bearer token, for clients that cannot send headers (EventSource)")],
        "responses": { "200": { "description": "`event: case` with the case's id, version, action, actor (`withheld` for the reporter unless the caller may see them), state, unit, cell, position and deadline, for the cases in the caller's read scope; `event: session_ended` and the end of the stream once the session ends (logout, password change, disabled user, expiry; checked before each event and every few seconds), or the server shuts down", "content": { "text/event-stream": {} } }, "400": r("BadRequest"), "401": r("Unauthorized") }
    } }));
    paths.insert("/cases/categories".into(), json!({ "get": {
        "summary": "Case categories (部件/事件) with conditions, responsible unit kind and time limits", "operationId": "getCaseCategories", "tags": ["Cases"], "security": [],
        "responses": { "200": json_ok("The categories") }
    } }));
    paths.insert("/cases/calendar".into(), json!({ "get": {
        "summary": "Holidays, make-up working days and working hours used by deadlines", "operationId": "getWorkingCalendar", "tags": ["Cases"], "security": [],
        "parameters": [{ "name": "year", "in": "query", "required": false, "schema": { "type": "integer" } }],
        "responses": { "200": json_ok("The year's calendar"), "400": r("BadRequest") }
    } }));
    paths.insert("/photos".into(), json!({ "post": {
        "summary": "Upload a photo (JPEG, PNG or WebP by content, ≤ 10 MB, ≤ 50 megapixels; location metadata stripped): the raw body, or a multipart/form-data form of one file part (any name, e.g. photo). Roles that report or act on cases only; per-user quota per 24 hours", "operationId": "uploadPhoto", "tags": ["Cases"], "security": bearer,
        "requestBody": { "required": true, "content": { "image/jpeg": {}, "image/png": {}, "image/webp": {}, "multipart/form-data": { "schema": { "type": "object", "properties": { "photo": { "type": "string", "format": "binary" } } } } } },
        "responses": { "201": json_ok("The photo's id"), "400": { "description": "A form without exactly one file part", "content": { "application/problem+json": {} } }, "401": r("Unauthorized"), "403": { "description": "The role (analyst, viewer) may not upload photos", "content": { "application/problem+json": {} } }, "413": { "description": "Over 10 MB" }, "415": { "description": "Not JPEG, PNG or WebP" }, "422": { "description": "Corrupt, or claims more than 50 megapixels", "content": { "application/problem+json": {} } }, "429": { "description": "The user's photo quota of the last 24 hours is used up (Retry-After)", "content": { "application/problem+json": {} } } }
    } }));
    paths.insert("/photos/{id}".into(), json!({ "get": {
        "summary": "A photo", "operationId": "getPhoto", "tags": ["Cases"], "security": bearer,
        "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string", "pattern": "^[0-9a-f]{64}$" }, "example": "0".repeat(64) }],
        "responses": { "200": { "description": "The image, with X-Content-Type-Options: nosniff, Content-Security-Policy: default-src 'none'; sandbox and Content-Disposition: inline; filename=\"<id>.<ext>\"", "content": { "image/jpeg": {}, "image/png": {}, "image/webp": {} } }, "400": r("BadRequest"), "401": r("Unauthorized"), "404": r("NotFound") }
    } }));
    // GeoReport answers errors in its own shape, `[{"code", "description"}]`, not as problems.
    let georeport_error = |description: &str| json!({ "description": description, "content": { "application/json": { "schema": { "type": "array", "items": { "type": "object", "required": ["code", "description"], "properties": { "code": { "type": "integer" }, "description": { "type": "string" } } } } } } });
    let open311 = |summary: &str, operation_id: &str| {
        json!({ "summary": summary, "operationId": operation_id, "tags": ["Open311 GeoReport v2"], "security": [],
        "responses": { "200": json_ok(summary), "400": georeport_error("GeoReport error list: a malformed parameter"), "403": georeport_error("Missing or invalid api_key"), "404": georeport_error("Not found") } })
    };
    paths.insert(
        "/open311/v2/discovery.json".into(),
        json!({ "get": open311("Discovery", "open311Discovery") }),
    );
    let mut services = open311("Service list (the case categories)", "open311Services");
    services["responses"]["200"] = json!({ "description": "The services, one per case category", "content": { "application/json": { "schema": { "type": "array", "items": { "type": "object", "required": ["service_code", "service_name"], "properties": {
        "service_code": { "type": "string" }, "service_name": { "type": "string" }, "description": { "type": "string" },
        "metadata": { "type": "boolean" }, "type": { "type": "string" }, "keywords": { "type": "string" }, "group": { "type": "string" }
    } } } } } });
    paths.insert(
        "/open311/v2/services.json".into(),
        json!({ "get": services }),
    );
    let mut service = open311("Service definition", "open311Service");
    service["parameters"] = json!([{ "name": "code", "in": "path", "required": true, "description": "A service code (a case category code)", "schema": { "type": "string" }, "example": "0101" }]);
    paths.insert(
        "/open311/v2/services/{code}.json".into(),
        json!({ "get": service }),
    );
    let api_key = json!({ "name": "api_key", "in": "query", "required": true, "description": "The app's key (`citygrid apikey add`)", "schema": { "type": "string" } });
    let mut list = open311(
        "Service requests (api_key; service_request_id, service_code, status, start_date, end_date, bbox)",
        "open311Requests",
    );
    list["parameters"] = json!([
        api_key.clone(),
        query("service_request_id", "Comma-separated request ids"), query("service_code", "A service code"),
        { "name": "status", "in": "query", "required": false, "schema": { "type": "string", "enum": ["open", "closed"] } },
        query("start_date", "Requested at or after (RFC 3339)"), query("end_date", "Requested before (RFC 3339)"),
        query("bbox", "west,south,east,north (WGS84)")
    ]);
    let mut create = open311(
        "Create a service request (form-encoded; api_key, service_code, lat, long, description, address_string, crs)",
        "open311CreateRequest",
    );
    create["responses"]["201"] = json_ok("The new request's id");
    for (status, description) in [
        ("409", "The report conflicts with the case's state"),
        ("413", "The form is too large"),
        ("415", "Not form-encoded"),
        (
            "422",
            "A location outside the district, or an unknown service",
        ),
        ("503", "No grid is loaded"),
    ] {
        create["responses"][status] = georeport_error(description);
    }
    paths.insert(
        "/open311/v2/requests.json".into(),
        json!({
            "get": list,
            "post": create
        }),
    );
    let mut request = open311("One service request (api_key)", "open311Request");
    request["parameters"] = json!([api_key, { "name": "id", "in": "path", "required": true, "description": "The service request id (the case number)", "schema": { "type": "integer", "minimum": 1 } }]);
    paths.insert(
        "/open311/v2/requests/{id}.json".into(),
        json!({ "get": request }),
    );
    paths
}
