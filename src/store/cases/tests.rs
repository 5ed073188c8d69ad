use chrono::{TimeZone as _, Utc};
use serde_json::json;

use super::*;
use crate::model::case::sample_case;

fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, hour, 0, 0).unwrap()
}

fn new_case(reporter: &str) -> Case {
    let mut case = sample_case(0, at(8));
    case.reporter = reporter.into();
    case.asset = Some(AssetRef {
        collection: "manholes".into(),
        id: "MH-1".into(),
    });
    case.photos = vec!["a".repeat(64)];
    case
}

fn entry(action: Action, from: Option<CaseState>, to: CaseState) -> LogEntry {
    LogEntry {
        seq: 0,
        at: at(9),
        actor: "wang".into(),
        action,
        from,
        to,
        note: Some("note".into()),
        photos: Vec::new(),
        detail: json!({ "unit": "x" }),
    }
}

fn audit() -> AuditEntry {
    AuditEntry {
        actor: Some("wang".into()),
        action: "case.report".into(),
        target: String::new(),
        detail: json!({}),
        remote: None,
    }
}

async fn store() -> SqliteStore {
    SqliteStore::open("sqlite::memory:").await.unwrap()
}

#[tokio::test]
async fn a_stored_case_reads_back_whole_with_its_log() {
    let store = store().await;
    let report = entry(Action::Report, None, CaseState::Reported);
    let inserted = store
        .insert_case(&new_case("wang"), None, &report, &audit())
        .await
        .unwrap();
    assert!(inserted.created);
    let mut expected = new_case("wang");
    expected.id = inserted.case.id;
    assert_eq!(inserted.case, expected);
    assert_eq!(
        store.case(expected.id).await.unwrap(),
        Some(expected.clone())
    );
    let log = store.case_log(expected.id).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].seq, 1);
    assert_eq!(log[0].action, Action::Report);
    assert_eq!(log[0].detail, json!({ "unit": "x" }));
}

#[tokio::test]
async fn the_same_idempotency_key_never_makes_a_second_case() {
    let store = store().await;
    let report = entry(Action::Report, None, CaseState::Reported);
    let first = store
        .insert_case(&new_case("wang"), Some("k1"), &report, &audit())
        .await
        .unwrap();
    let again = store
        .insert_case(&new_case("wang"), Some("k1"), &report, &audit())
        .await
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.case.id, first.case.id);
    // Another reporter may use the same key.
    let other = store
        .insert_case(&new_case("li"), Some("k1"), &report, &audit())
        .await
        .unwrap();
    assert!(other.created);
    let (all, total) = store.cases(&CaseQuery::default()).await.unwrap();
    assert_eq!((all.len(), total), (2, 2));
}

#[tokio::test]
async fn an_update_on_a_stale_version_writes_nothing() {
    let store = store().await;
    let report = entry(Action::Report, None, CaseState::Reported);
    let case = store
        .insert_case(&new_case("wang"), None, &report, &audit())
        .await
        .unwrap()
        .case;
    let mut filed = case.clone();
    filed.version = 2;
    filed.state = CaseState::Filed;
    filed.filed_at = Some(at(9));
    let file = entry(Action::File, Some(CaseState::Reported), CaseState::Filed);
    assert!(store.update_case(1, &filed, &file, &audit()).await.unwrap());
    // A second writer that also read version 1 loses.
    let mut voided = case.clone();
    voided.version = 2;
    voided.state = CaseState::Voided;
    let void = entry(Action::Void, Some(CaseState::Reported), CaseState::Voided);
    assert!(
        !store
            .update_case(1, &voided, &void, &audit())
            .await
            .unwrap()
    );
    assert_eq!(store.case(case.id).await.unwrap(), Some(filed));
    let log = store.case_log(case.id).await.unwrap();
    assert_eq!(
        log.iter().map(|e| e.action).collect::<Vec<_>>(),
        vec![Action::Report, Action::File]
    );
}

#[tokio::test]
async fn the_case_log_cannot_be_edited_or_deleted() {
    let store = store().await;
    let report = entry(Action::Report, None, CaseState::Reported);
    store
        .insert_case(&new_case("wang"), None, &report, &audit())
        .await
        .unwrap();
    let update = sqlx::query("UPDATE case_log SET note = 'changed'")
        .execute(store.pool())
        .await;
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = sqlx::query("DELETE FROM case_log")
        .execute(store.pool())
        .await;
    assert!(delete.unwrap_err().to_string().contains("append-only"));
}

#[tokio::test]
async fn listings_filter_by_cell_prefix_state_and_overdue() {
    let store = store().await;
    let report = entry(Action::Report, None, CaseState::Reported);
    let mut late = new_case("wang");
    late.state = CaseState::Dispatched;
    late.due_at = Some(at(10));
    store
        .insert_case(&late, None, &report, &audit())
        .await
        .unwrap();
    let mut elsewhere = new_case("wang");
    elsewhere.cells.last_mut().unwrap().code = "410104002001001".into();
    store
        .insert_case(&elsewhere, None, &report, &audit())
        .await
        .unwrap();
    let in_community = CaseQuery {
        cells: vec!["410104001005".into()],
        ..CaseQuery::default()
    };
    assert_eq!(store.cases(&in_community).await.unwrap().1, 1);
    let overdue = CaseQuery {
        overdue_at: Some(at(11)),
        ..CaseQuery::default()
    };
    assert_eq!(store.cases(&overdue).await.unwrap().1, 1);
    let not_yet = CaseQuery {
        overdue_at: Some(at(9)),
        ..CaseQuery::default()
    };
    assert_eq!(store.cases(&not_yet).await.unwrap().1, 0);
    let reported = CaseQuery {
        states: vec![CaseState::Reported],
        ..CaseQuery::default()
    };
    assert_eq!(store.cases(&reported).await.unwrap().1, 1);
}

#[tokio::test]
async fn api_keys_are_found_by_hash_until_revoked() {
    let store = store().await;
    let hash = [7_u8; 32];
    store.add_api_key("civic-app", &hash).await.unwrap();
    assert!(matches!(
        store.add_api_key("civic-app", &[8; 32]).await,
        Err(StoreError::DuplicateApiKey(_))
    ));
    assert_eq!(
        store.api_key(&hash).await.unwrap().as_deref(),
        Some("civic-app")
    );
    assert!(store.revoke_api_key("civic-app").await.unwrap());
    assert_eq!(store.api_key(&hash).await.unwrap(), None);
}
