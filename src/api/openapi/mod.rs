//! The OpenAPI document, generated from the code: every route is declared with `utoipa-axum`'s
//! `routes!` from handlers annotated with `#[utoipa::path]`, and every query is a typed struct
//! deriving `IntoParams` (the same struct the handler parses, see [`super::extract`]). A route
//! therefore cannot exist without its documentation. `utoipa` writes OpenAPI 3.1; OGC API –
//! Features asks for 3.0 (`/conf/oas30`, the media type `…openapi+json;version=3.0`), so the
//! document is served after [`to_openapi_30`]. What only the data knows (each collection's
//! filterable properties on its items path) is added per request.

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToResponse, ToSchema};

/// The tags operations are grouped by, in the order they are listed.
pub const TAGS: [&str; 9] = [
    "Capabilities",
    "Data",
    "Grid",
    "Tiles",
    "Sessions",
    "Cases",
    "Open311 GeoReport v2",
    "Viewer",
    "Operations",
];

/// The document's fixed parts: information, tags, the security scheme and the shared
/// problem responses. Paths come from the router.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "citygrid",
        description = "网格化管理与城市更新空间数据服务 — OGC API – Features Part 1 (core, GeoJSON, HTML, OpenAPI 3.0) and Part 3 (queryables, CQL2 text and JSON filters), OGC API – Tiles Part 1 (vector tiles, WebMercatorQuad), and the spatial questions of grid management (locate, search, clipped summaries, nearest, per-grid statistics). Coordinates are CRS84 (WGS84 lon/lat).",
        license(name = "MIT OR Apache-2.0")
    ),
    tags(
        (name = "Capabilities"), (name = "Data"), (name = "Grid"), (name = "Tiles"),
        (name = "Sessions"), (name = "Cases"), (name = "Open311 GeoReport v2"),
        (name = "Viewer"), (name = "Operations")
    ),
    components(
        schemas(Problem, Link),
        responses(
            BadRequest, NotFound, NotAcceptable, ServerError, PayloadTooLarge,
            UnsupportedMediaType, Unavailable, AnalysisBusy, AnalysisTimedOut, Unauthorized,
            Forbidden, Conflict, Unprocessable, TooManyRequests
        )
    ),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

/// Adds the `bearerAuth` scheme: a token from `POST /auth/login`.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut http = Http::new(HttpAuthScheme::Bearer);
        http.bearer_format = Some("opaque token cg_…".into());
        http.description =
            Some("A token from POST /auth/login, sent as `Authorization: Bearer <token>`.".into());
        components.add_security_scheme("bearerAuth", SecurityScheme::Http(http));
    }
}

/// An RFC 7807 problem: what every error of the API answers (`application/problem+json`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = problem)]
pub struct Problem {
    /// A URN naming the kind of problem, e.g. `urn:citygrid:problem:invalid-parameter`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The kind in words.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What was wrong, for a person.
    pub detail: Option<String>,
    /// The parameter or field at fault.
    pub parameter: Option<String>,
    /// The value received.
    pub value: Option<String>,
    /// What is allowed: a sentence, or the list of known parameters.
    #[schema(value_type = Option<Object>)]
    pub allowed: Option<Value>,
    /// Seconds to wait before retrying (also in `Retry-After`).
    #[serde(rename = "retryAfter")]
    pub retry_after: Option<u64>,
    /// The resource as it is now (a conflict).
    #[schema(value_type = Option<Object>)]
    pub current: Option<Value>,
}

/// A link (RFC 8288 in JSON, as OGC API uses it).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = link)]
pub struct Link {
    /// The target.
    pub href: String,
    /// The relation.
    pub rel: Option<String>,
    /// The target's media type.
    #[serde(rename = "type")]
    pub media_type: Option<String>,
    /// The target in words.
    pub title: Option<String>,
}

/// Declares shared problem responses: `name`, then the description.
macro_rules! problem_responses {
    ($($name:ident => $description:literal,)*) => {
        $(
            #[doc = $description]
            #[derive(ToResponse)]
            #[response(description = $description, content_type = "application/problem+json")]
            #[expect(dead_code, reason = "documentation only: the body is an ApiError's problem")]
            pub struct $name(Problem);
        )*
    };
}

problem_responses! {
    BadRequest => "A parameter is malformed or unknown (the problem names it, its value and what is allowed)",
    NotFound => "No such resource",
    NotAcceptable => "The format is not offered",
    ServerError => "An internal error (details are logged, not sent)",
    PayloadTooLarge => "The request body is larger than allowed",
    UnsupportedMediaType => "The request body is not of a media type accepted here",
    Unavailable => "The store is not reachable",
    AnalysisBusy => "Every analysis worker is busy and the queue is full (`CITYGRID_ANALYSIS_WORKERS`, `CITYGRID_ANALYSIS_QUEUE`); retry after the Retry-After header's seconds",
    AnalysisTimedOut => "The analysis used up its time budget (`CITYGRID_ANALYSIS_TIMEOUT_MS`) and was stopped; narrow the region, the collections or the filter",
    Unauthorized => "No valid bearer token (missing, unknown, expired or revoked), or wrong credentials",
    Forbidden => "The user's role does not allow this; the problem says why",
    Conflict => "The resource's state does not allow the request, or someone changed it first (`current` holds it as it is now)",
    Unprocessable => "The request cannot be carried out: a location outside the district, an unknown asset or photo, an unknown unit or one no active handler holds",
    TooManyRequests => "Too many attempts, or a quota used up; retry after the Retry-After header's seconds",
}

/// The document served at `/api` for `base_url` and `collections`: the generated document
/// ([`super::generated_document`]) with the server's address, one items path per collection
/// listing its filterable properties as query parameters (with their enumerations), and, when
/// the base layers are not public, a bearer token required on the operations that are
/// otherwise open to anonymous readers.
pub fn served_document(
    generated: &Value,
    base_url: &str,
    collections: &[std::sync::Arc<crate::service::Collection>],
    public_layers: bool,
) -> Value {
    let mut document = generated.clone();
    document["servers"] = serde_json::json!([{ "url": base_url }]);
    let template = document.pointer(ITEMS_OPERATION).cloned();
    if let (Some(template), Some(paths)) = (
        template,
        document.get_mut("paths").and_then(Value::as_object_mut),
    ) {
        for c in collections {
            paths.insert(
                format!("/collections/{}/items", c.def.id.as_str()),
                serde_json::json!({ "get": collection_items(&template, c) }),
            );
        }
    }
    settle_security(&mut document, public_layers);
    document
}

/// The JSON pointer of the generic items operation.
const ITEMS_OPERATION: &str = "/paths/~1collections~1{collectionId}~1items/get";

/// Moves the query parameters of the items operation (limit, bbox, filter, …) to
/// `components/parameters`, named as the parameter, and refers to them: the OGC API – Features
/// standard defines them there, clients such as GDAL look them up there, and every collection's
/// own items operation shares them.
pub fn share_items_parameters(document: &mut Value) {
    let Some(parameters) = document
        .pointer_mut(&format!("{ITEMS_OPERATION}/parameters"))
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    let mut shared = Map::new();
    for parameter in parameters.iter_mut() {
        if parameter["in"] != "query" {
            continue;
        }
        let Some(name) = parameter["name"].as_str().map(str::to_owned) else {
            continue;
        };
        let reference = serde_json::json!({ "$ref": format!("#/components/parameters/{name}") });
        shared.insert(name, std::mem::replace(parameter, reference));
    }
    let components = &mut document["components"];
    if !components["parameters"].is_object() {
        components["parameters"] = Value::Object(Map::new());
    }
    if let Some(existing) = components["parameters"].as_object_mut() {
        existing.extend(shared);
    }
}

/// Open operations say `security: []` (no requirement), as OpenAPI writes it, rather than
/// `utoipa`'s `[{}]`; when the base layers are not public, a bearer token is the document's
/// default and the operations open to anonymous readers while they are public
/// (`[{}, {bearerAuth: []}]`) require it.
fn settle_security(document: &mut Value, public_layers: bool) {
    if !public_layers {
        document["security"] = serde_json::json!([{ "bearerAuth": [] }]);
    }
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    let is_empty = |s: &Value| s.as_object().is_some_and(Map::is_empty);
    for operation in paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
    {
        let Some(security) = operation.get_mut("security").and_then(Value::as_array_mut) else {
            continue;
        };
        if security.iter().all(is_empty) {
            security.clear();
        } else if !public_layers {
            security.retain(|s| !is_empty(s));
        }
    }
}

/// The items operation of one collection: the generic one without `collectionId`, with the
/// collection's simple properties as query parameters.
fn collection_items(template: &Value, c: &crate::service::Collection) -> Value {
    let id = c.def.id.as_str();
    let mut operation = template.clone();
    operation["summary"] = Value::from(format!("{} {}", c.def.title_zh, c.def.title_en));
    operation["operationId"] = Value::from(format!("getFeatures_{id}"));
    if let Some(parameters) = operation
        .get_mut("parameters")
        .and_then(Value::as_array_mut)
    {
        parameters.retain(|p| p["in"] != "path");
        parameters.extend(
            c.def
                .schema
                .properties
                .iter()
                .filter(|p| p.ty.is_simple())
                .map(property_parameter),
        );
    }
    operation
}

/// A property as a query parameter of its collection's items: features whose value equals it.
fn property_parameter(p: &crate::model::schema::PropertySchema) -> Value {
    use crate::model::schema::PropertyType;
    let (ty, format) = match p.ty {
        PropertyType::Integer => ("integer", None),
        PropertyType::Number => ("number", None),
        PropertyType::Boolean => ("boolean", None),
        PropertyType::Date => ("string", Some("date")),
        PropertyType::DateTime => ("string", Some("date-time")),
        PropertyType::String | PropertyType::StringList => ("string", None),
    };
    let mut schema = serde_json::json!({ "type": ty });
    if let Some(format) = format {
        schema["format"] = Value::from(format);
    }
    if !p.enumeration.is_empty() {
        schema["enum"] = p.enumeration.iter().map(|v| v.code.as_str()).collect();
    }
    serde_json::json!({
        "name": p.name,
        "in": "query",
        "required": false,
        "description": format!("{} {}: only features whose value equals this", p.title_zh, p.title_en),
        "schema": schema,
        "style": "form",
        "explode": false
    })
}

/// Turns a document `utoipa` wrote (OpenAPI 3.1) into OpenAPI 3.0.3: `type: [T, "null"]` and
/// `oneOf` with a `null` branch become `nullable: true`, `examples` in schemas becomes
/// `example`, `const` becomes a one-value `enum`, and axum's `{*rest}` path templates become
/// `{rest}`.
pub fn to_openapi_30(mut document: Value) -> Value {
    document["openapi"] = Value::from("3.0.3");
    downgrade(&mut document);
    if let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) {
        let renamed: Map<String, Value> = std::mem::take(paths)
            .into_iter()
            .map(|(path, item)| (path.replace("{*", "{"), item))
            .collect();
        *paths = renamed;
    }
    document
}

/// [`to_openapi_30`] on every object of `value`.
fn downgrade(value: &mut Value) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(downgrade),
        Value::Object(object) => {
            if let Some(Value::Array(types)) = object.get("type") {
                let nullable = types.iter().any(|t| t == "null");
                let rest: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
                if rest.len() == 1 {
                    object.insert("type".into(), rest[0].clone());
                } else if rest.is_empty() {
                    object.remove("type");
                }
                if nullable {
                    object.insert("nullable".into(), Value::Bool(true));
                }
            }
            for key in ["oneOf", "anyOf"] {
                if let Some(Value::Array(branches)) = object.get_mut(key) {
                    let before = branches.len();
                    branches.retain(|b| b.get("type").is_none_or(|t| t != "null"));
                    if branches.len() < before {
                        if branches.len() == 1 {
                            let only = branches.remove(0);
                            object.remove(key);
                            object.insert("allOf".into(), Value::Array(vec![only]));
                        }
                        object.insert("nullable".into(), Value::Bool(true));
                    }
                }
            }
            if let Some(constant) = object.remove("const") {
                object.insert("enum".into(), Value::Array(vec![constant]));
            }
            let is_schema = object.contains_key("type")
                || object.contains_key("properties")
                || object.contains_key("items");
            if is_schema
                && let Some(Value::Array(mut examples)) = object.remove("examples")
                && !examples.is_empty()
            {
                object.insert("example".into(), examples.swap_remove(0));
            }
            object.values_mut().for_each(downgrade);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_31_document_becomes_30_with_nullable_enum_example_and_plain_templates() {
        let document = json!({
            "openapi": "3.1.0",
            "paths": { "/map/{*path}": { "get": {} } },
            "components": { "schemas": {
                "a": { "type": ["integer", "null"], "examples": [3] },
                "b": { "oneOf": [{ "type": "null" }, { "$ref": "#/components/schemas/a" }] },
                "c": { "type": "string", "const": "Feature" }
            } }
        });
        let out = to_openapi_30(document);
        assert_eq!(out["openapi"], "3.0.3");
        assert!(out["paths"].get("/map/{path}").is_some());
        let schemas = &out["components"]["schemas"];
        assert_eq!(
            schemas["a"],
            json!({ "type": "integer", "nullable": true, "example": 3 })
        );
        assert_eq!(
            schemas["b"],
            json!({ "allOf": [{ "$ref": "#/components/schemas/a" }], "nullable": true })
        );
        assert_eq!(schemas["c"]["enum"], json!(["Feature"]));
    }

    #[test]
    fn the_fixed_parts_hold_the_problem_responses_and_the_bearer_scheme() {
        let document = to_openapi_30(serde_json::to_value(ApiDoc::openapi()).unwrap());
        let components = &document["components"];
        assert!(components["securitySchemes"]["bearerAuth"].is_object());
        assert_eq!(
            components["responses"]["BadRequest"]["content"]["application/problem+json"]["schema"]
                ["$ref"],
            "#/components/schemas/problem"
        );
        assert_eq!(document["tags"].as_array().unwrap().len(), TAGS.len());
    }
}
