//! The items query of OGC API – Features: bbox, datetime, property equality and a CQL2 filter,
//! sorted by properties when asked (stably, before paging), paged by offset and limit, otherwise
//! in the store's key order.

use std::cell::Cell;
use std::cmp::Ordering;
use std::sync::Arc;

use serde_json::Value;

use super::Collection;
use super::analysis::{Budget, Interrupted};
use crate::filter::Filter;
use crate::filter::temporal::parse_timestamp;
use crate::model::schema::PropertyType;
use crate::model::{Bbox, DateInterval, Feature, PropertyValue};

/// Default page size.
pub const DEFAULT_LIMIT: usize = 10;
/// Largest page size; larger requests are clamped to it.
pub const MAX_LIMIT: usize = 10_000;

/// A validated items query.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemsQuery {
    /// Only features intersecting this box.
    pub bbox: Option<Bbox>,
    /// Only features whose time intersects this interval (ignored by collections without time).
    pub datetime: Option<DateInterval>,
    /// Only features whose property equals the value (typed by the schema).
    pub equals: Vec<(String, Value)>,
    /// Only features the CQL2 filter selects.
    pub filter: Option<Arc<Filter>>,
    /// Sort keys, most significant first; empty keeps the key order.
    pub sort: Vec<SortKey>,
    /// The properties to return (all when `None`); the representation applies it.
    pub properties: Option<Vec<String>>,
    /// Matches to skip.
    pub offset: usize,
    /// Matches to return at most.
    pub limit: usize,
}

impl Default for ItemsQuery {
    fn default() -> Self {
        Self {
            bbox: None,
            datetime: None,
            equals: Vec::new(),
            filter: None,
            sort: Vec::new(),
            properties: None,
            offset: 0,
            limit: DEFAULT_LIMIT,
        }
    }
}

/// One key of `sortby`: a simple property, ascending or descending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    /// The property.
    pub property: String,
    /// Its type, which decides how values compare (timestamps as instants).
    pub ty: PropertyType,
    /// Largest first.
    pub descending: bool,
}

impl SortKey {
    /// Orders two features by this key. Nulls and missing values come last when ascending and
    /// first when descending, as in SQL's default.
    fn compare(&self, a: &Feature, b: &Feature) -> Ordering {
        let a = a.properties.get(&self.property).filter(|v| !v.is_null());
        let b = b.properties.get(&self.property).filter(|v| !v.is_null());
        let ordering = match (a, b) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(a), Some(b)) => self.compare_values(a, b),
        };
        if self.descending {
            ordering.reverse()
        } else {
            ordering
        }
    }

    fn compare_values(&self, a: &PropertyValue, b: &PropertyValue) -> Ordering {
        match (a, b) {
            (PropertyValue::Number(x), PropertyValue::Number(y)) => x
                .as_f64()
                .partial_cmp(&y.as_f64())
                .unwrap_or(Ordering::Equal),
            (PropertyValue::Bool(x), PropertyValue::Bool(y)) => x.cmp(y),
            (PropertyValue::String(x), PropertyValue::String(y))
                if self.ty == PropertyType::DateTime =>
            {
                match (parse_timestamp(x), parse_timestamp(y)) {
                    (Some(x), Some(y)) => x.cmp(&y),
                    _ => x.cmp(y),
                }
            }
            (PropertyValue::String(x), PropertyValue::String(y)) => x.cmp(y),
            _ => Ordering::Equal,
        }
    }
}

/// One page of matches.
#[derive(Debug, Clone)]
pub struct ItemsPage {
    /// How many features match in all.
    pub number_matched: usize,
    /// The features of this page.
    pub features: Vec<Arc<Feature>>,
}

fn values_equal(a: &PropertyValue, b: &Value) -> bool {
    match (a, b) {
        (PropertyValue::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// How many features are tested between two looks at the budget.
const BUDGET_STRIDE: u32 = 256;

/// Runs `query` on one collection snapshot.
pub fn query_items(collection: &Collection, query: &ItemsQuery) -> ItemsPage {
    query_items_within(collection, query, &Budget::unlimited())
        .expect("an unlimited budget is never spent")
}

/// Runs `query` on one collection snapshot within `budget`, which is looked at every
/// [`BUDGET_STRIDE`] features tested: a filter (a large geometry literal against every feature)
/// stops when the budget is spent or the request is gone.
pub fn query_items_within(
    collection: &Collection,
    query: &ItemsQuery,
    budget: &Budget,
) -> Result<ItemsPage, Interrupted> {
    let stopped: Cell<Option<Interrupted>> = Cell::new(None);
    let tested = Cell::new(0_u32);
    let page = query_items_checked(collection, query, &|| {
        if stopped.get().is_some() {
            return false;
        }
        let n = tested.get().wrapping_add(1);
        tested.set(n);
        if n.is_multiple_of(BUDGET_STRIDE)
            && let Err(why) = budget.check()
        {
            stopped.set(Some(why));
            return false;
        }
        true
    });
    match stopped.get() {
        Some(why) => Err(why),
        None => Ok(page),
    }
}

/// [`query_items`] with `go` asked before each feature is tested; a feature it refuses is left
/// out (once it refuses, the caller discards the page).
fn query_items_checked(
    collection: &Collection,
    query: &ItemsQuery,
    go: &dyn Fn() -> bool,
) -> ItemsPage {
    let temporal = query
        .datetime
        .as_ref()
        .and_then(|interval| collection.def.temporal.as_ref().map(|t| (interval, t)));
    let keep = |feature: &Feature| {
        let equal = query.equals.iter().all(|(name, value)| {
            feature
                .properties
                .get(name)
                .is_some_and(|v| values_equal(v, value))
        });
        let in_time = temporal.is_none_or(|(interval, t)| {
            let start = feature
                .properties
                .get(&t.start)
                .and_then(PropertyValue::as_str);
            let end = t
                .end
                .as_ref()
                .and_then(|e| feature.properties.get(e))
                .and_then(PropertyValue::as_str);
            DateInterval::of_feature(start, end, t.end.is_some())
                .is_some_and(|own| own.intersects(interval))
        });
        go() && equal && in_time && query.filter.as_ref().is_none_or(|f| f.matches(feature))
    };
    let unfiltered = query.equals.is_empty() && temporal.is_none() && query.filter.is_none();
    // The R-tree narrows the candidates to the bbox, or else to what the filter must intersect.
    let rects = query.bbox.as_ref().map(Bbox::rects).or_else(|| {
        query
            .filter
            .as_ref()
            .and_then(|f| f.bbox_hint())
            .map(<[_]>::to_vec)
    });
    if !query.sort.is_empty() {
        let mut matches: Vec<&Arc<Feature>> = match &rects {
            None => collection.index.iter().filter(|f| keep(f)).collect(),
            Some(rects) => collection
                .index
                .intersecting(rects)
                .into_iter()
                .filter(|f| keep(f))
                .collect(),
        };
        matches.sort_by(|a, b| {
            query
                .sort
                .iter()
                .map(|key| key.compare(a, b))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        });
        let (number_matched, features) = page(matches.into_iter(), query);
        return ItemsPage {
            number_matched,
            features,
        };
    }
    let (number_matched, features) = match &rects {
        None if unfiltered => {
            let index = &collection.index;
            (
                index.len(),
                index
                    .iter()
                    .skip(query.offset)
                    .take(query.limit)
                    .cloned()
                    .collect(),
            )
        }
        None => page(collection.index.iter().filter(|f| keep(f)), query),
        Some(rects) => page(
            collection
                .index
                .intersecting(rects)
                .into_iter()
                .filter(|f| keep(f)),
            query,
        ),
    };
    ItemsPage {
        number_matched,
        features,
    }
}

fn page<'a>(
    matches: impl Iterator<Item = &'a Arc<Feature>>,
    query: &ItemsQuery,
) -> (usize, Vec<Arc<Feature>>) {
    let mut count = 0;
    let mut features = Vec::with_capacity(query.limit.min(1024));
    for feature in matches {
        if count >= query.offset && features.len() < query.limit {
            features.push(Arc::clone(feature));
        }
        count += 1;
    }
    (count, features)
}
