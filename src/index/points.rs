//! A changing set of numbered points (WGS84 lon/lat degrees) searched by geodesic distance in
//! metres: an R*-tree of the points with their numbers, updated one point at a time.

use geo::{Geometry, Point, Rect, coord};
use rstar::RTree;
use rstar::primitives::GeomWithData;

use super::nearest::{search_boxes, search_rect};
use super::predicate::geodesic_distance_m;

/// A point and its number.
type Entry = GeomWithData<[f64; 2], i64>;

/// Numbered points, searched within a distance.
#[derive(Debug, Default)]
pub struct PointIndex {
    tree: RTree<Entry>,
}

impl PointIndex {
    /// Adds point `id` at `[lon, lat]`.
    pub fn insert(&mut self, id: i64, at: [f64; 2]) {
        self.tree.insert(Entry::new(at, id));
    }

    /// Removes point `id` at `[lon, lat]`; `false` when it was not there.
    pub fn remove(&mut self, id: i64, at: [f64; 2]) -> bool {
        self.tree.remove(&Entry::new(at, id)).is_some()
    }

    /// The points within `radius_m` metres (geodesic) of `(lon, lat)`, with their distances,
    /// nearest first (ties by number).
    ///
    /// ```
    /// use citygrid::index::points::PointIndex;
    /// let mut points = PointIndex::default();
    /// points.insert(1, [113.680, 34.750]);
    /// points.insert(2, [113.690, 34.750]);
    /// let near = points.within(113.680, 34.7502, 50.0);
    /// assert_eq!(near.iter().map(|(id, _)| *id).collect::<Vec<_>>(), [1]);
    /// assert!((near[0].1 - 22.2).abs() < 0.5);
    /// ```
    pub fn within(&self, lon: f64, lat: f64, radius_m: f64) -> Vec<(i64, f64)> {
        let here = Geometry::Point(Point::new(lon, lat));
        let boxes = search_boxes(search_rect(
            Rect::new(coord! { x: lon, y: lat }, coord! { x: lon, y: lat }),
            radius_m,
        ));
        let mut hits: Vec<(i64, f64)> = boxes
            .iter()
            .flat_map(|envelope| self.tree.locate_in_envelope(envelope))
            .filter_map(|p| {
                let [x, y] = *p.geom();
                let distance_m = geodesic_distance_m(&here, &Geometry::Point(Point::new(x, y)));
                (distance_m <= radius_m).then_some((p.data, distance_m))
            })
            .collect();
        hits.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::PointIndex;

    #[test]
    fn a_removed_point_is_no_longer_found_and_the_others_come_nearest_first() {
        let mut points = PointIndex::default();
        points.insert(7, [113.6800, 34.7500]);
        points.insert(8, [113.6801, 34.7500]);
        points.insert(9, [113.6803, 34.7500]);
        let ids = |p: &PointIndex| {
            p.within(113.6801, 34.7500, 15.0)
                .into_iter()
                .map(|(id, _)| id)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&points), [8, 7]);
        assert!(points.remove(8, [113.6801, 34.7500]));
        assert!(!points.remove(8, [113.6801, 34.7500]));
        assert_eq!(ids(&points), [7]);
    }
}
