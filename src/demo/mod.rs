//! The demo district: synthetic, seeded and reproducible layers for 管城回族区 (Guancheng Hui
//! District, Zhengzhou, code 410104), built on the real district boundary and the official
//! street and community codes.
//!
//! [`Reference::load`] reads the two reference files; [`generate`] derives seven layers from them
//! and a [`DemoOptions`] seed and scale; [`DemoDistrict::write_dir`] writes one `GeoJSON` file per
//! layer. All coordinates are WGS84 lon/lat rounded to 7 decimals (about 1 cm), points lie
//! strictly inside the boundary and lines and polygons are clipped to it. Every feature carries
//! `synthetic: true`: apart from the boundary and the division names and codes, nothing here is
//! real data (the arterial road names are real, their positions approximate).
//!
//! Layers, in this order:
//! - `grid_cells`: the district, its 14 streets, 155 communities and about 1,300 grid cells, each
//!   level an exact partition of the one above; three communities had their grid redrawn on
//!   2025-01-01, so their retired cells (valid 2021-01-01 to 2024-12-31) coexist with the current
//!   ones (from 2025-01-01; all other cells are valid from 2021-01-01).
//! - `roads`, `pipelines` and `manholes`: a road network, utility lines offset from the road
//!   centre lines (including about 17 km of pre-2000 gas main that needs renovation) and the
//!   manholes on them, coded after the component code of the city's management standard.
//! - `parks`, `renovation_areas` and `facilities`.
//!
//! Output is byte-for-byte reproducible for a given seed and scale: every layer draws from its
//! own `ChaCha8` stream and nothing iterates a hash map. The scale multiplies the density of the
//! roads below arterial class and of the point layers, for benchmarks; the grid cells, parks and
//! renovation areas do not change with it.

mod cells;
mod geom;
mod names;
mod network;
mod output;
mod places;
mod split;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use geo::MultiPolygon;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Code of the demo district, 管城回族区.
pub const DISTRICT_CODE: &str = "410104";

/// Largest accepted [`DemoOptions::scale`]; beyond it the 6-digit manhole sequences could run out.
pub const MAX_SCALE: u32 = 100;

/// Minor classes of the manhole component code, shared with the model's validation.
pub use crate::model::layers::MANHOLE_CLASSES as MANHOLE_MINOR_CLASSES;

/// Ids of the layers, in the order of [`DemoDistrict::layers`].
pub const LAYER_IDS: [&str; 7] = [
    "grid_cells",
    "roads",
    "pipelines",
    "manholes",
    "parks",
    "renovation_areas",
    "facilities",
];

/// Level of an administrative division.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DivisionLevel {
    /// A district (区), e.g. 管城回族区.
    District,
    /// A street (街道) or township (乡).
    Street,
    /// A community (社区) or village (村).
    Community,
}

/// One row of the divisions file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Division {
    /// Level of the division.
    pub level: DivisionLevel,
    /// Official code: 6 digits for a district, 9 for a street, 12 for a community.
    pub code: String,
    /// Official name, e.g. "北下街街道".
    pub name: String,
    /// Code of the enclosing division.
    pub parent_code: String,
}

/// Inputs read from the reference files.
#[derive(Debug, Clone)]
pub struct Reference {
    /// The district boundary, WGS84 lon/lat, as in the file. Its ring is clockwise there, and
    /// `geo`'s geodesic area of a clockwise ring is that of the rest of the globe: orient it
    /// (`Orient::orient(Direction::Default)`) before measuring. The generated layers are
    /// oriented counter-clockwise already (RFC 7946).
    pub boundary: MultiPolygon<f64>,
    /// The district's divisions in file order (district, streets, communities).
    pub divisions: Vec<Division>,
}

impl Reference {
    /// Reads `dir/guancheng_boundary.geojson` and `dir/divisions.csv` (only rows with
    /// `district_code` 410104).
    pub fn load(dir: &Path) -> Result<Reference, DemoError> {
        let boundary = read_boundary(&dir.join("guancheng_boundary.geojson"))?;
        let divisions = read_divisions(&dir.join("divisions.csv"))?;
        Ok(Reference {
            boundary,
            divisions,
        })
    }

    /// The streets in file order.
    fn streets(&self) -> impl Iterator<Item = &Division> {
        self.divisions
            .iter()
            .filter(|d| d.level == DivisionLevel::Street)
    }

    /// The communities of a street in file order.
    fn communities_of<'a>(&'a self, street_code: &'a str) -> impl Iterator<Item = &'a Division> {
        self.divisions
            .iter()
            .filter(move |d| d.level == DivisionLevel::Community && d.parent_code == street_code)
    }
}

/// Reads the first polygon or multipolygon of a `GeoJSON` file.
fn read_boundary(path: &Path) -> Result<MultiPolygon<f64>, DemoError> {
    let text = std::fs::read_to_string(path).map_err(|source| DemoError::Io {
        path: path.to_owned(),
        source,
    })?;
    let geojson: geojson::GeoJson = text.parse().map_err(|source| DemoError::GeoJson {
        path: path.to_owned(),
        source: Box::new(source),
    })?;
    let geometries: Vec<geojson::Geometry> = match geojson {
        geojson::GeoJson::FeatureCollection(fc) => {
            fc.features.into_iter().filter_map(|f| f.geometry).collect()
        }
        geojson::GeoJson::Feature(f) => f.geometry.into_iter().collect(),
        geojson::GeoJson::Geometry(g) => vec![g],
    };
    geometries
        .into_iter()
        .find_map(|g| match geo::Geometry::<f64>::try_from(g.value).ok()? {
            geo::Geometry::Polygon(p) => Some(MultiPolygon::new(vec![p])),
            geo::Geometry::MultiPolygon(mp) => Some(mp),
            _ => None,
        })
        .filter(|mp| !mp.0.is_empty())
        .ok_or_else(|| DemoError::NoBoundary {
            path: path.to_owned(),
        })
}

/// Reads the divisions of [`DISTRICT_CODE`] from the CSV file
/// (`level,code,name,parent_code,district_code,district_name`, no quoting).
fn read_divisions(path: &Path) -> Result<Vec<Division>, DemoError> {
    let text = std::fs::read_to_string(path).map_err(|source| DemoError::Io {
        path: path.to_owned(),
        source,
    })?;
    let malformed = |line: usize, reason: String| DemoError::Divisions {
        path: path.to_owned(),
        line,
        reason,
    };
    let mut divisions = Vec::new();
    for (i, row) in text.lines().enumerate() {
        let line = i + 1;
        let row = row.trim_end_matches('\r');
        if line == 1 || row.is_empty() {
            continue;
        }
        let fields: Vec<&str> = row.split(',').collect();
        let [level, code, name, parent_code, district_code, _] = fields[..] else {
            return Err(malformed(
                line,
                format!("expected 6 fields, found {}", fields.len()),
            ));
        };
        if district_code != DISTRICT_CODE {
            continue;
        }
        let level = match level {
            "district" => DivisionLevel::District,
            "street" => DivisionLevel::Street,
            "community" => DivisionLevel::Community,
            other => return Err(malformed(line, format!("unknown level {other:?}"))),
        };
        let digits = match level {
            DivisionLevel::District => 6,
            DivisionLevel::Street => 9,
            DivisionLevel::Community => 12,
        };
        if code.len() != digits || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed(
                line,
                format!("code {code:?} is not {digits} digits"),
            ));
        }
        divisions.push(Division {
            level,
            code: code.to_owned(),
            name: name.to_owned(),
            parent_code: parent_code.to_owned(),
        });
    }
    if !divisions.iter().any(|d| d.level == DivisionLevel::Street) {
        return Err(DemoError::NoDivisions {
            path: path.to_owned(),
        });
    }
    Ok(divisions)
}

/// Seed and size of a generated district.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoOptions {
    /// Seed of all random choices.
    pub seed: u64,
    /// Density multiplier of the road, pipeline and point layers, `1..=MAX_SCALE`; 1 is the
    /// realistic demo.
    pub scale: u32,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self { seed: 42, scale: 1 }
    }
}

/// Layer id → features, in the fixed order of [`LAYER_IDS`].
#[derive(Debug, Clone)]
pub struct DemoDistrict {
    /// The layers with their features.
    pub layers: Vec<(&'static str, Vec<geojson::Feature>)>,
}

impl DemoDistrict {
    /// Writes one `<layer>.geojson` `FeatureCollection` per layer into `dir` (created if missing):
    /// compact JSON with one feature per line.
    pub fn write_dir(&self, dir: &Path) -> Result<(), DemoError> {
        std::fs::create_dir_all(dir).map_err(|source| DemoError::Io {
            path: dir.to_owned(),
            source,
        })?;
        for (id, features) in &self.layers {
            output::write_layer(&dir.join(format!("{id}.geojson")), features)?;
        }
        Ok(())
    }

    /// Total number of features over all layers.
    pub fn feature_count(&self) -> usize {
        self.layers.iter().map(|(_, f)| f.len()).sum()
    }

    /// The features of one layer, if it exists.
    pub fn layer(&self, id: &str) -> Option<&[geojson::Feature]> {
        self.layers
            .iter()
            .find(|(layer, _)| *layer == id)
            .map(|(_, f)| f.as_slice())
    }
}

/// Errors of loading the reference files, generating and writing the demo district.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A file or directory could not be read, created or written.
    #[error("cannot access {path}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The boundary file is not valid `GeoJSON`.
    #[error("{path} is not valid GeoJSON")]
    GeoJson {
        /// The boundary file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: Box<geojson::Error>,
    },
    /// The boundary file holds no polygon or multipolygon.
    #[error("{path} holds no polygon or multipolygon")]
    NoBoundary {
        /// The boundary file.
        path: PathBuf,
    },
    /// A row of the divisions file is malformed.
    #[error("{path}, line {line}: {reason}")]
    Divisions {
        /// The divisions file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with the row.
        reason: String,
    },
    /// The divisions file lists no street of the district.
    #[error("{path} lists no street of district {DISTRICT_CODE}")]
    NoDivisions {
        /// The divisions file.
        path: PathBuf,
    },
    /// A street has no community, so it cannot be divided further.
    #[error("street {code} has no community")]
    EmptyStreet {
        /// The street code.
        code: String,
    },
    /// The scale is outside `1..=MAX_SCALE`.
    #[error("scale {scale} is outside 1..={MAX_SCALE}")]
    Scale {
        /// The rejected scale.
        scale: u32,
    },
    /// A generator could not lay out what it needs (e.g. no room left for a park).
    #[error("cannot lay out {what} in layer {layer}")]
    Layout {
        /// The layer id.
        layer: &'static str,
        /// What could not be placed.
        what: String,
    },
}

/// Shared inputs of the layer generators.
pub(crate) struct Context<'a> {
    /// The reference data.
    pub(crate) reference: &'a Reference,
    /// The boundary, rounded and oriented, as a multipolygon.
    pub(crate) boundary: MultiPolygon<f64>,
    /// The boundary index for point and line tests.
    pub(crate) index: geom::Boundary,
    /// Metric at the district's mean latitude.
    pub(crate) metric: geom::LocalMetric,
    /// The density multiplier.
    pub(crate) scale: u32,
    seed: u64,
}

impl Context<'_> {
    /// The random stream of one layer: independent of the other layers, so changing one
    /// generator leaves the others' output alone.
    pub(crate) fn rng(&self, stream: u64) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(stream);
        rng
    }
}

/// Generates the demo district from the reference data.
pub fn generate(reference: &Reference, options: &DemoOptions) -> Result<DemoDistrict, DemoError> {
    if !(1..=MAX_SCALE).contains(&options.scale) {
        return Err(DemoError::Scale {
            scale: options.scale,
        });
    }
    let boundary = split::normalize(&reference.boundary);
    let index = geom::Boundary::new(&boundary).ok_or_else(|| DemoError::Layout {
        layer: "grid_cells",
        what: "the district boundary (it is empty)".to_owned(),
    })?;
    let metric = geom::LocalMetric::at_lat(index.rect.center().y);
    let ctx = Context {
        reference,
        boundary,
        index,
        metric,
        scale: options.scale,
        seed: options.seed,
    };
    let cells = cells::generate(&ctx)?;
    let network = network::generate(&ctx)?;
    let parks = places::parks(&ctx)?;
    let renovation = places::renovation_areas(&ctx)?;
    let facilities = places::facilities(&ctx, &network.roads, &cells.streets)?;
    Ok(DemoDistrict {
        layers: vec![
            (LAYER_IDS[0], cells.features),
            (LAYER_IDS[1], network.road_features),
            (LAYER_IDS[2], network.pipelines),
            (LAYER_IDS[3], network.manholes),
            (LAYER_IDS[4], parks),
            (LAYER_IDS[5], renovation),
            (LAYER_IDS[6], facilities),
        ],
    })
}
