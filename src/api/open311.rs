//! Open311 GeoReport v2 (<https://wiki.open311.org/GeoReport_v2/>) under `/open311/v2/`, so that
//! existing civic apps can report to citygrid and follow their reports.
//!
//! - `GET services.json`, `GET services/{code}.json`: the case categories as services;
//! - `POST requests.json` (form-encoded, `api_key` required): a new service request → a case;
//! - `GET requests.json` (`service_request_id`, `service_code`, `status`, `start_date`,
//!   `end_date`, and the extension `bbox=west,south,east,north`), `GET requests/{id}.json`.
//!
//! Deviations, all on the side of privacy: reading requests also needs an `api_key` (cases are
//! never readable anonymously here); a key reads every request's public fields (service,
//! status, place, times, unit) but the `description` and `address_string` a person typed only
//! of the requests its own app made (others carry none: free text may name the reporter, and
//! no reporter's identity is ever published); `media_url` is not published (photos need a
//! login), and
//! only the JSON format is served. Errors use GeoReport's own shape, `[{"code", "description"}]`,
//! as its clients expect, with the matching HTTP status. Positions are WGS84 unless the extension
//! parameter `crs=gcj02|bd09` says otherwise. The fine workflow states collapse to
//! `open`/`closed`, with the detail in `status_notes`.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;

use super::auth::Remote;
use super::{ApiError, AppState, media, with_type};
use crate::model::case::{Case, CaseState};
use crate::model::category::Category;
use crate::model::crs::InputCrs;
use crate::service::cases::{CaseError, NewReport, Reporter};
use crate::store::cases::{CaseOrder, CaseQuery};

/// Most requests one `GET requests.json` returns (GeoReport suggests 1000).
const MAX_REQUESTS: u32 = 1_000;
/// Largest form body.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// The Open311 routes, to be nested under `/open311/v2`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .route("/open311/v2/services.json", get(list_services))
        .route("/open311/v2/services/{code}", get(describe_service))
        .route(
            "/open311/v2/requests.json",
            get(list_requests).post(create_request),
        )
        .route("/open311/v2/requests/{id}", get(get_request))
        .route("/open311/v2/discovery.json", get(discovery))
}

/// A GeoReport error: `[{"code": status, "description": …}]` with that HTTP status. A failure
/// of the services gets the status of the one error table ([`ApiError`]); the cause of a
/// server error is kept for the logging layer, and the description says nothing internal.
struct GeoReportError {
    status: StatusCode,
    description: String,
    cause: Option<ApiError>,
}

impl GeoReportError {
    fn new(status: StatusCode, description: impl Into<String>) -> Self {
        Self {
            status,
            description: description.into(),
            cause: None,
        }
    }

    fn bad(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, description)
    }
}

impl IntoResponse for GeoReportError {
    fn into_response(self) -> Response {
        let description = if self.status.is_server_error() {
            "internal error; it was logged".to_owned()
        } else {
            self.description
        };
        let body = json!([{ "code": self.status.as_u16(), "description": description }]);
        let mut response = (self.status, body.to_string()).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(media::JSON));
        if let Some(cause) = self.cause {
            response
                .extensions_mut()
                .insert(super::error::Failure(std::sync::Arc::new(cause)));
        }
        response
    }
}

impl From<CaseError> for GeoReportError {
    fn from(error: CaseError) -> Self {
        let description = error.to_string();
        let cause = ApiError::from(error);
        Self {
            status: cause.status(),
            description,
            cause: Some(cause),
        }
    }
}

fn json_ok(value: &Value) -> Response {
    with_type(value.to_string(), media::JSON)
}

/// Strips the `.json` a GeoReport path ends with; other formats are not served.
fn json_path(raw: &str) -> Result<&str, GeoReportError> {
    raw.strip_suffix(".json").ok_or_else(|| {
        GeoReportError::new(
            StatusCode::NOT_FOUND,
            "only the JSON format is served: end the path with .json",
        )
    })
}

fn pairs(raw: Option<&str>) -> Result<Vec<(String, String)>, GeoReportError> {
    serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|e| GeoReportError::bad(format!("the parameters are not form-encoded: {e}")))
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

async fn app_name(state: &AppState, pairs: &[(String, String)]) -> Result<String, GeoReportError> {
    let key = param(pairs, "api_key").ok_or_else(|| {
        GeoReportError::new(
            StatusCode::FORBIDDEN,
            "api_key is required; ask the district for one",
        )
    })?;
    state
        .cases
        .app_for_key(key)
        .await
        .map_err(GeoReportError::from)?
        .ok_or_else(|| GeoReportError::new(StatusCode::FORBIDDEN, "api_key is not valid"))
}

fn service_json(c: &Category) -> Value {
    json!({
        "service_code": c.code,
        "service_name": c.name_zh,
        "description": format!("{} / {} — 立案条件: {}", c.name_zh, c.name_en, c.filing_condition_zh),
        "metadata": false,
        "type": "realtime",
        "keywords": c.keywords.join(","),
        "group": c.major_zh,
    })
}

/// `GET /open311/v2/discovery.json`: where the endpoint is and what it speaks.
async fn discovery(State(state): State<AppState>) -> Response {
    json_ok(&json!({
        "changeset": "2026-11-22T00:00:00Z",
        "contact": "citygrid — 管城回族区城市运行管理中心",
        "key_service": "API keys are issued by the district (citygrid apikey add NAME)",
        "endpoints": [{
            "specification": "http://wiki.open311.org/GeoReport_v2",
            "url": state.url("/open311/v2"),
            "changeset": "2026-11-22T00:00:00Z",
            "type": "production",
            "formats": ["application/json"],
        }],
    }))
}

/// `GET /open311/v2/services.json`.
async fn list_services(State(state): State<AppState>) -> Response {
    let services: Vec<Value> = state.cases.categories().iter().map(service_json).collect();
    json_ok(&Value::Array(services))
}

/// `GET /open311/v2/services/{code}.json`: the service definition (no extra attributes).
async fn describe_service(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Response, GeoReportError> {
    let code = json_path(&raw)?;
    let category = state.cases.categories().get(code).ok_or_else(|| {
        GeoReportError::new(
            StatusCode::NOT_FOUND,
            format!("no service {code}; GET services.json lists them"),
        )
    })?;
    Ok(json_ok(
        &json!({ "service_code": category.code, "attributes": [] }),
    ))
}

/// `POST /open311/v2/requests.json` (form-encoded).
async fn create_request(
    State(state): State<AppState>,
    Remote(remote): Remote,
    RawQuery(query): RawQuery,
    body: Body,
) -> Result<Response, GeoReportError> {
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|e| {
            // The same distinction as everywhere: too long is 413, not read whole is 400.
            let problem = super::error::body_error(&e, MAX_FORM_BYTES);
            GeoReportError::new(
                problem.status(),
                format!("the form must be read whole and not exceed {MAX_FORM_BYTES} bytes: {e}"),
            )
        })?;
    let mut fields = pairs(std::str::from_utf8(&bytes).ok())?;
    // api_key may come in the query string too.
    fields.extend(pairs(query.as_deref())?);
    let app = app_name(&state, &fields).await?;
    let service_code = param(&fields, "service_code")
        .ok_or_else(|| GeoReportError::bad("service_code is required"))?;
    let number = |name: &str| -> Result<Option<f64>, GeoReportError> {
        param(&fields, name)
            .map(|raw| {
                raw.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite())
                    .ok_or_else(|| {
                        GeoReportError::bad(format!(
                            "{name} must be a number of degrees, got {raw:?}"
                        ))
                    })
            })
            .transpose()
    };
    let (Some(lat), Some(long)) = (number("lat")?, number("long")?) else {
        return Err(GeoReportError::bad(
            "lat and long are required (WGS84 degrees; add crs=gcj02 for 高德/腾讯 coordinates); address-only requests cannot be placed in a grid cell",
        ));
    };
    let crs = match param(&fields, "crs") {
        None => InputCrs::Wgs84,
        Some(raw) => InputCrs::parse(raw).ok_or_else(|| {
            GeoReportError::bad(format!("crs must be wgs84, gcj02 or bd09, got {raw:?}"))
        })?,
    };
    if !(-180.0..=180.0).contains(&long) || !(-90.0..=90.0).contains(&lat) {
        return Err(GeoReportError::bad(
            "long must be in [-180, 180] and lat in [-90, 90]",
        ));
    }
    let (lon, lat) = crs.to_wgs84(long, lat);
    let description = param(&fields, "description").unwrap_or_default().to_owned();
    let description = if description.trim().is_empty() {
        state
            .cases
            .categories()
            .get(service_code)
            .map(|c| c.name_zh.clone())
            .unwrap_or_default()
    } else {
        description
    };
    let report = NewReport {
        category: service_code.to_owned(),
        lon,
        lat,
        description,
        address: param(&fields, "address_string").map(str::to_owned),
        photos: Vec::new(),
        asset: None,
        channel: "open311".into(),
        idempotency_key: param(&fields, "device_id")
            .zip(param(&fields, "request_token"))
            .map(|(device, token)| format!("{device}/{token}")),
        remote,
    };
    let reported = state.cases.report(&Reporter::App(app), report).await?;
    let notice = if reported.duplicates.is_empty() {
        "已受理 received".to_owned()
    } else {
        format!(
            "已受理; 附近已有同类案件 {} (probable duplicate)",
            reported
                .duplicates
                .iter()
                .map(|d| d.id.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let body = json!([{
        "service_request_id": reported.case.id.to_string(),
        "service_notice": notice,
        "account_id": Value::Null,
    }]);
    let mut response = json_ok(&body);
    *response.status_mut() = if reported.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(response)
}

fn status_notes(case: &Case) -> String {
    let mut notes = format!("{} ({})", case.state.label_zh(), case.state.label_en());
    if let Some(unit) = &case.assigned_unit {
        notes.push_str("; 处置单位 ");
        notes.push_str(unit);
    }
    if let Some(into) = case.merged_into {
        use std::fmt::Write as _;
        let _ = write!(notes, "; 与案件 {into} 合并 (duplicate of {into})");
    }
    if case.state == CaseState::Voided {
        notes.push_str("; 不予立案或作废 (not accepted)");
    }
    notes
}

fn w3c(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A request as the app `app` may read it: the description and address only of its own.
fn request_json(case: &Case, state: &AppState, app: &str) -> Value {
    let category = state.cases.categories().get(&case.category);
    let own = case
        .reporter
        .strip_prefix("open311:")
        .is_some_and(|name| name == app);
    json!({
        "service_request_id": case.id.to_string(),
        "status": if case.state.is_open() { "open" } else { "closed" },
        "status_notes": status_notes(case),
        "service_name": category.map(|c| c.name_zh.clone()),
        "service_code": case.category,
        "description": if own { Some(&case.description) } else { None },
        "agency_responsible": case.assigned_unit.clone().or_else(|| case.responsible_unit.clone()),
        "service_notice": Value::Null,
        "requested_datetime": w3c(case.reported_at),
        "updated_datetime": w3c(case.updated_at),
        "expected_datetime": case.due_at.map(w3c),
        "address": if own { case.address.as_ref() } else { None },
        "address_id": Value::Null,
        "zipcode": Value::Null,
        "lat": case.lat,
        "long": case.lon,
        "media_url": Value::Null,
    })
}

fn time_param(
    pairs: &[(String, String)],
    name: &str,
) -> Result<Option<DateTime<Utc>>, GeoReportError> {
    param(pairs, name)
        .map(|raw| {
            DateTime::parse_from_rfc3339(raw)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| GeoReportError::bad(format!("{name} must be a w3c datetime such as 2026-11-22T08:30:00+08:00, got {raw:?}")))
        })
        .transpose()
}

/// The parameters of `GET requests.json`.
const KNOWN: [&str; 8] = [
    "api_key",
    "service_request_id",
    "service_code",
    "start_date",
    "end_date",
    "status",
    "bbox",
    "jurisdiction_id",
];

/// `GET /open311/v2/requests.json`.
async fn list_requests(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, GeoReportError> {
    let pairs = pairs(query.as_deref())?;

    if let Some((name, _)) = pairs.iter().find(|(n, _)| !KNOWN.contains(&n.as_str())) {
        return Err(GeoReportError::bad(format!(
            "unknown parameter {name}; allowed: {}",
            KNOWN.join(", ")
        )));
    }
    let app = app_name(&state, &pairs).await?;
    if let Some(ids) = param(&pairs, "service_request_id") {
        let mut found = Vec::new();
        for raw in ids.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let id: i64 = raw.parse().map_err(|_| {
                GeoReportError::bad(format!("service_request_id {raw:?} is not a request id"))
            })?;
            if let Some(case) = state
                .cases
                .store()
                .case(id)
                .await
                .map_err(|e| GeoReportError::from(CaseError::from(e)))?
            {
                found.push(request_json(&case, &state, &app));
            }
        }
        return Ok(json_ok(&Value::Array(found)));
    }
    let now = state.cases.now();
    let end_date = time_param(&pairs, "end_date")?;
    let end = end_date.unwrap_or(now);
    // GeoReport: without start_date, the last 90 days.
    let start = time_param(&pairs, "start_date")?.unwrap_or(end - chrono::Duration::days(90));
    if start > end {
        return Err(GeoReportError::bad("start_date must not be after end_date"));
    }
    let states: Vec<CaseState> = match param(&pairs, "status") {
        None => Vec::new(),
        Some(raw) => {
            let mut states = Vec::new();
            for part in raw.split(',').map(str::trim) {
                match part {
                    "open" => states.extend(CaseState::ALL.into_iter().filter(|s| s.is_open())),
                    "closed" => states.extend([CaseState::Closed, CaseState::Voided]),
                    other => {
                        return Err(GeoReportError::bad(format!(
                            "status must be open or closed, got {other:?}"
                        )));
                    }
                }
            }
            states
        }
    };
    let bbox = param(&pairs, "bbox")
        .map(|raw| {
            let n: Vec<f64> = raw
                .split(',')
                .filter_map(|p| p.trim().parse().ok())
                .collect();
            match n.as_slice() {
                [w, s, e, no] if w <= e && s <= no => Ok([*w, *s, *e, *no]),
                _ => Err(GeoReportError::bad(format!(
                    "bbox must be west,south,east,north in WGS84 degrees, got {raw:?}"
                ))),
            }
        })
        .transpose()?;
    let (cases, _) = state
        .cases
        .store()
        .cases(&CaseQuery {
            states,
            category: param(&pairs, "service_code").map(str::to_owned),
            bbox,
            reported_from: Some(start),
            // Without end_date, up to now inclusive: a request made this millisecond counts.
            reported_to: end_date,
            order: CaseOrder::Newest,
            limit: Some(MAX_REQUESTS),
            ..CaseQuery::default()
        })
        .await
        .map_err(|e| GeoReportError::from(CaseError::from(e)))?;
    Ok(json_ok(&Value::Array(
        cases
            .iter()
            .map(|c| request_json(c, &state, &app))
            .collect(),
    )))
}

/// `GET /open311/v2/requests/{id}.json`.
async fn get_request(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, GeoReportError> {
    let pairs = pairs(query.as_deref())?;
    let app = app_name(&state, &pairs).await?;
    let id = json_path(&raw)?;
    let id: i64 = id
        .parse()
        .map_err(|_| GeoReportError::bad(format!("{id:?} is not a request id")))?;
    let case = state
        .cases
        .store()
        .case(id)
        .await
        .map_err(|e| GeoReportError::from(CaseError::from(e)))?
        .ok_or_else(|| GeoReportError::new(StatusCode::NOT_FOUND, format!("no request {id}")))?;
    Ok(json_ok(&json!([request_json(&case, &state, &app)])))
}
