//! Importing GeoJSON files (a FeatureCollection, newline-delimited features, or RFC 8142 text
//! sequences) into a built-in layer, an existing collection, or a new collection whose schema is
//! given as JSON Schema or inferred from the data. Every feature is validated; by default one
//! invalid feature rejects the whole file and nothing is written.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use crate::model::crs::InputCrs;
use crate::model::geometry::{GeometryFamily, type_name};
use crate::model::layers::{self, CollectionDef, FeatureError};
use crate::model::{CollectionId, Schema};
use crate::store::{Change, Store};

use super::ServiceError;

/// Where the schema of the target collection comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum SchemaSource {
    /// The collection exists (or is a built-in layer): use its schema.
    Existing,
    /// Create the collection with this JSON Schema (queryables-style document).
    JsonSchema(Value),
    /// Create the collection with a schema inferred from the data.
    Infer,
}

/// How to import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Target collection.
    pub collection: CollectionId,
    /// Coordinate system of the file.
    pub crs: InputCrs,
    /// Schema source.
    pub schema: SchemaSource,
    /// Import the valid features even when some are rejected.
    pub skip_invalid: bool,
    /// Replace features whose id exists instead of failing.
    pub upsert: bool,
}

/// A feature that was not imported.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    /// Position in the file, 0-based.
    pub index: usize,
    /// Its id, if it had one.
    pub id: Option<String>,
    /// Why.
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportReport {
    /// Features read from the file.
    pub read: usize,
    /// Features written.
    pub imported: usize,
    /// Features refused, in file order.
    pub rejected: Vec<Rejected>,
    /// The schema used, as JSON Schema (shown to the user when it was inferred).
    pub schema: Value,
    /// Whether the collection was created.
    pub created: bool,
}

/// Why an import could not run.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not GeoJSON of a supported form.
    #[error("{path}: {reason}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong, with the position when known.
        reason: String,
    },
    /// The collection does not exist and no schema source was given.
    #[error("collection {0} does not exist: give --schema FILE or --infer-schema to create it")]
    NoSchema(String),
    /// A schema was given for a collection that exists already.
    #[error("collection {0} exists already; import into it without a schema")]
    Exists(String),
    /// Features were rejected and nothing was written (the report lists them).
    #[error("{} of {} features rejected; nothing was imported", .0.rejected.len(), .0.read)]
    Rejected(Box<ImportReport>),
    /// Validation passed but the write failed.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// A reader that reports how many bytes it has read, for progress bars.
struct Counting<R, F> {
    inner: R,
    read: u64,
    progress: F,
}

impl<R: Read, F: FnMut(u64)> Read for Counting<R, F> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        (self.progress)(self.read);
        Ok(n)
    }
}

/// Reads every feature of a GeoJSON file. `progress` is called with the bytes read so far.
pub fn read_features(
    path: &Path,
    progress: impl FnMut(u64),
) -> Result<Vec<geojson::Feature>, ImportError> {
    let shown = path.display().to_string();
    let io = |source| ImportError::Io {
        path: shown.clone(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut reader = BufReader::with_capacity(
        1 << 20,
        Counting {
            inner: file,
            read: 0,
            progress,
        },
    );
    // Newline-delimited when the first line is a whole Feature; otherwise one GeoJSON object.
    let first_line = {
        let buffer = reader.fill_buf().map_err(io)?;
        let end = buffer
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(buffer.len());
        String::from_utf8_lossy(&buffer[..end])
            .trim_start_matches('\u{1e}')
            .trim()
            .to_owned()
    };
    let first: Option<Value> = serde_json::from_str(&first_line).ok();
    if first
        .as_ref()
        .and_then(|v| v.get("type"))
        .and_then(Value::as_str)
        == Some("Feature")
    {
        let mut features = Vec::new();
        for (number, line) in reader.lines().enumerate() {
            let line = line.map_err(io)?;
            let line = line.trim_start_matches('\u{1e}').trim();
            if line.is_empty() {
                continue;
            }
            let feature =
                geojson::Feature::from_json_value(serde_json::from_str(line).map_err(|e| {
                    ImportError::Format {
                        path: shown.clone(),
                        reason: format!("line {}: {e}", number + 1),
                    }
                })?)
                .map_err(|e| ImportError::Format {
                    path: shown.clone(),
                    reason: format!("line {}: {e}", number + 1),
                })?;
            features.push(feature);
        }
        return Ok(features);
    }
    // Parsing from memory is several times faster than from a reader (serde_json reads a
    // reader byte by byte); the file's bytes are freed before the features are validated.
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).map_err(io)?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| ImportError::Format {
        path: shown.clone(),
        reason: format!("not JSON: {e}"),
    })?;
    drop(bytes);
    match geojson::GeoJson::from_json_value(value) {
        Ok(geojson::GeoJson::FeatureCollection(fc)) => Ok(fc.features),
        Ok(geojson::GeoJson::Feature(f)) => Ok(vec![f]),
        Ok(geojson::GeoJson::Geometry(_)) => Err(ImportError::Format {
            path: shown,
            reason: "a bare geometry; expected a FeatureCollection or features".into(),
        }),
        Err(e) => Err(ImportError::Format {
            path: shown,
            reason: e.to_string(),
        }),
    }
}

/// The definition of a known collection: stored, or built in.
async fn existing_definition(
    store: &dyn Store,
    id: &CollectionId,
) -> Result<Option<CollectionDef>, ServiceError> {
    for doc in store.collections().await? {
        if doc.get("id").and_then(Value::as_str) == Some(id.as_str()) {
            return Ok(Some(CollectionDef::from_json(&doc)?));
        }
    }
    Ok(layers::builtin().into_iter().find(|d| &d.id == id))
}

fn infer_definition(
    id: &CollectionId,
    features: &[geojson::Feature],
) -> Result<CollectionDef, ServiceError> {
    let empty = serde_json::Map::new();
    let schema = Schema::infer(
        features
            .iter()
            .map(|f| f.properties.as_ref().unwrap_or(&empty)),
    )?;
    let family = features
        .iter()
        .filter_map(|f| f.geometry.as_ref())
        .map(|g| GeometryFamily::of_type(type_name(&g.value)))
        .reduce(GeometryFamily::union)
        .unwrap_or(GeometryFamily::Any);
    let doc = schema.to_json_schema(id.as_str(), ("geometry", family.schema_url()));
    Ok(CollectionDef::custom(id.clone(), &doc, family)?)
}

/// Validation results in input order: the feature's id as given, and the prepared feature or
/// why it was refused.
type Validated = Vec<(
    Option<String>,
    Result<crate::model::NewFeature, FeatureError>,
)>;

/// Validates every feature on all cores (geometry validity checks dominate large imports),
/// off the async threads, keeping the input order.
async fn validate_all(
    def: CollectionDef,
    crs: InputCrs,
    features: Vec<geojson::Feature>,
) -> Result<Validated, ImportError> {
    tokio::task::spawn_blocking(move || {
        let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let chunk = features.len().div_ceil(threads).max(1024);
        let mut parts: Vec<Vec<geojson::Feature>> = Vec::new();
        let mut rest = features;
        while rest.len() > chunk {
            let tail = rest.split_off(chunk);
            parts.push(rest);
            rest = tail;
        }
        parts.push(rest);
        std::thread::scope(|scope| {
            let workers: Vec<_> = parts
                .into_iter()
                .map(|part| {
                    let def = &def;
                    scope.spawn(move || {
                        part.into_iter()
                            .map(|feature| {
                                let id = feature.id.as_ref().map(|id| match id {
                                    geojson::feature::Id::String(s) => s.clone(),
                                    geojson::feature::Id::Number(n) => n.to_string(),
                                });
                                (id, def.prepare(feature, crs))
                            })
                            .collect::<Validated>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| {
                    w.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        })
    })
    .await
    .map_err(|e| ImportError::Format {
        path: String::new(),
        reason: format!("validation task failed: {e}"),
    })
}

/// Validates `features` and writes them to the store in one transaction.
pub async fn import_features(
    store: &dyn Store,
    options: &ImportOptions,
    features: Vec<geojson::Feature>,
) -> Result<ImportReport, ImportError> {
    let existing = existing_definition(store, &options.collection).await?;
    let stored_already = store
        .collections()
        .await
        .map_err(ServiceError::from)?
        .iter()
        .any(|d| d.get("id").and_then(Value::as_str) == Some(options.collection.as_str()));
    let (def, created) = match (&options.schema, existing) {
        (SchemaSource::Existing, Some(def)) => (def, !stored_already),
        (SchemaSource::Existing, None) => {
            return Err(ImportError::NoSchema(options.collection.to_string()));
        }
        (_, Some(_)) => return Err(ImportError::Exists(options.collection.to_string())),
        (SchemaSource::JsonSchema(doc), None) => {
            let family = features
                .iter()
                .filter_map(|f| f.geometry.as_ref())
                .map(|g| GeometryFamily::of_type(type_name(&g.value)))
                .reduce(GeometryFamily::union)
                .unwrap_or(GeometryFamily::Any);
            (
                CollectionDef::custom(options.collection.clone(), doc, family)
                    .map_err(ServiceError::from)?,
                true,
            )
        }
        (SchemaSource::Infer, None) => (infer_definition(&options.collection, &features)?, true),
    };
    let read = features.len();
    let mut rejected = Vec::new();
    let mut changes = Vec::with_capacity(read);
    let mut seen = std::collections::HashSet::new();
    let validated = validate_all(def.clone(), options.crs, features).await?;
    for (index, (id, result)) in validated.into_iter().enumerate() {
        match result {
            Ok(prepared) => {
                if let Some(fid) = &prepared.id
                    && !seen.insert(fid.clone())
                {
                    rejected.push(Rejected {
                        index,
                        id: Some(fid.to_string()),
                        reason: "the id appears twice in the file".into(),
                    });
                    continue;
                }
                changes.push(if options.upsert {
                    Change::Upsert(prepared)
                } else {
                    Change::Insert(prepared)
                });
            }
            Err(error) => rejected.push(Rejected {
                index,
                id,
                reason: error.to_string(),
            }),
        }
    }
    let mut report = ImportReport {
        read,
        imported: 0,
        rejected,
        schema: def.json_schema(),
        created,
    };
    if !report.rejected.is_empty() && !options.skip_invalid {
        return Err(ImportError::Rejected(Box::new(report)));
    }
    let definition = created.then(|| def.to_json());
    let applied = store
        .apply(&def.id, definition.as_ref(), changes)
        .await
        .map_err(ServiceError::from)?;
    report.imported = applied.stored.len();
    Ok(report)
}

/// Reads and imports one file.
pub async fn import_file(
    store: &Arc<dyn Store>,
    path: &Path,
    options: &ImportOptions,
    progress: impl FnMut(u64) + Send + 'static,
) -> Result<ImportReport, ImportError> {
    let owned = path.to_owned();
    let features = tokio::task::spawn_blocking(move || read_features(&owned, progress))
        .await
        .map_err(|e| ImportError::Format {
            path: path.display().to_string(),
            reason: e.to_string(),
        })??;
    import_features(store.as_ref(), options, features).await
}

/// Loads the demo district (`<layer>.geojson` for each built-in layer found in `dir`) into an
/// empty store. Returns the number of features loaded per layer.
pub async fn load_demo(
    store: &Arc<dyn Store>,
    dir: &Path,
) -> Result<Vec<(String, usize)>, ImportError> {
    let mut loaded = Vec::new();
    for def in layers::builtin() {
        let path = dir.join(format!("{}.geojson", def.id));
        if !path.exists() {
            continue;
        }
        let options = ImportOptions {
            collection: def.id.clone(),
            crs: InputCrs::Wgs84,
            schema: SchemaSource::Existing,
            skip_invalid: false,
            upsert: false,
        };
        let report = import_file(store, &path, &options, |_| {}).await?;
        loaded.push((def.id.to_string(), report.imported));
    }
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqliteStore;
    use serde_json::json;

    async fn store() -> Arc<dyn Store> {
        Arc::new(SqliteStore::open("sqlite::memory:").await.unwrap())
    }

    fn features(value: &Value) -> Vec<geojson::Feature> {
        value
            .as_array()
            .unwrap()
            .iter()
            .map(|f| geojson::Feature::from_json_value(f.clone()).unwrap())
            .collect()
    }

    fn options(collection: &str, schema: SchemaSource) -> ImportOptions {
        ImportOptions {
            collection: CollectionId::parse(collection).unwrap(),
            crs: InputCrs::Wgs84,
            schema,
            skip_invalid: false,
            upsert: false,
        }
    }

    fn manhole(code: &str, status: &str) -> Value {
        json!({"type": "Feature", "properties": {"component_code": code, "kind": "sewage", "status": status},
               "geometry": {"type": "Point", "coordinates": [113.7, 34.7]}})
    }

    #[tokio::test]
    async fn one_invalid_feature_rejects_the_whole_import_and_names_it() {
        let store = store().await;
        let input = features(&json!([
            manhole("4101040102000001", "intact"),
            manhole("4101040102000002", "broken")
        ]));
        let err = import_features(
            store.as_ref(),
            &options("manholes", SchemaSource::Existing),
            input,
        )
        .await
        .unwrap_err();
        let ImportError::Rejected(report) = err else {
            panic!("expected a rejection, got {err}")
        };
        assert_eq!(report.rejected.len(), 1);
        assert_eq!(report.rejected[0].index, 1);
        assert!(report.rejected[0].reason.contains("status"));
        assert_eq!(
            store
                .count(&CollectionId::parse("manholes").unwrap())
                .await
                .unwrap(),
            0
        );
    }

    #[tokio::test]
    async fn skip_invalid_imports_the_valid_ones() {
        let store = store().await;
        let input = features(&json!([
            manhole("4101040102000001", "intact"),
            manhole("4101040102000002", "broken")
        ]));
        let mut opts = options("manholes", SchemaSource::Existing);
        opts.skip_invalid = true;
        let report = import_features(store.as_ref(), &opts, input).await.unwrap();
        assert_eq!((report.imported, report.rejected.len()), (1, 1));
    }

    #[tokio::test]
    async fn a_new_collection_with_an_inferred_schema_refuses_nothing_it_inferred() {
        let store = store().await;
        let input = features(&json!([
            {"type": "Feature", "id": 5, "properties": {"name": "a", "n": 1}, "geometry": {"type": "Point", "coordinates": [1, 2]}},
            {"type": "Feature", "id": 6, "properties": {"name": "b", "n": 2.5}, "geometry": {"type": "MultiPoint", "coordinates": [[1, 2]]}}
        ]));
        let report = import_features(
            store.as_ref(),
            &options("trees", SchemaSource::Infer),
            input,
        )
        .await
        .unwrap();
        assert!(report.created);
        assert_eq!(report.imported, 2);
        assert_eq!(report.schema["properties"]["n"]["type"], "number");
        let def = existing_definition(store.as_ref(), &CollectionId::parse("trees").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(def.family, GeometryFamily::Points);
    }

    #[tokio::test]
    async fn an_unknown_collection_without_a_schema_is_refused() {
        let store = store().await;
        let err = import_features(
            store.as_ref(),
            &options("nothing", SchemaSource::Existing),
            vec![],
        )
        .await
        .unwrap_err();
        assert!(matches!(err, ImportError::NoSchema(_)));
    }

    #[tokio::test]
    async fn an_id_repeated_in_the_file_is_rejected() {
        let store = store().await;
        let input = features(&json!([
            manhole("4101040102000001", "intact"),
            manhole("4101040102000001", "intact")
        ]));
        let err = import_features(
            store.as_ref(),
            &options("manholes", SchemaSource::Existing),
            input,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, ImportError::Rejected(r) if r.rejected[0].reason.contains("twice")));
    }

    #[test]
    fn newline_delimited_files_and_feature_collections_read_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let one = manhole("4101040102000001", "intact");
        let two = manhole("4101040102000002", "intact");
        let fc = dir.path().join("a.geojson");
        std::fs::write(
            &fc,
            json!({"type": "FeatureCollection", "features": [one, two]}).to_string(),
        )
        .unwrap();
        let nd = dir.path().join("a.ndjson");
        std::fs::write(&nd, format!("{one}\n\u{1e}{two}\n\n")).unwrap();
        let a = read_features(&fc, |_| {}).unwrap();
        let b = read_features(&nd, |_| {}).unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a, b);
        let bad = dir.path().join("bad.geojson");
        std::fs::write(&bad, "{\"type\": \"FeatureCollection\", \"features\": [").unwrap();
        assert!(matches!(
            read_features(&bad, |_| {}),
            Err(ImportError::Format { .. })
        ));
    }
}
