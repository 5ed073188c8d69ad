//! Users and sessions over HTTP: login, bearer tokens, logout, expiry, throttling, the
//! administrators' routes, the audit trail, the base layers' public setting, and the
//! `citygrid user` command against a running server.

use std::net::SocketAddr;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use chrono::{DateTime, Utc};
use citygrid::api::{AppState, router};
use citygrid::model::proxies::TrustedProxies;
use citygrid::model::{NewUser, Role, Username};
use citygrid::service::Catalog;
use citygrid::service::auth::throttle::ThrottlePolicy;
use citygrid::service::auth::{AuthService, AuthSettings, ManualClock, Origin};
use citygrid::store::{SqliteStore, Store};
use serde_json::{Value, json};

use crate::support::{BASE, Reply, Server, assert_problem, http, http_get, send_to};

const PASSWORD: &str = "correct horse";

struct Fixture {
    runtime: tokio::runtime::Runtime,
    router: Router,
    clock: Arc<ManualClock>,
    auth: Arc<AuthService>,
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-02T01:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// An empty district with an administrator `chen` and a grid worker `wang`, a hand-moved clock,
/// and the base layers public or not.
fn fixture(public_layers: bool) -> Fixture {
    fixture_with(
        public_layers,
        AuthSettings {
            // Streams notice an ended session quickly.
            session_check: Duration::from_millis(20),
            ..AuthSettings::default()
        },
    )
}

/// [`fixture`] with these settings.
fn fixture_with(public_layers: bool, settings: AuthSettings) -> Fixture {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let clock = Arc::new(ManualClock::new(t0()));
    let (router, auth) = runtime.block_on(async {
        let store = Arc::new(SqliteStore::open("sqlite::memory:").await.unwrap());
        let catalog = Arc::new(
            Catalog::load(Arc::clone(&store) as Arc<dyn Store>)
                .await
                .unwrap(),
        );
        let auth = Arc::new(AuthService::with_clock(
            store,
            settings,
            Arc::clone(&clock) as _,
        ));
        for (name, role, cells) in [
            ("chen", Role::Admin, vec![]),
            ("wang", Role::Worker, vec!["410104001001001".to_owned()]),
        ] {
            let user = NewUser {
                username: Username::parse(name).unwrap(),
                display_name: format!("{name} 测试"),
                role,
                unit: None,
                cells,
            };
            auth.add_user(&Origin::command_line(), user, PASSWORD, &|_| true)
                .await
                .unwrap();
        }
        let router = router(
            AppState::new(catalog, BASE)
                .with_auth(Arc::clone(&auth))
                .with_public_layers(public_layers),
        );
        (router, auth)
    });
    Fixture {
        runtime,
        router,
        clock,
        auth,
    }
}

impl Fixture {
    fn send(&self, request: Request<Body>) -> Reply {
        send_to(&self.runtime, &self.router, request)
    }

    fn get(&self, uri: &str, token: Option<&str>) -> Reply {
        let mut request = Request::get(uri);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        self.send(request.body(Body::empty()).unwrap())
    }

    fn post(&self, uri: &str, token: Option<&str>, body: &str) -> Reply {
        let mut request = Request::post(uri).header("content-type", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        self.send(request.body(Body::from(body.to_owned())).unwrap())
    }

    fn login(&self, username: &str, password: &str) -> Reply {
        self.post(
            "/auth/login",
            None,
            &json!({ "username": username, "password": password }).to_string(),
        )
    }

    fn token(&self, username: &str) -> String {
        let reply = self.login(username, PASSWORD);
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply.json()["token"].as_str().unwrap().to_owned()
    }
}

fn assert_asks_for_a_token(reply: &Reply) {
    assert_problem(reply, 401, None);
    assert!(
        reply.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer"),
        "{:?}",
        reply.headers
    );
}

#[test]
fn a_login_gives_a_bearer_token_that_names_the_user_at_auth_me() {
    let f = fixture(true);
    let reply = f.login("wang", PASSWORD);
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.headers["cache-control"], "no-store");
    let body = reply.json();
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["token"].as_str().unwrap().starts_with("cg_"));
    assert_eq!(body["expires_at"], "2026-03-02T13:00:00Z");
    assert_eq!(body["expires_in"], 12 * 3600);
    assert_eq!(body["user"]["username"], "wang");
    assert!(
        body["user"].get("password_hash").is_none(),
        "no hash leaves the server"
    );
    let me = f.get("/auth/me", body["token"].as_str());
    assert_eq!(me.status, 200, "{}", me.text());
    let me = me.json();
    assert_eq!(me["username"], "wang");
    assert_eq!(me["role"], "worker");
    assert_eq!(me["cells"], json!(["410104001001001"]));
    assert_eq!(me["display_name"], "wang 测试");
}

#[test]
fn a_wrong_password_and_an_unknown_user_get_the_same_401() {
    let f = fixture(true);
    let wrong = f.login("wang", "not the password");
    let unknown = f.login("nobody", PASSWORD);
    assert_asks_for_a_token(&wrong);
    assert_asks_for_a_token(&unknown);
    assert_eq!(
        wrong.json(),
        unknown.json(),
        "the answer does not tell which names exist"
    );
}

#[test]
fn a_malformed_login_is_a_400_naming_the_field_without_echoing_the_password() {
    let f = fixture(true);
    let missing = f.post("/auth/login", None, r#"{"username": "wang"}"#);
    assert_problem(&missing, 400, Some("password"));
    let number = f.post("/auth/login", None, r#"{"username": 7, "password": "x"}"#);
    assert_problem(&number, 400, Some("username"));
    let secret = f.post(
        "/auth/login",
        None,
        r#"{"username": "wang", "password": ["hunter2-secret"]}"#,
    );
    assert_problem(&secret, 400, Some("password"));
    assert!(!secret.text().contains("hunter2"), "{}", secret.text());
    assert_problem(
        &f.post("/auth/login", None, "username=wang"),
        400,
        Some("body"),
    );
    assert_problem(&f.post("/auth/login", None, "[1]"), 400, Some("body"));
}

#[test]
fn ten_failed_logins_from_one_address_lock_it_out_of_the_user_with_429_and_retry_after() {
    let f = fixture(true);
    for _ in 0..10 {
        assert_eq!(f.login("wang", "not the password").status, 401);
    }
    let slept: Vec<u64> = f.clock.slept().iter().map(Duration::as_secs).collect();
    assert_eq!(
        slept,
        [1, 2, 4, 8, 16],
        "the sixth to tenth attempts were slowed"
    );
    let locked = f.login("wang", PASSWORD);
    assert_problem(&locked, 429, None);
    // Locked for 15 minutes from the tenth failure, which then waited 16 s before answering.
    assert_eq!(locked.headers["retry-after"], "884");
    assert_eq!(locked.json()["retryAfter"], 884);
    assert_eq!(
        f.login("chen", PASSWORD).status,
        200,
        "other users are not locked out"
    );
    f.clock.advance(Duration::from_secs(900));
    assert_eq!(f.login("wang", PASSWORD).status, 200, "the lockout ends");
}

#[test]
fn a_client_address_that_fails_ten_times_is_locked_out_for_every_name() {
    let f = fixture(true);
    let from = |body: String| {
        let mut request = Request::post("/auth/login")
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([192, 0, 2, 7], 50_000))));
        f.send(request)
    };
    for i in 0..10 {
        let reply = from(json!({ "username": format!("guess{i}"), "password": "x" }).to_string());
        assert_eq!(reply.status, 401);
    }
    let reply = from(json!({ "username": "wang", "password": PASSWORD }).to_string());
    assert_problem(&reply, 429, None);
    assert_eq!(
        f.login("wang", PASSWORD).status,
        200,
        "from elsewhere it works"
    );
}

#[test]
fn logging_out_revokes_the_token_at_once() {
    let f = fixture(true);
    let token = f.token("wang");
    let other = f.token("wang");
    let reply = f.post("/auth/logout", Some(&token), "");
    assert_eq!(reply.status, 204, "{}", reply.text());
    assert_asks_for_a_token(&f.get("/auth/me", Some(&token)));
    assert_asks_for_a_token(&f.post("/auth/logout", Some(&token), ""));
    assert_eq!(
        f.get("/auth/me", Some(&other)).status,
        200,
        "other sessions of the user live on"
    );
    assert_asks_for_a_token(&f.post("/auth/logout", None, ""));
}

#[test]
fn an_expired_token_is_refused() {
    let f = fixture(true);
    let token = f.token("wang");
    f.clock.advance(Duration::from_secs(12 * 3600 - 1));
    assert_eq!(f.get("/auth/me", Some(&token)).status, 200);
    f.clock.advance(Duration::from_secs(1));
    assert_asks_for_a_token(&f.get("/auth/me", Some(&token)));
}

#[test]
fn missing_malformed_and_forged_tokens_are_refused() {
    let f = fixture(true);
    assert_asks_for_a_token(&f.get("/auth/me", None));
    assert_asks_for_a_token(&f.get("/auth/me", Some("cg_forged")));
    let forged = format!("cg_{}", "A".repeat(43));
    assert_asks_for_a_token(&f.get("/auth/me", Some(&forged)));
    let basic = f.send(
        Request::get("/auth/me")
            .header("authorization", "Basic d2FuZzpwYXNz")
            .body(Body::empty())
            .unwrap(),
    );
    assert_asks_for_a_token(&basic);
}

#[test]
fn the_user_list_is_for_administrators_only() {
    let f = fixture(true);
    assert_asks_for_a_token(&f.get("/users", None));
    let worker = f.get("/users", Some(&f.token("wang")));
    assert_problem(&worker, 403, None);
    let detail = worker.json()["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("admin"), "{detail}");
    let admin = f.get("/users", Some(&f.token("chen")));
    assert_eq!(admin.status, 200, "{}", admin.text());
    let names: Vec<String> = admin.json()["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["chen", "wang"]);
}

#[test]
fn the_audit_trail_records_logins_and_is_for_administrators_only() {
    let f = fixture(true);
    let wang = f.token("wang");
    assert_eq!(f.login("wang", "not the password").status, 401);
    let mut request = Request::post("/auth/logout")
        .header("authorization", format!("Bearer {wang}"))
        .body(Body::empty())
        .unwrap();
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([198, 51, 100, 4], 40_000))));
    assert_eq!(f.send(request).status, 204);

    assert_problem(&f.get("/audit", Some(&f.token("wang"))), 403, None);
    assert_asks_for_a_token(&f.get("/audit", None));
    let admin = f.token("chen");
    let reply = f.get("/audit?actor=wang&action=auth.&limit=10", Some(&admin));
    assert_eq!(reply.status, 200, "{}", reply.text());
    let records = reply.json()["records"].as_array().unwrap().clone();
    let actions: Vec<&str> = records
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["auth.login", "auth.logout", "auth.login"]);
    let logout = &records[1];
    assert_eq!(logout["remote"], "198.51.100.4");
    assert_eq!(logout["target"], "wang");
    let failed = f
        .get("/audit?action=auth.login_failed", Some(&admin))
        .json();
    assert_eq!(failed["numberReturned"], 1);
    assert_eq!(failed["records"][0]["actor"], Value::Null);
    let added = f.get("/audit?action=user.add", Some(&admin)).json();
    assert_eq!(added["numberReturned"], 2);
    assert_eq!(added["records"][0]["remote"], "cli");
    let limited = f.get("/audit?limit=1", Some(&admin)).json();
    assert_eq!(limited["numberReturned"], 1);
}

#[test]
fn bad_audit_parameters_are_named() {
    let f = fixture(true);
    let admin = f.token("chen");
    assert_problem(&f.get("/audit?limit=0", Some(&admin)), 400, Some("limit"));
    assert_problem(
        &f.get("/audit?limit=5000", Some(&admin)),
        400,
        Some("limit"),
    );
    assert_problem(
        &f.get("/audit?from=yesterday", Some(&admin)),
        400,
        Some("from"),
    );
    assert_problem(&f.get("/audit?user=wang", Some(&admin)), 400, Some("user"));
    let reply = f.get("/audit?from=2000-01-01T00:00:00%2B08:00", Some(&admin));
    assert_eq!(reply.status, 200, "{}", reply.text());
}

#[test]
fn public_base_layers_are_readable_without_a_token() {
    let f = fixture(true);
    assert_eq!(f.get("/collections", None).status, 200);
    assert_eq!(f.get("/collections/grid_cells/items", None).status, 200);
    assert_eq!(f.get("/tileMatrixSets", None).status, 200);
}

#[test]
fn private_base_layers_need_a_token_but_the_service_description_does_not() {
    let f = fixture(false);
    for path in [
        "/collections",
        "/collections/grid_cells",
        "/collections/grid_cells/items",
        "/collections/grid_cells/queryables",
        "/grid/locate?lon=113.68&lat=34.75",
        "/tileMatrixSets",
        "/tiles/WebMercatorQuad",
    ] {
        assert_asks_for_a_token(&f.get(path, None));
    }
    assert_asks_for_a_token(&f.post("/search", None, "{}"));
    assert_asks_for_a_token(&f.get("/collections", Some("cg_forged")));
    for path in ["/", "/conformance", "/api", "/health", "/ready", "/map/"] {
        let reply = f.get(path, None);
        assert_eq!(reply.status, 200, "{path}: {}", reply.text());
    }
    let token = f.token("wang");
    let reply = f.get("/collections", Some(&token));
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        f.get("/collections/grid_cells/items", Some(&token)).status,
        200
    );
}

#[test]
fn the_api_document_describes_sessions_and_says_where_a_token_is_needed() {
    let public = fixture(true).get("/api", None).json();
    for (path, method) in [
        ("/auth/login", "post"),
        ("/auth/logout", "post"),
        ("/auth/me", "get"),
        ("/users", "get"),
        ("/audit", "get"),
    ] {
        assert!(
            public["paths"][path][method].is_object(),
            "{path} {method} missing"
        );
    }
    assert_eq!(
        public["components"]["securitySchemes"]["bearerAuth"]["scheme"],
        "bearer"
    );
    assert_eq!(
        public["paths"]["/users"]["get"]["security"],
        json!([{ "bearerAuth": [] }])
    );
    assert!(public.get("security").is_none(), "the layers are public");
    let private = fixture(false).get("/api", None).json();
    assert_eq!(private["security"], json!([{ "bearerAuth": [] }]));
    assert_eq!(private["paths"]["/"]["get"]["security"], json!([]));
    assert_eq!(
        private["paths"]["/auth/login"]["post"]["security"],
        json!([])
    );
}

/// Runs `citygrid user …` against `database`, with `stdin` as its standard input.
fn citygrid_user(database: &str, args: &[&str], stdin: &str) -> std::process::Output {
    let args: Vec<&str> = ["user"]
        .into_iter()
        .chain(args.iter().copied())
        .chain(["--database-url", database])
        .collect();
    crate::support::run_citygrid(&args, stdin)
}

fn login_over_http(base: &str, username: &str, password: &str) -> (u16, Value) {
    let (status, body) = http(
        &format!("{base}/auth/login"),
        "POST",
        &[("Content-Type", "application/json")],
        &json!({ "username": username, "password": password }).to_string(),
    )
    .unwrap();
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// `GET path` on the server with a bearer token.
fn get_with_token(base: &str, path: &str, token: &str) -> (u16, String) {
    let bearer = format!("Bearer {token}");
    http(
        &format!("{base}{path}"),
        "GET",
        &[("Authorization", &bearer)],
        "",
    )
    .unwrap()
}

/// The line of `username` in `citygrid user list`.
fn listed(database: &str, username: &str) -> Option<String> {
    let list = citygrid_user(database, &["list"], "");
    assert!(list.status.success());
    let table = String::from_utf8_lossy(&list.stdout).into_owned();
    assert!(table.starts_with("username"), "a header first: {table}");
    table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(username))
        .map(str::to_owned)
}

/// Adds `wang` (a grid worker) and `chen` (an administrator); refuses an unknown cell and a
/// short password.
fn add_users_on_the_command_line(database: &str) {
    let added = citygrid_user(
        database,
        &[
            "add",
            "wang",
            "--role",
            "worker",
            "--cells",
            "410104001001001,410104001001002",
            "--name",
            "王伟",
        ],
        "grid-worker-1\n",
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let admin = citygrid_user(
        database,
        &["add", "chen", "--role", "admin"],
        "admin-pass-1\r\n",
    );
    assert!(admin.status.success());
    let unknown = citygrid_user(
        database,
        &[
            "add",
            "li",
            "--role",
            "worker",
            "--cells",
            "410104999999999",
        ],
        "grid-worker-2\n",
    );
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("410104999999999"),
        "the unknown cell is named: {}",
        String::from_utf8_lossy(&unknown.stderr)
    );
    let short = citygrid_user(database, &["add", "li", "--role", "viewer"], "short\n");
    assert!(
        !short.status.success(),
        "a password under 8 characters is refused"
    );
    let wang = listed(database, "wang").expect("wang is listed");
    for text in [
        "王伟",
        "worker",
        "410104001001001,410104001001002",
        "active",
    ] {
        assert!(wang.contains(text), "{text} missing in {wang:?}");
    }
    assert!(listed(database, "chen").is_some());
    assert!(
        listed(database, "li").is_none(),
        "the refused user was not added"
    );
}

#[test]
fn users_added_on_the_command_line_log_in_to_a_running_server() {
    let server = Server::start(&["--public-layers", "false"]);
    let database = server.database_url();
    add_users_on_the_command_line(&database);

    // The running server sees them at once; the layers are private.
    let (status, _) = http_get(&format!("{}/collections", server.base)).unwrap();
    assert_eq!(status, 401);
    let (status, body) = login_over_http(&server.base, "wang", "grid-worker-1");
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    let (status, me) = get_with_token(&server.base, "/auth/me", &token);
    assert_eq!(status, 200);
    assert!(me.contains("王伟"), "{me}");
    assert_eq!(get_with_token(&server.base, "/collections", &token).0, 200);

    // The login was audited with the client's address; the addition with the command line.
    let (status, body) = login_over_http(&server.base, "chen", "admin-pass-1");
    assert_eq!(status, 200, "{body}");
    let admin = body["token"].as_str().unwrap().to_owned();
    let (status, audit) = get_with_token(&server.base, "/audit?target=wang", &admin);
    assert_eq!(status, 200, "{audit}");
    let audit: Value = serde_json::from_str(&audit).unwrap();
    let records = audit["records"].as_array().unwrap();
    assert_eq!(records[0]["action"], "auth.login");
    assert_eq!(records[0]["remote"], "127.0.0.1");
    assert_eq!(records[1]["action"], "user.add");
    assert_eq!(records[1]["remote"], "cli");

    // Disabling on the command line ends the session on the server.
    assert!(
        citygrid_user(&database, &["disable", "wang"], "")
            .status
            .success()
    );
    assert_eq!(get_with_token(&server.base, "/auth/me", &token).0, 401);
    assert_eq!(
        login_over_http(&server.base, "wang", "grid-worker-1").0,
        401
    );
    assert!(listed(&database, "wang").unwrap().contains("disabled"));
    assert!(
        citygrid_user(&database, &["enable", "wang"], "")
            .status
            .success()
    );
    let reset = citygrid_user(&database, &["set-password", "wang"], "a-new-password\n");
    assert!(reset.status.success());
    assert_eq!(
        login_over_http(&server.base, "wang", "grid-worker-1").0,
        401
    );
    assert_eq!(
        login_over_http(&server.base, "wang", "a-new-password").0,
        200
    );

    let assigned = citygrid_user(
        &database,
        &["assign-cells", "wang", "--cells", "410104001002"],
        "",
    );
    assert!(
        assigned.status.success(),
        "{}",
        String::from_utf8_lossy(&assigned.stderr)
    );
    let wang = listed(&database, "wang").unwrap();
    assert!(
        wang.contains("410104001002 ") && !wang.contains("410104001001001"),
        "{wang}"
    );
}

/// A login request from `peer` (a connection's address) with extra headers.
fn login_from(
    peer: [u8; 4],
    headers: &[(&str, &str)],
    username: &str,
    password: &str,
) -> Request<Body> {
    let mut request = Request::post("/auth/login").header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut request = request
        .body(Body::from(
            json!({ "username": username, "password": password }).to_string(),
        ))
        .unwrap();
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((peer, 40_000))));
    request
}

#[test]
fn three_hundred_wrong_passwords_at_once_verify_no_more_than_the_throttle_allows() {
    use tower::ServiceExt as _;
    let f = fixture_with(
        true,
        AuthSettings {
            // No delays before the lock: every admitted attempt goes straight to hashing.
            throttle: ThrottlePolicy {
                delay_after: 10,
                ..ThrottlePolicy::default()
            },
            ..AuthSettings::default()
        },
    );
    let statuses: Vec<u16> = f
        .runtime
        .block_on(futures_util::future::join_all((0..300).map(|_| {
            let request = Request::post("/auth/login")
                .header("content-type", "application/json")
                .body(Body::from(
                    json!({ "username": "wang", "password": "not the password" }).to_string(),
                ))
                .unwrap();
            let router = f.router.clone();
            async move { router.oneshot(request).await.unwrap().status().as_u16() }
        })));
    let refused = statuses.iter().filter(|&&s| s == 429).count();
    let checked = statuses.iter().filter(|&&s| s == 401).count();
    assert_eq!(checked + refused, 300, "{statuses:?}");
    assert_eq!(
        checked, 10,
        "only the allowed ten were answered after a check"
    );
    assert_eq!(
        f.auth.password_verifications(),
        10,
        "and only ten were hashed"
    );
    let locked = f.login("wang", PASSWORD);
    assert_problem(&locked, 429, None);
    assert!(locked.headers.contains_key("retry-after"));
}

#[test]
fn an_attacker_failing_at_one_address_cannot_lock_the_user_out_at_another() {
    let f = fixture(true);
    let attacker = [203, 0, 113, 9];
    for _ in 0..10 {
        let reply = f.send(login_from(attacker, &[], "chen", "guess"));
        assert_eq!(reply.status, 401);
    }
    assert_problem(
        &f.send(login_from(attacker, &[], "chen", PASSWORD)),
        429,
        None,
    );
    let reply = f.send(login_from([198, 51, 100, 4], &[], "chen", PASSWORD));
    assert_eq!(reply.status, 200, "{}", reply.text());
}

#[test]
fn strangers_guessing_a_name_do_not_slow_the_users_own_address() {
    let f = fixture(true);
    let home = [198, 51, 100, 4];
    assert_eq!(f.send(login_from(home, &[], "chen", PASSWORD)).status, 200);
    for i in 0..30u8 {
        let reply = f.send(login_from([203, 0, 113, i], &[], "chen", "guess"));
        assert!(
            matches!(reply.status.as_u16(), 401 | 429),
            "{}",
            reply.text()
        );
    }
    let slept = f.clock.slept().len();
    assert_eq!(f.send(login_from(home, &[], "chen", PASSWORD)).status, 200);
    assert_eq!(
        f.clock.slept().len(),
        slept,
        "the user's own address waits for nothing"
    );
}

/// The address the audit trail recorded for the latest failed login.
fn audited_address(f: &Fixture, admin: &str) -> Value {
    let reply = f.get("/audit?action=auth.login_failed&limit=1", Some(admin));
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()["records"][0]["remote"].clone()
}

#[test]
fn forwarding_headers_are_ignored_from_untrusted_peers_and_honoured_from_trusted_proxies() {
    let f = fixture_with(
        true,
        AuthSettings {
            trusted_proxies: TrustedProxies::parse("10.0.0.0/8").unwrap(),
            ..AuthSettings::default()
        },
    );
    let admin = f.token("chen");
    let forged = [("x-forwarded-for", "203.0.113.77")];
    f.send(login_from([192, 0, 2, 50], &forged, "nobody", "x"));
    assert_eq!(audited_address(&f, &admin), "192.0.2.50");
    f.send(login_from(
        [10, 0, 0, 1],
        &[("x-forwarded-for", "1.2.3.4, 203.0.113.77, 10.0.0.2")],
        "nobody",
        "x",
    ));
    assert_eq!(
        audited_address(&f, &admin),
        "203.0.113.77",
        "the rightmost address that is not a proxy"
    );
    f.send(login_from(
        [10, 0, 0, 1],
        &[("forwarded", "for=\"[2001:db8::7]:4711\";proto=https")],
        "nobody",
        "x",
    ));
    assert_eq!(audited_address(&f, &admin), "2001:db8::7");
    // The throttle counts the forwarded client, not the proxy everyone shares.
    for _ in 0..10 {
        f.send(login_from([10, 0, 0, 1], &forged, "wang", "guess"));
    }
    assert_problem(
        &f.send(login_from([10, 0, 0, 1], &forged, "wang", PASSWORD)),
        429,
        None,
    );
    let other = [("x-forwarded-for", "198.51.100.20")];
    assert_eq!(
        f.send(login_from([10, 0, 0, 1], &other, "wang", PASSWORD))
            .status,
        200
    );
}

/// Opens `/cases/events` as `wang`, ends the session with `end`, and returns what the stream
/// sent until it closed.
fn stream_after(f: &Fixture, end: impl AsyncFnOnce(&Fixture, &str)) -> String {
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;
    let token = f.token("wang");
    f.runtime.block_on(async {
        let response = f
            .router
            .clone()
            .oneshot(
                Request::get("/cases/events")
                    .header("authorization", format!("Bearer {token}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        end(f, &token).await;
        // A bound against hanging forever, not a timing assertion: the stream closes on the
        // next session check, every 20 ms here.
        let body = tokio::time::timeout(Duration::from_secs(60), response.into_body().collect())
            .await
            .expect("the stream closes once the session has ended")
            .unwrap()
            .to_bytes();
        String::from_utf8(body.to_vec()).unwrap()
    })
}

fn assert_ended(sent: &str) {
    assert!(sent.contains("event: session_ended"), "{sent}");
}

#[test]
fn an_event_stream_closes_when_its_session_logs_out() {
    use tower::ServiceExt as _;
    let f = fixture(true);
    assert_ended(&stream_after(&f, async |f, token| {
        let reply = f
            .router
            .clone()
            .oneshot(
                Request::post("/auth/logout")
                    .header("authorization", format!("Bearer {token}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(reply.status(), 204);
    }));
}

#[test]
fn an_event_stream_closes_when_the_users_password_changes() {
    let f = fixture(true);
    assert_ended(&stream_after(&f, async |f, _| {
        f.auth
            .set_password(
                &Origin::command_line(),
                &Username::parse("wang").unwrap(),
                "a brand new secret",
            )
            .await
            .unwrap();
    }));
}

#[test]
fn an_event_stream_closes_when_the_user_is_disabled() {
    let f = fixture(true);
    assert_ended(&stream_after(&f, async |f, _| {
        f.auth
            .set_disabled(
                &Origin::command_line(),
                &Username::parse("wang").unwrap(),
                true,
            )
            .await
            .unwrap();
    }));
}

#[test]
fn an_event_stream_closes_when_its_token_expires() {
    let f = fixture(true);
    assert_ended(&stream_after(&f, async |f, _| {
        f.clock.advance(Duration::from_secs(12 * 3600));
    }));
}
