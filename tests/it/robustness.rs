//! No input crashes the server: arbitrary query strings and paths get a 2xx or a 4xx problem,
//! never a 5xx.

use proptest::prelude::*;

use crate::support::get;

fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("limit".to_owned()),
        Just("offset".to_owned()),
        Just("bbox".to_owned()),
        Just("datetime".to_owned()),
        Just("status".to_owned()),
        Just("diameter_mm".to_owned()),
        Just("f".to_owned()),
        "[a-z_-]{1,8}",
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "-?[0-9]{1,12}",
        "-?[0-9]{1,3}\\.[0-9]{1,8}(,-?[0-9]{1,3}\\.[0-9]{0,8}){0,6}",
        "[0-9]{4}-[0-9]{2}-[0-9]{2}(/\\.\\.)?",
        "\\PC{0,12}",
        Just("NaN".to_owned()),
        Just("1e309".to_owned()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_item_queries_never_cause_a_server_error(pairs in proptest::collection::vec((piece(), value()), 0..4)) {
        let query = serde_urlencoded::to_string(&pairs).unwrap();
        for collection in ["manholes", "grid_cells"] {
            let reply = get(&format!("/collections/{collection}/items?{query}"));
            prop_assert!(reply.status.as_u16() < 500, "{} → {} {}", query, reply.status, reply.text());
            if !reply.status.is_success() {
                prop_assert_eq!(reply.content_type(), "application/problem+json");
            }
        }
    }

    #[test]
    fn arbitrary_paths_never_cause_a_server_error(path in "(/[a-zA-Z0-9_%.~-]{0,12}){1,5}") {
        let reply = get(&path);
        prop_assert!(reply.status.as_u16() < 500, "{} → {}", path, reply.status);
    }
}

#[test]
fn every_kind_of_error_the_router_can_answer_is_a_problem_document() {
    use axum::body::Body;
    use axum::http::Request;

    use crate::support::send;

    let login_flood = format!(
        r#"{{"username":"{}","password":"x"}}"#,
        "a".repeat(64 << 10)
    );
    let requests: Vec<(&str, &str, &str, String, u16)> = vec![
        // Invalid UTF-8 in a path segment: axum's path rejection.
        ("GET", "/collections/%FF/items", "", String::new(), 400),
        (
            "GET",
            "/collections/manholes/items/%C3%28",
            "",
            String::new(),
            400,
        ),
        ("GET", "/cases/%FF", "", String::new(), 401),
        // The fallback and a method the route does not have.
        ("GET", "/no/such/thing", "", String::new(), 404),
        ("DELETE", "/collections", "", String::new(), 405),
        ("PUT", "/search", "", String::new(), 405),
        // A body over the login's limit, and JSON that is not JSON.
        ("POST", "/auth/login", "application/json", login_flood, 413),
        (
            "POST",
            "/auth/login",
            "application/json",
            "{".to_owned(),
            400,
        ),
        ("POST", "/search", "application/json", "{".to_owned(), 400),
        // A query string that is not form-encoded pairs.
        (
            "GET",
            "/collections/manholes/items?limit=%FF",
            "",
            String::new(),
            400,
        ),
    ];
    for (method, uri, content_type, body, status) in requests {
        let mut request = Request::builder().method(method).uri(uri);
        if !content_type.is_empty() {
            request = request.header("content-type", content_type);
        }
        let reply = send(request.body(Body::from(body)).unwrap());
        assert_eq!(
            reply.status.as_u16(),
            status,
            "{method} {uri}: {}",
            reply.text()
        );
        assert_eq!(
            reply.content_type(),
            "application/problem+json",
            "{method} {uri}: {}",
            reply.text()
        );
        let problem = reply.json();
        assert_eq!(problem["status"], status, "{method} {uri}: {problem}");
        assert!(
            problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{method} {uri}: {problem}"
        );
    }
}
