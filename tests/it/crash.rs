//! Kill -9 in the middle of a stream of case reports and actions on the real binary: after a
//! restart on the same database, every acknowledged report and action is there, whole, and no
//! case is half-written (each case's version equals its log's length, the log is a prefix of
//! what was sent, and the state is the last entry's).

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Server, demo, http, run_citygrid};

/// What the stream does to each case, in order; all allowed to an administrator.
const STEPS: [&str; 5] = ["report", "file", "suspend", "resume", "void"];

/// Acknowledged operations before the kill.
const ACKNOWLEDGED_BEFORE_KILL: usize = 40;

/// A point inside a grid cell of the demo district valid today.
fn inside_the_grid() -> (f64, f64) {
    let cells = demo().catalog.collection("grid_cells").unwrap();
    let cell = cells
        .index
        .iter()
        .find(|f| f.properties["level"] == "grid" && f.properties["valid_to"].is_null())
        .unwrap();
    let p = geo::InteriorPoint::interior_point(&cell.geometry).unwrap();
    (p.x(), p.y())
}

/// A JSON request with a bearer token: status and the parsed answer, or `None` when the
/// server did not answer whole (it was killed).
fn send(base: &str, method: &str, path: &str, token: &str, body: &Value) -> Option<(u16, Value)> {
    let bearer = format!("Bearer {token}");
    let idempotency = format!("crash-{}", body["description"].as_str().unwrap_or(""));
    let mut headers = vec![
        ("Content-Type", "application/json"),
        ("Authorization", bearer.as_str()),
    ];
    if method == "POST" && path == "/cases" {
        headers.push(("Idempotency-Key", idempotency.as_str()));
    }
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let (status, text) = http(&format!("{base}{path}"), method, &headers, &body)?;
    let value = serde_json::from_str(&text).ok()?;
    Some((status, value))
}

fn login(base: &str) -> String {
    let (status, body) = http(
        &format!("{base}/auth/login"),
        "POST",
        &[("Content-Type", "application/json")],
        &json!({ "username": "crash-admin", "password": "admin-password-1" }).to_string(),
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    serde_json::from_str::<Value>(&body).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// SQLite's `PRAGMA integrity_check` of the database at `url`.
fn integrity_check(url: &str) -> String {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .connect(url)
                .await
                .unwrap();
            let check: String = sqlx::query_scalar("PRAGMA integrity_check")
                .fetch_one(&pool)
                .await
                .unwrap();
            pool.close().await;
            check
        })
}

/// Checks that case `id` is whole after the restart: its log a prefix of [`STEPS`], its version
/// the log's length, its state the last entry's, and at least the `acknowledged` steps stored
/// (at most one more: the action under way at the kill).
fn check_case_whole(base: &str, token: &str, id: i64, acknowledged: Option<usize>) {
    let (status, page) = send(base, "GET", &format!("/cases/{id}"), token, &Value::Null).unwrap();
    assert_eq!(status, 200, "{page}");
    let log = page["log"].as_array().unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        STEPS[..actions.len()],
        "case {id}: the log is a prefix of what was sent"
    );
    assert_eq!(
        page["case"]["version"].as_u64().unwrap() as usize,
        log.len(),
        "case {id}: its version counts its log entries"
    );
    assert_eq!(
        page["case"]["state"],
        log.last().unwrap()["to"],
        "case {id}: its state is the last entry's"
    );
    if let Some(steps) = acknowledged {
        assert!(
            log.len() >= steps,
            "case {id}: {steps} acknowledged steps, {} stored",
            log.len()
        );
        assert!(
            log.len() <= steps + 1,
            "case {id}: at most the one action under way at the kill is stored unacknowledged"
        );
    }
}

#[test]
fn every_acknowledged_case_report_and_action_survives_a_sigkill_and_nothing_is_half_written() {
    let mut server = Server::start(&[]);
    let database = server.database_url();
    let added = run_citygrid(
        &[
            "user",
            "add",
            "crash-admin",
            "--role",
            "admin",
            "--database-url",
            &database,
        ],
        "admin-password-1\n",
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let token = login(&server.base);
    let (lon, lat) = inside_the_grid();

    // Case id → steps acknowledged (1: reported).
    let acknowledged: Arc<Mutex<BTreeMap<i64, usize>>> = Arc::default();
    let (progress, acks) = mpsc::channel::<()>();
    let writer = {
        let base = server.base.clone();
        let acknowledged = Arc::clone(&acknowledged);
        std::thread::spawn(move || {
            for n in 0.. {
                let report = json!({ "category": "0101", "lon": lon, "lat": lat, "description": format!("case {n}") });
                let Some((201, answer)) = send(&base, "POST", "/cases", &token, &report) else {
                    return;
                };
                let id = answer["case"]["id"].as_i64().unwrap();
                acknowledged.lock().unwrap().insert(id, 1);
                let _ = progress.send(());
                for (step, action) in STEPS.iter().enumerate().skip(1) {
                    let body = json!({ "action": action, "note": format!("step {step}") });
                    let Some((200, _)) = send(
                        &base,
                        "POST",
                        &format!("/cases/{id}/actions"),
                        &token,
                        &body,
                    ) else {
                        return;
                    };
                    acknowledged.lock().unwrap().insert(id, step + 1);
                    let _ = progress.send(());
                }
            }
        })
    };
    for _ in 0..ACKNOWLEDGED_BEFORE_KILL {
        acks.recv_timeout(Duration::from_secs(300))
            .expect("the stream of reports and actions makes progress");
    }
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    writer.join().unwrap();
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.values().sum::<usize>() >= ACKNOWLEDGED_BEFORE_KILL);

    let integrity = integrity_check(&database);
    assert_eq!(integrity, "ok", "SQLite's integrity check after the kill");

    let dir = std::mem::replace(&mut server.dir, tempfile::tempdir().unwrap());
    drop(server);
    let server = Server::start_in(dir, &[]);
    let token = login(&server.base);
    let (status, listed) = send(
        &server.base,
        "GET",
        "/cases?limit=1000",
        &token,
        &Value::Null,
    )
    .expect("the restarted server answers");
    assert_eq!(status, 200, "{listed}");
    let cases = listed["cases"].as_array().unwrap();
    assert!(
        cases.len() <= acknowledged.len() + 1,
        "at most the one report under way at the kill is stored unacknowledged: {} cases, {} acknowledged",
        cases.len(),
        acknowledged.len()
    );
    for listed_case in cases {
        let id = listed_case["id"].as_i64().unwrap();
        check_case_whole(&server.base, &token, id, acknowledged.get(&id).copied());
    }
    for (id, steps) in &acknowledged {
        assert!(
            cases.iter().any(|c| c["id"] == *id),
            "acknowledged case {id} ({steps} steps) is missing after the restart"
        );
    }
}
