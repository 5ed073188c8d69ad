//! A stored feature's properties: its values in schema order, with their names shared by every
//! feature that has the same names in the same order.
//!
//! A collection of a million manholes holds a million property lists with the same eleven names.
//! A `serde_json::Map` per feature keeps eleven separately allocated names, an index table and a
//! hash per entry, and each `serde_json::Value` takes 80 bytes (about 1.8 kB per manhole in
//! all); [`Properties`] keeps one shared name list and a boxed slice of 24-byte
//! [`PropertyValue`]s. Lookup by name scans the names, which for the dozen short names of a
//! layer costs about as much as hashing the name would.

use std::fmt;
use std::sync::Arc;

use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

/// The property names of a feature, in order; shared between features.
type Names = Arc<[Box<str>]>;

/// The value of a property that is absent, for indexing.
static NULL: PropertyValue = PropertyValue::Null;

/// One stored property value: JSON scalars inline, text boxed, arrays and objects as JSON.
/// It serialises exactly as the `serde_json::Value` it was made from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PropertyValue {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as JSON holds it (integer or float).
    Number(serde_json::Number),
    /// A string.
    String(Box<str>),
    /// An array or object.
    Json(Box<Value>),
}

impl PropertyValue {
    /// The value as JSON.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Null => Value::Null,
            Self::Bool(b) => Value::Bool(*b),
            Self::Number(n) => Value::Number(n.clone()),
            Self::String(s) => Value::String(s.to_string()),
            Self::Json(v) => (**v).clone(),
        }
    }

    /// The text, if the value is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    /// The number as `f64`, if the value is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Number(n) => n.as_f64(),
            _ => None,
        }
    }

    /// The number as `i64`, if the value is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    /// The boolean, if the value is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Whether the value is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }
}

impl From<Value> for PropertyValue {
    fn from(value: Value) -> Self {
        match value {
            Value::Null => Self::Null,
            Value::Bool(b) => Self::Bool(b),
            Value::Number(n) => Self::Number(n),
            Value::String(s) => Self::String(s.into_boxed_str()),
            other => Self::Json(Box::new(other)),
        }
    }
}

impl PartialEq<Value> for PropertyValue {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Self::Null, Value::Null) => true,
            (Self::Bool(a), Value::Bool(b)) => a == b,
            (Self::Number(a), Value::Number(b)) => a == b,
            (Self::String(a), Value::String(b)) => **a == **b,
            (Self::Json(a), b) => **a == *b,
            _ => false,
        }
    }
}

impl PartialEq<PropertyValue> for Value {
    fn eq(&self, other: &PropertyValue) -> bool {
        other == self
    }
}

impl PartialEq<&str> for PropertyValue {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}

impl PartialEq<i64> for PropertyValue {
    fn eq(&self, other: &i64) -> bool {
        self.as_i64() == Some(*other)
    }
}

impl fmt::Display for PropertyValue {
    /// The value as compact JSON text, as `serde_json::Value` displays.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Json(v) => v.fmt(f),
            other => f.write_str(&serde_json::to_string(other).map_err(|_| fmt::Error)?),
        }
    }
}

impl Serialize for PropertyValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Null => serializer.serialize_unit(),
            Self::Bool(b) => serializer.serialize_bool(*b),
            Self::Number(n) => n.serialize(serializer),
            Self::String(s) => serializer.serialize_str(s),
            Self::Json(v) => v.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for PropertyValue {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

/// Reads a JSON value straight into a [`PropertyValue`] (no intermediate `Value` for scalars).
struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = PropertyValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<PropertyValue, E> {
        Ok(PropertyValue::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<PropertyValue, E> {
        Ok(PropertyValue::Number(n.into()))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<PropertyValue, E> {
        Ok(PropertyValue::Number(n.into()))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<PropertyValue, E> {
        serde_json::Number::from_f64(n)
            .map(PropertyValue::Number)
            .ok_or_else(|| E::custom("a number that is not finite"))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<PropertyValue, E> {
        Ok(PropertyValue::String(s.into()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<PropertyValue, E> {
        Ok(PropertyValue::String(s.into_boxed_str()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<PropertyValue, E> {
        Ok(PropertyValue::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<PropertyValue, E> {
        Ok(PropertyValue::Null)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<PropertyValue, A::Error> {
        let value = Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        Ok(PropertyValue::Json(Box::new(value)))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<PropertyValue, A::Error> {
        let value = Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(PropertyValue::Json(Box::new(value)))
    }
}

/// A feature's properties: an ordered map from names to JSON values, immutable once built.
///
/// ```
/// use citygrid::model::Properties;
/// use serde_json::json;
///
/// let object = json!({"status": "intact", "diameter_mm": 600});
/// let properties = Properties::from(object.as_object().unwrap().clone());
/// assert_eq!(properties["status"], "intact");
/// assert_eq!(properties["diameter_mm"], 600);
/// assert!(properties["absent"].is_null());
/// assert_eq!(serde_json::to_string(&properties).unwrap(), r#"{"status":"intact","diameter_mm":600}"#);
/// ```
#[derive(Clone, PartialEq)]
pub struct Properties {
    names: Names,
    values: Box<[PropertyValue]>,
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
    pub fn get(&self, name: &str) -> Option<&PropertyValue> {
        self.names
            .iter()
            .position(|n| &**n == name)
            .map(|i| &self.values[i])
    }

    /// The `i`-th name and value.
    pub fn get_index(&self, i: usize) -> Option<(&str, &PropertyValue)> {
        Some((self.names.get(i)?, self.values.get(i)?))
    }

    /// Whether the property `name` is present (it may be `null`).
    pub fn contains_key(&self, name: &str) -> bool {
        self.names.iter().any(|n| &**n == name)
    }

    /// The names and values, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &PropertyValue)> + Clone {
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
            .map(|(n, v)| (n.to_owned(), v.to_json()))
            .collect()
    }
}

impl From<Map<String, Value>> for Properties {
    fn from(map: Map<String, Value>) -> Self {
        NameCache::new().properties(map)
    }
}

impl std::ops::Index<&str> for Properties {
    type Output = PropertyValue;

    /// The value of `name`, or `null` when absent (as `serde_json::Value` indexes).
    fn index(&self, name: &str) -> &PropertyValue {
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
            values.extend(map.into_iter().map(|(_, v)| PropertyValue::from(v)));
            self.last.clone().expect("checked above")
        } else {
            let mut names = Vec::with_capacity(map.len());
            for (name, value) in map {
                names.push(name.into_boxed_str());
                values.push(PropertyValue::from(value));
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
            values.push(access.next_value::<PropertyValue>()?);
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
        assert_eq!(more["c"], json!(7));
        let from_map = cache.properties(map(&json!({"a": 9})));
        let again = cache.properties(map(&json!({"a": 10})));
        assert!(Arc::ptr_eq(&from_map.names, &again.names));
        assert_eq!(again["a"], 10);
    }

    #[test]
    fn values_keep_their_json_form_and_size() {
        assert_eq!(std::mem::size_of::<PropertyValue>(), 24);
        let value = json!({"i": -3, "u": 18_446_744_073_709_551_615_u64, "f": 0.1, "e": 1e300,
            "s": "x", "b": false, "n": null, "a": [1, {"k": "v"}], "o": {"z": 1, "a": 2}});
        let text = value.to_string();
        let parsed = NameCache::new().parse(&text).unwrap();
        assert_eq!(serde_json::to_string(&parsed).unwrap(), text);
        assert_eq!(parsed.to_map(), map(&value));
        assert_eq!(parsed["i"].as_i64(), Some(-3));
        assert_eq!(parsed["f"].as_f64(), Some(0.1));
        assert_eq!(parsed["b"].as_bool(), Some(false));
        assert_eq!(parsed["a"], json!([1, {"k": "v"}]));
    }

    #[test]
    fn text_that_is_not_an_object_is_refused() {
        let mut cache = NameCache::new();
        for bad in ["[1]", "{\"a\":}", "{\"a\":1} x", "", "null"] {
            assert!(cache.parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn property_numbers_read_and_write_back_bit_identical() {
        for text in [
            "113.68581234567891",
            "34.74712345678901",
            "0.30000000000000004",
            "5e-324",
            "1.7976931348623157e308",
            "-2.2250738585072014e-308",
            "2.718281828459045",
        ] {
            let value: PropertyValue = serde_json::from_str(text).unwrap();
            let PropertyValue::Number(n) = &value else {
                panic!("{text} is not a number")
            };
            let exact = text.parse::<f64>().unwrap();
            assert_eq!(n.as_f64().unwrap().to_bits(), exact.to_bits(), "{text}");
            let written = value.to_string();
            assert_eq!(
                written.parse::<f64>().unwrap().to_bits(),
                exact.to_bits(),
                "{text} → {written}"
            );
        }
    }
}
