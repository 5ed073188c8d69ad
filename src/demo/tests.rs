//! Tests of the generated demo district against its specification: exact partitions, codes,
//! counts, the renovation target, reproducibility and output format.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use geo::{
    BooleanOps, BoundingRect, Centroid, Contains, Coord, Geodesic, GeodesicArea, Geometry, Length,
    MultiPolygon, Point, Rect,
    orient::{Direction, Orient},
};
use geojson::Feature;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value as Json;

use super::{DemoDistrict, DemoError, DemoOptions, MANHOLE_MINOR_CLASSES, Reference, generate};

/// Folder of the reference files (copies of the shared boundary and divisions files).
fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/reference")
}

fn reference() -> &'static Reference {
    static REFERENCE: OnceLock<Reference> = OnceLock::new();
    REFERENCE.get_or_init(|| Reference::load(&reference_dir()).expect("reference files load"))
}

/// The district of seed 42 at scale 1, generated once for all tests.
fn district() -> &'static DemoDistrict {
    static DISTRICT: OnceLock<DemoDistrict> = OnceLock::new();
    DISTRICT.get_or_init(|| {
        generate(reference(), &DemoOptions { seed: 42, scale: 1 }).expect("generation succeeds")
    })
}

fn layer(id: &str) -> &'static [Feature] {
    district().layer(id).expect("layer exists")
}

fn text<'a>(f: &'a Feature, key: &str) -> &'a str {
    f.property(key)
        .and_then(Json::as_str)
        .unwrap_or_else(|| panic!("{key} is a string in {:?}", f.id))
}

fn opt_text<'a>(f: &'a Feature, key: &str) -> Option<&'a str> {
    f.property(key).and_then(Json::as_str)
}

fn id(f: &Feature) -> String {
    match &f.id {
        Some(geojson::feature::Id::String(s)) => s.clone(),
        other => panic!("feature id {other:?} is not a string"),
    }
}

fn geometry(f: &Feature) -> Geometry {
    let value = f.geometry.as_ref().expect("has a geometry").value.clone();
    Geometry::try_from(value).expect("converts to geo")
}

fn shape(f: &Feature) -> MultiPolygon {
    match geometry(f) {
        Geometry::Polygon(p) => MultiPolygon::new(vec![p]),
        Geometry::MultiPolygon(mp) => mp,
        other => panic!("{:?} is not areal: {other:?}", f.id),
    }
}

/// The reference boundary, oriented counter-clockwise: the file's ring is clockwise, and the
/// geodesic area of a clockwise ring is that of the rest of the globe.
fn boundary() -> &'static MultiPolygon {
    static BOUNDARY: OnceLock<MultiPolygon> = OnceLock::new();
    BOUNDARY.get_or_init(|| reference().boundary.orient(Direction::Default))
}

/// Cells of a level, optionally only those valid on a date ("YYYY-MM-DD" compares as text).
fn cells(level: &str, on: Option<&str>) -> Vec<&'static Feature> {
    layer("grid_cells")
        .iter()
        .filter(|f| text(f, "level") == level)
        .filter(|f| {
            on.is_none_or(|date| {
                text(f, "valid_from") <= date && opt_text(f, "valid_to").is_none_or(|to| date <= to)
            })
        })
        .collect()
}

fn overlaps(a: Rect, b: Rect) -> bool {
    a.min().x < b.max().x && b.min().x < a.max().x && a.min().y < b.max().y && b.min().y < a.max().y
}

/// Asserts that `parts` cover `whole` (areas within 0.1 %) without overlapping (no pair shares
/// more than a square metre).
fn assert_partition(whole: &MultiPolygon, parts: &[MultiPolygon], what: &str) {
    let whole_m2 = whole.geodesic_area_unsigned();
    let sum_m2: f64 = parts.iter().map(GeodesicArea::geodesic_area_unsigned).sum();
    assert!(
        (sum_m2 - whole_m2).abs() <= 1e-3 * whole_m2,
        "{what}: parts cover {sum_m2:.0} m² of {whole_m2:.0} m²"
    );
    let rects: Vec<Rect> = parts
        .iter()
        .filter_map(BoundingRect::bounding_rect)
        .collect();
    assert_eq!(rects.len(), parts.len(), "{what}: a part is empty");
    for i in 0..parts.len() {
        for j in i + 1..parts.len() {
            if overlaps(rects[i], rects[j]) {
                let shared = parts[i].intersection(&parts[j]).geodesic_area_unsigned();
                assert!(
                    shared < 1.0,
                    "{what}: parts {i} and {j} overlap by {shared:.1} m²"
                );
            }
        }
    }
}

#[test]
fn streets_partition_the_district_boundary() {
    let streets: Vec<MultiPolygon> = cells("street", None).into_iter().map(shape).collect();
    assert_eq!(streets.len(), 14);
    assert_partition(boundary(), &streets, "streets");
}

#[test]
fn communities_partition_their_street() {
    for street in cells("street", None) {
        let code = text(street, "code");
        let parts: Vec<MultiPolygon> = cells("community", None)
            .into_iter()
            .filter(|c| text(c, "parent_code") == code)
            .map(shape)
            .collect();
        assert!(!parts.is_empty(), "street {code} has communities");
        assert_partition(&shape(street), &parts, code);
    }
}

#[test]
fn current_grid_cells_partition_their_community() {
    let current = cells("grid", Some("2025-06-01"));
    for community in cells("community", None) {
        let code = text(community, "code");
        let parts: Vec<MultiPolygon> = current
            .iter()
            .filter(|c| text(c, "parent_code") == code)
            .map(|c| shape(c))
            .collect();
        assert!(
            (4..=12).contains(&parts.len()),
            "{code} has {} cells",
            parts.len()
        );
        assert_partition(&shape(community), &parts, code);
    }
}

#[test]
fn the_valid_grid_cells_partition_the_district_on_any_date_since_2021() {
    for date in [
        "2021-01-01",
        "2023-06-01",
        "2024-01-01",
        "2024-06-01",
        "2024-12-31",
        "2025-01-01",
        "2025-06-01",
    ] {
        let parts: Vec<MultiPolygon> = cells("grid", Some(date)).into_iter().map(shape).collect();
        let district_m2 = boundary().geodesic_area_unsigned();
        let sum_m2: f64 = parts.iter().map(GeodesicArea::geodesic_area_unsigned).sum();
        assert!(
            (sum_m2 - district_m2).abs() <= 1e-3 * district_m2,
            "on {date} the grid covers {sum_m2:.0} of {district_m2:.0} m²"
        );
    }
    // Overlaps can only come from retired and current cells of the same community.
    for community in cells("community", None) {
        let code = text(community, "code");
        let retired: Vec<MultiPolygon> = cells("grid", Some("2024-06-01"))
            .into_iter()
            .filter(|c| text(c, "parent_code") == code && opt_text(c, "valid_to").is_some())
            .map(shape)
            .collect();
        if !retired.is_empty() {
            assert_partition(&shape(community), &retired, code);
        }
    }
}

#[test]
fn three_communities_keep_their_retired_grid_with_codes_after_the_current_cells() {
    let grid = cells("grid", None);
    let mut redrawn: BTreeMap<&str, (Vec<u32>, Vec<u32>)> = BTreeMap::new();
    for cell in &grid {
        let sequence: u32 = text(cell, "code")[12..].parse().expect("numeric sequence");
        match (text(cell, "valid_from"), opt_text(cell, "valid_to")) {
            ("2021-01-01", Some("2024-12-31")) => {
                redrawn
                    .entry(text(cell, "parent_code"))
                    .or_default()
                    .1
                    .push(sequence);
            }
            ("2025-01-01", None) => {
                redrawn
                    .entry(text(cell, "parent_code"))
                    .or_default()
                    .0
                    .push(sequence);
            }
            ("2021-01-01", None) => {}
            other => panic!("unexpected validity {other:?}"),
        }
    }
    assert_eq!(redrawn.len(), 3);
    for (community, (current, retired)) in redrawn {
        assert!((3..=4).contains(&retired.len()), "{community}: {retired:?}");
        let last_current = current.iter().max().expect("current cells exist");
        assert!(
            retired.iter().all(|s| s > last_current),
            "{community}: {retired:?}"
        );
    }
}

#[test]
fn every_sampled_point_of_the_district_lies_in_exactly_one_current_grid_cell() {
    let current: Vec<(Rect, MultiPolygon)> = cells("grid", Some("2025-06-01"))
        .into_iter()
        .map(|f| {
            let s = shape(f);
            (s.bounding_rect().expect("non-empty"), s)
        })
        .collect();
    let rect = boundary().bounding_rect().expect("non-empty");
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut sampled = 0;
    while sampled < 3000 {
        let p = Point::new(
            rng.random_range(rect.min().x..rect.max().x),
            rng.random_range(rect.min().y..rect.max().y),
        );
        if !boundary().contains(&p) {
            continue;
        }
        sampled += 1;
        let hits = current
            .iter()
            .filter(|(r, s)| r.contains(&p) && s.contains(&p))
            .count();
        assert_eq!(hits, 1, "{p:?} lies in {hits} cells");
    }
}

#[test]
fn grid_codes_extend_their_community_code_in_reading_order() {
    let grid = cells("grid", None);
    let mut by_community: BTreeMap<&str, Vec<&Feature>> = BTreeMap::new();
    for cell in &grid {
        let code = text(cell, "code");
        let parent = text(cell, "parent_code");
        assert_eq!(code.len(), 15, "{code}");
        assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
        assert!(code.starts_with(parent), "{code} in {parent}");
        by_community.entry(parent).or_default().push(cell);
    }
    assert_eq!(by_community.len(), 155);
    for (community, mut cells) in by_community {
        cells.sort_by_key(|c| text(c, "code"));
        let sequences: Vec<usize> = cells
            .iter()
            .map(|c| text(c, "code")[12..].parse().expect("digits"))
            .collect();
        assert_eq!(
            sequences,
            (1..=cells.len()).collect::<Vec<_>>(),
            "{community}"
        );
        // Reading order: runs of cells going east make up rows, each row wholly south of the
        // previous one.
        let current: Vec<MultiPolygon> = cells
            .iter()
            .filter(|c| opt_text(c, "valid_to").is_none())
            .map(|c| shape(c))
            .collect();
        let mut rows: Vec<Vec<&MultiPolygon>> = Vec::new();
        let mut last_x = f64::NEG_INFINITY;
        for cell in &current {
            let x = cell.centroid().expect("non-empty").x();
            if x <= last_x || rows.is_empty() {
                rows.push(Vec::new());
            }
            last_x = x;
            rows.last_mut().expect("a row").push(cell);
        }
        for pair in rows.windows(2) {
            let lowest_above = pair[0]
                .iter()
                .map(|c| c.bounding_rect().expect("non-empty").min().y)
                .fold(f64::INFINITY, f64::min);
            let highest_below = pair[1]
                .iter()
                .map(|c| c.bounding_rect().expect("non-empty").max().y)
                .fold(f64::NEG_INFINITY, f64::max);
            assert!(
                highest_below <= lowest_above + 1e-9,
                "{community}: rows out of order"
            );
        }
    }
}

#[test]
fn ids_are_unique_and_well_formed_in_every_layer() {
    let patterns: [(&str, &str, usize); 7] = [
        ("grid_cells", "", 0),
        ("roads", "road-", 4),
        ("pipelines", "pipe-", 6),
        ("manholes", "", 16),
        ("parks", "park-", 3),
        ("renovation_areas", "renov-", 2),
        ("facilities", "fac-", 4),
    ];
    for (layer_id, prefix, digits) in patterns {
        let mut ids: Vec<String> = layer(layer_id).iter().map(id).collect();
        for i in &ids {
            let rest = i
                .strip_prefix(prefix)
                .unwrap_or_else(|| panic!("{i} starts with {prefix}"));
            assert!(rest.bytes().all(|b| b.is_ascii_digit()), "{i}");
            assert!(
                digits == 0 || rest.len() == digits,
                "{i} has {digits} digits"
            );
        }
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "ids of {layer_id} are unique");
    }
    for cell in layer("grid_cells") {
        assert_eq!(id(cell), text(cell, "code"));
    }
}

#[test]
fn manhole_codes_name_district_class_and_kind() {
    for m in layer("manholes") {
        let code = text(m, "component_code");
        assert_eq!(code, id(m));
        assert_eq!(code.len(), 16);
        assert!(code.starts_with("41010401"), "{code}");
        let (_, kind, _) = MANHOLE_MINOR_CLASSES
            .iter()
            .find(|(minor, _, _)| *minor == &code[8..10])
            .unwrap_or_else(|| panic!("{code} has a known minor class"));
        assert_eq!(text(m, "kind"), *kind, "{code}");
    }
}

fn count(layer_id: &str, key: &str, value: &str) -> usize {
    layer(layer_id)
        .iter()
        .filter(|f| text(f, key) == value)
        .count()
}

#[test]
fn layer_counts_match_the_district_plan() {
    assert_eq!(cells("district", None).len(), 1);
    assert_eq!(cells("street", None).len(), 14);
    assert_eq!(cells("community", None).len(), 155);
    let grid = cells("grid", None).len();
    assert!((1000..=1500).contains(&grid), "{grid} grid cells");
    let manholes = layer("manholes").len();
    assert!((20_000..=40_000).contains(&manholes), "{manholes} manholes");
    let parks = layer("parks").len();
    assert!((30..=60).contains(&parks), "{parks} parks");
    assert_eq!(
        count("facilities", "kind", "sanitation_transfer_station"),
        9
    );
    assert_eq!(count("facilities", "kind", "civil_air_defence"), 28);
    assert!(count("facilities", "kind", "public_toilet") >= 24);
    assert_eq!(count("renovation_areas", "kind", "old_area"), 3);
    assert_eq!(count("renovation_areas", "kind", "old_block"), 6);
    assert_eq!(count("renovation_areas", "kind", "old_community"), 14);
}

#[test]
fn about_ten_percent_of_manholes_need_rectification() {
    let manholes = layer("manholes");
    let broken = manholes
        .iter()
        .filter(|m| text(m, "status") != "intact")
        .count();
    assert!(broken >= 3000, "{broken} manholes to rectify");
    let share = broken as f64 / manholes.len() as f64;
    assert!((0.07..=0.15).contains(&share), "{share}");
    assert!(
        manholes
            .iter()
            .filter(|m| text(m, "status") != "intact")
            .all(|m| opt_text(m, "rectified_on").is_none())
    );
}

#[test]
fn about_17_km_of_pre_2000_gas_main_needs_renovation() {
    let mut total_m = 0.0;
    for pipe in layer("pipelines") {
        if text(pipe, "kind") != "gas" || text(pipe, "condition") != "needs_renovation" {
            continue;
        }
        let year = pipe
            .property("install_year")
            .and_then(Json::as_i64)
            .expect("a year");
        assert!(year < 2000, "{:?} installed {year}", pipe.id);
        total_m += match geometry(pipe) {
            Geometry::LineString(l) => Geodesic.length(&l),
            Geometry::MultiLineString(ml) => Geodesic.length(&ml),
            other => panic!("{other:?} is not a line"),
        };
    }
    assert!((16_500.0..=17_500.0).contains(&total_m), "{total_m:.0} m");
}

#[test]
fn only_gas_lines_have_a_pressure_class_and_only_renovated_lines_a_renovation_date() {
    for pipe in layer("pipelines") {
        let gas = text(pipe, "kind") == "gas";
        assert_eq!(
            opt_text(pipe, "pressure_class").is_some(),
            gas,
            "{:?}",
            pipe.id
        );
        let renovated = text(pipe, "condition") == "renovated";
        assert_eq!(
            opt_text(pipe, "renovated_on").is_some(),
            renovated,
            "{:?}",
            pipe.id
        );
    }
}

/// Allowed properties per layer (besides `synthetic`) and the enumerations among them.
type Schema = (
    &'static str,
    &'static [&'static str],
    &'static [(&'static str, &'static [&'static str])],
);

/// The schema of every layer.
const SCHEMAS: [Schema; 7] = [
    (
        "grid_cells",
        &[
            "code",
            "name",
            "level",
            "parent_code",
            "responsible_unit",
            "workers",
            "valid_from",
            "valid_to",
        ],
        &[("level", &["district", "street", "community", "grid"])],
    ),
    (
        "roads",
        &["name", "class", "width_m", "built_year", "resurfaced_on"],
        &[("class", &["arterial", "secondary", "branch", "alley"])],
    ),
    (
        "pipelines",
        &[
            "kind",
            "material",
            "diameter_mm",
            "pressure_class",
            "depth_m",
            "install_year",
            "owner_unit",
            "condition",
            "renovated_on",
            "road_name",
        ],
        &[
            (
                "kind",
                &["gas", "water", "sewage", "rain", "heat", "power", "telecom"],
            ),
            ("pressure_class", &["low", "medium_b", "medium_a", "high"]),
            (
                "condition",
                &["good", "aging", "needs_renovation", "renovated"],
            ),
        ],
    ),
    (
        "manholes",
        &[
            "component_code",
            "kind",
            "status",
            "owner_unit",
            "maintainer_unit",
            "material",
            "diameter_mm",
            "installed_on",
            "last_inspected_on",
            "rectified_on",
        ],
        &[
            (
                "kind",
                &[
                    "water_supply",
                    "sewage",
                    "rain",
                    "gas",
                    "heat",
                    "power",
                    "telecom",
                    "streetlight",
                    "ownerless",
                ],
            ),
            (
                "status",
                &[
                    "intact",
                    "damaged",
                    "missing",
                    "displaced",
                    "sunken",
                    "rattling",
                ],
            ),
            ("material", &["铸铁", "球墨铸铁", "复合材料", "钢筋混凝土"]),
        ],
    ),
    (
        "parks",
        &["name", "kind", "opened_on", "open_hours"],
        &[("kind", &["comprehensive", "community", "pocket"])],
    ),
    (
        "renovation_areas",
        &["name", "kind", "plan_year", "status"],
        &[
            (
                "kind",
                &["old_area", "old_block", "old_community", "old_factory"],
            ),
            ("status", &["planned", "in_progress", "done"]),
        ],
    ),
    (
        "facilities",
        &["kind", "name", "status"],
        &[
            (
                "kind",
                &[
                    "public_toilet",
                    "sanitation_transfer_station",
                    "civil_air_defence",
                    "parking",
                    "school",
                    "kindergarten",
                    "hospital",
                    "fitness_path",
                ],
            ),
            ("status", &["in_service", "under_construction", "closed"]),
        ],
    ),
];

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && (1..=12).contains(&s[5..7].parse::<u32>().unwrap_or(0))
        && (1..=31).contains(&s[8..10].parse::<u32>().unwrap_or(0))
}

#[test]
fn features_carry_only_their_listed_properties_and_values() {
    for (layer_id, keys, enums) in SCHEMAS {
        for f in layer(layer_id) {
            let props = f.properties.as_ref().expect("properties");
            assert_eq!(props.get("synthetic"), Some(&Json::Bool(true)));
            let mut found: Vec<&str> = props
                .keys()
                .map(String::as_str)
                .filter(|k| *k != "synthetic")
                .collect();
            let mut expected = keys.to_vec();
            found.sort_unstable();
            expected.sort_unstable();
            assert_eq!(found, expected, "{layer_id} {:?}", f.id);
            for (key, values) in enums {
                if let Some(v) = opt_text(f, key) {
                    assert!(values.contains(&v), "{layer_id}.{key} = {v}");
                }
            }
            for (key, value) in props {
                let dated = key.ends_with("_on") || key.starts_with("valid_");
                if let (true, Some(v)) = (dated, value.as_str()) {
                    assert!(is_date(v), "{layer_id}.{key} = {v}");
                }
            }
        }
    }
}

#[test]
fn streets_and_communities_carry_their_official_codes_and_names() {
    let reference = reference();
    for level in ["street", "community"] {
        for cell in cells(level, None) {
            let division = reference
                .divisions
                .iter()
                .find(|d| d.code == text(cell, "code"))
                .expect("an official code");
            assert_eq!(text(cell, "name"), division.name);
            assert_eq!(text(cell, "parent_code"), division.parent_code);
        }
    }
    let beixiajie = cells("street", None)
        .into_iter()
        .find(|c| text(c, "code") == "410104001")
        .expect("北下街 exists");
    assert_eq!(text(beixiajie, "name"), "北下街街道");
    assert_eq!(
        opt_text(beixiajie, "responsible_unit"),
        Some("北下街街道办事处")
    );
}

#[test]
fn old_town_streets_are_small_and_in_the_north_west() {
    let area_of = |code: &str| {
        cells("street", None)
            .into_iter()
            .find(|c| text(c, "code") == code)
            .map(|c| {
                (
                    shape(c).geodesic_area_unsigned(),
                    shape(c).centroid().expect("non-empty"),
                )
            })
            .expect("street exists")
    };
    let old_town = [
        "410104001",
        "410104002",
        "410104003",
        "410104004",
        "410104005",
    ];
    let suburbs = [
        "410104010",
        "410104011",
        "410104012",
        "410104202",
        "410104570",
        "410104009",
    ];
    let largest_old = old_town.iter().map(|c| area_of(c).0).fold(0.0, f64::max);
    let smallest_suburb = suburbs
        .iter()
        .map(|c| area_of(c).0)
        .fold(f64::INFINITY, f64::min);
    assert!(
        largest_old * 3.0 < smallest_suburb,
        "{largest_old} vs {smallest_suburb}"
    );
    for code in old_town {
        let c = area_of(code).1;
        assert!(c.x() < 113.72 && c.y() > 34.735, "{code} lies at {c:?}");
    }
}

#[test]
fn grid_cells_have_workers_and_some_fall_back_to_the_community_unit() {
    let grid = cells("grid", None);
    for cell in &grid {
        let workers = cell
            .property("workers")
            .and_then(Json::as_array)
            .expect("an array");
        assert!((1..=3).contains(&workers.len()));
    }
    let without_unit = grid
        .iter()
        .filter(|c| opt_text(c, "responsible_unit").is_none())
        .count();
    let share = without_unit as f64 / grid.len() as f64;
    assert!((0.05..=0.15).contains(&share), "{share}");
    for level in ["district", "street", "community"] {
        assert!(
            cells(level, None)
                .iter()
                .all(|c| c.property("workers") == Some(&Json::Array(Vec::new())))
        );
    }
}

/// All positions of a geometry.
fn positions(g: &Geometry) -> Vec<Coord> {
    use geo::CoordsIter;
    g.coords_iter().collect()
}

#[test]
fn points_and_line_vertices_lie_strictly_inside_the_boundary() {
    for layer_id in ["roads", "pipelines", "manholes", "facilities"] {
        for f in layer(layer_id) {
            for c in positions(&geometry(f)) {
                assert!(
                    boundary().contains(&Point::from(c)),
                    "{layer_id} {:?} at {c:?}",
                    f.id
                );
            }
        }
    }
}

#[test]
fn parks_and_renovation_areas_lie_inside_the_boundary() {
    for layer_id in ["parks", "renovation_areas"] {
        for f in layer(layer_id) {
            assert!(boundary().contains(&shape(f)), "{layer_id} {:?}", f.id);
        }
    }
}

#[test]
fn parks_do_not_overlap_and_come_in_plausible_sizes() {
    let parks = layer("parks");
    let shapes: Vec<MultiPolygon> = parks.iter().map(shape).collect();
    assert_partition_free(&shapes);
    for (park, s) in parks.iter().zip(&shapes) {
        let ha = s.geodesic_area_unsigned() / 10_000.0;
        let range = match text(park, "kind") {
            "pocket" => 0.1..=1.0,
            "community" => 1.0..=5.0,
            _ => 10.0..=40.0,
        };
        assert!(range.contains(&ha), "{:?} has {ha:.2} ha", park.id);
        assert!(
            !park
                .properties
                .as_ref()
                .expect("properties")
                .contains_key("area_m2")
        );
    }
}

/// Asserts that no two shapes overlap.
fn assert_partition_free(shapes: &[MultiPolygon]) {
    for i in 0..shapes.len() {
        for j in i + 1..shapes.len() {
            let shared = shapes[i].intersection(&shapes[j]).geodesic_area_unsigned();
            assert!(shared < 1e-3, "shapes {i} and {j} overlap by {shared} m²");
        }
    }
}

#[test]
fn polygon_rings_are_closed_and_free_of_repeated_points() {
    for layer_id in ["grid_cells", "parks", "renovation_areas"] {
        for f in layer(layer_id) {
            for polygon in &shape(f) {
                for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                    let c = &ring.0;
                    assert!(c.len() >= 4, "{:?}", f.id);
                    assert_eq!(c.first(), c.last(), "{:?}", f.id);
                    assert!(
                        c.windows(2).all(|w| w[0] != w[1]),
                        "{:?} repeats a point",
                        f.id
                    );
                }
            }
        }
    }
}

/// The bytes the district writes, layer by layer.
fn written(district: &DemoDistrict, name: &str) -> Vec<(String, String)> {
    let dir = std::env::temp_dir().join(format!("citygrid-demo-{}-{name}", std::process::id()));
    district.write_dir(&dir).expect("writes");
    let files = district
        .layers
        .iter()
        .map(|(layer_id, _)| {
            let path = dir.join(format!("{layer_id}.geojson"));
            (
                (*layer_id).to_owned(),
                std::fs::read_to_string(&path).expect("readable"),
            )
        })
        .collect();
    std::fs::remove_dir_all(&dir).expect("removable");
    files
}

#[test]
fn the_same_seed_gives_identical_files_and_another_seed_different_ones() {
    let again = generate(reference(), &DemoOptions { seed: 42, scale: 1 }).expect("generates");
    let other = generate(reference(), &DemoOptions { seed: 43, scale: 1 }).expect("generates");
    let first = written(district(), "first");
    assert_eq!(first, written(&again, "again"));
    let different = written(&other, "other");
    for ((layer_id, a), (_, b)) in first.iter().zip(&different) {
        assert_ne!(a, b, "{layer_id} does not depend on the seed");
    }
}

#[test]
fn written_files_hold_one_feature_per_line_with_at_most_seven_decimals() {
    for (layer_id, content) in written(district(), "format") {
        let lines: Vec<&str> = content.lines().collect();
        assert_eq!(
            lines[0], r#"{"type":"FeatureCollection","features":["#,
            "{layer_id}"
        );
        assert_eq!(lines.last(), Some(&"]}"));
        assert_eq!(lines.len() - 2, layer(&layer_id).len());
        let parsed: Json = serde_json::from_str(&content).expect("valid JSON");
        let features = parsed["features"].as_array().expect("features");
        for f in features {
            let mut numbers = Vec::new();
            collect_numbers(&f["geometry"]["coordinates"], &mut numbers);
            for n in numbers {
                let decimals = n.split_once('.').map_or(0, |(_, d)| d.len());
                assert!(decimals <= 7 && !n.contains('e'), "{layer_id}: {n}");
            }
        }
    }
}

fn collect_numbers(v: &Json, out: &mut Vec<String>) {
    match v {
        Json::Array(items) => items.iter().for_each(|i| collect_numbers(i, out)),
        Json::Number(n) => out.push(n.to_string()),
        _ => {}
    }
}

#[test]
fn scale_multiplies_the_point_and_line_layers() {
    let scaled = generate(reference(), &DemoOptions { seed: 42, scale: 3 }).expect("generates");
    for layer_id in ["roads", "pipelines", "manholes"] {
        let base = layer(layer_id).len() as f64;
        let n = scaled.layer(layer_id).expect("layer").len() as f64;
        assert!(n > 2.5 * base, "{layer_id}: {n} at scale 3 vs {base}");
    }
    assert_eq!(
        scaled.layer("grid_cells").map(<[Feature]>::len),
        Some(layer("grid_cells").len())
    );
}

#[test]
fn a_scale_of_zero_is_rejected() {
    let result = generate(reference(), &DemoOptions { seed: 1, scale: 0 });
    assert!(matches!(result, Err(DemoError::Scale { scale: 0 })));
}

#[test]
fn loading_from_a_missing_folder_names_the_file() {
    let missing = Path::new("/nonexistent/citygrid");
    match Reference::load(missing) {
        Err(DemoError::Io { path, .. }) => assert!(path.starts_with(missing)),
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

#[test]
fn the_reference_holds_the_district_streets_and_communities() {
    let reference = reference();
    let count = |level| {
        reference
            .divisions
            .iter()
            .filter(|d| d.level == level)
            .count()
    };
    assert_eq!(count(super::DivisionLevel::District), 1);
    assert_eq!(count(super::DivisionLevel::Street), 14);
    assert_eq!(count(super::DivisionLevel::Community), 155);
    assert_eq!(reference.boundary.0.len(), 1);
    assert_eq!(reference.boundary.0[0].exterior().0.len(), 523);
}
