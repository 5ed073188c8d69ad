//! The one mapping from failures to HTTP: RFC 7807 `application/problem+json` bodies.
//! A 4xx body says exactly what was wrong (parameter, value, what is allowed); a 5xx body says
//! nothing internal, and the detail goes to the log.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::model::case::Refusal;
use crate::service::ServiceError;
use crate::service::analysis::AnalysisError;
use crate::service::auth::{AuthError, MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS};
use crate::service::cases::CaseError;
use crate::service::photos::PhotoError;
use crate::service::units::UnitError;
use crate::store::StoreError;

/// The cause of an internal failure, kept typed until the logging layer prints its chain.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An HTTP-facing failure.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A query parameter or path segment with a value that is not allowed.
    #[error("invalid parameter {parameter}: {detail}")]
    InvalidParameter {
        /// The parameter's name.
        parameter: String,
        /// The value received.
        value: String,
        /// What is allowed.
        allowed: String,
        /// What was wrong.
        detail: String,
    },
    /// A query parameter this endpoint does not know.
    #[error("unknown parameter {parameter}")]
    UnknownParameter {
        /// The parameter's name.
        parameter: String,
        /// The parameters allowed here.
        allowed: Vec<String>,
    },
    /// The request body is larger than allowed (bytes).
    #[error("request body larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// The resource does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The requested representation is not offered.
    #[error("format {0:?} is not offered")]
    NotAcceptable(String),
    /// The method is not allowed on this resource.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// No valid credentials: a bearer token is missing, malformed, unknown, expired or revoked,
    /// or a login failed. Answered with `WWW-Authenticate: Bearer`.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// Authenticated, but not allowed to do this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Too many attempts; answered with `Retry-After` in whole seconds.
    #[error("too many requests; retry after {} s", retry_after.as_secs())]
    TooManyRequests {
        /// How long to wait.
        retry_after: std::time::Duration,
    },
    /// A quota is used up (e.g. photos per user and day); answered with `Retry-After`.
    #[error("quota exceeded: {detail}")]
    QuotaExceeded {
        /// Which quota, and how much of it is used.
        detail: String,
        /// When the quota frees up.
        retry_after: std::time::Duration,
    },
    /// The request is understood but cannot be carried out as asked (a place outside the
    /// district, an unknown asset or photo).
    #[error("{parameter}: {detail}")]
    Unprocessable {
        /// The field at fault.
        parameter: String,
        /// What is wrong.
        detail: String,
    },
    /// The resource changed or is in a state that does not allow the request; `current` is
    /// the resource as it now is, when there is one to show.
    #[error("conflict: {detail}")]
    Conflict {
        /// What happened.
        detail: String,
        /// The resource as it is now.
        current: Option<Value>,
    },
    /// The body's content is of a type not accepted here (checked by content).
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// Every analysis worker is busy and the queue is full; answered with `Retry-After`.
    #[error("busy: {detail}")]
    Busy {
        /// What is busy, in words.
        detail: String,
        /// How long to wait.
        retry_after: std::time::Duration,
    },
    /// An analysis ran out of its time budget and was stopped.
    #[error("timed out: {0}")]
    TimedOut(String),
    /// The store cannot be reached (readiness), or a layer the service needs is missing.
    #[error("not ready")]
    Unavailable(#[source] Cause),
    /// Anything unexpected; the cause is logged by the logging layer, never sent.
    #[error("internal error")]
    Internal(#[source] Cause),
}

impl ApiError {
    /// An invalid value for `parameter`.
    pub fn invalid(
        parameter: &str,
        value: &str,
        allowed: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self::InvalidParameter {
            parameter: parameter.to_owned(),
            value: value.to_owned(),
            allowed: allowed.into(),
            detail: detail.into(),
        }
    }

    /// An internal failure caused by `cause` (an error, or a message).
    pub fn internal(cause: impl Into<Cause>) -> Self {
        Self::Internal(cause.into())
    }

    /// The HTTP status of this failure.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::InvalidParameter { .. } | Self::UnknownParameter { .. } => {
                StatusCode::BAD_REQUEST
            }
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::TooManyRequests { .. } | Self::QuotaExceeded { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unavailable(_) | Self::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::TimedOut(_) => StatusCode::GATEWAY_TIMEOUT,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The problem document.
    #[expect(
        clippy::too_many_lines,
        reason = "one arm per variant keeps every problem body in one table"
    )]
    pub fn problem(&self) -> Value {
        let status = self.status();
        let base = |kind: &str, title: &str, detail: String| {
            json!({
                "type": format!("urn:citygrid:problem:{kind}"),
                "title": title,
                "status": status.as_u16(),
                "detail": detail,
            })
        };
        match self {
            Self::InvalidParameter {
                parameter,
                value,
                allowed,
                detail,
            } => {
                let mut p = base(
                    "invalid-parameter",
                    "Invalid parameter",
                    format!("parameter `{parameter}`: {detail}; allowed: {allowed}"),
                );
                p["parameter"] = json!(parameter);
                p["value"] = json!(value);
                p["allowed"] = json!(allowed);
                p
            }
            Self::UnknownParameter { parameter, allowed } => {
                let mut p = base(
                    "unknown-parameter",
                    "Unknown parameter",
                    format!(
                        "parameter `{parameter}` is not known here; allowed: {}",
                        allowed.join(", ")
                    ),
                );
                p["parameter"] = json!(parameter);
                p["allowed"] = json!(allowed);
                p
            }
            Self::NotFound(detail) => base("not-found", "Not found", detail.clone()),
            Self::Unprocessable { parameter, detail } => {
                let mut p = base(
                    "unprocessable",
                    "Unprocessable request",
                    format!("`{parameter}`: {detail}"),
                );
                p["parameter"] = json!(parameter);
                p
            }
            Self::Conflict { detail, current } => {
                let mut p = base("conflict", "Conflict", detail.clone());
                if let Some(current) = current {
                    p["current"] = current.clone();
                }
                p
            }
            Self::UnsupportedMediaType(detail) => base(
                "unsupported-media-type",
                "Unsupported media type",
                detail.clone(),
            ),
            Self::Unauthorized(detail) => base("unauthorized", "Unauthorized", detail.clone()),
            Self::Forbidden(detail) => base("forbidden", "Forbidden", detail.clone()),
            Self::TooManyRequests { .. } => {
                let seconds = retry_after_secs(self);
                let mut p = base(
                    "too-many-requests",
                    "Too many requests",
                    format!("too many failed attempts; try again in {seconds} s"),
                );
                p["retryAfter"] = json!(seconds);
                p
            }
            Self::QuotaExceeded { detail, .. } => {
                let seconds = retry_after_secs(self);
                let mut p = base(
                    "quota-exceeded",
                    "Quota exceeded",
                    format!("{detail}; try again in {seconds} s"),
                );
                p["retryAfter"] = json!(seconds);
                p
            }
            Self::PayloadTooLarge(limit) => base(
                "payload-too-large",
                "Payload too large",
                format!("the request body must not exceed {limit} bytes"),
            ),
            Self::NotAcceptable(format) => base(
                "not-acceptable",
                "Not acceptable",
                format!("format {format:?} is not offered here; use f=json or f=html"),
            ),
            Self::MethodNotAllowed => base(
                "method-not-allowed",
                "Method not allowed",
                "this resource does not support that method".into(),
            ),
            Self::Busy { .. } | Self::TimedOut(_) => analysis_problem(self),
            Self::Unavailable(_) => base(
                "unavailable",
                "Service unavailable",
                "the store is not reachable".into(),
            ),
            Self::Internal(_) => base(
                "internal",
                "Internal server error",
                "the error was logged".into(),
            ),
        }
    }
}

/// The problem of a busy analysis pool or a spent analysis budget.
fn analysis_problem(error: &ApiError) -> Value {
    let status = error.status().as_u16();
    match error {
        ApiError::Busy { detail, .. } => {
            let seconds = retry_after_secs(error);
            json!({
                "type": "urn:citygrid:problem:busy",
                "title": "Busy",
                "status": status,
                "detail": format!("{detail}; try again in {seconds} s"),
                "retryAfter": seconds,
            })
        }
        other => json!({
            "type": "urn:citygrid:problem:analysis-timeout",
            "title": "Analysis timed out",
            "status": status,
            "detail": format!(
                "{}; ask for a smaller area, fewer collections or a narrower filter",
                other.to_string().trim_start_matches("timed out: ")
            ),
        }),
    }
}

/// The whole seconds to wait (rounded up) of a [`ApiError::TooManyRequests`].
fn retry_after_secs(error: &ApiError) -> u64 {
    match error {
        ApiError::TooManyRequests { retry_after }
        | ApiError::QuotaExceeded { retry_after, .. }
        | ApiError::Busy { retry_after, .. } => {
            retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0)
        }
        _ => 0,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.problem().to_string();
        let mut response = (self.status(), body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        match &self {
            Self::Unauthorized(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Bearer realm="citygrid""#),
                );
            }
            Self::TooManyRequests { .. } | Self::QuotaExceeded { .. } | Self::Busy { .. } => {
                headers.insert(header::RETRY_AFTER, retry_after_secs(&self).into());
            }
            _ => {}
        }
        response
            .extensions_mut()
            .insert(Failure(std::sync::Arc::new(self)));
        response
    }
}

/// The failure a response was made from, kept in the response's extensions so that one layer
/// ([`log_failures`]) logs it, with its chain of causes.
#[derive(Debug, Clone)]
pub struct Failure(pub std::sync::Arc<ApiError>);

/// `error` and its causes, outermost first: `internal error: database error: disk full`.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text
}

/// Logs the failure behind an error response once: server errors with their causes at
/// `error`, refusals at `debug`.
pub async fn log_failures(response: Response) -> Response {
    if let Some(Failure(error)) = response.extensions().get::<Failure>() {
        let status = response.status().as_u16();
        if response.status().is_server_error() {
            tracing::error!(status, error = %chain(error.as_ref()), "request failed");
        } else {
            tracing::debug!(status, error = %error, "request refused");
        }
    }
    response
}

/// The largest body of a plain error response read to become a problem's detail, bytes.
const MAX_PLAIN_ERROR_BYTES: usize = 16 << 10;

/// Turns an error response that is not JSON (axum's rejections of paths, queries, JSON and
/// forms, a body limit's 413, a timeout layer's 408, anything a layer answers in plain text)
/// into an RFC 7807 problem with the same status and headers (`Allow`, `Retry-After`, …).
/// A 4xx problem keeps the plain text as its detail (it names what was wrong); a 5xx problem
/// says nothing internal. JSON error bodies (problems, and Open311's own error list) pass.
pub async fn problem_for_plain_errors(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_PLAIN_ERROR_BYTES)
        .await
        .ok()
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    let reason = status.canonical_reason().unwrap_or("Error");
    let detail = if status.is_server_error() {
        tracing::error!(status = status.as_u16(), detail = ?text, "request failed");
        "the error was logged".to_owned()
    } else {
        text.unwrap_or_else(|| format!("{reason} (HTTP {})", status.as_u16()))
    };
    let kind = reason.to_lowercase().replace([' ', '\''], "-");
    let body = json!({
        "type": format!("urn:citygrid:problem:{kind}"),
        "title": reason,
        "status": status.as_u16(),
        "detail": detail,
    })
    .to_string();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(body))
}

/// The failure to read a request body of at most `limit` bytes: 413 when it is longer, 400
/// when it could not be read whole (the client stalled past the server's timeout, or broke
/// off), instead of blaming the size for both.
pub fn body_error(error: &axum::Error, limit: usize) -> ApiError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if e.is::<http_body_util::LengthLimitError>() {
            return ApiError::PayloadTooLarge(limit);
        }
        cause = e.source();
    }
    ApiError::invalid(
        "body",
        "",
        format!("a whole request body of at most {limit} bytes"),
        format!("the body could not be read whole: {error}"),
    )
}

/// The answer to a handler that panicked: a 500 problem that says nothing internal.
pub fn panic_problem(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::internal("handler panicked").into_response()
}

// The error table: every failure of the services, variant by variant, and the HTTP answer it
// gets. No arm is a catch-all, so a new variant does not compile until it is placed here. The
// Open311 endpoints answer the same statuses in GeoReport's body shape
// (`super::open311::GeoReportError`).

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::InvalidCredentials => {
                Self::Unauthorized("wrong user name or password".into())
            }
            AuthError::InvalidToken => Self::Unauthorized(
                "the bearer token is not valid (unknown, expired or revoked); log in again with POST /auth/login".into(),
            ),
            AuthError::LockedOut { retry_after } => Self::TooManyRequests { retry_after },
            AuthError::InvalidPassword => Self::invalid(
                "password",
                "",
                format!(
                    "at least {MIN_PASSWORD_CHARS} characters and at most {MAX_PASSWORD_BYTES} bytes"
                ),
                "the password does not meet the policy",
            ),
            AuthError::UnknownCells(codes) => Self::invalid(
                "cells",
                &codes.join(","),
                "codes of grid cells of the district",
                format!("unknown cell codes: {}", codes.join(", ")),
            ),
            AuthError::DuplicateUser(name) => Self::invalid(
                "username",
                &name,
                "a user name not yet taken",
                "a user with this name exists already",
            ),
            AuthError::UnknownUser(name) => {
                Self::NotFound(format!("user {name:?} does not exist"))
            }
            AuthError::Busy => Self::TooManyRequests {
                retry_after: std::time::Duration::from_secs(1),
            },
            AuthError::Hashing(detail) => Self::internal(detail),
            AuthError::Store(error) => Self::from(error),
        }
    }
}

impl From<AnalysisError> for ApiError {
    fn from(error: AnalysisError) -> Self {
        match error {
            AnalysisError::Busy { retry_after, .. } => Self::Busy {
                detail: error.to_string(),
                retry_after,
            },
            AnalysisError::TimedOut(_) => Self::TimedOut(error.to_string()),
            AnalysisError::Failed(_) => Self::internal(error),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::UnknownCollection(id) => Self::NotFound(format!(
                "collection {id:?} does not exist; GET /collections lists them"
            )),
            ServiceError::UnknownFeature {
                collection,
                feature,
            } => Self::NotFound(format!(
                "feature {feature:?} does not exist in collection {collection}"
            )),
            ServiceError::NoGrid => {
                Self::NotFound("no grid cells are loaded; import the grid_cells layer first".into())
            }
            ServiceError::InvalidFeature { index, id, error } => Self::Unprocessable {
                parameter: id.map_or_else(
                    || format!("features[{index}]"),
                    |id| format!("features[{index}] (id {id})"),
                ),
                detail: error.to_string(),
            },
            ServiceError::Schema(error) => Self::Unprocessable {
                parameter: "schema".into(),
                detail: error.to_string(),
            },
            ServiceError::Loading(_) => Self::internal(error),
            ServiceError::Store(error) => Self::from(error),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::DuplicateId { .. }
            | StoreError::DuplicateUser(_)
            | StoreError::DuplicateApiKey(_) => Self::Conflict {
                detail: error.to_string(),
                current: None,
            },
            StoreError::UnknownCollection(id) => Self::NotFound(format!(
                "collection {id:?} does not exist; GET /collections lists them"
            )),
            StoreError::UnknownUser(name) => {
                Self::NotFound(format!("user {name:?} does not exist"))
            }
            StoreError::Corrupt { .. }
            | StoreError::FailedBulkWrite
            | StoreError::UnsupportedUrl(_)
            | StoreError::Database(_)
            | StoreError::Migration(_) => Self::internal(error),
        }
    }
}

impl From<UnitError> for ApiError {
    fn from(error: UnitError) -> Self {
        match error {
            UnitError::Invalid(reason) => Self::invalid(
                "unit",
                "",
                "a unit's name, 1 to 100 characters; GET /units lists them",
                reason,
            ),
            UnitError::Unknown { .. } => Self::Unprocessable {
                parameter: "unit".into(),
                detail: error.to_string(),
            },
            UnitError::Store(error) => Self::from(error),
        }
    }
}

impl From<PhotoError> for ApiError {
    fn from(error: PhotoError) -> Self {
        match error {
            PhotoError::TooLarge { limit, .. } => Self::PayloadTooLarge(limit),
            PhotoError::Unsupported { detected } => Self::UnsupportedMediaType(format!(
                "photos must be JPEG, PNG or WebP (checked by content); this one is {}",
                detected.unwrap_or_else(|| "not an image we recognise".into())
            )),
            PhotoError::Corrupt { reason } => Self::Unprocessable {
                parameter: "photo".into(),
                detail: format!("the photo's content does not parse: {reason}"),
            },
            PhotoError::TooManyPixels { .. } => Self::Unprocessable {
                parameter: "photo".into(),
                detail: error.to_string(),
            },
            PhotoError::BadId(id) => Self::invalid(
                "photo",
                &id,
                "a SHA-256 id of 64 lowercase hex digits",
                "not a photo id",
            ),
            PhotoError::Io(_) => Self::internal(error),
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            // The actor may not: 403.
            Refusal::Role { .. } | Refusal::Cell { .. } | Refusal::Unit { .. } => {
                Self::Forbidden(refusal.to_string())
            }
            // The case's state does not allow it: 409.
            Refusal::State { .. } | Refusal::Staffed { .. } => Self::Conflict {
                detail: refusal.to_string(),
                current: None,
            },
        }
    }
}

impl From<CaseError> for ApiError {
    fn from(error: CaseError) -> Self {
        match error {
            CaseError::UnknownCategory(code) => Self::invalid(
                "category",
                &code,
                "a category code from GET /cases/categories",
                "unknown category",
            ),
            CaseError::OutsideDistrict { lon, lat } => Self::Unprocessable {
                parameter: "location".into(),
                detail: format!(
                    "the location {lon:.6}, {lat:.6} (WGS84) lies outside the district's grid; \
                     cases can only be reported inside the district (check the coordinate system: crs=gcj02 for 高德/腾讯 maps)"
                ),
            },
            CaseError::Invalid { field, reason } => {
                Self::invalid(field, "", reason.clone(), reason)
            }
            CaseError::UnknownAsset { collection, id } => Self::Unprocessable {
                parameter: "asset".into(),
                detail: format!("asset {collection}/{id} does not exist"),
            },
            CaseError::UnknownPhoto(id) => Self::Unprocessable {
                parameter: "photos".into(),
                detail: format!("photo {id} was not uploaded; POST /photos first"),
            },
            CaseError::UploadForbidden(_) => Self::Forbidden(error.to_string()),
            CaseError::PhotoQuota {
                detail,
                retry_after,
            } => Self::QuotaExceeded {
                detail,
                retry_after,
            },
            CaseError::NotFound(id) => Self::NotFound(format!("case {id} does not exist")),
            CaseError::Refused(refusal) => Self::from(refusal),
            CaseError::Conflict(case) => Self::Conflict {
                detail: format!(
                    "case {} was changed by someone else first (now version {}, {}); nothing was applied",
                    case.id, case.version, case.state
                ),
                current: Some(super::cases::case_json(&case)),
            },
            CaseError::MergeConflict { reason, current } => Self::Conflict {
                detail: reason,
                current: Some(super::cases::case_json(&current)),
            },
            CaseError::Photo(error) => Self::from(error),
            CaseError::Unit(error) => Self::from(error),
            CaseError::UnstaffedUnit(_) => Self::Unprocessable {
                parameter: "unit".into(),
                detail: error.to_string(),
            },
            CaseError::NoGrid => Self::Unavailable(error.into()),
            CaseError::Store(error) => Self::from(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_parameter_problem_names_the_parameter_value_and_allowed_values() {
        let p = ApiError::invalid("limit", "abc", "an integer from 1", "not a number").problem();
        assert_eq!(p["status"], 400);
        assert_eq!(p["parameter"], "limit");
        assert_eq!(p["value"], "abc");
        assert!(p["detail"].as_str().unwrap().contains("limit"));
    }

    #[test]
    fn an_unauthorized_answer_asks_for_a_bearer_token() {
        let response = ApiError::Unauthorized("no token".into()).into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            r#"Bearer realm="citygrid""#
        );
    }

    #[test]
    fn too_many_requests_says_when_to_retry_in_whole_seconds_rounded_up() {
        let error = ApiError::TooManyRequests {
            retry_after: std::time::Duration::from_millis(61_200),
        };
        assert_eq!(error.problem()["retryAfter"], 62);
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "62");
    }

    /// A handler with a bug.
    fn bug() -> &'static str {
        panic!("a bug")
    }

    /// A router answering each kind of error the way a layer or extractor outside our
    /// handlers would, wrapped as the service's router is.
    fn plain_errors() -> axum::Router {
        use axum::routing::{get, post};
        axum::Router::new()
            .route(
                "/timeout",
                get(|| async { (StatusCode::REQUEST_TIMEOUT, "request timed out") }),
            )
            .route(
                "/limited",
                post(|_: bytes::Bytes| async { "read" })
                    .layer(axum::extract::DefaultBodyLimit::max(16)),
            )
            .route("/json", post(|_: axum::Json<Value>| async { "parsed" }))
            .route(
                "/query",
                get(
                    |_: axum::extract::Query<std::collections::HashMap<String, u32>>| async {
                        "parsed"
                    },
                ),
            )
            .route(
                "/form",
                post(|_: axum::Form<std::collections::HashMap<String, u32>>| async { "parsed" }),
            )
            .route(
                "/path/{n}",
                get(|_: axum::extract::Path<u32>| async { "parsed" }),
            )
            .route("/panic", get(|| async { bug() }))
            .route(
                "/unavailable",
                get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "pool /secret exhausted") }),
            )
            .layer(axum::middleware::map_response(problem_for_plain_errors))
            .layer(tower_http::catch_panic::CatchPanicLayer::custom(
                panic_problem,
            ))
    }

    #[tokio::test]
    async fn rejections_limits_timeouts_and_panics_answer_problems_with_their_status() {
        use tower::ServiceExt as _;
        let cases: [(&str, &str, &str, &str, u16); 9] = [
            ("GET", "/timeout", "", "", 408),
            (
                "POST",
                "/limited",
                "text/plain",
                "more than sixteen bytes of body",
                413,
            ),
            ("POST", "/json", "application/json", "{", 400),
            ("POST", "/json", "text/plain", "{}", 415),
            ("GET", "/query?n=abc", "", "", 400),
            (
                "POST",
                "/form",
                "application/x-www-form-urlencoded",
                "n=abc",
                422,
            ),
            ("GET", "/path/%FF", "", "", 400),
            ("GET", "/panic", "", "", 500),
            ("GET", "/unavailable", "", "", 503),
        ];
        for (method, uri, content_type, body, status) in cases {
            let mut request = axum::http::Request::builder().method(method).uri(uri);
            if !content_type.is_empty() {
                request = request.header(header::CONTENT_TYPE, content_type);
            }
            let response = plain_errors()
                .oneshot(request.body(axum::body::Body::from(body)).unwrap())
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), status, "{method} {uri}");
            assert_eq!(
                response.headers()[header::CONTENT_TYPE],
                "application/problem+json",
                "{method} {uri}"
            );
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .unwrap();
            let problem: Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(problem["status"], status, "{problem}");
            let detail = problem["detail"].as_str().unwrap();
            assert!(!detail.is_empty() && problem["title"].is_string());
            assert!(
                !detail.contains("secret"),
                "a 5xx says nothing internal: {detail}"
            );
        }
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_too_large_and_a_broken_off_body_is_a_bad_request() {
        let long = axum::body::Body::from(vec![b'x'; 100]);
        let error = axum::body::to_bytes(long, 10).await.unwrap_err();
        assert!(matches!(
            body_error(&error, 10),
            ApiError::PayloadTooLarge(10)
        ));
        let broken = axum::body::Body::from_stream(futures_util::stream::iter([
            Ok(bytes::Bytes::from_static(b"{\"a\":")),
            Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "stalled")),
        ]));
        let error = axum::body::to_bytes(broken, 10_000).await.unwrap_err();
        let problem = body_error(&error, 10_000).problem();
        assert_eq!(problem["status"], 400);
        assert_eq!(problem["parameter"], "body");
    }

    #[test]
    fn a_busy_pool_answers_503_with_retry_after_and_a_spent_budget_504() {
        let busy = ApiError::from(AnalysisError::Busy {
            workers: 2,
            queue: 8,
            retry_after: std::time::Duration::from_secs(5),
        });
        assert_eq!(busy.problem()["retryAfter"], 5);
        let response = busy.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "5");
        let spent = ApiError::from(AnalysisError::TimedOut(std::time::Duration::from_secs(5)));
        let detail = spent.problem()["detail"].as_str().unwrap().to_owned();
        assert!(detail.contains("budget of 5000 ms"), "{detail}");
        assert_eq!(spent.into_response().status(), StatusCode::GATEWAY_TIMEOUT);
    }

    #[test]
    fn the_table_gives_one_status_per_failure_wherever_it_arises() {
        use crate::model::case::{Action, CaseState};
        // A photo over the limit is 413 whether it arrives alone or inside a case report.
        let too_large = || PhotoError::TooLarge {
            bytes: 11,
            limit: 10,
        };
        assert_eq!(ApiError::from(too_large()).status(), 413);
        assert_eq!(ApiError::from(CaseError::Photo(too_large())).status(), 413);
        // The actor may not: 403; the case's state does not allow it: 409.
        let role = Refusal::Role {
            role: "viewer",
            action: Action::File,
            allowed: "dispatcher".into(),
        };
        assert_eq!(ApiError::from(CaseError::Refused(role)).status(), 403);
        let state = Refusal::State {
            state: CaseState::Reported,
            action: Action::Verify,
            possible: "file".into(),
        };
        assert_eq!(ApiError::from(CaseError::Refused(state)).status(), 409);
        // A client's mistake in a feature write is not a 500.
        let schema = ServiceError::Schema(crate::model::schema::SchemaError::NoProperties);
        assert_eq!(ApiError::from(schema).status(), 422);
        assert_eq!(
            ApiError::from(StoreError::DuplicateUser("wang".into())).status(),
            409
        );
    }

    #[test]
    fn an_internal_cause_is_kept_with_its_chain_for_the_log() {
        let io = std::io::Error::other("disk full");
        let error = ApiError::from(PhotoError::Io(io));
        assert_eq!(error.status(), 500);
        let text = chain(&error);
        assert!(text.contains("disk full"), "{text}");
        let response = error.into_response();
        assert!(response.extensions().get::<Failure>().is_some());
    }

    #[test]
    fn an_internal_problem_reveals_nothing() {
        let p = ApiError::internal("disk /secret/path failed").problem();
        assert!(!p.to_string().contains("secret"));
        assert_eq!(p["status"], 500);
    }
}
