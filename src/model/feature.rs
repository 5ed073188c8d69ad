//! Features: a validated new feature on its way in, and a stored feature with its cached GeoJSON.

use std::sync::OnceLock;

use chrono::{DateTime, SecondsFormat, Utc};
use geo::{BoundingRect, Geometry, Rect};
use serde_json::{Map, Value};

use super::ids::FeatureId;
use super::properties::Properties;

/// A validated feature not yet stored: WGS84 geometry, properties checked against the schema.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFeature {
    /// The id given on input; the store assigns one when absent.
    pub id: Option<FeatureId>,
    /// WGS84 geometry.
    pub geometry: Geometry<f64>,
    /// Properties in schema order, computed ones filled in.
    pub properties: Map<String, Value>,
}

/// A stored feature, immutable; an edit makes a new one with a higher version.
#[derive(Debug, Clone)]
pub struct Feature {
    /// The store's internal integer key (stable; used for ordering and tile feature ids).
    pub fid: i64,
    /// The public id, unique in its collection.
    pub id: FeatureId,
    /// WGS84 geometry.
    pub geometry: Geometry<f64>,
    /// Properties, in schema order.
    pub properties: Properties,
    /// Starts at 1, +1 on every change.
    pub version: i64,
    /// When the feature was first stored.
    pub created_at: DateTime<Utc>,
    /// When the feature was last changed.
    pub updated_at: DateTime<Utc>,
    /// Bounding rectangle of the geometry (`None` only for empty geometries).
    pub bbox: Option<Rect<f64>>,
    /// The GeoJSON text and its entity tag, written on first use: most features of a large
    /// collection are never served one by one, and the text is as large as the rest of the feature.
    cached: OnceLock<Box<Cached>>,
}

/// A feature's serialised form, computed once.
#[derive(Debug, Clone)]
struct Cached {
    json: Box<str>,
    etag: Box<str>,
}

impl Feature {
    /// Builds a stored feature; its GeoJSON text and entity tag are written on first use.
    pub fn new(
        fid: i64,
        id: FeatureId,
        geometry: Geometry<f64>,
        properties: impl Into<Properties>,
        version: i64,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    ) -> Self {
        let bbox = geometry.bounding_rect();
        Self {
            fid,
            id,
            geometry,
            properties: properties.into(),
            version,
            created_at,
            updated_at,
            bbox,
            cached: OnceLock::new(),
        }
    }

    /// The feature as a GeoJSON `Feature` object (compact JSON text), written on first use.
    pub fn json(&self) -> &str {
        &self.cached().json
    }

    /// A strong entity tag of the GeoJSON text, quoted as HTTP wants it.
    pub fn etag(&self) -> &str {
        &self.cached().etag
    }

    fn cached(&self) -> &Cached {
        self.cached.get_or_init(|| {
            let json = feature_json(&self.id, &self.geometry, &self.properties);
            let etag = format!("\"{:016x}\"", xxhash_rust::xxh3::xxh3_64(json.as_bytes()))
                .into_boxed_str();
            Box::new(Cached { json, etag })
        })
    }

    /// `updated_at` as RFC 3339.
    pub fn updated_at_text(&self) -> String {
        self.updated_at.to_rfc3339_opts(SecondsFormat::Secs, true)
    }
}

/// Serialises one feature as a GeoJSON `Feature` object.
pub fn feature_json(
    id: &FeatureId,
    geometry: &Geometry<f64>,
    properties: &(impl serde::Serialize + ?Sized),
) -> Box<str> {
    let geometry = geojson::Geometry::new(geojson::Value::from(geometry));
    let mut out = String::with_capacity(256);
    out.push_str("{\"type\":\"Feature\",\"id\":");
    out.push_str(&Value::String(id.as_str().to_owned()).to_string());
    out.push_str(",\"geometry\":");
    out.push_str(&serde_json::to_string(&geometry).unwrap_or_else(|_| "null".to_owned()));
    out.push_str(",\"properties\":");
    out.push_str(&serde_json::to_string(properties).unwrap_or_else(|_| "{}".to_owned()));
    out.push('}');
    out.into_boxed_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::point;

    #[test]
    fn the_cached_json_is_a_geojson_feature_with_the_id_and_properties() {
        let mut properties = Map::new();
        properties.insert("status".into(), Value::from("intact"));
        let now = Utc::now();
        let f = Feature::new(
            7,
            FeatureId::parse("m-1").unwrap(),
            point!(x: 113.7, y: 34.7).into(),
            properties,
            1,
            now,
            now,
        );
        let parsed: Value = serde_json::from_str(f.json()).unwrap();
        assert_eq!(parsed["id"], "m-1");
        assert_eq!(parsed["geometry"]["coordinates"][0], 113.7);
        assert_eq!(parsed["properties"]["status"], "intact");
        assert!(f.etag().starts_with('"') && f.etag().len() == 18);
    }
}
