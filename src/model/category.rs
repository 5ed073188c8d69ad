//! Case categories (案件类别): the classes of components (部件, things such as manhole covers)
//! and events (事件, happenings such as a gas leak) a city-management case is filed under, each
//! with its filing and closing conditions (立案条件 / 结案条件), the kind of unit responsible,
//! the time limits of its stages and, where it has one, the layer its asset comes from.
//!
//! The catalogue follows the practice of the national standard for digital city management
//! (GB/T 30428.2-2013, from CJ/T 214-2007): codes are 4 digits, a 2-digit major class and a
//! 2-digit minor class. Components use majors 01–05 (公用设施, 道路交通, 市容环境, 园林绿化,
//! 其他设施) and events 11–16 (市容环境, 宣传广告, 施工管理, 街面秩序, 突发事件, 其他事件), so
//! that every code is unique across both kinds. `data/cases/README.md` says which codes follow
//! the standard's numbering and which are this project's own.
//!
//! Each category's three stage limits share its [`TimeUnit`]: handling (处置) counts from
//! dispatch, verification (核查) from handling, closing (结案) from verification.
//!
//! ```
//! use citygrid::model::calendar::TimeUnit;
//! use citygrid::model::category::{CategoryCatalog, CategoryKind, Stage};
//!
//! let catalog = CategoryCatalog::builtin();
//! let cover = catalog.get("0102").unwrap();
//! assert_eq!(cover.name_zh, "污水井盖");
//! assert_eq!(cover.kind, CategoryKind::Component);
//! assert_eq!(cover.asset.as_ref().unwrap().value, "sewage");
//!
//! let missing = catalog.limit("1501", Stage::Handle).unwrap(); // 井盖缺失
//! assert_eq!((missing.amount, missing.unit), (2.0, TimeUnit::EmergencyHours));
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::calendar::{TimeLimit, TimeUnit};

/// Whether a category is a class of things or of happenings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CategoryKind {
    /// 部件: a managed object (manhole cover, street lamp, public toilet …).
    Component,
    /// 事件: a happening or behaviour (exposed rubbish, street trading, gas leak …).
    Event,
}

impl CategoryKind {
    /// The Chinese name, `部件` or `事件`.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Component => "部件",
            Self::Event => "事件",
        }
    }

    /// The English name, `component` or `event`.
    pub fn label_en(self) -> &'static str {
        match self {
            Self::Component => "component",
            Self::Event => "event",
        }
    }
}

/// A stage of a case whose duration is limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// 处置: from dispatch to the responsible unit until it reports the case handled.
    Handle,
    /// 核查: from handled until a supervisor has verified on site.
    Verify,
    /// 结案: from verified until the command centre closes the case.
    Close,
}

impl Stage {
    /// All stages in their order.
    pub const ALL: [Self; 3] = [Self::Handle, Self::Verify, Self::Close];

    /// The Chinese name, e.g. `处置`.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Handle => "处置",
            Self::Verify => "核查",
            Self::Close => "结案",
        }
    }

    /// The English name, e.g. `handle`.
    pub fn label_en(self) -> &'static str {
        match self {
            Self::Handle => "handle",
            Self::Verify => "verify",
            Self::Close => "close",
        }
    }
}

/// The time limits of the stages, as amounts of the category's [`TimeUnit`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageLimits {
    /// 处置: counted from dispatch.
    pub handle: f64,
    /// 核查: counted from handled.
    pub verify: f64,
    /// 结案: counted from verified.
    pub close: f64,
}

impl StageLimits {
    /// The amount for `stage`.
    pub fn get(&self, stage: Stage) -> f64 {
        match stage {
            Stage::Handle => self.handle,
            Stage::Verify => self.verify,
            Stage::Close => self.close,
        }
    }
}

/// The layer features a category's asset comes from: those of `collection` whose `property`
/// equals `value`, e.g. `manholes` / `kind` / `water_supply`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetLink {
    /// Collection id, e.g. `manholes`.
    pub collection: String,
    /// Property that selects the features, e.g. `kind`.
    pub property: String,
    /// The property's value, e.g. `water_supply`.
    pub value: String,
}

/// One case category.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    /// 4 digits: major (2) + minor (2), e.g. `0101`.
    pub code: String,
    /// Component or event.
    pub kind: CategoryKind,
    /// The major class, the first two digits of `code`.
    pub major_code: String,
    /// The major class in Chinese, e.g. `公用设施`.
    pub major_zh: String,
    /// The major class in English.
    pub major_en: String,
    /// Chinese name, e.g. `上水井盖`.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// 立案条件: what must be found for a case to be filed, in Chinese.
    pub filing_condition_zh: String,
    /// The filing condition in English.
    pub filing_condition_en: String,
    /// 结案条件: what must be true for the case to be closed, in Chinese.
    pub closing_condition_zh: String,
    /// The closing condition in English.
    pub closing_condition_en: String,
    /// The kind of unit responsible, e.g. `water_utility`.
    pub unit_kind: String,
    /// The kind of unit in Chinese, e.g. `供水单位`.
    pub unit_kind_zh: String,
    /// The kind of unit in English.
    pub unit_kind_en: String,
    /// The unit of all three stage limits.
    pub time_unit: TimeUnit,
    /// Stage limits, in `time_unit`.
    pub limits: StageLimits,
    /// The layer the category's asset comes from, if its asset is a feature of one.
    pub asset: Option<AssetLink>,
    /// Words that suggest the category in a free-text report.
    pub keywords: Vec<String>,
}

impl Category {
    /// The time limit of `stage`.
    pub fn limit(&self, stage: Stage) -> TimeLimit {
        TimeLimit {
            amount: self.limits.get(stage),
            unit: self.time_unit,
        }
    }
}

/// A category file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CategoryError {
    /// The file is not JSON or has no `categories` array.
    #[error("category file: {0}")]
    Json(String),
    /// A category does not have the expected shape (the message names the field).
    #[error("category {code}: {message}")]
    Shape {
        /// The category's code, or its position when it has none.
        code: String,
        /// What is wrong, from the JSON reader.
        message: String,
    },
    /// The file has no category.
    #[error("category file: no category is listed")]
    NoCategories,
    /// A code that is not 4 digits.
    #[error("category {0:?}: code must be 4 digits (major class + minor class)")]
    Code(String),
    /// A code listed twice.
    #[error("category {0}: code is listed twice")]
    DuplicateCode(String),
    /// `major_code` is not the first two digits of `code`.
    #[error("category {code}: major_code {major_code:?} is not the first two digits of the code")]
    MajorCode {
        /// The category at fault.
        code: String,
        /// The major code found.
        major_code: String,
    },
    /// Categories of one major class disagree on its kind or names.
    #[error(
        "category {code}: {field} {found:?} differs from {expected:?}, that of the first category of its major class"
    )]
    MajorMismatch {
        /// The category at fault.
        code: String,
        /// `kind`, `major_zh` or `major_en`.
        field: &'static str,
        /// The value in this category.
        found: String,
        /// The value in the first category of the major class.
        expected: String,
    },
    /// A stage limit that is not a positive finite number.
    #[error("category {code}: limits.{stage} {value} is not a positive finite number")]
    Limit {
        /// The category at fault.
        code: String,
        /// `handle`, `verify` or `close`.
        stage: &'static str,
        /// The value found.
        value: f64,
    },
    /// A required text is empty.
    #[error("category {code}: {field} is empty")]
    Empty {
        /// The category at fault.
        code: String,
        /// The empty field, e.g. `filing_condition_en`.
        field: &'static str,
    },
}

/// The case categories, by code.
#[derive(Debug, Clone)]
pub struct CategoryCatalog {
    categories: BTreeMap<String, Category>,
}

fn check(category: &Category) -> Result<(), CategoryError> {
    let code = &category.code;
    if code.len() != 4 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CategoryError::Code(code.clone()));
    }
    if category.major_code != code[..2] {
        return Err(CategoryError::MajorCode {
            code: code.clone(),
            major_code: category.major_code.clone(),
        });
    }
    let texts: [(&'static str, &str); 11] = [
        ("major_zh", &category.major_zh),
        ("major_en", &category.major_en),
        ("name_zh", &category.name_zh),
        ("name_en", &category.name_en),
        ("filing_condition_zh", &category.filing_condition_zh),
        ("filing_condition_en", &category.filing_condition_en),
        ("closing_condition_zh", &category.closing_condition_zh),
        ("closing_condition_en", &category.closing_condition_en),
        ("unit_kind", &category.unit_kind),
        ("unit_kind_zh", &category.unit_kind_zh),
        ("unit_kind_en", &category.unit_kind_en),
    ];
    let asset_texts = category.asset.as_ref().map(|a| {
        [
            ("asset.collection", a.collection.as_str()),
            ("asset.property", a.property.as_str()),
            ("asset.value", a.value.as_str()),
        ]
    });
    if let Some((field, _)) = texts
        .into_iter()
        .chain(asset_texts.into_iter().flatten())
        .find(|(_, text)| text.trim().is_empty())
    {
        return Err(CategoryError::Empty {
            code: code.clone(),
            field,
        });
    }
    for stage in Stage::ALL {
        let value = category.limits.get(stage);
        if !(value.is_finite() && value > 0.0) {
            return Err(CategoryError::Limit {
                code: code.clone(),
                stage: stage.label_en(),
                value,
            });
        }
    }
    Ok(())
}

/// Checks that `category` agrees with `first`, the first category of its major class.
fn check_major(category: &Category, first: &Category) -> Result<(), CategoryError> {
    let fields: [(&'static str, String, String); 3] = [
        (
            "kind",
            category.kind.label_en().to_owned(),
            first.kind.label_en().to_owned(),
        ),
        (
            "major_zh",
            category.major_zh.clone(),
            first.major_zh.clone(),
        ),
        (
            "major_en",
            category.major_en.clone(),
            first.major_en.clone(),
        ),
    ];
    match fields
        .into_iter()
        .find(|(_, found, expected)| found != expected)
    {
        Some((field, found, expected)) => Err(CategoryError::MajorMismatch {
            code: category.code.clone(),
            field,
            found,
            expected,
        }),
        None => Ok(()),
    }
}

impl CategoryCatalog {
    /// The built-in catalogue, `data/cases/categories.json`.
    pub fn builtin() -> Self {
        Self::from_json(include_str!("../../data/cases/categories.json"))
            .expect("the built-in category file is valid (tested)")
    }

    /// Reads a category file `{"categories": [ … ]}` (format: `data/cases/README.md`) and
    /// validates it: unique 4-digit codes, `major_code` equal to the code's first two digits,
    /// one kind and one pair of names per major class, positive finite limits, non-empty names,
    /// conditions and unit kinds. Errors name the category's code and the field at fault.
    pub fn from_json(text: &str) -> Result<Self, CategoryError> {
        let doc: Value =
            serde_json::from_str(text).map_err(|e| CategoryError::Json(e.to_string()))?;
        let Some(items) = doc.get("categories").and_then(Value::as_array) else {
            return Err(CategoryError::Json(
                "the top level must be an object with a \"categories\" array".into(),
            ));
        };
        if items.is_empty() {
            return Err(CategoryError::NoCategories);
        }
        let mut categories = BTreeMap::new();
        let mut majors: BTreeMap<String, String> = BTreeMap::new();
        for (i, item) in items.iter().enumerate() {
            let category: Category =
                serde_json::from_value(item.clone()).map_err(|e| CategoryError::Shape {
                    code: item
                        .get("code")
                        .and_then(Value::as_str)
                        .map_or_else(|| format!("#{} (no code)", i + 1), str::to_owned),
                    message: e.to_string(),
                })?;
            check(&category)?;
            if categories.contains_key(&category.code) {
                return Err(CategoryError::DuplicateCode(category.code));
            }
            match majors.get(&category.major_code) {
                Some(first) => check_major(&category, &categories[first])?,
                None => {
                    majors.insert(category.major_code.clone(), category.code.clone());
                }
            }
            categories.insert(category.code.clone(), category);
        }
        Ok(Self { categories })
    }

    /// The category with `code`.
    pub fn get(&self, code: &str) -> Option<&Category> {
        self.categories.get(code)
    }

    /// All categories, in code order.
    pub fn iter(&self) -> impl Iterator<Item = &Category> {
        self.categories.values()
    }

    /// How many categories there are.
    pub fn len(&self) -> usize {
        self.categories.len()
    }

    /// Whether there is none (never for a validated catalogue).
    pub fn is_empty(&self) -> bool {
        self.categories.is_empty()
    }

    /// The time limit of `stage` for the category with `code`.
    pub fn limit(&self, code: &str, stage: Stage) -> Option<TimeLimit> {
        self.get(code).map(|c| c.limit(stage))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::layers::{self, MANHOLE_CLASSES};
    use crate::model::schema::EnumValue;

    fn catalog() -> CategoryCatalog {
        CategoryCatalog::builtin()
    }

    /// The allowed values of a built-in layer's property.
    fn layer_values(collection: &str, property: &str) -> Option<Vec<EnumValue>> {
        let def = layers::builtin()
            .into_iter()
            .find(|d| d.id.as_str() == collection)?;
        let schema = def
            .schema
            .properties
            .into_iter()
            .find(|p| p.name == property)?;
        Some(schema.enumeration)
    }

    fn linked(
        catalog: &CategoryCatalog,
        collection: &str,
        property: &str,
        value: &str,
    ) -> Vec<String> {
        catalog
            .iter()
            .filter(|c| {
                c.asset.as_ref().is_some_and(|a| {
                    a.collection == collection && a.property == property && a.value == value
                })
            })
            .map(|c| c.code.clone())
            .collect()
    }

    #[test]
    fn the_builtin_catalogue_loads_in_code_order() {
        let catalog = catalog();
        assert!((50..=80).contains(&catalog.len()), "{}", catalog.len());
        let codes: Vec<&str> = catalog.iter().map(|c| c.code.as_str()).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        assert_eq!(codes, sorted);
        for c in catalog.iter() {
            let expected = if c.code.as_str() < "10" {
                CategoryKind::Component
            } else {
                CategoryKind::Event
            };
            assert_eq!(
                c.kind, expected,
                "{}: components are 01xx–05xx, events 11xx–16xx",
                c.code
            );
            assert!(!c.keywords.is_empty(), "{} has no keyword", c.code);
        }
    }

    #[test]
    fn every_manhole_kind_has_its_component_category_with_the_layers_minor_code() {
        let catalog = catalog();
        let kinds = layer_values("manholes", "kind").expect("manholes have kinds");
        assert_eq!(kinds.len(), MANHOLE_CLASSES.len());
        for (minor, kind, zh) in MANHOLE_CLASSES {
            let code = format!("01{minor}");
            let category = catalog
                .get(&code)
                .unwrap_or_else(|| panic!("no category {code} for {kind}"));
            assert_eq!(category.kind, CategoryKind::Component);
            assert_eq!(category.name_zh, zh, "{code}");
            assert_eq!(
                linked(&catalog, "manholes", "kind", kind),
                vec![code.clone()],
                "{kind}"
            );
        }
        for kind in kinds {
            assert!(
                !linked(&catalog, "manholes", "kind", &kind.code).is_empty(),
                "manhole kind {} has no category",
                kind.code
            );
        }
    }

    #[test]
    fn every_pipeline_kind_has_a_category() {
        let catalog = catalog();
        let kinds = layer_values("pipelines", "kind").expect("pipelines have kinds");
        assert!(kinds.len() >= 7);
        for kind in kinds {
            let codes = linked(&catalog, "pipelines", "kind", &kind.code);
            assert!(
                !codes.is_empty(),
                "pipeline kind {} ({}) has no category",
                kind.code,
                kind.zh
            );
        }
    }

    #[test]
    fn every_asset_link_names_a_builtin_layer_property_and_value() {
        for c in catalog().iter() {
            let Some(link) = &c.asset else { continue };
            let values = layer_values(&link.collection, &link.property).unwrap_or_else(|| {
                panic!(
                    "{}: no layer property {}.{}",
                    c.code, link.collection, link.property
                )
            });
            assert!(
                values.iter().any(|v| v.code == link.value),
                "{}: {} is not a value of {}.{}",
                c.code,
                link.value,
                link.collection,
                link.property
            );
        }
    }

    #[test]
    fn codes_cited_in_conditions_exist() {
        let catalog = catalog();
        for c in catalog.iter() {
            let text = format!("{} {}", c.filing_condition_zh, c.filing_condition_en);
            let cited = text
                .split(|ch: char| !ch.is_ascii_digit())
                .filter(|w| w.len() == 4 && !w.starts_with("20"));
            for code in cited {
                assert!(catalog.get(code).is_some(), "{} cites {code}", c.code);
            }
        }
    }

    #[test]
    fn the_districts_limits_for_covers_adverts_and_roads() {
        let catalog = catalog();
        let limits = |code: &str| {
            let c = catalog.get(code).unwrap();
            (
                c.time_unit,
                c.limits.handle,
                c.limits.verify,
                c.limits.close,
            )
        };
        assert_eq!(
            limits("1501"),
            (TimeUnit::EmergencyHours, 2.0, 1.0, 1.0),
            "missing cover"
        );
        assert_eq!(
            limits("0102"),
            (TimeUnit::WorkingHours, 8.0, 2.0, 1.0),
            "damaged cover"
        );
        assert_eq!(
            limits("1201"),
            (TimeUnit::WorkingHours, 4.0, 1.0, 1.0),
            "small adverts"
        );
        assert_eq!(
            limits("0201"),
            (TimeUnit::WorkingDays, 3.0, 1.0, 1.0),
            "road surface"
        );
        let gas = catalog.limit("1502", Stage::Verify).unwrap();
        assert_eq!((gas.amount, gas.unit), (0.5, TimeUnit::EmergencyHours));
        assert_eq!(catalog.limit("9999", Stage::Handle), None);
    }

    #[test]
    fn a_category_survives_serialisation() {
        let catalog = catalog();
        let all: Vec<&Category> = catalog.iter().collect();
        let text = serde_json::json!({ "categories": all }).to_string();
        let again = CategoryCatalog::from_json(&text).unwrap();
        assert_eq!(again.len(), catalog.len());
        assert_eq!(
            again.get("1502").unwrap().asset,
            catalog.get("1502").unwrap().asset
        );
    }

    fn sample() -> Value {
        serde_json::from_str(include_str!("../../data/cases/categories.json")).unwrap()
    }

    /// The built-in file with the first category's `field` set to `value`.
    fn with(field: &str, value: Value) -> String {
        let mut doc = sample();
        doc["categories"][0][field] = value;
        doc.to_string()
    }

    fn rejected(text: &str) -> String {
        CategoryCatalog::from_json(text).unwrap_err().to_string()
    }

    #[test]
    fn malformed_files_are_rejected_naming_the_code_and_field() {
        use serde_json::json;
        let err = rejected(&with("code", json!("101")));
        assert!(err.contains("\"101\"") && err.contains("4 digits"), "{err}");
        let err = rejected(&with("code", json!("0102")));
        assert!(err.contains("0102") && err.contains("twice"), "{err}");
        let err = rejected(&with("major_code", json!("02")));
        assert!(err.contains("0101") && err.contains("major_code"), "{err}");
        let err = rejected(&with("kind", json!("event")));
        assert!(
            err.contains("0102") && err.contains("kind \"component\""),
            "{err}"
        );
        let err = rejected(&with("major_zh", json!("公共设施")));
        assert!(err.contains("major_zh"), "{err}");
        let err = rejected(&with("filing_condition_en", json!(" ")));
        assert!(
            err.contains("0101") && err.contains("filing_condition_en is empty"),
            "{err}"
        );
        let err = rejected(&with(
            "limits",
            json!({"handle": 8, "verify": 0, "close": 1}),
        ));
        assert!(
            err.contains("0101") && err.contains("limits.verify"),
            "{err}"
        );
        let err = rejected(&with(
            "limits",
            json!({"handle": -1, "verify": 1, "close": 1}),
        ));
        assert!(err.contains("limits.handle"), "{err}");
        let err = rejected(&with("time_unit", json!("fortnights")));
        assert!(err.contains("0101") && err.contains("fortnights"), "{err}");
        let err = rejected(&with("name_zh", Value::Null));
        assert!(err.contains("0101") && err.contains("string"), "{err}");
        let err = rejected(&with(
            "asset",
            json!({"collection": "manholes", "property": "kind"}),
        ));
        assert!(err.contains("0101") && err.contains("value"), "{err}");
        let err = rejected(&with(
            "asset",
            json!({"collection": "manholes", "property": "", "value": "x"}),
        ));
        assert!(err.contains("asset.property is empty"), "{err}");
        let err = rejected(&with("colour", json!("red")));
        assert!(err.contains("0101") && err.contains("colour"), "{err}");
        let mut doc = sample();
        doc["categories"][0].as_object_mut().unwrap().remove("code");
        let err = rejected(&doc.to_string());
        assert!(err.contains("#1") && err.contains("code"), "{err}");
        assert!(rejected("[]").contains("categories"));
        assert!(rejected(r#"{"categories": []}"#).contains("no category"));
        assert!(rejected("{").contains("category file"));
    }
}
