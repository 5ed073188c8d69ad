//! Logins and sessions over HTTP: `POST /auth/login`, `POST /auth/logout`, `GET /auth/me`, the
//! administrators' `GET /users` and `GET /audit`; the extractors handlers use to know who asks
//! ([`Actor`], [`MaybeActor`], [`Remote`]); and the layer that hides the base layers from
//! anonymous clients when they are not public.
//!
//! Tokens travel as `Authorization: Bearer <token>` (RFC 6750). A missing or invalid token is a
//! 401 problem with `WWW-Authenticate: Bearer`; a user whose role is not allowed gets a 403
//! problem naming the roles that are.

use std::net::SocketAddr;
use utoipa_axum::router::OpenApiRouter;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, RawQuery, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{ApiError, AppState, param, query_pairs};
use crate::model::audit::{DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT};
use crate::model::proxies;
use crate::model::{AuditQuery, Role, User};

/// Largest login body accepted, bytes.
pub const MAX_LOGIN_BYTES: usize = 16 * 1024;

/// The routes of this module.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .route(
            "/auth/login",
            post(login).layer(DefaultBodyLimit::max(MAX_LOGIN_BYTES)),
        )
        .route("/auth/logout", post(logout))
        .route("/auth/me", get(me))
        .route("/users", get(list_users))
        .route("/audit", get(list_audit))
}

/// The client's IP address, when the server knows it (it does when serving a socket; requests
/// driven through the router in tests have none). `Forwarded` (preferred) or `X-Forwarded-For`
/// is read only when the peer is one of the trusted proxies (`CITYGRID_TRUSTED_PROXIES`); the
/// client is then the rightmost address that is not a trusted proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote(pub Option<String>);

impl FromRequestParts<AppState> for Remote {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
            return Ok(Self(None));
        };
        let proxies = &state.auth.settings().trusted_proxies;
        if !proxies.trusts(peer.ip()) {
            return Ok(Self(Some(peer.ip().to_canonical().to_string())));
        }
        let values = |name: header::HeaderName| {
            parts
                .headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect::<Vec<_>>()
        };
        let forwarded = values(header::FORWARDED);
        let hops = if forwarded.is_empty() {
            proxies::x_forwarded_for(values(header::HeaderName::from_static("x-forwarded-for")))
        } else {
            proxies::forwarded_for(forwarded)
        };
        Ok(Self(Some(
            proxies.client_address(peer.ip(), &hops).to_string(),
        )))
    }
}

/// The user of a request, once authenticated (kept for the rest of the request only).
#[derive(Debug, Clone)]
struct Authenticated(User);

/// The bearer token of a request: `None` without an `Authorization` header, a 401 when the
/// header is not `Bearer <token>`.
fn bearer(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed =
        || ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into());
    let value = value.to_str().map_err(|_| malformed())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(malformed)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(malformed());
    }
    Ok(Some(token))
}

async fn authenticate(parts: &mut Parts, state: &AppState, token: &str) -> Result<User, ApiError> {
    let user = state.auth.authenticate(token).await?;
    parts.extensions.insert(Authenticated(user.clone()));
    Ok(user)
}

/// The authenticated user of a request: a valid bearer token is required; without one the
/// request is answered 401 with `WWW-Authenticate: Bearer`.
#[derive(Debug, Clone)]
pub struct Actor(pub User);

impl Actor {
    /// Refuses (403, naming the roles allowed) unless the user has one of `roles`. No role is
    /// implied: list `Role::Admin` where administrators may act too.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.0.role) {
            return Ok(());
        }
        let allowed: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        Err(ApiError::Forbidden(format!(
            "this needs the role {}; user {} is {} ({})",
            allowed.join(" or "),
            self.0.username,
            self.0.role,
            self.0.role.label_zh()
        )))
    }
}

impl FromRequestParts<AppState> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(Authenticated(user)) = parts.extensions.get::<Authenticated>() {
            return Ok(Self(user.clone()));
        }
        let token = bearer(&parts.headers)?
            .ok_or_else(|| {
                ApiError::Unauthorized(
                    "this needs a bearer token (Authorization: Bearer <token>); POST /auth/login gives one"
                        .into(),
                )
            })?
            .to_owned();
        authenticate(parts, state, &token).await.map(Self)
    }
}

/// The user of a request if it carries a token, `None` if it carries none; a token that is
/// not valid is refused (401) rather than taken as anonymous.
#[derive(Debug, Clone)]
pub struct MaybeActor(pub Option<User>);

impl FromRequestParts<AppState> for MaybeActor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(Authenticated(user)) = parts.extensions.get::<Authenticated>() {
            return Ok(Self(Some(user.clone())));
        }
        match bearer(&parts.headers)?.map(str::to_owned) {
            Some(token) => authenticate(parts, state, &token).await.map(Some).map(Self),
            None => Ok(Self(None)),
        }
    }
}

/// Layer over the base layers' read routes: when they are not public
/// (`CITYGRID_PUBLIC_LAYERS=false`), a valid token is required.
pub(crate) async fn require_token_unless_public(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if state.public_layers {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    match Actor::from_request_parts(&mut parts, &state).await {
        Ok(_) => next.run(Request::from_parts(parts, body)).await,
        Err(refusal) => refusal.into_response(),
    }
}

/// A string member of the login body.
fn string_member<'a>(body: &'a Value, name: &str, secret: bool) -> Result<&'a str, ApiError> {
    match body.get(name) {
        Some(Value::String(s)) => Ok(s),
        None | Some(Value::Null) => Err(ApiError::invalid(name, "", "a string", "missing")),
        Some(other) => Err(ApiError::invalid(
            name,
            &if secret {
                String::new()
            } else {
                other.to_string()
            },
            "a string",
            "not a string",
        )),
    }
}

/// `POST /auth/login` with `{"username": …, "password": …}`: a bearer token.
async fn login(
    State(state): State<AppState>,
    Remote(remote): Remote,
    body: Bytes,
) -> Result<Response, ApiError> {
    let allowed = r#"a JSON object {"username": "…", "password": "…"}"#;
    let body: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid("body", "", allowed, format!("not JSON: {e}")))?;
    if !body.is_object() {
        return Err(ApiError::invalid("body", "", allowed, "not a JSON object"));
    }
    let username = string_member(&body, "username", false)?;
    let password = string_member(&body, "password", true)?;
    let session = state
        .auth
        .login(username, password, remote.as_deref())
        .await?;
    let expires_in = (session.expires_at - state.auth.now()).num_seconds().max(0);
    let mut response = Json(json!({
        "token": session.token,
        "token_type": "Bearer",
        "expires_at": session.expires_at,
        "expires_in": expires_in,
        "user": session.user,
    }))
    .into_response();
    // RFC 6749 §5.1: responses carrying a token are not cached.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `POST /auth/logout`: revokes the request's token.
async fn logout(
    State(state): State<AppState>,
    Remote(remote): Remote,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let token = bearer(&headers)?.ok_or_else(|| {
        ApiError::Unauthorized(
            "log out with the token to revoke: Authorization: Bearer <token>".into(),
        )
    })?;
    state.auth.logout(token, remote.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /auth/me`: the user of the token.
async fn me(Actor(user): Actor) -> Json<User> {
    Json(user)
}

/// `GET /users` (administrators): every user.
async fn list_users(State(state): State<AppState>, actor: Actor) -> Result<Json<Value>, ApiError> {
    actor.require(&[Role::Admin])?;
    let users = state.auth.list_users().await?;
    Ok(Json(
        json!({ "users": users, "numberReturned": users.len() }),
    ))
}

fn time_param(pairs: &[(String, String)], name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    param(pairs, name)
        .map(|raw| {
            DateTime::parse_from_rfc3339(raw)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| {
                    ApiError::invalid(
                        name,
                        raw,
                        "an RFC 3339 date-time, e.g. 2026-03-02T09:00:00+08:00",
                        e.to_string(),
                    )
                })
        })
        .transpose()
}

/// The query parameters of `GET /audit`.
const AUDIT_PARAMETERS: [&str; 6] = ["actor", "action", "target", "from", "to", "limit"];

/// `GET /audit?actor=&action=&target=&from=&to=&limit=` (administrators): audit records,
/// newest first; `action` matches a prefix (`auth.` finds every login and logout).
async fn list_audit(
    State(state): State<AppState>,
    actor: Actor,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    actor.require(&[Role::Admin])?;
    let pairs = query_pairs(raw.as_deref())?;
    if let Some((name, _)) = pairs
        .iter()
        .find(|(n, _)| !AUDIT_PARAMETERS.contains(&n.as_str()))
    {
        return Err(ApiError::UnknownParameter {
            parameter: name.clone(),
            allowed: AUDIT_PARAMETERS.iter().map(|p| (*p).to_owned()).collect(),
        });
    }
    let limit = param(&pairs, "limit")
        .map(|raw| {
            raw.parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_AUDIT_LIMIT).contains(n))
                .ok_or_else(|| {
                    ApiError::invalid(
                        "limit",
                        raw,
                        format!("an integer from 1 to {MAX_AUDIT_LIMIT}"),
                        "out of range or not an integer",
                    )
                })
        })
        .transpose()?
        .unwrap_or(DEFAULT_AUDIT_LIMIT);
    let text = |name: &str| param(&pairs, name).map(str::to_owned);
    let query = AuditQuery {
        actor: text("actor"),
        action_prefix: text("action"),
        target: text("target"),
        from: time_param(&pairs, "from")?,
        to: time_param(&pairs, "to")?,
        limit,
    };
    let records = state.auth.audit(&query).await?;
    Ok(Json(
        json!({ "records": records, "numberReturned": records.len() }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn a_bearer_token_is_read_from_the_authorization_header() {
        assert_eq!(bearer(&headers("Bearer cg_abc")).unwrap(), Some("cg_abc"));
        assert_eq!(bearer(&headers("bearer  cg_abc ")).unwrap(), Some("cg_abc"));
        assert_eq!(bearer(&HeaderMap::new()).unwrap(), None);
    }

    #[test]
    fn other_authorization_schemes_are_refused() {
        for value in ["Basic d2FuZzpwdw==", "Bearer", "Bearer ", "cg_abc"] {
            let err = bearer(&headers(value)).unwrap_err();
            assert!(matches!(err, ApiError::Unauthorized(_)), "{value}: {err}");
        }
    }

    #[test]
    fn a_wrong_role_is_forbidden_naming_the_roles_allowed() {
        let actor = Actor(User {
            id: 1,
            username: crate::model::Username::parse("wang").unwrap(),
            display_name: "王伟".into(),
            role: Role::Worker,
            unit: None,
            cells: vec![],
            disabled: false,
            created_at: DateTime::UNIX_EPOCH,
        });
        assert!(actor.require(&[Role::Worker, Role::Admin]).is_ok());
        let err = actor
            .require(&[Role::Dispatcher, Role::Supervisor])
            .unwrap_err();
        let detail = err.problem()["detail"].as_str().unwrap().to_owned();
        assert!(detail.contains("dispatcher or supervisor"), "{detail}");
        assert_eq!(err.problem()["status"], 403);
    }
}
