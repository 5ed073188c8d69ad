//! Use cases that combine the store and the indexes: the catalogue of collections with their
//! current index snapshots, item queries, writes and imports, and case photos ([`photos`]).
//!
//! Concurrency: the catalogue is one atomically swapped map of immutable collection snapshots.
//! Readers load it without locks and never wait; a write goes to the store first (one
//! transaction), then a new snapshot replaces the old one in a single swap, so a reader sees a
//! write whole or not at all. Writers are serialised by one async mutex.

pub mod analysis;
pub mod auth;
pub mod cases;
pub mod grid;
pub mod import;
pub mod items;
pub mod photos;
pub mod spatial;
mod stats_cache;
pub mod tiles;
pub mod units;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use chrono::NaiveDate;

use arc_swap::ArcSwap;

use crate::index::CollectionIndex;
use crate::model::layers::{self, CollectionDef, FeatureError, Layer};
use crate::model::schema::SchemaError;
use crate::model::{CollectionId, DateInterval, Feature, FeatureId};
use crate::store::{Change, Store, StoreError};
use grid::{CellStats, GridIndex, Level};

/// One collection as readers see it: definition and index, never changing.
#[derive(Debug)]
pub struct Collection {
    /// The definition.
    pub def: Arc<CollectionDef>,
    /// The features and their R-tree.
    pub index: CollectionIndex,
    /// First and last instant of the features' temporal property, if any.
    pub temporal_extent: Option<DateInterval>,
    /// For the grid cells layer: the cells prepared for point location.
    pub grid: Option<Arc<GridIndex>>,
    /// A number that no other snapshot has had: derived results are cached under it.
    pub serial: u64,
}

/// Source of [`Collection::serial`].
static SERIAL: AtomicU64 = AtomicU64::new(1);

impl Collection {
    /// A snapshot of `def` with `index`; the grid cells layer also gets its point locator.
    pub fn new(def: Arc<CollectionDef>, index: CollectionIndex) -> Self {
        let temporal_extent = temporal_extent(&def, &index);
        let grid =
            (def.layer == Some(Layer::GridCells)).then(|| Arc::new(GridIndex::build(index.iter())));
        Self {
            def,
            index,
            temporal_extent,
            grid,
            serial: SERIAL.fetch_add(1, Ordering::Relaxed),
        }
    }
}

/// A per-cell statistics request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StatsRequest {
    /// The level of the cells.
    pub level: Level,
    /// The collection measured.
    pub collection: CollectionId,
    /// Properties to break the figures down by.
    pub group_by: Vec<String>,
    /// The day whose valid cells are used.
    pub day: NaiveDate,
}

/// Per-cell statistics, computed once per snapshot pair and request.
#[derive(Debug)]
pub struct Stats {
    /// One entry per cell of the level valid on the day, in code order.
    pub cells: Vec<CellStats>,
}

/// The default budget of the statistics cache, bytes (`CITYGRID_STATS_CACHE_MB`).
pub const DEFAULT_STATS_CACHE_BYTES: usize = 64 << 20;

fn temporal_extent(def: &CollectionDef, index: &CollectionIndex) -> Option<DateInterval> {
    let temporal = def.temporal.as_ref()?;
    let mut extent: Option<DateInterval> = None;
    for feature in index.iter() {
        let start = feature
            .properties
            .get(&temporal.start)
            .and_then(|v| v.as_str());
        let end = temporal
            .end
            .as_ref()
            .and_then(|e| feature.properties.get(e))
            .and_then(|v| v.as_str());
        let Some(interval) = DateInterval::of_feature(start, end, temporal.end.is_some()) else {
            continue;
        };
        extent = Some(match extent {
            None => interval,
            Some(e) => DateInterval {
                start: e.start.min(interval.start),
                end: if e.end.is_none() || interval.end.is_none() {
                    None
                } else {
                    e.end.max(interval.end)
                },
            },
        });
    }
    extent
}

/// A use case that failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Loading a collection into memory failed (a task panicked or was cancelled).
    #[error("loading a collection failed: {0}")]
    Loading(String),
    /// No collection has this id.
    #[error("collection {0} does not exist")]
    UnknownCollection(String),
    /// The grid cells layer has no cells to locate in.
    #[error("the grid_cells collection holds no cells")]
    NoGrid,
    /// No feature has this id in the collection.
    #[error("feature {feature} does not exist in collection {collection}")]
    UnknownFeature {
        /// The collection.
        collection: CollectionId,
        /// The id asked for.
        feature: String,
    },
    /// A feature was refused; `index` is its position in the input (0-based).
    #[error("feature #{index}{}: {error}", id.as_ref().map(|i| format!(" (id {i})")).unwrap_or_default())]
    InvalidFeature {
        /// Position in the input.
        index: usize,
        /// Its id, when it had one.
        id: Option<String>,
        /// What was wrong.
        error: FeatureError,
    },
    /// A collection's schema cannot be used.
    #[error("schema: {0}")]
    Schema(#[from] SchemaError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What one write changed in a collection, told to those who keep data derived from the
/// snapshots (the tile cache) so that they drop what became stale.
#[derive(Debug)]
pub struct WriteEvent<'a> {
    /// The collection written.
    pub collection: &'a CollectionId,
    /// Whether the definition was created or replaced: everything derived from it is stale.
    pub redefined: bool,
    /// The features as they were before the write, of those replaced or removed.
    pub before: &'a [Arc<Feature>],
    /// The features the write stored.
    pub after: &'a [Arc<Feature>],
}

/// Keeps data derived from the snapshots and drops what a write made stale.
pub trait WriteObserver: Send + Sync {
    /// Called by [`Catalog::write`] after the new snapshot is published and before the write
    /// returns, with the writers serialised.
    fn written(&self, event: &WriteEvent<'_>);
}

/// The catalogue: every collection's current snapshot, and the store behind them.
pub struct Catalog {
    store: Arc<dyn Store>,
    collections: ArcSwap<BTreeMap<CollectionId, Arc<Collection>>>,
    writer: tokio::sync::Mutex<()>,
    stats: stats_cache::StatsCache,
    observers: Mutex<Vec<Weak<dyn WriteObserver>>>,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog")
            .field("collections", &self.collections.load().len())
            .finish_non_exhaustive()
    }
}

impl Catalog {
    /// Registers the built-in layers in the store if missing, then loads every collection and
    /// bulk-builds its index.
    pub async fn load(store: Arc<dyn Store>) -> Result<Self, ServiceError> {
        let stored = store.collections().await?;
        let known: Vec<String> = stored
            .iter()
            .filter_map(|d| d.get("id").and_then(|v| v.as_str()).map(str::to_owned))
            .collect();
        for def in layers::builtin() {
            if !known.iter().any(|k| k == def.id.as_str()) {
                store.put_collection(&def.id, &def.to_json()).await?;
            }
        }
        // The collections load at once: one collection's index is built while the rows of the
        // next are still being read.
        let loading: Vec<_> = store
            .collections()
            .await?
            .into_iter()
            .map(|doc| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    let def = Arc::new(CollectionDef::from_json(&doc)?);
                    let features = store.features(&def.id).await?;
                    tokio::task::spawn_blocking(move || {
                        Collection::new(def, CollectionIndex::build(features))
                    })
                    .await
                    .map_err(|e| ServiceError::Loading(e.to_string()))
                })
            })
            .collect();
        let mut map = BTreeMap::new();
        for task in loading {
            let collection = task
                .await
                .map_err(|e| ServiceError::Loading(e.to_string()))??;
            map.insert(collection.def.id.clone(), Arc::new(collection));
        }
        Ok(Self {
            store,
            collections: ArcSwap::from_pointee(map),
            writer: tokio::sync::Mutex::new(()),
            stats: stats_cache::StatsCache::new(DEFAULT_STATS_CACHE_BYTES),
            observers: Mutex::new(Vec::new()),
        })
    }

    /// The same catalogue with a statistics cache of `bytes` (0: no cache).
    #[must_use]
    pub fn with_stats_cache_bytes(mut self, bytes: usize) -> Self {
        self.stats = stats_cache::StatsCache::new(bytes);
        self
    }

    /// The bytes the statistics cache holds now (its own estimate, within its budget).
    pub fn stats_cache_bytes(&self) -> usize {
        self.stats.bytes()
    }

    /// Tells `observer` about every later write, for as long as it lives.
    pub fn observe(&self, observer: Weak<dyn WriteObserver>) {
        self.observers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(observer);
    }

    /// The store (for readiness checks).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// A consistent view of all collections, built-in layers first, then the others by id.
    pub fn collections(&self) -> Vec<Arc<Collection>> {
        let map = self.collections.load();
        let builtin_order = |c: &Collection| c.def.layer.map_or(usize::MAX, |l| l as usize);
        let mut all: Vec<Arc<Collection>> = map.values().cloned().collect();
        all.sort_by(|a, b| {
            builtin_order(a)
                .cmp(&builtin_order(b))
                .then_with(|| a.def.id.cmp(&b.def.id))
        });
        all
    }

    /// One collection's current snapshot.
    pub fn collection(&self, id: &str) -> Result<Arc<Collection>, ServiceError> {
        CollectionId::parse(id)
            .ok()
            .and_then(|cid| self.collections.load().get(&cid).cloned())
            .ok_or_else(|| ServiceError::UnknownCollection(id.to_owned()))
    }

    /// One feature of a collection.
    pub fn feature(&self, collection: &str, id: &str) -> Result<Arc<Feature>, ServiceError> {
        let snapshot = self.collection(collection)?;
        FeatureId::parse(id)
            .ok()
            .and_then(|fid| snapshot.index.get(&fid).cloned())
            .ok_or_else(|| ServiceError::UnknownFeature {
                collection: snapshot.def.id.clone(),
                feature: id.to_owned(),
            })
    }

    /// The codes of every grid cell (all levels, retired cells included): what a user's cells
    /// may name.
    pub fn cell_codes(&self) -> HashSet<String> {
        self.collections
            .load()
            .values()
            .find(|c| c.def.layer == Some(Layer::GridCells))
            .map_or_else(HashSet::new, |c| {
                grid::cell_codes(c.index.iter().map(AsRef::as_ref))
            })
    }

    /// The grid cells prepared for point location.
    pub fn grid(&self) -> Result<Arc<GridIndex>, ServiceError> {
        self.collections
            .load()
            .values()
            .find(|c| c.def.layer == Some(Layer::GridCells))
            .and_then(|c| c.grid.clone())
            .ok_or(ServiceError::NoGrid)
    }

    /// Per-cell statistics of a collection, from the cache when neither the grid nor the
    /// collection changed since they were computed.
    pub fn grid_stats(&self, request: &StatsRequest) -> Result<Arc<Stats>, ServiceError> {
        self.grid_stats_keyed(request).map(|(_, stats)| stats)
    }

    /// A rendering of [`Catalog::grid_stats`] in `format`, made by `render` once and cached with
    /// the statistics while the budget allows.
    pub fn grid_stats_rendered(
        &self,
        request: &StatsRequest,
        format: &'static str,
        render: impl FnOnce(&Stats) -> bytes::Bytes,
    ) -> Result<bytes::Bytes, ServiceError> {
        let (key, stats) = self.grid_stats_keyed(request)?;
        if let Some(text) = self.stats.rendering(&key, format) {
            return Ok(text);
        }
        let text = render(&stats);
        self.stats.add_rendering(&key, format, &text);
        Ok(text)
    }

    fn grid_stats_keyed(
        &self,
        request: &StatsRequest,
    ) -> Result<(stats_cache::StatsKey, Arc<Stats>), ServiceError> {
        let cells = self
            .collections
            .load()
            .values()
            .find(|c| c.def.layer == Some(Layer::GridCells))
            .cloned()
            .ok_or(ServiceError::NoGrid)?;
        let grid = cells.grid.clone().ok_or(ServiceError::NoGrid)?;
        let measured = self.collection(request.collection.as_str())?;
        let key = (cells.serial, measured.serial, request.clone());
        if let Some(hit) = self.stats.get(&key) {
            return Ok((key, hit));
        }
        let mut rows = grid::cell_stats(
            &grid,
            request.level,
            request.day,
            measured.index.iter(),
            |rect| measured.index.intersecting(&[rect]),
            &request.group_by,
        );
        rows.sort_by(|a, b| a.cell.id.cmp(&b.cell.id));
        let stats = Arc::new(Stats { cells: rows });
        self.stats.insert(key.clone(), Arc::clone(&stats));
        Ok((key, stats))
    }

    /// Writes `changes` to a collection (creating it with `def` if it is new), then publishes the
    /// new snapshot. All or nothing: a store error leaves store and index as they were.
    pub async fn write(
        &self,
        def: &CollectionDef,
        create: bool,
        changes: Vec<Change>,
    ) -> Result<WriteSummary, ServiceError> {
        let _writer = self.writer.lock().await;
        let definition = create.then(|| def.to_json());
        let applied = self
            .store
            .apply(&def.id, definition.as_ref(), changes)
            .await?;
        let current = self.collections.load();
        let stored: Vec<Arc<Feature>> = applied.stored.into_iter().map(Arc::new).collect();
        let (def, index) = match current.get(&def.id) {
            Some(existing) if !create => (
                Arc::clone(&existing.def),
                existing.index.with_changes(&stored, &applied.deleted),
            ),
            Some(existing) => (
                Arc::new(def.clone()),
                existing.index.with_changes(&stored, &applied.deleted),
            ),
            None => (
                Arc::new(def.clone()),
                CollectionIndex::build(stored.clone()),
            ),
        };
        let summary = WriteSummary {
            stored: stored.len(),
            deleted: applied.deleted.len(),
        };
        let before: Vec<Arc<Feature>> = current
            .get(&def.id)
            .map(|old| {
                stored
                    .iter()
                    .map(|f| &f.id)
                    .chain(&applied.deleted)
                    .filter_map(|id| old.index.get(id).cloned())
                    .collect()
            })
            .unwrap_or_default();
        let id = def.id.clone();
        let mut next = BTreeMap::clone(&current);
        next.insert(id.clone(), Arc::new(Collection::new(def, index)));
        self.collections.store(Arc::new(next));
        self.notify(&WriteEvent {
            collection: &id,
            redefined: create,
            before: &before,
            after: &stored,
        });
        Ok(summary)
    }

    /// Tells the live observers about a write, forgetting those that are gone.
    fn notify(&self, event: &WriteEvent<'_>) {
        let mut observers = self
            .observers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        observers.retain(|o| match o.upgrade() {
            Some(observer) => {
                observer.written(event);
                true
            }
            None => false,
        });
    }
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteSummary {
    /// Features inserted or replaced.
    pub stored: usize,
    /// Features removed.
    pub deleted: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NewFeature;
    use crate::model::crs::InputCrs;
    use crate::store::SqliteStore;
    use serde_json::json;

    async fn catalog() -> Catalog {
        Catalog::load(Arc::new(
            SqliteStore::open("sqlite::memory:").await.unwrap(),
        ))
        .await
        .unwrap()
    }

    fn manhole(code: &str, lon: f64) -> NewFeature {
        let def = layers::builtin()
            .into_iter()
            .find(|d| d.id.as_str() == "manholes")
            .unwrap();
        let f = geojson::Feature::from_json_value(json!({"type": "Feature",
            "properties": {"component_code": code, "kind": "sewage", "status": "intact"},
            "geometry": {"type": "Point", "coordinates": [lon, 34.7]}}))
        .unwrap();
        def.prepare(f, InputCrs::Wgs84).unwrap()
    }

    fn manholes_def(catalog: &Catalog) -> CollectionDef {
        (*catalog.collection("manholes").unwrap().def).clone()
    }

    #[tokio::test]
    async fn the_builtin_layers_exist_in_a_new_store() {
        let catalog = catalog().await;
        assert_eq!(catalog.collections().len(), 7);
        assert_eq!(catalog.collections()[0].def.id.as_str(), "grid_cells");
    }

    #[tokio::test]
    async fn a_reader_keeps_its_snapshot_while_a_write_publishes_a_new_one() {
        let catalog = catalog().await;
        let def = manholes_def(&catalog);
        let before = catalog.collection("manholes").unwrap();
        catalog
            .write(
                &def,
                false,
                vec![Change::Insert(manhole("4101040102000001", 113.7))],
            )
            .await
            .unwrap();
        assert!(before.index.is_empty(), "the old snapshot is unchanged");
        let after = catalog.collection("manholes").unwrap();
        assert_eq!(after.index.len(), 1);
        assert_eq!(
            catalog
                .feature("manholes", "4101040102000001")
                .unwrap()
                .version,
            1
        );
    }

    #[tokio::test]
    async fn a_failed_write_changes_neither_store_nor_index() {
        let catalog = catalog().await;
        let def = manholes_def(&catalog);
        catalog
            .write(
                &def,
                false,
                vec![Change::Insert(manhole("4101040102000001", 113.7))],
            )
            .await
            .unwrap();
        let err = catalog
            .write(
                &def,
                false,
                vec![
                    Change::Insert(manhole("4101040102000002", 113.71)),
                    Change::Insert(manhole("4101040102000001", 113.72)),
                ],
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, ServiceError::Store(StoreError::DuplicateId { .. })),
            "{err}"
        );
        assert_eq!(catalog.collection("manholes").unwrap().index.len(), 1);
        let stored = catalog.store().count(&def.id).await.unwrap();
        assert_eq!(stored, 1);
    }

    #[tokio::test]
    async fn concurrent_readers_see_a_batch_whole_or_not_at_all() {
        let catalog = Arc::new(catalog().await);
        let def = manholes_def(&catalog);
        let reader = {
            let catalog = Arc::clone(&catalog);
            tokio::spawn(async move {
                let mut seen = std::collections::BTreeSet::new();
                for _ in 0..2_000 {
                    seen.insert(catalog.collection("manholes").unwrap().index.len());
                    tokio::task::yield_now().await;
                }
                seen
            })
        };
        for batch in 0..5 {
            let changes = (0..100)
                .map(|i| {
                    Change::Insert(manhole(
                        &format!("41010401020{:05}", batch * 100 + i),
                        113.7,
                    ))
                })
                .collect();
            catalog.write(&def, false, changes).await.unwrap();
        }
        let seen = reader.await.unwrap();
        assert!(
            seen.iter().all(|n| n % 100 == 0),
            "a reader saw a partial batch: {seen:?}"
        );
    }

    fn cell(code: &str, level: &str, parent: Option<&str>, x0: f64, x1: f64) -> NewFeature {
        let def = layers::builtin()
            .into_iter()
            .find(|d| d.id.as_str() == "grid_cells")
            .unwrap();
        let f = geojson::Feature::from_json_value(json!({"type": "Feature",
            "properties": {"code": code, "name": code, "level": level, "parent_code": parent, "valid_from": "2021-01-01"},
            "geometry": {"type": "Polygon", "coordinates": [[[x0, 34.6], [x1, 34.6], [x1, 34.8], [x0, 34.8], [x0, 34.6]]]}}))
        .unwrap();
        def.prepare(f, InputCrs::Wgs84).unwrap()
    }

    /// A district, one street, one community and its first grid cell (113.6–113.7° E).
    fn district_to_grid() -> Vec<Change> {
        vec![
            Change::Insert(cell("410104", "district", None, 113.6, 113.8)),
            Change::Insert(cell("410104001", "street", Some("410104"), 113.6, 113.8)),
            Change::Insert(cell(
                "410104001001",
                "community",
                Some("410104001"),
                113.6,
                113.8,
            )),
            Change::Insert(cell(
                "410104001001001",
                "grid",
                Some("410104001001"),
                113.6,
                113.7,
            )),
        ]
    }

    #[tokio::test]
    async fn grid_statistics_follow_every_write() {
        let catalog = catalog().await;
        let cells = (*catalog.collection("grid_cells").unwrap().def).clone();
        catalog
            .write(
                &cells,
                false,
                district_to_grid()
                    .into_iter()
                    .chain([Change::Insert(cell(
                        "410104001001002",
                        "grid",
                        Some("410104001001"),
                        113.7,
                        113.8,
                    ))])
                    .collect(),
            )
            .await
            .unwrap();
        let def = manholes_def(&catalog);
        let request = StatsRequest {
            level: Level::Grid,
            collection: def.id.clone(),
            group_by: vec!["status".into()],
            day: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        };
        let counts = |catalog: &Catalog| -> Vec<u64> {
            catalog
                .grid_stats(&request)
                .unwrap()
                .cells
                .iter()
                .map(|c| c.total.count)
                .collect()
        };
        assert_eq!(counts(&catalog), [0, 0]);
        catalog
            .write(
                &def,
                false,
                vec![Change::Insert(manhole("4101040102000001", 113.65))],
            )
            .await
            .unwrap();
        assert_eq!(counts(&catalog), [1, 0], "an added feature is counted");
        catalog
            .write(
                &def,
                false,
                vec![Change::Upsert(manhole("4101040102000001", 113.75))],
            )
            .await
            .unwrap();
        assert_eq!(counts(&catalog), [0, 1], "a moved feature changes cell");
        catalog
            .write(
                &def,
                false,
                vec![Change::Delete(
                    FeatureId::parse("4101040102000001").unwrap(),
                )],
            )
            .await
            .unwrap();
        assert_eq!(
            counts(&catalog),
            [0, 0],
            "a removed feature is no longer counted"
        );
    }

    #[tokio::test]
    async fn the_statistics_cache_never_holds_more_bytes_than_its_budget() {
        const BUDGET: usize = 24 << 10;
        let catalog = catalog().await.with_stats_cache_bytes(BUDGET);
        let cells = (*catalog.collection("grid_cells").unwrap().def).clone();
        catalog
            .write(&cells, false, district_to_grid())
            .await
            .unwrap();
        let def = manholes_def(&catalog);
        let request = |days: u64| StatsRequest {
            level: Level::Grid,
            collection: def.id.clone(),
            group_by: vec!["status".into()],
            day: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(days),
        };
        // Each day is another variant, as anonymous clients can ask for; each rendering is 3 KB.
        for days in 0..400 {
            let text = catalog
                .grid_stats_rendered(&request(days), "json", |stats| {
                    assert_eq!(stats.cells.len(), 1);
                    bytes::Bytes::from(vec![b' '; 3 << 10])
                })
                .unwrap();
            assert_eq!(text.len(), 3 << 10);
            assert!(
                catalog.stats_cache_bytes() <= BUDGET,
                "{} bytes held after {} variants",
                catalog.stats_cache_bytes(),
                days + 1
            );
        }
        let held = catalog.stats.len();
        assert!((1..400).contains(&held), "{held} variants held");
        let rendered_again = std::cell::Cell::new(false);
        catalog
            .grid_stats_rendered(&request(399), "json", |_| {
                rendered_again.set(true);
                bytes::Bytes::new()
            })
            .unwrap();
        assert!(
            !rendered_again.get(),
            "the most recent variant is served from the cache"
        );
        catalog
            .grid_stats_rendered(&request(0), "json", |_| {
                rendered_again.set(true);
                bytes::Bytes::from_static(b"{}")
            })
            .unwrap();
        assert!(rendered_again.get(), "the least recent variant was evicted");
        let nothing = catalog.with_stats_cache_bytes(0);
        nothing.grid_stats(&request(1)).unwrap();
        assert_eq!(
            nothing.stats_cache_bytes(),
            0,
            "a budget of 0 keeps nothing"
        );
    }
}
