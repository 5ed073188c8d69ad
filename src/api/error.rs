//! The one mapping from failures to HTTP: RFC 7807 `application/problem+json` bodies.
//! A 4xx body says exactly what was wrong (parameter, value, what is allowed); a 5xx body says
//! nothing internal, and the detail goes to the log.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::service::ServiceError;
use crate::service::analysis::AnalysisError;
use crate::service::auth::{AuthError, MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS};
use crate::store::StoreError;

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
    /// The store cannot be reached (readiness).
    #[error("not ready: {0}")]
    Unavailable(String),
    /// Anything unexpected; the detail is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
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

    fn status(&self) -> StatusCode {
        match self {
            Self::InvalidParameter { .. } | Self::UnknownParameter { .. } => {
                StatusCode::BAD_REQUEST
            }
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
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
        ApiError::TooManyRequests { retry_after } | ApiError::Busy { retry_after, .. } => {
            retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0)
        }
        _ => 0,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            Self::Internal(detail) | Self::Unavailable(detail) => {
                tracing::error!(error = %detail, "request failed");
            }
            _ => tracing::debug!(error = %self, "request refused"),
        }
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
            Self::TooManyRequests { .. } | Self::Busy { .. } => {
                headers.insert(header::RETRY_AFTER, retry_after_secs(&self).into());
            }
            _ => {}
        }
        response
    }
}

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
            AuthError::Hashing(detail) => Self::Internal(detail),
            AuthError::Store(error) => Self::Internal(error.to_string()),
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
            AnalysisError::Failed(detail) => Self::Internal(detail),
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
            ServiceError::Store(StoreError::Database(e)) => Self::Internal(e.to_string()),
            other => Self::Internal(other.to_string()),
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
    fn an_internal_problem_reveals_nothing() {
        let p = ApiError::Internal("disk /secret/path failed".into()).problem();
        assert!(!p.to_string().contains("secret"));
        assert_eq!(p["status"], 500);
    }
}
