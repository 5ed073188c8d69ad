//! Durable storage of collections and features behind one seam, [`Store`], and of users,
//! sessions and the audit trail behind [`UserStore`] (which every store implements, so the
//! users live in the same database as the data).
//!
//! All SQL lives in this module. SQLite (embedded, the default) is implemented in [`sqlite`]; a
//! PostgreSQL + PostGIS backend implements the same trait without the rest of the crate changing.
//! Every call that writes runs in one transaction: it is applied whole or not at all.

pub mod cases;
pub mod sqlite;
pub mod units;
pub mod users;

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use crate::model::{CollectionId, Feature, FeatureId, NewFeature};

pub use cases::CaseStore;
pub use sqlite::SqliteStore;
pub use units::UnitStore;
pub use users::UserStore;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A feature with this id already exists in the collection.
    #[error("feature {id} already exists in collection {collection}")]
    DuplicateId {
        /// The collection.
        collection: CollectionId,
        /// The id.
        id: FeatureId,
    },
    /// The collection does not exist in the store.
    #[error("collection {0} does not exist")]
    UnknownCollection(CollectionId),
    /// A stored row that cannot be read back (corrupt geometry, properties or id).
    #[error("stored row {fid} of {collection} is unreadable: {reason}")]
    Corrupt {
        /// The collection.
        collection: String,
        /// The row's key.
        fid: i64,
        /// What could not be read.
        reason: String,
    },
    /// A bulk write was committed after one of its writes had failed; nothing was written.
    #[error("a bulk write was committed after one of its writes failed; nothing was written")]
    FailedBulkWrite,
    /// A user with this name exists already.
    #[error("user {0} already exists")]
    DuplicateUser(String),
    /// No user has this name.
    #[error("user {0} does not exist")]
    UnknownUser(String),
    /// An Open311 API key with this name exists already.
    #[error("an API key named {0} exists already")]
    DuplicateApiKey(String),
    /// The database URL names no supported backend.
    #[error("unsupported database URL {0:?}: use sqlite://PATH")]
    UnsupportedUrl(String),
    /// The database failed or could not be reached.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

/// One change to a collection.
#[derive(Debug, Clone)]
pub enum Change {
    /// Insert; fails with [`StoreError::DuplicateId`] if the id exists. Without id, the store
    /// assigns the feature's integer key as its id.
    Insert(NewFeature),
    /// Insert, or replace the feature with the same id (its version goes up by one).
    Upsert(NewFeature),
    /// Remove the feature with this id (absent ids are ignored).
    Delete(FeatureId),
}

/// What a batch of changes did.
#[derive(Debug, Default)]
pub struct Applied {
    /// Features inserted or replaced, as stored.
    pub stored: Vec<Feature>,
    /// Ids removed.
    pub deleted: Vec<FeatureId>,
}

/// A large write in progress (see [`Store::bulk_write`]).
#[async_trait]
pub trait BulkWrite: Send {
    /// Writes `changes` as [`Store::apply`] would, without building the stored features. After
    /// an error nothing is written: [`BulkWrite::commit`] fails with
    /// [`StoreError::FailedBulkWrite`].
    async fn write(&mut self, changes: Vec<Change>) -> Result<(), StoreError>;

    /// Makes everything written visible at once; returns the number of features inserted or
    /// replaced.
    async fn commit(self: Box<Self>) -> Result<u64, StoreError>;
}

/// The storage seam: one implementation per database. Users, sessions and the audit trail are
/// part of it ([`UserStore`]), so an `Arc<dyn Store>` converts to an `Arc<dyn UserStore>`.
#[async_trait]
pub trait Store: UserStore + CaseStore + Send + Sync {
    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// The stored collection definitions (see `CollectionDef::to_json`).
    async fn collections(&self) -> Result<Vec<Value>, StoreError>;

    /// Creates the collection, or replaces its definition.
    async fn put_collection(&self, id: &CollectionId, definition: &Value)
    -> Result<(), StoreError>;

    /// Every feature of a collection, in key order, ready to be shared with the index.
    async fn features(&self, collection: &CollectionId) -> Result<Vec<Arc<Feature>>, StoreError>;

    /// The number of features of a collection.
    async fn count(&self, collection: &CollectionId) -> Result<u64, StoreError>;

    /// Applies `changes` in one transaction, after creating or updating the collection's
    /// definition when one is given; on any error nothing is written.
    async fn apply(
        &self,
        collection: &CollectionId,
        definition: Option<&Value>,
        changes: Vec<Change>,
    ) -> Result<Applied, StoreError>;

    /// Starts a large write to a collection (an import), after creating or updating its
    /// definition when one is given: [`BulkWrite::write`] takes the changes in parts as they are
    /// produced and [`BulkWrite::commit`] makes them visible at once; dropped without commit,
    /// nothing is written. Unlike [`Store::apply`] the stored features are not returned. The
    /// write holds the database's write lock (and an in-memory database's only connection)
    /// until it ends.
    async fn bulk_write(
        &self,
        collection: &CollectionId,
        definition: Option<&Value>,
    ) -> Result<Box<dyn BulkWrite>, StoreError>;

    /// A service metadata value.
    async fn meta(&self, key: &str) -> Result<Option<String>, StoreError>;

    /// Sets a service metadata value.
    async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError>;
}

/// Opens the store named by `url` (`sqlite://PATH`, `sqlite::memory:`) and applies migrations.
pub async fn open(url: &str) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(std::sync::Arc::new(SqliteStore::open(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_owned()))
    }
}
