//! GDAL's OGC API – Features driver as a real client: it must list every collection and copy
//! every manhole. Needs `ogrinfo` and `ogr2ogr` (Debian `gdal-bin`; scripts/test installs it).

use crate::support::{Server, demo, run_tool};

const LAYERS: [&str; 7] = [
    "grid_cells",
    "manholes",
    "pipelines",
    "parks",
    "roads",
    "renovation_areas",
    "facilities",
];

#[test]
fn gdal_lists_every_collection_and_copies_every_manhole() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let source = format!("OAPIF:{}", server.base);
    let listing = run_tool("ogrinfo", &["-ro", "-q", &source], dir.path());
    for layer in LAYERS {
        assert!(
            listing.contains(&format!(": {layer} ")),
            "ogrinfo does not list {layer}:\n{listing}"
        );
    }
    let summary = run_tool("ogrinfo", &["-ro", "-so", &source, "parks"], dir.path());
    let expected_parks = demo().catalog.collection("parks").unwrap().index.len();
    assert!(
        summary.contains(&format!("Feature Count: {expected_parks}")),
        "{summary}"
    );
    assert!(summary.contains("area_m2: Real"), "{summary}");

    run_tool(
        "ogr2ogr",
        &["-f", "GeoJSON", "manholes.geojson", &source, "manholes"],
        dir.path(),
    );
    let copied: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("manholes.geojson")).unwrap())
            .unwrap();
    let features = copied["features"].as_array().unwrap();
    let manholes = demo().catalog.collection("manholes").unwrap();
    assert_eq!(features.len(), manholes.index.len());
    let copied_ids: std::collections::HashSet<&str> = features
        .iter()
        .map(|f| f["properties"]["id"].as_str().or(f["id"].as_str()).unwrap())
        .collect();
    assert!(
        manholes
            .index
            .iter()
            .all(|f| copied_ids.contains(f.id.as_str())),
        "every manhole id arrives"
    );
    let first = &features[0];
    assert!(first["properties"]["status"].is_string() && first["geometry"]["type"] == "Point");
}
