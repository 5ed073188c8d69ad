//! The tile properties of a layer's features, worked out once per snapshot: a table of the
//! distinct values, and for each feature its (field, value) index pairs.
//!
//! Rendering a tile then maps these indices to the tile's own keys and values tables with two
//! array reads per property, instead of reading JSON, hashing and comparing strings for every
//! property of every feature of every tile.

use std::borrow::Cow;
use std::collections::HashMap;

use super::mvt::{FastHash, Value};
use super::rules::{LayerRules, Source};
use crate::model::{Feature, PropertyValue};

/// The tile properties of a set of features (see the module documentation).
#[derive(Debug, Default)]
pub struct LayerDictionary {
    values: Vec<Value<'static>>,
    tags: HashMap<i64, Box<[u32]>, FastHash>,
}

impl LayerDictionary {
    /// The properties of `features` as `rules` choose them (nulls and absent properties left
    /// out; string lists as JSON text).
    pub fn build<'a>(rules: &LayerRules, features: impl IntoIterator<Item = &'a Feature>) -> Self {
        let mut index: HashMap<Value<'static>, u32, FastHash> = HashMap::default();
        let mut values = Vec::new();
        let mut tags = HashMap::default();
        let mut pairs = Vec::new();
        for feature in features {
            pairs.clear();
            for (field_index, field) in rules.fields.iter().enumerate() {
                let value: Value<'static> = match &field.source {
                    Source::Id => Value::String(Cow::Owned(feature.id.as_str().to_owned())),
                    Source::Property(_) => match feature.properties.get(&field.name) {
                        None | Some(PropertyValue::Null) => continue,
                        Some(PropertyValue::String(s)) => Value::String(Cow::Owned(s.to_string())),
                        Some(PropertyValue::Bool(b)) => Value::Bool(*b),
                        Some(PropertyValue::Number(n)) => match n.as_i64() {
                            Some(i) => Value::Int(i),
                            None => Value::Double(n.as_f64().unwrap_or(f64::NAN)),
                        },
                        Some(other) => Value::String(Cow::Owned(other.to_string())),
                    },
                };
                let next = u32::try_from(values.len()).expect("fewer than 2^32 values");
                let i = *index.entry(value.clone()).or_insert_with(|| {
                    values.push(value);
                    next
                });
                pairs.push(u32::try_from(field_index).expect("fewer than 2^32 fields"));
                pairs.push(i);
            }
            tags.insert(feature.fid, pairs.as_slice().into());
        }
        Self { values, tags }
    }

    /// The (field index, value index) pairs of the feature with key `fid`, flattened; empty for
    /// a feature the dictionary does not know.
    pub fn tags(&self, fid: i64) -> &[u32] {
        self.tags.get(&fid).map_or(&[], |t| t)
    }

    /// The value at `index`.
    pub fn value(&self, index: u32) -> &Value<'static> {
        &self.values[index as usize]
    }

    /// The number of distinct values.
    pub fn value_count(&self) -> usize {
        self.values.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FeatureId;
    use crate::model::layers::builtin;
    use chrono::Utc;
    use geo::point;
    use serde_json::Value as Json;
    use serde_json::json;

    fn feature(fid: i64, properties: &Json) -> Feature {
        Feature::new(
            fid,
            FeatureId::parse(&format!("p{fid}")).unwrap(),
            point!(x: 113.7, y: 34.7).into(),
            properties.as_object().unwrap().clone(),
            1,
            Utc::now(),
            Utc::now(),
        )
    }

    #[test]
    fn equal_values_share_one_entry_and_nulls_are_left_out() {
        let def = builtin()
            .into_iter()
            .find(|d| d.id.as_str() == "pipelines")
            .unwrap();
        let rules = LayerRules::of(&def);
        let a = feature(
            1,
            &json!({"kind": "gas", "condition": "aging", "diameter_mm": 300, "depth_m": 1.5, "pressure_class": null}),
        );
        let b = feature(
            2,
            &json!({"kind": "gas", "condition": "good", "diameter_mm": 300}),
        );
        let dictionary = LayerDictionary::build(&rules, [&a, &b]);
        let field = |name: &str| {
            u32::try_from(rules.fields.iter().position(|f| f.name == name).unwrap()).unwrap()
        };
        let pairs = |fid| -> Vec<(u32, Value<'static>)> {
            dictionary
                .tags(fid)
                .chunks(2)
                .map(|p| (p[0], dictionary.value(p[1]).clone()))
                .collect()
        };
        assert_eq!(
            pairs(1),
            [
                (field("id"), Value::String("p1".into())),
                (field("kind"), Value::String("gas".into())),
                (field("diameter_mm"), Value::Int(300)),
                (field("condition"), Value::String("aging".into())),
            ],
            "depth_m is not a tile field of pipelines; nulls are left out"
        );
        assert_eq!(dictionary.value_count(), 6, "p1 p2 gas 300 aging good");
        assert!(dictionary.tags(3).is_empty());
    }
}
