//! Benchmarks of the manhole index on the generated demo district (seed 42): bulk build at
//! scale 1 and 10, and bbox queries (the index alone, and the items query with `limit=100`) for
//! small (about 200 m) and medium (about 1 km) boxes centred at seeded positions inside the
//! district boundary, and the 5 nearest manholes to the small boxes' centres. Generating and converting the features is setup and is not measured.
//!
//! Run with `cargo bench --bench index`; `cargo bench --bench index -- --test` runs each
//! benchmark once. Figures, machine and commit are recorded in `BENCHMARKS.md`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput};
use geo::{Contains, MultiPolygon, Rect, coord, point};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use citygrid::demo::Reference;
use citygrid::index::CollectionIndex;
use citygrid::model::layers::builtin;
use citygrid::model::{Bbox, CollectionDef, Feature};
use citygrid::service::Collection;
use citygrid::service::items::{ItemsQuery, query_items};

/// Scales of the demo district benchmarked: 1 is the realistic demo (about 35,000 manholes),
/// 10 about 350,000.
const SCALES: [u32; 2] = [1, 10];

/// The district's bounding rectangle, degrees (box centres are drawn in it, kept when inside the
/// boundary).
const DISTRICT_LON: (f64, f64) = (113.65, 113.86);
const DISTRICT_LAT: (f64, f64) = (34.62, 34.76);

/// Metres per degree at the district's latitude (34.7° N): latitude, and longitude (× cos φ).
const M_PER_DEG_LAT: f64 = 110_950.0;
const M_PER_DEG_LON: f64 = 91_540.0;

/// Query boxes per size; the benchmark cycles through them so no single box is measured.
const BOXES: usize = 256;

/// The benchmarked box sizes: name and edge length in metres.
const BOX_SIZES: [(&str, f64); 2] = [("small_200m", 200.0), ("medium_1km", 1_000.0)];

mod common;

use common::reference;

fn manhole_def() -> CollectionDef {
    builtin()
        .into_iter()
        .find(|d| d.id.as_str() == "manholes")
        .expect("manholes is a built-in layer")
}

/// The generated manholes as stored features, keyed 1, 2, … in generation order.
fn manholes(reference: &Reference, scale: u32) -> Vec<Arc<Feature>> {
    common::stored_layer(&common::district(reference, scale), "manholes").1
}

/// `count` boxes of `edge_m` × `edge_m` metres whose centres are seeded positions inside the
/// district boundary.
fn boxes(boundary: &MultiPolygon<f64>, edge_m: f64, count: usize) -> Vec<Rect<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (half_lon, half_lat) = (edge_m / 2.0 / M_PER_DEG_LON, edge_m / 2.0 / M_PER_DEG_LAT);
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let x = rng.random_range(DISTRICT_LON.0..DISTRICT_LON.1);
        let y = rng.random_range(DISTRICT_LAT.0..DISTRICT_LAT.1);
        if boundary.contains(&point!(x: x, y: y)) {
            out.push(Rect::new(
                coord! { x: x - half_lon, y: y - half_lat },
                coord! { x: x + half_lon, y: y + half_lat },
            ));
        }
    }
    out
}

fn bbox_of(rect: &Rect<f64>) -> Bbox {
    Bbox {
        min_lon: rect.min().x,
        min_lat: rect.min().y,
        max_lon: rect.max().x,
        max_lat: rect.max().y,
    }
}

/// One prepared district: its manholes at one scale.
struct Fixture {
    scale: u32,
    features: Vec<Arc<Feature>>,
}

fn bench_index(c: &mut Criterion) {
    let reference = reference();
    let def = Arc::new(manhole_def());
    let fixtures: Vec<Fixture> = SCALES
        .iter()
        .map(|&scale| Fixture {
            scale,
            features: manholes(&reference, scale),
        })
        .collect();

    let mut build = c.benchmark_group("build");
    build.sample_size(10);
    build.measurement_time(Duration::from_secs(5));
    for fixture in &fixtures {
        build.throughput(Throughput::Elements(fixture.features.len() as u64));
        build.bench_with_input(
            BenchmarkId::new("manholes", format!("scale{}", fixture.scale)),
            &fixture.features,
            |b, features| {
                b.iter_batched(
                    || features.clone(),
                    CollectionIndex::build,
                    BatchSize::LargeInput,
                );
            },
        );
    }
    build.finish();

    let sizes: Vec<(&str, Vec<Rect<f64>>)> = BOX_SIZES
        .iter()
        .map(|&(name, edge_m)| (name, boxes(&reference.boundary, edge_m, BOXES)))
        .collect();

    for fixture in fixtures {
        let collection =
            Collection::new(Arc::clone(&def), CollectionIndex::build(fixture.features));
        for (name, rects) in &sizes {
            let hits: usize = rects
                .iter()
                .map(|r| collection.index.intersecting(&[*r]).len())
                .sum();
            eprintln!(
                "manholes scale {}: {} features; {name} boxes: {:.1} hits on average",
                fixture.scale,
                collection.index.len(),
                hits as f64 / rects.len() as f64,
            );
        }

        let mut query = c.benchmark_group(format!("query_scale{}", fixture.scale));
        query.sample_size(50);
        query.warm_up_time(Duration::from_secs(1));
        query.measurement_time(Duration::from_secs(3));
        query.throughput(Throughput::Elements(1));
        for (name, rects) in &sizes {
            query.bench_with_input(BenchmarkId::new("intersecting", name), rects, |b, rects| {
                let mut next = rects.iter().cycle();
                b.iter(|| {
                    let rect = next.next().expect("the cycle never ends");
                    black_box(collection.index.intersecting(&[*black_box(rect)])).len()
                });
            });
            let queries: Vec<ItemsQuery> = rects
                .iter()
                .map(|r| ItemsQuery {
                    bbox: Some(bbox_of(r)),
                    limit: 100,
                    ..ItemsQuery::default()
                })
                .collect();
            query.bench_with_input(
                BenchmarkId::new("query_items_limit100", name),
                &queries,
                |b, queries| {
                    let mut next = queries.iter().cycle();
                    b.iter(|| {
                        let items = next.next().expect("the cycle never ends");
                        black_box(query_items(&collection, black_box(items))).number_matched
                    });
                },
            );
        }
        let centres: Vec<(f64, f64)> = sizes[0]
            .1
            .iter()
            .map(|r| (r.center().x, r.center().y))
            .collect();
        query.bench_with_input(BenchmarkId::new("nearest", "k5"), &centres, |b, centres| {
            let mut next = centres.iter().cycle();
            b.iter(|| {
                let &(x, y) = next.next().expect("the cycle never ends");
                black_box(collection.index.nearest(black_box(x), y, 5, None)).len()
            });
        });
        query.finish();
    }
}

// A plain `main` rather than `criterion_group!`, whose generated `pub fn` has no doc.
fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench_index(&mut criterion);
    criterion.final_summary();
}
