//! The registry of units over HTTP: `GET /units` (signed in) lists the units cases may be
//! dispatched to, from the grid cells and the registry, with their active handlers;
//! `POST /units` (administrators) registers one.

use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use axum::routing::get;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;

use super::auth::{Actor, Remote};
use super::spatial::{object, reject_unknown_members};
use super::{ApiError, AppState};
use crate::model::unit::unit_name;
use crate::model::user::Role;

/// Largest body of `POST /units`.
const MAX_BODY_BYTES: usize = 4 * 1024;

/// The unit routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().route("/units", get(list_units).post(add_unit))
}

/// `GET /units` (signed in): every known unit by name, with the grid cells naming it, whether
/// it was registered, and how many active handlers hold it.
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

/// `POST /units` (administrators) with `{"name": "…"}`: registers a unit; 201 when new, 200
/// when it was registered already.
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
    let body = object(&body)?;
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
    let Actor(user) = actor;
    let (name, added) = state.cases.register_unit(&user, &name, remote).await?;
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
