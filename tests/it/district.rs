//! The demo district as served: the grid partitions the district, codes are well formed.

use geo::{Contains, GeodesicArea, Intersects, MultiPolygon, Point};
use rand::{Rng, SeedableRng};

use crate::support::demo;

fn cells(level: &str, date: &str) -> Vec<(String, geo::Geometry<f64>)> {
    let c = demo().catalog.collection("grid_cells").unwrap();
    c.index
        .iter()
        .filter(|f| f.properties["level"] == level)
        .filter(|f| {
            f.properties["valid_from"].as_str().unwrap() <= date
                && f.properties["valid_to"]
                    .as_str()
                    .is_none_or(|to| to >= date)
        })
        .map(|f| (f.id.to_string(), f.geometry.clone()))
        .collect()
}

fn area(g: &geo::Geometry<f64>) -> f64 {
    match g {
        geo::Geometry::Polygon(p) => p.geodesic_area_unsigned(),
        geo::Geometry::MultiPolygon(m) => m.geodesic_area_unsigned(),
        _ => 0.0,
    }
}

fn district() -> MultiPolygon<f64> {
    let (_, g) = cells("district", "2026-01-01").pop().unwrap();
    match g {
        geo::Geometry::MultiPolygon(m) => m,
        geo::Geometry::Polygon(p) => MultiPolygon(vec![p]),
        other => panic!("district is {other:?}"),
    }
}

#[test]
fn the_district_is_about_206_square_kilometres() {
    let km2 = district().geodesic_area_unsigned() / 1e6;
    assert!((195.0..215.0).contains(&km2), "{km2} km²");
}

#[test]
fn cell_areas_of_each_level_sum_to_the_district_within_a_tenth_of_a_percent() {
    let total = district().geodesic_area_unsigned();
    for level in ["street", "community", "grid"] {
        let sum: f64 = cells(level, "2026-01-01")
            .iter()
            .map(|(_, g)| area(g))
            .sum();
        assert!(
            (sum - total).abs() / total < 0.001,
            "{level}: {sum} vs {total}"
        );
    }
}

#[test]
fn every_point_sampled_inside_the_district_lies_in_exactly_one_current_grid_cell() {
    let district = district();
    let grid = cells("grid", "2026-01-01");
    assert!(
        (1000..=1500).contains(&grid.len()),
        "{} grid cells",
        grid.len()
    );
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let mut sampled = 0;
    while sampled < 3000 {
        let p = Point::new(
            rng.random_range(113.64..113.87),
            rng.random_range(34.61..34.77),
        );
        if !district.contains(&p) {
            continue;
        }
        sampled += 1;
        let containing: Vec<&str> = grid
            .iter()
            .filter(|(_, g)| g.intersects(&p))
            .map(|(id, _)| id.as_str())
            .collect();
        assert_eq!(containing.len(), 1, "{p:?} lies in {containing:?}");
    }
}

#[test]
fn there_are_14_streets_and_155_communities_with_official_codes() {
    let streets = cells("street", "2026-01-01");
    let communities = cells("community", "2026-01-01");
    assert_eq!(streets.len(), 14);
    assert_eq!(communities.len(), 155);
    assert!(streets.iter().any(|(id, _)| id == "410104001"));
    for (id, _) in &communities {
        assert!(id.len() == 12 && id.starts_with("410104"), "{id}");
    }
}
