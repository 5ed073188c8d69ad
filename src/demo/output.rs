//! Building `GeoJSON` features (properties in a fixed order, geometry rounded to 7 decimals,
//! `synthetic: true` on every feature) and writing layers as line-per-feature files.

use std::io::Write;
use std::path::Path;

use geo::{Coord, MultiPolygon};
use geojson::{Feature, Geometry, JsonObject, Value, feature::Id};
use rand::Rng;
use serde_json::Value as Json;

use super::DemoError;
use super::geom::round7;

/// Properties of one feature in insertion order.
#[derive(Debug)]
pub(crate) struct Props(JsonObject);

impl Props {
    /// An empty property list with room for the usual dozen properties.
    pub(crate) fn new() -> Self {
        Self(JsonObject::with_capacity(12))
    }

    /// Adds a string property.
    pub(crate) fn text(mut self, key: &str, value: impl Into<String>) -> Self {
        self.0.insert(key.to_owned(), Json::String(value.into()));
        self
    }

    /// Adds a string property or `null`.
    pub(crate) fn opt_text(mut self, key: &str, value: Option<String>) -> Self {
        self.0
            .insert(key.to_owned(), value.map_or(Json::Null, Json::String));
        self
    }

    /// Adds an integer property.
    pub(crate) fn int(mut self, key: &str, value: i64) -> Self {
        self.0.insert(key.to_owned(), Json::from(value));
        self
    }

    /// Adds a number property, rounded to `decimals` places.
    pub(crate) fn number(mut self, key: &str, value: f64, decimals: i32) -> Self {
        let factor = 10f64.powi(decimals);
        let rounded = (value * factor).round() / factor;
        self.0.insert(
            key.to_owned(),
            serde_json::Number::from_f64(rounded).map_or(Json::Null, Json::Number),
        );
        self
    }

    /// Adds an array of strings.
    pub(crate) fn texts(mut self, key: &str, values: Vec<String>) -> Self {
        self.0.insert(
            key.to_owned(),
            Json::Array(values.into_iter().map(Json::String).collect()),
        );
        self
    }

    /// Adds `synthetic: true` and returns the object.
    pub(crate) fn finish(mut self) -> JsonObject {
        self.0.insert("synthetic".to_owned(), Json::Bool(true));
        self.0
    }
}

/// A feature with a string id.
pub(crate) fn feature(id: String, geometry: Value, properties: Props) -> Feature {
    Feature {
        bbox: None,
        geometry: Some(Geometry::new(geometry)),
        id: Some(Id::String(id)),
        properties: Some(properties.finish()),
        foreign_members: None,
    }
}

/// A `GeoJSON` position rounded to 7 decimals.
fn position(c: Coord) -> Vec<f64> {
    vec![round7(c.x), round7(c.y)]
}

/// A point geometry.
pub(crate) fn point_value(c: Coord) -> Value {
    Value::Point(position(c))
}

/// A `LineString` for one piece, a `MultiLineString` for several.
pub(crate) fn lines_value(pieces: &[Vec<Coord>]) -> Value {
    let mut lines: Vec<Vec<Vec<f64>>> = pieces
        .iter()
        .map(|p| p.iter().map(|c| position(*c)).collect())
        .collect();
    if lines.len() == 1 {
        Value::LineString(lines.remove(0))
    } else {
        Value::MultiLineString(lines)
    }
}

/// A `Polygon` for one part, a `MultiPolygon` for several.
pub(crate) fn polygons_value(shape: &MultiPolygon) -> Value {
    let mut polygons: Vec<Vec<Vec<Vec<f64>>>> = shape
        .iter()
        .map(|p| {
            std::iter::once(p.exterior())
                .chain(p.interiors())
                .map(|ring| ring.coords().map(|c| position(*c)).collect())
                .collect()
        })
        .collect();
    if polygons.len() == 1 {
        Value::Polygon(polygons.remove(0))
    } else {
        Value::MultiPolygon(polygons)
    }
}

/// A date "YYYY-MM-DD".
pub(crate) fn date(year: i32, month: u32, day: u32) -> String {
    format!("{year:04}-{month:02}-{day:02}")
}

/// A random date within the years `from..=to` (days 1–28, so every month has them).
pub(crate) fn random_date(rng: &mut impl Rng, from: i32, to: i32) -> String {
    let year = rng.random_range(from..=to.max(from));
    date(year, rng.random_range(1..=12), rng.random_range(1..=28))
}

/// Writes one layer as a `FeatureCollection` with one feature per line.
pub(crate) fn write_layer(path: &Path, features: &[Feature]) -> Result<(), DemoError> {
    let io_error = |source| DemoError::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::create(path).map_err(io_error)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    out.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[\n")
        .map_err(io_error)?;
    for (i, f) in features.iter().enumerate() {
        if i > 0 {
            out.write_all(b",\n").map_err(io_error)?;
        }
        serde_json::to_writer(&mut out, f).map_err(|e| io_error(e.into()))?;
    }
    out.write_all(b"\n]}\n").map_err(io_error)?;
    out.flush().map_err(io_error)
}
