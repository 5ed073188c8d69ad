//! The embedded SQLite store (the default): one file, WAL journal, migrations applied on open.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use geozero::{CoordDimensions, ToGeo, ToWkb};
use serde_json::Value;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, Sqlite, SqliteConnection, SqlitePool};

use super::{Applied, BulkWrite, Change, Store, StoreError};
use crate::model::{CollectionId, Feature, FeatureId, NameCache, NewFeature};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// Rows per INSERT.
const INSERT_CHUNK: usize = 1_000;

/// Chunks a bulk write encodes on the blocking threads ahead of the one being inserted.
const ENCODE_AHEAD: usize = 4;

/// Page cache of a bulk write's connection, KiB: the default 2 MiB makes a large transaction
/// spill modified pages to the journal and read them back.
const BULK_CACHE_KIB: i64 = 256 * 1024;

/// SQLite implementation of [`Store`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Whether the database lives in memory (its one connection must never close).
    in_memory: bool,
    /// Serialises this process's case writes: SQLite has one writer at a time, and waiting here
    /// is cheaper than its busy-retry loop.
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
}

fn now_text() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(super) fn parse_time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .map_or_else(|_| DateTime::<Utc>::UNIX_EPOCH, |t| t.with_timezone(&Utc))
}

fn encode_geometry(feature: &NewFeature) -> Vec<u8> {
    feature
        .geometry
        .to_wkb(CoordDimensions::xy())
        .expect("WKB encoding of a validated geometry cannot fail")
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` and applies pending migrations.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let options = SqliteConnectOptions::from_str(url)?;
        if !in_memory {
            create_private(options.get_filename());
        }
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30));
        // An in-memory database lives as long as its one connection.
        let pool = if in_memory {
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options)
                .await?
        } else {
            SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(options)
                .await?
        };
        MIGRATOR.run(&pool).await?;
        Ok(Self {
            pool,
            in_memory,
            writer: std::sync::Arc::default(),
        })
    }

    /// The connection pool, for stores of other resources in the same database.
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The lock held by case writes.
    pub(crate) fn writer(&self) -> &tokio::sync::Mutex<()> {
        &self.writer
    }
}

/// Creates the database file `path`, empty and readable by its owner only (0600), unless it
/// exists. SQLite would create it 0644, and gives its `-wal` and `-shm` files the database
/// file's permissions: an empty file is a valid empty database, so creating it first makes all
/// three private.
fn create_private(path: &std::path::Path) {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    // An existing file is left as it is; a missing directory and the like are reported by
    // SQLite in its own words when it connects.
    let _ = options.open(path);
}

/// Keys (`fid`) per block when loading a collection: one query answers a block as one text
/// (about 1 MB for manholes, small enough for the allocators to reuse from block to block).
const BLOCK_KEYS: i64 = 2_048;

/// A block of a collection's rows as one text, so that sqlx hands over one value per block
/// instead of seven per row (each value it returns is copied and passed between threads, which
/// made reading a million rows take longer than decoding them). Fields are separated by U+001F
/// and rows by U+001E; neither can occur unescaped in any field: ids, numbers, timestamps and
/// hex have a fixed alphabet and JSON text escapes every control character. The properties
/// come last, so even a corrupt row cannot shift the fields of the next one.
const BLOCK_QUERY: &str = "SELECT group_concat(
        concat_ws(char(31), fid, id, version, created_at, updated_at, hex(geometry), properties),
        char(30))
    FROM features WHERE collection = ? AND fid BETWEEN ? AND ?";

/// Decodes one block of rows (see [`BLOCK_QUERY`]), in key order.
fn decode_block(collection: &CollectionId, block: &str) -> Result<Vec<Arc<Feature>>, StoreError> {
    let mut times = TimeCache::default();
    let mut names = NameCache::new();
    let mut features = block
        .split('\u{1e}')
        .map(|row| decode_row(collection, row, &mut times, &mut names).map(Arc::new))
        .collect::<Result<Vec<_>, _>>()?;
    // `group_concat` follows the index, in key order; sort only if it ever did not.
    if !features.is_sorted_by_key(|f| f.fid) {
        features.sort_unstable_by_key(|f| f.fid);
    }
    Ok(features)
}

/// The last timestamp text read and its parsed value: the rows of one import share their
/// timestamps, so most rows skip parsing.
#[derive(Default)]
struct TimeCache {
    last: Option<(String, DateTime<Utc>)>,
}

impl TimeCache {
    fn parse(&mut self, text: &str) -> DateTime<Utc> {
        match &self.last {
            Some((seen, time)) if seen == text => *time,
            _ => {
                let time = parse_time(text);
                self.last = Some((text.to_owned(), time));
                time
            }
        }
    }
}

/// Decodes one row of a block: `fid`, id, version, created, updated, hex WKB, properties.
fn decode_row(
    collection: &CollectionId,
    row: &str,
    times: &mut TimeCache,
    names: &mut NameCache,
) -> Result<Feature, StoreError> {
    let mut fields = row.splitn(7, '\u{1f}');
    let mut field = || fields.next().unwrap_or_default();
    let (fid, id, version, created, updated, geometry, properties) = (
        field(),
        field(),
        field(),
        field(),
        field(),
        field(),
        field(),
    );
    let corrupt = |reason: String| StoreError::Corrupt {
        collection: collection.to_string(),
        fid: fid.parse().unwrap_or_default(),
        reason,
    };
    let fid: i64 = fid
        .parse()
        .map_err(|e| corrupt(format!("key {fid:?}: {e}")))?;
    let id = FeatureId::parse(id).map_err(|e| corrupt(e.to_string()))?;
    let version: i64 = version
        .parse()
        .map_err(|e| corrupt(format!("version {version:?}: {e}")))?;
    let wkb = hex::decode(geometry).map_err(|e| corrupt(format!("geometry: {e}")))?;
    let geometry = geozero::wkb::Wkb(wkb)
        .to_geo()
        .map_err(|e| corrupt(format!("geometry: {e}")))?;
    let properties = names
        .parse(properties)
        .map_err(|e| corrupt(format!("properties: {e}")))?;
    Ok(Feature::new(
        fid,
        id,
        geometry,
        properties,
        version,
        times.parse(created),
        times.parse(updated),
    ))
}

/// Reads and decodes the features with keys `low..=high` of `collection`.
async fn read_block(
    pool: SqlitePool,
    collection: CollectionId,
    low: i64,
    high: i64,
) -> Result<Vec<Arc<Feature>>, StoreError> {
    let row = sqlx::query(BLOCK_QUERY)
        .bind(collection.as_str())
        .bind(low)
        .bind(high)
        .fetch_one(&pool)
        .await?;
    // The text is read in place from the row, on the decoding thread.
    tokio::task::spawn_blocking(move || match row.try_get::<Option<&str>, _>(0)? {
        Some(block) => decode_block(&collection, block),
        None => Ok(Vec::new()),
    })
    .await
    .map_err(|e| StoreError::Corrupt {
        collection: String::new(),
        fid: low,
        reason: format!("decoding task failed: {e}"),
    })?
}

async fn collection_exists(
    conn: &mut SqliteConnection,
    id: &CollectionId,
) -> Result<bool, StoreError> {
    Ok(sqlx::query("SELECT 1 FROM collections WHERE id = ?")
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?
        .is_some())
}

async fn put_collection_on(
    conn: &mut SqliteConnection,
    id: &CollectionId,
    definition: &Value,
) -> Result<(), StoreError> {
    let now = now_text();
    sqlx::query(
        "INSERT INTO collections (id, definition, created_at, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at",
    )
    .bind(id.as_str())
    .bind(definition.to_string())
    .bind(&now)
    .bind(&now)
    .execute(conn)
    .await?;
    Ok(())
}

/// New features with consecutive keys, encoded for one INSERT.
struct InsertChunk {
    first_fid: i64,
    ids: Vec<FeatureId>,
    /// Where each row starts in `rows` (1-based, as SQL counts), as a JSON array.
    starts: String,
    /// The rows, one after the other: a header of three fixed-width decimal lengths (id, WKB,
    /// properties JSON text), then those three values' bytes.
    rows: Vec<u8>,
}

/// Digits of the id, geometry and properties lengths in a row's header (23 in all).
const ROW_HEADER: [usize; 3] = [3, 10, 10];

/// Inserts a chunk, SQLite unpacking its rows: the driver binds and copies two values per chunk
/// instead of eight per row (each costs more than the row's share of the unpacking), and the
/// stored values are the same bytes as if bound one by one.
const INSERT_CHUNK_SQL: &str = "
    INSERT INTO features (fid, collection, id, geometry, properties, version, created_at, updated_at)
    SELECT ?1 + n, ?2,
           CAST(substr(?5, o + 23, id_len) AS TEXT),
           substr(?5, o + 23 + id_len, geometry_len),
           CAST(substr(?5, o + 23 + id_len + geometry_len, properties_len) AS TEXT),
           1, ?3, ?3
    FROM (SELECT key AS n, value AS o,
                 CAST(substr(?5, value, 3) AS INTEGER) AS id_len,
                 CAST(substr(?5, value + 3, 10) AS INTEGER) AS geometry_len,
                 CAST(substr(?5, value + 13, 10) AS INTEGER) AS properties_len
          FROM json_each(?4))";

/// Encodes `features`, whose keys start at `first_fid`; a feature without id takes its key.
fn encode_chunk(features: &[NewFeature], first_fid: i64) -> InsertChunk {
    use std::io::Write as _;
    let mut ids = Vec::with_capacity(features.len());
    let mut starts = String::with_capacity(features.len() * 8);
    let mut rows = Vec::with_capacity(features.len() * 512);
    let mut properties = Vec::with_capacity(1024);
    starts.push('[');
    for (fid, feature) in (first_fid..).zip(features) {
        let id = feature
            .id
            .clone()
            .unwrap_or_else(|| FeatureId::parse(&fid.to_string()).expect("decimal ids are valid"));
        let geometry = encode_geometry(feature);
        properties.clear();
        serde_json::to_writer(&mut properties, &feature.properties)
            .expect("serialising a JSON map cannot fail");
        if fid > first_fid {
            starts.push(',');
        }
        starts.push_str(&(rows.len() + 1).to_string());
        let [id_digits, geometry_digits, properties_digits] = ROW_HEADER;
        write!(
            rows,
            "{:0id_digits$}{:0geometry_digits$}{:0properties_digits$}",
            id.as_str().len(),
            geometry.len(),
            properties.len()
        )
        .expect("writing to memory cannot fail");
        rows.extend_from_slice(id.as_str().as_bytes());
        rows.extend_from_slice(&geometry);
        rows.extend_from_slice(&properties);
        ids.push(id);
    }
    starts.push(']');
    InsertChunk {
        first_fid,
        ids,
        starts,
        rows,
    }
}

/// Inserts an encoded chunk; an id that exists already fails it with
/// [`StoreError::DuplicateId`].
async fn insert_chunk(
    conn: &mut SqliteConnection,
    collection: &CollectionId,
    chunk: &InsertChunk,
    now: &str,
) -> Result<(), StoreError> {
    let inserted = sqlx::query(INSERT_CHUNK_SQL)
        .bind(chunk.first_fid)
        .bind(collection.as_str())
        .bind(now)
        .bind(chunk.starts.as_str())
        .bind(chunk.rows.as_slice())
        .execute(&mut *conn)
        .await;
    match inserted {
        Ok(_) => Ok(()),
        Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
            Err(StoreError::DuplicateId {
                collection: collection.clone(),
                id: first_duplicate(conn, collection, &chunk.ids).await?,
            })
        }
        Err(error) => Err(error.into()),
    }
}

/// Inserts a run of new features with consecutive keys from `next_fid`.
async fn insert_run(
    conn: &mut SqliteConnection,
    collection: &CollectionId,
    run: Vec<NewFeature>,
    next_fid: &mut i64,
    now: &str,
    applied: &mut Applied,
) -> Result<(), StoreError> {
    // The features move into the stored ones: cloning a million property maps costs more than
    // writing them.
    let time = parse_time(now);
    let mut run = run.into_iter().peekable();
    while run.peek().is_some() {
        let features: Vec<NewFeature> = run.by_ref().take(INSERT_CHUNK).collect();
        let chunk = encode_chunk(&features, *next_fid);
        insert_chunk(conn, collection, &chunk, now).await?;
        for ((fid, id), feature) in (chunk.first_fid..).zip(chunk.ids).zip(features) {
            applied.stored.push(Feature::new(
                fid,
                id,
                feature.geometry,
                feature.properties,
                1,
                time,
                time,
            ));
            *next_fid = fid + 1;
        }
    }
    Ok(())
}

/// The id in `ids` that already exists or repeats within `ids`.
async fn first_duplicate(
    conn: &mut SqliteConnection,
    collection: &CollectionId,
    ids: &[FeatureId],
) -> Result<FeatureId, StoreError> {
    let mut seen = std::collections::HashSet::new();
    for id in ids {
        if !seen.insert(id) {
            return Ok(id.clone());
        }
        let exists = sqlx::query("SELECT 1 FROM features WHERE collection = ? AND id = ?")
            .bind(collection.as_str())
            .bind(id.as_str())
            .fetch_optional(&mut *conn)
            .await?;
        if exists.is_some() {
            return Ok(id.clone());
        }
    }
    Ok(ids[0].clone())
}

/// The key, version and creation time of an upserted feature.
struct Upserted {
    fid: i64,
    id: FeatureId,
    version: i64,
    created_at: String,
}

async fn upsert_one(
    conn: &mut SqliteConnection,
    collection: &CollectionId,
    feature: &NewFeature,
    next_fid: &mut i64,
    now: &str,
) -> Result<Upserted, StoreError> {
    let id = feature
        .id
        .clone()
        .unwrap_or_else(|| FeatureId::parse(&next_fid.to_string()).expect("decimal ids are valid"));
    let row = sqlx::query(
        "INSERT INTO features (fid, collection, id, geometry, properties, version, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, 1, ?, ?)
         ON CONFLICT (collection, id) DO UPDATE SET geometry = excluded.geometry,
             properties = excluded.properties, version = features.version + 1,
             updated_at = excluded.updated_at
         RETURNING fid, version, created_at",
    )
    .bind(*next_fid)
    .bind(collection.as_str())
    .bind(id.as_str())
    .bind(encode_geometry(feature))
    .bind(serde_json::to_string(&feature.properties).expect("serialising a JSON map cannot fail"))
    .bind(now)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let fid: i64 = row.try_get("fid")?;
    if fid == *next_fid {
        *next_fid += 1;
    }
    Ok(Upserted {
        fid,
        id,
        version: row.try_get("version")?,
        created_at: row.try_get("created_at")?,
    })
}

async fn delete_one(
    conn: &mut SqliteConnection,
    collection: &CollectionId,
    id: &FeatureId,
) -> Result<bool, StoreError> {
    let gone = sqlx::query("DELETE FROM features WHERE collection = ? AND id = ?")
        .bind(collection.as_str())
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(gone.rows_affected() > 0)
}

/// Creates or updates the collection's definition when one is given, else checks that the
/// collection exists; returns the key of the next new feature.
async fn start_write(
    conn: &mut SqliteConnection,
    collection: &CollectionId,
    definition: Option<&Value>,
) -> Result<i64, StoreError> {
    match definition {
        Some(definition) => put_collection_on(&mut *conn, collection, definition).await?,
        None => {
            if !collection_exists(&mut *conn, collection).await? {
                return Err(StoreError::UnknownCollection(collection.clone()));
            }
        }
    }
    Ok(
        sqlx::query_scalar("SELECT COALESCE(MAX(fid), 0) + 1 FROM features")
            .fetch_one(conn)
            .await?,
    )
}

/// A bulk write on SQLite: one transaction; inserts are encoded on the blocking threads, a few
/// chunks ahead of the one being inserted.
struct SqliteBulkWrite {
    tx: sqlx::Transaction<'static, Sqlite>,
    collection: CollectionId,
    next_fid: i64,
    now: String,
    /// Inserts waiting to fill a chunk.
    run: Vec<NewFeature>,
    /// Chunks being encoded, in order.
    encoding: std::collections::VecDeque<tokio::task::JoinHandle<InsertChunk>>,
    /// Features inserted or replaced.
    stored: u64,
    /// The connection's page cache size to restore, when it was raised.
    cache_size: Option<i64>,
    /// Whether a write failed: the transaction must not be committed.
    failed: bool,
}

impl SqliteBulkWrite {
    /// Starts encoding the waiting inserts.
    fn encode_run(&mut self) {
        if self.run.is_empty() {
            return;
        }
        let features = std::mem::take(&mut self.run);
        let first_fid = self.next_fid;
        self.next_fid += i64::try_from(features.len()).unwrap_or(0);
        self.encoding
            .push_back(tokio::task::spawn_blocking(move || {
                encode_chunk(&features, first_fid)
            }));
    }

    /// Inserts encoded chunks until at most `ahead` are left encoding.
    async fn insert_encoded(&mut self, ahead: usize) -> Result<(), StoreError> {
        while self.encoding.len() > ahead {
            let Some(task) = self.encoding.pop_front() else {
                break;
            };
            let chunk = match task.await {
                Ok(chunk) => chunk,
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(_) => return Err(sqlx::Error::WorkerCrashed.into()),
            };
            insert_chunk(&mut self.tx, &self.collection, &chunk, &self.now).await?;
            self.stored += chunk.ids.len() as u64;
        }
        Ok(())
    }

    /// Writes `changes`, inserts in chunks encoded ahead.
    async fn write_all(&mut self, changes: Vec<Change>) -> Result<(), StoreError> {
        for change in changes {
            match change {
                Change::Insert(feature) => {
                    self.run.push(feature);
                    if self.run.len() == INSERT_CHUNK {
                        self.encode_run();
                        self.insert_encoded(ENCODE_AHEAD).await?;
                    }
                }
                Change::Upsert(feature) => {
                    self.encode_run();
                    self.insert_encoded(0).await?;
                    upsert_one(
                        &mut self.tx,
                        &self.collection,
                        &feature,
                        &mut self.next_fid,
                        &self.now,
                    )
                    .await?;
                    self.stored += 1;
                }
                Change::Delete(id) => {
                    self.encode_run();
                    self.insert_encoded(0).await?;
                    delete_one(&mut self.tx, &self.collection, &id).await?;
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl BulkWrite for SqliteBulkWrite {
    async fn write(&mut self, changes: Vec<Change>) -> Result<(), StoreError> {
        if self.failed {
            return Err(StoreError::FailedBulkWrite);
        }
        let written = self.write_all(changes).await;
        self.failed = written.is_err();
        written
    }

    async fn commit(mut self: Box<Self>) -> Result<u64, StoreError> {
        if self.failed {
            return Err(StoreError::FailedBulkWrite);
        }
        self.encode_run();
        self.insert_encoded(0).await?;
        if let Some(size) = self.cache_size {
            sqlx::query(&format!("PRAGMA cache_size = {size}"))
                .execute(&mut *self.tx)
                .await?;
        }
        self.tx.commit().await?;
        Ok(self.stored)
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn collections(&self) -> Result<Vec<Value>, StoreError> {
        let rows = sqlx::query("SELECT id, definition FROM collections ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let text: String = row.try_get("definition")?;
                serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
                    collection: row.try_get("id").unwrap_or_default(),
                    fid: 0,
                    reason: format!("definition: {e}"),
                })
            })
            .collect()
    }

    async fn put_collection(
        &self,
        id: &CollectionId,
        definition: &Value,
    ) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        put_collection_on(&mut conn, id, definition).await
    }

    async fn features(&self, collection: &CollectionId) -> Result<Vec<Arc<Feature>>, StoreError> {
        // Blocks of keys are read on several connections and decoded on the blocking threads
        // at once, in order, at most a few in flight.
        let (low, high, count): (Option<i64>, Option<i64>, i64) = sqlx::query_as(
            "SELECT MIN(fid), MAX(fid), COUNT(*) FROM features WHERE collection = ?",
        )
        .bind(collection.as_str())
        .fetch_one(&self.pool)
        .await?;
        let (Some(low), Some(high)) = (low, high) else {
            return Ok(Vec::new());
        };
        let in_flight_max =
            std::thread::available_parallelism().map_or(1, std::num::NonZero::get) + 1;
        let mut in_flight = std::collections::VecDeque::new();
        let mut features = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
        let mut start = low;
        while start <= high || !in_flight.is_empty() {
            if start <= high && in_flight.len() < in_flight_max {
                let end = start.saturating_add(BLOCK_KEYS - 1).min(high);
                in_flight.push_back(tokio::spawn(read_block(
                    self.pool.clone(),
                    collection.clone(),
                    start,
                    end,
                )));
                start = end.saturating_add(1);
                continue;
            }
            if let Some(task) = in_flight.pop_front() {
                features.extend(task.await.map_err(|e| StoreError::Corrupt {
                    collection: collection.to_string(),
                    fid: 0,
                    reason: format!("reading task failed: {e}"),
                })??);
            }
        }
        Ok(features)
    }

    async fn count(&self, collection: &CollectionId) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM features WHERE collection = ?")
            .bind(collection.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn apply(
        &self,
        collection: &CollectionId,
        definition: Option<&Value>,
        changes: Vec<Change>,
    ) -> Result<Applied, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut next_fid = start_write(&mut tx, collection, definition).await?;
        let now = now_text();
        let mut applied = Applied::default();
        let mut run = Vec::new();
        for change in changes {
            if let Change::Insert(feature) = change {
                run.push(feature);
                continue;
            }
            if !run.is_empty() {
                insert_run(
                    &mut tx,
                    collection,
                    std::mem::take(&mut run),
                    &mut next_fid,
                    &now,
                    &mut applied,
                )
                .await?;
            }
            match change {
                Change::Upsert(feature) => {
                    let row =
                        upsert_one(&mut tx, collection, &feature, &mut next_fid, &now).await?;
                    applied.stored.push(Feature::new(
                        row.fid,
                        row.id,
                        feature.geometry,
                        feature.properties,
                        row.version,
                        parse_time(&row.created_at),
                        parse_time(&now),
                    ));
                }
                Change::Delete(id) => {
                    if delete_one(&mut tx, collection, &id).await? {
                        applied.deleted.push(id);
                    }
                }
                Change::Insert(_) => unreachable!("inserts are collected above"),
            }
        }
        if !run.is_empty() {
            insert_run(&mut tx, collection, run, &mut next_fid, &now, &mut applied).await?;
        }
        tx.commit().await?;
        Ok(applied)
    }

    async fn bulk_write(
        &self,
        collection: &CollectionId,
        definition: Option<&Value>,
    ) -> Result<Box<dyn BulkWrite>, StoreError> {
        // Take the write lock now rather than when the first rows arrive.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let next_fid = start_write(&mut tx, collection, definition).await?;
        // An in-memory database is all cache already.
        let cache_size = if self.in_memory {
            None
        } else {
            let size: i64 = sqlx::query_scalar("PRAGMA cache_size")
                .fetch_one(&mut *tx)
                .await?;
            sqlx::query(&format!("PRAGMA cache_size = {}", -BULK_CACHE_KIB))
                .execute(&mut *tx)
                .await?;
            Some(size)
        };
        Ok(Box::new(SqliteBulkWrite {
            tx,
            collection: collection.clone(),
            next_fid,
            now: now_text(),
            run: Vec::new(),
            encoding: std::collections::VecDeque::new(),
            stored: 0,
            cache_size,
            failed: false,
        }))
    }

    async fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Geometry, point, polygon};
    use serde_json::json;

    fn new(id: Option<&str>, x: f64) -> NewFeature {
        let mut properties = serde_json::Map::new();
        properties.insert("name".into(), json!(format!("n{x}")));
        NewFeature {
            id: id.map(|i| FeatureId::parse(i).unwrap()),
            geometry: point!(x: x, y: 34.7).into(),
            properties,
        }
    }

    async fn store_with(collection: &str) -> (SqliteStore, CollectionId) {
        let store = SqliteStore::open("sqlite::memory:").await.unwrap();
        let id = CollectionId::parse(collection).unwrap();
        store
            .put_collection(&id, &json!({"id": collection}))
            .await
            .unwrap();
        (store, id)
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_new_database_and_its_wal_and_shm_files_are_readable_by_the_owner_only() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("private.db");
        let store = SqliteStore::open(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        let id = CollectionId::parse("things").unwrap();
        store
            .put_collection(&id, &json!({"id": "things"}))
            .await
            .unwrap();
        for suffix in ["", "-wal", "-shm"] {
            let file = dir.path().join(format!("private.db{suffix}"));
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{} is {mode:o}", file.display());
        }
    }

    #[tokio::test]
    async fn inserted_features_read_back_with_geometry_properties_and_version_one() {
        let (store, c) = store_with("things").await;
        let applied = store
            .apply(
                &c,
                None,
                vec![
                    Change::Insert(new(Some("a"), 113.1)),
                    Change::Insert(new(None, 113.2)),
                ],
            )
            .await
            .unwrap();
        assert_eq!(applied.stored.len(), 2);
        let read = store.features(&c).await.unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!(read[0].id.as_str(), "a");
        assert_eq!(read[1].id.as_str(), read[1].fid.to_string());
        assert_eq!(read[0].geometry, point!(x: 113.1, y: 34.7).into());
        assert_eq!(read[0].properties["name"], "n113.1");
        assert_eq!(read[0].version, 1);
        assert_eq!(read[0].json(), applied.stored[0].json());
    }

    #[tokio::test]
    async fn a_collection_larger_than_one_block_reads_back_whole_and_in_key_order() {
        let (store, c) = store_with("things").await;
        let total = usize::try_from(BLOCK_KEYS).unwrap() * 2 + 7;
        let changes = (0..total)
            .map(|i| Change::Insert(new(None, f64::from(u32::try_from(i).unwrap()) * 1e-4)))
            .collect();
        let applied = store.apply(&c, None, changes).await.unwrap();
        let read = store.features(&c).await.unwrap();
        assert_eq!(read.len(), total);
        assert!(read.windows(2).all(|w| w[0].fid < w[1].fid));
        for (stored, back) in applied.stored.iter().zip(&read) {
            assert_eq!(back.fid, stored.fid);
            assert_eq!(back.geometry, stored.geometry);
            assert_eq!(back.etag(), stored.etag());
            assert_eq!(back.created_at, stored.created_at);
        }
    }

    #[tokio::test]
    async fn interleaved_collections_read_back_each_whole_across_blocks_with_gaps() {
        let (store, a) = store_with("first").await;
        let b = CollectionId::parse("second").unwrap();
        store
            .put_collection(&b, &json!({"id": "second"}))
            .await
            .unwrap();
        // Alternating batches leave gaps in each collection's keys, and the keys of the first
        // span several blocks.
        let batch = usize::try_from(BLOCK_KEYS).unwrap() / 2 + 3;
        for round in 0..5_u32 {
            for c in [&a, &b] {
                let changes = (0..batch)
                    .map(|i| {
                        Change::Insert(new(
                            None,
                            f64::from(round) + f64::from(u32::try_from(i).unwrap()) * 1e-5,
                        ))
                    })
                    .collect();
                store.apply(c, None, changes).await.unwrap();
            }
        }
        store
            .apply(
                &b,
                None,
                vec![Change::Delete(
                    FeatureId::parse(&(batch + 1).to_string()).unwrap(),
                )],
            )
            .await
            .unwrap();
        let first = store.features(&a).await.unwrap();
        let second = store.features(&b).await.unwrap();
        assert_eq!(first.len(), batch * 5);
        assert_eq!(second.len(), batch * 5 - 1);
        assert!(first.windows(2).all(|w| w[0].fid < w[1].fid));
        assert!(second.windows(2).all(|w| w[0].fid < w[1].fid));
        assert!(first.iter().all(|f| second.iter().all(|g| g.fid != f.fid)));
    }

    #[tokio::test]
    async fn properties_with_separator_characters_and_unicode_read_back_exactly() {
        let (store, c) = store_with("things").await;
        let mut properties = serde_json::Map::new();
        properties.insert("name".into(), json!("管城\u{1e}回族区\u{1f}|\"q\"\n"));
        properties.insert(
            "nested".into(),
            json!({"list": [1, "\u{1f}", null], "x": 1.5}),
        );
        properties.insert("empty".into(), json!(""));
        let feature = NewFeature {
            id: Some(FeatureId::parse("a:b.c-d_e").unwrap()),
            geometry: geo::Geometry::Polygon(polygon![
                (x: 113.0, y: 34.0), (x: 113.1, y: 34.0), (x: 113.1, y: 34.1), (x: 113.0, y: 34.0)
            ]),
            properties: properties.clone(),
        };
        let applied = store
            .apply(
                &c,
                None,
                vec![
                    Change::Insert(feature.clone()),
                    Change::Insert(new(None, 1.0)),
                ],
            )
            .await
            .unwrap();
        let read = store.features(&c).await.unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!(read[0].properties.to_map(), properties);
        assert_eq!(read[0].geometry, feature.geometry);
        assert_eq!(read[0].json(), applied.stored[0].json());
        assert_eq!(read[1].properties["name"], "n1");
    }

    #[tokio::test]
    async fn a_corrupt_row_is_an_error_naming_its_key() {
        let (store, c) = store_with("things").await;
        store
            .apply(
                &c,
                None,
                vec![
                    Change::Insert(new(Some("a"), 1.0)),
                    Change::Insert(new(Some("b"), 2.0)),
                ],
            )
            .await
            .unwrap();
        sqlx::query("UPDATE features SET properties = '{\"name\":' WHERE id = 'b'")
            .execute(store.pool())
            .await
            .unwrap();
        let err = store.features(&c).await.unwrap_err();
        assert!(
            matches!(err, StoreError::Corrupt { fid: 2, ref reason, .. } if reason.starts_with("properties")),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_batch_with_a_duplicate_id_writes_nothing() {
        let (store, c) = store_with("things").await;
        store
            .apply(&c, None, vec![Change::Insert(new(Some("a"), 1.0))])
            .await
            .unwrap();
        let err = store
            .apply(
                &c,
                None,
                vec![
                    Change::Insert(new(Some("b"), 2.0)),
                    Change::Insert(new(Some("a"), 3.0)),
                ],
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::DuplicateId { ref id, .. } if id.as_str() == "a"),
            "{err}"
        );
        assert_eq!(store.count(&c).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn an_upsert_keeps_the_key_and_raises_the_version() {
        let (store, c) = store_with("things").await;
        let first = store
            .apply(&c, None, vec![Change::Upsert(new(Some("a"), 1.0))])
            .await
            .unwrap();
        let second = store
            .apply(&c, None, vec![Change::Upsert(new(Some("a"), 2.0))])
            .await
            .unwrap();
        assert_eq!(first.stored[0].fid, second.stored[0].fid);
        assert_eq!(second.stored[0].version, 2);
        assert_eq!(
            store.features(&c).await.unwrap()[0].geometry,
            point!(x: 2.0, y: 34.7).into()
        );
    }

    #[tokio::test]
    async fn deletes_report_only_what_existed() {
        let (store, c) = store_with("things").await;
        store
            .apply(&c, None, vec![Change::Insert(new(Some("a"), 1.0))])
            .await
            .unwrap();
        let applied = store
            .apply(
                &c,
                None,
                vec![
                    Change::Delete(FeatureId::parse("a").unwrap()),
                    Change::Delete(FeatureId::parse("zz").unwrap()),
                ],
            )
            .await
            .unwrap();
        assert_eq!(applied.deleted.len(), 1);
        assert_eq!(store.count(&c).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn writing_to_an_unknown_collection_is_refused() {
        let store = SqliteStore::open("sqlite::memory:").await.unwrap();
        let c = CollectionId::parse("nope").unwrap();
        assert!(matches!(
            store.apply(&c, None, vec![]).await,
            Err(StoreError::UnknownCollection(_))
        ));
    }

    /// Features whose stored bytes are easy to get wrong: escapes, control characters, non-ASCII
    /// text, nested values, extreme numbers, holes, long ids and none.
    fn awkward() -> Vec<NewFeature> {
        let polygon: Geometry<f64> = geo::wkt! {
            POLYGON((113.0 34.0, 113.1 34.0, 113.1 34.1, 113.0 34.0), (113.01 34.01, 113.05 34.01, 113.05 34.05, 113.01 34.01))
        }
        .into();
        let collection: Geometry<f64> =
            Geometry::GeometryCollection(geo::GeometryCollection(vec![
                point!(x: 1.5, y: -2.25).into(),
                polygon.clone(),
            ]));
        let properties = [
            json!({"name": "\"quoted\" \\ back\u{1}slash\n\t", "名": "管城回族区 🏙", "n": 1e300, "z": -0.0}),
            json!({"nested": {"a": [1, 2.5, null, {"b": true}], "c": ""}, "big": u64::MAX, "neg": i64::MIN}),
            json!({}),
        ];
        let ids = [Some("x".repeat(128)), None, Some("a.b:c-d_e".to_owned())];
        let geometries = [point!(x: 113.7, y: 34.7).into(), polygon, collection];
        ids.into_iter()
            .zip(geometries)
            .zip(properties)
            .map(|((id, geometry), properties)| NewFeature {
                id: id.map(|i| FeatureId::parse(&i).unwrap()),
                geometry,
                properties: match properties {
                    Value::Object(map) => map,
                    _ => unreachable!(),
                },
            })
            .collect()
    }

    /// The stored columns of every feature, in key order.
    async fn rows(store: &SqliteStore) -> Vec<(i64, String, Vec<u8>, String, i64, String, String)> {
        sqlx::query_as(
            "SELECT fid, id, geometry, properties, version, created_at, updated_at FROM features
             WHERE typeof(id) = 'text' AND typeof(geometry) = 'blob' AND typeof(properties) = 'text'
             ORDER BY fid",
        )
        .fetch_all(store.pool())
        .await
        .unwrap()
    }

    /// What a row must hold: the id (or the key when there is none), WKB, compact JSON.
    fn expected(fid: i64, feature: &NewFeature) -> (i64, String, Vec<u8>, String, i64) {
        (
            fid,
            feature
                .id
                .as_ref()
                .map_or_else(|| fid.to_string(), |id| id.as_str().to_owned()),
            encode_geometry(feature),
            serde_json::to_string(&feature.properties).unwrap(),
            1,
        )
    }

    #[tokio::test]
    async fn rows_hold_exactly_the_ids_wkb_and_json_text_of_the_features() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("rows.db").display());
        let store = SqliteStore::open(&url).await.unwrap();
        let c = CollectionId::parse("things").unwrap();
        store
            .put_collection(&c, &json!({"id": "things"}))
            .await
            .unwrap();
        let features = awkward();
        let applied = store
            .apply(
                &c,
                None,
                features.iter().cloned().map(Change::Insert).collect(),
            )
            .await
            .unwrap();
        let mut bulk = store.bulk_write(&c, None).await.unwrap();
        let more: Vec<NewFeature> = features
            .iter()
            .cloned()
            .map(|mut f| {
                f.id = f.id.map(|id| {
                    let id = id.as_str();
                    FeatureId::parse(&format!("{}2", &id[..id.len().min(127)])).unwrap()
                });
                f
            })
            .collect();
        bulk.write(more.iter().cloned().map(Change::Insert).collect())
            .await
            .unwrap();
        assert_eq!(bulk.commit().await.unwrap(), 3);
        let rows = rows(&store).await;
        assert_eq!(rows.len(), 6);
        for (row, (fid, feature)) in rows.iter().zip((1..).zip(features.iter().chain(&more))) {
            assert_eq!(
                (row.0, row.1.clone(), row.2.clone(), row.3.clone(), row.4),
                expected(fid, feature)
            );
            assert_eq!(row.5, row.6);
        }
        assert_eq!(
            parse_time(&rows[0].5),
            applied.stored[0].created_at,
            "the stored time is the one returned"
        );
        assert_eq!(store.features(&c).await.unwrap()[4].id.as_str(), "5");
    }

    #[tokio::test]
    async fn a_bulk_write_dropped_or_failed_writes_nothing() {
        let store = SqliteStore::open("sqlite::memory:").await.unwrap();
        let c = CollectionId::parse("things").unwrap();
        let definition = json!({"id": "things"});
        let changes = |from: usize, n: usize| {
            (from..from + n)
                .map(|i| Change::Insert(new(Some(&format!("f{i}")), 1.0)))
                .collect::<Vec<_>>()
        };
        let mut bulk = store.bulk_write(&c, Some(&definition)).await.unwrap();
        bulk.write(changes(0, INSERT_CHUNK * 3 + 1)).await.unwrap();
        drop(bulk);
        assert!(store.collections().await.unwrap().is_empty());
        store.put_collection(&c, &definition).await.unwrap();
        store
            .apply(&c, None, vec![Change::Insert(new(Some("f7"), 1.0))])
            .await
            .unwrap();
        let is_f7 = |err: &StoreError| matches!(err, StoreError::DuplicateId { id, .. } if id.as_str() == "f7");
        // Inserts are written a few chunks behind: the error comes from the write that pushes
        // the chunk holding f7 out, or from the commit.
        let mut bulk = store.bulk_write(&c, None).await.unwrap();
        bulk.write(changes(100_000, INSERT_CHUNK)).await.unwrap();
        let err = bulk
            .write(changes(0, INSERT_CHUNK * (ENCODE_AHEAD + 2)))
            .await
            .unwrap_err();
        assert!(is_f7(&err), "{err}");
        assert!(matches!(
            bulk.write(changes(50_000, 1)).await,
            Err(StoreError::FailedBulkWrite)
        ));
        assert!(matches!(
            bulk.commit().await,
            Err(StoreError::FailedBulkWrite)
        ));
        let mut bulk = store.bulk_write(&c, None).await.unwrap();
        bulk.write(changes(0, 10)).await.unwrap();
        assert!(is_f7(&bulk.commit().await.unwrap_err()));
        assert_eq!(store.count(&c).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn a_bulk_write_applies_inserts_upserts_and_deletes_in_order() {
        let (store, c) = store_with("things").await;
        store
            .apply(&c, None, vec![Change::Insert(new(Some("old"), 1.0))])
            .await
            .unwrap();
        let mut bulk = store.bulk_write(&c, None).await.unwrap();
        let mut changes: Vec<Change> = (0..INSERT_CHUNK + 10)
            .map(|i| Change::Insert(new(None, f64::from(u32::try_from(i).unwrap()))))
            .collect();
        changes.push(Change::Upsert(new(Some("old"), 2.0)));
        changes.push(Change::Delete(FeatureId::parse("2").unwrap()));
        changes.push(Change::Insert(new(Some("last"), 3.0)));
        bulk.write(changes).await.unwrap();
        bulk.write(vec![Change::Upsert(new(Some("new"), 4.0))])
            .await
            .unwrap();
        assert_eq!(bulk.commit().await.unwrap(), (INSERT_CHUNK + 10 + 3) as u64);
        let read = store.features(&c).await.unwrap();
        assert_eq!(read.len(), INSERT_CHUNK + 10 + 2);
        assert!(read.windows(2).all(|w| w[0].fid < w[1].fid));
        assert_eq!((read[0].id.as_str(), read[0].version), ("old", 2));
        assert!(read.iter().all(|f| f.id.as_str() != "2"));
        assert_eq!(read[1].id.as_str(), "3", "ids default to the keys");
        let last = &read[read.len() - 2..];
        assert_eq!((last[0].id.as_str(), last[1].id.as_str()), ("last", "new"));
        assert_eq!(last[1].fid, last[0].fid + 1);
    }

    #[tokio::test]
    async fn a_bulk_write_to_an_unknown_collection_is_refused() {
        let store = SqliteStore::open("sqlite::memory:").await.unwrap();
        let c = CollectionId::parse("nope").unwrap();
        assert!(matches!(
            store.bulk_write(&c, None).await,
            Err(StoreError::UnknownCollection(_))
        ));
    }

    #[tokio::test]
    async fn meta_values_are_set_and_replaced() {
        let store = SqliteStore::open("sqlite::memory:").await.unwrap();
        assert_eq!(store.meta("k").await.unwrap(), None);
        store.set_meta("k", "1").await.unwrap();
        store.set_meta("k", "2").await.unwrap();
        assert_eq!(store.meta("k").await.unwrap().as_deref(), Some("2"));
    }
}
