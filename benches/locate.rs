//! Benchmark of point location in the demo grid cells (`data/grid_cells.geojson`, level `grid`,
//! valid now: `valid_to` null; about 1,300 cells): building the [`CellLocator`], and `locate`
//! for seeded random points (seed 42) in the district's bounding rectangle, both those inside a
//! cell and all of them (points outside every cell included). Loading the file and drawing the
//! points is setup and is not measured.
//!
//! Run with `cargo bench --bench locate`; `cargo bench --bench locate -- --test` runs each
//! benchmark once.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput};
use geo::Geometry;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use citygrid::index::locate::CellLocator;

/// The district's bounding rectangle, degrees.
const DISTRICT_LON: (f64, f64) = (113.65, 113.86);
const DISTRICT_LAT: (f64, f64) = (34.62, 34.76);

/// Points per set; the benchmark cycles through them.
const POINTS: usize = 4_096;

/// The grid-level cells valid now, as geometries.
fn grid_cells() -> Vec<Geometry<f64>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/grid_cells.geojson");
    let text = std::fs::read_to_string(&path).expect("data/grid_cells.geojson is readable");
    let collection: geojson::FeatureCollection = text
        .parse::<geojson::GeoJson>()
        .expect("valid GeoJSON")
        .try_into()
        .expect("a FeatureCollection");
    collection
        .features
        .into_iter()
        .filter(|f| {
            f.property("level").and_then(|v| v.as_str()) == Some("grid")
                && f.property("valid_to")
                    .is_none_or(serde_json::Value::is_null)
        })
        .map(|f| {
            let value = f.geometry.expect("every cell has a geometry").value;
            Geometry::<f64>::try_from(value).expect("cells are polygons")
        })
        .collect()
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    let cells = grid_cells();
    let keyed = || {
        cells
            .iter()
            .zip(0_u32..)
            .map(|(g, key)| (key, g))
            .collect::<Vec<_>>()
    };
    let locator = CellLocator::new(keyed());
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let mut draw = || {
        (
            rng.random_range(DISTRICT_LON.0..DISTRICT_LON.1),
            rng.random_range(DISTRICT_LAT.0..DISTRICT_LAT.1),
        )
    };
    let anywhere: Vec<(f64, f64)> = (0..POINTS).map(|_| draw()).collect();
    let mut inside = Vec::with_capacity(POINTS);
    while inside.len() < POINTS {
        let p = draw();
        if locator.locate(p.0, p.1).is_some() {
            inside.push(p);
        }
    }

    let mut group = criterion.benchmark_group("locate");
    group.measurement_time(Duration::from_secs(3));
    group.bench_function(format!("build_{}_cells", cells.len()), |b| {
        b.iter(|| black_box(CellLocator::new(keyed())).len());
    });
    group.throughput(Throughput::Elements(1));
    for (name, points) in [
        ("point_inside_a_cell", &inside),
        ("point_anywhere_in_the_bbox", &anywhere),
    ] {
        group.bench_function(name, |b| {
            let mut next = points.iter().cycle();
            b.iter(|| {
                let &(lon, lat) = next.next().expect("the cycle never ends");
                black_box(locator.locate(black_box(lon), black_box(lat)))
            });
        });
    }
    group.finish();
    criterion.final_summary();
}
