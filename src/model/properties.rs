//! A stored feature's properties: its values in schema order, with their names shared by every
//! feature that has the same names in the same order.
//!
//! A collection of a million manholes holds a million property lists with the same eleven names.
//! A `serde_json::Map` per feature keeps eleven separately allocated names, an index table and a
//! hash per entry (about 1.8 kB per manhole); [`Properties`] keeps one shared name list and a
//! boxed slice of values (32 bytes plus the values). Lookup by name scans the names, which for
//! the dozen short names of a layer costs about as much as hashing the name would.

use std::fmt;
use std::sync::Arc;

use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

/// The property names of a feature, in order; shared between features.
type Names = Arc<[Box<str>]>;

/// The value of a property that is absent, for indexing.
static NULL: Value = Value::Null;

/// A feature's properties: an ordered map from names to JSON values, immutable once built.
///
/// ```
/// use citygrid::model::Properties;
/// use serde_json::json;
///
/// let object = json!({"status": "intact", "diameter_mm": 600});
/// let properties = Properties::from(object.as_object().unwrap().clone());
/// assert_eq!(properties.get("status"), Some(&json!("intact")));
/// assert_eq!(properties["diameter_mm"], 600);
/// assert_eq!(properties["absent"], serde_json::Value::Null);
/// assert_eq!(serde_json::to_string(&properties).unwrap(), r#"{"status":"intact","diameter_mm":600}"#);
/// ```
#[derive(Clone, PartialEq)]
pub struct Properties {
    names: Names,
    values: Box<[Value]>,
}

impl Default for Properties {
    fn default() -> Self {
        Self {
            names: Arc::from(Vec::new()),
            values: Box::default(),
        }
    }
}

impl Properties {
    /// The value of the property `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.names
            .iter()
            .position(|n| &**n == name)
            .map(|i| &self.values[i])
    }

    /// Whether the property `name` is present (it may be `null`).
    pub fn contains_key(&self, name: &str) -> bool {
        self.names.iter().any(|n| &**n == name)
    }

    /// The names and values, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Value)> + Clone {
        self.names.iter().map(|n| &**n).zip(self.values.iter())
    }

    /// The names, in order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> + Clone {
        self.names.iter().map(|n| &**n)
    }

    /// The number of properties.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there is no property.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// A copy as a JSON object, for callers that edit it.
    pub fn to_map(&self) -> Map<String, Value> {
        self.iter()
            .map(|(n, v)| (n.to_owned(), v.clone()))
            .collect()
    }
}

impl From<Map<String, Value>> for Properties {
    fn from(map: Map<String, Value>) -> Self {
        NameCache::new().properties(map)
    }
}

impl std::ops::Index<&str> for Properties {
    type Output = Value;

    /// The value of `name`, or `null` when absent (as `serde_json::Value` indexes).
    fn index(&self, name: &str) -> &Value {
        self.get(name).unwrap_or(&NULL)
    }
}

impl fmt::Debug for Properties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for Properties {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (name, value) in self.iter() {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// Builds [`Properties`] that share their name list with the one built before when the names
/// are the same: the features of one collection, read or imported in a row, share one list.
#[derive(Debug, Default)]
pub struct NameCache {
    last: Option<Names>,
}

impl NameCache {
    /// A new cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The properties of `map`, in its order.
    pub fn properties(&mut self, map: Map<String, Value>) -> Properties {
        let same = self.last.as_ref().is_some_and(|names| {
            names.len() == map.len() && names.iter().zip(map.keys()).all(|(a, b)| **a == **b)
        });
        let mut values = Vec::with_capacity(map.len());
        let names = if same {
            values.extend(map.into_iter().map(|(_, v)| v));
            self.last.clone().expect("checked above")
        } else {
            let mut names = Vec::with_capacity(map.len());
            for (name, value) in map {
                names.push(name.into_boxed_str());
                values.push(value);
            }
            let names: Names = names.into();
            self.last = Some(Arc::clone(&names));
            names
        };
        Properties {
            names,
            values: values.into_boxed_slice(),
        }
    }

    /// Parses a JSON object's text into properties, in the text's order, without building a map.
    pub fn parse(&mut self, text: &str) -> Result<Properties, serde_json::Error> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let properties = ObjectSeed { cache: self }.deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(properties)
    }
}

/// Deserialises a JSON object into [`Properties`], matching each name against the cached list.
struct ObjectSeed<'c> {
    cache: &'c mut NameCache,
}

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_> {
    type Value = Properties;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Properties, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed<'_> {
    type Value = Properties;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of properties")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Properties, A::Error> {
        let cached = self.cache.last.clone();
        let expected: &[Box<str>] = cached.as_deref().unwrap_or(&[]);
        let mut values = Vec::with_capacity(expected.len().max(access.size_hint().unwrap_or(0)));
        // The names read so far, kept only once they differ from the cached list.
        let mut own: Option<Vec<Box<str>>> = None;
        loop {
            let position = values.len();
            let seed = NameSeed {
                expected: if own.is_none() {
                    expected.get(position).map(|n| &**n)
                } else {
                    None
                },
            };
            let Some(name) = access.next_key_seed(seed)? else {
                break;
            };
            if let Some(text) = name {
                own.get_or_insert_with(|| expected[..position].to_vec())
                    .push(text);
            }
            values.push(access.next_value::<Value>()?);
        }
        let names = match own {
            None if values.len() == expected.len() => cached.unwrap_or_default(),
            own => {
                let names: Names = own
                    .unwrap_or_else(|| expected[..values.len()].to_vec())
                    .into();
                self.cache.last = Some(Arc::clone(&names));
                names
            }
        };
        Ok(Properties {
            names,
            values: values.into_boxed_slice(),
        })
    }
}

/// Reads one property name: `None` when it is the expected one (nothing allocated).
struct NameSeed<'e> {
    expected: Option<&'e str>,
}

impl<'de> DeserializeSeed<'de> for NameSeed<'_> {
    type Value = Option<Box<str>>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for NameSeed<'_> {
    type Value = Option<Box<str>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a property name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Self::Value, E> {
        Ok((self.expected != Some(name)).then(|| name.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: &Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn parsed_properties_equal_the_map_they_were_written_from_in_order() {
        let value = json!({"b": 1, "a": "x", "c": null, "d": {"n": [1, 2]}, "e": "\u{1f}é\"q"});
        let text = value.to_string();
        let mut cache = NameCache::new();
        let parsed = cache.parse(&text).unwrap();
        assert_eq!(parsed, Properties::from(map(&value)));
        assert_eq!(serde_json::to_string(&parsed).unwrap(), text);
        assert_eq!(parsed.keys().collect::<Vec<_>>(), ["b", "a", "c", "d", "e"]);
        assert_eq!(parsed.to_map(), map(&value));
    }

    #[test]
    fn features_with_the_same_names_share_one_list_and_others_get_their_own() {
        let mut cache = NameCache::new();
        let one = cache.parse(r#"{"a":1,"b":2}"#).unwrap();
        let two = cache.parse(r#"{"a":3,"b":4}"#).unwrap();
        assert!(Arc::ptr_eq(&one.names, &two.names));
        let fewer = cache.parse(r#"{"a":5}"#).unwrap();
        let more = cache.parse(r#"{"a":5,"b":6,"c":7}"#).unwrap();
        let other = cache.parse(r#"{"b":1,"a":2}"#).unwrap();
        let empty = cache.parse("{}").unwrap();
        assert_eq!(fewer.keys().collect::<Vec<_>>(), ["a"]);
        assert_eq!(more.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(other.keys().collect::<Vec<_>>(), ["b", "a"]);
        assert_eq!(other["a"], 2);
        assert!(empty.is_empty());
        let from_map = cache.properties(map(&json!({"a": 9})));
        let again = cache.properties(map(&json!({"a": 10})));
        assert!(Arc::ptr_eq(&from_map.names, &again.names));
        assert_eq!(again["a"], 10);
    }

    #[test]
    fn text_that_is_not_an_object_is_refused() {
        let mut cache = NameCache::new();
        for bad in ["[1]", "{\"a\":}", "{\"a\":1} x", "", "null"] {
            assert!(cache.parse(bad).is_err(), "{bad}");
        }
    }
}
