//! The registry of units over HTTP: `GET /units` (signed in, [`list_units`]) lists the units
//! cases may be dispatched to, from the grid cells and the registry, with their active
//! handlers; `POST /units` (administrators, [`add_unit`], body [`NewUnit`]) registers one.

use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{Actor, Remote};
use super::openapi::{BadRequest, Forbidden, PayloadTooLarge, Unauthorized};
use super::spatial::{object, reject_unknown_members};
use super::{ApiError, AppState};
use crate::model::unit::unit_name;
use crate::model::user::Role;

/// Largest body of `POST /units`.
const MAX_BODY_BYTES: usize = 4 * 1024;

/// The unit routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_units, add_unit))
}

/// A unit cases may be dispatched to.
#[derive(ToSchema)]
#[schema(as = unit)]
#[expect(dead_code, reason = "documents the JSON the handler writes")]
struct UnitJson {
    /// Its name.
    name: String,
    /// The grid cells naming it as their responsible unit (codes, sorted).
    cells: Vec<String>,
    /// Whether an administrator registered it.
    registered: bool,
    /// How many enabled handlers hold it.
    active_handlers: u32,
    /// Whether an active handler can act on what is dispatched to it.
    staffed: bool,
}

/// The units.
#[derive(ToSchema)]
#[schema(as = units)]
#[expect(dead_code, reason = "documents the JSON the handler writes")]
struct UnitList {
    units: Vec<UnitJson>,
    #[schema(rename = "numberReturned")]
    number_returned: u64,
}

/// A unit to register.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = newUnit)]
#[serde(deny_unknown_fields)]
pub struct NewUnit {
    /// The unit's name, 1 to 100 characters without control characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
}

impl NewUnit {
    /// The body read as a unit, with the problems this route has always given.
    fn from_json(body: &Value) -> Result<Self, ApiError> {
        let body = object(body)?;
        reject_unknown_members(body, &["name"])?;
        let name = body.get("name").and_then(Value::as_str).ok_or_else(|| {
            ApiError::invalid(
                "name",
                &body.get("name").map(Value::to_string).unwrap_or_default(),
                "the unit's name, a string of 1 to 100 characters",
                "missing or not a string",
            )
        })?;
        let name = unit_name(name).map_err(|reason| {
            ApiError::invalid(
                "name",
                name,
                "the unit's name, 1 to 100 characters without control characters",
                reason,
            )
        })?;
        Ok(Self { name })
    }
}

/// A registration's outcome.
#[derive(ToSchema)]
#[schema(as = registeredUnit)]
#[expect(dead_code, reason = "documents the JSON the handler writes")]
#[expect(clippy::struct_field_names, reason = "the members of the JSON answer")]
struct Registered {
    name: String,
    /// Always true.
    registered: bool,
    /// Whether this request registered it.
    created: bool,
}

/// The units cases may be dispatched to: the grid cells' responsible units and the registered ones, with their active handlers
///
/// Every known unit by name, with the grid cells naming it, whether it was registered, and
/// how many active handlers hold it.
#[utoipa::path(get, path = "/units", operation_id = "getUnits", tag = "Cases",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "`units`: [{name, cells, registered, active_handlers, staffed}]", body = UnitList),
        (status = 401, response = Unauthorized)))]
pub async fn list_units(
    State(state): State<AppState>,
    Actor(_): Actor,
) -> Result<Response, ApiError> {
    let units = state.cases.units().await?;
    let body = json!({
        "units": units.iter().map(|u| json!({
            "name": u.name,
            "cells": u.cells,
            "registered": u.registered,
            "active_handlers": u.active_handlers,
            "staffed": u.staffed(),
        })).collect::<Vec<Value>>(),
        "numberReturned": units.len(),
    });
    Ok((StatusCode::OK, axum::Json(body)).into_response())
}

/// Register a unit (administrators)
///
/// `{"name": "…"}`: 201 when new, 200 when it was registered already.
#[utoipa::path(post, path = "/units", operation_id = "addUnit", tag = "Cases",
    request_body(content((NewUnit = "application/json", example = json!({ "name": "管城区市政设施维护中心" })))),
    security(("bearerAuth" = [])),
    responses(
        (status = 201, description = "The unit was registered", body = Registered),
        (status = 200, description = "The unit was registered already", body = Registered),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 413, response = PayloadTooLarge)))]
pub async fn add_unit(
    State(state): State<AppState>,
    actor: Actor,
    Remote(remote): Remote,
    body: Body,
) -> Result<Response, ApiError> {
    actor.require(&[Role::Admin])?;
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::PayloadTooLarge(MAX_BODY_BYTES))?;
    let body: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::invalid("body", "", "a JSON object", e.to_string()))?;
    let unit = NewUnit::from_json(&body)?;
    let Actor(user) = actor;
    let (name, added) = state.cases.register_unit(&user, &unit.name, remote).await?;
    let status = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        axum::Json(json!({ "name": name, "registered": true, "created": added })),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_generated_document_has_the_unit_operations() {
        let paths = &crate::api::generated_document()["paths"];
        assert_eq!(paths["/units"]["get"]["operationId"], "getUnits");
        assert_eq!(paths["/units"]["post"]["operationId"], "addUnit");
    }
}
