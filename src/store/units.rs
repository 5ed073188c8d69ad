//! The registry of units an administrator added (beyond those the grid cells name) and the
//! count of active handlers per unit: the [`UnitStore`] seam and its SQLite implementation.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::Row;

use super::users::append_audit_tx;
use super::{SqliteStore, StoreError};
use crate::model::audit::AuditEntry;

/// A unit an administrator registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredUnit {
    /// Its name (the key).
    pub name: String,
    /// Who added it (none for units carried over from existing handlers).
    pub added_by: Option<String>,
    /// When.
    pub added_at: DateTime<Utc>,
}

/// Storage of the unit registry.
#[async_trait]
pub trait UnitStore: Send + Sync {
    /// The registered units, by name.
    async fn registered_units(&self) -> Result<Vec<RegisteredUnit>, StoreError>;

    /// Registers a unit with its audit row, in one transaction; false (writing nothing) when a
    /// unit of that name is registered already.
    async fn register_unit(
        &self,
        unit: &RegisteredUnit,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError>;

    /// How many enabled handlers each unit has (units without any are absent).
    async fn active_handlers(&self) -> Result<HashMap<String, u32>, StoreError>;
}

#[async_trait]
impl UnitStore for SqliteStore {
    async fn registered_units(&self) -> Result<Vec<RegisteredUnit>, StoreError> {
        let rows = sqlx::query("SELECT name, added_by, added_at FROM units ORDER BY name")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|row| {
                let added_at: String = row.try_get("added_at")?;
                Ok(RegisteredUnit {
                    name: row.try_get("name")?,
                    added_by: row.try_get("added_by")?,
                    added_at: DateTime::parse_from_rfc3339(&added_at)
                        .map_or(DateTime::<Utc>::UNIX_EPOCH, |t| t.with_timezone(&Utc)),
                })
            })
            .collect()
    }

    async fn register_unit(
        &self,
        unit: &RegisteredUnit,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let _writer = self.writer().lock().await;
        let mut tx = self.pool().begin().await?;
        let added = sqlx::query(
            "INSERT INTO units (name, added_by, added_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
        )
        .bind(&unit.name)
        .bind(&unit.added_by)
        .bind(unit.added_at.to_rfc3339_opts(SecondsFormat::Millis, true))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if added == 0 {
            return Ok(false);
        }
        append_audit_tx(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn active_handlers(&self) -> Result<HashMap<String, u32>, StoreError> {
        let rows = sqlx::query(
            "SELECT unit, COUNT(*) AS n FROM users
             WHERE role = 'handler' AND disabled = 0 AND unit IS NOT NULL GROUP BY unit",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let n: i64 = row.try_get("n")?;
                Ok((row.try_get("unit")?, u32::try_from(n).unwrap_or(u32::MAX)))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{NewUser, Role, Username};
    use crate::store::UserStore as _;

    fn audit() -> AuditEntry {
        AuditEntry {
            actor: Some("admin".into()),
            action: "unit.add".into(),
            target: "unit/x".into(),
            detail: serde_json::json!({}),
            remote: None,
        }
    }

    #[tokio::test]
    async fn a_unit_is_registered_once_and_handlers_are_counted_while_enabled() {
        let store = SqliteStore::open("sqlite::memory:").await.unwrap();
        let unit = RegisteredUnit {
            name: "郑州水务集团管城分公司".into(),
            added_by: Some("admin".into()),
            added_at: Utc::now(),
        };
        assert!(store.register_unit(&unit, &audit()).await.unwrap());
        assert!(!store.register_unit(&unit, &audit()).await.unwrap());
        let listed = store.registered_units().await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].name, unit.name);

        let name = Username::parse("shuiwu").unwrap();
        store
            .add_user(
                &NewUser {
                    username: name.clone(),
                    display_name: "孙强".into(),
                    role: Role::Handler,
                    unit: Some(unit.name.clone()),
                    cells: Vec::new(),
                },
                "hash",
            )
            .await
            .unwrap();
        assert_eq!(
            store.active_handlers().await.unwrap().get(&unit.name),
            Some(&1)
        );
        store.set_disabled(&name, true).await.unwrap();
        assert!(store.active_handlers().await.unwrap().is_empty());
    }
}
