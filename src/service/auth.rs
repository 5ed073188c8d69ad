//! Users and sessions: login with a password, bearer tokens, logout, the administration of users,
//! and the audit record of each of these.
//!
//! Passwords are hashed with Argon2id (the `argon2` crate's defaults: 19 MiB, 2 passes, one
//! lane, per OWASP), on the blocking thread pool and a few at a time, so logins never stall
//! the async workers. A token is 32 bytes from a CSPRNG, handed out once as `cg_` followed by
//! its unpadded base64url text, and stored only as its SHA-256; every request looks it up
//! again, so a revoked token dies at once. Failed logins are throttled per user name and
//! address pair, per address and per user name ([`throttle`]); each attempt is counted before
//! its password is hashed, so parallel guesses get no more tries than sequential ones. A login
//! for a user that does not exist verifies a dummy hash, so that the answer and its timing do
//! not tell which names exist. When more hashing work waits than [`MAX_HASHING_QUEUE`] per
//! lane, further work is refused at once ([`AuthError::Busy`]) rather than queued.

pub mod throttle;

use std::collections::BTreeSet;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use rand::RngCore as _;
use serde_json::json;
use sha2::{Digest as _, Sha256};
use tokio::sync::{OnceCell, Semaphore};

use crate::model::proxies::TrustedProxies;
use crate::model::{AuditEntry, AuditQuery, AuditRecord, NewUser, User, Username};
use crate::store::{StoreError, UserStore};
use throttle::{Attempt, Throttle, ThrottlePolicy, Verdict};

/// The prefix of every token, so that a leaked one is recognisable (e.g. by secret scanners).
pub const TOKEN_PREFIX: &str = "cg_";
/// The shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The longest password accepted, in bytes (bounds the hashing work a request can cause).
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Hashing jobs that may wait for a lane, per lane, before further ones are refused.
pub const MAX_HASHING_QUEUE: usize = 16;
/// How often, by default, a long-lived stream checks that its session still holds.
pub const DEFAULT_SESSION_CHECK: Duration = Duration::from_secs(5);
/// The default lifetime of a token.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(12 * 3600);

/// Where time comes from: the system, or a hand-moved clock in tests.
#[async_trait]
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
    /// Waits for `duration`.
    async fn sleep(&self, duration: Duration);
}

/// The system clock and tokio's timer.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// A clock that moves only when told to; sleeping moves it forward at once.
///
/// ```
/// use citygrid::service::auth::{Clock, ManualClock};
/// let clock = ManualClock::new(chrono::DateTime::UNIX_EPOCH);
/// clock.advance(std::time::Duration::from_secs(60));
/// assert_eq!(clock.now().timestamp(), 60);
/// ```
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
    slept: Mutex<Vec<Duration>>,
}

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(start),
            slept: Mutex::default(),
        }
    }

    /// Moves the clock forward by `duration`.
    pub fn advance(&self, duration: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now += TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX);
    }

    /// Every duration slept so far, in order.
    pub fn slept(&self) -> Vec<Duration> {
        self.slept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn sleep(&self, duration: Duration) {
        self.slept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(duration);
        self.advance(duration);
    }
}

/// Settings of logins and sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    /// How long a token is valid after login.
    pub token_ttl: Duration,
    /// Throttling of failed logins.
    pub throttle: ThrottlePolicy,
    /// Reverse proxies whose forwarding headers give the client's address (for the throttle
    /// and the audit trail).
    pub trusted_proxies: TrustedProxies,
    /// How often a long-lived stream (`/cases/events`) checks that its session still holds,
    /// when no event makes it check sooner.
    pub session_check: Duration,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            token_ttl: DEFAULT_TOKEN_TTL,
            throttle: ThrottlePolicy::default(),
            trusted_proxies: TrustedProxies::default(),
            session_check: DEFAULT_SESSION_CHECK,
        }
    }
}

/// Why a login, a token or a change of users was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The user name or the password is wrong, or the user is disabled; which one is not said.
    #[error("wrong user name or password")]
    InvalidCredentials,
    /// Too many failed logins for this user name or from this address.
    #[error("too many failed logins; try again in {} s", retry_after.as_secs())]
    LockedOut {
        /// How long until logins are accepted again.
        retry_after: Duration,
    },
    /// The token is malformed, unknown, expired or revoked, or its user is disabled.
    #[error("the token is not valid (malformed, unknown, expired or revoked)")]
    InvalidToken,
    /// The password does not meet the policy.
    #[error(
        "the password must have at least {MIN_PASSWORD_CHARS} characters and at most {MAX_PASSWORD_BYTES} bytes"
    )]
    InvalidPassword,
    /// Cell codes that are not grid cells of the district.
    #[error("unknown grid cell codes: {}", .0.join(", "))]
    UnknownCells(Vec<String>),
    /// A user with this name exists already.
    #[error("user {0} already exists")]
    DuplicateUser(String),
    /// No user has this name.
    #[error("user {0} does not exist")]
    UnknownUser(String),
    /// Too many passwords are being hashed already; try again shortly.
    #[error("too many logins are being checked at once; try again in a second")]
    Busy,
    /// Hashing failed or the hashing task died.
    #[error("password hashing failed: {0}")]
    Hashing(String),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for AuthError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::DuplicateUser(name) => Self::DuplicateUser(name),
            StoreError::UnknownUser(name) => Self::UnknownUser(name),
            other => Self::Store(other),
        }
    }
}

/// Who changes something, for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The acting user's name; `None` for the command line.
    pub actor: Option<String>,
    /// The client's address, or `cli`.
    pub remote: Option<String>,
}

impl Origin {
    /// The `citygrid` command line, run by whoever can open the database.
    pub fn command_line() -> Self {
        Self {
            actor: None,
            remote: Some("cli".into()),
        }
    }

    /// A logged-in user, from `remote`.
    pub fn user(user: &User, remote: Option<&str>) -> Self {
        Self {
            actor: Some(user.username.to_string()),
            remote: remote.map(str::to_owned),
        }
    }
}

/// A successful login.
#[derive(Clone)]
pub struct Session {
    /// The bearer token, shown to the client once and stored only as a hash.
    pub token: String,
    /// When the token stops being valid.
    pub expires_at: DateTime<Utc>,
    /// Who logged in.
    pub user: User,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("user", &self.user)
            .finish()
    }
}

/// Logins, sessions and user administration over a [`UserStore`].
pub struct AuthService {
    users: Arc<dyn UserStore>,
    settings: AuthSettings,
    clock: Arc<dyn Clock>,
    throttle: Throttle,
    dummy_hash: OnceCell<String>,
    hash_permits: Semaphore,
    hash_lanes: usize,
    hash_waiting: AtomicUsize,
    verifications: AtomicU64,
}

impl fmt::Debug for AuthService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthService")
            .field("settings", &self.settings)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

/// A fresh token and its hash.
fn new_token() -> (String, [u8; 32]) {
    let mut bytes = [0u8; 32];
    // ThreadRng: ChaCha12, seeded and periodically reseeded from the operating system.
    rand::rng().fill_bytes(&mut bytes);
    let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    (token, Sha256::digest(bytes).into())
}

/// The stored hash of `token`, if it is well formed.
fn token_hash(token: &str) -> Option<[u8; 32]> {
    let bytes = URL_SAFE_NO_PAD
        .decode(token.strip_prefix(TOKEN_PREFIX)?)
        .ok()?;
    let bytes: [u8; 32] = bytes.try_into().ok()?;
    Some(Sha256::digest(bytes).into())
}

fn hash_password(password: &str) -> Result<String, AuthError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| AuthError::Hashing(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| AuthError::Hashing(e.to_string()))
}

fn verify_password(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(hash) => Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
        Err(error) => {
            tracing::error!(%error, "a stored password hash is unreadable");
            false
        }
    }
}

fn check_password(password: &str) -> Result<(), AuthError> {
    if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
        return Err(AuthError::InvalidPassword);
    }
    Ok(())
}

/// The cells trimmed, without repeats, sorted; refused naming the codes that are not cells.
fn check_cells(
    cells: &[String],
    known_cell: &(dyn Fn(&str) -> bool + Sync),
) -> Result<Vec<String>, AuthError> {
    let cells: BTreeSet<&str> = cells
        .iter()
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
        .collect();
    let unknown: Vec<String> = cells
        .iter()
        .filter(|c| !known_cell(c))
        .map(|c| (*c).to_owned())
        .collect();
    if unknown.is_empty() {
        Ok(cells.into_iter().map(str::to_owned).collect())
    } else {
        Err(AuthError::UnknownCells(unknown))
    }
}

impl AuthService {
    /// The service over `users` with the system clock.
    pub fn new(users: Arc<dyn UserStore>, settings: AuthSettings) -> Self {
        Self::with_clock(users, settings, Arc::new(SystemClock))
    }

    /// The service over `users` with `clock` (tests pass a [`ManualClock`]).
    pub fn with_clock(
        users: Arc<dyn UserStore>,
        settings: AuthSettings,
        clock: Arc<dyn Clock>,
    ) -> Self {
        // Half the cores (at least one, at most four), so that a flood of logins leaves the
        // other half to every other request.
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let lanes = (cores / 2).clamp(1, 4);
        Self {
            throttle: Throttle::new(settings.throttle.clone()),
            users,
            settings,
            clock,
            dummy_hash: OnceCell::new(),
            hash_permits: Semaphore::new(lanes),
            hash_lanes: lanes,
            hash_waiting: AtomicUsize::new(0),
            verifications: AtomicU64::new(0),
        }
    }

    /// The settings.
    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    /// The current instant by the service's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// How many passwords logins have verified so far (refused attempts verify none).
    pub fn password_verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// Runs `work` on the blocking pool, on at most half the cores at a time (each Argon2 run
    /// holds 19 MiB); [`AuthError::Busy`] when [`MAX_HASHING_QUEUE`] jobs per lane wait already.
    async fn hashing<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AuthError> {
        let waiting = self.hash_waiting.fetch_add(1, Ordering::AcqRel);
        let permit = if waiting >= MAX_HASHING_QUEUE * self.hash_lanes {
            Err(AuthError::Busy)
        } else {
            self.hash_permits
                .acquire()
                .await
                .map_err(|e| AuthError::Hashing(e.to_string()))
        };
        self.hash_waiting.fetch_sub(1, Ordering::AcqRel);
        let _permit = permit?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| AuthError::Hashing(e.to_string()))
    }

    /// Computes the dummy hash now (about one hashing time), so that even the first login
    /// for an unknown name takes as long as any other.
    pub async fn prepare(&self) -> Result<(), AuthError> {
        self.dummy_hash().await.map(drop)
    }

    /// A hash of a random password, verified when the user does not exist.
    async fn dummy_hash(&self) -> Result<String, AuthError> {
        self.dummy_hash
            .get_or_try_init(|| async {
                let mut secret = [0u8; 24];
                rand::rng().fill_bytes(&mut secret);
                let password = URL_SAFE_NO_PAD.encode(secret);
                self.hashing(move || hash_password(&password)).await?
            })
            .await
            .cloned()
    }

    async fn record(
        &self,
        origin: &Origin,
        action: &str,
        target: &str,
        detail: serde_json::Value,
    ) -> Result<(), AuthError> {
        self.users
            .append_audit(&AuditEntry {
                actor: origin.actor.clone(),
                action: action.to_owned(),
                target: target.to_owned(),
                detail,
                remote: origin.remote.clone(),
            })
            .await?;
        Ok(())
    }

    /// Logs in with a user name and password from `remote` (the client's address, when known).
    ///
    /// The attempt is counted first ([`Throttle::reserve`]): refused with
    /// [`AuthError::LockedOut`] while the pair of name and address or the address is locked, or
    /// while the name's delay runs, without looking at the password; delayed after repeated
    /// failures; [`AuthError::InvalidCredentials`]
    /// alike for an unknown name, a wrong password and a disabled user. Successes and failures
    /// are audited (`auth.login`, `auth.login_failed`).
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        remote: Option<&str>,
    ) -> Result<Session, AuthError> {
        let name = Username::parse(username).ok();
        let attempt = Attempt::new(name.as_ref().map_or(username, Username::as_str), remote);
        let locks = match self.throttle.reserve(&attempt, self.clock.now()) {
            Verdict::Refuse { retry_after } => return Err(AuthError::LockedOut { retry_after }),
            Verdict::Go { delay, locks } => {
                if !delay.is_zero() {
                    self.clock.sleep(delay).await;
                }
                locks
            }
        };
        let found = match &name {
            Some(name) => self.users.user_by_name(name).await?,
            None => None,
        };
        let verified = if password.len() > MAX_PASSWORD_BYTES {
            false
        } else {
            let (stored, exists) = match &found {
                Some((_, hash)) => (hash.clone(), true),
                None => (self.dummy_hash().await?, false),
            };
            let password = password.to_owned();
            let matches = self
                .hashing(move || verify_password(&password, &stored))
                .await?;
            self.verifications.fetch_add(1, Ordering::Relaxed);
            matches && exists
        };
        let target: String = username.chars().take(64).collect();
        let origin = Origin {
            actor: None,
            remote: remote.map(str::to_owned),
        };
        let user = match found {
            Some((user, _)) if verified && !user.disabled => user,
            _ => {
                // Counted as a failure when it was reserved.
                self.record(
                    &origin,
                    "auth.login_failed",
                    &target,
                    json!({ "locked": locks }),
                )
                .await?;
                return Err(AuthError::InvalidCredentials);
            }
        };
        self.throttle.succeeded(&attempt, self.clock.now());
        let now = self.clock.now();
        let expires_at =
            now + TimeDelta::from_std(self.settings.token_ttl).unwrap_or(TimeDelta::MAX);
        let (token, hash) = new_token();
        self.users.insert_token(&hash, user.id, expires_at).await?;
        self.users.purge_tokens(now).await?;
        self.record(
            &Origin::user(&user, remote),
            "auth.login",
            user.username.as_str(),
            json!({ "expires_at": expires_at }),
        )
        .await?;
        Ok(Session {
            token,
            expires_at,
            user,
        })
    }

    /// The user of a bearer token; [`AuthError::InvalidToken`] when the token is malformed,
    /// unknown, expired or revoked, or its user disabled. Nothing is cached: every call asks
    /// the store.
    pub async fn authenticate(&self, token: &str) -> Result<User, AuthError> {
        let hash = token_hash(token).ok_or(AuthError::InvalidToken)?;
        self.users
            .user_by_token(&hash, self.clock.now())
            .await?
            .ok_or(AuthError::InvalidToken)
    }

    /// Revokes a valid token (audited as `auth.logout`).
    pub async fn logout(&self, token: &str, remote: Option<&str>) -> Result<(), AuthError> {
        let user = self.authenticate(token).await?;
        let hash = token_hash(token).ok_or(AuthError::InvalidToken)?;
        self.users.revoke_token(&hash).await?;
        self.record(
            &Origin::user(&user, remote),
            "auth.logout",
            user.username.as_str(),
            json!({}),
        )
        .await
    }

    /// Adds a user (audited as `user.add`). `known_cell` says whether a code is a grid cell;
    /// unknown codes are refused, all named. An empty display name becomes the user name.
    pub async fn add_user(
        &self,
        origin: &Origin,
        mut user: NewUser,
        password: &str,
        known_cell: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<User, AuthError> {
        check_password(password)?;
        user.cells = check_cells(&user.cells, known_cell)?;
        user.display_name = user.display_name.trim().to_owned();
        if user.display_name.is_empty() {
            user.display_name = user.username.to_string();
        }
        user.unit = user
            .unit
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty());
        let password = password.to_owned();
        let hash = self.hashing(move || hash_password(&password)).await??;
        let added = self.users.add_user(&user, &hash).await?;
        self.record(
            origin,
            "user.add",
            added.username.as_str(),
            json!({
                "display_name": added.display_name,
                "role": added.role,
                "unit": added.unit,
                "cells": added.cells,
            }),
        )
        .await?;
        Ok(added)
    }

    /// Every user, by name.
    pub async fn list_users(&self) -> Result<Vec<User>, AuthError> {
        Ok(self.users.users().await?)
    }

    /// The user with this name.
    pub async fn user(&self, name: &Username) -> Result<User, AuthError> {
        self.users
            .user_by_name(name)
            .await?
            .map(|(user, _)| user)
            .ok_or_else(|| AuthError::UnknownUser(name.to_string()))
    }

    /// Disables a user, revoking their tokens, or enables them again (audited as
    /// `user.disable` or `user.enable`).
    pub async fn set_disabled(
        &self,
        origin: &Origin,
        name: &Username,
        disabled: bool,
    ) -> Result<User, AuthError> {
        let user = self.users.set_disabled(name, disabled).await?;
        let action = if disabled {
            "user.disable"
        } else {
            "user.enable"
        };
        self.record(origin, action, name.as_str(), json!({}))
            .await?;
        Ok(user)
    }

    /// Replaces a user's password, revoking their tokens (audited as `user.set_password`; the
    /// password is not recorded).
    pub async fn set_password(
        &self,
        origin: &Origin,
        name: &Username,
        password: &str,
    ) -> Result<(), AuthError> {
        check_password(password)?;
        let password = password.to_owned();
        let hash = self.hashing(move || hash_password(&password)).await??;
        self.users.set_password_hash(name, &hash).await?;
        self.record(origin, "user.set_password", name.as_str(), json!({}))
            .await
    }

    /// Replaces a user's grid cells (audited as `user.assign_cells`, with the previous cells).
    pub async fn assign_cells(
        &self,
        origin: &Origin,
        name: &Username,
        cells: &[String],
        known_cell: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<User, AuthError> {
        let cells = check_cells(cells, known_cell)?;
        let previous = self.user(name).await?.cells;
        let user = self.users.set_cells(name, &cells).await?;
        self.record(
            origin,
            "user.assign_cells",
            name.as_str(),
            json!({ "cells": user.cells, "previous": previous }),
        )
        .await?;
        Ok(user)
    }

    /// Appends a record to the audit trail (for writes that have no transaction of their own).
    pub async fn append_audit(&self, entry: &AuditEntry) -> Result<(), AuthError> {
        Ok(self.users.append_audit(entry).await?)
    }

    /// Audit records, newest first.
    pub async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, AuthError> {
        Ok(self.users.audit(query).await?)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::model::Role;
    use crate::store::SqliteStore;

    const PASSWORD: &str = "correct horse";

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn cells() -> HashSet<String> {
        ["410104001001001", "410104001001002", "410104001001"]
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    async fn service() -> (AuthService, Arc<ManualClock>) {
        let store = Arc::new(SqliteStore::open("sqlite::memory:").await.unwrap());
        let clock = Arc::new(ManualClock::new(t0()));
        let service = AuthService::with_clock(store, AuthSettings::default(), clock.clone());
        (service, clock)
    }

    fn worker(name: &str) -> NewUser {
        NewUser {
            username: Username::parse(name).unwrap(),
            display_name: "王伟".into(),
            role: Role::Worker,
            unit: None,
            cells: vec!["410104001001001".into()],
        }
    }

    async fn with_wang() -> (AuthService, Arc<ManualClock>) {
        let (service, clock) = service().await;
        let known = cells();
        service
            .add_user(&Origin::command_line(), worker("wang"), PASSWORD, &|c| {
                known.contains(c)
            })
            .await
            .unwrap();
        (service, clock)
    }

    #[test]
    fn a_password_hash_is_argon2id_salted_and_verifies_only_its_password() {
        let first = hash_password(PASSWORD).unwrap();
        let second = hash_password(PASSWORD).unwrap();
        assert!(
            first.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{first}"
        );
        assert_ne!(first, second, "each hash has its own salt");
        assert!(verify_password(PASSWORD, &first));
        assert!(!verify_password("correct horsE", &first));
        assert!(!verify_password(PASSWORD, "not a hash"));
    }

    #[test]
    fn tokens_are_prefixed_256_bit_random_and_stored_as_their_sha256() {
        let (token, hash) = new_token();
        let (other, other_hash) = new_token();
        assert!(token.starts_with("cg_"));
        assert_eq!(token.len(), 3 + 43, "32 bytes in unpadded base64url");
        assert_ne!(token, other);
        assert_ne!(hash, other_hash);
        assert_eq!(token_hash(&token), Some(hash));
        let raw = URL_SAFE_NO_PAD.decode(&token[3..]).unwrap();
        assert_eq!(hash, <[u8; 32]>::from(Sha256::digest(&raw)));
        assert_eq!(token_hash(&token[3..]), None, "the prefix is required");
        assert_eq!(token_hash("cg_short"), None);
        assert_eq!(token_hash(&format!("{token}AA")), None);
    }

    #[test]
    fn passwords_shorter_than_eight_characters_are_refused() {
        assert!(check_password("1234567").is_err());
        assert!(
            check_password("密码密码密码密码").is_ok(),
            "characters, not bytes"
        );
        assert!(check_password(&"x".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
    }

    #[tokio::test]
    async fn a_login_gives_a_token_that_authenticates_until_it_expires() {
        let (service, clock) = with_wang().await;
        let session = service
            .login("wang", PASSWORD, Some("10.0.0.1"))
            .await
            .unwrap();
        assert_eq!(session.expires_at, t0() + TimeDelta::hours(12));
        assert_eq!(session.user.username.as_str(), "wang");
        let user = service.authenticate(&session.token).await.unwrap();
        assert_eq!(user.cells, ["410104001001001"]);
        clock.advance(Duration::from_secs(12 * 3600 - 1));
        assert!(service.authenticate(&session.token).await.is_ok());
        clock.advance(Duration::from_secs(1));
        assert!(matches!(
            service.authenticate(&session.token).await,
            Err(AuthError::InvalidToken)
        ));
    }

    #[tokio::test]
    async fn a_logged_out_token_is_refused_at_once() {
        let (service, _) = with_wang().await;
        let session = service.login("wang", PASSWORD, None).await.unwrap();
        service.logout(&session.token, None).await.unwrap();
        assert!(matches!(
            service.authenticate(&session.token).await,
            Err(AuthError::InvalidToken)
        ));
        assert!(matches!(
            service.logout(&session.token, None).await,
            Err(AuthError::InvalidToken)
        ));
    }

    #[tokio::test]
    async fn an_unknown_user_and_a_wrong_password_fail_alike() {
        let (service, _) = with_wang().await;
        let unknown = service.login("li", PASSWORD, None).await.unwrap_err();
        let wrong = service
            .login("wang", "wrong password", None)
            .await
            .unwrap_err();
        let invalid = service
            .login("not a name", PASSWORD, None)
            .await
            .unwrap_err();
        assert!(matches!(unknown, AuthError::InvalidCredentials));
        assert!(matches!(wrong, AuthError::InvalidCredentials));
        assert!(matches!(invalid, AuthError::InvalidCredentials));
        assert_eq!(unknown.to_string(), wrong.to_string());
        assert!(
            service.dummy_hash.get().is_some(),
            "the unknown user's password was verified against the dummy hash"
        );
    }

    #[tokio::test]
    async fn preparing_computes_the_dummy_hash_once() {
        let (service, _) = service().await;
        assert!(service.dummy_hash.get().is_none());
        service.prepare().await.unwrap();
        let hash = service.dummy_hash.get().cloned().unwrap();
        assert!(hash.starts_with("$argon2id$"));
        service.prepare().await.unwrap();
        assert_eq!(service.dummy_hash.get(), Some(&hash));
    }

    #[tokio::test]
    async fn a_disabled_user_cannot_log_in_and_loses_their_sessions() {
        let (service, _) = with_wang().await;
        let session = service.login("wang", PASSWORD, None).await.unwrap();
        let wang = Username::parse("wang").unwrap();
        service
            .set_disabled(&Origin::command_line(), &wang, true)
            .await
            .unwrap();
        assert!(service.authenticate(&session.token).await.is_err());
        assert!(matches!(
            service.login("wang", PASSWORD, None).await,
            Err(AuthError::InvalidCredentials)
        ));
        service
            .set_disabled(&Origin::command_line(), &wang, false)
            .await
            .unwrap();
        assert!(service.login("wang", PASSWORD, None).await.is_ok());
    }

    #[tokio::test]
    async fn a_new_password_replaces_the_old_and_ends_the_sessions() {
        let (service, _) = with_wang().await;
        let session = service.login("wang", PASSWORD, None).await.unwrap();
        let wang = Username::parse("wang").unwrap();
        assert!(matches!(
            service
                .set_password(&Origin::command_line(), &wang, "short")
                .await,
            Err(AuthError::InvalidPassword)
        ));
        service
            .set_password(&Origin::command_line(), &wang, "a new secret")
            .await
            .unwrap();
        assert!(service.authenticate(&session.token).await.is_err());
        assert!(service.login("wang", PASSWORD, None).await.is_err());
        assert!(service.login("wang", "a new secret", None).await.is_ok());
    }

    #[tokio::test]
    async fn five_failures_slow_logins_down_and_ten_lock_that_address_out_of_the_name() {
        let (service, clock) = with_wang().await;
        for _ in 0..10 {
            assert!(matches!(
                service
                    .login("wang", "wrong password", Some("10.0.0.1"))
                    .await,
                Err(AuthError::InvalidCredentials)
            ));
        }
        let slept: Vec<u64> = clock.slept().iter().map(Duration::as_secs).collect();
        assert_eq!(
            slept,
            [1, 2, 4, 8, 16],
            "attempts 6 to 10 waited, longer each time"
        );
        let Err(AuthError::LockedOut { retry_after }) =
            service.login("wang", PASSWORD, Some("10.0.0.1")).await
        else {
            panic!("the right password is refused from the locked address");
        };
        assert_eq!(retry_after, Duration::from_secs(15 * 60 - 16));
        assert_eq!(service.password_verifications(), 10);
        assert!(
            service
                .login("wang", PASSWORD, Some("10.0.0.2"))
                .await
                .is_ok(),
            "another address is not locked out"
        );
        assert_eq!(
            clock.slept().last(),
            Some(&Duration::from_secs(30)),
            "but slowed by the name's failures (capped) until a success"
        );
        assert!(
            service
                .login("wang", "wrong password", Some("10.0.0.3"))
                .await
                .is_err()
        );
        assert_eq!(clock.slept().len(), 6, "the success reset the count");
    }

    #[tokio::test]
    async fn hashing_beyond_the_lanes_and_the_queue_is_refused_at_once() {
        let (service, _) = service().await;
        let service = Arc::new(service);
        let lanes = service.hash_lanes;
        // Occupy every lane until told to stop.
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(gate));
        let mut running = Vec::new();
        for _ in 0..lanes {
            let (service, gate) = (Arc::clone(&service), Arc::clone(&gate));
            running.push(tokio::spawn(async move {
                service
                    .hashing(move || {
                        let _ = gate.lock().unwrap_or_else(PoisonError::into_inner).recv();
                    })
                    .await
            }));
        }
        while service.hash_permits.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        // Fill the queue.
        for _ in 0..MAX_HASHING_QUEUE * lanes {
            let service = Arc::clone(&service);
            running.push(tokio::spawn(async move { service.hashing(|| ()).await }));
        }
        while service.hash_waiting.load(Ordering::Acquire) < MAX_HASHING_QUEUE * lanes {
            tokio::task::yield_now().await;
        }
        assert!(matches!(service.hashing(|| ()).await, Err(AuthError::Busy)));
        for _ in 0..lanes {
            release.send(()).unwrap();
        }
        for task in running {
            assert!(task.await.unwrap().is_ok(), "the queued work ran");
        }
        assert!(service.hashing(|| ()).await.is_ok());
    }

    #[tokio::test]
    async fn an_address_that_tries_many_names_is_locked_out() {
        let (service, _) = with_wang().await;
        for i in 0..10 {
            let _ = service
                .login(&format!("guess{i}"), "wrong password", Some("10.6.6.6"))
                .await;
        }
        assert!(matches!(
            service.login("wang", PASSWORD, Some("10.6.6.6")).await,
            Err(AuthError::LockedOut { .. })
        ));
        assert!(
            service
                .login("wang", PASSWORD, Some("10.0.0.1"))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn unknown_cells_are_refused_and_named() {
        let (service, _) = service().await;
        let known = cells();
        let mut user = worker("wang");
        user.cells = vec![
            "410104001001001".into(),
            "999".into(),
            "410104009009009".into(),
        ];
        let err = service
            .add_user(&Origin::command_line(), user, PASSWORD, &|c| {
                known.contains(c)
            })
            .await
            .unwrap_err();
        let AuthError::UnknownCells(unknown) = &err else {
            panic!("{err}");
        };
        assert_eq!(unknown, &["410104009009009", "999"]);
        assert!(err.to_string().contains("999"));
        assert!(service.list_users().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn cells_are_assigned_deduplicated_and_audited_with_the_previous_ones() {
        let (service, _) = with_wang().await;
        let known = cells();
        let wang = Username::parse("wang").unwrap();
        let user = service
            .assign_cells(
                &Origin::command_line(),
                &wang,
                &[
                    " 410104001001002".into(),
                    "410104001001".into(),
                    "410104001001002".into(),
                ],
                &|c| known.contains(c),
            )
            .await
            .unwrap();
        assert_eq!(user.cells, ["410104001001", "410104001001002"]);
        let records = service
            .audit(&AuditQuery {
                action_prefix: Some("user.".into()),
                ..AuditQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(records[0].action, "user.assign_cells");
        assert_eq!(records[0].actor, None);
        assert_eq!(records[0].remote.as_deref(), Some("cli"));
        assert_eq!(records[0].detail["previous"], json!(["410104001001001"]));
        assert_eq!(records[1].action, "user.add");
    }

    #[tokio::test]
    async fn a_duplicate_user_is_refused() {
        let (service, _) = with_wang().await;
        let err = service
            .add_user(&Origin::command_line(), worker("wang"), PASSWORD, &|_| true)
            .await
            .unwrap_err();
        assert!(
            matches!(err, AuthError::DuplicateUser(ref n) if n == "wang"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn logins_are_audited_without_secrets() {
        let (service, _) = with_wang().await;
        let session = service
            .login("wang", PASSWORD, Some("10.0.0.1"))
            .await
            .unwrap();
        let _ = service
            .login("wang", "wrong password", Some("10.0.0.1"))
            .await;
        service
            .logout(&session.token, Some("10.0.0.1"))
            .await
            .unwrap();
        let records = service
            .audit(&AuditQuery {
                action_prefix: Some("auth.".into()),
                ..AuditQuery::default()
            })
            .await
            .unwrap();
        let actions: Vec<(&str, Option<&str>)> = records
            .iter()
            .map(|r| (r.action.as_str(), r.actor.as_deref()))
            .collect();
        assert_eq!(
            actions,
            [
                ("auth.logout", Some("wang")),
                ("auth.login_failed", None),
                ("auth.login", Some("wang")),
            ]
        );
        assert!(records.iter().all(|r| r.target == "wang"));
        assert!(
            records
                .iter()
                .all(|r| r.remote.as_deref() == Some("10.0.0.1"))
        );
        let text = serde_json::to_string(&records).unwrap();
        assert!(!text.contains(&session.token) && !text.contains("wrong password"));
    }
}
