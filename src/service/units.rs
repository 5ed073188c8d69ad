//! The registry of units (责任单位): the responsible units the grid cells name (the layer's
//! `responsible_unit`, every level, retired cells included) and the units an administrator
//! registered, each with the number of active handlers holding it. Cases are dispatched and
//! handlers assigned only to units known here.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use serde::Serialize;
use serde_json::json;

use crate::model::Feature;
use crate::model::audit::AuditEntry;
use crate::model::layers::Layer;
use crate::model::unit::{near_matches, unit_name};
use crate::service::Catalog;
use crate::store::StoreError;
use crate::store::units::{RegisteredUnit, UnitStore};

/// A unit as listed at `GET /units`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unit {
    /// Its name: what a dispatch's `unit` and a handler's unit name.
    pub name: String,
    /// The grid cells naming it as their responsible unit (codes, sorted; empty if none).
    pub cells: Vec<String>,
    /// Whether an administrator registered it.
    pub registered: bool,
    /// How many enabled handlers hold it.
    pub active_handlers: u32,
}

impl Unit {
    /// Whether an active handler can act on what is dispatched to it.
    pub fn staffed(&self) -> bool {
        self.active_handlers > 0
    }
}

/// Why a unit was refused.
#[derive(Debug, thiserror::Error)]
pub enum UnitError {
    /// The name is empty, too long or has control characters.
    #[error("{0}")]
    Invalid(String),
    /// No grid cell names the unit and nobody registered it.
    #[error("unknown unit {unit:?}; GET /units (or `citygrid unit list`) lists the known ones{}", near_text(.near))]
    Unknown {
        /// The name given.
        unit: String,
        /// Known names close to it.
        near: Vec<String>,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn near_text(near: &[String]) -> String {
    if near.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", near.join(" / "))
    }
}

/// The responsible units named by grid cells, each with the codes of the cells naming it.
pub fn grid_units<'a>(
    cells: impl IntoIterator<Item = &'a Feature>,
) -> BTreeMap<String, Vec<String>> {
    let mut units: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for cell in cells {
        let text = |key: &str| cell.properties.get(key).and_then(|v| v.as_str());
        let Some(unit) = text("responsible_unit")
            .map(str::trim)
            .filter(|u| !u.is_empty())
        else {
            continue;
        };
        let codes = units.entry(unit.to_owned()).or_default();
        if let Some(code) = text("code") {
            codes.push(code.to_owned());
        }
    }
    for codes in units.values_mut() {
        codes.sort_unstable();
        codes.dedup();
    }
    units
}

/// The units of the catalogue's grid layer (none without one).
pub fn catalog_grid_units(catalog: &Catalog) -> BTreeMap<String, Vec<String>> {
    catalog
        .collections()
        .into_iter()
        .find(|c| c.def.layer == Some(Layer::GridCells))
        .map_or_else(BTreeMap::new, |c| {
            grid_units(c.index.iter().map(AsRef::as_ref))
        })
}

/// Every known unit, by name: the grid's units and the registered ones, with their handlers.
pub async fn units(
    grid: BTreeMap<String, Vec<String>>,
    store: &dyn UnitStore,
) -> Result<Vec<Unit>, StoreError> {
    let handlers = store.active_handlers().await?;
    let mut all: BTreeMap<String, Unit> = grid
        .into_iter()
        .map(|(name, cells)| {
            (
                name.clone(),
                Unit {
                    active_handlers: handlers.get(&name).copied().unwrap_or(0),
                    name,
                    cells,
                    registered: false,
                },
            )
        })
        .collect();
    for unit in store.registered_units().await? {
        all.entry(unit.name.clone())
            .or_insert_with(|| Unit {
                active_handlers: handlers.get(&unit.name).copied().unwrap_or(0),
                name: unit.name.clone(),
                cells: Vec::new(),
                registered: true,
            })
            .registered = true;
    }
    Ok(all.into_values().collect())
}

/// The known unit named `raw` (trimmed), or [`UnitError::Unknown`] listing near matches.
pub async fn known_unit(
    grid: BTreeMap<String, Vec<String>>,
    store: &dyn UnitStore,
    raw: &str,
) -> Result<Unit, UnitError> {
    let name = unit_name(raw).map_err(UnitError::Invalid)?;
    let all = units(grid, store).await?;
    if let Some(unit) = all.iter().find(|u| u.name == name) {
        return Ok(unit.clone());
    }
    Err(UnitError::Unknown {
        near: near_matches(&name, all.iter().map(|u| u.name.as_str())),
        unit: name,
    })
}

/// The active handlers per unit (for the workflow's stranded-case check).
pub async fn active_handlers(store: &dyn UnitStore) -> Result<HashMap<String, u32>, StoreError> {
    store.active_handlers().await
}

/// Registers a unit (audited as `unit.add` by `actor`, none for the command line); returns
/// whether it was new. A unit a grid cell names may be registered too (it then stays known
/// whatever the grid becomes).
pub async fn register_unit(
    store: &dyn UnitStore,
    raw: &str,
    actor: Option<&str>,
    remote: Option<String>,
) -> Result<(String, bool), UnitError> {
    let name = unit_name(raw).map_err(UnitError::Invalid)?;
    let audit = AuditEntry {
        actor: actor.map(str::to_owned),
        action: "unit.add".into(),
        target: format!("unit/{name}"),
        detail: json!({}),
        remote,
    };
    let added = store
        .register_unit(
            &RegisteredUnit {
                name: name.clone(),
                added_by: actor.map(str::to_owned),
                added_at: Utc::now(),
            },
            &audit,
        )
        .await?;
    Ok((name, added))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqliteStore;

    fn cell(code: &str, unit: Option<&str>) -> Feature {
        let mut properties = serde_json::Map::new();
        properties.insert("code".into(), json!(code));
        if let Some(unit) = unit {
            properties.insert("responsible_unit".into(), json!(unit));
        }
        Feature::new(
            1,
            crate::model::FeatureId::parse(code).unwrap(),
            geo::Geometry::Point(geo::Point::new(113.68, 34.75)),
            properties,
            1,
            Utc::now(),
            Utc::now(),
        )
    }

    #[tokio::test]
    async fn grid_units_and_registered_units_are_known_and_a_typo_gets_near_matches() {
        let cells = [
            cell("410104001005", Some("西关社区居委会")),
            cell("410104001005006", Some(" 西关社区居委会 ")),
            cell("410104001006", None),
        ];
        let grid = grid_units(cells.iter());
        assert_eq!(
            grid.get("西关社区居委会").map(Vec::as_slice),
            Some(["410104001005".to_owned(), "410104001005006".to_owned()].as_slice())
        );
        assert_eq!(grid.len(), 1);
        let store = SqliteStore::open("sqlite::memory:").await.unwrap();
        let (name, added) = register_unit(&store, " 郑州水务集团管城分公司 ", Some("admin"), None)
            .await
            .unwrap();
        assert_eq!(name, "郑州水务集团管城分公司");
        assert!(added);
        assert!(!register_unit(&store, &name, None, None).await.unwrap().1);
        let listed = units(grid.clone(), &store).await.unwrap();
        assert_eq!(listed.len(), 2);
        assert!(listed.iter().all(|u| !u.staffed()));
        assert!(
            known_unit(grid.clone(), &store, "西关社区居委会")
                .await
                .is_ok()
        );
        let Err(UnitError::Unknown { unit, near }) =
            known_unit(grid.clone(), &store, "郑州水务集团").await
        else {
            panic!("an unregistered unit is unknown");
        };
        assert_eq!(unit, "郑州水务集团");
        assert_eq!(near, ["郑州水务集团管城分公司"]);
        assert!(matches!(
            known_unit(grid, &store, "").await,
            Err(UnitError::Invalid(_))
        ));
    }
}
