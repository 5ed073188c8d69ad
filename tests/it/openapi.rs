//! The OpenAPI document against the router. The router's routes are read from where they are
//! declared in `src/api/` (the handlers' `#[utoipa::path]`, which `routes!` routes, and any plain
//! `.route(…)` call), so a route without documentation fails here; every documented operation
//! must exist; and a schemathesis-style walk sends each documented GET operation valid and
//! invalid values of its documented parameters and checks the answers against the document:
//! no 5xx, only documented statuses, 2xx JSON bodies valid against the documented schema, and
//! 4xx JSON bodies that are problems (unless the operation documents another error shape).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use citygrid::api::{AppState, router};
use citygrid::model::{NewUser, Role, Username};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;

use crate::support::{BASE, add_user_and_log_in, demo, repo, send_to};

/// Values of `{name}` placeholders in `format!` route paths.
const FORMAT_VALUES: [(&str, &str); 2] =
    [("tms", "/WebMercatorQuad"), ("TMS_ID", "WebMercatorQuad")];

/// Methods a route can be declared with.
const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

/// The source of `src/api/**/*.rs` without test modules.
fn api_sources() -> Vec<(String, String)> {
    fn walk(dir: &std::path::Path, files: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, files);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&repo().join("src/api"), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let code = text
                .split("#[cfg(test)]")
                .next()
                .unwrap_or_default()
                .to_owned();
            (p.display().to_string(), code)
        })
        .collect()
}

/// Reads a string literal starting at `text[0] == '"'`; its value and the bytes it spans.
fn string_literal(text: &str) -> (String, usize) {
    let mut value = String::new();
    let mut chars = text.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return (value, i + 1),
            '\\' => {
                if let Some((_, escaped)) = chars.next() {
                    value.push(escaped);
                }
            }
            c => value.push(c),
        }
    }
    panic!(
        "unterminated string literal: {}",
        &text[..text.len().min(80)]
    );
}

/// The value of a `format!` string with the known placeholders filled in.
fn format_value(template: &str, file: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
        } else if tail.starts_with('{') {
            let end = tail.find('}').unwrap();
            let name = &tail[1..end];
            let value = FORMAT_VALUES
                .iter()
                .find(|(n, _)| *n == name)
                .unwrap_or_else(|| {
                    panic!("{file}: route path placeholder {{{name}}} is unknown: add it to FORMAT_VALUES in tests/it/openapi.rs")
                })
                .1;
            out.push_str(value);
            rest = &tail[end + 1..];
        } else {
            panic!("{file}: unbalanced brace in a route path: {template}");
        }
    }
    out.push_str(rest);
    out
}

/// Every (method, path) the router declares with `.route(path, …)` in `src/api/`.
fn router_routes() -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (file, code) in api_sources() {
        let mut rest = code.as_str();
        while let Some(at) = rest.find(".route(") {
            let call = &rest[at + ".route(".len()..];
            let start = call.trim_start();
            let skipped = call.len() - start.len();
            let (path, used) = if start.starts_with('"') {
                string_literal(start)
            } else if let Some(f) = start.strip_prefix("&format!(") {
                let literal = f.trim_start();
                let (template, used) = string_literal(literal);
                // Past the parenthesis that closes `format!(`.
                let close = literal[used..]
                    .find(')')
                    .unwrap_or_else(|| panic!("{file}: unclosed format! in a route path"));
                let consumed = start.len() - literal.len() + used + close + 1;
                (format_value(&template, &file), consumed)
            } else {
                panic!(
                    "{file}: a route path that is neither a literal nor format!: {}",
                    &start[..start.len().min(60)]
                );
            };
            // The method router: up to the parenthesis closing `.route(`.
            let args = &start[used..];
            let mut depth = 1;
            let mut end = args.len();
            let mut in_string = false;
            let mut previous = ' ';
            for (i, c) in args.char_indices() {
                match c {
                    '"' if previous != '\\' => in_string = !in_string,
                    '(' if !in_string => depth += 1,
                    ')' if !in_string => {
                        depth -= 1;
                        if depth == 0 {
                            end = i;
                            break;
                        }
                    }
                    _ => {}
                }
                previous = c;
            }
            let methods = &args[..end];
            let mut found = false;
            for method in METHODS {
                let needle = format!("{method}(");
                let mut from = 0;
                while let Some(i) = methods[from..].find(&needle) {
                    let i = from + i;
                    let before = methods[..i].chars().next_back().unwrap_or(' ');
                    if !(before.is_alphanumeric() || before == '_') {
                        routes.insert((method.to_owned(), path.clone()));
                        found = true;
                    }
                    from = i + needle.len();
                }
            }
            assert!(found, "{file}: no method found for route {path}");
            rest = &call[skipped + used + end..];
        }
    }
    routes.extend(annotated_routes());
    assert!(routes.len() > 30, "too few routes found: {routes:?}");
    routes
}

/// Every (method, path) of a handler annotated `#[utoipa::path(method, path = "…")]` in
/// `src/api/`: what `utoipa_axum::routes!` adds to the router.
fn annotated_routes() -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (file, code) in api_sources() {
        let mut rest = code.as_str();
        while let Some(at) = rest.find("#[utoipa::path(") {
            let attribute = &rest[at + "#[utoipa::path(".len()..];
            let method: String = attribute
                .trim_start()
                .chars()
                .take_while(char::is_ascii_alphabetic)
                .collect();
            assert!(
                METHODS.contains(&method.as_str()),
                "{file}: #[utoipa::path] without a method first: {}",
                &attribute[..attribute.len().min(60)]
            );
            let path_at = attribute
                .find("path = ")
                .unwrap_or_else(|| panic!("{file}: #[utoipa::path] without path"));
            let (path, _) = string_literal(&attribute[path_at + "path = ".len()..]);
            routes.insert((method, path.replace("{*", "{")));
            rest = attribute;
        }
    }
    routes
}

/// A path with every templated segment replaced by `{}`: `/a/{x}.json` → `/a/{}`.
fn shape(path: &str) -> String {
    path.split('/')
        .map(|s| if s.contains('{') { "{}" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

/// The names of a path's templates: `/a/{x}/{y}.json` → `[x, y]`.
fn templates(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|s| {
            let start = s.find('{')?;
            let end = s.find('}')?;
            Some(s[start + 1..end].trim_start_matches('*').to_owned())
        })
        .collect()
}

/// `value` with a local `$ref` followed.
fn resolve<'a>(document: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            document
                .pointer(pointer)
                .unwrap_or_else(|| panic!("dangling $ref {reference}"))
        }
        None => value,
    }
}

/// The parameters of an operation (the path item's and its own), references followed.
fn parameters<'a>(document: &'a Value, item: &'a Value, operation: &'a Value) -> Vec<&'a Value> {
    let mut all: Vec<&Value> = Vec::new();
    for list in [&item["parameters"], &operation["parameters"]] {
        for p in list.as_array().into_iter().flatten() {
            all.push(resolve(document, p));
        }
    }
    all
}

/// The served document.
fn document() -> Value {
    let demo = demo();
    let reply = send_to(
        &demo.runtime,
        &demo.router,
        Request::get("/api?f=json").body(Body::empty()).unwrap(),
    );
    assert_eq!(reply.status, 200);
    reply.json()
}

/// The documented operations: (method, path) → (path item, operation).
fn operations(document: &Value) -> BTreeMap<(String, String), (&Value, &Value)> {
    let mut all = BTreeMap::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                all.insert((method.to_owned(), path.clone()), (item, operation));
            }
        }
    }
    all
}

#[test]
fn every_route_of_the_router_is_documented_with_its_path_parameters() {
    let document = document();
    let operations = operations(&document);
    let mut missing = Vec::new();
    for (method, path) in router_routes() {
        let documented = operations
            .keys()
            .any(|(m, p)| *m == method && shape(p) == shape(&path));
        if !documented {
            missing.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    assert!(
        missing.is_empty(),
        "routes missing from the OpenAPI document: {missing:#?}"
    );
    let mut undeclared = Vec::new();
    for ((method, path), (item, operation)) in &operations {
        let declared = parameters(&document, item, operation);
        for name in templates(path) {
            let ok = declared
                .iter()
                .any(|p| p["in"] == "path" && p["name"] == name.as_str() && p["required"] == true);
            if !ok {
                undeclared.push(format!("{} {path}: {{{name}}}", method.to_uppercase()));
            }
        }
        assert!(
            operation["responses"]
                .as_object()
                .is_some_and(|r| !r.is_empty()),
            "{method} {path} documents no response"
        );
    }
    assert!(
        undeclared.is_empty(),
        "path parameters not declared as required path parameters: {undeclared:#?}"
    );
}

/// A value for each template of `path`, from the parameter's example or enumeration.
fn fill(path: &str, declared: &[&Value], invalid: Option<&str>) -> String {
    let mut out = path.to_owned();
    for name in templates(path) {
        let p = declared
            .iter()
            .find(|p| p["in"] == "path" && p["name"] == name.as_str());
        let value = invalid.map_or_else(
            || p.and_then(|p| example(p)).unwrap_or_else(|| "1".to_owned()),
            str::to_owned,
        );
        let placeholder = format!("{{{name}}}");
        out = out.replace(&placeholder, &value);
    }
    out
}

/// A parameter's example (its own, its schema's, or the first of its enumeration).
fn example(parameter: &Value) -> Option<String> {
    let schema = &parameter["schema"];
    [
        &parameter["example"],
        &schema["example"],
        &schema["enum"][0],
        &schema["default"],
    ]
    .into_iter()
    .find(|v| !v.is_null())
    .map(text)
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[test]
fn every_documented_operation_exists_in_the_router() {
    let document = document();
    let demo = demo();
    let mut absent = Vec::new();
    for ((method, path), (item, operation)) in operations(&document) {
        let declared = parameters(&document, item, operation);
        let uri = fill(&path, &declared, None);
        // Anonymous and without a body: enough to tell a route from the fallback without
        // changing anything.
        let reply = send_to(
            &demo.runtime,
            &demo.router,
            Request::builder()
                .method(method.to_uppercase().as_str())
                .uri(&uri)
                .body(Body::empty())
                .unwrap(),
        );
        let fallback = reply.status == 404 && reply.text().contains("GET / lists what is here");
        if reply.status == 405 || fallback {
            absent.push(format!(
                "{} {path} ({uri}): {}",
                method.to_uppercase(),
                reply.status
            ));
        }
    }
    assert!(
        absent.is_empty(),
        "documented operations the router does not have: {absent:#?}"
    );
}

/// A router on the demo district, and an administrator's token.
static ADMIN: LazyLock<(Router, String)> = LazyLock::new(|| own_admin("openapi-admin"));

/// Valid values of a query parameter: example, enumeration, default, bounds.
fn valid_values(parameter: &Value) -> Vec<String> {
    let schema = &parameter["schema"];
    let mut values: Vec<String> = Vec::new();
    for v in [
        &parameter["example"],
        &schema["example"],
        &schema["default"],
        &schema["minimum"],
        &schema["maximum"],
    ] {
        if !v.is_null() {
            values.push(text(v));
        }
    }
    values.extend(
        schema["enum"]
            .as_array()
            .into_iter()
            .flatten()
            .take(8)
            .map(text),
    );
    if schema["type"] == "boolean" {
        values.extend(["true".to_owned(), "false".to_owned()]);
    }
    values
}

/// Values no parameter should accept quietly, whatever its type.
const INVALID_VALUES: [&str; 9] = [
    "",
    "zz-not-a-value",
    "-1",
    "1e999",
    "NaN",
    "99999999999999999999999",
    ",,,",
    "2025-13-45",
    "\u{0}\u{7f}\u{202e}",
];

/// The statuses an operation documents, and whether any is allowed (`default`).
fn documented_statuses(operation: &Value) -> (BTreeSet<String>, bool) {
    let responses = operation["responses"].as_object().unwrap();
    (
        responses.keys().cloned().collect(),
        responses.contains_key("default"),
    )
}

/// Status, content type and body (an event stream is not read).
fn call(router: &Router, uri: &str, token: Option<&str>) -> (u16, String, Vec<u8>) {
    let mut request = Request::get(uri);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    demo().runtime.block_on(async {
        let response = router
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        if content_type.starts_with("text/event-stream") {
            return (status, content_type, Vec::new());
        }
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        (status, content_type, body)
    })
}

/// Checks one answer against the operation's documentation; a description of what is wrong.
fn check(document: &Value, operation: &Value, answer: &(u16, String, Vec<u8>)) -> Option<String> {
    let (status, content_type, body) = answer;
    if *status >= 500 {
        return Some(format!("{status}: {}", String::from_utf8_lossy(body)));
    }
    let (statuses, any) = documented_statuses(operation);
    let code = status.to_string();
    let range = format!("{}XX", code.chars().next().unwrap());
    if !any && !statuses.contains(&code) && !statuses.contains(&range) {
        return Some(format!(
            "status {status} is not documented (documented: {statuses:?}): {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        ));
    }
    if (200..300).contains(status) && content_type.contains("json") && !body.is_empty() {
        return schema_mismatch(document, operation, &code, content_type, body);
    }
    if (400..500).contains(status) && content_type.contains("json") {
        let media = content_type.split(';').next().unwrap_or("").trim();
        let response = operation["responses"]
            .get(&code)
            .map(|r| resolve(document, r));
        let documented_other = response
            .and_then(|r| r["content"].as_object())
            .is_some_and(|c| c.contains_key(media) && media != "application/problem+json");
        if media != "application/problem+json" && !documented_other {
            return Some(format!("a {status} answered {content_type}, not a problem"));
        }
    }
    None
}

/// `schema` (OpenAPI 3.0) as JSON Schema 2020-12: `nullable: true` admits `null`.
fn json_schema(schema: &Value) -> Value {
    match schema {
        Value::Array(items) => Value::Array(items.iter().map(json_schema).collect()),
        Value::Object(object) => {
            let mut out: serde_json::Map<String, Value> = object
                .iter()
                .filter(|(k, _)| *k != "nullable" && *k != "example")
                .map(|(k, v)| (k.clone(), json_schema(v)))
                .collect();
            if object.get("nullable") == Some(&Value::Bool(true)) {
                return json!({ "anyOf": [{ "type": "null" }, Value::Object(out)] });
            }
            // `properties` maps names to schemas: a property called `nullable` or `example`
            // is kept.
            if let Some(Value::Object(properties)) = object.get("properties") {
                out.insert(
                    "properties".into(),
                    Value::Object(
                        properties
                            .iter()
                            .map(|(k, v)| (k.clone(), json_schema(v)))
                            .collect(),
                    ),
                );
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// Whether a 2xx JSON `body` fits the schema the operation documents for `status` and its
/// media type; a description of the first disagreements when not.
fn schema_mismatch(
    document: &Value,
    operation: &Value,
    status: &str,
    content_type: &str,
    body: &[u8],
) -> Option<String> {
    let Some(response) = operation["responses"].get(status) else {
        return Some(format!("no response {status} documented"));
    };
    let response = resolve(document, response);
    let media = content_type.split(';').next().unwrap_or("").trim();
    let content = &response["content"];
    let Some(documented) = content
        .as_object()
        .and_then(|c| c.iter().find(|(m, _)| m.split(';').next() == Some(media)))
    else {
        return Some(format!(
            "{media} is not among the documented media types {:?}",
            content.as_object().map(|c| c.keys().collect::<Vec<_>>())
        ));
    };
    let schema = &documented.1["schema"];
    if schema.is_null() {
        return Some(format!("{status} {media} documents no schema"));
    }
    let mut root = json_schema(schema);
    if let Value::Object(root) = &mut root {
        root.insert("components".into(), json_schema(&document["components"]));
    }
    let validator = jsonschema::draft202012::new(&root)
        .unwrap_or_else(|e| panic!("the documented schema does not compile: {e}: {root}"));
    let instance: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return Some(format!("the body is not JSON: {e}")),
    };
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .take(3)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    (!errors.is_empty()).then(|| format!("the body disagrees with its schema: {errors:?}"))
}

#[test]
fn generated_requests_from_the_documented_parameters_get_documented_answers() {
    let document = document();
    let (router, token) = &*ADMIN;
    let mut failures: Vec<String> = Vec::new();
    let mut sent = 0;
    for ((method, path), (item, operation)) in operations(&document) {
        if method != "get" {
            continue;
        }
        let declared = parameters(&document, item, operation);
        let base = fill(&path, &declared, None);
        let mut uris: Vec<String> = vec![base.clone(), format!("{base}?zz_unknown=1")];
        if !templates(&path).is_empty() {
            uris.push(fill(&path, &declared, Some("%FF")));
            uris.push(fill(&path, &declared, Some("zz-unknown")));
        }
        let required: Vec<(String, String)> = declared
            .iter()
            .filter(|p| p["in"] == "query" && p["required"] == true)
            .filter_map(|p| Some((p["name"].as_str()?.to_owned(), example(p)?)))
            .collect();
        for p in declared.iter().filter(|p| p["in"] == "query") {
            let name = p["name"].as_str().unwrap();
            let values = valid_values(p)
                .into_iter()
                .chain(INVALID_VALUES.iter().map(|v| (*v).to_owned()));
            for value in values {
                let mut pairs: Vec<(String, String)> = required
                    .iter()
                    .filter(|(n, _)| n != name)
                    .cloned()
                    .collect();
                pairs.push((name.to_owned(), value));
                uris.push(format!(
                    "{base}?{}",
                    serde_urlencoded::to_string(&pairs).unwrap()
                ));
            }
            // Not UTF-8 once decoded.
            uris.push(format!("{base}?{name}=%FF%FE"));
        }
        for uri in uris {
            for who in [Some(token.as_str()), None] {
                let answer = call(router, &uri, who);
                sent += 1;
                if let Some(problem) = check(&document, operation, &answer) {
                    failures.push(format!(
                        "GET {uri} ({}): {problem}",
                        if who.is_some() { "admin" } else { "anonymous" }
                    ));
                }
            }
        }
    }
    assert!(sent > 500, "only {sent} requests were generated");
    assert!(
        failures.is_empty(),
        "{} of {sent} answers disagree with the OpenAPI document:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A router on the demo district with its own administrator (so that a logout here does not
/// end the session the other tests use), and the administrator's token.
fn own_admin(name: &str) -> (Router, String) {
    let state = AppState::new(demo().catalog.clone(), BASE);
    let router = router(state.clone());
    let user = NewUser {
        username: Username::parse(name).unwrap(),
        display_name: "OpenAPI".into(),
        role: Role::Admin,
        unit: None,
        cells: vec![],
    };
    let token = add_user_and_log_in(&state, &router, user, "openapi-admin-password");
    (router, token)
}

/// The example request body an operation documents, with its media type.
fn request_example(document: &Value, operation: &Value) -> Option<(String, String)> {
    let body = resolve(document, operation.get("requestBody")?);
    let (media, content) = body["content"].as_object()?.iter().next()?;
    let schema = resolve(document, &content["schema"]);
    let example = [&content["example"], &schema["example"]]
        .into_iter()
        .find(|v| !v.is_null())?;
    let text = match example {
        Value::String(s) if !media.contains("json") => s.clone(),
        other => other.to_string(),
    };
    Some((media.clone(), text))
}

#[test]
fn documented_request_examples_get_answers_valid_against_the_documented_schemas() {
    let document = document();
    // The administrator is the one the login example names, so that the example logs in.
    let login = &document["paths"]["/auth/login"]["post"];
    let (_, credentials) = request_example(&document, login).expect("the login example");
    let credentials: Value = serde_json::from_str(&credentials).unwrap();
    let state = AppState::new(demo().catalog.clone(), BASE);
    let router = router(state.clone());
    let user = NewUser {
        username: Username::parse(credentials["username"].as_str().unwrap()).unwrap(),
        display_name: "OpenAPI".into(),
        role: Role::Admin,
        unit: None,
        cells: vec![],
    };
    let password = credentials["password"].as_str().unwrap();
    let token = add_user_and_log_in(&state, &router, user, password);
    let mut failures: Vec<String> = Vec::new();
    let mut sent = Vec::new();
    let mut operations: Vec<_> = operations(&document)
        .into_iter()
        .filter(|((method, _), _)| method != "get")
        .collect();
    // The logout ends the session: last.
    operations.sort_by_key(|((_, path), _)| path.contains("logout"));
    for ((method, path), (item, operation)) in operations {
        let Some((media, body)) = request_example(&document, operation) else {
            continue;
        };
        let declared = parameters(&document, item, operation);
        let uri = fill(&path, &declared, None);
        let request = Request::builder()
            .method(method.to_uppercase().as_str())
            .uri(&uri)
            .header("content-type", media)
            .header("authorization", format!("Bearer {token}"))
            .body(Body::from(body))
            .unwrap();
        let reply = send_to(&demo().runtime, &router, request);
        let content_type = reply.content_type().to_owned();
        let answer = (reply.status.as_u16(), content_type, reply.body.clone());
        sent.push(format!("{} {path}: {}", method.to_uppercase(), answer.0));
        if !(200..300).contains(&answer.0) {
            failures.push(format!(
                "{} {uri}: the documented example was refused: {} {}",
                method.to_uppercase(),
                answer.0,
                String::from_utf8_lossy(&answer.2)
            ));
        } else if let Some(problem) = check(&document, operation, &answer) {
            failures.push(format!("{} {uri}: {problem}", method.to_uppercase()));
        }
    }
    // Login, locate, search, summary, report a case, register a unit.
    assert!(sent.len() >= 6, "too few documented examples: {sent:#?}");
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn an_answer_that_disagrees_with_its_documented_schema_is_caught() {
    let document = document();
    let landing = &document["paths"]["/"]["get"];
    let good = br#"{"title": "t", "description": "d", "attribution": null, "links": [{"href": "/", "rel": "self"}]}"#;
    assert_eq!(
        schema_mismatch(&document, landing, "200", "application/json", good),
        None
    );
    let bad = br#"{"title": 1, "links": "none"}"#;
    assert!(schema_mismatch(&document, landing, "200", "application/json", bad).is_some());
    let collections = &document["paths"]["/collections"]["get"];
    let no_collections = br#"{"links": []}"#;
    assert!(
        schema_mismatch(
            &document,
            collections,
            "200",
            "application/json",
            no_collections
        )
        .is_some()
    );
}
