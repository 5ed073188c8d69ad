//! Cases, their append-only logs, photo references and Open311 API keys: the [`CaseStore`] seam
//! and its SQLite implementation.
//!
//! Every change to a case is one transaction that updates the case row only if its version is
//! still the one the caller read (optimistic concurrency), appends the log entry and writes the
//! audit row; so of two people acting at once exactly one wins, and a case never changes without
//! its log and audit entries.

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::units::UnitStore;
use super::users::append_audit_tx;
use super::{SqliteStore, StoreError};
use crate::model::audit::AuditEntry;
use crate::model::case::{Action, AssetRef, Case, CaseState, CellRef, LogEntry, ReadScope};

/// Which cases to list.
#[derive(Debug, Clone, Default)]
pub struct CaseQuery {
    /// Only these states (all when empty).
    pub states: Vec<CaseState>,
    /// Only this category.
    pub category: Option<String>,
    /// Only cases dispatched to this unit.
    pub assigned_unit: Option<String>,
    /// Only cases in one of these cells (a code matches itself and every cell below it).
    pub cells: Vec<String>,
    /// Only cases reported by this actor.
    pub reporter: Option<String>,
    /// Only cases about this asset.
    pub asset: Option<AssetRef>,
    /// Only cases inside this lon/lat box (west, south, east, north).
    pub bbox: Option<[f64; 4]>,
    /// Reported at or after.
    pub reported_from: Option<DateTime<Utc>>,
    /// Reported before.
    pub reported_to: Option<DateTime<Utc>>,
    /// Only cases merged into this one.
    pub merged_into: Option<i64>,
    /// Only open cases whose current deadline is before this instant.
    pub overdue_at: Option<DateTime<Utc>>,
    /// Only cases a reader with this scope may read (all when None).
    pub scope: Option<ReadScope>,
    /// Order of the result.
    pub order: CaseOrder,
    /// At most this many (all when None).
    pub limit: Option<u32>,
    /// Skip this many.
    pub offset: u32,
}

/// The order of a case listing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CaseOrder {
    /// Newest first.
    #[default]
    Newest,
    /// Earliest deadline first; cases without deadline last, oldest first among them.
    Deadline,
}

/// A photo reference as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoRecord {
    /// SHA-256 of the stored bytes, lowercase hex.
    pub sha256: String,
    /// Its media type.
    pub media_type: String,
    /// Its size.
    pub bytes: u64,
    /// Who uploaded it.
    pub uploaded_by: String,
    /// When it was last uploaded (by anyone): an orphan's grace period runs from here.
    pub uploaded_at: DateTime<Utc>,
}

/// A user's photo uploads within the quota window, when one more would exceed the quota.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadUsage {
    /// Uploads in the window.
    pub count: u64,
    /// Bytes uploaded in the window.
    pub bytes: u64,
    /// When the oldest upload of the window was made (the quota frees up from then on).
    pub oldest: Option<DateTime<Utc>>,
}

/// A per-user photo quota over a window of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadQuota {
    /// Uploads counted after this time.
    pub since: DateTime<Utc>,
    /// At most this many uploads in the window.
    pub max_count: u64,
    /// At most this many bytes in the window.
    pub max_bytes: u64,
}

/// The outcome of an insert with an idempotency key.
#[derive(Debug, Clone)]
pub struct Inserted {
    /// The case as stored.
    pub case: Case,
    /// False when the reporter had sent the same idempotency key before: `case` is that case.
    pub created: bool,
}

/// Storage of cases (and of the unit registry dispatching checks against).
#[async_trait]
pub trait CaseStore: UnitStore + Send + Sync {
    /// Stores a new case (its `id` and `version` are assigned) with its first log entry and the
    /// audit row, in one transaction. With an idempotency key the reporter already used, nothing
    /// is written and the earlier case is returned.
    async fn insert_case(
        &self,
        case: &Case,
        idempotency_key: Option<&str>,
        entry: &LogEntry,
        audit: &AuditEntry,
    ) -> Result<Inserted, StoreError>;

    /// Replaces the case row with `case` (whose version must be `expected_version + 1`) if the
    /// stored version is still `expected_version`, appending `entry` and the audit row. Returns
    /// false, writing nothing, when someone else changed the case first.
    async fn update_case(
        &self,
        expected_version: i64,
        case: &Case,
        entry: &LogEntry,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError>;

    /// Merges a case into another as [`Self::update_case`] does, in the same transaction
    /// bumping the version of the case merged into (`into`, read at `into_version`) if it is
    /// still at that version, open and no duplicate itself. So of two merges crossing (A into
    /// B, B into A) exactly one is applied. Returns false, writing nothing, when either case
    /// changed first.
    async fn merge_case(
        &self,
        expected_version: i64,
        case: &Case,
        entry: &LogEntry,
        audit: &AuditEntry,
        into: i64,
        into_version: i64,
    ) -> Result<bool, StoreError>;

    /// One case.
    async fn case(&self, id: i64) -> Result<Option<Case>, StoreError>;

    /// A case's log, in order.
    async fn case_log(&self, id: i64) -> Result<Vec<LogEntry>, StoreError>;

    /// Cases matching `query`, and how many match without limit and offset.
    async fn cases(&self, query: &CaseQuery) -> Result<(Vec<Case>, u64), StoreError>;

    /// Records a photo reference (idempotent) with its audit row, in one transaction.
    async fn put_photo(&self, photo: &PhotoRecord, audit: &AuditEntry) -> Result<(), StoreError>;

    /// A photo reference.
    async fn photo(&self, sha256: &str) -> Result<Option<PhotoRecord>, StoreError>;

    /// Records an upload of `bytes` by `uploader` at `at` if the uploads of the quota's window
    /// and this one stay within it, counting and recording in one transaction (so parallel
    /// uploads cannot all pass); returns the upload's id, or the usage when it would not fit.
    async fn reserve_upload(
        &self,
        uploader: &str,
        at: DateTime<Utc>,
        bytes: u64,
        quota: &UploadQuota,
    ) -> Result<Result<i64, UploadUsage>, StoreError>;

    /// Forgets an upload recorded by [`Self::reserve_upload`] (its photo was refused).
    async fn release_upload(&self, id: i64) -> Result<(), StoreError>;

    /// Photos uploaded before `before` that no case and no log entry refers to, oldest first,
    /// at most `limit` of them. Upload records older than `before` are pruned on the way.
    async fn orphan_photos(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<PhotoRecord>, StoreError>;

    /// Removes the photo reference `sha256` with its audit row if it is still an orphan uploaded
    /// before `before` (checked in the same transaction); false when it was kept.
    async fn remove_orphan_photo(
        &self,
        sha256: &str,
        before: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError>;

    /// Adds an API key (stored only as its hash) under a unique name.
    async fn add_api_key(&self, name: &str, key_hash: &[u8; 32]) -> Result<(), StoreError>;

    /// The name of the unrevoked API key with this hash.
    async fn api_key(&self, key_hash: &[u8; 32]) -> Result<Option<String>, StoreError>;

    /// Revokes the named API key; false if there is none.
    async fn revoke_api_key(&self, name: &str) -> Result<bool, StoreError>;

    /// The names of the API keys with their creation and revocation times.
    async fn api_keys(
        &self,
    ) -> Result<Vec<(String, DateTime<Utc>, Option<DateTime<Utc>>)>, StoreError>;
}

fn text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A `photos` row no case and no log entry refers to (the JSON arrays of photo ids).
const UNREFERENCED: &str = "NOT EXISTS (SELECT 1 FROM cases, json_each(cases.photos) AS p
                    WHERE p.value = photos.sha256)
     AND NOT EXISTS (SELECT 1 FROM case_log, json_each(case_log.photos) AS p
                    WHERE p.value = photos.sha256)";

fn parse_time(t: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn photo_record(row: &SqliteRow) -> Result<PhotoRecord, StoreError> {
    let uploaded_at: String = row.try_get("uploaded_at")?;
    Ok(PhotoRecord {
        sha256: row.try_get("sha256")?,
        media_type: row.try_get("media_type")?,
        bytes: u64::try_from(row.try_get::<i64, _>("bytes")?).unwrap_or(0),
        uploaded_by: row.try_get("uploaded_by")?,
        uploaded_at: parse_time(&uploaded_at).unwrap_or(DateTime::<Utc>::MIN_UTC),
    })
}

fn opt_text(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(text)
}

fn corrupt(id: i64, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        collection: "cases".into(),
        fid: id,
        reason: reason.into(),
    }
}

fn time(row: &SqliteRow, column: &str, id: i64) -> Result<Option<DateTime<Utc>>, StoreError> {
    let value: Option<String> = row.try_get(column)?;
    value
        .map(|v| {
            DateTime::parse_from_rfc3339(&v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| corrupt(id, format!("{column}: {e}")))
        })
        .transpose()
}

fn state(text: &str, id: i64) -> Result<CaseState, StoreError> {
    CaseState::parse(text).ok_or_else(|| corrupt(id, format!("unknown state {text:?}")))
}

fn decode_case(row: &SqliteRow) -> Result<Case, StoreError> {
    let id: i64 = row.try_get("id")?;
    let cells: String = row.try_get("cells")?;
    let cells: Vec<CellRef> =
        serde_json::from_str(&cells).map_err(|e| corrupt(id, format!("cells: {e}")))?;
    let photos: String = row.try_get("photos")?;
    let photos: Vec<String> =
        serde_json::from_str(&photos).map_err(|e| corrupt(id, format!("photos: {e}")))?;
    let asset_collection: Option<String> = row.try_get("asset_collection")?;
    let asset_id: Option<String> = row.try_get("asset_id")?;
    let resume: Option<String> = row.try_get("resume_state")?;
    let on_time: Option<i64> = row.try_get("on_time")?;
    let state_text: String = row.try_get("state")?;
    Ok(Case {
        id,
        version: row.try_get("version")?,
        category: row.try_get("category")?,
        state: state(&state_text, id)?,
        resume_state: resume.map(|r| state(&r, id)).transpose()?,
        description: row.try_get("description")?,
        address: row.try_get("address")?,
        lon: row.try_get("lon")?,
        lat: row.try_get("lat")?,
        cells,
        responsible_unit: row.try_get("responsible_unit")?,
        assigned_unit: row.try_get("assigned_unit")?,
        asset: asset_collection
            .zip(asset_id)
            .map(|(collection, id)| AssetRef { collection, id }),
        photos,
        reporter: row.try_get("reporter")?,
        channel: row.try_get("channel")?,
        reported_at: time(row, "reported_at", id)?.ok_or_else(|| corrupt(id, "no reported_at"))?,
        filed_at: time(row, "filed_at", id)?,
        dispatched_at: time(row, "dispatched_at", id)?,
        handled_at: time(row, "handled_at", id)?,
        verified_at: time(row, "verified_at", id)?,
        closed_at: time(row, "closed_at", id)?,
        due_at: time(row, "due_at", id)?,
        handle_due_at: time(row, "handle_due_at", id)?,
        on_time: on_time.map(|v| v != 0),
        rework_count: u32::try_from(row.try_get::<i64, _>("rework_count")?).unwrap_or(0),
        extension_count: u32::try_from(row.try_get::<i64, _>("extension_count")?).unwrap_or(0),
        merged_into: row.try_get("merged_into")?,
        updated_at: time(row, "updated_at", id)?.ok_or_else(|| corrupt(id, "no updated_at"))?,
    })
}

fn decode_entry(row: &SqliteRow) -> Result<LogEntry, StoreError> {
    let id: i64 = row.try_get("case_id")?;
    let action: String = row.try_get("action")?;
    let from: Option<String> = row.try_get("from_state")?;
    let to: String = row.try_get("to_state")?;
    let photos: String = row.try_get("photos")?;
    let detail: String = row.try_get("detail")?;
    Ok(LogEntry {
        seq: u32::try_from(row.try_get::<i64, _>("seq")?).unwrap_or(0),
        at: time(row, "at", id)?.ok_or_else(|| corrupt(id, "log entry without time"))?,
        actor: row.try_get("actor")?,
        action: Action::parse(&action)
            .ok_or_else(|| corrupt(id, format!("unknown action {action:?}")))?,
        from: from.map(|f| state(&f, id)).transpose()?,
        to: state(&to, id)?,
        note: row.try_get("note")?,
        photos: serde_json::from_str(&photos).map_err(|e| corrupt(id, format!("photos: {e}")))?,
        detail: serde_json::from_str(&detail).map_err(|e| corrupt(id, format!("detail: {e}")))?,
    })
}

/// The columns of `cases` written from a [`Case`], in order (all but `id`).
const CASE_COLUMNS: [&str; 32] = [
    "version",
    "category",
    "state",
    "resume_state",
    "description",
    "address",
    "lon",
    "lat",
    "cells",
    "cell_code",
    "responsible_unit",
    "assigned_unit",
    "asset_collection",
    "asset_id",
    "photos",
    "reporter",
    "channel",
    "reported_at",
    "filed_at",
    "dispatched_at",
    "handled_at",
    "verified_at",
    "closed_at",
    "due_at",
    "handle_due_at",
    "on_time",
    "rework_count",
    "extension_count",
    "merged_into",
    "updated_at",
    "idempotency_key",
    "id",
];

/// Binds the case's values in [`CASE_COLUMNS`] order (without `idempotency_key` and `id`).
fn push_case_values(builder: &mut QueryBuilder<'_, Sqlite>, case: &Case) {
    let mut b = builder.separated(", ");
    b.push_bind(case.version)
        .push_bind(case.category.clone())
        .push_bind(case.state.as_str())
        .push_bind(case.resume_state.map(CaseState::as_str))
        .push_bind(case.description.clone())
        .push_bind(case.address.clone())
        .push_bind(case.lon)
        .push_bind(case.lat)
        .push_bind(serde_json::to_string(&case.cells).unwrap_or_else(|_| "[]".into()))
        .push_bind(case.cell().map(str::to_owned))
        .push_bind(case.responsible_unit.clone())
        .push_bind(case.assigned_unit.clone())
        .push_bind(case.asset.as_ref().map(|a| a.collection.clone()))
        .push_bind(case.asset.as_ref().map(|a| a.id.clone()))
        .push_bind(serde_json::to_string(&case.photos).unwrap_or_else(|_| "[]".into()))
        .push_bind(case.reporter.clone())
        .push_bind(case.channel.clone())
        .push_bind(text(case.reported_at))
        .push_bind(opt_text(case.filed_at))
        .push_bind(opt_text(case.dispatched_at))
        .push_bind(opt_text(case.handled_at))
        .push_bind(opt_text(case.verified_at))
        .push_bind(opt_text(case.closed_at))
        .push_bind(opt_text(case.due_at))
        .push_bind(opt_text(case.handle_due_at))
        .push_bind(case.on_time.map(i64::from))
        .push_bind(i64::from(case.rework_count))
        .push_bind(i64::from(case.extension_count))
        .push_bind(case.merged_into)
        .push_bind(text(case.updated_at));
}

async fn append_entry(
    conn: &mut SqliteConnection,
    case_id: i64,
    entry: &LogEntry,
) -> Result<(), StoreError> {
    let seq: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM case_log WHERE case_id = ?")
            .bind(case_id)
            .fetch_one(&mut *conn)
            .await?;
    insert_entry(conn, case_id, seq, entry).await
}

async fn insert_entry(
    conn: &mut SqliteConnection,
    case_id: i64,
    seq: i64,
    entry: &LogEntry,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO case_log (case_id, seq, at, actor, action, from_state, to_state, note, photos, detail)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(case_id)
    .bind(seq)
    .bind(text(entry.at))
    .bind(&entry.actor)
    .bind(entry.action.as_str())
    .bind(entry.from.map(CaseState::as_str))
    .bind(entry.to.as_str())
    .bind(&entry.note)
    .bind(serde_json::to_string(&entry.photos).unwrap_or_else(|_| "[]".into()))
    .bind(entry.detail.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn audit_with_target(audit: &AuditEntry, case_id: i64) -> AuditEntry {
    let mut audit = audit.clone();
    if audit.target.is_empty() {
        audit.target = format!("case/{case_id}");
    }
    audit
}

/// Replaces the case row if its stored version is still `expected_version`; false when not.
async fn write_case(
    conn: &mut SqliteConnection,
    expected_version: i64,
    case: &Case,
) -> Result<bool, StoreError> {
    let mut builder: QueryBuilder<Sqlite> = QueryBuilder::new("UPDATE cases SET (");
    builder.push(CASE_COLUMNS[..CASE_COLUMNS.len() - 2].join(", "));
    builder.push(") = (");
    push_case_values(&mut builder, case);
    builder
        .push(") WHERE id = ")
        .push_bind(case.id)
        .push(" AND version = ")
        .push_bind(expected_version);
    Ok(builder.build().execute(&mut *conn).await?.rows_affected() > 0)
}

#[async_trait]
impl CaseStore for SqliteStore {
    async fn insert_case(
        &self,
        case: &Case,
        idempotency_key: Option<&str>,
        entry: &LogEntry,
        audit: &AuditEntry,
    ) -> Result<Inserted, StoreError> {
        let _writer = self.writer().lock().await;
        let mut tx = self.pool().begin().await?;
        if let Some(key) = idempotency_key {
            let earlier =
                sqlx::query("SELECT * FROM cases WHERE reporter = ? AND idempotency_key = ?")
                    .bind(&case.reporter)
                    .bind(key)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some(row) = earlier {
                return Ok(Inserted {
                    case: decode_case(&row)?,
                    created: false,
                });
            }
        }
        let mut builder: QueryBuilder<Sqlite> = QueryBuilder::new("INSERT INTO cases (");
        builder.push(CASE_COLUMNS[..CASE_COLUMNS.len() - 1].join(", "));
        builder.push(") VALUES (");
        push_case_values(&mut builder, case);
        builder
            .push(", ")
            .push_bind(idempotency_key.map(str::to_owned));
        builder.push(") RETURNING id");
        let id: i64 = builder.build_query_scalar().fetch_one(&mut *tx).await?;
        insert_entry(&mut tx, id, 1, entry).await?;
        append_audit_tx(&mut tx, &audit_with_target(audit, id)).await?;
        tx.commit().await?;
        // Every column was written from `case`: it reads back as given, with its new number.
        let mut stored = case.clone();
        stored.id = id;
        Ok(Inserted {
            case: stored,
            created: true,
        })
    }

    async fn update_case(
        &self,
        expected_version: i64,
        case: &Case,
        entry: &LogEntry,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let _writer = self.writer().lock().await;
        let mut tx = self.pool().begin().await?;
        if !write_case(&mut tx, expected_version, case).await? {
            return Ok(false);
        }
        append_entry(&mut tx, case.id, entry).await?;
        append_audit_tx(&mut tx, &audit_with_target(audit, case.id)).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn merge_case(
        &self,
        expected_version: i64,
        case: &Case,
        entry: &LogEntry,
        audit: &AuditEntry,
        into: i64,
        into_version: i64,
    ) -> Result<bool, StoreError> {
        let _writer = self.writer().lock().await;
        let mut tx = self.pool().begin().await?;
        // Dropping the transaction without commit rolls back the first update.
        if !write_case(&mut tx, expected_version, case).await? {
            return Ok(false);
        }
        let target = sqlx::query(
            "UPDATE cases SET version = version + 1, updated_at = ?
             WHERE id = ? AND version = ? AND state NOT IN ('closed', 'voided') AND merged_into IS NULL",
        )
        .bind(text(case.updated_at))
        .bind(into)
        .bind(into_version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if target == 0 {
            return Ok(false);
        }
        append_entry(&mut tx, case.id, entry).await?;
        append_audit_tx(&mut tx, &audit_with_target(audit, case.id)).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn case(&self, id: i64) -> Result<Option<Case>, StoreError> {
        sqlx::query("SELECT * FROM cases WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(decode_case)
            .transpose()
    }

    async fn case_log(&self, id: i64) -> Result<Vec<LogEntry>, StoreError> {
        sqlx::query("SELECT * FROM case_log WHERE case_id = ? ORDER BY seq")
            .bind(id)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(decode_entry)
            .collect()
    }

    async fn cases(&self, query: &CaseQuery) -> Result<(Vec<Case>, u64), StoreError> {
        let mut count: QueryBuilder<Sqlite> = QueryBuilder::new("SELECT COUNT(*) FROM cases");
        push_filters(&mut count, query);
        let total: i64 = count.build_query_scalar().fetch_one(self.pool()).await?;
        let mut select: QueryBuilder<Sqlite> = QueryBuilder::new("SELECT * FROM cases");
        push_filters(&mut select, query);
        select.push(match query.order {
            CaseOrder::Newest => " ORDER BY id DESC",
            CaseOrder::Deadline => " ORDER BY due_at IS NULL, due_at, id",
        });
        if let Some(limit) = query.limit {
            select.push(" LIMIT ").push_bind(i64::from(limit));
            select.push(" OFFSET ").push_bind(i64::from(query.offset));
        }
        let rows = select.build().fetch_all(self.pool()).await?;
        let cases = rows.iter().map(decode_case).collect::<Result<_, _>>()?;
        Ok((cases, u64::try_from(total).unwrap_or(0)))
    }

    async fn put_photo(&self, photo: &PhotoRecord, audit: &AuditEntry) -> Result<(), StoreError> {
        let _writer = self.writer().lock().await;
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO photos (sha256, media_type, bytes, uploaded_by, uploaded_at)
             VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (sha256) DO UPDATE SET uploaded_at = max(uploaded_at, excluded.uploaded_at)",
        )
        .bind(&photo.sha256)
        .bind(&photo.media_type)
        .bind(i64::try_from(photo.bytes).unwrap_or(i64::MAX))
        .bind(&photo.uploaded_by)
        .bind(text(photo.uploaded_at))
        .execute(&mut *tx)
        .await?;
        append_audit_tx(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn photo(&self, sha256: &str) -> Result<Option<PhotoRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM photos WHERE sha256 = ?")
            .bind(sha256)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(photo_record).transpose()
    }

    async fn reserve_upload(
        &self,
        uploader: &str,
        at: DateTime<Utc>,
        bytes: u64,
        quota: &UploadQuota,
    ) -> Result<Result<i64, UploadUsage>, StoreError> {
        let _writer = self.writer().lock().await;
        let mut tx = self.pool().begin().await?;
        let row = sqlx::query(
            "SELECT count(*) AS n, coalesce(sum(bytes), 0) AS total, min(at) AS oldest
             FROM photo_uploads WHERE uploader = ? AND at > ?",
        )
        .bind(uploader)
        .bind(text(quota.since))
        .fetch_one(&mut *tx)
        .await?;
        let count = u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0);
        let total = u64::try_from(row.try_get::<i64, _>("total")?).unwrap_or(0);
        if count >= quota.max_count || total.saturating_add(bytes) > quota.max_bytes {
            let oldest: Option<String> = row.try_get("oldest")?;
            return Ok(Err(UploadUsage {
                count,
                bytes: total,
                oldest: oldest.and_then(|t| parse_time(&t)),
            }));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO photo_uploads (uploader, at, bytes) VALUES (?, ?, ?) RETURNING id",
        )
        .bind(uploader)
        .bind(text(at))
        .bind(i64::try_from(bytes).unwrap_or(i64::MAX))
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(id))
    }

    async fn release_upload(&self, id: i64) -> Result<(), StoreError> {
        let _writer = self.writer().lock().await;
        sqlx::query("DELETE FROM photo_uploads WHERE id = ?")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn orphan_photos(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<PhotoRecord>, StoreError> {
        {
            let _writer = self.writer().lock().await;
            sqlx::query("DELETE FROM photo_uploads WHERE at < ?")
                .bind(text(before))
                .execute(self.pool())
                .await?;
        }
        let rows = sqlx::query(&format!(
            "SELECT * FROM photos WHERE uploaded_at < ? AND {UNREFERENCED}
             ORDER BY uploaded_at LIMIT ?"
        ))
        .bind(text(before))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(photo_record).collect()
    }

    async fn remove_orphan_photo(
        &self,
        sha256: &str,
        before: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let _writer = self.writer().lock().await;
        let mut tx = self.pool().begin().await?;
        let removed = sqlx::query(&format!(
            "DELETE FROM photos WHERE sha256 = ? AND uploaded_at < ? AND {UNREFERENCED}"
        ))
        .bind(sha256)
        .bind(text(before))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if removed {
            append_audit_tx(&mut tx, audit).await?;
        }
        tx.commit().await?;
        Ok(removed)
    }

    async fn add_api_key(&self, name: &str, key_hash: &[u8; 32]) -> Result<(), StoreError> {
        let result =
            sqlx::query("INSERT INTO api_keys (name, key_hash, created_at) VALUES (?, ?, ?)")
                .bind(name)
                .bind(key_hash.as_slice())
                .bind(text(Utc::now()))
                .execute(self.pool())
                .await;
        match result {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StoreError::DuplicateApiKey(name.to_owned()))
            }
            other => other.map(|_| ()).map_err(Into::into),
        }
    }

    async fn api_key(&self, key_hash: &[u8; 32]) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT name FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL",
        )
        .bind(key_hash.as_slice())
        .fetch_optional(self.pool())
        .await?)
    }

    async fn revoke_api_key(&self, name: &str) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE api_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL")
                .bind(text(Utc::now()))
                .bind(name)
                .execute(self.pool())
                .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn api_keys(
        &self,
    ) -> Result<Vec<(String, DateTime<Utc>, Option<DateTime<Utc>>)>, StoreError> {
        let rows = sqlx::query("SELECT * FROM api_keys ORDER BY name")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|row| {
                let id: i64 = row.try_get("id")?;
                Ok((
                    row.try_get("name")?,
                    time(row, "created_at", id)?.unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
                    time(row, "revoked_at", id)?,
                ))
            })
            .collect()
    }
}

fn push_filters(builder: &mut QueryBuilder<'_, Sqlite>, query: &CaseQuery) {
    let mut first = true;
    let mut and = |builder: &mut QueryBuilder<'_, Sqlite>| {
        builder.push(if first { " WHERE " } else { " AND " });
        first = false;
    };
    if !query.states.is_empty() {
        and(builder);
        builder.push("state IN (");
        let mut list = builder.separated(", ");
        for state in &query.states {
            list.push_bind(state.as_str());
        }
        builder.push(")");
    }
    if let Some(category) = &query.category {
        and(builder);
        builder.push("category = ").push_bind(category.clone());
    }
    if let Some(unit) = &query.assigned_unit {
        and(builder);
        builder.push("assigned_unit = ").push_bind(unit.clone());
    }
    if !query.cells.is_empty() {
        and(builder);
        builder.push("(");
        for (i, cell) in query.cells.iter().enumerate() {
            if i > 0 {
                builder.push(" OR ");
            }
            // Codes are hierarchical: a community's code is the prefix of its grids'.
            builder
                .push("substr(cell_code, 1, length(")
                .push_bind(cell.clone())
                .push(")) = ")
                .push_bind(cell.clone());
        }
        builder.push(")");
    }
    if let Some(reporter) = &query.reporter {
        and(builder);
        builder.push("reporter = ").push_bind(reporter.clone());
    }
    if let Some(asset) = &query.asset {
        and(builder);
        builder
            .push("asset_collection = ")
            .push_bind(asset.collection.clone())
            .push(" AND asset_id = ")
            .push_bind(asset.id.clone());
    }
    if let Some([west, south, east, north]) = query.bbox {
        and(builder);
        builder
            .push("lon >= ")
            .push_bind(west)
            .push(" AND lon <= ")
            .push_bind(east)
            .push(" AND lat >= ")
            .push_bind(south)
            .push(" AND lat <= ")
            .push_bind(north);
    }
    if let Some(from) = query.reported_from {
        and(builder);
        builder.push("reported_at >= ").push_bind(text(from));
    }
    if let Some(to) = query.reported_to {
        and(builder);
        builder.push("reported_at < ").push_bind(text(to));
    }
    if let Some(id) = query.merged_into {
        and(builder);
        builder.push("merged_into = ").push_bind(id);
    }
    if let Some(scope) = &query.scope {
        push_scope(builder, scope, &mut and);
    }
    if let Some(at) = query.overdue_at {
        and(builder);
        builder
            .push("state NOT IN ('closed', 'voided') AND due_at < ")
            .push_bind(text(at));
    }
}

/// The condition of a reader's scope (the same as [`ReadScope::admits`]).
fn push_scope(
    builder: &mut QueryBuilder<'_, Sqlite>,
    scope: &ReadScope,
    and: &mut impl FnMut(&mut QueryBuilder<'_, Sqlite>),
) {
    let reporter = match scope {
        ReadScope::All => return,
        ReadScope::Cells { reporter, .. } | ReadScope::Unit { reporter, .. } => reporter,
    };
    and(builder);
    builder.push("(reporter = ").push_bind(reporter.clone());
    match scope {
        ReadScope::Cells { cells, .. } => {
            for cell in cells {
                builder
                    .push(" OR substr(cell_code, 1, length(")
                    .push_bind(cell.clone())
                    .push(")) = ")
                    .push_bind(cell.clone());
            }
        }
        ReadScope::Unit {
            unit: Some(unit), ..
        } => {
            builder.push(" OR assigned_unit = ").push_bind(unit.clone());
        }
        ReadScope::Unit { unit: None, .. } | ReadScope::All => {}
    }
    builder.push(")");
}

#[cfg(test)]
mod tests;
