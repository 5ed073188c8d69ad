//! Requests built to crash or freeze the server (issue 10, items 1 and 2): deeply nested CQL2,
//! huge query geometries, and a flood of the most expensive requests against a real server while
//! `/health` and a cheap read must keep answering.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::support::{Reply, Server, assert_problem, get, send};

fn post(uri: &str, body: &Value) -> Reply {
    send(
        Request::post(uri)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
    )
}

fn encoded(text: &str) -> String {
    serde_urlencoded::to_string([("filter", text)]).unwrap()
}

/// The three attacks of the issue, in cql2-text.
fn deep_filters() -> Vec<(&'static str, String)> {
    vec![
        (
            "nesting",
            format!("{}diameter_mm = 1{}", "(".repeat(375), ")".repeat(375)),
        ),
        (
            "operators",
            format!("{}diameter_mm = 1", "NOT ".repeat(3200)),
        ),
        ("operators", format!("diameter_mm = {}1", "-".repeat(3200))),
    ]
}

/// `levels` nested `NOT` in cql2-json (deeper than any JSON parser is asked to go).
fn deep_json_filter(levels: usize) -> String {
    let mut text = String::from(r#"{"op":"=","args":[{"property":"diameter_mm"},1]}"#);
    for _ in 0..levels {
        text = format!(r#"{{"op":"not","args":[{text}]}}"#);
    }
    text
}

fn assert_refused_filter(reply: &Reply, limit_word: &str) {
    assert_problem(reply, 400, Some("filter"));
    let detail = reply.json()["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains(limit_word), "{detail}");
}

#[test]
fn deeply_nested_filters_on_items_are_refused_naming_the_limit() {
    for (limit_word, text) in deep_filters() {
        let reply = get(&format!("/collections/manholes/items?{}", encoded(&text)));
        assert_refused_filter(&reply, limit_word);
    }
    let reply = get(&format!(
        "/collections/manholes/items?filter-lang=cql2-json&{}",
        // A URI holds at most 64 KiB: 1,000 levels fit.
        encoded(&deep_json_filter(1000))
    ));
    assert_refused_filter(&reply, "levels");
}

#[test]
fn deeply_nested_filters_on_search_and_summary_are_refused_naming_the_limit() {
    let square = json!({"type": "Polygon", "coordinates": [[[113.5, 34.5], [114.0, 34.5], [114.0, 34.9], [113.5, 34.9], [113.5, 34.5]]]});
    for (limit_word, text) in deep_filters() {
        for uri in ["/search", "/analysis/summary"] {
            let reply = post(
                uri,
                &json!({"collections": ["manholes"], "intersects": square, "filter": text}),
            );
            assert_refused_filter(&reply, limit_word);
        }
    }
    // A JSON filter inside a JSON body: the body parser's own depth limit or ours refuses it,
    // as a 400 either way.
    let body = format!(
        r#"{{"collections":["manholes"],"intersects":{square},"filter":{}}}"#,
        deep_json_filter(3200)
    );
    for uri in ["/search", "/analysis/summary"] {
        let reply = send(
            Request::post(uri)
                .header("content-type", "application/json")
                .body(Body::from(body.clone()))
                .unwrap(),
        );
        assert_eq!(reply.status.as_u16(), 400, "{}", reply.text());
        assert_eq!(reply.content_type(), "application/problem+json");
    }
    let shallow_but_too_deep: Value = serde_json::from_str(&{
        let mut text = String::from(r#"{"op":"=","args":[{"property":"diameter_mm"},1]}"#);
        for _ in 0..40 {
            text = format!(r#"{{"op":"not","args":[{text}]}}"#);
        }
        text
    })
    .unwrap();
    let reply = post(
        "/search",
        &json!({"collections": ["manholes"], "intersects": square, "filter": shallow_but_too_deep}),
    );
    assert_refused_filter(&reply, "64 levels");
}

/// A square of side `side` degrees at (`x`, `y`) as a GeoJSON polygon's rings.
fn square_rings(x: f64, y: f64, side: f64) -> Value {
    json!([[
        [x, y],
        [x + side, y],
        [x + side, y + side],
        [x, y + side],
        [x, y]
    ]])
}

#[test]
fn a_summary_over_a_four_thousand_part_multipolygon_is_refused_by_its_parts() {
    let parts: Vec<Value> = (0..4000)
        .map(|i| {
            let (row, column) = (f64::from(i / 64), f64::from(i % 64));
            square_rings(113.5 + column * 0.006, 34.5 + row * 0.006, 0.004)
        })
        .collect();
    let reply = post(
        "/analysis/summary",
        &json!({"collections": ["pipelines", "manholes", "roads"], "intersects": {"type": "MultiPolygon", "coordinates": parts}}),
    );
    assert_problem(&reply, 400, Some("intersects"));
    let detail = reply.json()["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("more than 500 parts"), "{detail}");
}

/// A valid polygon of `n` vertices: a circle around the district's centre.
fn circle(n: u32) -> Value {
    let mut ring: Vec<Value> = (0..n)
        .map(|i| {
            let a = f64::from(i) / f64::from(n) * std::f64::consts::TAU;
            json!([113.75 + 0.2 * a.cos(), 34.7 + 0.15 * a.sin()])
        })
        .collect();
    ring.push(ring[0].clone());
    json!({"type": "Polygon", "coordinates": [ring]})
}

#[test]
fn a_search_with_a_hundred_thousand_vertex_polygon_is_refused_by_its_vertices() {
    let reply = post(
        "/search",
        &json!({"collections": ["manholes"], "intersects": circle(100_000)}),
    );
    assert_problem(&reply, 400, Some("intersects"));
    let detail = reply.json()["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("more than 20000 vertices"), "{detail}");
}

#[test]
fn a_large_valid_polygon_within_the_limits_is_searched_and_summarised() {
    // What is checked is that the limits admit this polygon, not how fast a debug build on a
    // shared machine answers: a router of its own with a budget the suite's load cannot spend
    // (the default budget counts the wait behind the other tests' analyses).
    let state =
        citygrid::api::AppState::new(crate::support::demo().catalog.clone(), crate::support::BASE)
            .with_analysis(Arc::new(citygrid::service::analysis::AnalysisPool::new(
                citygrid::service::analysis::PoolSettings {
                    timeout: Duration::from_secs(600),
                    ..Default::default()
                },
            )));
    let router = citygrid::api::router(state);
    let post = |uri: &str, body: &Value| {
        crate::support::send_to(
            &crate::support::demo().runtime,
            &router,
            Request::post(uri)
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
    };
    let polygon = circle(19_000);
    let reply = post(
        "/search",
        &json!({"collections": ["manholes"], "intersects": polygon, "limit": 1}),
    );
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
    assert!(reply.json()["numberMatched"].as_u64().unwrap() > 0);
    let reply = post(
        "/analysis/summary",
        &json!({"collections": ["manholes"], "intersects": polygon}),
    );
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
}

#[test]
fn a_self_intersecting_query_polygon_is_still_refused_as_invalid() {
    let reply = post(
        "/search",
        &json!({"collections": ["manholes"], "intersects": {"type": "Polygon", "coordinates": [[[113.6, 34.6], [113.7, 34.7], [113.7, 34.6], [113.6, 34.7], [113.6, 34.6]]]}}),
    );
    assert_problem(&reply, 400, Some("intersects"));
    assert!(
        reply.json()["detail"]
            .as_str()
            .unwrap()
            .contains("self-intersection")
    );
}

#[test]
fn a_filter_with_a_geometry_literal_beyond_the_vertex_limit_is_refused() {
    let coordinates: Vec<String> = (0..=20_001)
        .map(|i| {
            let a = f64::from(i) / 20_001.0 * std::f64::consts::TAU;
            format!("{} {}", 113.75 + 0.2 * a.cos(), 34.7 + 0.15 * a.sin())
        })
        .collect();
    let mut ring = coordinates.join(",");
    ring.push(',');
    ring.push_str(&coordinates[0]);
    let text = format!("S_INTERSECTS(geometry, POLYGON(({ring})))");
    let reply = post(
        "/search",
        &json!({"collections": ["manholes"], "intersects": circle(8), "filter": text}),
    );
    assert_refused_filter(&reply, "vertices");
}

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("NOT ".to_owned()),
        Just("-".to_owned()),
        Just(" AND ".to_owned()),
        Just(" OR ".to_owned()),
        Just("diameter_mm".to_owned()),
        Just("status".to_owned()),
        Just(" = ".to_owned()),
        Just(" < ".to_owned()),
        Just("1".to_owned()),
        Just("'damaged'".to_owned()),
        Just(",".to_owned()),
        Just(" LIKE ".to_owned()),
        Just(" IN ".to_owned()),
        Just(" BETWEEN ".to_owned()),
        Just("S_INTERSECTS(geometry, ".to_owned()),
        Just("POINT(113.7 34.7)".to_owned()),
        Just("CASEI(".to_owned()),
        "\\PC{0,3}",
    ]
}

/// Random tokens, each repeated up to thousands of times: long chains and deep nests.
fn adversarial_filter() -> impl Strategy<Value = String> {
    proptest::collection::vec((token(), 1usize..2000), 1..6).prop_map(|runs| {
        runs.into_iter()
            .map(|(token, times)| token.repeat(times))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn adversarial_filters_get_a_page_or_a_problem_on_every_endpoint(text in adversarial_filter()) {
        let uri = format!("/collections/manholes/items?limit=1&{}", encoded(&text));
        // Longer URIs cannot be sent (the limit of a URI is 64 KiB); the body of /search can.
        if uri.len() < usize::from(u16::MAX) - 1 {
            let reply = get(&uri);
            prop_assert!(reply.status.as_u16() == 200 || reply.status.as_u16() == 400, "{} {}", reply.status, reply.text());
        }
        let reply = post(
            "/search",
            &json!({"collections": ["manholes"], "intersects": circle(8), "filter": text, "limit": 1}),
        );
        prop_assert!(reply.status.as_u16() == 200 || reply.status.as_u16() == 400, "{} {}", reply.status, reply.text());
    }

    #[test]
    fn arbitrary_search_query_strings_and_members_never_cause_a_server_error(
        query in "[a-z=&%0-9.-]{0,24}",
        member in "[a-z_]{1,12}",
        value in prop_oneof![Just(json!(null)), Just(json!(-1)), Just(json!("x")), Just(json!([[1]])), Just(json!({"type": "Polygon"}))],
    ) {
        let reply = post(
            &format!("/search?{query}"),
            &json!({"collections": ["manholes"], "intersects": circle(8), member: value}),
        );
        prop_assert!(reply.status.as_u16() < 500, "{} {}", reply.status, reply.text());
        if !reply.status.is_success() {
            prop_assert_eq!(reply.content_type(), "application/problem+json");
        }
    }
}

/// A polygon of about 20,000 vertices whose segments all overlap in x (a comb with long teeth):
/// the costliest valid query polygon to check.
fn comb() -> Value {
    let teeth = 4_900;
    let mut ring = Vec::new();
    for i in 0..teeth {
        let y = 34.5 + f64::from(i) * (0.4 / f64::from(teeth));
        let h = 0.4 / f64::from(teeth) / 2.0;
        ring.push(json!([113.5, y]));
        ring.push(json!([114.0, y]));
        ring.push(json!([114.0, y + h]));
        ring.push(json!([113.5, y + h]));
    }
    ring.push(json!([113.4, 34.9]));
    ring.push(json!([113.4, 34.5]));
    ring.push(ring[0].clone());
    json!({"type": "Polygon", "coordinates": [ring]})
}

/// A GET over a socket that must answer within `bound`: the status, or `None`.
fn get_within(url: &str, bound: Duration) -> Option<u16> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_once('/')?;
    let mut stream = std::net::TcpStream::connect(host).ok()?;
    stream.set_read_timeout(Some(bound)).ok()?;
    stream.set_write_timeout(Some(bound)).ok()?;
    write!(
        stream,
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// Sends `body` to `path` and keeps the status.
fn post_status(base: &str, path: &str, body: &str) -> Option<u16> {
    crate::support::http(
        &format!("{base}{path}"),
        "POST",
        &[("content-type", "application/json")],
        body,
    )
    .map(|(status, _)| status)
}

/// The most expensive requests: a summary and searches over every collection with the costliest
/// valid polygons, and a deeply nested filter.
fn expensive_requests() -> Vec<(&'static str, String)> {
    let comb = comb();
    let everything = json!([
        "manholes",
        "pipelines",
        "roads",
        "parks",
        "facilities",
        "grid_cells"
    ]);
    vec![
        (
            "/analysis/summary",
            json!({"collections": everything, "intersects": comb}).to_string(),
        ),
        (
            "/search",
            json!({"collections": everything, "intersects": circle(19_000), "limit": 10}).to_string(),
        ),
        (
            "/search",
            json!({"collections": everything, "intersects": comb, "predicate": "disjoint"}).to_string(),
        ),
        (
            "/search",
            json!({"collections": ["manholes"], "intersects": circle(8), "filter": deep_filters()[0].1}).to_string(),
        ),
    ]
}

#[test]
fn under_a_flood_of_expensive_requests_health_and_a_cheap_read_keep_answering_within_a_second() {
    let server = Server::start(&[
        "--analysis-workers",
        "1",
        "--analysis-queue",
        "2",
        "--analysis-timeout-ms",
        "3000",
    ]);
    let base = server.base.clone();
    let (status, page) =
        crate::support::http_get(&format!("{base}/collections/manholes/items?limit=1")).unwrap();
    assert_eq!(status, 200);
    let page: Value = serde_json::from_str(&page).unwrap();
    let id = page["features"][0]["id"].as_str().unwrap().to_owned();
    let cheap = format!("{base}/collections/manholes/items/{id}");

    let heavy = expensive_requests();
    let heavy = Arc::new(heavy);
    let statuses = Arc::new(Mutex::new(Vec::new()));
    let done = Arc::new(AtomicBool::new(false));
    let flooders: Vec<_> = (0..6)
        .map(|t| {
            let (heavy, statuses, base) = (Arc::clone(&heavy), Arc::clone(&statuses), base.clone());
            std::thread::spawn(move || {
                for round in 0..4 {
                    let (path, body) = &heavy[(t + round) % heavy.len()];
                    let status = post_status(&base, path, body);
                    statuses.lock().unwrap().push((*path, status));
                }
            })
        })
        .collect();
    let watcher = {
        let done = Arc::clone(&done);
        let base = base.clone();
        std::thread::spawn(move || {
            let mut answers = 0;
            while !done.load(Ordering::Acquire) {
                for url in [format!("{base}/health"), cheap.clone()] {
                    let status = get_within(&url, Duration::from_secs(1));
                    assert_eq!(status, Some(200), "{url} did not answer within a second");
                    answers += 1;
                }
            }
            answers
        })
    };
    for flooder in flooders {
        flooder.join().unwrap();
    }
    done.store(true, Ordering::Release);
    let answers = watcher
        .join()
        .expect("health and the cheap read kept answering");
    assert!(answers >= 2);

    let statuses = statuses.lock().unwrap();
    assert_eq!(statuses.len(), 24);
    for (path, status) in statuses.iter() {
        let status = status.unwrap_or_else(|| panic!("{path}: no answer"));
        assert!(
            matches!(status, 200 | 400 | 503 | 504),
            "{path} answered {status}"
        );
    }
    assert!(
        statuses.iter().any(|(_, s)| matches!(s, Some(503 | 504))),
        "the pool of one worker and a queue of two was never full or out of time: {statuses:?}"
    );
    assert_eq!(
        crate::support::http_get(&format!("{base}/health")).map(|(s, _)| s),
        Some(200),
        "the server is alive after the flood"
    );
    assert!(
        server.terminate(),
        "the server stops cleanly after the flood"
    );
}

#[test]
fn a_collection_named_twice_is_refused_so_a_large_filter_is_not_compiled_over_and_over() {
    let reply = post(
        "/search",
        &json!({"collections": vec!["manholes"; 1000], "intersects": circle(8), "filter": "diameter_mm > 600"}),
    );
    assert_problem(&reply, 400, Some("collections"));
    assert!(
        reply.json()["detail"]
            .as_str()
            .unwrap()
            .contains("at most once")
    );
}

#[test]
fn a_filtered_items_query_runs_on_the_analysis_pool_within_its_budget() {
    use citygrid::api::{AppState, router};
    use citygrid::service::analysis::{AnalysisPool, PoolSettings};

    // A pool whose budget is spent before any work starts: every filtered page answers 504,
    // while plain paging (no filter) never goes through the pool.
    let spent = router(
        AppState::new(
            Arc::clone(&crate::support::demo().catalog),
            crate::support::BASE,
        )
        .with_analysis(Arc::new(AnalysisPool::new(PoolSettings {
            workers: 1,
            queue: 0,
            timeout: Duration::ZERO,
        }))),
    );
    let on_spent = |uri: &str| {
        crate::support::send_to(
            &crate::support::demo().runtime,
            &spent,
            Request::get(uri).body(Body::empty()).unwrap(),
        )
    };
    let filtered = format!(
        "/collections/manholes/items?limit=5&{}",
        encoded(
            "S_INTERSECTS(geometry, POLYGON((113.6 34.6, 113.9 34.6, 113.9 34.9, 113.6 34.9, 113.6 34.6)))"
        )
    );
    assert_problem(&on_spent(&filtered), 504, None);
    assert_eq!(on_spent("/collections/manholes/items?limit=5").status, 200);
    // With the default pool the same filter answers its page.
    let reply = get(&filtered);
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["features"].as_array().unwrap().len(), 5);
}
