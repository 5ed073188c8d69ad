//! What each layer puts in a tile, by zoom: from which zoom a layer (and each class of its
//! features) appears, how many features a tile may hold below the zoom where the layer is
//! complete, and which properties go with each feature.
//!
//! | layer | appears | by class | complete from | properties |
//! | --- | --- | --- | --- | --- |
//! | `grid_cells` | z0 | `level`: district z0, street z10, community z12, grid z14 | z14 | all |
//! | `roads` | z10 | `class`: arterial z10, secondary z11, branch z13, alley z14 | z14 | all |
//! | `pipelines` | z13 | — | z13 | id, kind, condition, material, diameter, pressure class, install year, renovated on, road name |
//! | `manholes` | z13 | `status`: every status but intact z13 (the defects a command centre watches), intact z15 | z15 | id, component code, kind, status, last inspected on, rectified on |
//! | `parks` | z10 | `kind`: comprehensive z10, community z12, pocket z13 | z13 | all |
//! | `renovation_areas` | z10 | — | z10 | all |
//! | `facilities` | z12 | `kind`: hospital and school z12, others z14 | z14 | all |
//! | an analyst's layer | z10 | — | z14 | all |
//!
//! "Complete" means that from that zoom on every feature touching a tile is in it: no class is
//! held back and no cap applies. Below it a tile holds at most [`LayerRules::cap`] features of
//! the layer, the most important first (lower class zoom, then larger extent, then key order),
//! so that low-zoom tiles stay small. Every tile also carries the feature's public `id` (for
//! `/collections/{c}/items/{id}`), and its integer key as the MVT feature id. String lists (grid
//! workers) are written as JSON text, as tippecanoe does; nulls are left out.

use std::fmt::Write as _;

use crate::model::layers::Layer;
use crate::model::schema::PropertyType;
use crate::model::{CollectionDef, Feature};

/// The deepest zoom where tiles gain detail; clients overzoom beyond it.
pub const MAX_DETAIL_ZOOM: u8 = 18;

/// The cap of features per layer and tile below the zoom where a layer is complete.
pub const DEFAULT_CAP: usize = 4_000;

/// Where a property of a feature goes in a tile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The feature's public id.
    Id,
    /// A property of the feature, of this type.
    Property(PropertyType),
}

/// One property written into tiles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The key in the tile.
    pub name: String,
    /// Where the value comes from.
    pub source: Source,
    /// "中文 English" title, for TileJSON.
    pub title: String,
}

impl Field {
    /// The TileJSON type word: `String`, `Number` or `Boolean`.
    pub fn type_name(&self) -> &'static str {
        match self.source {
            Source::Property(PropertyType::Integer | PropertyType::Number) => "Number",
            Source::Property(PropertyType::Boolean) => "Boolean",
            _ => "String",
        }
    }
}

/// From which zoom the features of each value of one property appear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classes {
    /// The property.
    pub property: &'static str,
    /// Values and their first zoom.
    pub from: &'static [(&'static str, u8)],
    /// The first zoom of the other values (and of features without the property).
    pub other: u8,
}

/// What one layer puts into tiles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerRules {
    /// Below this zoom the layer is absent.
    pub min_zoom: u8,
    /// From this zoom on every feature is in the tiles it touches (no class filter, no cap).
    pub complete_zoom: u8,
    /// At most this many features per tile below `complete_zoom`.
    pub cap: usize,
    /// Classes that appear later than the layer.
    pub classes: Option<Classes>,
    /// The properties written.
    pub fields: Vec<Field>,
}

impl LayerRules {
    /// The rules of a collection: built-in layers as in the module table, analysts' layers from
    /// z10, complete from z14, with every property.
    pub fn of(def: &CollectionDef) -> Self {
        let (min_zoom, complete_zoom, classes, selected): (u8, u8, Option<Classes>, &[&str]) =
            match def.layer {
                Some(Layer::GridCells) => (
                    0,
                    14,
                    Some(Classes {
                        property: "level",
                        from: &[("district", 0), ("street", 10), ("community", 12)],
                        other: 14,
                    }),
                    &[],
                ),
                Some(Layer::Roads) => (
                    10,
                    14,
                    Some(Classes {
                        property: "class",
                        from: &[("arterial", 10), ("secondary", 11), ("branch", 13)],
                        other: 14,
                    }),
                    &[],
                ),
                Some(Layer::Pipelines) => (
                    13,
                    13,
                    None,
                    &[
                        "kind",
                        "condition",
                        "material",
                        "diameter_mm",
                        "pressure_class",
                        "install_year",
                        "renovated_on",
                        "road_name",
                    ],
                ),
                Some(Layer::Manholes) => (
                    13,
                    15,
                    Some(Classes {
                        property: "status",
                        from: &[("intact", 15)],
                        other: 13,
                    }),
                    &[
                        "component_code",
                        "kind",
                        "status",
                        "last_inspected_on",
                        "rectified_on",
                    ],
                ),
                Some(Layer::Parks) => (
                    10,
                    13,
                    Some(Classes {
                        property: "kind",
                        from: &[("comprehensive", 10), ("community", 12)],
                        other: 13,
                    }),
                    &[],
                ),
                Some(Layer::RenovationAreas) => (10, 10, None, &[]),
                Some(Layer::Facilities) => (
                    12,
                    14,
                    Some(Classes {
                        property: "kind",
                        from: &[("hospital", 12), ("school", 12)],
                        other: 14,
                    }),
                    &[],
                ),
                None => (10, 14, None, &[]),
            };
        let mut fields = Vec::new();
        if def.schema.property("id").is_none() {
            fields.push(Field {
                name: "id".into(),
                source: Source::Id,
                title: "标识 id".into(),
            });
        }
        for p in &def.schema.properties {
            if selected.is_empty() || selected.contains(&p.name.as_str()) {
                fields.push(Field {
                    name: p.name.clone(),
                    source: Source::Property(p.ty),
                    title: format!("{} {}", p.title_zh, p.title_en),
                });
            }
        }
        Self {
            min_zoom,
            complete_zoom,
            cap: DEFAULT_CAP,
            classes,
            fields,
        }
    }

    /// The zoom from which `feature` appears.
    pub fn zoom_of(&self, feature: &Feature) -> u8 {
        let Some(classes) = &self.classes else {
            return self.min_zoom;
        };
        let value = feature
            .properties
            .get(classes.property)
            .and_then(crate::model::PropertyValue::as_str);
        let zoom = value
            .and_then(|v| classes.from.iter().find(|(name, _)| *name == v))
            .map_or(classes.other, |&(_, z)| z);
        zoom.max(self.min_zoom)
    }

    /// The zoom rules in words, for TileJSON and tileset metadata.
    pub fn describe(&self) -> String {
        let mut text = format!("from z{}", self.min_zoom);
        if let Some(classes) = &self.classes {
            let by: Vec<String> = classes
                .from
                .iter()
                .map(|(v, z)| format!("{v} z{z}"))
                .collect();
            let _ = write!(
                text,
                "; by {}: {}, others z{}",
                classes.property,
                by.join(", "),
                classes.other
            );
        }
        if self.complete_zoom > self.min_zoom {
            let _ = write!(
                text,
                "; at most {} features per tile below z{}, complete from z{}",
                self.cap, self.complete_zoom, self.complete_zoom
            );
        }
        text
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

    fn rules(id: &str) -> LayerRules {
        LayerRules::of(&builtin().into_iter().find(|d| d.id.as_str() == id).unwrap())
    }

    fn feature(property: &str, value: &str) -> Feature {
        let mut properties = serde_json::Map::new();
        properties.insert(property.into(), Json::from(value));
        Feature::new(
            1,
            FeatureId::parse("f").unwrap(),
            point!(x: 113.7, y: 34.7).into(),
            properties,
            1,
            Utc::now(),
            Utc::now(),
        )
    }

    #[test]
    fn grid_cells_appear_level_by_level() {
        let r = rules("grid_cells");
        let zooms = ["district", "street", "community", "grid"]
            .map(|level| r.zoom_of(&feature("level", level)));
        assert_eq!(zooms, [0, 10, 12, 14]);
        assert_eq!(r.complete_zoom, 14);
    }

    #[test]
    fn defective_manholes_appear_before_intact_ones_and_all_are_in_from_z15() {
        let r = rules("manholes");
        assert_eq!(r.zoom_of(&feature("status", "damaged")), 13);
        assert_eq!(r.zoom_of(&feature("status", "intact")), 15);
        assert_eq!(r.complete_zoom, 15);
        let names: Vec<&str> = r.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "id",
                "component_code",
                "kind",
                "status",
                "last_inspected_on",
                "rectified_on"
            ]
        );
    }

    #[test]
    fn no_class_appears_after_the_layer_is_complete() {
        for def in builtin() {
            let r = LayerRules::of(&def);
            if let Some(c) = &r.classes {
                let latest = c.from.iter().map(|(_, z)| *z).max().unwrap_or(0);
                assert!(latest.max(c.other) <= r.complete_zoom, "{}", def.id);
            }
            assert!(r.min_zoom <= r.complete_zoom && r.complete_zoom <= MAX_DETAIL_ZOOM);
        }
    }

    #[test]
    fn small_layers_carry_every_property_with_its_type() {
        let r = rules("parks");
        let area = r.fields.iter().find(|f| f.name == "area_m2").unwrap();
        assert_eq!(area.type_name(), "Number");
        assert_eq!(r.fields.len(), 1 + 6);
        assert!(
            r.describe().contains("complete from z13"),
            "{}",
            r.describe()
        );
    }
}
