//! Benchmark of per-grid statistics: the manholes of the demo district at scale 3 (over 100,000)
//! counted by status in every current grid cell, recomputed from scratch (what happens after a
//! write), and the pipelines with their lengths clipped to every community.
//!
//! Run with `cargo bench --bench stats`; figures are recorded in `BENCHMARKS.md`.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use criterion::Criterion;

use citygrid::demo::{DemoOptions, Reference, generate};
use citygrid::index::CollectionIndex;
use citygrid::model::crs::InputCrs;
use citygrid::model::layers::builtin;
use citygrid::model::{Feature, FeatureId};
use citygrid::service::grid::{GridIndex, Level, cell_stats};

/// Converts one generated layer into stored features, keyed 1, 2, … in generation order.
fn layer(district: &citygrid::demo::DemoDistrict, id: &str) -> Vec<Arc<Feature>> {
    let def = builtin()
        .into_iter()
        .find(|d| d.id.as_str() == id)
        .expect("a built-in layer");
    let now = Utc::now();
    district
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
        .collect()
}

fn main() {
    let reference = Reference::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("data/reference"))
        .expect("data/reference holds the district boundary and divisions");
    let district = generate(&reference, &DemoOptions { seed: 42, scale: 3 })
        .expect("the demo district generates");
    let cells = layer(&district, "grid_cells");
    let grid = GridIndex::build(cells.iter());
    let manholes = CollectionIndex::build(layer(&district, "manholes"));
    let pipelines = CollectionIndex::build(layer(&district, "pipelines"));
    let day = NaiveDate::from_ymd_opt(2026, 1, 1).expect("a date");
    let status = vec!["status".to_owned()];
    eprintln!(
        "stats bench: {} manholes, {} pipelines, {} cells",
        manholes.len(),
        pipelines.len(),
        cells.len()
    );

    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group("grid_stats");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("manholes_by_status_per_grid_cell", |b| {
        b.iter(|| {
            let rows = cell_stats(
                &grid,
                Level::Grid,
                day,
                manholes.iter(),
                |r| manholes.intersecting(&[r]),
                &status,
            );
            black_box(rows.len())
        });
    });
    group.bench_function("pipeline_lengths_per_community", |b| {
        b.iter(|| {
            let rows = cell_stats(
                &grid,
                Level::Community,
                day,
                pipelines.iter(),
                |r| pipelines.intersecting(&[r]),
                &[],
            );
            black_box(rows.len())
        });
    });
    group.finish();
    criterion.final_summary();
}
