//! Distance queries on a [`CollectionIndex`]: the k nearest features to a point, and the
//! features within a distance of a geometry.
//!
//! CRS: WGS84 longitude/latitude in degrees; distances in metres, geodesic on the WGS84
//! ellipsoid, from the query to the closest point of each feature
//! ([`geodesic_distance_m`]). The R-tree holds envelopes in degrees; a search box in degrees is
//! derived from a distance in metres with bounds that never under-estimate it (see
//! [`search_rect`]), so pruning never loses a feature and the results equal a brute-force scan.

use std::collections::HashMap;
use std::f64::consts::PI;
use std::sync::Arc;

use geo::{BoundingRect, Geometry, Point, Rect, coord};
use rstar::AABB;

use super::CollectionIndex;
use super::predicate::{WGS84_A, geodesic_distance_m};
use crate::model::Feature;

/// Metres per degree of latitude, at least: the meridian's radius of curvature is smallest at
/// the equator, a(1 − e²) = 6,335,439.3 m, which gives 110,574.27 m per degree. Rounded down.
const MIN_M_PER_DEG_LAT: f64 = 110_574.0;

/// Relative slack added to search boxes against rounding in the degree conversions.
const SLACK: f64 = 1e-9;

/// The first search radius of [`CollectionIndex::nearest`], metres; it grows fourfold per round.
const FIRST_RADIUS_M: f64 = 100.0;

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
        let at = Rect::new(coord! { x: lon, y: lat }, coord! { x: lon, y: lat });
        let max_m = max_distance_m.unwrap_or(f64::INFINITY).max(0.0);
        let everything = self.extent();
        let mut seen: HashMap<u32, f64> = HashMap::new();
        let mut radius_m = FIRST_RADIUS_M.min(max_m);
        loop {
            let rect = search_rect(at, radius_m);
            for entry in self.tree.locate_in_envelope_intersecting(&aabb(rect)) {
                if let Some(feature) = self.slots[entry.data as usize].as_ref() {
                    seen.entry(entry.data)
                        .or_insert_with(|| geodesic_distance_m(&feature.geometry, &query));
                }
            }
            let covers_all = everything.is_none_or(|e| {
                rect.min().x <= e.min().x
                    && rect.min().y <= e.min().y
                    && e.max().x <= rect.max().x
                    && e.max().y <= rect.max().y
            });
            let enough = seen.values().filter(|&&d| d <= radius_m).count() >= k;
            if enough || covers_all || radius_m >= max_m {
                let limit = if covers_all { max_m } else { radius_m.min(max_m) };
                let mut found: Vec<(&Arc<Feature>, f64)> = seen
                    .into_iter()
                    .filter(|&(_, d)| d <= limit)
                    .filter_map(|(i, d)| self.slots[i as usize].as_ref().map(|f| (f, d)))
                    .collect();
                found.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.fid.cmp(&b.0.fid)));
                found.truncate(k);
                return found;
            }
            radius_m = (radius_m * 4.0).min(max_m);
        }
    }

    /// Features whose geodesic distance to `query` is at most `distance_m` metres, in key order.
    pub fn within_distance(&self, query: &Geometry<f64>, distance_m: f64) -> Vec<&Arc<Feature>> {
        let Some(bbox) = query.bounding_rect() else {
            return Vec::new();
        };
        let mut hits: Vec<u32> = self
            .tree
            .locate_in_envelope_intersecting(&aabb(search_rect(bbox, distance_m)))
            .filter(|entry| {
                self.slots[entry.data as usize]
                    .as_ref()
                    .is_some_and(|f| geodesic_distance_m(&f.geometry, query) <= distance_m)
            })
            .map(|entry| entry.data)
            .collect();
        hits.sort_unstable();
        hits.into_iter()
            .filter_map(|i| self.slots[i as usize].as_ref())
            .collect()
    }
}
