//! Users, their grid cells, session tokens and the audit trail: the [`UserStore`] seam and its
//! SQLite implementation.
//!
//! Tokens are kept only as the SHA-256 of what the client holds. The audit trail is
//! append-only: the schema's triggers abort any `UPDATE` or `DELETE` of `audit_log`, and
//! nothing here tries. [`append_audit_tx`] writes an audit record inside a caller's
//! transaction, so a change and its record are committed together.

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::StoreError;
use super::sqlite::{SqliteStore, parse_time};
use crate::model::{AuditEntry, AuditQuery, AuditRecord, NewUser, Role, User, Username};

/// Storage of users, sessions and the audit trail.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Adds a user with its cells; fails with [`StoreError::DuplicateUser`] if the name is taken.
    async fn add_user(&self, user: &NewUser, password_hash: &str) -> Result<User, StoreError>;

    /// The user with this name and their password hash.
    async fn user_by_name(&self, name: &Username) -> Result<Option<(User, String)>, StoreError>;

    /// Every user, by name.
    async fn users(&self) -> Result<Vec<User>, StoreError>;

    /// Disables or enables a user; disabling revokes all their tokens.
    async fn set_disabled(&self, name: &Username, disabled: bool) -> Result<User, StoreError>;

    /// Replaces a user's password hash and revokes all their tokens.
    async fn set_password_hash(&self, name: &Username, hash: &str) -> Result<(), StoreError>;

    /// Replaces a user's cells.
    async fn set_cells(&self, name: &Username, cells: &[String]) -> Result<User, StoreError>;

    /// Stores a new session token (its SHA-256) for a user.
    async fn insert_token(
        &self,
        token_hash: &[u8; 32],
        user_id: i64,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The user of a token that is neither expired at `now` nor revoked, if the user is enabled.
    async fn user_by_token(
        &self,
        token_hash: &[u8; 32],
        now: DateTime<Utc>,
    ) -> Result<Option<User>, StoreError>;

    /// Revokes a token (unknown or already revoked tokens are ignored).
    async fn revoke_token(&self, token_hash: &[u8; 32]) -> Result<(), StoreError>;

    /// Removes tokens that expired before `before`; returns how many.
    async fn purge_tokens(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Appends a record to the audit trail.
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;

    /// Audit records matching `query`, newest first.
    async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError>;
}

/// A time as stored: RFC 3339 UTC with milliseconds, so that stored times compare as text.
fn time_text(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Columns of a user, with their cells as a JSON array.
const USER_COLUMNS: &str =
    "u.id, u.username, u.display_name, u.role, u.unit, u.disabled, u.created_at,
     (SELECT json_group_array(cell_code) FROM user_cells WHERE user_id = u.id) AS cells";

fn corrupt(id: i64, reason: String) -> StoreError {
    StoreError::Corrupt {
        collection: "users".into(),
        fid: id,
        reason,
    }
}

fn decode_user(row: &SqliteRow) -> Result<User, StoreError> {
    let id: i64 = row.try_get("id")?;
    let name: String = row.try_get("username")?;
    let username = Username::parse(&name).map_err(|e| corrupt(id, e.to_string()))?;
    let role: String = row.try_get("role")?;
    let role = Role::parse(&role).ok_or_else(|| corrupt(id, format!("unknown role {role:?}")))?;
    let cells: String = row.try_get("cells")?;
    let mut cells: Vec<String> =
        serde_json::from_str(&cells).map_err(|e| corrupt(id, format!("cells: {e}")))?;
    cells.sort_unstable();
    let created: String = row.try_get("created_at")?;
    Ok(User {
        id,
        username,
        display_name: row.try_get("display_name")?,
        role,
        unit: row.try_get("unit")?,
        cells,
        disabled: row.try_get("disabled")?,
        created_at: parse_time(&created),
    })
}

async fn user_on(conn: &mut SqliteConnection, name: &Username) -> Result<User, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.username = ?"
    ))
    .bind(name.as_str())
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| StoreError::UnknownUser(name.to_string()))?;
    decode_user(&row)
}

async fn user_id_on(conn: &mut SqliteConnection, name: &Username) -> Result<i64, StoreError> {
    sqlx::query_scalar("SELECT id FROM users WHERE username = ?")
        .bind(name.as_str())
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| StoreError::UnknownUser(name.to_string()))
}

async fn revoke_all_on(
    conn: &mut SqliteConnection,
    user_id: i64,
    now: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL")
        .bind(now)
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

async fn insert_cells_on(
    conn: &mut SqliteConnection,
    user_id: i64,
    cells: &[String],
) -> Result<(), StoreError> {
    for cell in cells {
        sqlx::query("INSERT OR IGNORE INTO user_cells (user_id, cell_code) VALUES (?, ?)")
            .bind(user_id)
            .bind(cell)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Appends `entry` to the audit trail on `conn`, typically inside the transaction of the change
/// it records.
pub(crate) async fn append_audit_tx(
    conn: &mut SqliteConnection,
    entry: &AuditEntry,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, target, detail, remote) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(time_text(Utc::now()))
    .bind(entry.actor.as_deref())
    .bind(&entry.action)
    .bind(&entry.target)
    .bind(entry.detail.to_string())
    .bind(entry.remote.as_deref())
    .execute(conn)
    .await?;
    Ok(())
}

fn decode_audit(row: &SqliteRow) -> Result<AuditRecord, StoreError> {
    let id: i64 = row.try_get("id")?;
    let at: String = row.try_get("at")?;
    let detail: String = row.try_get("detail")?;
    let detail: Value = serde_json::from_str(&detail).map_err(|e| StoreError::Corrupt {
        collection: "audit_log".into(),
        fid: id,
        reason: format!("detail: {e}"),
    })?;
    Ok(AuditRecord {
        id,
        at: parse_time(&at),
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        target: row.try_get("target")?,
        detail,
        remote: row.try_get("remote")?,
    })
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn add_user(&self, user: &NewUser, password_hash: &str) -> Result<User, StoreError> {
        let now = time_text(Utc::now());
        let mut tx = self.pool().begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO users (username, display_name, password_hash, role, unit, disabled, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, 0, ?, ?) RETURNING id",
        )
        .bind(user.username.as_str())
        .bind(&user.display_name)
        .bind(password_hash)
        .bind(user.role.as_str())
        .bind(user.unit.as_deref())
        .bind(&now)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await;
        let user_id: i64 = match inserted {
            Ok(row) => row.try_get("id")?,
            Err(sqlx::Error::Database(db))
                if db.is_unique_violation() && db.message().contains("users.username") =>
            {
                return Err(StoreError::DuplicateUser(user.username.to_string()));
            }
            Err(other) => return Err(other.into()),
        };
        insert_cells_on(&mut tx, user_id, &user.cells).await?;
        let stored = user_on(&mut tx, &user.username).await?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn user_by_name(&self, name: &Username) -> Result<Option<(User, String)>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.username = ?"
        ))
        .bind(name.as_str())
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| Ok((decode_user(&row)?, row.try_get("password_hash")?)))
            .transpose()
    }

    async fn users(&self) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users u ORDER BY u.username"
        ))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(decode_user).collect()
    }

    async fn set_disabled(&self, name: &Username, disabled: bool) -> Result<User, StoreError> {
        let now = time_text(Utc::now());
        let mut tx = self.pool().begin().await?;
        let user_id = user_id_on(&mut tx, name).await?;
        sqlx::query("UPDATE users SET disabled = ?, updated_at = ? WHERE id = ?")
            .bind(disabled)
            .bind(&now)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        if disabled {
            revoke_all_on(&mut tx, user_id, &now).await?;
        }
        let user = user_on(&mut tx, name).await?;
        tx.commit().await?;
        Ok(user)
    }

    async fn set_password_hash(&self, name: &Username, hash: &str) -> Result<(), StoreError> {
        let now = time_text(Utc::now());
        let mut tx = self.pool().begin().await?;
        let user_id = user_id_on(&mut tx, name).await?;
        sqlx::query("UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?")
            .bind(hash)
            .bind(&now)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        revoke_all_on(&mut tx, user_id, &now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_cells(&self, name: &Username, cells: &[String]) -> Result<User, StoreError> {
        let now = time_text(Utc::now());
        let mut tx = self.pool().begin().await?;
        let user_id = user_id_on(&mut tx, name).await?;
        sqlx::query("DELETE FROM user_cells WHERE user_id = ?")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        insert_cells_on(&mut tx, user_id, cells).await?;
        sqlx::query("UPDATE users SET updated_at = ? WHERE id = ?")
            .bind(&now)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let user = user_on(&mut tx, name).await?;
        tx.commit().await?;
        Ok(user)
    }

    async fn insert_token(
        &self,
        token_hash: &[u8; 32],
        user_id: i64,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO tokens (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        )
        .bind(token_hash.as_slice())
        .bind(user_id)
        .bind(time_text(Utc::now()))
        .bind(time_text(expires_at))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn user_by_token(
        &self,
        token_hash: &[u8; 32],
        now: DateTime<Utc>,
    ) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM tokens t JOIN users u ON u.id = t.user_id
             WHERE t.token_hash = ? AND t.revoked_at IS NULL AND t.expires_at > ? AND u.disabled = 0"
        ))
        .bind(token_hash.as_slice())
        .bind(time_text(now))
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(decode_user).transpose()
    }

    async fn revoke_token(&self, token_hash: &[u8; 32]) -> Result<(), StoreError> {
        sqlx::query("UPDATE tokens SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL")
            .bind(time_text(Utc::now()))
            .bind(token_hash.as_slice())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn purge_tokens(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM tokens WHERE expires_at < ?")
            .bind(time_text(before))
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let mut conn = self.pool().acquire().await?;
        append_audit_tx(&mut conn, entry).await
    }

    async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        let mut builder: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT id, at, actor, action, target, detail, remote FROM audit_log WHERE 1 = 1",
        );
        if let Some(actor) = &query.actor {
            builder.push(" AND actor = ").push_bind(actor);
        }
        if let Some(prefix) = &query.action_prefix {
            builder
                .push(" AND substr(action, 1, length(")
                .push_bind(prefix)
                .push(")) = ")
                .push_bind(prefix);
        }
        if let Some(target) = &query.target {
            builder.push(" AND target = ").push_bind(target);
        }
        if let Some(from) = query.from {
            builder.push(" AND at >= ").push_bind(time_text(from));
        }
        if let Some(to) = query.to {
            builder.push(" AND at < ").push_bind(time_text(to));
        }
        builder
            .push(" ORDER BY id DESC LIMIT ")
            .push_bind(i64::from(query.limit));
        let rows = builder.build().fetch_all(self.pool()).await?;
        rows.iter().map(decode_audit).collect()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use serde_json::json;

    use super::*;

    async fn store() -> SqliteStore {
        SqliteStore::open("sqlite::memory:").await.unwrap()
    }

    fn name(raw: &str) -> Username {
        Username::parse(raw).unwrap()
    }

    fn new_user(raw: &str, role: Role, cells: &[&str]) -> NewUser {
        NewUser {
            username: name(raw),
            display_name: format!("{raw} 显示名"),
            role,
            unit: (role == Role::Handler).then(|| "市政管理局".to_owned()),
            cells: cells.iter().map(|c| (*c).to_owned()).collect(),
        }
    }

    fn entry(actor: Option<&str>, action: &str, target: &str) -> AuditEntry {
        AuditEntry {
            actor: actor.map(str::to_owned),
            action: action.into(),
            target: target.into(),
            detail: json!({ "n": 1 }),
            remote: Some("127.0.0.1".into()),
        }
    }

    const HASH: [u8; 32] = [7; 32];

    #[tokio::test]
    async fn an_added_user_reads_back_with_cells_and_password_hash() {
        let store = store().await;
        let added = store
            .add_user(
                &new_user(
                    "wang",
                    Role::Worker,
                    &["410104001001002", "410104001001001"],
                ),
                "$argon2id$x",
            )
            .await
            .unwrap();
        assert_eq!(added.cells, ["410104001001001", "410104001001002"]);
        let (user, hash) = store.user_by_name(&name("wang")).await.unwrap().unwrap();
        assert_eq!(hash, "$argon2id$x");
        assert_eq!(user.id, added.id);
        assert_eq!(user.role, Role::Worker);
        assert_eq!(user.display_name, "wang 显示名");
        assert_eq!(user.cells, added.cells);
        assert!(!user.disabled);
        assert!(store.user_by_name(&name("li")).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_taken_user_name_is_a_duplicate_and_adds_nothing() {
        let store = store().await;
        store
            .add_user(&new_user("wang", Role::Worker, &[]), "h1")
            .await
            .unwrap();
        let err = store
            .add_user(&new_user("wang", Role::Admin, &["410104"]), "h2")
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::DuplicateUser(n) if n == "wang"),
            "{err}"
        );
        let users = store.users().await.unwrap();
        assert_eq!(users.len(), 1);
        assert_eq!(users[0].role, Role::Worker);
        assert!(users[0].cells.is_empty());
    }

    #[tokio::test]
    async fn users_are_listed_by_name_with_their_unit() {
        let store = store().await;
        for (n, role) in [("zhao", Role::Handler), ("an", Role::Viewer)] {
            store.add_user(&new_user(n, role, &[]), "h").await.unwrap();
        }
        let users = store.users().await.unwrap();
        let names: Vec<&str> = users.iter().map(|u| u.username.as_str()).collect();
        assert_eq!(names, ["an", "zhao"]);
        assert_eq!(users[1].unit.as_deref(), Some("市政管理局"));
    }

    #[tokio::test]
    async fn changing_an_unknown_user_says_so() {
        let store = store().await;
        let ghost = name("ghost");
        assert!(matches!(
            store.set_disabled(&ghost, true).await,
            Err(StoreError::UnknownUser(n)) if n == "ghost"
        ));
        assert!(matches!(
            store.set_password_hash(&ghost, "h").await,
            Err(StoreError::UnknownUser(_))
        ));
        assert!(matches!(
            store.set_cells(&ghost, &[]).await,
            Err(StoreError::UnknownUser(_))
        ));
    }

    #[tokio::test]
    async fn cells_are_replaced_whole() {
        let store = store().await;
        store
            .add_user(&new_user("wang", Role::Worker, &["410104001001001"]), "h")
            .await
            .unwrap();
        let user = store
            .set_cells(&name("wang"), &["410104002".into(), "410104001002".into()])
            .await
            .unwrap();
        assert_eq!(user.cells, ["410104001002", "410104002"]);
        let user = store.set_cells(&name("wang"), &[]).await.unwrap();
        assert!(user.cells.is_empty());
    }

    #[tokio::test]
    async fn a_token_finds_its_user_until_it_expires() {
        let store = store().await;
        let user = store
            .add_user(&new_user("wang", Role::Worker, &["410104"]), "h")
            .await
            .unwrap();
        let now = Utc::now();
        store
            .insert_token(&HASH, user.id, now + TimeDelta::hours(1))
            .await
            .unwrap();
        let found = store.user_by_token(&HASH, now).await.unwrap().unwrap();
        assert_eq!(found.username.as_str(), "wang");
        assert_eq!(found.cells, ["410104"]);
        assert!(
            store
                .user_by_token(&HASH, now + TimeDelta::hours(1))
                .await
                .unwrap()
                .is_none(),
            "a token is dead at its expiry instant"
        );
        assert!(store.user_by_token(&[8; 32], now).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_revoked_token_finds_nobody() {
        let store = store().await;
        let user = store
            .add_user(&new_user("wang", Role::Worker, &[]), "h")
            .await
            .unwrap();
        let now = Utc::now();
        store
            .insert_token(&HASH, user.id, now + TimeDelta::hours(1))
            .await
            .unwrap();
        store.revoke_token(&HASH).await.unwrap();
        assert!(store.user_by_token(&HASH, now).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn disabling_a_user_revokes_their_tokens_for_good() {
        let store = store().await;
        let user = store
            .add_user(&new_user("wang", Role::Worker, &[]), "h")
            .await
            .unwrap();
        let now = Utc::now();
        store
            .insert_token(&HASH, user.id, now + TimeDelta::hours(1))
            .await
            .unwrap();
        let disabled = store.set_disabled(&name("wang"), true).await.unwrap();
        assert!(disabled.disabled);
        assert!(store.user_by_token(&HASH, now).await.unwrap().is_none());
        let enabled = store.set_disabled(&name("wang"), false).await.unwrap();
        assert!(!enabled.disabled);
        assert!(
            store.user_by_token(&HASH, now).await.unwrap().is_none(),
            "re-enabling does not bring old sessions back"
        );
    }

    #[tokio::test]
    async fn a_new_password_revokes_the_tokens_and_replaces_the_hash() {
        let store = store().await;
        let user = store
            .add_user(&new_user("wang", Role::Worker, &[]), "old")
            .await
            .unwrap();
        let now = Utc::now();
        store
            .insert_token(&HASH, user.id, now + TimeDelta::hours(1))
            .await
            .unwrap();
        store.set_password_hash(&name("wang"), "new").await.unwrap();
        assert!(store.user_by_token(&HASH, now).await.unwrap().is_none());
        let (_, hash) = store.user_by_name(&name("wang")).await.unwrap().unwrap();
        assert_eq!(hash, "new");
    }

    #[tokio::test]
    async fn purging_removes_only_expired_tokens() {
        let store = store().await;
        let user = store
            .add_user(&new_user("wang", Role::Worker, &[]), "h")
            .await
            .unwrap();
        let now = Utc::now();
        store
            .insert_token(&[1; 32], user.id, now - TimeDelta::hours(1))
            .await
            .unwrap();
        store
            .insert_token(&[2; 32], user.id, now + TimeDelta::hours(1))
            .await
            .unwrap();
        assert_eq!(store.purge_tokens(now).await.unwrap(), 1);
        assert!(store.user_by_token(&[2; 32], now).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn audit_records_are_filtered_and_newest_first() {
        let store = store().await;
        store
            .append_audit(&entry(None, "user.add", "wang"))
            .await
            .unwrap();
        store
            .append_audit(&entry(Some("wang"), "auth.login", "wang"))
            .await
            .unwrap();
        store
            .append_audit(&entry(Some("wang"), "auth.logout", "wang"))
            .await
            .unwrap();
        store
            .append_audit(&entry(Some("li"), "auth.login", "li"))
            .await
            .unwrap();
        let all = store.audit(&AuditQuery::default()).await.unwrap();
        let actions: Vec<&str> = all.iter().map(|r| r.action.as_str()).collect();
        assert_eq!(
            actions,
            ["auth.login", "auth.logout", "auth.login", "user.add"]
        );
        assert_eq!(all[3].actor, None);
        assert_eq!(all[3].detail, json!({ "n": 1 }));
        assert_eq!(all[3].remote.as_deref(), Some("127.0.0.1"));
        let query = AuditQuery {
            actor: Some("wang".into()),
            action_prefix: Some("auth.".into()),
            ..AuditQuery::default()
        };
        let wang = store.audit(&query).await.unwrap();
        assert_eq!(wang.len(), 2);
        assert!(wang[0].id > wang[1].id);
        let by_target = AuditQuery {
            target: Some("li".into()),
            ..AuditQuery::default()
        };
        assert_eq!(store.audit(&by_target).await.unwrap().len(), 1);
        let limited = AuditQuery {
            limit: 1,
            ..AuditQuery::default()
        };
        assert_eq!(store.audit(&limited).await.unwrap()[0].target, "li");
    }

    #[tokio::test]
    async fn audit_records_are_filtered_by_time() {
        let store = store().await;
        let before = Utc::now() - TimeDelta::seconds(1);
        store
            .append_audit(&entry(None, "user.add", "wang"))
            .await
            .unwrap();
        let after = Utc::now() + TimeDelta::seconds(1);
        let within = AuditQuery {
            from: Some(before),
            to: Some(after),
            ..AuditQuery::default()
        };
        assert_eq!(store.audit(&within).await.unwrap().len(), 1);
        let later = AuditQuery {
            from: Some(after),
            ..AuditQuery::default()
        };
        assert!(store.audit(&later).await.unwrap().is_empty());
        let earlier = AuditQuery {
            to: Some(before),
            ..AuditQuery::default()
        };
        assert!(store.audit(&earlier).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_action_prefix_is_matched_literally() {
        let store = store().await;
        store
            .append_audit(&entry(None, "auth_x.login", "a"))
            .await
            .unwrap();
        store
            .append_audit(&entry(None, "auth%.login", "b"))
            .await
            .unwrap();
        let query = AuditQuery {
            action_prefix: Some("auth%".into()),
            ..AuditQuery::default()
        };
        let found = store.audit(&query).await.unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].target, "b");
    }

    #[tokio::test]
    async fn audit_records_cannot_be_changed_or_deleted() {
        let store = store().await;
        store
            .append_audit(&entry(Some("wang"), "auth.login", "wang"))
            .await
            .unwrap();
        let update = sqlx::query("UPDATE audit_log SET actor = 'mallory'")
            .execute(store.pool())
            .await
            .unwrap_err();
        assert!(update.to_string().contains("append-only"), "{update}");
        let delete = sqlx::query("DELETE FROM audit_log")
            .execute(store.pool())
            .await
            .unwrap_err();
        assert!(delete.to_string().contains("append-only"), "{delete}");
        let records = store.audit(&AuditQuery::default()).await.unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].actor.as_deref(), Some("wang"));
    }

    #[tokio::test]
    async fn an_audit_record_in_a_rolled_back_transaction_is_not_kept() {
        let store = store().await;
        let mut tx = store.pool().begin().await.unwrap();
        append_audit_tx(&mut tx, &entry(None, "case.transition", "1"))
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        let mut tx = store.pool().begin().await.unwrap();
        append_audit_tx(&mut tx, &entry(None, "case.transition", "2"))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let records = store.audit(&AuditQuery::default()).await.unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].target, "2");
    }
}
