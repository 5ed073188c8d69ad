//! Spatial questions over one or more collections: search by geometry (with a predicate or a
//! geodesic distance), totals clipped to a polygon, and the k nearest features.
//!
//! CRS: WGS84 lon/lat. Units: metres and m², geodesic on WGS84.
//!
//! Both run on the analysis pool ([`super::analysis`]) and ask their [`Budget`] once per
//! candidate feature, so a spent budget or a client gone stops them within one feature's work.

use std::collections::BTreeMap;
use std::sync::Arc;

use geo::{BoundingRect, Geometry, Intersects};

use super::Collection;
use super::analysis::{Budget, Interrupted};
use super::grid::{Measures, group_key};
use crate::filter::Filter;
use crate::index::measure::Region;
use crate::index::predicate::{Predicate, holds};
use crate::model::Feature;

/// What to search in one collection.
#[derive(Debug)]
pub struct Target {
    /// The collection snapshot.
    pub collection: Arc<Collection>,
    /// A CQL2 filter compiled for it.
    pub filter: Option<Filter>,
}

/// A validated search.
#[derive(Debug)]
pub struct Search {
    /// The collections, in the order asked.
    pub targets: Vec<Target>,
    /// The query geometry (WGS84).
    pub geometry: Geometry<f64>,
    /// How features relate to the geometry (ignored when `within_distance_m` is set).
    pub predicate: Predicate,
    /// Features within this geodesic distance of the geometry instead.
    pub within_distance_m: Option<f64>,
    /// Matches to skip.
    pub offset: usize,
    /// Matches to return at most.
    pub limit: usize,
}

/// One search result.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The collection's id.
    pub collection: Arc<Collection>,
    /// The feature.
    pub feature: Arc<Feature>,
}

/// A page of search results.
#[derive(Debug)]
pub struct SearchPage {
    /// Matches in all collections.
    pub number_matched: usize,
    /// This page.
    pub hits: Vec<Hit>,
}

fn matches_in<'a>(
    target: &'a Target,
    search: &Search,
    budget: &Budget,
) -> Result<Vec<&'a Arc<Feature>>, Interrupted> {
    let index = &target.collection.index;
    let candidates: Vec<&Arc<Feature>> = if let Some(distance) = search.within_distance_m {
        index
            .within_distance_until(&search.geometry, distance, &|| budget.spent())
            .ok_or_else(|| budget.check().expect_err("the budget said stop"))?
    } else {
        match search.predicate {
            Predicate::Disjoint => {
                let mut found = Vec::new();
                for f in index.iter() {
                    budget.check()?;
                    if !f.geometry.intersects(&search.geometry) {
                        found.push(f);
                    }
                }
                found
            }
            predicate => {
                let Some(rect) = search.geometry.bounding_rect() else {
                    return Ok(Vec::new());
                };
                let mut found = Vec::new();
                for f in index.intersecting(&[rect]) {
                    budget.check()?;
                    if holds(predicate, &f.geometry, &search.geometry) {
                        found.push(f);
                    }
                }
                found
            }
        }
    };
    let Some(filter) = &target.filter else {
        return Ok(candidates);
    };
    let mut found = Vec::with_capacity(candidates.len());
    for f in candidates {
        budget.check()?;
        if filter.matches(f) {
            found.push(f);
        }
    }
    Ok(found)
}

/// Runs a search; results are ordered by collection (as asked), then by key.
///
/// # Errors
/// When `budget` says stop.
pub fn search(search: &Search, budget: &Budget) -> Result<SearchPage, Interrupted> {
    let mut number_matched = 0;
    let mut hits = Vec::new();
    for target in &search.targets {
        for feature in matches_in(target, search, budget)? {
            if number_matched >= search.offset && hits.len() < search.limit {
                hits.push(Hit {
                    collection: Arc::clone(&target.collection),
                    feature: Arc::clone(feature),
                });
            }
            number_matched += 1;
        }
    }
    Ok(SearchPage {
        number_matched,
        hits,
    })
}

/// Totals of one collection inside a region.
#[derive(Debug, Clone)]
pub struct Summary {
    /// The collection.
    pub collection: Arc<Collection>,
    /// The properties grouped by.
    pub group_by: Vec<String>,
    /// Totals.
    pub total: Measures,
    /// Totals per group (values of `group_by`, null as empty text).
    pub groups: BTreeMap<Vec<String>, Measures>,
}

/// Count, clipped length and clipped area of each target's features inside `region`.
///
/// # Errors
/// When `budget` says stop.
pub fn summarize(
    targets: &[(Target, Vec<String>)],
    region: &Region,
    budget: &Budget,
) -> Result<Vec<Summary>, Interrupted> {
    let mut summaries = Vec::with_capacity(targets.len());
    for (target, group_by) in targets {
        let mut total = Measures::default();
        let mut groups: BTreeMap<Vec<String>, Measures> = BTreeMap::new();
        if let Some(bbox) = region.bbox() {
            for feature in target.collection.index.intersecting(&[bbox]) {
                budget.check()?;
                if target.filter.as_ref().is_some_and(|f| !f.matches(feature)) {
                    continue;
                }
                let clipped = region.clip_measures(&feature.geometry);
                if clipped.inside {
                    total.add(clipped.length_m, clipped.area_m2);
                    groups
                        .entry(group_key(feature, group_by))
                        .or_default()
                        .add(clipped.length_m, clipped.area_m2);
                }
            }
        }
        summaries.push(Summary {
            collection: Arc::clone(&target.collection),
            group_by: group_by.clone(),
            total,
            groups,
        });
    }
    Ok(summaries)
}
