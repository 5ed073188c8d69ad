//! The grid as a service: which cells contain a point (the district → street → community → grid
//! chain valid on a date), and per-cell statistics of any collection.
//!
//! Cells are redrawn over time: a retired cell keeps its geometry with `valid_to`. The validity
//! dates cut time into epochs; within one epoch the valid cells of each level partition their
//! parent, so each epoch gets its own prepared point-in-polygon locator per level. Points on an
//! edge shared by two cells resolve deterministically to one of them (see `index::locate`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use chrono::NaiveDate;

use crate::index::locate::CellLocator;
use crate::index::measure::Region;
pub use crate::model::grid::Level;
use crate::model::{Feature, Properties, PropertyValue};

fn date(value: Option<&PropertyValue>) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(value?.as_str()?, "%Y-%m-%d").ok()
}

/// Whether `cell` is valid on `day` (`valid_from` ≤ day ≤ `valid_to`, a missing end = still valid).
pub fn valid_on(cell: &Feature, day: NaiveDate) -> bool {
    let from = date(cell.properties.get("valid_from"));
    let to = date(cell.properties.get("valid_to"));
    from.is_none_or(|f| f <= day) && to.is_none_or(|t| day <= t)
}

/// The `code` of each cell.
pub fn cell_codes<'a>(cells: impl IntoIterator<Item = &'a Feature>) -> HashSet<String> {
    cells
        .into_iter()
        .filter_map(|c| c.properties.get("code").and_then(PropertyValue::as_str))
        .map(str::to_owned)
        .collect()
}

/// One stretch of time in which the set of valid cells does not change.
#[derive(Debug)]
struct Epoch {
    /// First day (None: since ever).
    from: Option<NaiveDate>,
    /// Per level: the locator and the cells it indexes (key = position).
    levels: Vec<(Level, CellLocator, Vec<Arc<Feature>>)>,
}

/// The grid cells prepared for point location, per validity epoch and level.
#[derive(Debug, Default)]
pub struct GridIndex {
    epochs: Vec<Epoch>,
}

impl GridIndex {
    /// Prepares the cells of a `grid_cells` collection.
    pub fn build<'a>(cells: impl Iterator<Item = &'a Arc<Feature>>) -> Self {
        let cells: Vec<&Arc<Feature>> = cells.collect();
        let mut breaks: Vec<NaiveDate> = cells
            .iter()
            .flat_map(|c| {
                let from = date(c.properties.get("valid_from"));
                let after = date(c.properties.get("valid_to")).and_then(|t| t.succ_opt());
                [from, after]
            })
            .flatten()
            .collect();
        breaks.sort_unstable();
        breaks.dedup();
        let mut starts: Vec<Option<NaiveDate>> = vec![None];
        starts.extend(breaks.into_iter().map(Some));
        let epochs = starts
            .into_iter()
            .map(|from| {
                let day = from.unwrap_or(NaiveDate::MIN);
                let levels = Level::ALL
                    .into_iter()
                    .map(|level| {
                        let members: Vec<Arc<Feature>> = cells
                            .iter()
                            .filter(|c| {
                                c.properties.get("level").and_then(PropertyValue::as_str)
                                    == Some(level.name())
                            })
                            .filter(|c| valid_on(c, day))
                            .map(|c| Arc::clone(c))
                            .collect();
                        let keyed = members
                            .iter()
                            .enumerate()
                            .map(|(i, c)| {
                                (
                                    u32::try_from(i).expect("fewer than 2^32 cells"),
                                    &c.geometry,
                                )
                            })
                            .collect();
                        (level, CellLocator::new(keyed), members)
                    })
                    .collect();
                Epoch { from, levels }
            })
            .collect();
        Self { epochs }
    }

    fn epoch(&self, day: NaiveDate) -> Option<&Epoch> {
        self.epochs
            .iter()
            .rev()
            .find(|e| e.from.is_none_or(|f| f <= day))
    }

    /// The cell of `level` containing the point on `day`.
    pub fn locate_level(
        &self,
        level: Level,
        lon: f64,
        lat: f64,
        day: NaiveDate,
    ) -> Option<&Arc<Feature>> {
        let (_, locator, members) = self
            .epoch(day)?
            .levels
            .iter()
            .find(|(l, _, _)| *l == level)?;
        locator.locate(lon, lat).map(|key| &members[key as usize])
    }

    /// The chain of cells containing the point on `day`, outermost first; empty outside the grid.
    pub fn locate(&self, lon: f64, lat: f64, day: NaiveDate) -> Vec<(Level, Arc<Feature>)> {
        Level::ALL
            .into_iter()
            .filter_map(|level| {
                self.locate_level(level, lon, lat, day)
                    .map(|c| (level, Arc::clone(c)))
            })
            .collect()
    }

    /// The cells of `level` valid on `day`, with their locator.
    fn level(&self, level: Level, day: NaiveDate) -> Option<(&CellLocator, &[Arc<Feature>])> {
        let (_, locator, members) = self
            .epoch(day)?
            .levels
            .iter()
            .find(|(l, _, _)| *l == level)?;
        Some((locator, members.as_slice()))
    }
}

/// A cell's polygon prepared for clipping.
fn region_of(geometry: &geo::Geometry<f64>) -> Option<Region> {
    match geometry {
        geo::Geometry::Polygon(p) => Some(Region::new(geo::MultiPolygon(vec![p.clone()]))),
        geo::Geometry::MultiPolygon(m) => Some(Region::new(m.clone())),
        _ => None,
    }
}

/// Count, clipped length and clipped area.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Measures {
    /// Features that intersect (points: lie in) the cell or region.
    pub count: u64,
    /// Geodesic length inside, metres.
    pub length_m: f64,
    /// Geodesic area inside, m².
    pub area_m2: f64,
}

impl Measures {
    /// Adds one feature's measures.
    pub fn add(&mut self, length_m: f64, area_m2: f64) {
        self.count += 1;
        self.length_m += length_m;
        self.area_m2 += area_m2;
    }
}

/// The values of the `group_by` properties of a feature, as text (null → empty).
pub fn group_key(feature: &Feature, group_by: &[String]) -> Vec<String> {
    group_by
        .iter()
        .map(|name| match feature.properties.get(name) {
            None | Some(PropertyValue::Null) => String::new(),
            Some(PropertyValue::String(s)) => s.to_string(),
            Some(other) => other.to_string(),
        })
        .collect()
}

/// A fast hasher for group keys (they come from the data, but only the server's own
/// statistics are at stake, and the set of keys is as small as the properties' vocabulary).
type FastHash = foldhash::fast::RandomState;

/// Reads named properties of one feature after another, remembering where each name was last
/// found: features of a collection usually store their properties in the same (schema) order,
/// so the remembered position is right and the lookup needs no hashing; a wrong guess scans.
struct PropertyCursor<'n> {
    names: &'n [String],
    positions: Vec<usize>,
}

impl<'n> PropertyCursor<'n> {
    fn new(names: &'n [String]) -> Self {
        Self {
            names,
            positions: vec![0; names.len()],
        }
    }

    /// The value of the `i`-th name in `properties`.
    fn get<'p>(&mut self, i: usize, properties: &'p Properties) -> Option<&'p PropertyValue> {
        let name = self.names[i].as_str();
        if let Some((key, value)) = properties.get_index(self.positions[i])
            && key == name
        {
            return Some(value);
        }
        let (position, (_, value)) = properties
            .iter()
            .enumerate()
            .find(|(_, (key, _))| *key == name)?;
        self.positions[i] = position;
        Some(value)
    }
}

/// Statistics of one cell.
#[derive(Debug, Clone)]
pub struct CellStats {
    /// The cell.
    pub cell: Arc<Feature>,
    /// Totals.
    pub total: Measures,
    /// Totals per group key (values of the `group_by` properties).
    pub groups: BTreeMap<Vec<String>, Measures>,
}

/// Per-cell statistics of `features` over the cells of `level` valid on `day`.
///
/// Points count in the one cell that contains them (the locator's edge rule); lines and polygons
/// count in every cell they intersect, with the length and area clipped to each cell, so lengths
/// and areas sum to the district's totals while counts of lines may exceed the number of lines.
pub fn cell_stats<'a>(
    grid: &GridIndex,
    level: Level,
    day: NaiveDate,
    features: impl Iterator<Item = &'a Arc<Feature>>,
    candidates: impl Fn(geo::Rect<f64>) -> Vec<&'a Arc<Feature>>,
    group_by: &[String],
) -> Vec<CellStats> {
    let Some((locator, cells)) = grid.level(level, day) else {
        return Vec::new();
    };
    let mut stats: Vec<CellStats> = cells
        .iter()
        .map(|c| CellStats {
            cell: Arc::clone(c),
            total: Measures::default(),
            groups: BTreeMap::new(),
        })
        .collect();
    // Points: one lookup each, grouped by interned keys of borrowed values (no allocation per
    // point), counted per cell in a vector indexed by group, turned into owned keys once per
    // cell and group at the end. Reading the properties is what costs here (each feature's map
    // is cold in the cache), so they are read by remembered position rather than by hash.
    let mut points_only = true;
    let mut interned: HashMap<Vec<&PropertyValue>, usize, FastHash> = HashMap::default();
    let mut per_cell: Vec<Vec<u64>> = vec![Vec::new(); stats.len()];
    let null = PropertyValue::Null;
    let mut key: Vec<&PropertyValue> = Vec::with_capacity(group_by.len());
    let mut cursor = PropertyCursor::new(group_by);
    for feature in features {
        if let geo::Geometry::Point(p) = &feature.geometry {
            if let Some(cell) = locator.locate(p.x(), p.y()) {
                key.clear();
                key.extend(
                    (0..group_by.len())
                        .map(|i| cursor.get(i, &feature.properties).unwrap_or(&null)),
                );
                let group = if let Some(&group) = interned.get(&key) {
                    group
                } else {
                    let next = interned.len();
                    interned.insert(key.clone(), next);
                    next
                };
                let counts = &mut per_cell[cell as usize];
                if counts.len() <= group {
                    counts.resize(group + 1, 0);
                }
                counts[group] += 1;
            }
        } else {
            points_only = false;
        }
    }
    let mut keys: Vec<Vec<String>> = vec![Vec::new(); interned.len()];
    for (values, i) in interned {
        keys[i] = values
            .into_iter()
            .map(|v| match v {
                PropertyValue::Null => String::new(),
                PropertyValue::String(s) => s.to_string(),
                other => other.to_string(),
            })
            .collect();
    }
    for (s, counts) in stats.iter_mut().zip(per_cell) {
        for (group, &count) in counts.iter().enumerate().filter(|(_, c)| **c > 0) {
            s.total.count += count;
            s.groups.insert(
                keys[group].clone(),
                Measures {
                    count,
                    ..Measures::default()
                },
            );
        }
    }
    if points_only {
        return stats;
    }
    for s in &mut stats {
        let Some(region) = region_of(&s.cell.geometry) else {
            continue;
        };
        let Some(bbox) = s.cell.bbox else { continue };
        for feature in candidates(bbox) {
            if matches!(feature.geometry, geo::Geometry::Point(_)) {
                continue;
            }
            let clipped = region.clip_measures(&feature.geometry);
            if clipped.inside {
                s.total.add(clipped.length_m, clipped.area_m2);
                s.groups
                    .entry(group_key(feature, group_by))
                    .or_default()
                    .add(clipped.length_m, clipped.area_m2);
            }
        }
    }
    stats
}
