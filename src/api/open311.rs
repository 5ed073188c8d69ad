//! Open311 GeoReport v2 (<https://wiki.open311.org/GeoReport_v2/>) under `/open311/v2/`, so that
//! existing civic apps can report to citygrid and follow their reports. The handlers and what
//! they read:
//!
//! - `GET discovery.json` (`discovery`): where the endpoint is and what it speaks;
//! - `GET services.json` (`list_services`), `GET services/{code}.json` (`describe_service`):
//!   the case categories as services;
//! - `POST requests.json` (`create_request`): a `NewRequest` form (`api_key` required), a new
//!   service request → a case;
//! - `GET requests.json` (`list_requests`): a `RequestsQuery` (`api_key`,
//!   `service_request_id`, `service_code`, `status`, `start_date`, `end_date`, and the
//!   extension `bbox=west,south,east,north`); `GET requests/{id}.json` (`get_request`): a
//!   `KeyQuery`.
//!
//! GeoReport queries and forms are read here rather than by `extract::Query`, because they are
//! read as GeoReport clients send them: errors are GeoReport error lists, a repeated parameter
//! counts by its first value, and an empty value is no value. The paths GeoReport names
//! `…/{x}.json` are served at `…/{x}`, and the handler strips the `.json`, so that another
//! format gets a GeoReport 404 that says why.
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

use std::marker::PhantomData;

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::{IntoParams, PartialSchema, ToResponse, ToSchema};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

use super::auth::Remote;
use super::extract::declared_names;
use super::{ApiError, AppState, media};
use crate::model::case::{Case, CaseState};
use crate::model::category::{Category, CategoryCatalog};
use crate::model::crs::InputCrs;
use crate::service::cases::{CaseError, NewReport, Reported, Reporter};
use crate::store::cases::{CaseOrder, CaseQuery};

/// Most requests one `GET requests.json` returns (GeoReport suggests 1000).
const MAX_REQUESTS: u32 = 1_000;
/// Largest form body.
const MAX_FORM_BYTES: usize = 64 * 1024;
/// When the service list last changed (GeoReport's `changeset`).
const CHANGESET: &str = "2026-11-22T00:00:00Z";

/// The Open311 routes, to be nested under `/open311/v2`.
pub fn routes() -> OpenApiRouter<AppState> {
    let mut router = OpenApiRouter::new()
        .routes(routes!(discovery))
        .routes(routes!(list_services))
        .merge(without_json_suffix(routes!(describe_service)))
        .routes(routes!(list_requests, create_request))
        .merge(without_json_suffix(routes!(get_request)));
    // The inline error responses refer to the entry's schema without registering it.
    router
        .get_openapi_mut()
        .components
        .get_or_insert_with(Default::default)
        .schemas
        .insert(
            GeoReportErrorEntry::name().into_owned(),
            GeoReportErrorEntry::schema(),
        );
    router
}

/// Routes documented at GeoReport's `…/{x}.json` and served at `…/{x}`: the handler strips the
/// `.json` (see [`json_path`]) so that a path without it, or with another format, gets a
/// GeoReport 404 saying that only JSON is served rather than the router's fallback.
fn without_json_suffix(
    (schemas, paths, method_router): UtoipaMethodRouter<AppState>,
) -> OpenApiRouter<AppState> {
    let served: Vec<String> = paths
        .paths
        .keys()
        .map(|p| p.replace("}.json", "}"))
        .collect();
    // Called as a function rather than a method: tests/it/openapi.rs reads the router's routes
    // from method calls with literal paths, and this path is derived from the documented one.
    let mut router = served.iter().fold(OpenApiRouter::new(), |router, path| {
        OpenApiRouter::route(router, path, method_router.clone())
    });
    let openapi = router.get_openapi_mut();
    openapi.paths.paths.extend(paths.paths);
    openapi
        .components
        .get_or_insert_with(Default::default)
        .schemas
        .extend(schemas);
    router
}

/// A GeoReport error: `[{"code": status, "description": …}]` with that HTTP status. A failure
/// of the services gets the status of the one error table ([`ApiError`]); the cause of a
/// server error is kept for the logging layer, and the description says nothing internal.
struct GeoReportError {
    status: StatusCode,
    description: String,
    cause: Option<Box<ApiError>>,
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
        let body = [GeoReportErrorEntry {
            code: self.status.as_u16(),
            description,
        }];
        let mut response = (self.status, Json(body)).into_response();
        if let Some(cause) = self.cause {
            response
                .extensions_mut()
                .insert(super::error::Failure(std::sync::Arc::from(cause)));
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
            cause: Some(Box::new(cause)),
        }
    }
}

/// One entry of a GeoReport error list; an error answer is a list of one.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = georeportError)]
struct GeoReportErrorEntry {
    /// The HTTP status.
    code: u16,
    /// What was wrong.
    description: String,
}

/// Declares GeoReport error responses: `name`, then the description.
macro_rules! georeport_responses {
    ($($name:ident => $description:literal,)*) => {
        $(
            #[doc = $description]
            #[derive(ToResponse)]
            #[response(description = $description, content_type = "application/json")]
            #[expect(dead_code, reason = "documentation only: the body is a GeoReportError's list")]
            struct $name(Vec<GeoReportErrorEntry>);
        )*
    };
}

georeport_responses! {
    GeoReportBadRequest => "GeoReport error list: a malformed parameter",
    GeoReportForbidden => "Missing or invalid `api_key`",
    GeoReportNotFound => "Not found",
    GeoReportConflict => "The report conflicts with the case's state",
    GeoReportTooLarge => "The form is too large",
    GeoReportUnsupported => "Not form-encoded",
    GeoReportUnprocessable => "A location outside the district, or an unknown service",
    GeoReportUnavailable => "No grid is loaded",
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

/// The pairs of a GeoReport query string or form, as GeoReport clients send them: the first of
/// a repeated parameter counts, and an empty value is no value.
struct Pairs(Vec<(String, String)>);

impl Pairs {
    fn parse(raw: Option<&str>) -> Result<Self, GeoReportError> {
        serde_urlencoded::from_str(raw.unwrap_or(""))
            .map(Self)
            .map_err(|e| GeoReportError::bad(format!("the parameters are not form-encoded: {e}")))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// Refuses a parameter `T` does not declare, naming the ones it does.
    fn refuse_unknown<T: IntoParams + 'static>(&self) -> Result<(), GeoReportError> {
        let known = declared_names::<T>();
        match self.0.iter().find(|(n, _)| !known.contains(n)) {
            Some((name, _)) => Err(GeoReportError::bad(format!(
                "unknown parameter {name}; allowed: {}",
                known.join(", ")
            ))),
            None => Ok(()),
        }
    }

    /// The civic app whose key `api_key` is: 403 without a key or with one that is not valid.
    async fn app(&self, state: &AppState) -> Result<String, GeoReportError> {
        let key = self.get("api_key").ok_or_else(|| {
            GeoReportError::new(
                StatusCode::FORBIDDEN,
                "api_key is required; ask the district for one",
            )
        })?;
        state
            .cases
            .app_for_key(key)
            .await?
            .ok_or_else(|| GeoReportError::new(StatusCode::FORBIDDEN, "api_key is not valid"))
    }
}

/// Where the endpoint is and what it speaks.
#[derive(Debug, Serialize, ToSchema)]
struct Discovery {
    /// When this changed.
    changeset: &'static str,
    /// Who runs the endpoint.
    contact: &'static str,
    /// How to get an API key.
    key_service: &'static str,
    /// The endpoints: this one.
    endpoints: Vec<DiscoveryEndpoint>,
}

/// An endpoint of the discovery document.
#[derive(Debug, Serialize, ToSchema)]
struct DiscoveryEndpoint {
    /// The specification it implements.
    specification: &'static str,
    /// Its base URL.
    url: String,
    /// When it changed.
    changeset: &'static str,
    /// `production`.
    #[serde(rename = "type")]
    kind: &'static str,
    /// The formats served: JSON only.
    formats: Vec<&'static str>,
}

/// Discovery
#[utoipa::path(get, path = "/open311/v2/discovery.json", operation_id = "open311Discovery",
    tag = "Open311 GeoReport v2", security(()),
    responses((status = 200, description = "Discovery", body = Discovery),
        (status = 400, response = inline(GeoReportBadRequest)),
        (status = 403, response = inline(GeoReportForbidden)),
        (status = 404, response = inline(GeoReportNotFound))))]
async fn discovery(State(state): State<AppState>) -> Json<Discovery> {
    Json(Discovery {
        changeset: CHANGESET,
        contact: "citygrid — 管城回族区城市运行管理中心",
        key_service: "API keys are issued by the district (citygrid apikey add NAME)",
        endpoints: vec![DiscoveryEndpoint {
            specification: "http://wiki.open311.org/GeoReport_v2",
            url: state.url("/open311/v2"),
            changeset: CHANGESET,
            kind: "production",
            formats: vec![media::JSON],
        }],
    })
}

/// A service: a case category.
#[derive(Debug, Serialize, ToSchema)]
#[expect(clippy::struct_field_names, reason = "GeoReport's member names")]
struct Service {
    /// The category code.
    service_code: String,
    /// Its Chinese name.
    service_name: String,
    /// Its names and when it is filed as a case (立案条件).
    description: String,
    /// Whether the service has attributes: never.
    metadata: bool,
    /// `realtime`.
    #[serde(rename = "type")]
    kind: &'static str,
    /// Comma-separated keywords.
    keywords: String,
    /// The major category.
    group: String,
}

impl From<&Category> for Service {
    fn from(c: &Category) -> Self {
        Self {
            service_code: c.code.clone(),
            service_name: c.name_zh.clone(),
            description: format!(
                "{} / {} — 立案条件: {}",
                c.name_zh, c.name_en, c.filing_condition_zh
            ),
            metadata: false,
            kind: "realtime",
            keywords: c.keywords.join(","),
            group: c.major_zh.clone(),
        }
    }
}

/// Service list (the case categories)
#[utoipa::path(get, path = "/open311/v2/services.json", operation_id = "open311Services",
    tag = "Open311 GeoReport v2", security(()),
    responses((status = 200, description = "The services, one per case category", body = [Service]),
        (status = 400, response = inline(GeoReportBadRequest)),
        (status = 403, response = inline(GeoReportForbidden)),
        (status = 404, response = inline(GeoReportNotFound))))]
async fn list_services(State(state): State<AppState>) -> Json<Vec<Service>> {
    Json(state.cases.categories().iter().map(Service::from).collect())
}

/// A service definition: no extra attributes.
#[derive(Debug, Serialize, ToSchema)]
struct ServiceDefinition {
    /// The service.
    service_code: String,
    /// Its attributes: none.
    #[schema(value_type = Vec<Object>)]
    attributes: Vec<Value>,
}

/// Service definition
#[utoipa::path(get, path = "/open311/v2/services/{code}.json", operation_id = "open311Service",
    tag = "Open311 GeoReport v2", security(()),
    params(("code" = String, Path, description = "A service code (a case category code)",
        example = "0101")),
    responses((status = 200, description = "Service definition", body = ServiceDefinition),
        (status = 400, response = inline(GeoReportBadRequest)),
        (status = 403, response = inline(GeoReportForbidden)),
        (status = 404, response = inline(GeoReportNotFound))))]
async fn describe_service(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<ServiceDefinition>, GeoReportError> {
    let code = json_path(&raw)?;
    let category = state.cases.categories().get(code).ok_or_else(|| {
        GeoReportError::new(
            StatusCode::NOT_FOUND,
            format!("no service {code}; GET services.json lists them"),
        )
    })?;
    Ok(Json(ServiceDefinition {
        service_code: category.code.clone(),
        attributes: Vec::new(),
    }))
}

/// The form of `POST requests.json` (`application/x-www-form-urlencoded`). Any field may come
/// in the query string instead (the form's value wins); other GeoReport fields (`email`,
/// `first_name`, `media_url`, `attribute[…]`, …) are accepted and ignored.
#[derive(Debug, ToSchema)]
struct NewRequest {
    /// The app's key (`citygrid apikey add`), here or in the query string; read, it is the
    /// app the key belongs to.
    #[schema(rename = "api_key", required = false)]
    app: String,
    /// A service code (a case category code).
    #[schema(example = "0101")]
    service_code: String,
    /// Latitude, degrees (in `crs`).
    lat: f64,
    /// Longitude, degrees (in `crs`).
    long: f64,
    /// The CRS of `lat` and `long`: `wgs84` (the default), `gcj02` (高德/腾讯) or `bd09` (百度).
    #[schema(value_type = String, required = false, default = "wgs84", example = "gcj02")]
    crs: InputCrs,
    /// What is wrong; the service's name when empty.
    description: Option<String>,
    /// Street address or landmark.
    address_string: Option<String>,
    /// With `request_token`: the same pair sent again (a retry) never makes a second case.
    device_id: Option<String>,
    /// See `device_id`.
    request_token: Option<String>,
}

impl NewRequest {
    /// Reads the fields of the app `app`, in GeoReport's order of what is missing.
    fn read(app: String, fields: &Pairs) -> Result<Self, GeoReportError> {
        let service_code = fields
            .get("service_code")
            .ok_or_else(|| GeoReportError::bad("service_code is required"))?;
        let number = |name: &str| -> Result<Option<f64>, GeoReportError> {
            fields
                .get(name)
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
        let crs = match fields.get("crs") {
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
        let text = |name: &str| fields.get(name).map(str::to_owned);
        Ok(Self {
            app,
            service_code: service_code.to_owned(),
            lat,
            long,
            crs,
            description: text("description"),
            address_string: text("address_string"),
            device_id: text("device_id"),
            request_token: text("request_token"),
        })
    }

    /// The report this request makes, by its app, from `remote`.
    fn into_report(
        self,
        categories: &CategoryCatalog,
        remote: Option<String>,
    ) -> (Reporter, NewReport) {
        let (lon, lat) = self.crs.to_wgs84(self.long, self.lat);
        let description = match self.description {
            Some(text) if !text.trim().is_empty() => text,
            _ => categories
                .get(&self.service_code)
                .map(|c| c.name_zh.clone())
                .unwrap_or_default(),
        };
        let idempotency_key = self
            .device_id
            .zip(self.request_token)
            .map(|(device, token)| format!("{device}/{token}"));
        let report = NewReport {
            category: self.service_code,
            lon,
            lat,
            description,
            address: self.address_string,
            photos: Vec::new(),
            asset: None,
            channel: "open311".into(),
            idempotency_key,
            remote,
        };
        (Reporter::App(self.app), report)
    }
}

impl FromRequest<AppState> for NewRequest {
    type Rejection = GeoReportError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, GeoReportError> {
        let query = request.uri().query().map(str::to_owned);
        let bytes = axum::body::to_bytes(request.into_body(), MAX_FORM_BYTES)
            .await
            .map_err(|e| {
                // The same distinction as everywhere: too long is 413, not read whole is 400.
                let problem = super::error::body_error(&e, MAX_FORM_BYTES);
                GeoReportError::new(
                    problem.status(),
                    format!(
                        "the form must be read whole and not exceed {MAX_FORM_BYTES} bytes: {e}"
                    ),
                )
            })?;
        let mut fields = Pairs::parse(std::str::from_utf8(&bytes).ok())?;
        // Fields may come in the query string too (api_key, typically).
        fields.0.extend(Pairs::parse(query.as_deref())?.0);
        let app = fields.app(state).await?;
        Self::read(app, &fields)
    }
}

/// The answer to a new request.
#[derive(Debug, Serialize, ToSchema)]
struct CreatedRequest {
    /// The new request's id (the case number).
    service_request_id: String,
    /// 已受理, and the probable duplicates nearby if any.
    service_notice: String,
    /// Always null: no accounts.
    #[schema(required = true)]
    account_id: Option<String>,
}

impl From<&Reported> for CreatedRequest {
    fn from(reported: &Reported) -> Self {
        let service_notice = if reported.duplicates.is_empty() {
            "已受理 received".to_owned()
        } else {
            let ids: Vec<String> = reported
                .duplicates
                .iter()
                .map(|d| d.id.to_string())
                .collect();
            format!(
                "已受理; 附近已有同类案件 {} (probable duplicate)",
                ids.join(", ")
            )
        };
        Self {
            service_request_id: reported.case.id.to_string(),
            service_notice,
            account_id: None,
        }
    }
}

/// Create a service request (form-encoded; `api_key`, `service_code`, `lat`, `long`,
/// `description`, `address_string`, `crs`)
#[utoipa::path(post, path = "/open311/v2/requests.json", operation_id = "open311CreateRequest",
    tag = "Open311 GeoReport v2", security(()),
    params(("api_key" = Option<String>, Query,
        description = "The app's key, when the form does not carry it")),
    request_body(content = NewRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 201, description = "The new request's id", body = [CreatedRequest]),
        (status = 200, description = "The request was made already (the same device_id and request_token): its id", body = [CreatedRequest]),
        (status = 400, response = inline(GeoReportBadRequest)),
        (status = 403, response = inline(GeoReportForbidden)),
        (status = 404, response = inline(GeoReportNotFound)),
        (status = 409, response = inline(GeoReportConflict)),
        (status = 413, response = inline(GeoReportTooLarge)),
        (status = 415, response = inline(GeoReportUnsupported)),
        (status = 422, response = inline(GeoReportUnprocessable)),
        (status = 503, response = inline(GeoReportUnavailable))))]
async fn create_request(
    State(state): State<AppState>,
    Remote(remote): Remote,
    request: NewRequest,
) -> Result<Response, GeoReportError> {
    let (reporter, report) = request.into_report(state.cases.categories(), remote);
    let outcome = state.cases.report(&reporter, report).await?;
    let status = if outcome.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json([CreatedRequest::from(&outcome)])).into_response())
}

/// A request's status: the workflow states collapsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum RequestStatus {
    /// Not closed yet.
    Open,
    /// Closed or voided.
    Closed,
}

/// A service request: a case as the app may read it.
#[derive(Debug, Serialize, ToSchema)]
#[expect(clippy::struct_field_names, reason = "GeoReport's member names")]
struct ServiceRequest {
    /// The case number.
    service_request_id: String,
    /// `open` or `closed`.
    status: RequestStatus,
    /// The workflow state, the unit handling it, a merger or a refusal, in words.
    status_notes: String,
    /// The service's name.
    #[schema(required = true)]
    service_name: Option<String>,
    /// The service (case category).
    service_code: String,
    /// What the reporter typed: only on the app's own requests.
    #[schema(required = true)]
    description: Option<String>,
    /// The unit handling it, or the one responsible for its cell.
    #[schema(required = true)]
    agency_responsible: Option<String>,
    /// Always null.
    #[schema(required = true)]
    service_notice: Option<String>,
    /// When it was reported.
    #[schema(format = DateTime)]
    requested_datetime: String,
    /// When it last changed.
    #[schema(format = DateTime)]
    updated_datetime: String,
    /// Its deadline, if any.
    #[schema(required = true, format = DateTime)]
    expected_datetime: Option<String>,
    /// The address typed: only on the app's own requests.
    #[schema(required = true)]
    address: Option<String>,
    /// Always null.
    #[schema(required = true)]
    address_id: Option<String>,
    /// Always null.
    #[schema(required = true)]
    zipcode: Option<String>,
    /// WGS84 latitude.
    lat: f64,
    /// WGS84 longitude.
    long: f64,
    /// Always null: photos need a login.
    #[schema(required = true)]
    media_url: Option<String>,
}

impl ServiceRequest {
    /// `case` as the app `app` may read it: the description and address only of its own.
    fn of(case: &Case, categories: &CategoryCatalog, app: &str) -> Self {
        let own = case
            .reporter
            .strip_prefix("open311:")
            .is_some_and(|name| name == app);
        Self {
            service_request_id: case.id.to_string(),
            status: if case.state.is_open() {
                RequestStatus::Open
            } else {
                RequestStatus::Closed
            },
            status_notes: status_notes(case),
            service_name: categories.get(&case.category).map(|c| c.name_zh.clone()),
            service_code: case.category.clone(),
            description: own.then(|| case.description.clone()),
            agency_responsible: case
                .assigned_unit
                .clone()
                .or_else(|| case.responsible_unit.clone()),
            service_notice: None,
            requested_datetime: w3c(case.reported_at),
            updated_datetime: w3c(case.updated_at),
            expected_datetime: case.due_at.map(w3c),
            address: case.address.clone().filter(|_| own),
            address_id: None,
            zipcode: None,
            lat: case.lat,
            long: case.lon,
            media_url: None,
        }
    }
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

/// A w3c datetime, the value of `name`.
fn time(name: &str, raw: &str) -> Result<DateTime<Utc>, GeoReportError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            GeoReportError::bad(format!(
                "{name} must be a w3c datetime such as 2026-11-22T08:30:00+08:00, got {raw:?}"
            ))
        })
}

/// The query of `GET requests.json`: the app's key, then either request ids or a selection.
/// As GeoReport says, `service_request_id` overrides every other parameter: they are then not
/// read. A parameter not declared here is refused.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
struct RequestsQuery {
    /// The app's key (`citygrid apikey add`); read, it is the app the key belongs to
    #[param(rename = "api_key", value_type = String)]
    app: String,
    /// Comma-separated request ids
    #[param(value_type = Option<String>, example = "1,2")]
    service_request_id: Option<Vec<i64>>,
    /// A service code
    #[param(value_type = Option<String>)]
    service_code: Option<String>,
    /// Requested at or after (RFC 3339); default: 90 days before `end_date`
    #[param(value_type = Option<String>, format = DateTime)]
    start_date: Option<DateTime<Utc>>,
    /// Requested before (RFC 3339); default: up to now
    #[param(value_type = Option<String>, format = DateTime)]
    end_date: Option<DateTime<Utc>>,
    /// `open` or `closed` (both, comma-separated: either)
    #[param(value_type = Option<RequestStatus>, required = false)]
    status: Vec<CaseState>,
    /// west,south,east,north (WGS84)
    #[param(value_type = Option<String>)]
    bbox: Option<[f64; 4]>,
    /// Accepted and ignored: one jurisdiction is served (its value is never read)
    #[param(value_type = Option<String>, required = false)]
    jurisdiction_id: PhantomData<String>,
}

impl RequestsQuery {
    /// Reads the parameters after the key, `now` being the end when `end_date` is not given.
    fn read(app: String, pairs: &Pairs, now: DateTime<Utc>) -> Result<Self, GeoReportError> {
        let mut query = Self {
            app,
            service_request_id: None,
            service_code: None,
            start_date: None,
            end_date: None,
            status: Vec::new(),
            bbox: None,
            jurisdiction_id: PhantomData,
        };
        if let Some(ids) = pairs.get("service_request_id") {
            query.service_request_id = Some(request_ids(ids)?);
            return Ok(query);
        }
        query.end_date = pairs
            .get("end_date")
            .map(|raw| time("end_date", raw))
            .transpose()?;
        let end = query.end_date.unwrap_or(now);
        // GeoReport: without start_date, the last 90 days.
        let start = match pairs.get("start_date") {
            Some(raw) => time("start_date", raw)?,
            None => end - chrono::Duration::days(90),
        };
        if start > end {
            return Err(GeoReportError::bad("start_date must not be after end_date"));
        }
        query.start_date = Some(start);
        query.status = pairs
            .get("status")
            .map(states)
            .transpose()?
            .unwrap_or_default();
        query.bbox = pairs.get("bbox").map(bbox).transpose()?;
        query.service_code = pairs.get("service_code").map(str::to_owned);
        Ok(query)
    }

    /// The cases the selection (not the ids) asks for.
    fn case_query(&self) -> CaseQuery {
        CaseQuery {
            states: self.status.clone(),
            category: self.service_code.clone(),
            bbox: self.bbox,
            reported_from: self.start_date,
            // Without end_date, up to now inclusive: a request made this millisecond counts.
            reported_to: self.end_date,
            order: CaseOrder::Newest,
            limit: Some(MAX_REQUESTS),
            ..CaseQuery::default()
        }
    }
}

impl FromRequestParts<AppState> for RequestsQuery {
    type Rejection = GeoReportError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, GeoReportError> {
        let pairs = Pairs::parse(parts.uri.query())?;
        pairs.refuse_unknown::<Self>()?;
        let app = pairs.app(state).await?;
        Self::read(app, &pairs, state.cases.now())
    }
}

/// `service_request_id`: comma-separated ids.
fn request_ids(raw: &str) -> Result<Vec<i64>, GeoReportError> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|id| {
            id.parse().map_err(|_| {
                GeoReportError::bad(format!("service_request_id {id:?} is not a request id"))
            })
        })
        .collect()
}

/// `status`: `open`, `closed`, or both comma-separated, as the workflow states they cover.
fn states(raw: &str) -> Result<Vec<CaseState>, GeoReportError> {
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
    Ok(states)
}

/// `bbox`: west,south,east,north in WGS84 degrees.
fn bbox(raw: &str) -> Result<[f64; 4], GeoReportError> {
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
}

/// The cases of `ids` that exist, in that order.
async fn cases_by_id(state: &AppState, ids: &[i64]) -> Result<Vec<Case>, GeoReportError> {
    let mut found = Vec::new();
    for &id in ids {
        match state.cases.case(id).await {
            Ok(case) => found.push(case),
            Err(CaseError::NotFound(_)) => {}
            Err(other) => return Err(other.into()),
        }
    }
    Ok(found)
}

/// Service requests (`api_key`; `service_request_id`, `service_code`, `status`, `start_date`,
/// `end_date`, `bbox`)
#[utoipa::path(get, path = "/open311/v2/requests.json", operation_id = "open311Requests",
    tag = "Open311 GeoReport v2", security(()), params(RequestsQuery),
    responses((status = 200, description = "The requests, newest first", body = [ServiceRequest]),
        (status = 400, response = inline(GeoReportBadRequest)),
        (status = 403, response = inline(GeoReportForbidden)),
        (status = 404, response = inline(GeoReportNotFound))))]
async fn list_requests(
    State(state): State<AppState>,
    query: RequestsQuery,
) -> Result<Json<Vec<ServiceRequest>>, GeoReportError> {
    let cases = match &query.service_request_id {
        Some(ids) => cases_by_id(&state, ids).await?,
        None => state.cases.find(&query.case_query()).await?.0,
    };
    let categories = state.cases.categories();
    Ok(Json(
        cases
            .iter()
            .map(|c| ServiceRequest::of(c, categories, &query.app))
            .collect(),
    ))
}

/// The query of `GET requests/{id}.json`: the app's key. Other parameters are ignored, as they
/// always were here (GeoReport does not ask to refuse them).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
struct KeyQuery {
    /// The app's key (`citygrid apikey add`); read, it is the app the key belongs to
    #[param(rename = "api_key", value_type = String)]
    app: String,
}

impl FromRequestParts<AppState> for KeyQuery {
    type Rejection = GeoReportError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, GeoReportError> {
        let pairs = Pairs::parse(parts.uri.query())?;
        Ok(Self {
            app: pairs.app(state).await?,
        })
    }
}

/// One service request (`api_key`)
#[utoipa::path(get, path = "/open311/v2/requests/{id}.json", operation_id = "open311Request",
    tag = "Open311 GeoReport v2", security(()),
    params(KeyQuery, ("id" = i64, Path, minimum = 1,
        description = "The service request id (the case number)")),
    responses((status = 200, description = "The request, alone in a list", body = [ServiceRequest]),
        (status = 400, response = inline(GeoReportBadRequest)),
        (status = 403, response = inline(GeoReportForbidden)),
        (status = 404, response = inline(GeoReportNotFound))))]
async fn get_request(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    KeyQuery { app }: KeyQuery,
) -> Result<Json<[ServiceRequest; 1]>, GeoReportError> {
    let id = json_path(&raw)?;
    let id: i64 = id
        .parse()
        .map_err(|_| GeoReportError::bad(format!("{id:?} is not a request id")))?;
    let case = state.cases.case(id).await.map_err(|e| match e {
        CaseError::NotFound(_) => {
            GeoReportError::new(StatusCode::NOT_FOUND, format!("no request {id}"))
        }
        other => other.into(),
    })?;
    Ok(Json([ServiceRequest::of(
        &case,
        state.cases.categories(),
        &app,
    )]))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_georeport_error_has_the_status_of_the_one_table() {
        let too_large = crate::service::photos::PhotoError::TooLarge {
            bytes: 11,
            limit: 10,
        };
        let error = super::GeoReportError::from(super::CaseError::Photo(too_large));
        assert_eq!(error.status, 413);
        let missing = super::GeoReportError::from(super::CaseError::NotFound(7));
        assert_eq!(missing.status, 404);
    }

    #[test]
    fn the_generated_document_has_every_georeport_route_with_its_operation_id() {
        let paths = &crate::api::generated_document()["paths"];
        for (path, method, operation_id) in [
            ("/open311/v2/discovery.json", "get", "open311Discovery"),
            ("/open311/v2/services.json", "get", "open311Services"),
            ("/open311/v2/services/{code}.json", "get", "open311Service"),
            ("/open311/v2/requests.json", "get", "open311Requests"),
            ("/open311/v2/requests.json", "post", "open311CreateRequest"),
            ("/open311/v2/requests/{id}.json", "get", "open311Request"),
        ] {
            let operation = &paths[path][method];
            assert_eq!(operation["operationId"], operation_id, "{method} {path}");
            assert_eq!(
                operation["tags"][0], "Open311 GeoReport v2",
                "{method} {path}"
            );
            assert_eq!(
                operation["responses"]["403"]["content"]["application/json"]["schema"]["items"]["$ref"],
                "#/components/schemas/georeportError",
                "{method} {path}"
            );
        }
        assert!(paths.get("/open311/v2/services/{code}").is_none());
        let schemas = &crate::api::generated_document()["components"]["schemas"];
        assert_eq!(
            schemas["georeportError"]["required"],
            serde_json::json!(["code", "description"])
        );
    }
}
