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
    paths.extend(super::tiles::openapi_paths());
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
        "tags": [{ "name": "Capabilities" }, { "name": "Data" }, { "name": "Tiles" }, { "name": "Sessions" }, { "name": "Operations" }],
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
                "collectionId": { "name": "collectionId", "in": "path", "required": true, "schema": { "type": "string" } },
                "featureId": { "name": "featureId", "in": "path", "required": true, "schema": { "type": "string" } }
            },
            "responses": {
                "BadRequest": problem("A parameter is malformed or unknown"),
                "NotFound": problem("No such resource"),
                "NotAcceptable": problem("The format is not offered"),
                "ServerError": problem("An internal error (details are logged, not sent)"),
                "Unavailable": problem("The store is not reachable"),
                "Unauthorized": problem("No valid bearer token (missing, unknown, expired or revoked), or wrong credentials"),
                "Forbidden": problem("The user's role does not allow this; the problem names the roles that do"),
                "Conflict": problem("The case's state does not allow the action, or someone changed it first (`current` holds the case as it is now)"),
                "Unprocessable": problem("The request cannot be carried out: a location outside the district, an unknown asset or photo"),
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
pub const OPEN_PATHS: [&str; 11] = [
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
                "into": { "type": "integer", "description": "merge: the open case this one duplicates" },
                "version": { "type": "integer" }
            }
        } } } },
        "responses": { "200": json_ok("The case after the action"), "400": r("BadRequest"), "401": r("Unauthorized"), "403": r("Forbidden"), "404": r("NotFound"), "409": r("Conflict") }
    } }));
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
        "summary": "Server-sent events of every case change", "operationId": "getCaseEvents", "tags": ["Cases"], "security": bearer,
        "parameters": [query("access_token", "The bearer token, for clients that cannot send headers (EventSource)")],
        "responses": { "200": { "description": "`event: case` with the case's id, version, action, actor, state, unit, cell, position and deadline", "content": { "text/event-stream": {} } }, "401": r("Unauthorized") }
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
        "summary": "Upload a photo (JPEG, PNG or WebP by content, ≤ 10 MB; location metadata stripped)", "operationId": "uploadPhoto", "tags": ["Cases"], "security": bearer,
        "requestBody": { "required": true, "content": { "image/jpeg": {}, "image/png": {}, "image/webp": {} } },
        "responses": { "201": json_ok("The photo's id"), "401": r("Unauthorized"), "413": { "description": "Over 10 MB" }, "415": { "description": "Not JPEG, PNG or WebP" }, "422": r("Unprocessable") }
    } }));
    paths.insert("/photos/{id}".into(), json!({ "get": {
        "summary": "A photo", "operationId": "getPhoto", "tags": ["Cases"], "security": bearer,
        "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string", "pattern": "^[0-9a-f]{64}$" } }],
        "responses": { "200": { "description": "The image", "content": { "image/jpeg": {}, "image/png": {}, "image/webp": {} } }, "401": r("Unauthorized"), "404": r("NotFound") }
    } }));
    let open311 = |summary: &str, operation_id: &str| {
        json!({ "summary": summary, "operationId": operation_id, "tags": ["Open311 GeoReport v2"], "security": [],
        "responses": { "200": json_ok(summary), "400": { "description": "GeoReport error list" }, "403": { "description": "Missing or invalid api_key" }, "404": { "description": "Not found" } } })
    };
    paths.insert(
        "/open311/v2/discovery.json".into(),
        json!({ "get": open311("Discovery", "open311Discovery") }),
    );
    paths.insert(
        "/open311/v2/services.json".into(),
        json!({ "get": open311("Service list (the case categories)", "open311Services") }),
    );
    paths.insert(
        "/open311/v2/services/{code}.json".into(),
        json!({ "get": open311("Service definition", "open311Service") }),
    );
    paths.insert("/open311/v2/requests.json".into(), json!({
        "get": open311("Service requests (api_key; service_request_id, service_code, status, start_date, end_date, bbox)", "open311Requests"),
        "post": open311("Create a service request (form-encoded; api_key, service_code, lat, long, description, address_string, crs)", "open311CreateRequest")
    }));
    paths.insert(
        "/open311/v2/requests/{id}.json".into(),
        json!({ "get": open311("One service request (api_key)", "open311Request") }),
    );
    paths
}
