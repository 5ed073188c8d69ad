//! `/`, `/conformance`, `/api`, `/health`, `/ready`, `/map/` and the problems of unknown routes.

use crate::support::{BASE, assert_problem, get, get_with, send};
use axum::body::Body;
use axum::http::Request;

#[test]
fn the_landing_page_links_everything_ogc_requires_with_absolute_urls() {
    let reply = get("/");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.content_type(), "application/json");
    let doc = reply.json();
    let links = doc["links"].as_array().unwrap();
    for rel in ["self", "service-desc", "service-doc", "conformance", "data"] {
        let link = links
            .iter()
            .find(|l| l["rel"] == rel)
            .unwrap_or_else(|| panic!("no {rel} link"));
        assert!(link["href"].as_str().unwrap().starts_with(BASE), "{link}");
    }
    let desc = links.iter().find(|l| l["rel"] == "service-desc").unwrap();
    assert_eq!(desc["type"], "application/vnd.oai.openapi+json;version=3.0");
    assert_eq!(
        links.iter().find(|l| l["rel"] == "data").unwrap()["href"],
        format!("{BASE}/collections")
    );
}

#[test]
fn browsers_get_html_and_f_overrides_the_accept_header() {
    let html = get_with(
        "/",
        &[("accept", "text/html,application/xhtml+xml,*/*;q=0.8")],
    );
    assert!(html.content_type().starts_with("text/html"));
    assert!(html.text().contains("/collections"));
    let json = get_with("/?f=json", &[("accept", "text/html")]);
    assert_eq!(json.content_type(), "application/json");
}

#[test]
fn an_unknown_format_is_a_400_naming_f() {
    assert_problem(&get("/collections?f=xml"), 400, Some("f"));
}

#[test]
fn conformance_declares_core_geojson_html_and_oas30() {
    let doc = get("/conformance").json();
    let classes: Vec<&str> = doc["conformsTo"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for class in ["core", "geojson", "html", "oas30"] {
        assert!(classes.contains(
            &format!("http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/{class}").as_str()
        ));
    }
}

#[test]
fn conformance_declares_filtering_and_the_cql2_classes_tested_by_the_standard_cases() {
    let doc = get("/conformance").json();
    let classes: Vec<&str> = doc["conformsTo"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for class in [
        "queryables",
        "queryables-query-parameters",
        "filter",
        "features-filter",
    ] {
        let uri = format!("http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/{class}");
        assert!(classes.contains(&uri.as_str()), "{uri}");
    }
    for class in [
        "cql2-text",
        "cql2-json",
        "basic-cql2",
        "advanced-comparison-operators",
        "basic-spatial-functions",
        "basic-spatial-functions-plus",
        "spatial-functions",
        "temporal-functions",
    ] {
        let uri = format!("http://www.opengis.net/spec/cql2/1.0/conf/{class}");
        assert!(classes.contains(&uri.as_str()), "{uri}");
    }
    assert!(
        !classes
            .iter()
            .any(|c| c.ends_with("/array-functions") || c.ends_with("/conf/functions")),
        "array and custom functions are not implemented"
    );
}

#[test]
fn the_api_document_is_openapi_3_with_the_limit_parameter_as_ogc_asks() {
    let reply = get("/api");
    assert_eq!(
        reply.content_type(),
        "application/vnd.oai.openapi+json;version=3.0"
    );
    let doc = reply.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.0"));
    let limit = &doc["components"]["parameters"]["limit"];
    assert_eq!(limit["schema"]["default"], 10);
    assert_eq!(limit["schema"]["maximum"], 10_000);
    assert_eq!(limit["in"], "query");
    // Every route of the service is described, and each collection's items path lists its properties.
    for path in [
        "/",
        "/conformance",
        "/api",
        "/collections",
        "/collections/{collectionId}",
        "/collections/{collectionId}/queryables",
        "/collections/{collectionId}/items",
        "/collections/{collectionId}/items/{featureId}",
        "/health",
        "/ready",
    ] {
        assert!(doc["paths"][path]["get"].is_object(), "{path} missing");
    }
    let manholes = doc["paths"]["/collections/manholes/items"]["get"]["parameters"]
        .as_array()
        .unwrap();
    for parameter in [
        "filter",
        "filter-lang",
        "filter-crs",
        "sortby",
        "properties",
    ] {
        assert!(
            manholes
                .iter()
                .any(|p| p["$ref"] == format!("#/components/parameters/{parameter}")),
            "{parameter} missing"
        );
    }
    let status = manholes.iter().find(|p| p["name"] == "status").unwrap();
    assert!(
        status["schema"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == "damaged")
    );
    // Every $ref resolves.
    let text = doc.to_string();
    for reference in text.split("\"$ref\":\"#/").skip(1) {
        let pointer = format!("/{}", &reference[..reference.find('"').unwrap()]);
        assert!(doc.pointer(&pointer).is_some(), "dangling $ref {pointer}");
    }
}

#[test]
fn health_and_readiness_answer() {
    assert_eq!(get("/health").json()["status"], "ok");
    let ready = get("/ready").json();
    assert_eq!(ready["status"], "ready");
    assert!(ready["features"].as_u64().unwrap() > 20_000);
}

#[test]
fn the_map_page_is_served_and_links_the_api() {
    let reply = get("/map/");
    assert!(reply.content_type().starts_with("text/html"));
    assert!(reply.text().contains("/collections"));
    assert_eq!(get("/map").status, 308);
}

#[test]
fn every_viewer_file_is_served_with_its_type() {
    let root = crate::support::repo().join("map-ui");
    let mut files = vec![];
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    assert!(files.len() >= 10, "{files:?}");
    for path in files {
        let relative = path.strip_prefix(&root).unwrap().to_str().unwrap();
        let reply = get(&format!("/map/{relative}"));
        assert_eq!(reply.status, 200, "/map/{relative} is served");
        assert_eq!(
            reply.body,
            std::fs::read(&path).unwrap(),
            "/map/{relative} is the file"
        );
        let expected = match path.extension().and_then(|e| e.to_str()) {
            Some("js") => "text/javascript",
            Some("css") => "text/css",
            Some("html") => "text/html",
            _ => "text/plain",
        };
        assert!(reply.content_type().starts_with(expected), "{relative}");
        let cache = reply.headers["cache-control"].to_str().unwrap();
        assert_eq!(
            cache.contains("immutable"),
            relative.starts_with("vendor/"),
            "{relative}: {cache}"
        );
    }
    assert_eq!(get("/map/nothing.js").status, 404);
}

#[test]
fn the_viewer_has_no_basemap_unless_configured() {
    let reply = get("/map/config.json");
    assert!(reply.content_type().starts_with("application/json"));
    assert!(reply.json()["basemap"].is_null());
}

#[test]
fn an_unknown_route_is_a_404_problem_and_a_wrong_method_a_405_problem() {
    assert_problem(&get("/nothing/here"), 404, None);
    let reply = send(Request::delete("/collections").body(Body::empty()).unwrap());
    assert_problem(&reply, 405, None);
}

#[test]
fn responses_are_compressed_when_the_client_accepts_it() {
    for encoding in ["gzip", "br"] {
        let reply = get_with(
            "/collections/manholes/items?limit=100",
            &[("accept-encoding", encoding)],
        );
        assert_eq!(reply.headers["content-encoding"], encoding);
    }
    let plain = get("/collections/manholes/items?limit=100");
    assert!(plain.headers.get("content-encoding").is_none());
}

#[test]
fn cors_allows_any_origin_to_read() {
    let reply = get_with("/collections", &[("origin", "http://viewer.example")]);
    assert_eq!(reply.headers["access-control-allow-origin"], "*");
    let preflight = send(
        Request::options("/collections/manholes/items")
            .header("origin", "http://viewer.example")
            .header("access-control-request-method", "GET")
            .body(Body::empty())
            .unwrap(),
    );
    assert!(preflight.status.is_success());
}
