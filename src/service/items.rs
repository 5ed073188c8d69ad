//! The items query of OGC API – Features: bbox, datetime and property equality, paged by offset
//! and limit, in a stable order (the store's key order).

use std::sync::Arc;

use serde_json::Value;

use super::Collection;
use crate::model::{Bbox, DateInterval, Feature};

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
            offset: 0,
            limit: DEFAULT_LIMIT,
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

fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// Runs `query` on one collection snapshot.
pub fn query_items(collection: &Collection, query: &ItemsQuery) -> ItemsPage {
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
            let start = feature.properties.get(&t.start).and_then(Value::as_str);
            let end = t
                .end
                .as_ref()
                .and_then(|e| feature.properties.get(e))
                .and_then(Value::as_str);
            DateInterval::of_feature(start, end, t.end.is_some())
                .is_some_and(|own| own.intersects(interval))
        });
        equal && in_time
    };
    let unfiltered = query.equals.is_empty() && temporal.is_none();
    let (number_matched, features) = match &query.bbox {
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
        Some(bbox) => page(
            collection
                .index
                .intersecting(&bbox.rects())
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
