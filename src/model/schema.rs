//! Property schemas: the typed description of a collection's properties, validation of incoming
//! properties against it, and its JSON Schema form (the queryables document and the import format).

use std::fmt::Write as _;
use std::sync::LazyLock;

use serde_json::{Map, Value, json};

/// The type of one property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyType {
    /// A JSON string.
    String,
    /// A JSON integer (no fraction).
    Integer,
    /// Any JSON number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// A calendar date as `YYYY-MM-DD`.
    Date,
    /// An RFC 3339 timestamp.
    DateTime,
    /// A JSON array of strings.
    StringList,
}

impl PropertyType {
    /// A short English description, used in error messages.
    pub fn describe(self) -> &'static str {
        match self {
            Self::String => "a string",
            Self::Integer => "an integer",
            Self::Number => "a number",
            Self::Boolean => "true or false",
            Self::Date => "a date YYYY-MM-DD",
            Self::DateTime => "an RFC 3339 date-time",
            Self::StringList => "an array of strings",
        }
    }

    /// Whether equality filters and sorting apply to this type.
    pub fn is_simple(self) -> bool {
        !matches!(self, Self::StringList)
    }
}

/// One allowed value of an enumerated property, with its labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumValue {
    /// The stored code, e.g. `damaged`.
    pub code: String,
    /// Chinese label, e.g. `破损`.
    pub zh: String,
    /// English label.
    pub en: String,
}

/// The schema of one property.
#[derive(Debug, Clone, PartialEq)]
pub struct PropertySchema {
    /// Property name in the GeoJSON `properties` object.
    pub name: String,
    /// Chinese title.
    pub title_zh: String,
    /// English title.
    pub title_en: String,
    /// Value type.
    pub ty: PropertyType,
    /// The property must be present and not null.
    pub required: bool,
    /// Allowed values (codes); empty means any value of the type.
    pub enumeration: Vec<EnumValue>,
    /// Inclusive lower bound for numbers.
    pub minimum: Option<f64>,
    /// Inclusive upper bound for numbers.
    pub maximum: Option<f64>,
    /// For strings made of digits: the allowed lengths.
    pub digit_lengths: Vec<usize>,
    /// Maximum length in characters for strings.
    pub max_length: Option<usize>,
    /// Computed by the server; a value given on input is ignored and replaced.
    pub computed: bool,
}

impl PropertySchema {
    /// A property with only a name, titles and a type; refine it with the builder methods.
    pub fn new(name: &str, title_zh: &str, title_en: &str, ty: PropertyType) -> Self {
        Self {
            name: name.to_owned(),
            title_zh: title_zh.to_owned(),
            title_en: title_en.to_owned(),
            ty,
            required: false,
            enumeration: Vec::new(),
            minimum: None,
            maximum: None,
            digit_lengths: Vec::new(),
            max_length: None,
            computed: false,
        }
    }

    /// Marks the property as required.
    #[must_use]
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Restricts the values to `values` given as `(code, 中文, English)`.
    #[must_use]
    pub fn one_of(mut self, values: &[(&str, &str, &str)]) -> Self {
        self.enumeration = values
            .iter()
            .map(|(code, zh, en)| EnumValue {
                code: (*code).to_owned(),
                zh: (*zh).to_owned(),
                en: (*en).to_owned(),
            })
            .collect();
        self
    }

    /// Restricts numbers to `[min, max]`.
    #[must_use]
    pub fn range(mut self, min: f64, max: f64) -> Self {
        self.minimum = Some(min);
        self.maximum = Some(max);
        self
    }

    /// Restricts strings to digits with one of `lengths`.
    #[must_use]
    pub fn digits(mut self, lengths: &[usize]) -> Self {
        self.digit_lengths = lengths.to_vec();
        self
    }

    /// Restricts the length of strings.
    #[must_use]
    pub fn max_len(mut self, max: usize) -> Self {
        self.max_length = Some(max);
        self
    }

    /// Marks the property as computed by the server.
    #[must_use]
    pub fn computed(mut self) -> Self {
        self.computed = true;
        self
    }

    /// What values are allowed, in words, for error messages.
    pub fn allowed(&self) -> String {
        let mut text = if self.enumeration.is_empty() {
            self.ty.describe().to_owned()
        } else {
            let codes: Vec<&str> = self.enumeration.iter().map(|v| v.code.as_str()).collect();
            format!("one of {}", codes.join(", "))
        };
        match (self.minimum, self.maximum) {
            (Some(min), Some(max)) => {
                let _ = write!(text, " from {min} to {max}");
            }
            (Some(min), None) => {
                let _ = write!(text, " ≥ {min}");
            }
            (None, Some(max)) => {
                let _ = write!(text, " ≤ {max}");
            }
            (None, None) => {}
        }
        if !self.digit_lengths.is_empty() {
            let lengths: Vec<String> = self.digit_lengths.iter().map(ToString::to_string).collect();
            let _ = write!(text, " of {} digits", lengths.join(" or "));
        }
        if let Some(max) = self.max_length {
            let _ = write!(text, " of at most {max} characters");
        }
        if !self.required {
            text.push_str(", or null");
        }
        text
    }

    /// Checks one value, null meaning absent, against this property.
    fn check_nullable(&self, value: &Value) -> Result<(), PropertyError> {
        if !value.is_null() {
            return self.check(value);
        }
        if self.required {
            return Err(PropertyError {
                property: self.name.clone(),
                problem: "missing or null".to_owned(),
                allowed: self.allowed(),
            });
        }
        Ok(())
    }

    /// Checks one value (not null) against this property.
    pub fn check(&self, value: &Value) -> Result<(), PropertyError> {
        let fail = || PropertyError::new(&self.name, value, self.allowed());
        let type_ok = match self.ty {
            PropertyType::String => value.is_string(),
            PropertyType::Integer => value.is_i64() || value.is_u64(),
            PropertyType::Number => value.is_number(),
            PropertyType::Boolean => value.is_boolean(),
            PropertyType::Date => value.as_str().is_some_and(is_date),
            PropertyType::DateTime => value.as_str().is_some_and(is_date_time),
            PropertyType::StringList => value
                .as_array()
                .is_some_and(|items| items.iter().all(Value::is_string)),
        };
        if !type_ok {
            return Err(fail());
        }
        if let Some(number) = value.as_f64()
            && (self.minimum.is_some_and(|min| number < min)
                || self.maximum.is_some_and(|max| number > max))
        {
            return Err(fail());
        }
        if let Some(text) = value.as_str() {
            if !self.enumeration.is_empty() && !self.enumeration.iter().any(|v| v.code == text) {
                return Err(fail());
            }
            let digits_ok = self.digit_lengths.contains(&text.len())
                && text.bytes().all(|b| b.is_ascii_digit());
            if !self.digit_lengths.is_empty() && !digits_ok {
                return Err(fail());
            }
            if self
                .max_length
                .is_some_and(|max| text.chars().count() > max)
            {
                return Err(fail());
            }
        }
        Ok(())
    }

    /// Parses `raw` (from a query string) as a value of this property, for equality filters.
    pub fn parse_text(&self, raw: &str) -> Result<Value, PropertyError> {
        let value = match self.ty {
            PropertyType::Integer => raw.parse::<i64>().map(Value::from).ok(),
            PropertyType::Number => raw
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .map(Value::from),
            PropertyType::Boolean => match raw {
                "true" => Some(Value::Bool(true)),
                "false" => Some(Value::Bool(false)),
                _ => None,
            },
            PropertyType::String | PropertyType::Date | PropertyType::DateTime => {
                Some(Value::String(raw.to_owned()))
            }
            PropertyType::StringList => None,
        };
        let value =
            value.ok_or_else(|| PropertyError::new(&self.name, &json!(raw), self.allowed()))?;
        self.check(&value)?;
        Ok(value)
    }
}

/// A property value that does not fit its schema, or a property the schema does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("property `{property}`: {problem}; allowed: {allowed}")]
pub struct PropertyError {
    /// The property's name.
    pub property: String,
    /// What was wrong, with the offending value.
    pub problem: String,
    /// What is allowed.
    pub allowed: String,
}

impl PropertyError {
    fn new(property: &str, value: &Value, allowed: String) -> Self {
        let mut shown = value.to_string();
        if shown.len() > 80 {
            let cut = (0..=80)
                .rev()
                .find(|&i| shown.is_char_boundary(i))
                .unwrap_or(0);
            shown.truncate(cut);
            shown.push('…');
        }
        Self {
            property: property.to_owned(),
            problem: format!("got {shown}"),
            allowed,
        }
    }
}

/// The property schema of a collection.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// Properties in display order.
    pub properties: Vec<PropertySchema>,
    /// Whether properties not listed are accepted (as they come).
    pub additional_properties: bool,
}

impl Schema {
    /// The schema of the property `name`, if listed.
    pub fn property(&self, name: &str) -> Option<&PropertySchema> {
        self.properties.iter().find(|p| p.name == name)
    }

    /// Validates `properties` and returns them in schema order with computed properties removed
    /// (the caller fills those in). Nulls are kept only for listed, optional properties.
    pub fn validate(
        &self,
        mut properties: Map<String, Value>,
    ) -> Result<Map<String, Value>, PropertyError> {
        // Properties that come exactly in schema order (as this service writes them) are checked
        // in place: rebuilding the map costs more than checking it.
        let listed = self.properties.iter().filter(|p| !p.computed);
        if properties.len() == listed.clone().count()
            && properties
                .keys()
                .zip(listed.clone())
                .all(|(k, p)| *k == p.name)
        {
            for (schema, value) in listed.zip(properties.values()) {
                schema.check_nullable(value)?;
            }
            return Ok(properties);
        }
        let mut out = Map::with_capacity(properties.len());
        for schema in &self.properties {
            let value = properties.remove(&schema.name).unwrap_or(Value::Null);
            if schema.computed {
                continue;
            }
            schema.check_nullable(&value)?;
            out.insert(schema.name.clone(), value);
        }
        if self.additional_properties {
            out.extend(properties);
        } else if let Some((name, value)) = properties.into_iter().next() {
            let names: Vec<&str> = self
                .properties
                .iter()
                .filter(|p| !p.computed)
                .map(|p| p.name.as_str())
                .collect();
            return Err(PropertyError {
                property: name,
                problem: format!("unknown property (value {value})"),
                allowed: format!("the properties {}", names.join(", ")),
            });
        }
        Ok(out)
    }

    /// The schema as a JSON Schema object (draft 2019-09), as served for queryables.
    ///
    /// `geometry` is the name and GeoJSON schema URL of the geometry queryable.
    pub fn to_json_schema(&self, title: &str, geometry: (&str, &str)) -> Value {
        let mut properties = Map::new();
        properties.insert(
            geometry.0.to_owned(),
            json!({ "$ref": geometry.1, "x-ogc-role": "primary-geometry" }),
        );
        for p in &self.properties {
            let mut entry = Map::new();
            entry.insert("title".into(), json!(p.title_en));
            if p.title_zh != p.title_en {
                entry.insert("x-title-zh".into(), json!(p.title_zh));
            }
            let nullable = !p.required;
            let (ty, format) = match p.ty {
                PropertyType::String => ("string", None),
                PropertyType::Integer => ("integer", None),
                PropertyType::Number => ("number", None),
                PropertyType::Boolean => ("boolean", None),
                PropertyType::Date => ("string", Some("date")),
                PropertyType::DateTime => ("string", Some("date-time")),
                PropertyType::StringList => ("array", None),
            };
            entry.insert("type".into(), json!(ty));
            if let Some(format) = format {
                entry.insert("format".into(), json!(format));
            }
            if p.ty == PropertyType::StringList {
                entry.insert("items".into(), json!({ "type": "string" }));
            }
            if !p.enumeration.is_empty() {
                let codes: Vec<&str> = p.enumeration.iter().map(|v| v.code.as_str()).collect();
                entry.insert("enum".into(), json!(codes));
                let labels: Map<String, Value> = p
                    .enumeration
                    .iter()
                    .map(|v| (v.code.clone(), json!({ "zh": v.zh, "en": v.en })))
                    .collect();
                entry.insert("x-enum-labels".into(), Value::Object(labels));
            }
            if let Some(min) = p.minimum {
                entry.insert("minimum".into(), json!(min));
            }
            if let Some(max) = p.maximum {
                entry.insert("maximum".into(), json!(max));
            }
            if let (Some(min), Some(max)) =
                (p.digit_lengths.iter().min(), p.digit_lengths.iter().max())
            {
                entry.insert("pattern".into(), json!(format!("^[0-9]{{{min},{max}}}$")));
            }
            if let Some(max) = p.max_length {
                entry.insert("maxLength".into(), json!(max));
            }
            if p.computed {
                entry.insert("readOnly".into(), json!(true));
            }
            if nullable {
                entry.insert("x-nullable".into(), json!(true));
            }
            properties.insert(p.name.clone(), Value::Object(entry));
        }
        let required: Vec<&str> = self
            .properties
            .iter()
            .filter(|p| p.required)
            .map(|p| p.name.as_str())
            .collect();
        json!({
            "$schema": "https://json-schema.org/draft/2019-09/schema",
            "type": "object",
            "title": title,
            "properties": properties,
            "required": required,
            "additionalProperties": self.additional_properties,
        })
    }

    /// Reads a JSON Schema object as written by [`Schema::to_json_schema`] or as in OGC queryables
    /// documents. Returns the schema and the geometry queryable's name and `$ref`, if one is given.
    #[expect(
        clippy::too_many_lines,
        reason = "one match per JSON Schema keyword, in order"
    )]
    pub fn from_json_schema(doc: &Value) -> Result<(Self, Option<(String, String)>), SchemaError> {
        let object = doc.as_object().ok_or(SchemaError::NotAnObject)?;
        let listed = object
            .get("properties")
            .and_then(Value::as_object)
            .ok_or(SchemaError::NoProperties)?;
        let required: Vec<&str> = object
            .get("required")
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut geometry = None;
        let mut properties = Vec::new();
        for (name, entry) in listed {
            if let Some(reference) = entry.get("$ref").and_then(Value::as_str) {
                if reference.starts_with("https://geojson.org/schema/") {
                    geometry = Some((name.clone(), reference.to_owned()));
                    continue;
                }
                return Err(SchemaError::Unsupported(
                    name.clone(),
                    format!("$ref {reference}"),
                ));
            }
            if entry.get("x-ogc-role").and_then(Value::as_str) == Some("primary-geometry")
                || entry
                    .get("format")
                    .and_then(Value::as_str)
                    .is_some_and(|f| f.starts_with("geometry-"))
            {
                let kind = entry
                    .get("format")
                    .and_then(Value::as_str)
                    .unwrap_or("geometry-any");
                geometry = Some((name.clone(), kind.to_owned()));
                continue;
            }
            let ty_name = match entry.get("type") {
                Some(Value::String(t)) => t.as_str(),
                Some(Value::Array(types)) => types
                    .iter()
                    .filter_map(Value::as_str)
                    .find(|t| *t != "null")
                    .unwrap_or("null"),
                _ => return Err(SchemaError::Unsupported(name.clone(), "no type".to_owned())),
            };
            let format = entry.get("format").and_then(Value::as_str);
            let ty = match (ty_name, format) {
                ("string", Some("date")) => PropertyType::Date,
                ("string", Some("date-time")) => PropertyType::DateTime,
                ("string", _) => PropertyType::String,
                ("integer", _) => PropertyType::Integer,
                ("number", _) => PropertyType::Number,
                ("boolean", _) => PropertyType::Boolean,
                ("array", _)
                    if entry.pointer("/items/type").and_then(Value::as_str) == Some("string") =>
                {
                    PropertyType::StringList
                }
                (other, _) => {
                    return Err(SchemaError::Unsupported(
                        name.clone(),
                        format!("type {other}"),
                    ));
                }
            };
            let title = entry.get("title").and_then(Value::as_str).unwrap_or(name);
            let title_zh = entry
                .get("x-title-zh")
                .and_then(Value::as_str)
                .unwrap_or(title);
            let mut property = PropertySchema::new(name, title_zh, title, ty);
            property.required = required.contains(&name.as_str());
            if let Some(values) = entry.get("enum").and_then(Value::as_array) {
                property.enumeration = values
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|code| {
                        let label = |lang: &str| {
                            entry
                                .pointer(&format!("/x-enum-labels/{code}/{lang}"))
                                .and_then(Value::as_str)
                                .unwrap_or(code)
                                .to_owned()
                        };
                        EnumValue {
                            code: code.to_owned(),
                            zh: label("zh"),
                            en: label("en"),
                        }
                    })
                    .collect();
            }
            property.minimum = entry.get("minimum").and_then(Value::as_f64);
            property.maximum = entry.get("maximum").and_then(Value::as_f64);
            property.max_length = entry
                .get("maxLength")
                .and_then(Value::as_u64)
                .and_then(|n| usize::try_from(n).ok());
            property.computed = entry
                .get("readOnly")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            properties.push(property);
        }
        let additional_properties = object
            .get("additionalProperties")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        Ok((
            Self {
                properties,
                additional_properties,
            },
            geometry,
        ))
    }

    /// Infers a schema from sample property objects: the narrowest type that fits every non-null
    /// value of each property (integer ⊂ number; date and date-time strings recognised). No
    /// property is required and additional properties are refused.
    pub fn infer<'a>(
        samples: impl IntoIterator<Item = &'a Map<String, Value>>,
    ) -> Result<Self, SchemaError> {
        let mut seen: Vec<(String, Option<PropertyType>)> = Vec::new();
        for properties in samples {
            for (name, value) in properties {
                let position = if let Some(i) = seen.iter().position(|(n, _)| n == name) {
                    i
                } else {
                    seen.push((name.clone(), None));
                    seen.len() - 1
                };
                if value.is_null() {
                    continue;
                }
                let ty = value_type(value).ok_or_else(|| {
                    SchemaError::Unsupported(name.clone(), format!("value {value}"))
                })?;
                let merged = match seen[position].1 {
                    None => ty,
                    Some(previous) => merge_types(previous, ty).ok_or_else(|| {
                        SchemaError::Mixed(name.clone(), previous.describe(), ty.describe())
                    })?,
                };
                seen[position].1 = Some(merged);
            }
        }
        let properties = seen
            .into_iter()
            .map(|(name, ty)| {
                PropertySchema::new(&name, &name, &name, ty.unwrap_or(PropertyType::String))
            })
            .collect();
        Ok(Self {
            properties,
            additional_properties: false,
        })
    }
}

fn value_type(value: &Value) -> Option<PropertyType> {
    Some(match value {
        Value::Bool(_) => PropertyType::Boolean,
        Value::Number(n) if n.is_i64() || n.is_u64() => PropertyType::Integer,
        Value::Number(_) => PropertyType::Number,
        Value::String(s) if is_date(s) => PropertyType::Date,
        Value::String(s) if is_date_time(s) => PropertyType::DateTime,
        Value::String(_) => PropertyType::String,
        Value::Array(items) if items.iter().all(Value::is_string) => PropertyType::StringList,
        _ => return None,
    })
}

fn merge_types(a: PropertyType, b: PropertyType) -> Option<PropertyType> {
    use PropertyType::{Date, DateTime, Integer, Number, String};
    match (a, b) {
        _ if a == b => Some(a),
        (Integer, Number) | (Number, Integer) => Some(Number),
        (String | Date | DateTime, String | Date | DateTime) => Some(String),
        _ => None,
    }
}

/// Whether `text` is a calendar date `YYYY-MM-DD`.
pub fn is_date(text: &str) -> bool {
    // `NaiveDate::parse_from_str` with the format compiled once, not on every call.
    static FORMAT: LazyLock<Vec<chrono::format::Item<'static>>> = LazyLock::new(|| {
        chrono::format::StrftimeItems::new("%Y-%m-%d")
            .parse_to_owned()
            .expect("a valid date format")
    });
    if text.len() != 10 {
        return false;
    }
    let mut parsed = chrono::format::Parsed::new();
    chrono::format::parse(&mut parsed, text, FORMAT.iter()).is_ok()
        && parsed.to_naive_date().is_ok()
}

/// Whether `text` is an RFC 3339 date-time.
pub fn is_date_time(text: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(text).is_ok()
}

/// A JSON Schema this service cannot use as a property schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// The document is not a JSON object.
    #[error("the schema is not a JSON object")]
    NotAnObject,
    /// The document has no `properties` object.
    #[error("the schema has no \"properties\" object")]
    NoProperties,
    /// A property uses a construct outside the supported subset.
    #[error(
        "property `{0}`: unsupported {1} (supported: string, integer, number, boolean, date, date-time, array of strings, enum, minimum, maximum, maxLength)"
    )]
    Unsupported(String, String),
    /// Values of one property have incompatible types.
    #[error("property `{0}` mixes {1} and {2}")]
    Mixed(String, &'static str, &'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status() -> PropertySchema {
        PropertySchema::new("status", "状态", "status", PropertyType::String)
            .one_of(&[("intact", "完好", "intact"), ("damaged", "破损", "damaged")])
            .required()
    }

    fn schema() -> Schema {
        Schema {
            properties: vec![
                status(),
                PropertySchema::new("diameter_mm", "直径", "diameter", PropertyType::Integer)
                    .range(100.0, 3000.0),
                PropertySchema::new("area_m2", "面积", "area", PropertyType::Number).computed(),
            ],
            additional_properties: false,
        }
    }

    fn props(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn a_value_outside_the_enumeration_names_the_property_and_the_allowed_values() {
        let err = schema()
            .validate(props(json!({"status": "broken"})))
            .unwrap_err();
        assert_eq!(err.property, "status");
        assert!(err.allowed.contains("intact, damaged"), "{err}");
        assert!(err.problem.contains("broken"));
    }

    #[test]
    fn an_unknown_property_is_refused() {
        let err = schema()
            .validate(props(json!({"status": "intact", "colour": "red"})))
            .unwrap_err();
        assert_eq!(err.property, "colour");
        assert!(err.allowed.contains("status"));
    }

    #[test]
    fn a_wrong_type_and_an_out_of_range_number_are_refused() {
        assert!(
            schema()
                .validate(props(json!({"status": "intact", "diameter_mm": "700"})))
                .is_err()
        );
        assert!(
            schema()
                .validate(props(json!({"status": "intact", "diameter_mm": 7.5})))
                .is_err()
        );
        assert!(
            schema()
                .validate(props(json!({"status": "intact", "diameter_mm": 50})))
                .is_err()
        );
        assert!(
            schema()
                .validate(props(json!({"status": "intact", "diameter_mm": 700})))
                .is_ok()
        );
    }

    #[test]
    fn a_missing_required_property_is_refused_and_optional_ones_become_null() {
        assert_eq!(
            schema().validate(props(json!({}))).unwrap_err().problem,
            "missing or null"
        );
        let ok = schema()
            .validate(props(json!({"status": "intact"})))
            .unwrap();
        assert_eq!(ok.get("diameter_mm"), Some(&Value::Null));
    }

    #[test]
    fn properties_in_schema_order_or_not_validate_to_the_same_map_and_errors() {
        let in_order = props(json!({"status": "intact", "diameter_mm": 700}));
        let shuffled = props(json!({"diameter_mm": 700, "status": "intact"}));
        let a = schema().validate(in_order).unwrap();
        let b = schema().validate(shuffled).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.keys().collect::<Vec<_>>(), vec!["status", "diameter_mm"]);
        let nulls = props(json!({"status": "intact", "diameter_mm": null}));
        assert_eq!(
            schema().validate(nulls).unwrap().get("diameter_mm"),
            Some(&Value::Null)
        );
        for bad in [
            json!({"status": "broken", "diameter_mm": 7}),
            json!({"diameter_mm": 7, "status": "broken"}),
        ] {
            assert_eq!(
                schema().validate(props(bad)).unwrap_err().property,
                "status"
            );
        }
        let missing = props(json!({"status": null, "diameter_mm": 700}));
        assert_eq!(
            schema().validate(missing).unwrap_err().problem,
            "missing or null"
        );
    }

    #[test]
    fn computed_properties_on_input_are_dropped() {
        let ok = schema()
            .validate(props(json!({"status": "intact", "area_m2": 1})))
            .unwrap();
        assert!(!ok.contains_key("area_m2"));
    }

    #[test]
    fn dates_must_be_real_calendar_days() {
        let date = PropertySchema::new("d", "d", "d", PropertyType::Date);
        assert!(date.check(&json!("2024-02-29")).is_ok());
        assert!(date.check(&json!("2023-02-29")).is_err());
        assert!(date.check(&json!("2024-2-1")).is_err());
        assert!(date.check(&json!("2024-02-1x")).is_err());
        assert!(date.check(&json!("2024-13-01")).is_err());
        assert!(is_date("1967-11-23") && !is_date("1967-11-23T00:00:00Z"));
    }

    #[test]
    fn digit_strings_must_have_an_allowed_length() {
        let code =
            PropertySchema::new("code", "编码", "code", PropertyType::String).digits(&[6, 9]);
        assert!(code.check(&json!("410104")).is_ok());
        assert!(code.check(&json!("4101040")).is_err());
        assert!(code.check(&json!("41010a")).is_err());
    }

    #[test]
    fn the_json_schema_form_reads_back_to_the_same_schema() {
        let original = schema();
        let doc =
            original.to_json_schema("t", ("geometry", "https://geojson.org/schema/Point.json"));
        let (read, geometry) = Schema::from_json_schema(&doc).unwrap();
        assert_eq!(read, original);
        assert_eq!(geometry.unwrap().0, "geometry");
    }

    #[test]
    fn inference_widens_integers_to_numbers_and_refuses_mixed_types() {
        let a = props(json!({"n": 1, "d": "2024-01-01", "s": null}));
        let b = props(json!({"n": 1.5, "d": "2024-01-02", "s": "x"}));
        let inferred = Schema::infer([&a, &b]).unwrap();
        assert_eq!(inferred.property("n").unwrap().ty, PropertyType::Number);
        assert_eq!(inferred.property("d").unwrap().ty, PropertyType::Date);
        assert_eq!(inferred.property("s").unwrap().ty, PropertyType::String);
        let c = props(json!({"n": "one"}));
        assert!(matches!(
            Schema::infer([&a, &c]),
            Err(SchemaError::Mixed(..))
        ));
    }

    #[test]
    fn filter_text_is_parsed_by_the_property_type() {
        let s = schema();
        let diameter = s.property("diameter_mm").unwrap();
        assert_eq!(diameter.parse_text("700").unwrap(), json!(700));
        assert!(diameter.parse_text("abc").is_err());
        assert!(s.property("status").unwrap().parse_text("nope").is_err());
    }
}
