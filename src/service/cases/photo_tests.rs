//! Who may upload photos, the per-user quota and the collection of orphaned photos, on a store
//! of their own with a test clock.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone as _, Utc};

use super::*;
use crate::model::audit::AuditQuery;
use crate::model::case::sample_case;
use crate::model::user::Username;
use crate::store::{SqliteStore, Store, UserStore};

const JPEG: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/photos/plain.jpg"
));
const PNG: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/photos/plain.png"
));
const WEBP: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/photos/plain.webp"
));

struct Setup {
    service: CaseService,
    store: Arc<SqliteStore>,
    now: Arc<Mutex<DateTime<Utc>>>,
    _dir: tempfile::TempDir,
}

impl Setup {
    fn advance(&self, by: Duration) {
        *self.now.lock().unwrap() += by;
    }
}

async fn setup(policy: PhotoPolicy) -> Setup {
    let store = Arc::new(SqliteStore::open("sqlite::memory:").await.unwrap());
    let catalog = Arc::new(
        Catalog::load(Arc::clone(&store) as Arc<dyn Store>)
            .await
            .unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let now = Arc::new(Mutex::new(
        Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap(),
    ));
    let clock: Clock = {
        let now = Arc::clone(&now);
        Arc::new(move || *now.lock().unwrap())
    };
    let service = CaseService::new(
        Arc::clone(&store) as Arc<dyn CaseStore>,
        catalog,
        Arc::new(CategoryCatalog::builtin()),
        Arc::new(WorkCalendar::builtin()),
        PhotoStore::open(dir.path()).unwrap(),
    )
    .with_clock(clock)
    .with_photo_policy(policy);
    Setup {
        service,
        store,
        now,
        _dir: dir,
    }
}

fn user(name: &str, role: Role) -> User {
    User {
        id: 1,
        username: Username::parse(name).unwrap(),
        display_name: name.into(),
        role,
        unit: None,
        cells: Vec::new(),
        disabled: false,
        created_at: Utc::now(),
    }
}

fn bytes(data: &'static [u8]) -> bytes::Bytes {
    bytes::Bytes::from_static(data)
}

#[tokio::test]
async fn only_roles_that_report_or_act_on_cases_may_upload_photos() {
    let s = setup(PhotoPolicy::default()).await;
    for role in [Role::Viewer, Role::Analyst] {
        let err = s
            .service
            .upload_photo(&user("reader", role), bytes(JPEG), None)
            .await
            .unwrap_err();
        assert!(matches!(err, CaseError::UploadForbidden(r) if r == role));
        let message = err.to_string();
        assert!(
            message.contains(role.as_str()) && message.contains("report or act"),
            "{message}"
        );
    }
    for role in [
        Role::Worker,
        Role::Handler,
        Role::Dispatcher,
        Role::Supervisor,
        Role::Admin,
    ] {
        s.service
            .upload_photo(&user("actor", role), bytes(JPEG), None)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn the_daily_photo_count_is_per_user_and_frees_up_a_day_after_the_oldest_upload() {
    let s = setup(PhotoPolicy {
        daily_count: 2,
        ..PhotoPolicy::default()
    })
    .await;
    let wang = user("wang", Role::Worker);
    s.service
        .upload_photo(&wang, bytes(JPEG), None)
        .await
        .unwrap();
    s.advance(Duration::hours(1));
    s.service
        .upload_photo(&wang, bytes(PNG), None)
        .await
        .unwrap();
    let err = s
        .service
        .upload_photo(&wang, bytes(WEBP), None)
        .await
        .unwrap_err();
    let CaseError::PhotoQuota {
        detail,
        retry_after,
    } = &err
    else {
        panic!("expected the quota, got {err}")
    };
    assert!(detail.contains("2 of 2 photos"), "{detail}");
    assert_eq!(
        retry_after.as_secs(),
        23 * 3600,
        "the oldest leaves in 23 h"
    );
    // Someone else has a quota of their own.
    s.service
        .upload_photo(&user("li", Role::Worker), bytes(WEBP), None)
        .await
        .unwrap();
    s.advance(Duration::hours(23));
    s.service
        .upload_photo(&wang, bytes(WEBP), None)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_daily_byte_quota_refuses_a_photo_that_would_exceed_it_and_refused_photos_do_not_count()
{
    let s = setup(PhotoPolicy {
        daily_bytes: (JPEG.len() + PNG.len()) as u64,
        ..PhotoPolicy::default()
    })
    .await;
    let wang = user("wang", Role::Worker);
    // A refused photo (not an image) does not use the quota up.
    for _ in 0..3 {
        let err = s
            .service
            .upload_photo(&wang, bytes(b"GIF89a not wanted"), None)
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            CaseError::Photo(PhotoError::Unsupported { .. })
        ));
    }
    s.service
        .upload_photo(&wang, bytes(JPEG), None)
        .await
        .unwrap();
    s.service
        .upload_photo(&wang, bytes(PNG), None)
        .await
        .unwrap();
    let err = s
        .service
        .upload_photo(&wang, bytes(WEBP), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CaseError::PhotoQuota { detail, .. } if detail.contains("bytes per user in 24 hours")),
        "{err}"
    );
}

#[tokio::test]
async fn parallel_uploads_cannot_all_pass_the_count_quota() {
    let s = Arc::new(
        setup(PhotoPolicy {
            daily_count: 3,
            ..PhotoPolicy::default()
        })
        .await,
    );
    let wang = user("wang", Role::Worker);
    let uploads = (0..12).map(|_| {
        let s = Arc::clone(&s);
        let wang = wang.clone();
        tokio::spawn(async move { s.service.upload_photo(&wang, bytes(JPEG), None).await })
    });
    let mut accepted = 0;
    for upload in uploads {
        if upload.await.unwrap().is_ok() {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 3);
}

#[tokio::test]
async fn orphaned_photos_are_removed_from_disk_and_database_after_the_grace_period_and_audited() {
    let s = setup(PhotoPolicy {
        orphan_grace: Duration::hours(24),
        ..PhotoPolicy::default()
    })
    .await;
    let wang = user("wang", Role::Worker);
    let orphan = s
        .service
        .upload_photo(&wang, bytes(JPEG), None)
        .await
        .unwrap();
    let used = s
        .service
        .upload_photo(&wang, bytes(PNG), None)
        .await
        .unwrap();
    let mut case = sample_case(0, s.service.now());
    case.photos = vec![used.sha256.clone()];
    let entry = LogEntry {
        seq: 1,
        at: s.service.now(),
        actor: "wang".into(),
        action: Action::Report,
        from: None,
        to: CaseState::Reported,
        note: None,
        photos: Vec::new(),
        detail: json!({}),
    };
    let audit = AuditEntry {
        actor: Some("wang".into()),
        action: "case.report".into(),
        target: String::new(),
        detail: json!({}),
        remote: None,
    };
    s.store
        .insert_case(&case, None, &entry, &audit)
        .await
        .unwrap();

    s.advance(Duration::hours(23));
    assert_eq!(s.service.collect_orphan_photos().await.unwrap(), 0);
    assert!(s.service.photos().contains(&orphan.sha256).unwrap());

    s.advance(Duration::hours(2));
    assert_eq!(s.service.collect_orphan_photos().await.unwrap(), 1);
    assert!(!s.service.photos().contains(&orphan.sha256).unwrap());
    assert!(s.store.photo(&orphan.sha256).await.unwrap().is_none());
    assert!(s.service.photos().contains(&used.sha256).unwrap());
    assert!(s.store.photo(&used.sha256).await.unwrap().is_some());
    let records = s
        .store
        .audit(&AuditQuery {
            action_prefix: Some("photo.remove_orphan".into()),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].target, format!("photo/{}", orphan.sha256));
    // A removed photo is unknown to reports from then on.
    let err = s
        .service
        .check_photos(std::slice::from_ref(&orphan.sha256))
        .await
        .unwrap_err();
    assert!(matches!(err, CaseError::UnknownPhoto(_)));
}

#[tokio::test]
async fn uploading_an_orphan_again_restarts_its_grace_period() {
    let s = setup(PhotoPolicy::default()).await;
    let wang = user("wang", Role::Worker);
    let photo = s
        .service
        .upload_photo(&wang, bytes(JPEG), None)
        .await
        .unwrap();
    s.advance(Duration::hours(20));
    s.service
        .upload_photo(&wang, bytes(JPEG), None)
        .await
        .unwrap();
    s.advance(Duration::hours(20));
    assert_eq!(s.service.collect_orphan_photos().await.unwrap(), 0);
    assert!(s.service.photos().contains(&photo.sha256).unwrap());
}
