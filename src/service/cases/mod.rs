//! The case workflow (一网统管): reporting a problem at a place, moving the case through its
//! states with role, cell and unit checks, deadlines, duplicates, the hazard register, metrics
//! and a stream of changes for live clients.
//!
//! Consistency: the store is the truth. Every action reads the case, checks it, and writes it
//! back only if nobody changed it meanwhile (its version); the loser gets
//! [`CaseError::Conflict`] with the case as it now is. The in-memory index of open cases (for
//! duplicate detection) and the event stream follow successful writes.

pub mod metrics;
mod reads;

pub use reads::{HazardLine, HazardRegister, MetricsReport, MetricsWindow, Overdue};

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use tokio::sync::broadcast;

use crate::index::points::PointIndex;
use crate::model::audit::AuditEntry;
use crate::model::calendar::WorkCalendar;
use crate::model::case::{
    self, Action, AssetRef, Case, CaseState, CellRef, LogEntry, Refusal, Schedule,
};
use crate::model::category::{Category, CategoryCatalog};
use crate::model::temporal::today_in_china;
use crate::model::user::{Role, User};
use crate::service::Catalog;
use crate::service::photos::{MAX_PHOTOS_PER_CASE, PhotoError, PhotoRef, PhotoStore};
use crate::service::units::{self, UnitError, catalog_grid_units};
use crate::store::StoreError;
use crate::store::cases::{CaseOrder, CaseQuery, CaseStore, PhotoRecord, UploadQuota};

/// A report of the same category this close to an open case is offered as a probable duplicate.
pub const DUPLICATE_RADIUS_M: f64 = 50.0;
/// The asset nearest to a report within this distance is suggested.
pub const ASSET_RADIUS_M: f64 = 15.0;
/// Longest description or note, in characters.
pub const MAX_TEXT_CHARS: usize = 2_000;
/// Largest extension one request may ask for, in the category's time unit.
pub const MAX_EXTENSION: f64 = 1_000.0;

/// Who may upload photos, how many and how long a photo no case uses is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhotoPolicy {
    /// Photos one user may upload in 24 hours.
    pub daily_count: u64,
    /// Bytes one user may upload in 24 hours (as sent, before cleaning).
    pub daily_bytes: u64,
    /// How long an uploaded photo that no case or action refers to is kept.
    pub orphan_grace: chrono::Duration,
}

impl Default for PhotoPolicy {
    /// 200 photos and 500 MiB per user and day; orphans kept 24 hours.
    fn default() -> Self {
        Self {
            daily_count: 200,
            daily_bytes: 500 << 20,
            orphan_grace: chrono::Duration::hours(24),
        }
    }
}

/// The window of the per-user photo quota.
const QUOTA_WINDOW_HOURS: i64 = 24;

/// Orphaned photos removed per store query in one collection round.
const ORPHANS_PER_ROUND: u32 = 500;

/// Whether a role reports or acts on cases, and so may upload photos: everyone but the
/// read-only analyst and viewer.
pub fn may_upload_photos(role: Role) -> bool {
    match role {
        Role::Admin | Role::Dispatcher | Role::Supervisor | Role::Handler | Role::Worker => true,
        Role::Analyst | Role::Viewer => false,
    }
}

/// Who reports a case.
#[derive(Debug, Clone)]
pub enum Reporter {
    /// A signed-in user.
    User(User),
    /// A civic app through Open311, by the name of its API key.
    App(String),
}

impl Reporter {
    /// The name written into the case and its log.
    pub fn name(&self) -> String {
        match self {
            Self::User(user) => user.username.to_string(),
            Self::App(name) => format!("open311:{name}"),
        }
    }
}

/// A new report, validated at the edge for syntax (numbers, lengths); the service checks the
/// rest (category, place, photos, asset).
#[derive(Debug, Clone)]
pub struct NewReport {
    /// Category code.
    pub category: String,
    /// WGS84 longitude.
    pub lon: f64,
    /// WGS84 latitude.
    pub lat: f64,
    /// What is wrong.
    pub description: String,
    /// Street address or landmark.
    pub address: Option<String>,
    /// Photos already uploaded (SHA-256 ids).
    pub photos: Vec<String>,
    /// The asset concerned, if the reporter chose one.
    pub asset: Option<AssetRef>,
    /// `api`, `tablet` or `open311`.
    pub channel: String,
    /// A key the reporter sends again when retrying, so that a retry never makes a second case.
    pub idempotency_key: Option<String>,
    /// The reporter's network address, for the audit trail.
    pub remote: Option<String>,
}

/// A probable duplicate: an open case of the same category nearby.
#[derive(Debug, Clone, Serialize)]
pub struct DuplicateHint {
    /// Its number.
    pub id: i64,
    /// Its state.
    pub state: CaseState,
    /// Geodesic distance from the new report, metres.
    pub distance_m: f64,
}

/// A suggested asset: the nearest feature of the category's layer within [`ASSET_RADIUS_M`].
#[derive(Debug, Clone, Serialize)]
pub struct AssetSuggestion {
    /// Collection and id.
    #[serde(flatten)]
    pub asset: AssetRef,
    /// Geodesic distance, metres.
    pub distance_m: f64,
}

/// What a report produced.
#[derive(Debug, Clone)]
pub struct Reported {
    /// The case as stored.
    pub case: Case,
    /// False when the idempotency key had been used: `case` is the earlier one.
    pub created: bool,
    /// Open cases of the same category within [`DUPLICATE_RADIUS_M`], nearest first.
    pub duplicates: Vec<DuplicateHint>,
    /// The asset suggested when none was given.
    pub suggested_asset: Option<AssetSuggestion>,
}

/// An action on a case, as asked.
#[derive(Debug, Clone)]
pub struct ActionRequest {
    /// What to do.
    pub action: Action,
    /// Why, or what was done.
    pub note: Option<String>,
    /// Photos of this step.
    pub photos: Vec<String>,
    /// `dispatch`: the unit (default: the case's responsible unit).
    pub unit: Option<String>,
    /// `request_extension` / `approve_extension`: time asked or granted, in the category's unit.
    pub amount: Option<f64>,
    /// `merge`: the case this one duplicates.
    pub into: Option<i64>,
    /// `link_asset`: the asset to link, or none to clear the link.
    pub asset: Option<AssetRef>,
    /// The version the actor saw; when given and stale, the action is refused with the case.
    pub expected_version: Option<i64>,
    /// The actor's network address, for the audit trail.
    pub remote: Option<String>,
}

impl ActionRequest {
    /// A request for `action` with nothing else.
    pub fn new(action: Action) -> Self {
        Self {
            action,
            note: None,
            photos: Vec::new(),
            unit: None,
            amount: None,
            into: None,
            asset: None,
            expected_version: None,
            remote: None,
        }
    }
}

/// A case with everything a case page shows.
#[derive(Debug, Clone, Serialize)]
pub struct CaseDetail {
    /// The case.
    pub case: Case,
    /// Its log, in order.
    pub log: Vec<LogEntry>,
    /// Its deadlines.
    pub schedule: Schedule,
    /// Whether it is past its current deadline now.
    pub overdue: bool,
    /// What the viewing user may do now.
    pub allowed_actions: Vec<Action>,
    /// Cases merged into this one.
    pub duplicates: Vec<i64>,
}

/// A change of a case, as sent to live clients.
#[derive(Debug, Clone, Serialize)]
pub struct CaseEvent {
    /// The case number.
    pub id: i64,
    /// Its version after the change.
    pub version: i64,
    /// What was done.
    pub action: Action,
    /// Who did it.
    pub actor: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The state now.
    pub state: CaseState,
    /// The category.
    pub category: String,
    /// The unit it is dispatched to.
    pub assigned_unit: Option<String>,
    /// The most specific cell.
    pub cell: Option<String>,
    /// Position, WGS84.
    pub lon: f64,
    /// Position, WGS84.
    pub lat: f64,
    /// The current deadline.
    pub due_at: Option<DateTime<Utc>>,
    /// Who reported the case: not sent, but needed to decide who may receive the event.
    #[serde(skip)]
    pub reporter: String,
}

/// Why a case operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// The category code is not in the catalogue.
    #[error("unknown category {0:?}; GET /cases/categories lists them")]
    UnknownCategory(String),
    /// The place lies in no grid cell of the district.
    #[error(
        "the location {lon}, {lat} lies outside the district's grid; cases can only be reported inside it"
    )]
    OutsideDistrict {
        /// Longitude.
        lon: f64,
        /// Latitude.
        lat: f64,
    },
    /// A field's value is not acceptable.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is allowed.
        reason: String,
    },
    /// The asset named does not exist.
    #[error("asset {collection}/{id} does not exist")]
    UnknownAsset {
        /// Its collection.
        collection: String,
        /// Its id.
        id: String,
    },
    /// A merge the cases' current states do not allow: the case to merge into is closed or
    /// itself a duplicate, or the case to merge has duplicates of its own. Holds the case at
    /// fault as it is now.
    #[error("{reason}")]
    MergeConflict {
        /// Why, and what to do instead.
        reason: String,
        /// The case at fault.
        current: Box<Case>,
    },
    /// The unit named is not known, or its name is not acceptable.
    #[error(transparent)]
    Unit(#[from] UnitError),
    /// The unit is known but no active handler holds it: a case sent there would be stranded.
    #[error(
        "no active handler holds unit {0:?}, so nobody could act on the case; GET /units shows which units have handlers"
    )]
    UnstaffedUnit(String),
    /// A photo id names no uploaded photo.
    #[error("photo {0} was not uploaded; POST /photos first")]
    UnknownPhoto(String),
    /// The user's role neither reports nor acts on cases, so it may not upload photos.
    #[error(
        "the role {0} may not upload photos: only roles that report or act on cases (worker, handler, dispatcher, supervisor, admin) may"
    )]
    UploadForbidden(Role),
    /// The user's photo quota of the last 24 hours is used up.
    #[error("{detail}")]
    PhotoQuota {
        /// Which quota and how much of it is used.
        detail: String,
        /// When the oldest upload of the window leaves it.
        retry_after: std::time::Duration,
    },
    /// No case has this number.
    #[error("case {0} does not exist")]
    NotFound(i64),
    /// The actor may not do this (403) or the case's state does not allow it (409).
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// Somebody changed the case first: the action was not applied. Holds the case as it is now.
    #[error("case {} was changed by someone else (now version {}, {}); reload and try again", .0.id, .0.version, .0.state)]
    Conflict(Box<Case>),
    /// A photo was refused or could not be stored.
    #[error(transparent)]
    Photo(#[from] PhotoError),
    /// The grid layer is missing.
    #[error("the grid_cells collection holds no cells to locate cases in")]
    NoGrid,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Open cases by place, for duplicate detection.
#[derive(Debug, Default)]
struct OpenCases {
    points: PointIndex,
    /// Case number → (category, position, state).
    cases: HashMap<i64, (String, [f64; 2], CaseState)>,
}

impl OpenCases {
    fn update(&mut self, case: &Case) {
        if let Some((_, at, _)) = self.cases.remove(&case.id) {
            self.points.remove(case.id, at);
        }
        if case.state.is_open() {
            let at = [case.lon, case.lat];
            self.points.insert(case.id, at);
            self.cases
                .insert(case.id, (case.category.clone(), at, case.state));
        }
    }

    fn near(&self, category: &str, lon: f64, lat: f64, radius_m: f64) -> Vec<DuplicateHint> {
        self.points
            .within(lon, lat, radius_m)
            .into_iter()
            .filter_map(|(id, distance_m)| {
                let (cat, _, state) = self.cases.get(&id)?;
                (cat == category).then_some(DuplicateHint {
                    id,
                    state: *state,
                    distance_m,
                })
            })
            .collect()
    }
}

/// Issues an Open311 API key for the civic app `name`: the key is returned once and stored
/// only as its SHA-256.
pub async fn issue_api_key(store: &dyn CaseStore, name: &str) -> Result<String, CaseError> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > 64
        || !name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(CaseError::Invalid {
            field: "name",
            reason: "1 to 64 letters, digits, '-', '_' or '.'".into(),
        });
    }
    let mut bytes = [0_u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    let key = format!("o311_{}", hex::encode(bytes));
    store.add_api_key(name, &key_hash(&key)).await?;
    Ok(key)
}

/// SHA-256 of an API key, as stored.
fn key_hash(key: &str) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(key.as_bytes()).into()
}

/// The clock the service reads; tests set their own.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The case workflow.
pub struct CaseService {
    store: Arc<dyn CaseStore>,
    catalog: Arc<Catalog>,
    categories: Arc<CategoryCatalog>,
    calendar: Arc<WorkCalendar>,
    photos: PhotoStore,
    photo_policy: PhotoPolicy,
    /// Uploads and case writes that refer to photos hold it shared; removing an orphaned photo
    /// holds it alone, so a photo is never removed between being checked and being referred to
    /// (nor its file removed while the same photo is stored again).
    photo_gate: tokio::sync::RwLock<()>,
    open: RwLock<OpenCases>,
    events: broadcast::Sender<CaseEvent>,
    clock: Clock,
}

impl std::fmt::Debug for CaseService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaseService")
            .field("photos", &self.photos)
            .finish_non_exhaustive()
    }
}

impl CaseService {
    /// The service over `store`. Call [`Self::load_open_cases`] before serving when the store
    /// may already hold cases.
    pub fn new(
        store: Arc<dyn CaseStore>,
        catalog: Arc<Catalog>,
        categories: Arc<CategoryCatalog>,
        calendar: Arc<WorkCalendar>,
        photos: PhotoStore,
    ) -> Self {
        let (events, _) = broadcast::channel(1024);
        Self {
            store,
            catalog,
            categories,
            calendar,
            photos,
            photo_policy: PhotoPolicy::default(),
            photo_gate: tokio::sync::RwLock::new(()),
            open: RwLock::new(OpenCases::default()),
            events,
            clock: Arc::new(Utc::now),
        }
    }

    /// Loads the open cases into the duplicate index; returns how many there are.
    pub async fn load_open_cases(&self) -> Result<usize, CaseError> {
        let open_states: Vec<CaseState> =
            CaseState::ALL.into_iter().filter(|s| s.is_open()).collect();
        let (open, _) = self
            .store
            .cases(&CaseQuery {
                states: open_states,
                ..CaseQuery::default()
            })
            .await?;
        let mut index = self
            .open
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for case in &open {
            index.update(case);
        }
        Ok(open.len())
    }

    /// The same service reading time from `clock` (tests).
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The same service with this photo quota and orphan grace period.
    #[must_use]
    pub fn with_photo_policy(mut self, policy: PhotoPolicy) -> Self {
        self.photo_policy = policy;
        self
    }

    /// The photo quota and orphan grace period.
    pub fn photo_policy(&self) -> PhotoPolicy {
        self.photo_policy
    }

    /// Now, by the service's clock.
    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// The category catalogue.
    pub fn categories(&self) -> &CategoryCatalog {
        &self.categories
    }

    /// The working calendar.
    pub fn calendar(&self) -> &WorkCalendar {
        &self.calendar
    }

    /// The photo files.
    pub fn photos(&self) -> &PhotoStore {
        &self.photos
    }

    /// The case store (for listings the API composes).
    pub fn store(&self) -> &Arc<dyn CaseStore> {
        &self.store
    }

    /// A receiver of every case change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<CaseEvent> {
        self.events.subscribe()
    }

    fn category(&self, code: &str) -> Result<&Category, CaseError> {
        self.categories
            .get(code)
            .ok_or_else(|| CaseError::UnknownCategory(code.to_owned()))
    }

    fn check_text(field: &'static str, text: &str, required: bool) -> Result<(), CaseError> {
        let chars = text.chars().count();
        if required && text.trim().is_empty() {
            return Err(CaseError::Invalid {
                field,
                reason: "must not be empty".into(),
            });
        }
        if chars > MAX_TEXT_CHARS {
            return Err(CaseError::Invalid {
                field,
                reason: format!("at most {MAX_TEXT_CHARS} characters, got {chars}"),
            });
        }
        Ok(())
    }

    /// Checks that the photos exist. The caller holds `photo_gate` (shared) from here until
    /// the case write that refers to them is done, so they cannot be collected as orphans in
    /// between.
    async fn check_photos(&self, photos: &[String]) -> Result<(), CaseError> {
        if photos.len() > MAX_PHOTOS_PER_CASE {
            return Err(CaseError::Invalid {
                field: "photos",
                reason: format!("at most {MAX_PHOTOS_PER_CASE} photos, got {}", photos.len()),
            });
        }
        for (i, id) in photos.iter().enumerate() {
            if photos[..i].contains(id) {
                return Err(CaseError::Invalid {
                    field: "photos",
                    reason: format!("photo {id} is listed twice"),
                });
            }
            if self.store.photo(id).await?.is_none() {
                return Err(CaseError::UnknownPhoto(id.clone()));
            }
        }
        Ok(())
    }

    /// The grid chain at a point today, district first, and the responsible unit.
    fn locate(&self, lon: f64, lat: f64) -> Result<(Vec<CellRef>, Option<String>), CaseError> {
        let grid = self.catalog.grid().map_err(|_| CaseError::NoGrid)?;
        let chain = grid.locate(lon, lat, today_in_china());
        if chain.is_empty() {
            return Err(CaseError::OutsideDistrict { lon, lat });
        }
        let text = |f: &crate::model::Feature, key: &str| {
            f.properties
                .get(key)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let cells: Vec<CellRef> = chain
            .iter()
            .map(|(level, cell)| CellRef {
                level: *level,
                code: text(cell, "code"),
                name: text(cell, "name"),
            })
            .collect();
        // The most specific cell that names a unit: grid, else community, else street.
        let unit = chain
            .iter()
            .rev()
            .map(|(_, cell)| text(cell, "responsible_unit"))
            .find(|u| !u.trim().is_empty());
        Ok((cells, unit))
    }

    /// The asset a report of `category` at `lon`, `lat` would be suggested (the nearest feature
    /// of the category's layer within [`ASSET_RADIUS_M`]), for a form to offer before sending.
    pub fn suggested_asset(
        &self,
        category: &str,
        lon: f64,
        lat: f64,
    ) -> Result<Option<AssetSuggestion>, CaseError> {
        let category = self.category(category)?;
        Ok(self.suggest_asset(category, lon, lat))
    }

    fn suggest_asset(&self, category: &Category, lon: f64, lat: f64) -> Option<AssetSuggestion> {
        let link = category.asset.as_ref()?;
        let collection = self.catalog.collection(&link.collection).ok()?;
        collection
            .index
            .nearest(lon, lat, 32, Some(ASSET_RADIUS_M))
            .into_iter()
            .find(|(f, _)| {
                f.properties.get(&link.property).and_then(|v| v.as_str()) == Some(&link.value)
            })
            .map(|(f, distance_m)| AssetSuggestion {
                asset: AssetRef {
                    collection: link.collection.clone(),
                    id: f.id.to_string(),
                },
                distance_m,
            })
    }

    /// Checks a report without storing anything: the reporter's role and cells, the category,
    /// the texts, the place (inside the district) and the asset. Photos are checked by
    /// [`Self::report`]. Returns the category, the grid chain and the responsible unit.
    pub fn prepare(
        &self,
        reporter: &Reporter,
        report: &NewReport,
    ) -> Result<(Category, Vec<CellRef>, Option<String>), CaseError> {
        if let Reporter::User(user) = reporter {
            case::check_role(user, Action::Report)?;
        }
        let category = self.category(&report.category)?.clone();
        Self::check_text("description", &report.description, true)?;
        if let Some(address) = &report.address {
            Self::check_text("address", address, false)?;
        }
        if report.photos.len() > MAX_PHOTOS_PER_CASE {
            return Err(CaseError::Invalid {
                field: "photos",
                reason: format!(
                    "at most {MAX_PHOTOS_PER_CASE} photos, got {}",
                    report.photos.len()
                ),
            });
        }
        if !(report.lon.is_finite()
            && report.lat.is_finite()
            && (-180.0..=180.0).contains(&report.lon)
            && (-90.0..=90.0).contains(&report.lat))
        {
            return Err(CaseError::Invalid {
                field: "location",
                reason: "longitude in [-180, 180] and latitude in [-90, 90]".into(),
            });
        }
        let (cells, responsible_unit) = self.locate(report.lon, report.lat)?;
        let cell = cells.last().map(|c| c.code.as_str()).unwrap_or_default();
        if let Reporter::User(user) = reporter
            && user.role == Role::Worker
            && !user.covers_cell(cell)
        {
            return Err(Refusal::Cell {
                cell: cell.to_owned(),
            }
            .into());
        }
        if let Some(asset) = &report.asset
            && self.catalog.feature(&asset.collection, &asset.id).is_err()
        {
            return Err(CaseError::UnknownAsset {
                collection: asset.collection.clone(),
                id: asset.id.clone(),
            });
        }
        Ok((category, cells, responsible_unit))
    }

    /// Checks, cleans (metadata that can carry a location is stripped) and stores a photo,
    /// recording who sent it. Only roles that report or act on cases may upload
    /// ([`may_upload_photos`]), within their quota of the last 24 hours ([`PhotoPolicy`]).
    pub async fn upload_photo(
        &self,
        uploader: &User,
        data: bytes::Bytes,
        remote: Option<String>,
    ) -> Result<PhotoRef, CaseError> {
        if !may_upload_photos(uploader.role) {
            return Err(CaseError::UploadForbidden(uploader.role));
        }
        let name = uploader.username.as_str();
        let now = self.now();
        let sent = data.len() as u64;
        let quota = UploadQuota {
            since: now - chrono::Duration::hours(QUOTA_WINDOW_HOURS),
            max_count: self.photo_policy.daily_count,
            max_bytes: self.photo_policy.daily_bytes,
        };
        let reservation = match self.store.reserve_upload(name, now, sent, &quota).await? {
            Ok(id) => id,
            Err(usage) => {
                let retry_after = usage
                    .oldest
                    .map(|oldest| oldest + chrono::Duration::hours(QUOTA_WINDOW_HOURS) - now)
                    .and_then(|wait| wait.to_std().ok())
                    .unwrap_or(std::time::Duration::from_secs(60));
                let detail = if usage.count >= quota.max_count {
                    format!(
                        "photo quota used up: {} of {} photos per user in 24 hours",
                        usage.count, quota.max_count
                    )
                } else {
                    format!(
                        "photo quota used up: {} bytes uploaded and this photo of {sent} bytes would exceed {} bytes per user in 24 hours",
                        usage.bytes, quota.max_bytes
                    )
                };
                return Err(CaseError::PhotoQuota {
                    detail,
                    retry_after,
                });
            }
        };
        let _kept = self.photo_gate.read().await;
        let photo = match self.photos.put(data).await {
            Ok(photo) => photo,
            Err(e) => {
                // A refused photo does not count against the quota.
                self.store.release_upload(reservation).await?;
                return Err(e.into());
            }
        };
        let audit = AuditEntry {
            actor: Some(name.to_owned()),
            action: "photo.upload".into(),
            target: format!("photo/{}", photo.sha256),
            detail: json!({ "media_type": photo.media_type, "bytes": photo.bytes }),
            remote,
        };
        self.store
            .put_photo(
                &PhotoRecord {
                    sha256: photo.sha256.clone(),
                    media_type: photo.media_type.clone(),
                    bytes: photo.bytes,
                    uploaded_by: name.to_owned(),
                    uploaded_at: now,
                },
                &audit,
            )
            .await?;
        Ok(photo)
    }

    /// Removes the photos uploaded longer ago than the grace period that no case or action
    /// refers to, from the database (with an audit row each) and from disk. Returns how many
    /// were removed.
    pub async fn collect_orphan_photos(&self) -> Result<usize, CaseError> {
        let before = self.now() - self.photo_policy.orphan_grace;
        let mut removed = 0;
        loop {
            let orphans = self.store.orphan_photos(before, ORPHANS_PER_ROUND).await?;
            let round = orphans.len();
            for orphan in orphans {
                let audit = AuditEntry {
                    actor: None,
                    action: "photo.remove_orphan".into(),
                    target: format!("photo/{}", orphan.sha256),
                    detail: json!({
                        "bytes": orphan.bytes,
                        "uploaded_by": orphan.uploaded_by,
                        "uploaded_at": orphan.uploaded_at,
                        "grace_hours": self.photo_policy.orphan_grace.num_minutes() as f64 / 60.0,
                    }),
                    remote: None,
                };
                let _alone = self.photo_gate.write().await;
                if self
                    .store
                    .remove_orphan_photo(&orphan.sha256, before, &audit)
                    .await?
                {
                    self.photos.remove(&orphan.sha256).await?;
                    removed += 1;
                }
            }
            if round < ORPHANS_PER_ROUND as usize {
                return Ok(removed);
            }
        }
    }

    /// Reports a case: checks it ([`Self::prepare`]) and its photos, offers probable duplicates
    /// and an asset, and stores it as `reported`.
    pub async fn report(
        &self,
        reporter: &Reporter,
        report: NewReport,
    ) -> Result<Reported, CaseError> {
        let (category, cells, responsible_unit) = self.prepare(reporter, &report)?;
        let _photos_kept = self.photo_gate.read().await;
        self.check_photos(&report.photos).await?;
        let suggested_asset = if report.asset.is_none() {
            self.suggest_asset(&category, report.lon, report.lat)
        } else {
            None
        };
        let duplicates = self
            .open
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .near(&category.code, report.lon, report.lat, DUPLICATE_RADIUS_M);
        let now = self.now();
        let actor = reporter.name();
        let new_case = Case {
            id: 0,
            version: 1,
            category: category.code.clone(),
            state: CaseState::Reported,
            resume_state: None,
            description: report.description.trim().to_owned(),
            address: report.address.filter(|a| !a.trim().is_empty()),
            lon: report.lon,
            lat: report.lat,
            cells,
            responsible_unit,
            assigned_unit: None,
            asset: report.asset,
            photos: report.photos.clone(),
            reporter: actor.clone(),
            channel: report.channel,
            reported_at: now,
            filed_at: None,
            dispatched_at: None,
            handled_at: None,
            verified_at: None,
            closed_at: None,
            due_at: None,
            handle_due_at: None,
            on_time: None,
            rework_count: 0,
            extension_count: 0,
            merged_into: None,
            updated_at: now,
        };
        let entry = LogEntry {
            seq: 1,
            at: now,
            actor: actor.clone(),
            action: Action::Report,
            from: None,
            to: CaseState::Reported,
            note: None,
            photos: report.photos,
            detail: json!({ "duplicates": duplicates.iter().map(|d| d.id).collect::<Vec<_>>() }),
        };
        let audit = AuditEntry {
            actor: Some(actor),
            action: "case.report".into(),
            target: String::new(),
            detail: json!({ "category": category.code, "lon": report.lon, "lat": report.lat }),
            remote: report.remote,
        };
        let inserted = self
            .store
            .insert_case(&new_case, report.idempotency_key.as_deref(), &entry, &audit)
            .await?;
        if inserted.created {
            self.published(&inserted.case, &entry);
        }
        Ok(Reported {
            case: inserted.case,
            created: inserted.created,
            duplicates,
            suggested_asset,
        })
    }

    fn published(&self, case: &Case, entry: &LogEntry) {
        self.open
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .update(case);
        // No subscriber is not an error.
        let _ = self.events.send(CaseEvent {
            id: case.id,
            version: case.version,
            action: entry.action,
            actor: entry.actor.clone(),
            at: entry.at,
            state: case.state,
            category: case.category.clone(),
            assigned_unit: case.assigned_unit.clone(),
            cell: case.cell().map(str::to_owned),
            lon: case.lon,
            lat: case.lat,
            due_at: case.due_at,
            reporter: case.reporter.clone(),
        });
    }

    /// One case.
    pub async fn case(&self, id: i64) -> Result<Case, CaseError> {
        self.store.case(id).await?.ok_or(CaseError::NotFound(id))
    }

    /// The cases `query` selects (its scope included), in its order and page, and how many
    /// match in all.
    pub async fn find(&self, query: &CaseQuery) -> Result<(Vec<Case>, u64), CaseError> {
        Ok(self.store.cases(query).await?)
    }

    /// A case with its log, schedule and what `viewer` may do.
    pub async fn detail(&self, id: i64, viewer: &User) -> Result<CaseDetail, CaseError> {
        let case = self.case(id).await?;
        let log = self.store.case_log(id).await?;
        let schedule = self
            .categories
            .get(&case.category)
            .map(|c| case::schedule(&log, c, &self.calendar))
            .unwrap_or_default();
        let (merged, _) = self
            .store
            .cases(&CaseQuery {
                merged_into: Some(id),
                ..CaseQuery::default()
            })
            .await?;
        Ok(CaseDetail {
            overdue: case.overdue_at(self.now()),
            allowed_actions: case::allowed_actions(
                viewer,
                &case.scope_staffed(self.unit_staffed(&case).await?),
            ),
            duplicates: merged.iter().map(|c| c.id).collect(),
            schedule,
            log,
            case,
        })
    }

    /// Takes an action on a case for `actor`.
    pub async fn act(
        &self,
        actor: &User,
        id: i64,
        request: ActionRequest,
    ) -> Result<Case, CaseError> {
        let case = self.case(id).await?;
        if request.expected_version.is_some_and(|v| v != case.version) {
            return Err(CaseError::Conflict(Box::new(case)));
        }
        let staffed = self.unit_staffed(&case).await?;
        let to = case::authorize(actor, request.action, &case.scope_staffed(staffed))?;
        let category = self.category(&case.category)?.clone();
        let _photos_kept = self.photo_gate.read().await;
        let target = self.check_request(&case, &request).await?;
        let now = self.now();
        let mut log = self.store.case_log(id).await?;
        let detail = self.detail_of(&case, &request, &log)?;
        let entry = LogEntry {
            seq: u32::try_from(log.len() + 1).unwrap_or(u32::MAX),
            at: now,
            actor: actor.username.to_string(),
            action: request.action,
            from: Some(case.state),
            to,
            note: request
                .note
                .as_ref()
                .map(|n| n.trim().to_owned())
                .filter(|n| !n.is_empty()),
            photos: request.photos.clone(),
            detail,
        };
        log.push(entry.clone());
        let schedule = case::schedule(&log, &category, &self.calendar);
        let next = Self::apply(&case, &entry, &schedule);
        let audit = AuditEntry {
            actor: Some(entry.actor.clone()),
            action: format!("case.{}", request.action.as_str()),
            target: format!("case/{id}"),
            detail: json!({ "from": case.state, "to": to, "version": next.version }),
            remote: request.remote.clone(),
        };
        let written = match &target {
            Some(target) => {
                self.store
                    .merge_case(
                        case.version,
                        &next,
                        &entry,
                        &audit,
                        target.id,
                        target.version,
                    )
                    .await?
            }
            None => {
                self.store
                    .update_case(case.version, &next, &entry, &audit)
                    .await?
            }
        };
        if !written {
            let current = self.case(id).await?;
            // Show the case that changed: this one, else the one it was to be merged into.
            let changed = match target {
                Some(target) if current.version == case.version => self.case(target.id).await?,
                _ => current,
            };
            return Err(CaseError::Conflict(Box::new(changed)));
        }
        self.published(&next, &entry);
        Ok(next)
    }

    /// Whether an active handler holds the unit the case is dispatched to (true when none).
    async fn unit_staffed(&self, case: &Case) -> Result<bool, CaseError> {
        let Some(unit) = &case.assigned_unit else {
            return Ok(true);
        };
        let handlers = units::active_handlers(self.store.as_ref()).await?;
        Ok(handlers.get(unit).is_some_and(|n| *n > 0))
    }

    /// The known units (grid and registry) with their active handlers.
    pub async fn units(&self) -> Result<Vec<units::Unit>, CaseError> {
        Ok(units::units(catalog_grid_units(&self.catalog), self.store.as_ref()).await?)
    }

    /// Registers a unit for `actor`, whom the caller checked to be an administrator (see
    /// [`units::register_unit`]); returns its name and whether it was new.
    pub async fn register_unit(
        &self,
        actor: &User,
        name: &str,
        remote: Option<String>,
    ) -> Result<(String, bool), CaseError> {
        Ok(units::register_unit(
            self.store.as_ref(),
            name,
            Some(actor.username.as_str()),
            remote,
        )
        .await?)
    }

    /// Checks what the action needs beyond the workflow; returns the case a merge goes into.
    async fn check_request(
        &self,
        case: &Case,
        request: &ActionRequest,
    ) -> Result<Option<Case>, CaseError> {
        let note = request.note.as_deref().unwrap_or_default();
        Self::check_text("note", note, request.action.needs_note())?;
        self.check_photos(&request.photos).await?;
        match request.action {
            Action::Dispatch => {
                let unit = request
                    .unit
                    .as_deref()
                    .or(case.responsible_unit.as_deref())
                    .unwrap_or_default();
                if unit.trim().is_empty() {
                    return Err(CaseError::Invalid {
                        field: "unit",
                        reason: "the case's cells name no responsible unit: give the unit to dispatch to".into(),
                    });
                }
                let known =
                    units::known_unit(catalog_grid_units(&self.catalog), self.store.as_ref(), unit)
                        .await?;
                if !known.staffed() {
                    return Err(CaseError::UnstaffedUnit(known.name));
                }
            }
            Action::RequestExtension => {
                let amount = request.amount.unwrap_or(f64::NAN);
                if !(amount > 0.0 && amount <= MAX_EXTENSION) {
                    return Err(CaseError::Invalid {
                        field: "amount",
                        reason: format!(
                            "the extra time asked, a number in (0, {MAX_EXTENSION}] in the category's unit"
                        ),
                    });
                }
            }
            Action::ApproveExtension => {
                if let Some(amount) = request.amount
                    && !(amount > 0.0 && amount <= MAX_EXTENSION)
                {
                    return Err(CaseError::Invalid {
                        field: "amount",
                        reason: format!("a number in (0, {MAX_EXTENSION}]"),
                    });
                }
            }
            Action::Merge => return self.merge_target(case, request).await.map(Some),
            Action::LinkAsset => {
                if let Some(asset) = &request.asset
                    && self.catalog.feature(&asset.collection, &asset.id).is_err()
                {
                    return Err(CaseError::UnknownAsset {
                        collection: asset.collection.clone(),
                        id: asset.id.clone(),
                    });
                }
                if request.asset == case.asset {
                    return Err(CaseError::Invalid {
                        field: "asset",
                        reason: match &case.asset {
                            Some(a) => {
                                format!("the case is linked to {}/{} already", a.collection, a.id)
                            }
                            None => "the case has no asset to clear".into(),
                        },
                    });
                }
            }
            _ => {}
        }
        Ok(None)
    }

    /// The open case a merge goes into, checked: not the case itself, open, no duplicate
    /// itself; and the case merged has no duplicates of its own (no chains).
    async fn merge_target(&self, case: &Case, request: &ActionRequest) -> Result<Case, CaseError> {
        let into = request.into.ok_or(CaseError::Invalid {
            field: "into",
            reason: "the number of the open case this one duplicates".into(),
        })?;
        if into == case.id {
            return Err(CaseError::Invalid {
                field: "into",
                reason: "a case cannot be merged into itself".into(),
            });
        }
        let original = self.store.case(into).await?.ok_or(CaseError::Invalid {
            field: "into",
            reason: format!("case {into} does not exist"),
        })?;
        if let Some(root) = original.merged_into {
            return Err(CaseError::MergeConflict {
                reason: format!(
                    "case {into} is itself a duplicate of case {root}: merge into case {root}"
                ),
                current: Box::new(original),
            });
        }
        if !original.state.is_open() {
            return Err(CaseError::MergeConflict {
                reason: format!(
                    "case {into} is {}: only an open case takes duplicates",
                    original.state
                ),
                current: Box::new(original),
            });
        }
        let (merged, _) = self
            .store
            .cases(&CaseQuery {
                merged_into: Some(case.id),
                limit: Some(5),
                ..CaseQuery::default()
            })
            .await?;
        if !merged.is_empty() {
            let ids: Vec<String> = merged.iter().map(|c| format!("#{}", c.id)).collect();
            return Err(CaseError::MergeConflict {
                reason: format!(
                    "case {} has duplicates merged into it ({}): merge case {into} into case {} instead",
                    case.id,
                    ids.join(", "),
                    case.id
                ),
                current: Box::new(case.clone()),
            });
        }
        Ok(original)
    }

    /// The action-specific detail recorded in the log entry.
    fn detail_of(
        &self,
        case: &Case,
        request: &ActionRequest,
        log: &[LogEntry],
    ) -> Result<serde_json::Value, CaseError> {
        let unit = self
            .categories
            .get(&case.category)
            .map(|c| c.time_unit)
            .ok_or_else(|| CaseError::UnknownCategory(case.category.clone()))?;
        Ok(match request.action {
            Action::Dispatch => json!({
                "unit": request.unit.clone().or_else(|| case.responsible_unit.clone()).unwrap_or_default().trim(),
            }),
            Action::RequestExtension => json!({ "amount": request.amount, "time_unit": unit }),
            Action::ApproveExtension => {
                let asked = log
                    .iter()
                    .rev()
                    .find(|e| e.action == Action::RequestExtension)
                    .and_then(|e| e.detail.get("amount").and_then(serde_json::Value::as_f64));
                json!({ "amount": request.amount.or(asked), "time_unit": unit })
            }
            Action::Merge => json!({ "into": request.into }),
            Action::LinkAsset => json!({ "asset": request.asset, "previous": case.asset }),
            _ => json!({}),
        })
    }

    /// The case after `entry`.
    fn apply(case: &Case, entry: &LogEntry, schedule: &Schedule) -> Case {
        let mut next = case.clone();
        next.version += 1;
        next.state = entry.to;
        next.updated_at = entry.at;
        next.resume_state = if entry.action == Action::LinkAsset {
            case.resume_state
        } else if entry.to.is_paused() {
            Some(case.state)
        } else {
            None
        };
        match entry.action {
            Action::File => next.filed_at = Some(entry.at),
            Action::Dispatch => {
                next.dispatched_at = Some(entry.at);
                next.assigned_unit = entry
                    .detail
                    .get("unit")
                    .and_then(|u| u.as_str())
                    .map(str::to_owned);
                next.handled_at = None;
            }
            Action::Return => next.assigned_unit = None,
            Action::Handle => next.handled_at = Some(entry.at),
            Action::Verify => next.verified_at = Some(entry.at),
            Action::Reject => {
                next.rework_count += 1;
                next.handled_at = None;
            }
            Action::ApproveExtension => next.extension_count += 1,
            Action::Close | Action::Void => next.closed_at = Some(entry.at),
            Action::Merge => {
                next.closed_at = Some(entry.at);
                next.merged_into = entry.detail.get("into").and_then(serde_json::Value::as_i64);
            }
            Action::LinkAsset => {
                next.asset = entry
                    .detail
                    .get("asset")
                    .cloned()
                    .and_then(|a| serde_json::from_value(a).ok());
            }
            _ => {}
        }
        next.due_at = schedule.due;
        next.handle_due_at = schedule.handle_due;
        next.on_time = schedule.on_time;
        next
    }

    /// Issues an Open311 API key for the civic app `name` (see [`issue_api_key`]).
    pub async fn issue_api_key(&self, name: &str) -> Result<String, CaseError> {
        issue_api_key(self.store.as_ref(), name).await
    }

    /// The civic app an Open311 API key belongs to, if it is valid.
    pub async fn app_for_key(&self, key: &str) -> Result<Option<String>, CaseError> {
        Ok(self.store.api_key(&key_hash(key)).await?)
    }

    /// The tasks of `user`, earliest deadline first: for a unit handler the open cases dispatched
    /// to its unit; for a grid worker the cases waiting for verification in its cells and the
    /// open cases it reported; for the command centre the cases waiting for it (reported,
    /// returned, extension pending, and stranded ones: dispatched or in progress to a unit no
    /// active handler holds); for the supervision centre those to verify or close.
    pub async fn tasks(&self, user: &User) -> Result<Vec<Case>, CaseError> {
        use CaseState as S;
        let mut queries = Vec::new();
        let base = CaseQuery {
            order: CaseOrder::Deadline,
            ..CaseQuery::default()
        };
        match user.role {
            Role::Handler => {
                if let Some(unit) = &user.unit {
                    queries.push(CaseQuery {
                        states: vec![S::Dispatched, S::InProgress, S::ExtensionPending],
                        assigned_unit: Some(unit.clone()),
                        ..base.clone()
                    });
                }
            }
            Role::Worker => {
                if !user.cells.is_empty() {
                    queries.push(CaseQuery {
                        states: vec![S::Handled],
                        cells: user.cells.clone(),
                        ..base.clone()
                    });
                }
                queries.push(CaseQuery {
                    states: CaseState::ALL.into_iter().filter(|s| s.is_open()).collect(),
                    reporter: Some(user.username.to_string()),
                    ..base.clone()
                });
            }
            Role::Dispatcher => queries.push(CaseQuery {
                states: vec![S::Reported, S::Filed, S::Returned, S::ExtensionPending],
                ..base.clone()
            }),
            Role::Supervisor => queries.push(CaseQuery {
                states: vec![S::Handled, S::Verified],
                ..base.clone()
            }),
            Role::Admin => queries.push(CaseQuery {
                states: CaseState::ALL.into_iter().filter(|s| s.is_open()).collect(),
                ..base.clone()
            }),
            Role::Analyst | Role::Viewer => {}
        }
        let mut tasks: Vec<Case> = Vec::new();
        if user.role == Role::Dispatcher {
            let handlers = units::active_handlers(self.store.as_ref()).await?;
            let (assigned, _) = self
                .store
                .cases(&CaseQuery {
                    states: vec![S::Dispatched, S::InProgress],
                    ..base.clone()
                })
                .await?;
            tasks.extend(assigned.into_iter().filter(|c| {
                c.assigned_unit
                    .as_ref()
                    .is_some_and(|u| handlers.get(u).is_none_or(|n| *n == 0))
            }));
        }
        for query in queries {
            let (cases, _) = self.store.cases(&query).await?;
            for case in cases {
                if !tasks.iter().any(|t| t.id == case.id) {
                    tasks.push(case);
                }
            }
        }
        tasks.sort_by(|a, b| {
            (a.due_at.is_none(), a.due_at, a.reported_at, a.id).cmp(&(
                b.due_at.is_none(),
                b.due_at,
                b.reported_at,
                b.id,
            ))
        });
        Ok(tasks)
    }
}

#[cfg(test)]
mod photo_tests;
