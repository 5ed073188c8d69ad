//! In-memory spatial index of one collection: an R*-tree of feature envelopes (bulk-loaded),
//! exact predicates on the candidates, and copy-on-write updates so that a reader holding a
//! snapshot never sees a half-applied write.
//!
//! CRS: WGS84 lon/lat degrees; lengths in metres and areas in m², geodesic on the WGS84
//! ellipsoid (Karney). Pure and synchronous: no I/O, no async.
//!
//! - [`measure`]: geodesic lengths and areas, whole or clipped to a query region;
//! - [`predicate`]: DE-9IM predicates and the geodesic distance between two geometries;
//! - [`locate`]: point-in-polygon prepared for the grid cells, with a deterministic edge rule;
//! - [`nearest`]: k nearest features and features within a distance, on [`CollectionIndex`];
//! - [`points`]: a changing set of numbered points searched within a distance.

use std::collections::HashMap;
use std::sync::Arc;

use geo::{Intersects, Rect};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, Envelope, RTree, RTreeObject};

use crate::model::{Feature, FeatureId};

pub mod locate;
pub mod measure;
pub mod nearest;
pub mod points;
pub mod predicate;
pub mod validity;

/// A tree entry: a feature's envelope and its position in [`CollectionIndex::slots`].
type Entry = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// An immutable snapshot of one collection's features and their R-tree.
#[derive(Debug, Clone, Default)]
pub struct CollectionIndex {
    /// Features in key (`fid`) order; `None` marks a removed feature until the next compaction.
    slots: Vec<Option<Arc<Feature>>>,
    tree: RTree<Entry>,
    /// Ids come from the data: a randomly seeded hasher, but foldhash rather than the standard `SipHash` (a
    /// million inserts when a collection loads).
    by_id: HashMap<FeatureId, u32, foldhash::fast::RandomState>,
    live: usize,
}

fn envelope(rect: Rect<f64>) -> Rectangle<[f64; 2]> {
    Rectangle::from_corners([rect.min().x, rect.min().y], [rect.max().x, rect.max().y])
}

fn position(i: usize) -> u32 {
    u32::try_from(i).expect("a collection holds fewer than 2^32 features")
}

impl CollectionIndex {
    /// Bulk-loads an index; `features` are sorted by key here unless they come sorted.
    pub fn build(mut features: Vec<Arc<Feature>>) -> Self {
        if !features.is_sorted_by_key(|f| f.fid) {
            features.sort_by_key(|f| f.fid);
        }
        let mut entries: Vec<Entry> = Vec::with_capacity(features.len());
        entries.extend(
            features
                .iter()
                .enumerate()
                .filter_map(|(i, f)| f.bbox.map(|b| GeomWithData::new(envelope(b), position(i)))),
        );
        let by_id = features
            .iter()
            .enumerate()
            .map(|(i, f)| (f.id.clone(), position(i)))
            .collect();
        let live = features.len();
        Self {
            slots: features.into_iter().map(Some).collect(),
            tree: RTree::bulk_load(entries),
            by_id,
            live,
        }
    }

    /// The number of features.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether the collection is empty.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// The feature with this id.
    pub fn get(&self, id: &FeatureId) -> Option<&Arc<Feature>> {
        self.by_id
            .get(id)
            .and_then(|&i| self.slots[i as usize].as_ref())
    }

    /// Every feature, in key order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Feature>> {
        self.slots.iter().flatten()
    }

    /// The bounding rectangle of all features.
    pub fn extent(&self) -> Option<Rect<f64>> {
        if self.live == 0 {
            return None;
        }
        let e = self.tree.root().envelope();
        let (lo, hi) = (e.lower(), e.upper());
        Some(Rect::new(
            geo::coord! { x: lo[0], y: lo[1] },
            geo::coord! { x: hi[0], y: hi[1] },
        ))
    }

    /// Features whose geometry intersects any of `rects` (boundaries included), in key order,
    /// each once. Candidates come from the tree; the exact test runs on them only.
    pub fn intersecting(&self, rects: &[Rect<f64>]) -> Vec<&Arc<Feature>> {
        let mut hits: Vec<u32> = Vec::new();
        for rect in rects {
            let aabb =
                AABB::from_corners([rect.min().x, rect.min().y], [rect.max().x, rect.max().y]);
            for entry in self.tree.locate_in_envelope_intersecting(&aabb) {
                let Some(feature) = self.slots[entry.data as usize].as_ref() else {
                    continue;
                };
                let contained = aabb.contains_envelope(&entry.geom().envelope());
                if contained || feature.geometry.intersects(rect) {
                    hits.push(entry.data);
                }
            }
        }
        hits.sort_unstable();
        hits.dedup();
        hits.into_iter()
            .filter_map(|i| self.slots[i as usize].as_ref())
            .collect()
    }

    /// A new snapshot with `stored` features inserted or replaced (matched by id) and `deleted`
    /// ids removed. `self` is unchanged: readers holding it keep a consistent view.
    #[must_use]
    pub fn with_changes(&self, stored: &[Arc<Feature>], deleted: &[FeatureId]) -> Self {
        let mut next = self.clone();
        for id in deleted {
            next.remove(id);
        }
        for feature in stored {
            // A replaced feature keeps its key and so its place; a new one goes to the end.
            let same_key = next.by_id.get(&feature.id).copied().filter(|&i| {
                next.slots[i as usize]
                    .as_ref()
                    .is_some_and(|old| old.fid == feature.fid)
            });
            next.remove(&feature.id);
            let i = same_key.map_or_else(
                || {
                    next.slots.push(None);
                    next.slots.len() - 1
                },
                |i| i as usize,
            );
            next.slots[i] = Some(Arc::clone(feature));
            next.by_id.insert(feature.id.clone(), position(i));
            if let Some(b) = feature.bbox {
                next.tree
                    .insert(GeomWithData::new(envelope(b), position(i)));
            }
            next.live += 1;
        }
        // The store gives new features keys above all others, so order holds; rebuild anyway if
        // it did not, or when tombstones pile up.
        let ordered = next.slots.iter().flatten().map(|f| f.fid).is_sorted();
        if !ordered || next.slots.len() > 2 * next.live + 1024 {
            return Self::build(next.slots.into_iter().flatten().collect());
        }
        next
    }

    fn remove(&mut self, id: &FeatureId) {
        if let Some(i) = self.by_id.remove(id)
            && let Some(old) = self.slots[i as usize].take()
        {
            if let Some(b) = old.bbox {
                self.tree.remove(&GeomWithData::new(envelope(b), i));
            }
            self.live -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use geo::{Geometry, coord, line_string, point};
    use serde_json::Map;

    fn feature(fid: i64, id: &str, geometry: Geometry<f64>) -> Arc<Feature> {
        let now = Utc::now();
        Arc::new(Feature::new(
            fid,
            FeatureId::parse(id).unwrap(),
            geometry,
            Map::new(),
            1,
            now,
            now,
        ))
    }

    fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Rect<f64> {
        Rect::new(coord! { x: x0, y: y0 }, coord! { x: x1, y: y1 })
    }

    fn ids(found: &[&Arc<Feature>]) -> Vec<String> {
        found.iter().map(|f| f.id.to_string()).collect()
    }

    #[test]
    fn a_bbox_query_returns_exact_hits_in_key_order() {
        // The diagonal line's envelope covers the box but the line misses it.
        let index = CollectionIndex::build(vec![
            feature(3, "c", point!(x: 0.5, y: 0.5).into()),
            feature(1, "a", point!(x: 0.1, y: 0.1).into()),
            feature(
                2,
                "diag",
                line_string![(x: 0.0, y: 2.0), (x: 2.0, y: 0.0)].into(),
            ),
        ]);
        assert_eq!(
            ids(&index.intersecting(&[rect(0.0, 0.0, 0.6, 0.6)])),
            ["a", "c"]
        );
        assert_eq!(
            ids(&index.intersecting(&[rect(0.9, 0.9, 1.1, 1.1)])),
            ["diag"]
        );
    }

    #[test]
    fn points_on_the_box_boundary_are_included() {
        let index = CollectionIndex::build(vec![feature(1, "edge", point!(x: 1.0, y: 0.5).into())]);
        assert_eq!(index.intersecting(&[rect(0.0, 0.0, 1.0, 1.0)]).len(), 1);
    }

    #[test]
    fn changes_make_a_new_snapshot_and_leave_the_old_one_intact() {
        let old = CollectionIndex::build(vec![feature(1, "a", point!(x: 0.0, y: 0.0).into())]);
        let new = old.with_changes(
            &[
                feature(1, "a", point!(x: 5.0, y: 5.0).into()),
                feature(2, "b", point!(x: 0.1, y: 0.1).into()),
            ],
            &[],
        );
        assert_eq!(ids(&old.intersecting(&[rect(-1.0, -1.0, 1.0, 1.0)])), ["a"]);
        assert_eq!(ids(&new.intersecting(&[rect(-1.0, -1.0, 1.0, 1.0)])), ["b"]);
        assert_eq!(ids(&new.intersecting(&[rect(4.0, 4.0, 6.0, 6.0)])), ["a"]);
        assert_eq!(new.len(), 2);
        let gone = new.with_changes(&[], &[FeatureId::parse("a").unwrap()]);
        assert_eq!(gone.len(), 1);
        assert!(gone.get(&FeatureId::parse("a").unwrap()).is_none());
        assert!(gone.intersecting(&[rect(4.0, 4.0, 6.0, 6.0)]).is_empty());
        assert_eq!(ids(&gone.iter().collect::<Vec<_>>()), ["b"]);
    }

    #[test]
    fn the_extent_covers_every_feature() {
        let index = CollectionIndex::build(vec![
            feature(1, "a", point!(x: 1.0, y: 2.0).into()),
            feature(2, "b", point!(x: 3.0, y: -1.0).into()),
        ]);
        assert_eq!(index.extent(), Some(rect(1.0, -1.0, 3.0, 2.0)));
        assert_eq!(CollectionIndex::default().extent(), None);
    }
}
