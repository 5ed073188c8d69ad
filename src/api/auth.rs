//! Logins and sessions over HTTP, and the extractors handlers use to know who asks ([`Actor`],
//! [`MaybeActor`], [`Remote`]), with the layer that hides the base layers from anonymous
//! clients when they are not public. The handlers and what they read:
//!
//! - `POST /auth/login` (`login`): a `LoginRequest` body (JSON, at most [`MAX_LOGIN_BYTES`]);
//! - `POST /auth/logout` (`logout`): the bearer token to revoke;
//! - `GET /auth/me` (`me`): the token's user;
//! - `GET /users` (`list_users`): an administrator (`Admin`);
//! - `GET /audit` (`list_audit`): an administrator and an `AuditParams` query.
//!
//! Tokens travel as `Authorization: Bearer <token>` (RFC 6750). A missing or invalid token is a
//! 401 problem with `WWW-Authenticate: Bearer`; a user whose role is not allowed gets a 403
//! problem naming the roles that are. Only `/audit` reads a query string; the other session
//! routes ignore one.

use std::net::SocketAddr;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{FromQuery, Query, QueryParams};
use super::openapi::{BadRequest, Forbidden, TooManyRequests, Unauthorized};
use super::{ApiError, AppState};
use crate::model::audit::{AuditRecord, DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT};
use crate::model::proxies;
use crate::model::{AuditQuery, Role, User};

/// Largest login body accepted, bytes.
pub const MAX_LOGIN_BYTES: usize = 16 * 1024;

/// The routes of this module.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(
            OpenApiRouter::new()
                .routes(routes!(login))
                .layer(DefaultBodyLimit::max(MAX_LOGIN_BYTES)),
        )
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(list_users))
        .routes(routes!(list_audit))
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

/// Proof that the request's user is an administrator (401 without a valid token, 403 for any
/// other role), checked before anything else of the request is read.
#[derive(Debug, Clone, Copy)]
struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let actor = Actor::from_request_parts(parts, state).await?;
        actor.require(&[Role::Admin])?;
        Ok(Self)
    }
}

/// A user as the API shows one (`model::User`; never with the password hash).
#[derive(ToSchema)]
#[schema(as = user)]
#[expect(dead_code, reason = "documents the JSON of model::User")]
pub(crate) struct UserDoc {
    /// The store's key.
    id: i64,
    /// The login name.
    username: String,
    /// The name shown to people, e.g. 王伟.
    display_name: String,
    /// What the user may do.
    role: RoleDoc,
    /// The unit (责任单位) a handler works for.
    #[schema(required = true)]
    unit: Option<String>,
    /// The grid cell codes assigned to the user (grid workers), sorted.
    cells: Vec<String>,
    /// A disabled user cannot log in and their tokens are refused.
    disabled: bool,
    /// When the user was added.
    created_at: DateTime<Utc>,
}

/// A role (`model::Role`).
#[derive(ToSchema)]
#[schema(as = role, rename_all = "snake_case")]
#[expect(dead_code, reason = "documents the JSON of model::Role")]
enum RoleDoc {
    Admin,
    Dispatcher,
    Supervisor,
    Handler,
    Worker,
    Analyst,
    Viewer,
}

/// A record of the audit trail (`model::audit::AuditRecord`).
#[derive(ToSchema)]
#[schema(as = auditRecord)]
#[expect(dead_code, reason = "documents the JSON of model::audit::AuditRecord")]
struct AuditRecordDoc {
    /// Position in the trail (increasing).
    id: i64,
    /// When it was appended.
    at: DateTime<Utc>,
    /// The user name of who acted; null for the command line and anonymous requests.
    #[schema(required = true)]
    actor: Option<String>,
    /// What was done, dotted, e.g. `auth.login`.
    action: String,
    /// The object acted on, e.g. a user name or a case id.
    target: String,
    /// Details of the action (never a password or a token).
    #[schema(value_type = Object)]
    detail: Value,
    /// Where the request came from: the client's IP address, or `cli`.
    #[schema(required = true)]
    remote: Option<String>,
}

/// The body of `POST /auth/login`: a JSON object with the user name and password as strings
/// (other members are ignored). It is read member by member so that each problem names its
/// member, and the password's value is never echoed.
#[derive(ToSchema)]
pub(crate) struct LoginRequest {
    /// The login name.
    username: String,
    /// The password.
    #[schema(format = Password)]
    password: String,
}

impl LoginRequest {
    /// Reads the body's JSON, with the problems of a malformed login.
    fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let allowed = r#"a JSON object {"username": "…", "password": "…"}"#;
        let body: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::invalid("body", "", allowed, format!("not JSON: {e}")))?;
        if !body.is_object() {
            return Err(ApiError::invalid("body", "", allowed, "not a JSON object"));
        }
        Ok(Self {
            username: string_member(&body, "username", false)?.to_owned(),
            password: string_member(&body, "password", true)?.to_owned(),
        })
    }
}

impl<S: Send + Sync> FromRequest<S> for LoginRequest {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        // The body limit's 413 and other read failures answer as they always did.
        let body = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Self::parse(&body).map_err(IntoResponse::into_response)
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

/// How a token is used: always `Bearer`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
enum TokenType {
    /// RFC 6750.
    Bearer,
}

/// A new session: the token, its expiry and the user.
#[derive(Serialize, ToSchema)]
struct LoginAnswer {
    /// The bearer token, shown once.
    token: String,
    /// How to send it.
    token_type: TokenType,
    /// When the token stops being valid.
    expires_at: DateTime<Utc>,
    /// Seconds until then.
    expires_in: i64,
    /// Who logged in.
    #[schema(value_type = UserDoc)]
    user: User,
}

/// Log in with a user name and password: a bearer token.
#[utoipa::path(post, path = "/auth/login", operation_id = "login", tag = "Sessions",
    request_body(content = LoginRequest, content_type = "application/json",
        example = json!({ "username": "wang.wei", "password": "correct horse battery staple" })), security(()),
    responses(
        (status = 200, description = "The token, its expiry and the user", body = LoginAnswer),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 429, response = TooManyRequests)))]
async fn login(
    State(state): State<AppState>,
    Remote(remote): Remote,
    request: LoginRequest,
) -> Result<Response, ApiError> {
    let session = state
        .auth
        .login(&request.username, &request.password, remote.as_deref())
        .await?;
    let answer = LoginAnswer {
        expires_in: (session.expires_at - state.auth.now()).num_seconds().max(0),
        token: session.token,
        token_type: TokenType::Bearer,
        expires_at: session.expires_at,
        user: session.user,
    };
    let mut response = Json(answer).into_response();
    // RFC 6749 §5.1: responses carrying a token are not cached.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Revoke the request's token.
#[utoipa::path(post, path = "/auth/logout", operation_id = "logout", tag = "Sessions",
    security(("bearerAuth" = [])),
    responses((status = 204, description = "The token is revoked"),
        (status = 401, response = Unauthorized)))]
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

/// The user of the token.
#[utoipa::path(get, path = "/auth/me", operation_id = "getMe", tag = "Sessions",
    security(("bearerAuth" = [])),
    responses((status = 200, description = "The user", body = UserDoc),
        (status = 401, response = Unauthorized)))]
async fn me(Actor(user): Actor) -> Json<User> {
    Json(user)
}

/// The users.
#[derive(Serialize, ToSchema)]
struct UserList {
    /// Every user.
    #[schema(value_type = Vec<UserDoc>)]
    users: Vec<User>,
    /// How many.
    #[serde(rename = "numberReturned")]
    number_returned: usize,
}

/// Every user (administrators).
#[utoipa::path(get, path = "/users", operation_id = "getUsers", tag = "Sessions",
    security(("bearerAuth" = [])),
    responses((status = 200, description = "The users", body = UserList),
        (status = 401, response = Unauthorized), (status = 403, response = Forbidden)))]
async fn list_users(
    State(state): State<AppState>,
    Admin: Admin,
) -> Result<Json<UserList>, ApiError> {
    let users = state.auth.list_users().await?;
    Ok(Json(UserList {
        number_returned: users.len(),
        users,
    }))
}

/// The query of `GET /audit`: which records, newest first.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
struct AuditParams {
    /// Only records by this user name
    #[param(value_type = Option<String>)]
    actor: Option<String>,
    /// Only actions starting with this, e.g. `auth.` or `user.add`
    #[param(rename = "action", value_type = Option<String>)]
    action_prefix: Option<String>,
    /// Only records about this object
    #[param(value_type = Option<String>)]
    target: Option<String>,
    /// Only records at or after this instant (RFC 3339)
    #[param(value_type = Option<String>, format = DateTime)]
    from: Option<DateTime<Utc>>,
    /// Only records before this instant (RFC 3339)
    #[param(value_type = Option<String>, format = DateTime)]
    to: Option<DateTime<Utc>>,
    /// How many records at most
    #[param(required = false, minimum = 1, maximum = 1000, default = 100)]
    limit: u32,
}

impl FromQuery for AuditParams {
    fn from_query(query: &mut QueryParams) -> Result<Self, ApiError> {
        let limit = query.parse_with("limit", |raw| {
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
        })?;
        let mut text = |name: &str| query.get(name).map(str::to_owned);
        let (actor, action_prefix, target) = (text("actor"), text("action"), text("target"));
        Ok(Self {
            actor,
            action_prefix,
            target,
            from: query.parse_with("from", |raw| time("from", raw))?,
            to: query.parse_with("to", |raw| time("to", raw))?,
            limit: limit.unwrap_or(DEFAULT_AUDIT_LIMIT),
        })
    }
}

impl From<AuditParams> for AuditQuery {
    fn from(params: AuditParams) -> Self {
        Self {
            actor: params.actor,
            action_prefix: params.action_prefix,
            target: params.target,
            from: params.from,
            to: params.to,
            limit: params.limit,
        }
    }
}

/// An RFC 3339 instant, the value of `name`.
fn time(name: &str, raw: &str) -> Result<DateTime<Utc>, ApiError> {
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
}

/// Audit records.
#[derive(Serialize, ToSchema)]
struct AuditList {
    /// The records, newest first.
    #[schema(value_type = Vec<AuditRecordDoc>)]
    records: Vec<AuditRecord>,
    /// How many.
    #[serde(rename = "numberReturned")]
    number_returned: usize,
}

/// The audit trail, newest first (administrators); `action` matches a prefix (`auth.` finds
/// every login and logout).
#[utoipa::path(get, path = "/audit", operation_id = "getAudit", tag = "Sessions",
    params(AuditParams), security(("bearerAuth" = [])),
    responses((status = 200, description = "Audit records", body = AuditList),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden)))]
async fn list_audit(
    State(state): State<AppState>,
    Admin: Admin,
    Query(params): Query<AuditParams>,
) -> Result<Json<AuditList>, ApiError> {
    let records = state.auth.audit(&AuditQuery::from(params)).await?;
    Ok(Json(AuditList {
        number_returned: records.len(),
        records,
    }))
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

    #[test]
    fn the_generated_document_has_every_session_route_with_its_operation_id() {
        let paths = &crate::api::generated_document()["paths"];
        for (path, method, operation_id) in [
            ("/auth/login", "post", "login"),
            ("/auth/logout", "post", "logout"),
            ("/auth/me", "get", "getMe"),
            ("/users", "get", "getUsers"),
            ("/audit", "get", "getAudit"),
        ] {
            let operation = &paths[path][method];
            assert_eq!(operation["operationId"], operation_id, "{method} {path}");
            assert_eq!(operation["tags"][0], "Sessions", "{method} {path}");
        }
        let limit = paths["/audit"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "limit")
            .unwrap();
        assert_eq!(limit["schema"]["maximum"], MAX_AUDIT_LIMIT);
        assert_eq!(limit["schema"]["default"], DEFAULT_AUDIT_LIMIT);
    }
}
