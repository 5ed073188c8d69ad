//! Shared setup of the benchmarks: the demo district generated from the shipped reference data,
//! and its layers converted to stored features (generation and conversion are never measured).

use std::path::Path;
use std::sync::Arc;

use chrono::Utc;
use citygrid::demo::{DemoDistrict, DemoOptions, Reference, generate};
use citygrid::model::crs::InputCrs;
use citygrid::model::layers::builtin;
use citygrid::model::{CollectionDef, Feature, FeatureId};

/// The reference data shipped in `data/reference`.
pub fn reference() -> Reference {
    Reference::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("data/reference"))
        .expect("data/reference holds the district boundary and divisions")
}

/// The demo district (seed 42) at `scale`.
pub fn district(reference: &Reference, scale: u32) -> DemoDistrict {
    generate(reference, &DemoOptions { seed: 42, scale }).expect("the demo district generates")
}

/// A generated layer as stored features, keyed 1, 2, … in generation order, with its definition.
pub fn stored_layer(district: &DemoDistrict, id: &str) -> (CollectionDef, Vec<Arc<Feature>>) {
    let def = builtin()
        .into_iter()
        .find(|d| d.id.as_str() == id)
        .expect("a built-in layer");
    let now = Utc::now();
    let features = district
        .layer(id)
        .expect("the demo district has the layer")
        .iter()
        .zip(1_i64..)
        .map(|(feature, fid)| {
            let new = def
                .prepare(feature.clone(), InputCrs::Wgs84)
                .expect("generated features are valid");
            let id = new
                .id
                .unwrap_or_else(|| FeatureId::parse(&format!("f{fid}")).expect("a valid id"));
            Arc::new(Feature::new(
                fid,
                id,
                new.geometry,
                new.properties,
                1,
                now,
                now,
            ))
        })
        .collect();
    (def, features)
}
