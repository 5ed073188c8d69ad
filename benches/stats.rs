//! Benchmark of per-grid statistics: the manholes of the demo district at scale 3 (over 100,000)
//! counted by status in every current grid cell, recomputed from scratch (what happens after a
//! write), and the pipelines with their lengths clipped to every community.
//!
//! Run with `cargo bench --bench stats`; figures are recorded in `BENCHMARKS.md`.

use std::hint::black_box;
use std::time::Duration;

use chrono::NaiveDate;
use criterion::Criterion;

use citygrid::index::CollectionIndex;
use citygrid::service::grid::{GridIndex, Level, cell_stats};

mod common;

fn main() {
    let district = common::district(&common::reference(), 3);
    let cells = common::stored_layer(&district, "grid_cells").1;
    let grid = GridIndex::build(cells.iter());
    let manholes = CollectionIndex::build(common::stored_layer(&district, "manholes").1);
    let pipelines = CollectionIndex::build(common::stored_layer(&district, "pipelines").1);
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
