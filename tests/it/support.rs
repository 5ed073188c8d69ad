//! Shared fixtures: the demo district loaded once into an in-memory store, requests driven
//! through the router with `oneshot`, and a real server process on a free port.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use citygrid::api::{AppState, router};
use citygrid::service::Catalog;
use citygrid::service::import::load_demo;
use citygrid::store::{SqliteStore, Store};
use http_body_util::BodyExt as _;
use serde_json::Value;
use tower::ServiceExt as _;

/// The repository's root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The base URL the fixture router puts in links.
pub const BASE: &str = "http://citygrid.test";

/// The demo district in an in-memory store, with its catalogue and router.
pub struct Demo {
    pub runtime: tokio::runtime::Runtime,
    pub catalog: Arc<Catalog>,
    pub router: Router,
}

static DEMO: LazyLock<Demo> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let catalog = runtime.block_on(async {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open("sqlite::memory:").await.unwrap());
        load_demo(&store, &repo().join("data")).await.unwrap();
        Arc::new(Catalog::load(store).await.unwrap())
    });
    let router = router(AppState::new(Arc::clone(&catalog), BASE));
    Demo {
        runtime,
        catalog,
        router,
    }
});

/// The shared demo fixture.
pub fn demo() -> &'static Demo {
    &DEMO
}

/// A response, read whole.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// Adds `user` (on the command line's authority) to `state`'s users with `password`, logs in
/// through `router` and returns the bearer token.
pub fn add_user_and_log_in(
    state: &AppState,
    router: &Router,
    user: citygrid::model::user::NewUser,
    password: &str,
) -> String {
    let username = user.username.as_str().to_owned();
    demo().runtime.block_on(async {
        state
            .auth
            .add_user(
                &citygrid::service::auth::Origin::command_line(),
                user,
                password,
                &|_| true,
            )
            .await
            .unwrap();
    });
    let reply = send_to(
        &demo().runtime,
        router,
        Request::post("/auth/login")
            .header("content-type", "application/json")
            .body(Body::from(
                serde_json::json!({ "username": username, "password": password }).to_string(),
            ))
            .unwrap(),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()["token"].as_str().unwrap().to_owned()
}

/// Sends a request through the demo router.
pub fn send(request: Request<Body>) -> Reply {
    let demo = demo();
    send_to(&demo.runtime, &demo.router, request)
}

/// Sends a request through `router` on `runtime` and reads the whole response.
pub fn send_to(
    runtime: &tokio::runtime::Runtime,
    router: &Router,
    request: Request<Body>,
) -> Reply {
    runtime.block_on(async {
        let response = router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Reply {
            status,
            headers,
            body,
        }
    })
}

/// `GET uri` on the demo router.
pub fn get(uri: &str) -> Reply {
    send(Request::get(uri).body(Body::empty()).unwrap())
}

/// `GET uri` with headers.
pub fn get_with(uri: &str, headers: &[(&str, &str)]) -> Reply {
    let mut request = Request::get(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    send(request.body(Body::empty()).unwrap())
}

/// Asserts a 4xx problem body naming `parameter`.
pub fn assert_problem(reply: &Reply, status: u16, parameter: Option<&str>) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.text());
    assert_eq!(reply.content_type(), "application/problem+json");
    let problem = reply.json();
    assert_eq!(problem["status"], status);
    assert!(problem["title"].is_string() && problem["detail"].is_string());
    if let Some(parameter) = parameter {
        assert_eq!(problem["parameter"], parameter, "{problem}");
    }
}

/// Makes a path relative to the fixture's base URL.
pub fn local(href: &str) -> String {
    href.strip_prefix(BASE).unwrap_or(href).to_owned()
}

/// A real `citygrid serve` process on a free loopback port, stopped on drop.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    /// Starts the binary with the demo district in a fresh database and waits until `/ready`.
    pub fn start(extra: &[&str]) -> Self {
        Self::start_in(tempfile::tempdir().unwrap(), extra)
    }

    /// Starts the binary on the database in `dir` (made if missing) and waits until `/ready`.
    pub fn start_in(dir: tempfile::TempDir, extra: &[&str]) -> Self {
        let port = free_port();
        let database = format!("sqlite://{}", dir.path().join("citygrid.db").display());
        let child = Command::new(env!("CARGO_BIN_EXE_citygrid"))
            .args([
                "serve",
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--database-url",
                &database,
            ])
            .arg("--data-dir")
            .arg(repo().join("data"))
            .args(["--log", "warn"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let server = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            dir,
        };
        server.wait_ready();
        server
    }

    /// The URL of the server's database, for other commands run against it.
    pub fn database_url(&self) -> String {
        format!("sqlite://{}", self.dir.path().join("citygrid.db").display())
    }

    fn wait_ready(&self) {
        // Loading the demo district into a new database takes a few seconds in a debug build.
        let deadline = Instant::now() + Duration::from_secs(300);
        while Instant::now() < deadline {
            if http_get(&format!("{}/ready", self.base)).is_some_and(|(status, _)| status == 200) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("the server at {} did not become ready", self.base);
    }

    /// Stops the server gracefully and starts it again on the same database and files.
    pub fn restart(mut self, extra: &[&str]) -> Self {
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        assert!(self.terminate(), "the server stops cleanly");
        Self::start_in(dir, extra)
    }

    /// Sends SIGTERM and waits for the process to exit; returns whether it exited successfully.
    pub fn terminate(mut self) -> bool {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let status = self.child.wait().unwrap();
        status.success()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 GET over a socket (no client library needed): status and body.
pub fn http_get(url: &str) -> Option<(u16, String)> {
    http(url, "GET", &[], "")
}

/// A minimal HTTP/1.1 request with headers and a body over a socket: status and body.
pub fn http(
    url: &str,
    method: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Option<(u16, String)> {
    use std::fmt::Write as _;
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut stream = std::net::TcpStream::connect(host).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (name, value) in headers {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    if !body.is_empty() || method != "GET" {
        let _ = write!(head, "Content-Length: {}\r\n", body.len());
    }
    write!(stream, "{head}\r\n{body}").ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}

/// Runs a command line tool, panicking with its output when it fails or is missing.
pub fn run_tool(program: &str, args: &[&str], dir: &Path) -> String {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("{program} is needed by this test ({e}); install gdal-bin, as scripts/test does")
        });
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{program} {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Runs the real `citygrid` binary with `args`, `stdin` as its standard input, and waits.
pub fn run_citygrid(args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_citygrid"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}
