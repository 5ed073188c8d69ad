//! The one mapping from failures to HTTP: RFC 7807 `application/problem+json` bodies.
//! A 4xx body says exactly what was wrong (parameter, value, what is allowed); a 5xx body says
//! nothing internal, and the detail goes to the log.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::service::ServiceError;
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
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
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
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
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
    fn an_internal_problem_reveals_nothing() {
        let p = ApiError::Internal("disk /secret/path failed".into()).problem();
        assert!(!p.to_string().contains("secret"));
        assert_eq!(p["status"], 500);
    }
}
