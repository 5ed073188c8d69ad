//! Importing GeoJSON files (a FeatureCollection, newline-delimited features, or RFC 8142 text
//! sequences) into a built-in layer, an existing collection, or a new collection whose schema is
//! given as JSON Schema or inferred from the data. Every feature is validated; by default one
//! invalid feature rejects the whole file and nothing is written.

mod read;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use crate::model::crs::InputCrs;
use crate::model::geometry::{GeometryFamily, type_name};
use crate::model::layers::{self, CollectionDef, FeatureError};
use crate::model::{CollectionId, NewFeature, Schema};
use crate::store::{Change, Store};

use super::ServiceError;
use read::InOrder;
pub use read::MAX_FEATURE_BYTES;

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
    /// Where the data come from (credited in the collection's metadata and its TileJSON);
    /// naming it marks the collection as real data, not synthetic.
    pub attribution: Option<String>,
    /// The data's licence, a name or a URL.
    pub license: Option<String>,
    /// The largest feature read, bytes of its JSON text ([`MAX_FEATURE_BYTES`] by default): a
    /// larger one stops the import with an error naming it, before the rest of it is read.
    pub max_feature_bytes: usize,
}

/// A feature that was not imported.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    /// Position in the file, 1-based (the first feature is 1).
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
    /// With `--skip-invalid`, every feature was rejected: nothing was written (not even a new
    /// collection), and the import failed.
    #[error("all {} features were rejected; nothing was imported", .0.read)]
    NothingValid(Box<ImportReport>),
    /// Validation passed but the write failed.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// Reads every feature of a GeoJSON file (a FeatureCollection, a single Feature, newline-delimited
/// features or an RFC 8142 text sequence), parsing on all cores. `progress` is called with the
/// bytes read so far.
pub fn read_features(
    path: &Path,
    progress: impl FnMut(u64),
) -> Result<Vec<geojson::Feature>, ImportError> {
    read_features_up_to(path, MAX_FEATURE_BYTES, progress)
}

/// [`read_features`] refusing a feature larger than `max_feature_bytes` (bytes of its JSON).
pub fn read_features_up_to(
    path: &Path,
    max_feature_bytes: usize,
    progress: impl FnMut(u64),
) -> Result<Vec<geojson::Feature>, ImportError> {
    let (sink, done) = std::sync::mpsc::channel();
    let outcome = read::run(
        path,
        max_feature_bytes,
        progress,
        workers(),
        &|feature| feature,
        &|batch| sink.send(batch).is_ok(),
    );
    drop(sink);
    let mut order = InOrder::new();
    for batch in done {
        order.push(batch);
    }
    let mut features = Vec::new();
    while let Some(batch) = order.pop() {
        features.extend(batch?.1);
    }
    outcome?;
    Ok(features)
}

/// Threads that parse and validate features.
fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// The id of a feature as given, for naming it when it is rejected.
fn given_id(feature: &geojson::Feature) -> Option<String> {
    feature.id.as_ref().map(|id| match id {
        geojson::feature::Id::String(s) => s.clone(),
        geojson::feature::Id::Number(n) => n.to_string(),
    })
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

/// One validated feature: its id as given, and the prepared feature or why it was refused.
type Checked = (Option<String>, Result<NewFeature, FeatureError>);

/// Validation results in input order.
type Validated = Vec<Checked>;

/// Validates every feature on all cores (geometry validity checks dominate large imports),
/// off the async threads, keeping the input order.
async fn validate_all(
    def: CollectionDef,
    crs: InputCrs,
    features: Vec<geojson::Feature>,
) -> Result<Validated, ImportError> {
    tokio::task::spawn_blocking(move || {
        let chunk = features.len().div_ceil(workers()).max(1024);
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
                            .map(|feature| (given_id(&feature), def.prepare(feature, crs)))
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

/// The collection to import into, whether the import creates it, and whether its stored
/// definition is (re)written: when it is created, or when the import names a new source.
async fn target(
    store: &dyn Store,
    options: &ImportOptions,
    features: &[geojson::Feature],
) -> Result<(CollectionDef, bool, bool), ImportError> {
    let (mut def, created) = target_definition(store, options, features).await?;
    let changed = def.set_source(options.attribution.as_deref(), options.license.as_deref());
    Ok((def, created, created || changed))
}

/// The collection to import into and whether the import creates it. `features` (the whole
/// file) is needed only when the schema or geometry type comes from the data.
async fn target_definition(
    store: &dyn Store,
    options: &ImportOptions,
    features: &[geojson::Feature],
) -> Result<(CollectionDef, bool), ImportError> {
    let existing = existing_definition(store, &options.collection).await?;
    let stored_already = store
        .collections()
        .await
        .map_err(ServiceError::from)?
        .iter()
        .any(|d| d.get("id").and_then(Value::as_str) == Some(options.collection.as_str()));
    Ok(match (&options.schema, existing) {
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
        (SchemaSource::Infer, None) => (infer_definition(&options.collection, features)?, true),
    })
}

/// The changes made of validated features, in file order, and the features refused.
struct Tally {
    upsert: bool,
    rejected: Vec<Rejected>,
    /// The 128-bit hashes of the ids met so far: an id given twice in one file is refused the
    /// second time. Hashes rather than the ids, which would stay in memory after their features
    /// are written; two ids of one file sharing a hash is as likely as a stray bit flip.
    seen: HashSet<u128, foldhash::fast::FixedState>,
}

impl Tally {
    fn new(upsert: bool) -> Self {
        Self {
            upsert,
            rejected: Vec::new(),
            seen: HashSet::default(),
        }
    }

    /// The changes for consecutive features starting at position `first`.
    fn take(&mut self, first: usize, validated: Validated) -> Vec<Change> {
        let mut changes = Vec::with_capacity(validated.len());
        // Positions are 1-based, as people count features.
        for (index, (id, result)) in (first + 1..).zip(validated) {
            match result {
                Ok(prepared) => {
                    if let Some(fid) = &prepared.id
                        && !self
                            .seen
                            .insert(xxhash_rust::xxh3::xxh3_128(fid.as_str().as_bytes()))
                    {
                        self.rejected.push(Rejected {
                            index,
                            id: Some(fid.to_string()),
                            reason: "the id appears twice in the file".into(),
                        });
                        continue;
                    }
                    changes.push(if self.upsert {
                        Change::Upsert(prepared)
                    } else {
                        Change::Insert(prepared)
                    });
                }
                Err(error) => self.rejected.push(Rejected {
                    index,
                    id,
                    reason: error.to_string(),
                }),
            }
        }
        changes
    }
}

/// Validates `features` and writes them to the store in one transaction.
pub async fn import_features(
    store: &dyn Store,
    options: &ImportOptions,
    features: Vec<geojson::Feature>,
) -> Result<ImportReport, ImportError> {
    let (def, created, rewrite) = target(store, options, &features).await?;
    let read = features.len();
    let validated = validate_all(def.clone(), options.crs, features).await?;
    let mut tally = Tally::new(options.upsert);
    let changes = tally.take(0, validated);
    let mut report = ImportReport {
        read,
        imported: 0,
        rejected: tally.rejected,
        schema: def.json_schema(),
        created,
    };
    if !report.rejected.is_empty() && !options.skip_invalid {
        return Err(ImportError::Rejected(Box::new(report)));
    }
    if report.read > 0 && report.rejected.len() >= report.read {
        return Err(ImportError::NothingValid(Box::new(report)));
    }
    let definition = rewrite.then(|| def.to_json());
    let mut bulk = store
        .bulk_write(&def.id, definition.as_ref())
        .await
        .map_err(ServiceError::from)?;
    bulk.write(changes).await.map_err(ServiceError::from)?;
    let imported = bulk.commit().await.map_err(ServiceError::from)?;
    report.imported = usize::try_from(imported).unwrap_or(usize::MAX);
    Ok(report)
}

/// Reads, validates and writes a file into a collection that exists, all at once: the file is
/// parsed and validated on every core while the features validated so far are written, in one
/// transaction committed at the end, so only a few batches of features are in memory at a time.
async fn stream_file(
    store: &dyn Store,
    path: &Path,
    options: &ImportOptions,
    progress: impl FnMut(u64) + Send + 'static,
) -> Result<ImportReport, ImportError> {
    let (def, created, rewrite) = target(store, options, &[]).await?;
    let workers = workers();
    let (sink, mut done) = tokio::sync::mpsc::channel(workers * 2);
    let reading = {
        let def = def.clone();
        let crs = options.crs;
        let path = path.to_owned();
        let max_feature_bytes = options.max_feature_bytes;
        tokio::task::spawn_blocking(move || {
            read::run(
                &path,
                max_feature_bytes,
                progress,
                workers,
                &|feature| (given_id(&feature), def.prepare(feature, crs)),
                &|batch| sink.blocking_send(batch).is_ok(),
            )
        })
    };
    let definition = rewrite.then(|| def.to_json());
    let mut bulk = Some(
        store
            .bulk_write(&def.id, definition.as_ref())
            .await
            .map_err(ServiceError::from)?,
    );
    let mut tally = Tally::new(options.upsert);
    let mut order = InOrder::new();
    while let Some(batch) = done.recv().await {
        order.push(batch);
        while let Some(batch) = order.pop() {
            let (first, validated) = batch?;
            let changes = tally.take(first, validated);
            if !tally.rejected.is_empty() && !options.skip_invalid {
                // Nothing will be written: let go of the write lock, keep reading to report
                // every rejected feature.
                bulk = None;
            }
            if let Some(bulk) = bulk.as_mut() {
                bulk.write(changes).await.map_err(ServiceError::from)?;
            }
        }
    }
    let read = reading.await.map_err(|e| ImportError::Format {
        path: path.display().to_string(),
        reason: e.to_string(),
    })??;
    let mut report = ImportReport {
        read,
        imported: 0,
        rejected: tally.rejected,
        schema: def.json_schema(),
        created,
    };
    match bulk {
        // Every feature rejected: the transaction (and a new collection) is rolled back.
        Some(_) if report.read > 0 && report.rejected.len() >= report.read => {
            Err(ImportError::NothingValid(Box::new(report)))
        }
        Some(bulk) if report.rejected.is_empty() || options.skip_invalid => {
            let imported = bulk.commit().await.map_err(ServiceError::from)?;
            report.imported = usize::try_from(imported).unwrap_or(usize::MAX);
            Ok(report)
        }
        _ => Err(ImportError::Rejected(Box::new(report))),
    }
}

/// Reads and imports one file.
pub async fn import_file(
    store: &Arc<dyn Store>,
    path: &Path,
    options: &ImportOptions,
    progress: impl FnMut(u64) + Send + 'static,
) -> Result<ImportReport, ImportError> {
    if options.schema == SchemaSource::Existing {
        return stream_file(store.as_ref(), path, options, progress).await;
    }
    // The schema or the geometry type comes from the whole file.
    let owned = path.to_owned();
    let max_feature_bytes = options.max_feature_bytes;
    let features = tokio::task::spawn_blocking(move || {
        read_features_up_to(&owned, max_feature_bytes, progress)
    })
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
            attribution: None,
            license: None,
            max_feature_bytes: MAX_FEATURE_BYTES,
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
            attribution: None,
            license: None,
            max_feature_bytes: MAX_FEATURE_BYTES,
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
        assert_eq!(report.rejected[0].index, 2, "1-based: the second feature");
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

    /// Writes `features` as a FeatureCollection (one per line, after a `crs` member) and
    /// returns its path.
    fn collection_file(dir: &Path, features: &[Value]) -> std::path::PathBuf {
        let path = dir.join("in.geojson");
        let lines: Vec<String> = features.iter().map(Value::to_string).collect();
        std::fs::write(
            &path,
            format!(
                "{{\"type\": \"FeatureCollection\",\n\"crs\": {{\"type\": \"name\", \"properties\": {{\"name\": \"urn:ogc:def:crs:OGC:1.3:CRS84\"}}}},\n\"features\": [\n{}\n]}}\n",
                lines.join(",\n")
            ),
        )
        .unwrap();
        path
    }

    /// Manholes with codes `4101040102000000 + i`.
    fn manholes(n: usize) -> Vec<Value> {
        (0..n)
            .map(|i| {
                manhole(
                    &format!("{}", 4_101_040_102_000_000_u64 + i as u64),
                    "intact",
                )
            })
            .collect()
    }

    async fn stored_ids(store: &Arc<dyn Store>) -> Vec<String> {
        store
            .features(&CollectionId::parse("manholes").unwrap())
            .await
            .unwrap()
            .iter()
            .map(|f| f.id.to_string())
            .collect()
    }

    #[tokio::test]
    async fn a_large_file_streams_into_the_store_in_file_order() {
        let dir = tempfile::tempdir().unwrap();
        let input = manholes(5_000);
        let path = collection_file(dir.path(), &input);
        let store = store().await;
        let read = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let seen = Arc::clone(&read);
        let report = import_file(
            &store,
            &path,
            &options("manholes", SchemaSource::Existing),
            move |bytes| seen.store(bytes, std::sync::atomic::Ordering::Relaxed),
        )
        .await
        .unwrap();
        assert_eq!((report.read, report.imported), (5_000, 5_000));
        assert!(report.created && report.rejected.is_empty());
        assert_eq!(
            read.load(std::sync::atomic::Ordering::Relaxed),
            std::fs::metadata(&path).unwrap().len()
        );
        let expected: Vec<String> = input
            .iter()
            .map(|f| {
                f["properties"]["component_code"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(stored_ids(&store).await, expected);
    }

    #[tokio::test]
    async fn a_streamed_file_with_bad_features_writes_nothing_and_names_every_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut input = manholes(4_000);
        input[10]["properties"]["status"] = json!("broken");
        input[3_999]["properties"]["status"] = json!("broken");
        input[2_500] = input[7].clone();
        let path = collection_file(dir.path(), &input);
        let store = store().await;
        let mut opts = options("manholes", SchemaSource::Existing);
        let err = import_file(&store, &path, &opts, |_| {}).await.unwrap_err();
        let ImportError::Rejected(report) = err else {
            panic!("expected a rejection, got {err}")
        };
        let rejected: Vec<(usize, &str)> = report
            .rejected
            .iter()
            .map(|r| (r.index, r.reason.as_str()))
            .collect();
        assert_eq!(rejected.len(), 3, "{rejected:?}");
        assert_eq!(
            (rejected[0].0, rejected[1].0, rejected[2].0),
            (11, 2_501, 4_000)
        );
        assert!(rejected[1].1.contains("twice"));
        assert_eq!(report.read, 4_000);
        assert!(stored_ids(&store).await.is_empty());
        assert!(store.collections().await.unwrap().is_empty());
        opts.skip_invalid = true;
        let report = import_file(&store, &path, &opts, |_| {}).await.unwrap();
        assert_eq!((report.imported, report.rejected.len()), (3_997, 3));
        assert_eq!(stored_ids(&store).await.len(), 3_997);
    }

    #[tokio::test]
    async fn a_truncated_file_is_a_format_error_naming_where_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = collection_file(dir.path(), &manholes(3_000));
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, &text[..text.len() - 60]).unwrap();
        let store = store().await;
        let err = import_file(
            &store,
            &path,
            &options("manholes", SchemaSource::Existing),
            |_| {},
        )
        .await
        .unwrap_err();
        let ImportError::Format { reason, .. } = &err else {
            panic!("expected a format error, got {err}")
        };
        // The header takes three lines; the last feature is on line 3 + 3,000.
        assert!(reason.contains("line 3003"), "{reason}");
        assert!(stored_ids(&store).await.is_empty());
    }

    #[tokio::test]
    async fn newline_delimited_features_and_single_features_stream_in() {
        let dir = tempfile::tempdir().unwrap();
        let lines: Vec<String> = manholes(2_500)
            .iter()
            .map(|f| format!("\u{1e}{f}"))
            .collect();
        let nd = dir.path().join("in.geojsons");
        std::fs::write(&nd, lines.join("\n")).unwrap();
        let store = store().await;
        let opts = options("manholes", SchemaSource::Existing);
        let report = import_file(&store, &nd, &opts, |_| {}).await.unwrap();
        assert_eq!(report.imported, 2_500);
        let single = dir.path().join("one.geojson");
        let mut one = manhole("4101040102900001", "intact");
        one["bbox"] = json!([113.7, 34.7, 113.7, 34.7]);
        std::fs::write(&single, serde_json::to_string_pretty(&one).unwrap()).unwrap();
        let report = import_file(&store, &single, &opts, |_| {}).await.unwrap();
        assert_eq!(
            (report.read, report.imported, report.created),
            (1, 1, false)
        );
        assert_eq!(stored_ids(&store).await.len(), 2_501);
        let bare = dir.path().join("bare.geojson");
        std::fs::write(&bare, r#"{"type": "Point", "coordinates": [113.7, 34.7]}"#).unwrap();
        let err = import_file(&store, &bare, &opts, |_| {}).await.unwrap_err();
        assert!(err.to_string().contains("a bare geometry"), "{err}");
    }

    #[tokio::test]
    async fn skip_invalid_that_rejects_every_feature_fails_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut input = manholes(3);
        for feature in &mut input {
            feature["properties"]["status"] = json!("broken");
        }
        let path = collection_file(dir.path(), &input);
        let store = store().await;
        let mut opts = options("manholes", SchemaSource::Existing);
        opts.skip_invalid = true;
        let err = import_file(&store, &path, &opts, |_| {}).await.unwrap_err();
        let ImportError::NothingValid(report) = &err else {
            panic!("expected all rejected, got {err}")
        };
        assert_eq!(
            (report.read, report.rejected.len(), report.imported),
            (3, 3, 0)
        );
        assert_eq!(
            report.rejected.iter().map(|r| r.index).collect::<Vec<_>>(),
            [1, 2, 3],
            "positions are 1-based"
        );
        assert!(
            err.to_string().contains("all 3 features were rejected"),
            "{err}"
        );
        // A new collection is not created either.
        let mut opts = options("new_points", SchemaSource::Infer);
        opts.skip_invalid = true;
        let bad = dir.path().join("bad.geojson");
        std::fs::write(
            &bad,
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[500,1]},"properties":{}}]}"#,
        )
        .unwrap();
        let err = import_file(&store, &bad, &opts, |_| {}).await.unwrap_err();
        assert!(matches!(err, ImportError::NothingValid(_)), "{err}");
        assert!(store.collections().await.unwrap().is_empty());
    }
}
