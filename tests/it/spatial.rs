//! The spatial questions: locate, search, summary, nearest and per-grid statistics, checked
//! against brute-force computations with `geo` on the demo district.

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use geo::{Contains, Distance, Geodesic, Intersects, Length, Point};
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::support::{assert_problem, demo, get, send};

fn post(uri: &str, body: &Value) -> crate::support::Reply {
    send(
        Request::post(uri)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
    )
}

fn current_grid_cells() -> Vec<Arc<citygrid::model::Feature>> {
    let c = demo().catalog.collection("grid_cells").unwrap();
    c.index
        .iter()
        .filter(|f| f.properties["level"] == "grid" && f.properties["valid_to"].is_null())
        .cloned()
        .collect()
}

fn random_points(seed: u64, n: usize) -> Vec<(f64, f64)> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            (
                rng.random_range(113.65..113.86),
                rng.random_range(34.62..34.77),
            )
        })
        .collect()
}

#[test]
fn locate_returns_the_chain_from_district_to_grid_cell_that_contains_the_point() {
    let cells = current_grid_cells();
    let mut located = 0;
    for (lon, lat) in random_points(3, 300) {
        let p = Point::new(lon, lat);
        let expected: Vec<&str> = cells
            .iter()
            .filter(|c| c.geometry.contains(&p))
            .map(|c| c.id.as_str())
            .collect();
        let reply = get(&format!("/grid/locate?lon={lon}&lat={lat}"));
        if expected.is_empty() {
            assert_problem(&reply, 404, None);
            continue;
        }
        located += 1;
        assert_eq!(reply.status, 200, "{}", reply.text());
        let doc = reply.json();
        let chain = doc["chain"].as_array().unwrap();
        let levels: Vec<&str> = chain.iter().map(|c| c["level"].as_str().unwrap()).collect();
        assert_eq!(levels, ["district", "street", "community", "grid"]);
        let grid_code = chain[3]["code"].as_str().unwrap();
        assert_eq!(vec![grid_code], expected, "({lon}, {lat})");
        assert!(grid_code.starts_with(chain[2]["code"].as_str().unwrap()));
        assert!(
            chain[2]["code"]
                .as_str()
                .unwrap()
                .starts_with(chain[1]["code"].as_str().unwrap())
        );
        assert!(chain[3]["workers"].is_array());
    }
    assert!(located > 100, "most random points fall in the district");
}

#[test]
fn a_point_outside_the_district_is_a_404_that_says_so() {
    let reply = get("/grid/locate?lon=116.39&lat=39.9");
    assert_problem(&reply, 404, None);
    assert!(
        reply.json()["detail"]
            .as_str()
            .unwrap()
            .contains("outside every grid cell")
    );
}

#[test]
fn gcj02_and_bd09_positions_locate_like_their_wgs84_original() {
    use citygrid::model::crs::InputCrs;
    let (lon, lat) = (113.69, 34.745);
    let wgs = get(&format!("/grid/locate?lon={lon}&lat={lat}")).json();
    for crs in [InputCrs::Gcj02, InputCrs::Bd09] {
        let (x, y) = crs.from_wgs84(lon, lat);
        let name = if crs == InputCrs::Gcj02 {
            "gcj02"
        } else {
            "bd09"
        };
        let other = get(&format!("/grid/locate?lon={x}&lat={y}&crs={name}")).json();
        assert_eq!(other["chain"][3]["code"], wgs["chain"][3]["code"], "{name}");
        assert!((other["lon"].as_f64().unwrap() - lon).abs() < 1e-7);
    }
}

#[test]
fn locate_at_a_past_date_finds_the_retired_cell() {
    let c = demo().catalog.collection("grid_cells").unwrap();
    let retired = c
        .index
        .iter()
        .find(|f| !f.properties["valid_to"].is_null())
        .unwrap();
    let inside = geo::InteriorPoint::interior_point(&retired.geometry).unwrap();
    let past = get(&format!(
        "/grid/locate?lon={}&lat={}&at=2023-06-01",
        inside.x(),
        inside.y()
    ))
    .json();
    assert_eq!(past["chain"][3]["code"], retired.properties["code"]);
    let now = get(&format!(
        "/grid/locate?lon={}&lat={}&at=2026-01-01",
        inside.x(),
        inside.y()
    ))
    .json();
    assert_ne!(now["chain"][3]["code"], retired.properties["code"]);
}

#[test]
fn locate_rejects_missing_and_malformed_coordinates() {
    assert_problem(&get("/grid/locate?lat=34.7"), 400, Some("lon"));
    assert_problem(&get("/grid/locate?lon=abc&lat=34.7"), 400, Some("lon"));
    assert_problem(&get("/grid/locate?lon=200&lat=34.7"), 400, None);
    assert_problem(
        &get("/grid/locate?lon=113.7&lat=34.7&crs=mars"),
        400,
        Some("crs"),
    );
    assert_problem(
        &get("/grid/locate?lon=113.7&lat=34.7&at=tomorrow"),
        400,
        Some("at"),
    );
    assert_problem(
        &get("/grid/locate?lon=113.7&lat=34.7&zoom=3"),
        400,
        Some("zoom"),
    );
}

#[test]
fn a_gps_track_is_located_point_by_point_in_order() {
    let body = json!({"points": [[113.69, 34.745], [116.39, 39.9], [113.75, 34.70]]});
    let doc = post("/grid/locate", &body).json();
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(
        results[0]["chain"][3]["code"],
        get("/grid/locate?lon=113.69&lat=34.745").json()["chain"][3]["code"]
    );
    assert!(results[1]["chain"].is_null());
    assert_eq!(
        results[2]["chain"][3]["code"],
        get("/grid/locate?lon=113.75&lat=34.7").json()["chain"][3]["code"]
    );
    let too_many = json!({"points": vec![[113.7, 34.7]; 10_001]});
    assert_problem(&post("/grid/locate", &too_many), 400, Some("points"));
    assert_problem(
        &post("/grid/locate", &json!({"points": [[113.7]]})),
        400,
        Some("points[0]"),
    );
}

fn old_town() -> Value {
    json!({"type": "Polygon", "coordinates": [[[113.665, 34.745], [113.695, 34.745], [113.695, 34.765], [113.665, 34.765], [113.665, 34.745]],
        [[113.675, 34.75], [113.68, 34.75], [113.68, 34.755], [113.675, 34.755], [113.675, 34.75]]]})
}

#[test]
fn search_returns_exactly_the_features_a_brute_force_test_finds() {
    let polygon: geo::Geometry<f64> = geojson::Geometry::from_json_value(old_town())
        .unwrap()
        .value
        .try_into()
        .unwrap();
    for collection in ["manholes", "pipelines", "parks"] {
        let c = demo().catalog.collection(collection).unwrap();
        let expected: Vec<String> = c
            .index
            .iter()
            .filter(|f| f.geometry.intersects(&polygon))
            .map(|f| f.id.to_string())
            .collect();
        let doc = post(
            "/search",
            &json!({"collections": [collection], "intersects": old_town(), "limit": 10_000}),
        )
        .json();
        let got: Vec<String> = doc["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(got, expected, "{collection}");
        assert_eq!(
            doc["numberMatched"].as_u64().unwrap() as usize,
            expected.len()
        );
        assert!(
            doc["features"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| f["collection"] == collection)
        );
    }
}

#[test]
fn search_within_a_distance_matches_geodesic_brute_force() {
    let (lon, lat) = (113.68, 34.755);
    let c = demo().catalog.collection("manholes").unwrap();
    let here = Point::new(lon, lat);
    let expected: Vec<String> = c
        .index
        .iter()
        .filter(|f| matches!(f.geometry, geo::Geometry::Point(p) if Geodesic.distance(here, p) <= 150.0))
        .map(|f| f.id.to_string())
        .collect();
    let doc = post("/search", &json!({"collections": "manholes", "intersects": {"type": "Point", "coordinates": [lon, lat]}, "within_distance_m": 150, "limit": 10_000})).json();
    let got: Vec<&str> = doc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(got, expected);
}

#[test]
fn search_pages_with_post_next_links_and_exports_csv_with_wkt() {
    let body = json!({"collections": ["manholes"], "intersects": old_town(), "limit": 50, "properties": ["status", "kind"]});
    let first = post("/search", &body).json();
    assert_eq!(first["numberReturned"], 50);
    let next = first["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "next")
        .unwrap();
    assert_eq!(next["method"], "POST");
    let second = post("/search", &next["body"]).json();
    assert_ne!(second["features"][0]["id"], first["features"][0]["id"]);
    let props = first["features"][0]["properties"].as_object().unwrap();
    assert_eq!(props.keys().collect::<Vec<_>>(), ["kind", "status"]);
    let csv = post("/search?f=csv", &body);
    assert!(csv.content_type().starts_with("text/csv"));
    let text = csv.text();
    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap(), "collection,id,wkt,kind,status");
    let row = lines.next().unwrap();
    assert!(
        row.starts_with("manholes,") && row.contains("POINT"),
        "{row}"
    );
    assert_eq!(text.lines().count(), 51);
}

#[test]
fn search_refuses_bad_requests_with_clear_problems() {
    assert_problem(
        &send(
            Request::post("/search")
                .body(Body::from("not json"))
                .unwrap(),
        ),
        400,
        Some("body"),
    );
    assert_problem(
        &post("/search", &json!({"collections": ["manholes"]})),
        400,
        Some("intersects"),
    );
    assert_problem(
        &post(
            "/search",
            &json!({"collections": ["nope"], "intersects": old_town()}),
        ),
        400,
        Some("collections"),
    );
    assert_problem(
        &post(
            "/search",
            &json!({"collections": ["manholes"], "intersects": old_town(), "predicate": "near"}),
        ),
        400,
        Some("predicate"),
    );
    assert_problem(
        &post(
            "/search",
            &json!({"collections": ["manholes"], "intersects": old_town(), "colour": 1}),
        ),
        400,
        Some("colour"),
    );
    assert_problem(
        &post(
            "/search",
            &json!({"collections": ["manholes"], "intersects": {"type": "Polygon", "coordinates": [[[0,0],[1,1],[1,0],[0,1],[0,0]]]}}),
        ),
        400,
        Some("intersects"),
    );
    let ring: Vec<[f64; 2]> = (0..=25_000)
        .map(|i| {
            let a = f64::from(i) / 25_000.0 * std::f64::consts::TAU;
            [113.7 + 0.01 * a.cos(), 34.7 + 0.01 * a.sin()]
        })
        .collect();
    let mut closed = ring.clone();
    closed[25_000] = closed[0];
    assert_problem(
        &post(
            "/search",
            &json!({"collections": ["manholes"], "intersects": {"type": "Polygon", "coordinates": [closed]}}),
        ),
        400,
        Some("intersects"),
    );
    let huge = "x".repeat(5 * 1024 * 1024);
    assert_problem(
        &send(Request::post("/search").body(Body::from(huge)).unwrap()),
        413,
        None,
    );
}

fn total_length(collection: &str) -> f64 {
    let c = demo().catalog.collection(collection).unwrap();
    c.index
        .iter()
        .map(|f| match &f.geometry {
            geo::Geometry::LineString(l) => Geodesic.length(l),
            geo::Geometry::MultiLineString(m) => Geodesic.length(m),
            _ => 0.0,
        })
        .sum()
}

fn rectangle(w: f64, s: f64, e: f64, n: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]})
}

#[test]
fn summary_lengths_are_geodesic_and_clipped_so_halves_add_up_to_the_whole() {
    let whole = post("/analysis/summary", &json!({"collections": ["pipelines"], "intersects": rectangle(113.5, 34.5, 114.0, 34.9), "group_by": ["kind"]})).json();
    let total = whole["collections"][0]["length_m"].as_f64().unwrap();
    let expected = total_length("pipelines");
    assert!(
        (total - expected).abs() / expected < 1e-4,
        "{total} vs {expected}"
    );
    let groups: f64 = whole["collections"][0]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["length_m"].as_f64().unwrap())
        .sum();
    assert!((groups - total).abs() < 1.0);
    let west = post(
        "/analysis/summary",
        &json!({"collections": ["pipelines"], "intersects": rectangle(113.5, 34.5, 113.73, 34.9)}),
    )
    .json();
    let east = post(
        "/analysis/summary",
        &json!({"collections": ["pipelines"], "intersects": rectangle(113.73, 34.5, 114.0, 34.9)}),
    )
    .json();
    let halves = west["collections"][0]["length_m"].as_f64().unwrap()
        + east["collections"][0]["length_m"].as_f64().unwrap();
    assert!((halves - total).abs() / total < 1e-4, "{halves} vs {total}");
}

#[test]
fn summary_areas_of_the_street_cells_add_up_to_the_district() {
    let district = demo().catalog.collection("grid_cells").unwrap();
    let boundary = district
        .index
        .iter()
        .find(|f| f.properties["level"] == "district")
        .unwrap();
    let area = citygrid::model::geometry::geodesic_area_m2(&boundary.geometry);
    let boundary_json: Value =
        serde_json::from_str::<Value>(boundary.json()).unwrap()["geometry"].clone();
    let doc = post("/analysis/summary", &json!({"collections": ["grid_cells"], "intersects": boundary_json, "filter": {"op": "=", "args": [{"property": "level"}, "street"]}})).json();
    let streets = &doc["collections"][0];
    assert_eq!(streets["count"], 14);
    assert!((streets["area_m2"].as_f64().unwrap() - area).abs() / area < 1e-3);
}

#[test]
fn summary_counts_manholes_by_status_as_search_does() {
    let doc = post("/analysis/summary", &json!({"collections": ["manholes"], "intersects": old_town(), "group_by": {"manholes": ["status"]}})).json();
    let summary = &doc["collections"][0];
    let searched = post(
        "/search",
        &json!({"collections": ["manholes"], "intersects": old_town(), "limit": 1}),
    )
    .json();
    assert_eq!(summary["count"], searched["numberMatched"]);
    let by_status: u64 = summary["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["count"].as_u64().unwrap())
        .sum();
    assert_eq!(by_status, summary["count"].as_u64().unwrap());
    assert_problem(
        &post(
            "/analysis/summary",
            &json!({"collections": ["manholes"], "intersects": old_town(), "group_by": ["colour"]}),
        ),
        400,
        Some("group_by"),
    );
    assert_problem(
        &post(
            "/analysis/summary",
            &json!({"collections": ["manholes"], "intersects": {"type": "Point", "coordinates": [113.7, 34.7]}}),
        ),
        400,
        Some("intersects"),
    );
}

#[test]
fn nearest_returns_the_k_closest_by_geodesic_distance() {
    let (lon, lat) = (113.70, 34.73);
    let here = Point::new(lon, lat);
    let c = demo().catalog.collection("manholes").unwrap();
    let mut all: Vec<(f64, String)> = c
        .index
        .iter()
        .filter_map(|f| match f.geometry {
            geo::Geometry::Point(p) => Some((Geodesic.distance(here, p), f.id.to_string())),
            _ => None,
        })
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let doc = get(&format!(
        "/collections/manholes/nearest?lon={lon}&lat={lat}&k=5"
    ))
    .json();
    let got: Vec<(f64, &str)> = doc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            // In `properties`, where GDAL and QGIS read it, and nowhere else.
            assert!(f.get("distance_m").is_none(), "{f}");
            (
                f["properties"]["distance_m"].as_f64().unwrap(),
                f["id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(got.len(), 5);
    // The other properties are all still there.
    assert!(doc["features"][0]["properties"]["status"].is_string());
    for ((d, id), (want_d, want_id)) in got.iter().zip(&all) {
        assert_eq!(*id, want_id);
        assert!((d - want_d).abs() < 0.01, "{d} vs {want_d}");
    }
    let limited = get(&format!(
        "/collections/manholes/nearest?lon={lon}&lat={lat}&k=50&max_distance_m={}",
        all[2].0 + 0.001
    ))
    .json();
    assert_eq!(limited["features"].as_array().unwrap().len(), 3);
}

#[test]
fn nearest_measures_to_the_closest_point_of_a_line_not_its_centre() {
    let doc = get("/collections/pipelines/nearest?lon=113.70&lat=34.73&k=3").json();
    let c = demo().catalog.collection("pipelines").unwrap();
    for f in doc["features"].as_array().unwrap() {
        let feature = c
            .index
            .get(&citygrid::model::FeatureId::parse(f["id"].as_str().unwrap()).unwrap())
            .unwrap();
        let centroid = geo::Centroid::centroid(&feature.geometry).unwrap();
        let to_centre = Geodesic.distance(Point::new(113.70, 34.73), centroid);
        assert!(f["properties"]["distance_m"].as_f64().unwrap() <= to_centre + 1e-6);
    }
    assert_problem(
        &get("/collections/pipelines/nearest?lon=113.7&lat=34.73&k=0"),
        400,
        Some("k"),
    );
    assert_problem(
        &get("/collections/pipelines/nearest?lon=113.7"),
        400,
        Some("lat"),
    );
}

#[test]
fn street_statistics_count_every_manhole_once() {
    let doc = get("/grid/stats?level=street&collection=manholes&group_by=status").json();
    let rows = doc["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 14);
    let counted: u64 = rows.iter().map(|r| r["count"].as_u64().unwrap()).sum();
    let total = demo().catalog.collection("manholes").unwrap().index.len() as u64;
    assert_eq!(counted, total);
    for row in rows {
        let by_status: u64 = row["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["count"].as_u64().unwrap())
            .sum();
        assert_eq!(by_status, row["count"].as_u64().unwrap());
    }
}

#[test]
fn grid_statistics_of_pipelines_clip_lengths_to_cells() {
    let doc = get("/grid/stats?level=community&collection=pipelines").json();
    let rows = doc["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 155);
    let sum: f64 = rows.iter().map(|r| r["length_m"].as_f64().unwrap()).sum();
    let total = total_length("pipelines");
    assert!((sum - total).abs() / total < 1e-3, "{sum} vs {total}");
    let geojson = get("/grid/stats?level=community&collection=pipelines&f=geojson").json();
    assert_eq!(geojson["features"].as_array().unwrap().len(), 155);
    let props = geojson["features"][0]["properties"].as_object().unwrap();
    assert!(props["length_m"].is_number());
    assert!(
        !props.keys().any(|k| k.starts_with("count:")),
        "no group columns without group_by: {props:?}"
    );
    assert_problem(
        &get("/grid/stats?level=block&collection=manholes"),
        400,
        Some("level"),
    );
    assert_problem(
        &get("/grid/stats?level=grid&collection=nope"),
        400,
        Some("collection"),
    );
}
