//! The cache of per-cell statistics (`/grid/stats`) and their renderings, within a byte
//! budget, least recently used out first.
//!
//! Why bytes and not entries: a variant (level, collection, grouping, day) can cost from a few
//! kilobytes to megabytes (a GeoJSON rendering carries every cell's geometry; a grouping by a
//! property with many values multiplies the rows), and anonymous clients choose the variants:
//! 256 entries once took the process from 120 MB to 1 GB. Each entry is weighed by an estimate
//! of its heap size that errs high, and the sum of the weights never exceeds the budget; an
//! entry heavier than the whole budget is computed and served but not kept.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;

use super::grid::CellStats;
use super::{Stats, StatsRequest};

/// Bookkeeping charged per entry and per rendering (maps, order, key), bytes.
const ENTRY_OVERHEAD: usize = 256;

/// Bookkeeping of a `BTreeMap` per element (node share, key and value headers), bytes.
const NODE_OVERHEAD: usize = 64;

/// Cached statistics are keyed by the grid's and the collection's snapshot serials and the
/// request.
pub(crate) type StatsKey = (u64, u64, StatsRequest);

struct Entry {
    stats: Arc<Stats>,
    rendered: HashMap<&'static str, Bytes>,
    weight: usize,
    stamp: u64,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<StatsKey, Entry>,
    /// Use order: stamp → key; the first is the least recently used.
    order: BTreeMap<u64, StatsKey>,
    clock: u64,
    bytes: usize,
}

impl Inner {
    fn touch(&mut self, key: &StatsKey) -> Option<&mut Entry> {
        self.clock += 1;
        let stamp = self.clock;
        let entry = self.entries.get_mut(key)?;
        self.order.remove(&entry.stamp);
        entry.stamp = stamp;
        self.order.insert(stamp, key.clone());
        Some(entry)
    }

    /// Evicts least recently used entries other than `keep` until `extra` more bytes fit in
    /// `budget`; whether they fit.
    fn make_room(&mut self, extra: usize, budget: usize, keep: Option<&StatsKey>) -> bool {
        while self.bytes + extra > budget {
            let Some(victim) = self.order.values().find(|k| Some(*k) != keep).cloned() else {
                return false;
            };
            let entry = self.entries.remove(&victim).expect("ordered entries exist");
            self.order.remove(&entry.stamp);
            self.bytes -= entry.weight;
        }
        true
    }
}

/// Statistics and their renderings within a byte budget.
pub(crate) struct StatsCache {
    inner: Mutex<Inner>,
    budget: usize,
}

impl StatsCache {
    /// An empty cache of at most `budget` bytes (0 keeps nothing).
    pub(crate) fn new(budget: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            budget,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached statistics of `key`, marked as just used.
    pub(crate) fn get(&self, key: &StatsKey) -> Option<Arc<Stats>> {
        self.lock().touch(key).map(|e| Arc::clone(&e.stats))
    }

    /// Keeps `stats` under `key` if they fit in the budget, evicting the least recently used.
    pub(crate) fn insert(&self, key: StatsKey, stats: Arc<Stats>) {
        let weight = weigh(&key, &stats);
        let mut inner = self.lock();
        if let Some(old) = inner.entries.remove(&key) {
            inner.order.remove(&old.stamp);
            inner.bytes -= old.weight;
        }
        if weight > self.budget || !inner.make_room(weight, self.budget, None) {
            return;
        }
        inner.clock += 1;
        let stamp = inner.clock;
        inner.order.insert(stamp, key.clone());
        inner.bytes += weight;
        inner.entries.insert(
            key,
            Entry {
                stats,
                rendered: HashMap::new(),
                weight,
                stamp,
            },
        );
    }

    /// The cached rendering of `key` in `format`.
    pub(crate) fn rendering(&self, key: &StatsKey, format: &'static str) -> Option<Bytes> {
        self.lock()
            .touch(key)
            .and_then(|e| e.rendered.get(format).cloned())
    }

    /// Keeps a rendering of the cached `key` if it fits, evicting other entries.
    pub(crate) fn add_rendering(&self, key: &StatsKey, format: &'static str, text: &Bytes) {
        let weight = text.len() + ENTRY_OVERHEAD;
        let mut inner = self.lock();
        let Some(entry) = inner.entries.get(key) else {
            return;
        };
        if entry.rendered.contains_key(format) {
            return;
        }
        if !inner.make_room(weight, self.budget, Some(key)) {
            return;
        }
        let entry = inner.entries.get_mut(key).expect("kept by make_room");
        entry.rendered.insert(format, text.clone());
        entry.weight += weight;
        inner.bytes += weight;
    }

    /// The bytes held now, by the cache's own estimate.
    pub(crate) fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// The entries held now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().entries.len()
    }
}

/// An estimate, erring high, of the heap bytes of an entry.
fn weigh(key: &StatsKey, stats: &Stats) -> usize {
    let strings = |v: &[String]| -> usize {
        v.iter()
            .map(|s| s.capacity() + size_of::<String>())
            .sum::<usize>()
    };
    let rows: usize = stats
        .cells
        .iter()
        .map(|c| {
            size_of::<CellStats>()
                + c.groups
                    .keys()
                    .map(|k| {
                        strings(k)
                            + size_of::<Vec<String>>()
                            + size_of::<super::grid::Measures>()
                            + NODE_OVERHEAD
                    })
                    .sum::<usize>()
        })
        .sum();
    ENTRY_OVERHEAD + size_of::<Stats>() + strings(&key.2.group_by) + rows
}
