//! Benchmarks of vector tiles on the generated demo district (seed 42, scale 1): rendering
//! uncached tiles of 4 layers (grid cells, roads, pipelines, manholes) at z14 and z12, on one
//! thread and on two, and looking tiles up in a warm cache. Every tile covering the district is
//! used, in turn; tiles without features are left out. No HTTP: render and cache only.
//! Generating the district and building the indexes is setup and is not measured.
//!
//! Run with `cargo bench --bench tiles`; `cargo bench --bench tiles -- --test` runs each
//! benchmark once. Figures, machine and commit are recorded in `BENCHMARKS.md`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};

use citygrid::index::CollectionIndex;
use citygrid::service::Collection;
use citygrid::service::tiles::{LayerSet, PreparedLayer, Tile, TileCache, render_tile};
use citygrid::tiles::tms::{TileId, TileRange};

/// The layers of the benchmarked tiles, in layer order.
const LAYERS: [&str; 4] = ["grid_cells", "roads", "pipelines", "manholes"];

mod common;

/// The generated district's layers as collection snapshots prepared for tiles.
fn collections() -> Vec<PreparedLayer> {
    let district = common::district(&common::reference(), 1);
    LAYERS
        .iter()
        .map(|&name| {
            let (def, features) = common::stored_layer(&district, name);
            PreparedLayer::new(Arc::new(Collection::new(
                Arc::new(def),
                CollectionIndex::build(features),
            )))
        })
        .collect()
}

/// The non-empty tiles at zoom `z` over the district.
fn tiles(layers: &[&PreparedLayer], z: u8) -> Vec<TileId> {
    let extent = layers[0]
        .collection
        .index
        .extent()
        .expect("the district has grid cells");
    TileRange::covering(extent, z, 0.0)
        .tiles()
        .filter(|&t| !render_tile(layers, t).is_empty())
        .collect()
}

/// Renders `count` tiles cycling through `tiles`, split over `threads` threads; the wall time.
fn render_parallel(
    layers: &[&PreparedLayer],
    tiles: &[TileId],
    count: u64,
    threads: u64,
) -> Duration {
    let started = Instant::now();
    std::thread::scope(|scope| {
        for thread in 0..threads {
            scope.spawn(move || {
                let mut next = tiles
                    .iter()
                    .cycle()
                    .skip(usize::try_from(thread).unwrap_or(0) * 7);
                for _ in 0..count / threads {
                    let tile = next.next().expect("the cycle never ends");
                    black_box(render_tile(layers, *tile).len());
                }
            });
        }
    });
    started.elapsed()
}

fn bench_tiles(c: &mut Criterion) {
    let owned = collections();
    let layers: Vec<&PreparedLayer> = owned.iter().collect();
    for z in [12, 14] {
        let tiles = tiles(&layers, z);
        let sizes: Vec<usize> = tiles
            .iter()
            .map(|&t| render_tile(&layers, t).len())
            .collect();
        eprintln!(
            "z{z}: {} non-empty tiles of 4 layers over the district, {:.1} KB on average, {:.1} KB at most",
            tiles.len(),
            sizes.iter().sum::<usize>() as f64 / sizes.len() as f64 / 1024.0,
            sizes.iter().copied().max().unwrap_or(0) as f64 / 1024.0,
        );
        let mut group = c.benchmark_group(format!("render_z{z}"));
        group.sample_size(20);
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(4));
        group.throughput(Throughput::Elements(1));
        group.bench_function(BenchmarkId::new("4_layers", "1_thread"), |b| {
            let mut next = tiles.iter().cycle();
            b.iter(|| {
                let tile = next.next().expect("the cycle never ends");
                black_box(render_tile(&layers, *black_box(tile)).len())
            });
        });
        group.bench_function(BenchmarkId::new("4_layers", "2_threads"), |b| {
            b.iter_custom(|iterations| render_parallel(&layers, &tiles, iterations.max(2), 2));
        });
        group.finish();
    }

    let tiles = tiles(&layers, 14);
    let cache = TileCache::new(1 << 30);
    let set = LayerSet::new(layers.iter().map(|p| p.collection.def.id.clone()).collect());
    for &tile in &tiles {
        let rendered = Tile {
            hash: 0,
            bytes: render_tile(&layers, tile).into(),
        };
        cache.insert(&set, tile, &rendered, || true);
    }
    let mut group = c.benchmark_group("cached_z14");
    group.sample_size(50);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(1));
    group.bench_function("lookup", |b| {
        let mut next = tiles.iter().cycle();
        b.iter(|| {
            let tile = next.next().expect("the cycle never ends");
            black_box(cache.get(&set, *tile).map(|t| t.bytes.len()))
        });
    });
    group.finish();
}

// A plain `main` rather than `criterion_group!`, whose generated `pub fn` has no doc.
fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench_tiles(&mut criterion);
    criterion.final_summary();
}
