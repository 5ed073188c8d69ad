//! Distance queries on a [`CollectionIndex`]: the k nearest features to a point, and the
//! features within a distance of a geometry.
//!
//! CRS: WGS84 longitude/latitude in degrees; distances in metres, geodesic on the WGS84
//! ellipsoid, from the query to the closest point of each feature
//! ([`geodesic_distance_m`]). The R-tree holds envelopes in degrees; a search box in degrees is
//! derived from a distance in metres with bounds that never under-estimate it (see
//! [`search_rect`]), so pruning never loses a feature and the results equal a brute-force scan.
//! A search box that reaches past ±180° continues on the other side ([`search_boxes`]), so
//! features across the antimeridian are found at their true distance.

use std::collections::HashMap;
use std::f64::consts::PI;
use std::sync::Arc;

use geo::{BoundingRect, Distance, Geodesic, Geometry, Point, Rect, coord};
use rstar::AABB;

use super::CollectionIndex;
use super::predicate::{WGS84_A, geodesic_distance_m, wrap_deg};
use crate::model::Feature;

/// A fast hasher for the small integer keys of a search.
type FastHash = foldhash::fast::FixedState;

/// Relative error allowed for the approximate point distances used to shortlist candidates.
/// [`LocalMetric`] is used only where it is far better than this (tested).
const APPROX_MARGIN: f64 = 1e-3;

/// The farthest distance, metres, at which [`LocalMetric`] is trusted; beyond it (or near the
/// poles) points are measured exactly at once.
const APPROX_RANGE_M: f64 = 20_000.0;

/// The highest absolute latitude, degrees, at which [`LocalMetric`] is trusted.
const APPROX_MAX_LAT: f64 = 80.0;

/// Metres per degree of longitude and latitude at `lat` on the WGS84 ellipsoid (series to 6φ).
fn metres_per_degree(lat: f64) -> (f64, f64) {
    let phi = lat.to_radians();
    let lon_m = 111_412.84 * phi.cos() - 93.5 * (3.0 * phi).cos() + 0.118 * (5.0 * phi).cos();
    let lat_m = 111_132.92 - 559.82 * (2.0 * phi).cos() + 1.175 * (4.0 * phi).cos()
        - 0.0023 * (6.0 * phi).cos();
    (lon_m, lat_m)
}

/// A fast local estimate of the geodesic distance from a query point: an equirectangular
/// projection whose longitude scale is taken at the mean latitude of the two points (to first
/// order), with longitudes compared the short way round. Relative error below 1e-4 within
/// [`APPROX_RANGE_M`] up to [`APPROX_MAX_LAT`] (tested against Karney's distance); `None`
/// where it is not trusted, so the caller measures exactly.
struct LocalMetric {
    lon: f64,
    lat: f64,
    m_per_deg_lon: f64,
    /// d(metres per degree of longitude)/d(latitude in degrees) at the query's latitude.
    dm_lon_dlat: f64,
    m_per_deg_lat: f64,
}

impl LocalMetric {
    fn at(lon: f64, lat: f64) -> Self {
        let (m_per_deg_lon, m_per_deg_lat) = metres_per_degree(lat);
        let phi = lat.to_radians();
        let dm_lon_dlat = (-111_412.84 * phi.sin() + 3.0 * 93.5 * (3.0 * phi).sin()
            - 5.0 * 0.118 * (5.0 * phi).sin())
            * PI
            / 180.0;
        Self {
            lon,
            lat,
            m_per_deg_lon,
            dm_lon_dlat,
            m_per_deg_lat,
        }
    }

    fn distance_m(&self, p: Point<f64>) -> Option<f64> {
        if self.lat.abs() > APPROX_MAX_LAT || p.y().abs() > APPROX_MAX_LAT {
            return None;
        }
        let dlat = p.y() - self.lat;
        let scale_lon = self.m_per_deg_lon + self.dm_lon_dlat * dlat / 2.0;
        let (dx, dy) = (
            wrap_deg(p.x() - self.lon) * scale_lon,
            dlat * self.m_per_deg_lat,
        );
        let d = (dx * dx + dy * dy).sqrt();
        (d <= APPROX_RANGE_M).then_some(d)
    }
}

/// Metres per degree of latitude, at least: the meridian's radius of curvature is smallest at
/// the equator, a(1 − e²) = 6,335,439.3 m, which gives 110,574.27 m per degree. Rounded down.
const MIN_M_PER_DEG_LAT: f64 = 110_574.0;

/// Relative slack added to search boxes against rounding in the degree conversions.
const SLACK: f64 = 1e-9;

/// The smallest first search radius of [`CollectionIndex::nearest`], metres; the first radius is
/// larger where the collection is sparse, and it doubles per round.
const FIRST_RADIUS_M: f64 = 100.0;

/// A first search radius for `k` features around latitude `lat`: the radius of a circle that
/// holds about `2k` features if they were spread evenly over `extent` (only a guess: the
/// rounds that follow make the answer exact whatever it is).
fn first_radius_m(extent: Option<Rect<f64>>, live: usize, k: usize, lat: f64) -> f64 {
    let Some(extent) = extent else {
        return FIRST_RADIUS_M;
    };
    let (m_per_deg_lon, m_per_deg_lat) = metres_per_degree(lat);
    let area_m2 = extent.width() * m_per_deg_lon * extent.height() * m_per_deg_lat;
    let per_feature_m2 = area_m2 / live.max(1) as f64;
    let radius = (2.0 * k as f64 * per_feature_m2 / PI).sqrt();
    if radius.is_finite() {
        radius.clamp(FIRST_RADIUS_M, 10_000.0)
    } else {
        FIRST_RADIUS_M
    }
}

/// A rectangle in degrees holding every point within `distance_m` (geodesic) of some point of
/// `rect`.
///
/// A path between two parallels is at least as long as the meridian arc between them, so the
/// latitude moves by at most `distance_m / 110,574`. Along such a path the parallels' radius
/// N·cos φ is at least a·cos φₘ, with φₘ the largest absolute latitude of that band, which
/// bounds the longitude moved. A band reaching a pole takes every longitude.
pub fn search_rect(rect: Rect<f64>, distance_m: f64) -> Rect<f64> {
    let distance_m = distance_m.max(0.0) * (1.0 + SLACK);
    let dlat = distance_m / MIN_M_PER_DEG_LAT;
    let lat0 = (rect.min().y - dlat).max(-90.0);
    let lat1 = (rect.max().y + dlat).min(90.0);
    let widest = lat0.abs().max(lat1.abs());
    let m_per_deg_lon = WGS84_A * widest.to_radians().cos() * PI / 180.0;
    let dlon = distance_m / m_per_deg_lon;
    let (lon0, lon1) = if widest >= 90.0 || !dlon.is_finite() || dlon >= 180.0 {
        (-180.0, 180.0)
    } else {
        (rect.min().x - dlon, rect.max().x + dlon)
    };
    Rect::new(coord! { x: lon0, y: lat0 }, coord! { x: lon1, y: lat1 })
}

fn aabb(rect: Rect<f64>) -> AABB<[f64; 2]> {
    AABB::from_corners([rect.min().x, rect.min().y], [rect.max().x, rect.max().y])
}

/// The envelopes, within ±180° of longitude, that cover `rect`: the rect itself, or its two
/// pieces when it reaches past the antimeridian (what lies beyond 180° continues at −180°), or
/// every longitude when it is 360° wide or more.
pub fn search_boxes(rect: Rect<f64>) -> Vec<AABB<[f64; 2]>> {
    let (x0, x1, y0, y1) = (rect.min().x, rect.max().x, rect.min().y, rect.max().y);
    if x1 - x0 >= 360.0 {
        return vec![AABB::from_corners([-180.0, y0], [180.0, y1])];
    }
    match (x0 < -180.0, x1 > 180.0) {
        (false, false) => vec![aabb(rect)],
        (true, _) => vec![
            AABB::from_corners([-180.0, y0], [x1.min(180.0), y1]),
            AABB::from_corners([x0 + 360.0, y0], [180.0, y1]),
        ],
        (false, true) => vec![
            AABB::from_corners([x0, y0], [180.0, y1]),
            AABB::from_corners([-180.0, y0], [x1 - 360.0, y1]),
        ],
    }
}

/// Whether the union of `boxes` covers `extent` whole.
fn boxes_cover(boxes: &[AABB<[f64; 2]>], extent: Rect<f64>) -> bool {
    let (lower, upper) = (boxes[0].lower(), boxes[0].upper());
    if extent.min().y < lower[1] || extent.max().y > upper[1] {
        return false;
    }
    // The pieces share their latitudes; the extent's longitudes must lie in one piece (an
    // extent is one interval within ±180°, and the pieces of a split box meet only at ±180°).
    boxes
        .iter()
        .any(|b| b.lower()[0] <= extent.min().x && extent.max().x <= b.upper()[0])
}

impl CollectionIndex {
    /// Features whose envelope meets `rect` (boundaries included), in no particular order:
    /// candidates only, without an exact test.
    pub fn candidates(&self, rect: Rect<f64>) -> impl Iterator<Item = &Arc<Feature>> {
        self.tree
            .locate_in_envelope_intersecting(&aabb(rect))
            .filter_map(|entry| self.slots[entry.data as usize].as_ref())
    }

    /// The `k` features nearest to the point (`lon`, `lat`) with their geodesic distance in
    /// metres to its closest point, nearest first, ties broken by key; only those within
    /// `max_distance_m` when given.
    ///
    /// The search box grows until it holds `k` features whose exact distance is within its
    /// radius; every feature outside the box is farther than that radius, so the answer equals
    /// sorting all features by [`geodesic_distance_m`].
    pub fn nearest(
        &self,
        lon: f64,
        lat: f64,
        k: usize,
        max_distance_m: Option<f64>,
    ) -> Vec<(&Arc<Feature>, f64)> {
        if k == 0 || self.live == 0 || !(lon.is_finite() && lat.is_finite()) {
            return Vec::new();
        }
        let query = Geometry::Point(Point::new(lon, lat));
        let here = Point::new(lon, lat);
        let at = Rect::new(coord! { x: lon, y: lat }, coord! { x: lon, y: lat });
        let max_m = max_distance_m.unwrap_or(f64::INFINITY).max(0.0);
        let everything = self.extent();
        // Points are ranked first by a local ellipsoidal approximation where it is far better
        // than APPROX_MARGIN (within APPROX_RANGE_M, away from the poles), and only the shortlist
        // that could be among the k nearest gets the exact Karney distance; farther points and
        // other geometries are measured exactly at once.
        let local = LocalMetric::at(lon, lat);
        let mut seen: HashMap<u32, (f64, bool), FastHash> =
            HashMap::with_capacity_and_hasher(8 * k, FastHash::default());
        let mut radius_m = first_radius_m(everything, self.live, k, lat).min(max_m);
        loop {
            let boxes = search_boxes(search_rect(at, radius_m));
            for envelope in &boxes {
                for entry in self.tree.locate_in_envelope_intersecting(envelope) {
                    if let Some(feature) = self.slots[entry.data as usize].as_ref() {
                        seen.entry(entry.data)
                            .or_insert_with(|| match feature.geometry {
                                Geometry::Point(p) => local.distance_m(p).map_or_else(
                                    || (Geodesic.distance(here, p), true),
                                    |d| (d, false),
                                ),
                                _ => (geodesic_distance_m(&feature.geometry, &query), true),
                            });
                    }
                }
            }
            let covers_all = everything.is_none_or(|e| boxes_cover(&boxes, e));
            let surely_within = |&(d, exact): &(f64, bool)| {
                if exact {
                    d <= radius_m
                } else {
                    d * (1.0 + APPROX_MARGIN) <= radius_m
                }
            };
            let enough = seen.values().filter(|v| surely_within(v)).count() >= k;
            if enough || covers_all || radius_m >= max_m {
                let limit = if covers_all {
                    max_m
                } else {
                    radius_m.min(max_m)
                };
                // The k-th smallest upper bound: nothing whose lower bound exceeds it can be
                // among the k nearest.
                let mut uppers: Vec<f64> = seen
                    .values()
                    .map(|&(d, exact)| if exact { d } else { d * (1.0 + APPROX_MARGIN) })
                    .collect();
                let cut = if uppers.len() > k {
                    *uppers.select_nth_unstable_by(k - 1, f64::total_cmp).1
                } else {
                    f64::INFINITY
                };
                let mut found: Vec<(&Arc<Feature>, f64)> = seen
                    .into_iter()
                    .filter(|&(_, (d, exact))| {
                        let lower = if exact { d } else { d * (1.0 - APPROX_MARGIN) };
                        lower <= cut && lower <= limit
                    })
                    .filter_map(|(i, (d, exact))| {
                        let feature = self.slots[i as usize].as_ref()?;
                        let distance = match (exact, &feature.geometry) {
                            (false, Geometry::Point(p)) => Geodesic.distance(here, *p),
                            _ => d,
                        };
                        (distance <= limit).then_some((feature, distance))
                    })
                    .collect();
                found.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.fid.cmp(&b.0.fid)));
                found.truncate(k);
                return found;
            }
            radius_m = (radius_m * 2.0).min(max_m);
        }
    }

    /// Features whose geodesic distance to `query` is at most `distance_m` metres, in key order.
    pub fn within_distance(&self, query: &Geometry<f64>, distance_m: f64) -> Vec<&Arc<Feature>> {
        self.within_distance_until(query, distance_m, &|| false)
            .expect("never asked to stop")
    }

    /// As [`CollectionIndex::within_distance`], asking `stop` before measuring each candidate
    /// (a large query geometry against many features is the most expensive distance work there
    /// is); `None` when it said stop.
    pub fn within_distance_until(
        &self,
        query: &Geometry<f64>,
        distance_m: f64,
        stop: &dyn Fn() -> bool,
    ) -> Option<Vec<&Arc<Feature>>> {
        let Some(bbox) = query.bounding_rect() else {
            return Some(Vec::new());
        };
        let mut hits: Vec<u32> = Vec::new();
        for envelope in search_boxes(search_rect(bbox, distance_m)) {
            for entry in self.tree.locate_in_envelope_intersecting(&envelope) {
                if stop() {
                    return None;
                }
                if self.slots[entry.data as usize]
                    .as_ref()
                    .is_some_and(|f| geodesic_distance_m(&f.geometry, query) <= distance_m)
                {
                    hits.push(entry.data);
                }
            }
        }
        // A feature whose envelope meets both pieces of a split box is found twice.
        hits.sort_unstable();
        hits.dedup();
        Some(
            hits.into_iter()
                .filter_map(|i| self.slots[i as usize].as_ref())
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FeatureId;
    use chrono::Utc;
    use geo::{
        Destination, Geodesic, Intersects, LineString, Polygon, line_string, point, polygon,
    };
    use proptest::prelude::*;
    use serde_json::Map;

    const LON0: f64 = 113.70;
    const LAT0: f64 = 34.70;

    fn feature(fid: i64, geometry: Geometry<f64>) -> Arc<Feature> {
        let now = Utc::now();
        Arc::new(Feature::new(
            fid,
            FeatureId::parse(&format!("f{fid}")).unwrap(),
            geometry,
            Map::new(),
            1,
            now,
            now,
        ))
    }

    fn fids(found: &[(&Arc<Feature>, f64)]) -> Vec<i64> {
        found.iter().map(|(f, _)| f.fid).collect()
    }

    #[test]
    fn a_long_line_passing_close_beats_a_point_nearer_its_centre() {
        // The line's centre is 5 km away but it passes 100 m south of the query; the point is
        // 300 m north.
        let index = CollectionIndex::build(vec![
            feature(1, point!(x: LON0, y: LAT0 + 300.0 / 110_950.0).into()),
            feature(
                2,
                line_string![(x: LON0 - 0.001, y: LAT0 - 100.0 / 110_950.0), (x: LON0 + 0.11, y: LAT0 - 100.0 / 110_950.0)]
                    .into(),
            ),
        ]);
        let found = index.nearest(LON0, LAT0, 2, None);
        assert_eq!(fids(&found), [2, 1]);
        assert!((found[0].1 - 100.0).abs() < 0.5, "{found:?}");
        assert!((found[1].1 - 300.0).abs() < 1.5, "{found:?}");
    }

    #[test]
    fn ties_are_broken_by_key_and_the_cap_excludes_farther_features() {
        let here: Geometry<f64> = point!(x: LON0 + 0.01, y: LAT0).into();
        let index = CollectionIndex::build(vec![
            feature(9, here.clone()),
            feature(4, here.clone()),
            feature(7, here),
            feature(1, point!(x: LON0 + 0.5, y: LAT0).into()),
        ]);
        assert_eq!(fids(&index.nearest(LON0, LAT0, 2, None)), [4, 7]);
        assert_eq!(fids(&index.nearest(LON0, LAT0, 10, None)), [4, 7, 9, 1]);
        assert_eq!(
            fids(&index.nearest(LON0, LAT0, 10, Some(5_000.0))),
            [4, 7, 9]
        );
        assert!(index.nearest(LON0, LAT0, 10, Some(100.0)).is_empty());
        assert!(index.nearest(LON0, LAT0, 0, None).is_empty());
        assert!(
            CollectionIndex::default()
                .nearest(LON0, LAT0, 3, None)
                .is_empty()
        );
    }

    #[test]
    fn a_point_inside_a_polygon_is_at_zero_and_removed_features_are_gone() {
        let square: Polygon<f64> = Polygon::new(
            LineString::from(vec![
                (LON0, LAT0),
                (LON0 + 0.01, LAT0),
                (LON0 + 0.01, LAT0 + 0.01),
                (LON0, LAT0 + 0.01),
                (LON0, LAT0),
            ]),
            vec![],
        );
        let index = CollectionIndex::build(vec![
            feature(1, square.into()),
            feature(2, point!(x: LON0 + 0.005, y: LAT0 + 0.005).into()),
        ]);
        let found = index.nearest(LON0 + 0.005, LAT0 + 0.005, 2, None);
        assert_eq!(fids(&found), [1, 2]);
        assert!(found.iter().all(|&(_, d)| d == 0.0));
        let fewer = index.with_changes(&[], &[FeatureId::parse("f1").unwrap()]);
        assert_eq!(fids(&fewer.nearest(LON0, LAT0, 2, None)), [2]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn search_rects_hold_every_point_within_the_distance(
            lon in -179.0..179.0_f64,
            lat in -89.9..89.9_f64,
            distance_m in 0.0..2_000_000.0_f64,
            bearing in 0.0..360.0_f64,
            fraction in 0.0..=1.0_f64,
        ) {
            let at = Rect::new(coord! { x: lon, y: lat }, coord! { x: lon, y: lat });
            let rect = search_rect(at, distance_m);
            let there = Geodesic.destination(Point::new(lon, lat), bearing, distance_m * fraction);
            // Longitudes wrap: the box is only meaningful when it does not cross ±180.
            let wraps = rect.min().x < -180.0 || rect.max().x > 180.0;
            prop_assume!(!wraps || rect.width() >= 360.0);
            prop_assert!(
                rect.min().y <= there.y() && there.y() <= rect.max().y,
                "{:?} not in {:?}", there, rect
            );
            prop_assert!(
                rect.width() >= 360.0 || (rect.min().x <= there.x() && there.x() <= rect.max().x),
                "{:?} not in {:?}", there, rect
            );
        }
    }

    /// A random feature within about 10 km of the centre: a point, a line or a holed polygon.
    fn a_geometry() -> impl Strategy<Value = Geometry<f64>> {
        let c = || {
            (-0.1..0.1_f64, -0.08..0.08_f64).prop_map(|(x, y)| coord! { x: LON0 + x, y: LAT0 + y })
        };
        prop_oneof![
            c().prop_map(|p| Point(p).into()),
            prop::collection::vec(c(), 2..4).prop_map(|cs| LineString::new(cs).into()),
            (c(), 0.001..0.01_f64, any::<bool>()).prop_map(|(p, r, holed)| {
                let ring = |s: f64| {
                    LineString::from(vec![
                        (p.x - s, p.y - s),
                        (p.x + s, p.y - s),
                        (p.x + s, p.y + s),
                        (p.x - s, p.y + s),
                        (p.x - s, p.y - s),
                    ])
                };
                let holes = if holed { vec![ring(r / 2.0)] } else { vec![] };
                Polygon::new(ring(r), holes).into()
            }),
        ]
    }

    fn an_index() -> impl Strategy<Value = (CollectionIndex, Vec<Arc<Feature>>)> {
        (
            prop::collection::vec(a_geometry(), 0..40),
            prop::collection::vec(0..40_usize, 0..4),
        )
            .prop_map(|(geometries, duplicated)| {
                let mut features: Vec<Arc<Feature>> = geometries
                    .iter()
                    .zip(1..)
                    .map(|(g, fid)| feature(fid, g.clone()))
                    .collect();
                // Copies of some geometries under other keys make ties.
                for (n, &i) in duplicated.iter().enumerate() {
                    if let Some(g) = geometries.get(i) {
                        features.push(feature(1000 + i64::try_from(n).unwrap(), g.clone()));
                    }
                }
                (CollectionIndex::build(features.clone()), features)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn nearest_equals_sorting_every_feature_by_distance(
            (index, features) in an_index(),
            (dx, dy) in (-0.3..0.3_f64, -0.3..0.3_f64),
            k in 0..8_usize,
            max_distance_m in prop::option::of(0.0..20_000.0_f64),
        ) {
            let (lon, lat) = (LON0 + dx, LAT0 + dy);
            let query: Geometry<f64> = Point::new(lon, lat).into();
            let mut expected: Vec<(i64, f64)> = features
                .iter()
                .map(|f| (f.fid, geodesic_distance_m(&f.geometry, &query)))
                .filter(|&(_, d)| max_distance_m.is_none_or(|m| d <= m))
                .collect();
            expected.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
            expected.truncate(k);
            let found: Vec<(i64, f64)> =
                index.nearest(lon, lat, k, max_distance_m).into_iter().map(|(f, d)| (f.fid, d)).collect();
            prop_assert_eq!(found, expected);
        }

        #[test]
        fn within_distance_equals_a_brute_force_filter(
            (index, features) in an_index(),
            query in a_geometry(),
            distance_m in 0.0..5_000.0_f64,
        ) {
            let found: Vec<i64> = index.within_distance(&query, distance_m).iter().map(|f| f.fid).collect();
            prop_assert_eq!(found, brute_within(&features, &query, distance_m));
        }

        #[test]
        fn candidates_are_the_features_whose_envelope_meets_the_rect(
            (index, features) in an_index(),
            query in a_geometry(),
        ) {
            let rect = query.bounding_rect().unwrap();
            let mut expected: Vec<i64> = features
                .iter()
                .filter(|f| f.bbox.is_some_and(|b| b.intersects(&rect)))
                .map(|f| f.fid)
                .collect();
            expected.sort_unstable();
            let mut found: Vec<i64> = index.candidates(rect).map(|f| f.fid).collect();
            found.sort_unstable();
            prop_assert_eq!(found, expected);
        }
    }

    /// A square across the antimeridian, split at ±180° as RFC 7946 asks.
    fn split_square() -> Geometry<f64> {
        geo::MultiPolygon::new(vec![
            polygon![(x: 179.99, y: -0.01), (x: 180.0, y: -0.01), (x: 180.0, y: 0.01), (x: 179.99, y: 0.01), (x: 179.99, y: -0.01)],
            polygon![(x: -180.0, y: -0.01), (x: -179.99, y: -0.01), (x: -179.99, y: 0.01), (x: -180.0, y: 0.01), (x: -180.0, y: -0.01)],
        ])
        .into()
    }

    #[test]
    fn features_across_the_antimeridian_are_found_at_their_true_distance() {
        let index = CollectionIndex::build(vec![
            feature(1, split_square()),
            feature(2, point!(x: -179.999, y: 0.0).into()),
            feature(3, point!(x: 179.9, y: 0.0).into()),
            feature(4, point!(x: 0.0, y: 0.0).into()),
        ]);
        let d = |a: (f64, f64), b: (f64, f64)| {
            Geodesic.distance(Point::new(a.0, a.1), Point::new(b.0, b.1))
        };
        // From the west side: the square's western edge is 0.01° away, the point on the other
        // side of ±180° 0.019° away.
        let found = index.nearest(-179.98, 0.0, 3, None);
        assert_eq!(fids(&found), [1, 2, 3], "{found:?}");
        assert!((found[0].1 - d((-179.98, 0.0), (-179.99, 0.0))).abs() < 1e-3);
        assert!((found[1].1 - d((-179.98, 0.0), (-179.999, 0.0))).abs() < 1e-6);
        // From the east side, the point across is nearer than the decoy on the same side.
        let found = index.nearest(179.995, 0.02, 2, None);
        assert_eq!(fids(&found), [1, 2], "{found:?}");
        let within: Vec<i64> = index
            .within_distance(&point!(x: 179.985, y: 0.0).into(), 2_000.0)
            .iter()
            .map(|f| f.fid)
            .collect();
        assert_eq!(within, [1, 2]);
        assert_eq!(
            search_boxes(search_rect(
                Rect::new(coord! { x: 179.9, y: 0.0 }, coord! { x: 179.9, y: 0.0 }),
                50_000.0
            ))
            .len(),
            2
        );
    }

    #[test]
    fn within_distance_stops_when_asked_and_answers_in_full_otherwise() {
        let index = CollectionIndex::build(
            (1..=10)
                .map(|fid| feature(fid, point!(x: LON0 + 0.0001 * fid as f64, y: LAT0).into()))
                .collect(),
        );
        let query: Geometry<f64> = point!(x: LON0, y: LAT0).into();
        let asked = std::cell::Cell::new(0);
        let stop_at_third = || {
            asked.set(asked.get() + 1);
            asked.get() >= 3
        };
        assert!(
            index
                .within_distance_until(&query, 1_000.0, &stop_at_third)
                .is_none()
        );
        assert_eq!(
            asked.get(),
            3,
            "it stops at once, without measuring the rest"
        );
        let all = index
            .within_distance_until(&query, 1_000.0, &|| false)
            .unwrap();
        assert_eq!(all.len(), 10);
        assert_eq!(all.len(), index.within_distance(&query, 1_000.0).len());
    }

    #[test]
    fn a_search_box_is_cut_at_the_antimeridian_into_boxes_within_the_world() {
        let r = |x0: f64, x1: f64| Rect::new(coord! { x: x0, y: -1.0 }, coord! { x: x1, y: 1.0 });
        let corners = |boxes: Vec<AABB<[f64; 2]>>| -> Vec<(f64, f64)> {
            boxes.iter().map(|b| (b.lower()[0], b.upper()[0])).collect()
        };
        assert_eq!(corners(search_boxes(r(10.0, 20.0))), [(10.0, 20.0)]);
        assert_eq!(
            corners(search_boxes(r(170.0, 190.0))),
            [(170.0, 180.0), (-180.0, -170.0)]
        );
        assert_eq!(
            corners(search_boxes(r(-185.0, -175.0))),
            [(-180.0, -175.0), (175.0, 180.0)]
        );
        assert_eq!(corners(search_boxes(r(-200.0, 200.0))), [(-180.0, 180.0)]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn the_local_metric_is_within_1e_4_of_karney_where_it_is_used(
            lon in -180.0..180.0_f64,
            lat in -80.0..80.0_f64,
            bearing in 0.0..360.0_f64,
            distance_m in 1.0..60_000.0_f64,
        ) {
            let there = Geodesic.destination(Point::new(lon, lat), bearing, distance_m);
            if let Some(d) = LocalMetric::at(lon, lat).distance_m(there) {
                let exact = Geodesic.distance(Point::new(lon, lat), there);
                prop_assert!((d - exact).abs() <= 1e-4 * exact, "{} vs {}", d, exact);
            }
        }
    }

    /// Points anywhere on Earth (away from the poles, where the local metric is never used).
    fn world_points() -> impl Strategy<Value = Vec<Arc<Feature>>> {
        prop::collection::vec((-180.0..180.0_f64, -89.0..89.0_f64), 1..40).prop_map(|ps| {
            ps.into_iter()
                .zip(1..)
                .map(|((x, y), fid)| feature(fid, point!(x: x, y: y).into()))
                .collect()
        })
    }

    /// Points, lines and squares within about 100 km of the antimeridian, on either side.
    fn antimeridian_features() -> impl Strategy<Value = Vec<Arc<Feature>>> {
        let side = || prop_oneof![Just(-180.0), Just(180.0)];
        let geometry = (side(), 0.0..1.0_f64, -1.0..1.0_f64, 0..3_u8, 0.001..0.05_f64).prop_map(
            |(edge, inward, y, kind, size)| {
                let x = if edge > 0.0 { edge - inward - size } else { edge + inward };
                match kind {
                    0 => Geometry::from(point!(x: x, y: y)),
                    1 => line_string![(x: x, y: y), (x: x + size, y: y + size)].into(),
                    _ => polygon![(x: x, y: y), (x: x + size, y: y), (x: x + size, y: y + size), (x: x, y: y + size), (x: x, y: y)].into(),
                }
            },
        );
        prop::collection::vec(geometry, 1..30).prop_map(|gs| {
            let mut features: Vec<Arc<Feature>> = gs
                .into_iter()
                .zip(1..)
                .map(|(g, fid)| feature(fid, g))
                .collect();
            features.push(feature(999, split_square()));
            features
        })
    }

    /// Brute force: the keys of the features within `distance_m` of `query`, in key order.
    fn brute_within(features: &[Arc<Feature>], query: &Geometry<f64>, distance_m: f64) -> Vec<i64> {
        let mut within: Vec<i64> = features
            .iter()
            .filter(|f| geodesic_distance_m(&f.geometry, query) <= distance_m)
            .map(|f| f.fid)
            .collect();
        within.sort_unstable();
        within
    }

    fn brute_nearest(features: &[Arc<Feature>], lon: f64, lat: f64, k: usize) -> Vec<(i64, f64)> {
        let query: Geometry<f64> = Point::new(lon, lat).into();
        let mut all: Vec<(i64, f64)> = features
            .iter()
            .map(|f| (f.fid, geodesic_distance_m(&f.geometry, &query)))
            .collect();
        all.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        all.truncate(k);
        all
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn nearest_is_exact_at_continental_distances(
            features in world_points(),
            lon in -180.0..180.0_f64,
            lat in -85.0..85.0_f64,
            k in 1..6_usize,
        ) {
            let index = CollectionIndex::build(features.clone());
            let found: Vec<(i64, f64)> =
                index.nearest(lon, lat, k, None).into_iter().map(|(f, d)| (f.fid, d)).collect();
            prop_assert_eq!(found, brute_nearest(&features, lon, lat, k));
        }

        #[test]
        fn nearest_and_within_distance_are_exact_across_the_antimeridian(
            features in antimeridian_features(),
            lon in prop_oneof![-180.0..-179.0_f64, 179.0..180.0_f64],
            lat in -1.0..1.0_f64,
            k in 1..6_usize,
            distance_m in 0.0..100_000.0_f64,
        ) {
            let index = CollectionIndex::build(features.clone());
            let found: Vec<(i64, f64)> =
                index.nearest(lon, lat, k, None).into_iter().map(|(f, d)| (f.fid, d)).collect();
            prop_assert_eq!(found, brute_nearest(&features, lon, lat, k));
            let query: Geometry<f64> = Point::new(lon, lat).into();
            let within: Vec<i64> =
                index.within_distance(&query, distance_m).iter().map(|f| f.fid).collect();
            prop_assert_eq!(within, brute_within(&features, &query, distance_m));
        }
    }
}
