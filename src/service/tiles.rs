//! Vector tiles of the current snapshots, and a tile cache that is never stale.
//!
//! A tile of one or several collections (one MVT layer each) is rendered from the collections'
//! index snapshots and kept in an in-memory cache within a byte budget, least recently used
//! first out. The cache observes [`Catalog::write`]: after a write publishes its snapshot, the
//! cached tiles that the old or the new geometry of a changed feature touches (the tile and its
//! buffer, at every cached zoom) are dropped, and only those.
//!
//! Why no stale tile can survive: a write publishes its snapshot, then drops the tiles it
//! touches, both before it returns. A tile rendered concurrently from an older snapshot is only
//! stored if, under the cache's lock, every snapshot it was rendered from is still the current
//! one; so it is either stored before the drop (and dropped with the others) or not at all.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use bytes::Bytes;
use geo::Intersects;

use super::{Catalog, Collection, ServiceError, WriteEvent, WriteObserver};
use crate::index::CollectionIndex;
use crate::model::{CollectionId, Feature};
use crate::tiles::mvt::TileEncoder;
use crate::tiles::render::buffer_fraction;
use crate::tiles::tms::MAX_ZOOM;
use crate::tiles::{
    LayerDictionary, LayerRules, Scratch, TileFrame, TileId, TileRange, render_layer,
};

/// The default tile cache budget, bytes.
pub const DEFAULT_CACHE_BYTES: usize = 256 << 20;

/// Bookkeeping bytes counted for each cached tile besides its bytes.
const ENTRY_OVERHEAD: usize = 128;

/// The collections of a tile, one MVT layer each, in this order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LayerSet(Arc<[CollectionId]>);

impl LayerSet {
    /// A layer set; `ids` must not be empty.
    pub fn new(ids: Vec<CollectionId>) -> Self {
        debug_assert!(!ids.is_empty(), "a tile has one layer or more");
        Self(ids.into())
    }

    /// The collection ids.
    pub fn ids(&self) -> &[CollectionId] {
        &self.0
    }

    fn contains(&self, id: &CollectionId) -> bool {
        self.0.contains(id)
    }
}

/// A rendered tile: its bytes (empty when no feature is in it) and a hash of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tile {
    /// The MVT bytes; empty for a tile without features.
    pub bytes: Bytes,
    /// xxh3 of the bytes, for entity tags.
    pub hash: u64,
}

impl Tile {
    fn new(bytes: Vec<u8>) -> Self {
        let hash = xxhash_rust::xxh3::xxh3_64(&bytes);
        Self {
            bytes: Bytes::from(bytes),
            hash,
        }
    }

    /// Whether the tile holds no feature (HTTP 204).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// Counters of the tile cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    /// Requests answered from the cache.
    pub hits: u64,
    /// Requests that rendered a tile.
    pub misses: u64,
    /// Tiles dropped because a write touched them.
    pub invalidated: u64,
    /// Tiles dropped to stay within the budget.
    pub evicted: u64,
    /// Tiles held now.
    pub entries: usize,
    /// Bytes held now, bookkeeping included.
    pub bytes: usize,
}

struct Slot {
    layers: LayerSet,
    tile: Tile,
    stamp: u64,
}

impl Slot {
    fn weight(&self) -> usize {
        self.tile.bytes.len() + ENTRY_OVERHEAD
    }
}

#[derive(Default)]
struct CacheInner {
    /// Per zoom: tiles by (column, row), each with the layer sets cached for it.
    zooms: Vec<HashMap<(u32, u32), Vec<Slot>>>,
    /// Use order: stamp → tile and layer set; the first is the least recently used.
    order: BTreeMap<u64, (TileId, LayerSet)>,
    clock: u64,
    bytes: usize,
    entries: usize,
}

impl CacheInner {
    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    fn remove_slot(&mut self, tile: TileId, index: usize) {
        let key = (tile.x(), tile.y());
        let slots = self.zooms[usize::from(tile.z())]
            .get_mut(&key)
            .expect("the slot exists");
        let slot = slots.swap_remove(index);
        if slots.is_empty() {
            self.zooms[usize::from(tile.z())].remove(&key);
        }
        self.order.remove(&slot.stamp);
        self.bytes -= slot.weight();
        self.entries -= 1;
    }

    /// Drops the tiles of `collection` at `tile`; returns how many.
    fn drop_collection_at(&mut self, tile: TileId, collection: &CollectionId) -> u64 {
        let mut dropped = 0;
        while let Some(i) = self.zooms[usize::from(tile.z())]
            .get(&(tile.x(), tile.y()))
            .and_then(|slots| slots.iter().position(|s| s.layers.contains(collection)))
        {
            self.remove_slot(tile, i);
            dropped += 1;
        }
        dropped
    }
}

/// Tiles cached in memory within a byte budget, least recently used out first; see the module
/// documentation for why it is never stale.
pub struct TileCache {
    inner: Mutex<CacheInner>,
    budget: usize,
    hits: AtomicU64,
    misses: AtomicU64,
    invalidated: AtomicU64,
    evicted: AtomicU64,
}

impl std::fmt::Debug for TileCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TileCache")
            .field("budget", &self.budget)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl TileCache {
    /// An empty cache holding at most `budget` bytes (0 caches nothing).
    pub fn new(budget: usize) -> Self {
        let inner = CacheInner {
            zooms: (0..=MAX_ZOOM).map(|_| HashMap::new()).collect(),
            ..CacheInner::default()
        };
        Self {
            inner: Mutex::new(inner),
            budget,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            invalidated: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached tile, marked as just used.
    pub fn get(&self, layers: &LayerSet, tile: TileId) -> Option<Tile> {
        let mut inner = self.lock();
        let stamp = inner.tick();
        let slot = inner.zooms[usize::from(tile.z())]
            .get_mut(&(tile.x(), tile.y()))?
            .iter_mut()
            .find(|s| s.layers == *layers)?;
        let old = std::mem::replace(&mut slot.stamp, stamp);
        let found = slot.tile.clone();
        let key = inner
            .order
            .remove(&old)
            .expect("every slot is in the order");
        inner.order.insert(stamp, key);
        Some(found)
    }

    /// Stores a tile if `current()`, called under the cache's lock, says the snapshots it was
    /// rendered from are still the published ones; evicts the least recently used to fit.
    pub fn insert(
        &self,
        layers: &LayerSet,
        tile_id: TileId,
        tile: &Tile,
        current: impl FnOnce() -> bool,
    ) {
        let weight = tile.bytes.len() + ENTRY_OVERHEAD;
        if weight > self.budget {
            return;
        }
        let mut inner = self.lock();
        if !current() {
            return;
        }
        let z = usize::from(tile_id.z());
        let key = (tile_id.x(), tile_id.y());
        let existing = inner.zooms[z]
            .get(&key)
            .and_then(|slots| slots.iter().position(|s| s.layers == *layers));
        if let Some(i) = existing {
            inner.remove_slot(tile_id, i);
        }
        let stamp = inner.tick();
        inner.order.insert(stamp, (tile_id, layers.clone()));
        inner.zooms[z].entry(key).or_default().push(Slot {
            layers: layers.clone(),
            tile: tile.clone(),
            stamp,
        });
        inner.bytes += weight;
        inner.entries += 1;
        let mut evicted = 0;
        while inner.bytes > self.budget {
            let Some((_, (old_tile, old_layers))) = inner.order.pop_first() else {
                break;
            };
            let i = inner.zooms[usize::from(old_tile.z())]
                .get(&(old_tile.x(), old_tile.y()))
                .and_then(|slots| slots.iter().position(|s| s.layers == old_layers))
                .expect("every ordered entry has a slot");
            inner.remove_slot(old_tile, i);
            evicted += 1;
        }
        self.evicted.fetch_add(evicted, Ordering::Relaxed);
    }

    /// Drops the cached tiles of `collection` whose buffered bounds `feature` intersects, at
    /// every zoom that has cached tiles.
    fn drop_touched(&self, inner: &mut CacheInner, collection: &CollectionId, feature: &Feature) {
        let Some(bbox) = feature.bbox else {
            return;
        };
        let buffer = buffer_fraction();
        let mut dropped = 0;
        for z in 0..=MAX_ZOOM {
            let cached = inner.zooms[usize::from(z)].len();
            if cached == 0 {
                continue;
            }
            let range = TileRange::covering(bbox, z, buffer);
            // Walk the smaller of the feature's tile range and the zoom's cached tiles.
            let candidates: Vec<TileId> = if range.count() <= cached as u64 {
                range
                    .tiles()
                    .filter(|t| inner.zooms[usize::from(z)].contains_key(&(t.x(), t.y())))
                    .collect()
            } else {
                inner.zooms[usize::from(z)]
                    .keys()
                    .filter_map(|&(x, y)| TileId::new(u32::from(z), x, y).ok())
                    .filter(|&t| range.contains(t))
                    .collect()
            };
            for tile in candidates {
                // The same predicate as rendering: the geometry meets the buffered bounds.
                if feature.geometry.intersects(&tile.buffered_bounds(buffer)) {
                    dropped += inner.drop_collection_at(tile, collection);
                }
            }
        }
        self.invalidated.fetch_add(dropped, Ordering::Relaxed);
    }

    /// Drops every cached tile of `collection`.
    fn drop_collection(&self, inner: &mut CacheInner, collection: &CollectionId) {
        let mut touched = Vec::new();
        for (z, tiles) in inner.zooms.iter().enumerate() {
            for (&(x, y), slots) in tiles {
                if slots.iter().any(|s| s.layers.contains(collection)) {
                    touched.extend(TileId::new(u32::try_from(z).unwrap_or(0), x, y).ok());
                }
            }
        }
        let dropped: u64 = touched
            .into_iter()
            .map(|t| inner.drop_collection_at(t, collection))
            .sum();
        self.invalidated.fetch_add(dropped, Ordering::Relaxed);
    }

    /// The counters.
    pub fn stats(&self) -> CacheStats {
        let inner = self.lock();
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            invalidated: self.invalidated.load(Ordering::Relaxed),
            evicted: self.evicted.load(Ordering::Relaxed),
            entries: inner.entries,
            bytes: inner.bytes,
        }
    }
}

impl WriteObserver for TileCache {
    fn written(&self, event: &WriteEvent<'_>) {
        let mut inner = self.lock();
        if event.redefined {
            self.drop_collection(&mut inner, event.collection);
            return;
        }
        for feature in event.before.iter().chain(event.after) {
            self.drop_touched(&mut inner, event.collection, feature);
        }
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// A collection snapshot made ready for tiles: its rules, and for layers whose classes appear
/// at different zooms, an index of the features that appear before the layer is complete, so
/// that a low-zoom tile does not walk the features it will not draw.
#[derive(Debug)]
pub struct PreparedLayer {
    /// The snapshot.
    pub collection: Arc<Collection>,
    /// Its tile rules.
    pub rules: LayerRules,
    dictionary: LayerDictionary,
    early: Option<CollectionIndex>,
}

impl PreparedLayer {
    /// Prepares a snapshot: one pass over its features (a few milliseconds for the demo's
    /// 35,000 manholes), done again for the next snapshot after a write.
    pub fn new(collection: Arc<Collection>) -> Self {
        let rules = LayerRules::of(&collection.def);
        let dictionary = LayerDictionary::build(&rules, collection.index.iter().map(|f| &**f));
        let early = rules.classes.is_some().then(|| {
            CollectionIndex::build(
                collection
                    .index
                    .iter()
                    .filter(|f| rules.zoom_of(f) < rules.complete_zoom)
                    .cloned()
                    .collect(),
            )
        });
        Self {
            collection,
            rules,
            dictionary,
            early,
        }
    }

    /// The index holding every feature that can appear at zoom `z`.
    fn index_at(&self, z: u8) -> &CollectionIndex {
        match &self.early {
            Some(early) if z < self.rules.complete_zoom => early,
            _ => &self.collection.index,
        }
    }
}

/// Renders one tile of `layers` (one MVT layer each, in order); empty bytes when no feature is
/// in it.
pub fn render_tile(layers: &[&PreparedLayer], tile: TileId) -> Vec<u8> {
    let frame = TileFrame::new(tile);
    let bounds = tile.buffered_bounds(buffer_fraction());
    let mut encoder = TileEncoder::default();
    SCRATCH.with_borrow_mut(|scratch| {
        for layer in layers {
            if tile.z() < layer.rules.min_zoom {
                continue;
            }
            let features = layer.index_at(tile.z()).intersecting(&[bounds]);
            if features.is_empty() {
                continue;
            }
            let mut writer = encoder.layer(layer.collection.def.id.as_str());
            render_layer(
                &mut writer,
                &layer.rules,
                &layer.dictionary,
                &features,
                &frame,
                scratch,
            );
            writer.finish();
        }
    });
    encoder.finish()
}

/// Tiles of the catalogue's current snapshots, through the cache.
#[derive(Debug)]
pub struct TileService {
    catalog: Arc<Catalog>,
    cache: Arc<TileCache>,
    prepared: RwLock<HashMap<CollectionId, Arc<PreparedLayer>>>,
}

impl TileService {
    /// A tile service over `catalog` with a cache of `cache_bytes` (0 caches nothing), which
    /// follows the catalogue's writes.
    pub fn new(catalog: Arc<Catalog>, cache_bytes: usize) -> Self {
        let cache = Arc::new(TileCache::new(cache_bytes));
        let observer: Arc<dyn WriteObserver> = cache.clone();
        catalog.observe(Arc::downgrade(&observer));
        Self {
            catalog,
            cache,
            prepared: RwLock::new(HashMap::new()),
        }
    }

    /// The catalogue.
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// The cache's counters.
    pub fn stats(&self) -> CacheStats {
        self.cache.stats()
    }

    /// A snapshot prepared for tiles (once per snapshot).
    pub fn prepared(&self, collection: &Arc<Collection>) -> Arc<PreparedLayer> {
        let id = &collection.def.id;
        if let Some(found) = self
            .prepared
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            && Arc::ptr_eq(&found.collection, collection)
        {
            return Arc::clone(found);
        }
        let prepared = Arc::new(PreparedLayer::new(Arc::clone(collection)));
        self.prepared
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.clone(), Arc::clone(&prepared));
        prepared
    }

    /// The tile of `layers` at `tile`, from the cache or rendered from the current snapshots.
    pub fn tile(&self, layers: &LayerSet, tile: TileId) -> Result<Tile, ServiceError> {
        if let Some(found) = self.cache.get(layers, tile) {
            self.cache.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(found);
        }
        self.cache.misses.fetch_add(1, Ordering::Relaxed);
        let prepared = layers
            .ids()
            .iter()
            .map(|id| Ok(self.prepared(&self.catalog.collection(id.as_str())?)))
            .collect::<Result<Vec<_>, ServiceError>>()?;
        let refs: Vec<&PreparedLayer> = prepared.iter().map(|p| &**p).collect();
        let rendered = Tile::new(render_tile(&refs, tile));
        self.cache.insert(layers, tile, &rendered, || {
            prepared.iter().all(|p| {
                self.catalog
                    .collection(p.collection.def.id.as_str())
                    .is_ok_and(|now| Arc::ptr_eq(&now, &p.collection))
            })
        });
        Ok(rendered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NewFeature;
    use crate::model::crs::InputCrs;
    use crate::model::layers;
    use crate::store::{Change, SqliteStore};
    use crate::tiles::mvt::{DecodedFeature, decode};
    use serde_json::json;

    async fn service(cache_bytes: usize) -> TileService {
        let catalog = Catalog::load(Arc::new(
            SqliteStore::open("sqlite::memory:").await.unwrap(),
        ))
        .await
        .unwrap();
        TileService::new(Arc::new(catalog), cache_bytes)
    }

    fn def(id: &str) -> crate::model::CollectionDef {
        layers::builtin()
            .into_iter()
            .find(|d| d.id.as_str() == id)
            .unwrap()
    }

    fn manhole(code: &str, status: &str, lon: f64, lat: f64) -> NewFeature {
        let f = geojson::Feature::from_json_value(json!({"type": "Feature",
            "properties": {"component_code": code, "kind": "sewage", "status": status},
            "geometry": {"type": "Point", "coordinates": [lon, lat]}}))
        .unwrap();
        def("manholes").prepare(f, InputCrs::Wgs84).unwrap()
    }

    fn road(name: &str, coordinates: &serde_json::Value) -> NewFeature {
        let f = geojson::Feature::from_json_value(json!({"type": "Feature", "id": "road-1",
            "properties": {"name": name, "class": "arterial"},
            "geometry": {"type": "LineString", "coordinates": coordinates}}))
        .unwrap();
        def("roads").prepare(f, InputCrs::Wgs84).unwrap()
    }

    fn set(ids: &[&str]) -> LayerSet {
        LayerSet::new(
            ids.iter()
                .map(|id| CollectionId::parse(id).unwrap())
                .collect(),
        )
    }

    /// The features of `layer` in a tile, decoded.
    fn features(tile: &Tile, layer: &str) -> Vec<DecodedFeature> {
        decode(&tile.bytes)
            .unwrap()
            .into_iter()
            .find(|l| l.name == layer)
            .map(|l| l.features)
            .unwrap_or_default()
    }

    fn statuses(tile: &Tile) -> Vec<String> {
        features(tile, "manholes")
            .iter()
            .map(|f| f.property("status").unwrap().as_str().unwrap().to_owned())
            .collect()
    }

    const OLD_TOWN: (f64, f64) = (113.68, 34.755);
    const EAST: (f64, f64) = (113.80, 34.70);

    #[tokio::test]
    async fn edits_show_in_the_next_tile_and_untouched_tiles_stay_cached() {
        let tiles = service(DEFAULT_CACHE_BYTES).await;
        let catalog = Arc::clone(tiles.catalog());
        let manholes = set(&["manholes"]);
        let here = TileId::containing(OLD_TOWN.0, OLD_TOWN.1, 16);
        let there = TileId::containing(EAST.0, EAST.1, 16);
        let parent = TileId::containing(OLD_TOWN.0, OLD_TOWN.1, 15);
        catalog
            .write(
                &def("manholes"),
                false,
                vec![
                    Change::Insert(manhole(
                        "4101040102000001",
                        "intact",
                        OLD_TOWN.0,
                        OLD_TOWN.1,
                    )),
                    Change::Insert(manhole("4101040102000002", "intact", EAST.0, EAST.1)),
                ],
            )
            .await
            .unwrap();
        for t in [here, there, parent] {
            tiles.tile(&manholes, t).unwrap();
        }
        assert_eq!(statuses(&tiles.tile(&manholes, here).unwrap()), ["intact"]);
        let before = tiles.stats();
        assert_eq!((before.misses, before.hits, before.entries), (3, 1, 3));

        // Change: the status shows at both zooms; the eastern tile is still served from cache.
        catalog
            .write(
                &def("manholes"),
                false,
                vec![Change::Upsert(manhole(
                    "4101040102000001",
                    "damaged",
                    OLD_TOWN.0,
                    OLD_TOWN.1,
                ))],
            )
            .await
            .unwrap();
        assert_eq!(
            tiles.stats().invalidated,
            2,
            "the tile and its parent, nothing else"
        );
        assert_eq!(statuses(&tiles.tile(&manholes, here).unwrap()), ["damaged"]);
        assert_eq!(
            statuses(&tiles.tile(&manholes, parent).unwrap()),
            ["damaged"]
        );
        let hits = tiles.stats().hits;
        assert_eq!(statuses(&tiles.tile(&manholes, there).unwrap()), ["intact"]);
        assert_eq!(
            tiles.stats().hits,
            hits + 1,
            "the untouched tile stayed cached"
        );

        // Move east: it leaves the old town's tile (old geometry) and joins the eastern one (new).
        let moved = (EAST.0 + 0.0001, EAST.1);
        catalog
            .write(
                &def("manholes"),
                false,
                vec![Change::Upsert(manhole(
                    "4101040102000001",
                    "damaged",
                    moved.0,
                    moved.1,
                ))],
            )
            .await
            .unwrap();
        assert!(tiles.tile(&manholes, here).unwrap().is_empty());
        let mut east = statuses(&tiles.tile(&manholes, there).unwrap());
        east.sort();
        assert_eq!(east, ["damaged", "intact"]);

        // Delete: gone from the eastern tile.
        catalog
            .write(
                &def("manholes"),
                false,
                vec![Change::Delete(
                    crate::model::FeatureId::parse("4101040102000001").unwrap(),
                )],
            )
            .await
            .unwrap();
        assert_eq!(statuses(&tiles.tile(&manholes, there).unwrap()), ["intact"]);
    }

    #[tokio::test]
    async fn a_change_in_one_layer_drops_combined_tiles_but_not_tiles_of_other_layers() {
        let tiles = service(DEFAULT_CACHE_BYTES).await;
        let catalog = Arc::clone(tiles.catalog());
        let t = TileId::containing(OLD_TOWN.0, OLD_TOWN.1, 15);
        catalog
            .write(
                &def("manholes"),
                false,
                vec![Change::Insert(manhole(
                    "4101040102000001",
                    "intact",
                    OLD_TOWN.0,
                    OLD_TOWN.1,
                ))],
            )
            .await
            .unwrap();
        let (both, only_manholes) = (set(&["roads", "manholes"]), set(&["manholes"]));
        tiles.tile(&both, t).unwrap();
        tiles.tile(&only_manholes, t).unwrap();
        let road_line = json!([
            [OLD_TOWN.0 - 0.01, OLD_TOWN.1],
            [OLD_TOWN.0 + 0.01, OLD_TOWN.1]
        ]);
        catalog
            .write(
                &def("roads"),
                false,
                vec![Change::Insert(road("东大街", &road_line))],
            )
            .await
            .unwrap();
        assert_eq!(
            tiles.stats().invalidated,
            1,
            "only the tile with the roads layer"
        );
        let combined = tiles.tile(&both, t).unwrap();
        assert_eq!(features(&combined, "roads").len(), 1);
        assert_eq!(features(&combined, "manholes").len(), 1);
        let hits = tiles.stats().hits;
        tiles.tile(&only_manholes, t).unwrap();
        assert_eq!(tiles.stats().hits, hits + 1);
    }

    #[tokio::test]
    async fn a_feature_in_the_buffer_of_a_neighbour_drops_the_neighbour_too() {
        let tiles = service(DEFAULT_CACHE_BYTES).await;
        let catalog = Arc::clone(tiles.catalog());
        let t = TileId::containing(OLD_TOWN.0, OLD_TOWN.1, 16);
        let west = TileId::new(16, t.x() - 1, t.y()).unwrap();
        let b = t.bounds();
        let lat = f64::midpoint(b.min().y, b.max().y);
        // Just inside `t`, within the western neighbour's 64-unit buffer.
        let lon = b.min().x + (b.max().x - b.min().x) * 10.0 / 4096.0;
        let layers = set(&["manholes"]);
        assert!(tiles.tile(&layers, west).unwrap().is_empty());
        catalog
            .write(
                &def("manholes"),
                false,
                vec![Change::Insert(manhole(
                    "4101040102000003",
                    "intact",
                    lon,
                    lat,
                ))],
            )
            .await
            .unwrap();
        let in_buffer = features(&tiles.tile(&layers, west).unwrap(), "manholes");
        assert_eq!(in_buffer.len(), 1);
        assert!(
            in_buffer[0].parts[0][0][0] > 4096,
            "drawn in the buffer, east of the tile"
        );
    }

    #[test]
    fn the_cache_keeps_within_its_budget_by_dropping_the_least_recently_used() {
        let weight = 1000 + ENTRY_OVERHEAD;
        let cache = TileCache::new(3 * weight);
        let layers = set(&["manholes"]);
        let tile = Tile::new(vec![7; 1000]);
        let at = |x| TileId::new(16, x, 0).unwrap();
        for x in 0..3 {
            cache.insert(&layers, at(x), &tile, || true);
        }
        assert!(cache.get(&layers, at(0)).is_some());
        cache.insert(&layers, at(3), &tile, || true);
        let stats = cache.stats();
        assert_eq!(
            (stats.entries, stats.bytes, stats.evicted),
            (3, 3 * weight, 1)
        );
        assert!(
            cache.get(&layers, at(1)).is_none(),
            "the least recently used went"
        );
        assert!(
            cache.get(&layers, at(0)).is_some(),
            "the recently used stayed"
        );
        assert!(cache.get(&layers, at(2)).is_some() && cache.get(&layers, at(3)).is_some());
    }

    #[test]
    fn a_tile_rendered_from_a_replaced_snapshot_is_not_stored() {
        let cache = TileCache::new(DEFAULT_CACHE_BYTES);
        let layers = set(&["manholes"]);
        let t = TileId::new(3, 1, 2).unwrap();
        cache.insert(&layers, t, &Tile::new(vec![1, 2, 3]), || false);
        assert!(cache.get(&layers, t).is_none());
        assert_eq!(cache.stats().entries, 0);
    }

    #[tokio::test]
    async fn an_unknown_collection_is_an_error() {
        let tiles = service(DEFAULT_CACHE_BYTES).await;
        let err = tiles
            .tile(&set(&["nope"]), TileId::new(0, 0, 0).unwrap())
            .unwrap_err();
        assert!(matches!(err, ServiceError::UnknownCollection(_)), "{err}");
    }
}
