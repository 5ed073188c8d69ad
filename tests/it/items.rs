//! `/collections/{id}/items` and `/collections/{id}/items/{featureId}`.

use std::collections::HashSet;

use geo::{Intersects, Rect, coord};
use rand::{Rng, SeedableRng};
use serde_json::Value;

use crate::support::{BASE, assert_problem, demo, get, get_with, local};

/// Follows `next` links from `first` and returns every feature id met, and numberMatched.
fn walk(first: &str) -> (Vec<String>, u64) {
    let mut ids = Vec::new();
    let mut next = Some(first.to_owned());
    let mut matched = None;
    while let Some(uri) = next {
        let page = get(&uri);
        assert_eq!(page.status, 200, "{}", page.text());
        let doc = page.json();
        let features = doc["features"].as_array().unwrap();
        assert_eq!(
            doc["numberReturned"].as_u64().unwrap() as usize,
            features.len()
        );
        let this_matched = doc["numberMatched"].as_u64().unwrap();
        assert_eq!(
            *matched.get_or_insert(this_matched),
            this_matched,
            "numberMatched changed between pages"
        );
        ids.extend(
            features
                .iter()
                .map(|f| f["id"].as_str().unwrap().to_owned()),
        );
        next = doc["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "next")
            .map(|l| local(l["href"].as_str().unwrap()));
    }
    (ids, matched.unwrap_or(0))
}

#[test]
fn walking_every_page_gives_exactly_number_matched_features_equal_to_the_store() {
    let (ids, matched) = walk("/collections/manholes/items?limit=2000");
    let demo = demo();
    let stored = demo.runtime.block_on(async {
        demo.catalog
            .store()
            .count(&citygrid::model::CollectionId::parse("manholes").unwrap())
            .await
            .unwrap()
    });
    assert_eq!(ids.len() as u64, matched);
    assert_eq!(matched, stored);
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        ids.len(),
        "a feature appeared twice"
    );
}

#[test]
fn paging_a_filtered_query_keeps_the_filter() {
    let (ids, matched) = walk("/collections/manholes/items?status=damaged&limit=100");
    assert!(matched > 0);
    assert_eq!(ids.len() as u64, matched);
    let all = demo().catalog.collection("manholes").unwrap();
    let expected = all
        .index
        .iter()
        .filter(|f| f.properties["status"] == "damaged")
        .count();
    assert_eq!(ids.len(), expected);
}

#[test]
fn prev_links_go_back_and_the_first_page_has_none() {
    let first = get("/collections/roads/items?limit=5").json();
    assert!(
        !first["links"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["rel"] == "prev")
    );
    let second = get("/collections/roads/items?limit=5&offset=5").json();
    let prev = second["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "prev")
        .unwrap();
    assert_eq!(
        prev["href"],
        format!("{BASE}/collections/roads/items?limit=5&offset=0")
    );
}

fn brute_force(collection: &str, rect: Rect<f64>) -> Vec<String> {
    let c = demo().catalog.collection(collection).unwrap();
    c.index
        .iter()
        .filter(|f| f.geometry.intersects(&rect))
        .map(|f| f.id.to_string())
        .collect()
}

#[test]
fn bbox_results_equal_a_brute_force_exact_intersection_test() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    for collection in ["manholes", "pipelines", "grid_cells", "parks"] {
        for _ in 0..15 {
            let x = rng.random_range(113.64..113.87);
            let y = rng.random_range(34.61..34.77);
            let (w, h) = (
                rng.random_range(0.0005..0.03),
                rng.random_range(0.0005..0.03),
            );
            let rect = Rect::new(coord! { x: x, y: y }, coord! { x: x + w, y: y + h });
            let (ids, matched) = walk(&format!(
                "/collections/{collection}/items?limit=10000&bbox={x},{y},{},{}",
                x + w,
                y + h
            ));
            let mut expected = brute_force(collection, rect);
            let mut got = ids.clone();
            expected.sort();
            got.sort();
            assert_eq!(got, expected, "{collection} bbox {x},{y},{w},{h}");
            assert_eq!(matched as usize, got.len());
        }
    }
}

#[test]
fn a_bbox_with_six_numbers_is_accepted() {
    let four = get("/collections/manholes/items?bbox=113.68,34.74,113.7,34.76").json();
    let six = get("/collections/manholes/items?bbox=113.68,34.74,0,113.7,34.76,100").json();
    assert_eq!(four["numberMatched"], six["numberMatched"]);
}

#[test]
fn a_limit_above_the_maximum_is_clamped_not_rejected() {
    let doc = get("/collections/manholes/items?limit=50000").json();
    assert_eq!(doc["numberReturned"], 10_000);
    let next = doc["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "next")
        .unwrap();
    assert!(next["href"].as_str().unwrap().contains("limit=10000"));
}

#[test]
fn without_limit_a_page_has_ten_features() {
    let doc = get("/collections/manholes/items").json();
    assert_eq!(doc["numberReturned"], 10);
    assert!(doc["timeStamp"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn malformed_parameters_are_400_problems_naming_the_parameter() {
    let cases = [
        ("limit=0", "limit"),
        ("limit=-5", "limit"),
        ("limit=ten", "limit"),
        ("offset=-1", "offset"),
        ("offset=1.5", "offset"),
        ("bbox=1,2,3", "bbox"),
        ("bbox=1,2,3,x", "bbox"),
        ("bbox=0,50,1,10", "bbox"),
        ("bbox=0,0,200,1", "bbox"),
        ("bbox=", "bbox"),
        ("bbox-crs=EPSG:3857", "bbox-crs"),
        ("datetime=yesterday", "datetime"),
        ("datetime=2024-02-01/2024-01-01", "datetime"),
        ("status=broken", "status"),
        ("diameter_mm=wide", "diameter_mm"),
        ("installed_on=2024-13-01", "installed_on"),
        ("colour=red", "colour"),
        ("limit=5&limit=6", "limit"),
        ("f=xml", "f"),
    ];
    for (query, parameter) in cases {
        let reply = get(&format!("/collections/manholes/items?{query}"));
        assert_problem(&reply, 400, Some(parameter));
    }
}

#[test]
fn an_enumeration_violation_lists_the_allowed_values() {
    let problem = get("/collections/manholes/items?status=broken").json();
    assert!(
        problem["allowed"].as_str().unwrap().contains("damaged"),
        "{problem}"
    );
    assert_eq!(problem["value"], "broken");
}

#[test]
fn equality_filters_use_the_property_type() {
    let streets = get("/collections/grid_cells/items?level=street&limit=100").json();
    assert_eq!(streets["numberMatched"], 14);
    let some = demo().catalog.collection("manholes").unwrap();
    let diameter = some.index.iter().next().unwrap().properties["diameter_mm"].clone();
    let doc = get(&format!(
        "/collections/manholes/items?diameter_mm={diameter}&limit=1"
    ))
    .json();
    let expected = some
        .index
        .iter()
        .filter(|f| f.properties["diameter_mm"] == diameter)
        .count();
    assert_eq!(doc["numberMatched"].as_u64().unwrap() as usize, expected);
}

#[test]
fn datetime_selects_the_grid_cells_valid_at_that_time() {
    let count = |query: &str| {
        get(&format!(
            "/collections/grid_cells/items?level=grid&{query}&limit=1"
        ))
        .json()["numberMatched"]
            .as_u64()
            .unwrap()
    };
    let c = demo().catalog.collection("grid_cells").unwrap();
    let grid: Vec<_> = c
        .index
        .iter()
        .filter(|f| f.properties["level"] == "grid")
        .collect();
    let valid_on = |date: &str| {
        grid.iter()
            .filter(|f| {
                f.properties["valid_from"].as_str().unwrap() <= date
                    && f.properties["valid_to"]
                        .as_str()
                        .is_none_or(|to| to >= date)
            })
            .count() as u64
    };
    let dates = [
        "2021-06-01",
        "2023-06-01",
        "2024-06-01",
        "2025-06-01",
        "2026-01-01",
    ];
    let expected: Vec<u64> = dates.iter().map(|d| valid_on(d)).collect();
    assert!(
        expected.windows(2).any(|w| w[0] != w[1]),
        "the demo district has redrawn cells: {expected:?}"
    );
    for (date, want) in dates.iter().zip(&expected) {
        assert_eq!(count(&format!("datetime={date}")), *want, "{date}");
    }
    assert_eq!(count("datetime=2020-01-01T00:00:00Z/.."), grid.len() as u64);
}

#[test]
fn a_feature_has_an_etag_and_if_none_match_gives_304() {
    let first = get("/collections/parks/items?limit=1").json();
    let id = first["features"][0]["id"].as_str().unwrap().to_owned();
    let reply = get(&format!("/collections/parks/items/{id}"));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.content_type(), "application/geo+json");
    let doc = reply.json();
    assert_eq!(doc["id"], id.as_str());
    assert!(doc["properties"]["area_m2"].as_f64().unwrap() > 0.0);
    let links: Vec<&Value> = doc["links"].as_array().unwrap().iter().collect();
    assert!(
        ["self", "alternate", "collection"]
            .iter()
            .all(|rel| links.iter().any(|l| l["rel"] == *rel))
    );
    let etag = reply.headers["etag"].to_str().unwrap().to_owned();
    let again = get_with(
        &format!("/collections/parks/items/{id}"),
        &[("if-none-match", &etag)],
    );
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    let other = get_with(
        &format!("/collections/parks/items/{id}"),
        &[("if-none-match", "\"something-else\"")],
    );
    assert_eq!(other.status, 200);
}

#[test]
fn an_unknown_feature_is_a_404_problem() {
    assert_problem(&get("/collections/parks/items/no-such-park"), 404, None);
    assert_problem(&get("/collections/parks/items/has%20space"), 404, None);
}

#[test]
fn items_render_as_an_html_table_with_paging_links() {
    let html = get_with(
        "/collections/facilities/items?limit=5",
        &[("accept", "text/html")],
    )
    .text();
    assert!(html.contains("<table>") && html.contains("下一页"));
}

#[test]
fn geometry_is_wgs84_with_at_most_seven_decimals() {
    let doc = get("/collections/manholes/items?limit=50").json();
    for f in doc["features"].as_array().unwrap() {
        for n in f["geometry"]["coordinates"].as_array().unwrap() {
            let text = n.to_string();
            let decimals = text.split('.').nth(1).map_or(0, str::len);
            assert!(decimals <= 7, "{text}");
        }
    }
}

#[test]
fn a_cql2_filter_selects_the_same_manholes_as_the_equivalent_bbox_and_equality_parameters() {
    let box_ = "113.67,34.75,113.69,34.77";
    let by_parameters = get(&format!(
        "/collections/manholes/items?bbox={box_}&status=damaged&limit=10000"
    ))
    .json();
    let filter = format!("status = 'damaged' AND S_INTERSECTS(geometry, BBOX({box_}))");
    let encoded: String =
        percent_encoding::utf8_percent_encode(&filter, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    let by_filter = get(&format!(
        "/collections/manholes/items?filter={encoded}&limit=10000"
    ))
    .json();
    let ids = |doc: &Value| -> Vec<String> {
        doc["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(by_parameters["numberMatched"].as_u64().unwrap() > 0);
    assert_eq!(by_filter["numberMatched"], by_parameters["numberMatched"]);
    assert_eq!(ids(&by_filter), ids(&by_parameters));
}

#[test]
fn the_queryables_of_a_built_in_layer_name_its_geometry_and_leave_out_arrays() {
    let doc = get("/collections/grid_cells/queryables").json();
    assert_eq!(
        doc["properties"]["geometry"]["x-ogc-role"],
        "primary-geometry"
    );
    assert_eq!(doc["properties"]["level"]["type"], "string");
    assert!(
        doc["properties"].get("workers").is_none(),
        "an array of strings cannot be filtered, so it is not a queryable"
    );
    assert_problem(
        &get("/collections/grid_cells/items?filter=workers%20IS%20NULL"),
        400,
        Some("filter"),
    );
}
