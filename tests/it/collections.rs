//! `/collections` and `/collections/{id}`: metadata computed from the data.

use crate::support::{BASE, assert_problem, get, get_with};

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
fn every_layer_is_listed_with_bilingual_title_extent_and_typed_items_link() {
    let doc = get("/collections").json();
    let collections = doc["collections"].as_array().unwrap();
    for id in LAYERS {
        let c = collections
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("{id} missing"));
        assert!(
            c["title"]
                .as_str()
                .unwrap()
                .chars()
                .any(|ch| ('\u{4e00}'..='\u{9fff}').contains(&ch)),
            "{id} has no Chinese title"
        );
        assert_eq!(c["itemType"], "feature");
        let bbox = c["extent"]["spatial"]["bbox"][0].as_array().unwrap();
        let (w, s, e, n) = (
            bbox[0].as_f64().unwrap(),
            bbox[1].as_f64().unwrap(),
            bbox[2].as_f64().unwrap(),
            bbox[3].as_f64().unwrap(),
        );
        assert!(
            (113.6..113.9).contains(&w)
                && (113.6..113.9).contains(&e)
                && (34.6..34.8).contains(&s)
                && (34.6..34.8).contains(&n),
            "{id}: {bbox:?}"
        );
        let items = c["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "items" && l["type"] == "application/geo+json")
            .unwrap();
        assert_eq!(items["href"], format!("{BASE}/collections/{id}/items"));
        assert_eq!(c["x-synthetic"], true);
    }
}

#[test]
fn the_extent_is_the_bounding_box_of_the_features() {
    let demo = crate::support::demo();
    let manholes = demo.catalog.collection("manholes").unwrap();
    let (mut w, mut s, mut e, mut n) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for f in manholes.index.iter() {
        let b = f.bbox.unwrap();
        w = w.min(b.min().x);
        s = s.min(b.min().y);
        e = e.max(b.max().x);
        n = n.max(b.max().y);
    }
    let doc = get("/collections/manholes").json();
    assert_eq!(
        doc["extent"]["spatial"]["bbox"][0],
        serde_json::json!([w, s, e, n])
    );
}

#[test]
fn grid_cells_have_a_temporal_extent_from_their_validity() {
    let doc = get("/collections/grid_cells").json();
    let interval = &doc["extent"]["temporal"]["interval"][0];
    assert!(interval[0].as_str().unwrap().starts_with("20"));
    assert!(
        interval[1].is_null(),
        "current cells have no end: {interval}"
    );
}

#[test]
fn an_unknown_collection_is_a_404_problem() {
    assert_problem(&get("/collections/unicorns"), 404, None);
    assert_problem(&get("/collections/unicorns/items"), 404, None);
    assert_problem(&get("/collections/BAD%20ID/items"), 404, None);
}

#[test]
fn the_schema_lists_properties_with_enumerations_and_chinese_labels() {
    let schema = get("/collections/manholes/schema").json();
    assert_eq!(
        schema["properties"]["status"]["x-enum-labels"]["damaged"]["zh"],
        "破损"
    );
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(
        schema["properties"]["geometry"]["x-ogc-role"],
        "primary-geometry"
    );
}

#[test]
fn the_collection_page_renders_in_html_with_chinese_labels() {
    let html = get_with("/collections/manholes", &[("accept", "text/html")]).text();
    assert!(html.contains("窨井盖") && html.contains("破损"));
}
