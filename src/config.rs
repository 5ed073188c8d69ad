//! Configuration: the command line and `CITYGRID_*` environment variables, read once at start
//! and validated into typed values. Nothing else reads the environment.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::model::{Role, Username};

/// citygrid: grid management and urban renewal spatial service (网格化管理 · 城市更新).
#[derive(Debug, Parser)]
#[command(name = "citygrid", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API (OGC API – Features) and the map viewer.
    Serve(ServeArgs),
    /// Import a GeoJSON file (FeatureCollection or newline-delimited) into a collection.
    Import(ImportArgs),
    /// Generate the synthetic demo district (seeded, reproducible) into a directory.
    DemoData(DemoDataArgs),
    /// Manage users: add, list, disable, enable, set-password, assign-cells.
    User(UserArgs),
    /// Manage the API keys of civic apps reporting through Open311: add, list, revoke.
    Apikey(ApiKeyArgs),
    /// Manage the registry of units (责任单位) cases are dispatched to: add, list.
    Unit(UnitArgs),
}

/// Options of `unit`.
#[derive(Debug, Clone, Args)]
pub struct UnitArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: UnitAction,
    /// Database URL.
    #[arg(
        long,
        env = "CITYGRID_DATABASE_URL",
        default_value = "sqlite://citygrid.db",
        global = true
    )]
    pub database_url: String,
}

/// The `unit` subcommands. The grid cells' responsible units are known without being added.
#[derive(Debug, Clone, Subcommand)]
pub enum UnitAction {
    /// Register a unit (a utility, a department), e.g. `unit add 郑州水务集团管城分公司`.
    Add {
        /// The unit's name, as dispatches and handlers will name it.
        name: String,
    },
    /// List every known unit with its grid cells and active handlers.
    List,
}

/// Options of `user`.
#[derive(Debug, Clone, Args)]
pub struct UserArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: UserAction,
    /// Database URL.
    #[arg(
        long,
        env = "CITYGRID_DATABASE_URL",
        default_value = "sqlite://citygrid.db",
        global = true
    )]
    pub database_url: String,
}

/// The `user` subcommands. Passwords are read from standard input, one line (at least
/// 8 characters); on a terminal they are asked for without echo.
#[derive(Debug, Clone, Subcommand)]
pub enum UserAction {
    /// Add a user, e.g. `user add wang --role worker --cells 410104001001001,410104001001002`.
    Add {
        /// The login name: letters, digits, '.', '_' and '-'.
        username: Username,
        /// admin, dispatcher (指挥中心), supervisor (监督中心), handler (责任单位), worker (网格员),
        /// analyst or viewer.
        #[arg(long)]
        role: Role,
        /// Grid cell codes, comma-separated (grid workers); each must be a cell in the database.
        #[arg(long, value_delimiter = ',')]
        cells: Vec<String>,
        /// The unit (责任单位) a handler works for (required for handlers): a grid cell's
        /// responsible unit or one registered with `citygrid unit add`.
        #[arg(long)]
        unit: Option<String>,
        /// The name shown to people, e.g. 王伟 (default: the login name).
        #[arg(long)]
        name: Option<String>,
    },
    /// List the users as a table.
    List,
    /// Disable a user: they cannot log in and their tokens stop working.
    Disable {
        /// The login name.
        username: Username,
    },
    /// Enable a disabled user again.
    Enable {
        /// The login name.
        username: Username,
    },
    /// Set a user's password (read from standard input); their tokens stop working.
    SetPassword {
        /// The login name.
        username: Username,
    },
    /// Replace a user's grid cells (`--cells ""` removes them all).
    AssignCells {
        /// The login name.
        username: Username,
        /// Grid cell codes, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        cells: Vec<String>,
    },
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Options of `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "CITYGRID_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// Database URL: <sqlite://PATH> (created if missing).
    #[arg(
        long,
        env = "CITYGRID_DATABASE_URL",
        default_value = "sqlite://citygrid.db"
    )]
    pub database_url: String,
    /// Directory of the demo district loaded into an empty database on first start.
    #[arg(long, env = "CITYGRID_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Public base URL used in links (default: <http://BIND>).
    #[arg(long, env = "CITYGRID_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Log filter, e.g. `info` or `citygrid=debug,tower_http=info`.
    #[arg(long, env = "CITYGRID_LOG", default_value = "info")]
    pub log: String,
    /// Log format.
    #[arg(long, env = "CITYGRID_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Start with an empty database: do not load the demo district.
    #[arg(long)]
    pub no_demo: bool,
    /// Memory for cached vector tiles, MiB (0 turns the cache off).
    #[arg(long, env = "CITYGRID_TILE_CACHE_MB", default_value_t = 256)]
    pub tile_cache_mb: u64,
    /// An optional raster basemap under the viewer: an XYZ tile URL with `{z}`, `{x}` and `{y}`
    /// (e.g. a 天地图 Tianditu or an intranet tile server). None by default: the district's own
    /// layers make the map.
    #[arg(long, env = "CITYGRID_BASEMAP_URL")]
    pub basemap_url: Option<String>,
    /// Whether the base layers (collections, features, tiles, spatial questions) can be read
    /// without logging in: true or false. Cases are never public.
    #[arg(
        long,
        env = "CITYGRID_PUBLIC_LAYERS",
        default_value_t = true,
        action = ArgAction::Set,
        value_parser = BoolishValueParser::new(),
        value_name = "BOOL"
    )]
    pub public_layers: bool,
    /// How long a login token is valid, hours.
    #[arg(long, env = "CITYGRID_TOKEN_TTL_HOURS", default_value_t = 12)]
    pub token_ttl_hours: u64,
    /// Reverse proxies whose `Forwarded` / `X-Forwarded-For` headers are believed: IP addresses
    /// and CIDR networks separated by commas. None by default: the peer is the client.
    #[arg(long, env = "CITYGRID_TRUSTED_PROXIES", value_name = "LIST")]
    pub trusted_proxies: Option<String>,
    /// Where case photos are stored (content-addressed files). Default: `photos/` next to the
    /// SQLite database file.
    #[arg(long, env = "CITYGRID_PHOTO_DIR")]
    pub photo_dir: Option<PathBuf>,
    /// Working hours of 工作时 deadlines, China time: comma-separated periods.
    #[arg(
        long,
        env = "CITYGRID_WORKING_HOURS",
        default_value = "08:30-12:00,13:30-17:30"
    )]
    pub working_hours: String,
    /// A holiday calendar file replacing the built-in `data/cases/holidays-cn.json` (same format).
    #[arg(long, env = "CITYGRID_HOLIDAYS")]
    pub holidays: Option<PathBuf>,
    /// Open connections served at most; one more is answered 503 and closed.
    #[arg(long, env = "CITYGRID_MAX_CONNECTIONS", default_value_t = 4096)]
    pub max_connections: usize,
    /// Seconds a client has to send a whole request head once it has begun one.
    #[arg(long, env = "CITYGRID_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    pub header_timeout_secs: u64,
    /// Seconds a connection may stay open with no request under way before it is closed.
    #[arg(long, env = "CITYGRID_IDLE_TIMEOUT_SECS", default_value_t = 60)]
    pub idle_timeout_secs: u64,
    /// Seconds given to requests under way at SIGTERM or Ctrl-C before the process exits anyway.
    #[arg(long, env = "CITYGRID_SHUTDOWN_TIMEOUT_SECS", default_value_t = 10)]
    pub shutdown_timeout_secs: u64,
    /// Memory for cached per-cell statistics (`/grid/stats`), MiB (0 turns the cache off).
    #[arg(long, env = "CITYGRID_STATS_CACHE_MB", default_value_t = 64)]
    pub stats_cache_mb: u64,
    /// Photos one user may upload in 24 hours.
    #[arg(long, env = "CITYGRID_PHOTO_QUOTA_COUNT", default_value_t = 200)]
    pub photo_quota_count: u64,
    /// Photo bytes one user may upload in 24 hours, MiB.
    #[arg(long, env = "CITYGRID_PHOTO_QUOTA_MB", default_value_t = 500)]
    pub photo_quota_mb: u64,
    /// How long an uploaded photo that no case refers to is kept before it is removed, hours.
    #[arg(long, env = "CITYGRID_PHOTO_ORPHAN_HOURS", default_value_t = 24)]
    pub photo_orphan_hours: u64,
    /// Heavy analyses (`/search`, `/analysis/summary`) running at once. Default: the number of
    /// cores.
    #[arg(long, env = "CITYGRID_ANALYSIS_WORKERS")]
    pub analysis_workers: Option<u64>,
    /// Heavy analyses waiting for a worker before further ones are refused with 503. Default:
    /// 64 per worker.
    #[arg(long, env = "CITYGRID_ANALYSIS_QUEUE")]
    pub analysis_queue: Option<u64>,
    /// The time budget of one heavy analysis, milliseconds (waiting included); beyond it the
    /// work stops and the answer is 504.
    #[arg(long, env = "CITYGRID_ANALYSIS_TIMEOUT_MS", default_value_t = 5000)]
    pub analysis_timeout_ms: u64,
}

/// Options of `apikey`.
#[derive(Debug, Clone, Args)]
pub struct ApiKeyArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: ApiKeyAction,
    /// Database URL.
    #[arg(
        long,
        env = "CITYGRID_DATABASE_URL",
        default_value = "sqlite://citygrid.db",
        global = true
    )]
    pub database_url: String,
}

/// The `apikey` subcommands: keys of civic apps reporting through Open311.
#[derive(Debug, Clone, Subcommand)]
pub enum ApiKeyAction {
    /// Issue a key for an app; the key is printed once and stored only as its hash.
    Add {
        /// The app's name: letters, digits, '-', '_' or '.'.
        name: String,
    },
    /// List the keys' names, creation and revocation times.
    List,
    /// Revoke an app's key.
    Revoke {
        /// The app's name.
        name: String,
    },
}

/// Options of `import`.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// The GeoJSON file: a FeatureCollection, or one Feature per line.
    pub file: PathBuf,
    /// Target collection id (a built-in layer, an existing collection, or a new one).
    #[arg(long)]
    pub collection: String,
    /// Coordinate system of the file: wgs84, gcj02 or bd09.
    #[arg(long, default_value = "wgs84")]
    pub crs: String,
    /// JSON Schema of a new collection's properties (as in OGC queryables documents).
    #[arg(long, conflicts_with = "infer_schema")]
    pub schema: Option<PathBuf>,
    /// Create a new collection with a schema inferred from the data (printed to stdout).
    #[arg(long)]
    pub infer_schema: bool,
    /// Import the valid features even if some are rejected (default: all or nothing).
    #[arg(long)]
    pub skip_invalid: bool,
    /// Replace features whose id exists already (default: refuse them).
    #[arg(long)]
    pub upsert: bool,
    /// Where the data come from, as maps must credit them (shown in the collection's metadata
    /// and its TileJSON); naming a source marks the collection as real data, not synthetic.
    #[arg(long)]
    pub attribution: Option<String>,
    /// The data's licence, a name or a URL (e.g. CC-BY-4.0).
    #[arg(long)]
    pub license: Option<String>,
    /// The largest feature accepted, bytes of its JSON text (default 64 MiB): a larger one
    /// stops the import with an error naming its position, without reading the rest of it.
    #[arg(long, default_value_t = crate::service::import::MAX_FEATURE_BYTES)]
    pub max_feature_bytes: usize,
    /// Database URL.
    #[arg(
        long,
        env = "CITYGRID_DATABASE_URL",
        default_value = "sqlite://citygrid.db"
    )]
    pub database_url: String,
    /// Log filter.
    #[arg(long, env = "CITYGRID_LOG", default_value = "warn")]
    pub log: String,
}

/// Options of `demo-data`.
#[derive(Debug, Clone, Args)]
pub struct DemoDataArgs {
    /// Random seed; the same seed and scale give byte-identical files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Density multiplier of the point and line layers (benchmarks; ≥ 40 gives over a million features).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub scale: u32,
    /// Output directory.
    #[arg(long, default_value = "data")]
    pub out: PathBuf,
    /// Directory with the reference files (district boundary, division names and codes).
    #[arg(long, default_value = "data/reference")]
    pub reference: PathBuf,
}

/// A configuration value that is not acceptable; names the variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `CITYGRID_BIND` / `--bind` is not an address.
    #[error("CITYGRID_BIND / --bind: {0:?} is not a socket address like 127.0.0.1:8080")]
    Bind(String),
    /// `CITYGRID_PUBLIC_URL` / `--public-url` is not an http(s) URL.
    #[error("CITYGRID_PUBLIC_URL / --public-url: {0:?} is not an http:// or https:// URL")]
    PublicUrl(String),
    /// `CITYGRID_TILE_CACHE_MB` / `--tile-cache-mb` is beyond what can be addressed.
    #[error(
        "CITYGRID_TILE_CACHE_MB / --tile-cache-mb: {0} MiB is too large; use 0 to {MAX_TILE_CACHE_MB}"
    )]
    TileCacheMb(u64),
    /// `CITYGRID_BASEMAP_URL` / `--basemap-url` is not an http(s) URL with `{z}`, `{x}`, `{y}`.
    #[error(
        "CITYGRID_BASEMAP_URL / --basemap-url: {0:?} is not an http:// or https:// tile URL with {{z}}, {{x}} and {{y}}"
    )]
    BasemapUrl(String),
    /// `CITYGRID_ANALYSIS_WORKERS` / `--analysis-workers` is out of range.
    #[error(
        "CITYGRID_ANALYSIS_WORKERS / --analysis-workers: {0} is out of range; use 1 to {MAX_ANALYSIS_WORKERS}"
    )]
    AnalysisWorkers(u64),
    /// `CITYGRID_ANALYSIS_QUEUE` / `--analysis-queue` is out of range.
    #[error(
        "CITYGRID_ANALYSIS_QUEUE / --analysis-queue: {0} is out of range; use 0 to {MAX_ANALYSIS_QUEUE}"
    )]
    AnalysisQueue(u64),
    /// `CITYGRID_ANALYSIS_TIMEOUT_MS` / `--analysis-timeout-ms` is out of range.
    #[error(
        "CITYGRID_ANALYSIS_TIMEOUT_MS / --analysis-timeout-ms: {0} is out of range; use {MIN_ANALYSIS_TIMEOUT_MS} to {MAX_ANALYSIS_TIMEOUT_MS} milliseconds"
    )]
    AnalysisTimeout(u64),
    /// `CITYGRID_TOKEN_TTL_HOURS` / `--token-ttl-hours` is out of range.
    #[error(
        "CITYGRID_TOKEN_TTL_HOURS / --token-ttl-hours: {0} is out of range; use 1 to {MAX_TOKEN_TTL_HOURS} hours"
    )]
    TokenTtl(u64),
    /// `CITYGRID_WORKING_HOURS` / `--working-hours` is not a list of periods.
    #[error(
        "CITYGRID_WORKING_HOURS / --working-hours: {0:?} is not usable ({1}); write periods like 08:30-12:00,13:30-17:30"
    )]
    WorkingHours(String, String),
    /// `CITYGRID_PHOTO_QUOTA_COUNT` / `--photo-quota-count` is out of range.
    #[error(
        "CITYGRID_PHOTO_QUOTA_COUNT / --photo-quota-count: {0} is out of range; use 1 to 1000000 photos per user and day"
    )]
    PhotoQuotaCount(u64),
    /// `CITYGRID_PHOTO_QUOTA_MB` / `--photo-quota-mb` is out of range.
    #[error(
        "CITYGRID_PHOTO_QUOTA_MB / --photo-quota-mb: {0} is out of range; use 10 (one largest photo) to 1048576 MiB per user and day"
    )]
    PhotoQuotaMb(u64),
    /// `CITYGRID_PHOTO_ORPHAN_HOURS` / `--photo-orphan-hours` is out of range.
    #[error(
        "CITYGRID_PHOTO_ORPHAN_HOURS / --photo-orphan-hours: {0} is out of range; use 1 to 8760 hours"
    )]
    PhotoOrphanHours(u64),
    /// `CITYGRID_TRUSTED_PROXIES` / `--trusted-proxies` has an entry that is not an address.
    #[error("CITYGRID_TRUSTED_PROXIES / --trusted-proxies: {0}")]
    TrustedProxies(crate::model::proxies::ProxyListError),
    /// `CITYGRID_DATABASE_URL` / `--database-url` names no supported database.
    #[error("CITYGRID_DATABASE_URL / --database-url: {0:?} is not supported; use sqlite://PATH")]
    DatabaseUrl(String),
    /// `CITYGRID_MAX_CONNECTIONS` / `--max-connections` is out of range.
    #[error(
        "CITYGRID_MAX_CONNECTIONS / --max-connections: {0} is out of range; use 1 to {MAX_CONNECTIONS}"
    )]
    MaxConnections(usize),
    /// A timeout in seconds is out of range; names its variable.
    #[error("{variable}: {value} s is out of range; use 1 to {MAX_TIMEOUT_SECS} seconds")]
    Timeout {
        /// The variable and flag.
        variable: &'static str,
        /// The value given.
        value: u64,
    },
    /// `CITYGRID_STATS_CACHE_MB` / `--stats-cache-mb` is beyond what can be addressed.
    #[error(
        "CITYGRID_STATS_CACHE_MB / --stats-cache-mb: {0} MiB is too large; use 0 to {MAX_TILE_CACHE_MB}"
    )]
    StatsCacheMb(u64),
}

/// The validated configuration of `serve`.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// Database URL.
    pub database_url: String,
    /// Demo data directory.
    pub data_dir: PathBuf,
    /// Public base URL without trailing slash; `None` derives it from the bound address.
    pub public_url: Option<String>,
    /// Whether to load the demo district into an empty database.
    pub load_demo: bool,
    /// The tile cache budget, bytes (0: no cache).
    pub tile_cache_bytes: usize,
    /// The viewer's raster basemap (XYZ tile URL), if any.
    pub basemap_url: Option<String>,
    /// Whether the base layers are readable without a token.
    pub public_layers: bool,
    /// How long a login token is valid.
    pub token_ttl: std::time::Duration,
    /// Reverse proxies whose forwarding headers are believed.
    pub trusted_proxies: crate::model::proxies::TrustedProxies,
    /// Where case photos are stored.
    pub photo_dir: PathBuf,
    /// Working hours of 工作时 deadlines.
    pub working_hours: Vec<(chrono::NaiveTime, chrono::NaiveTime)>,
    /// A holiday calendar file replacing the built-in one.
    pub holidays: Option<PathBuf>,
    /// Photos one user may upload in 24 hours.
    pub photo_quota_count: u64,
    /// Photo bytes one user may upload in 24 hours.
    pub photo_quota_bytes: u64,
    /// How long an uploaded photo no case refers to is kept.
    pub photo_orphan_grace: std::time::Duration,
    /// Connection limits and timeouts of the HTTP server.
    pub limits: ServerLimits,
    /// The `/grid/stats` cache budget, bytes (0: no cache).
    pub stats_cache_bytes: usize,
    /// The heavy-analysis pool's limits.
    pub analysis: crate::service::analysis::PoolSettings,
}

/// How many connections the HTTP server holds and how long it waits for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// Open connections served at most; the next one is answered 503 and closed.
    pub max_connections: usize,
    /// How long a begun request head may take to arrive whole.
    pub header_timeout: std::time::Duration,
    /// How long a connection may stay open with no request under way.
    pub idle_timeout: std::time::Duration,
    /// How long requests under way may take to finish after a shutdown signal.
    pub shutdown_timeout: std::time::Duration,
}

impl ServerLimits {
    /// Validates the connection cap and the timeouts of the `serve` options.
    fn from_args(args: &ServeArgs) -> Result<Self, ConfigError> {
        if !(1..=MAX_CONNECTIONS).contains(&args.max_connections) {
            return Err(ConfigError::MaxConnections(args.max_connections));
        }
        Ok(Self {
            max_connections: args.max_connections,
            header_timeout: timeout(
                "CITYGRID_HEADER_TIMEOUT_SECS / --header-timeout-secs",
                args.header_timeout_secs,
            )?,
            idle_timeout: timeout(
                "CITYGRID_IDLE_TIMEOUT_SECS / --idle-timeout-secs",
                args.idle_timeout_secs,
            )?,
            shutdown_timeout: timeout(
                "CITYGRID_SHUTDOWN_TIMEOUT_SECS / --shutdown-timeout-secs",
                args.shutdown_timeout_secs,
            )?,
        })
    }
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            max_connections: 4096,
            header_timeout: std::time::Duration::from_secs(10),
            idle_timeout: std::time::Duration::from_secs(60),
            shutdown_timeout: std::time::Duration::from_secs(10),
        }
    }
}

/// The most connections `CITYGRID_MAX_CONNECTIONS` accepts.
pub const MAX_CONNECTIONS: usize = 1 << 20;

/// The longest timeout accepted, seconds (an hour).
pub const MAX_TIMEOUT_SECS: u64 = 3600;

/// `value` seconds as a duration when within 1 s to an hour.
fn timeout(variable: &'static str, value: u64) -> Result<std::time::Duration, ConfigError> {
    if (1..=MAX_TIMEOUT_SECS).contains(&value) {
        Ok(std::time::Duration::from_secs(value))
    } else {
        Err(ConfigError::Timeout { variable, value })
    }
}

/// The most analysis workers accepted.
pub const MAX_ANALYSIS_WORKERS: u64 = 256;
/// The longest analysis queue accepted.
pub const MAX_ANALYSIS_QUEUE: u64 = 100_000;
/// The shortest analysis budget accepted, milliseconds.
pub const MIN_ANALYSIS_TIMEOUT_MS: u64 = 100;
/// The longest analysis budget accepted, milliseconds (10 minutes).
pub const MAX_ANALYSIS_TIMEOUT_MS: u64 = 600_000;

/// The analysis pool's settings from the `serve` options (defaults from the machine).
fn analysis_settings(
    args: &ServeArgs,
) -> Result<crate::service::analysis::PoolSettings, ConfigError> {
    let defaults = crate::service::analysis::PoolSettings::default();
    let workers = match args.analysis_workers {
        None => defaults.workers,
        Some(n) => Some(n)
            .filter(|n| (1..=MAX_ANALYSIS_WORKERS).contains(n))
            .and_then(|n| usize::try_from(n).ok())
            .ok_or(ConfigError::AnalysisWorkers(n))?,
    };
    let queue = match args.analysis_queue {
        None => crate::service::analysis::QUEUE_PER_WORKER * workers,
        Some(n) => Some(n)
            .filter(|n| *n <= MAX_ANALYSIS_QUEUE)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or(ConfigError::AnalysisQueue(n))?,
    };
    let ms = args.analysis_timeout_ms;
    if !(MIN_ANALYSIS_TIMEOUT_MS..=MAX_ANALYSIS_TIMEOUT_MS).contains(&ms) {
        return Err(ConfigError::AnalysisTimeout(ms));
    }
    Ok(crate::service::analysis::PoolSettings {
        workers,
        queue,
        timeout: std::time::Duration::from_millis(ms),
    })
}

/// The longest token lifetime accepted, hours (30 days).
pub const MAX_TOKEN_TTL_HOURS: u64 = 720;

/// The largest tile cache accepted, MiB (1 TiB).
pub const MAX_TILE_CACHE_MB: u64 = 1 << 20;

impl Config {
    /// Validates the `serve` options.
    pub fn from_args(args: &ServeArgs) -> Result<Self, ConfigError> {
        let bind = args
            .bind
            .parse()
            .map_err(|_| ConfigError::Bind(args.bind.clone()))?;
        let public_url = match &args.public_url {
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                Some(url.trim_end_matches('/').to_owned())
            }
            Some(url) => return Err(ConfigError::PublicUrl(url.clone())),
            None => None,
        };
        if !args.database_url.starts_with("sqlite:") {
            return Err(ConfigError::DatabaseUrl(args.database_url.clone()));
        }
        let tile_cache_bytes = Some(args.tile_cache_mb)
            .filter(|&mb| mb <= MAX_TILE_CACHE_MB)
            .and_then(|mb| usize::try_from(mb << 20).ok())
            .ok_or(ConfigError::TileCacheMb(args.tile_cache_mb))?;
        let basemap_url = match &args.basemap_url {
            Some(url)
                if (url.starts_with("http://") || url.starts_with("https://"))
                    && ["{z}", "{x}", "{y}"].iter().all(|p| url.contains(p)) =>
            {
                Some(url.clone())
            }
            Some(url) => return Err(ConfigError::BasemapUrl(url.clone())),
            None => None,
        };
        if !(1..=MAX_TOKEN_TTL_HOURS).contains(&args.token_ttl_hours) {
            return Err(ConfigError::TokenTtl(args.token_ttl_hours));
        }
        let trusted_proxies = crate::model::proxies::TrustedProxies::parse(
            args.trusted_proxies.as_deref().unwrap_or_default(),
        )
        .map_err(ConfigError::TrustedProxies)?;
        let working_hours =
            crate::model::calendar::WorkCalendar::parse_working_hours(&args.working_hours)
                .map_err(|e| {
                    ConfigError::WorkingHours(args.working_hours.clone(), e.to_string())
                })?;
        let photo_dir = args.photo_dir.clone().unwrap_or_else(|| {
            // Next to the database file; in the working directory for an in-memory database.
            let path = args
                .database_url
                .trim_start_matches("sqlite://")
                .trim_start_matches("sqlite:");
            let path = path.split('?').next().unwrap_or_default();
            match std::path::Path::new(path).parent() {
                Some(parent) if !path.contains(":memory:") => parent.join("photos"),
                _ => PathBuf::from("photos"),
            }
        });
        let limits = ServerLimits::from_args(args)?;
        let stats_cache_bytes = Some(args.stats_cache_mb)
            .filter(|&mb| mb <= MAX_TILE_CACHE_MB)
            .and_then(|mb| usize::try_from(mb << 20).ok())
            .ok_or(ConfigError::StatsCacheMb(args.stats_cache_mb))?;
        if !(1..=1_000_000).contains(&args.photo_quota_count) {
            return Err(ConfigError::PhotoQuotaCount(args.photo_quota_count));
        }
        if !(10..=1 << 20).contains(&args.photo_quota_mb) {
            return Err(ConfigError::PhotoQuotaMb(args.photo_quota_mb));
        }
        if !(1..=8760).contains(&args.photo_orphan_hours) {
            return Err(ConfigError::PhotoOrphanHours(args.photo_orphan_hours));
        }
        let analysis = analysis_settings(args)?;
        Ok(Self {
            limits,
            stats_cache_bytes,
            photo_quota_count: args.photo_quota_count,
            photo_quota_bytes: args.photo_quota_mb << 20,
            photo_orphan_grace: std::time::Duration::from_secs(args.photo_orphan_hours * 3600),
            analysis,
            photo_dir,
            working_hours,
            holidays: args.holidays.clone(),
            token_ttl: std::time::Duration::from_secs(args.token_ttl_hours * 3600),
            trusted_proxies,
            public_layers: args.public_layers,
            bind,
            database_url: args.database_url.clone(),
            data_dir: args.data_dir.clone(),
            public_url,
            load_demo: !args.no_demo,
            tile_cache_bytes,
            basemap_url,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(args: &[&str]) -> ServeArgs {
        let cli = Cli::try_parse_from([&["citygrid", "serve"], args].concat()).unwrap();
        let Command::Serve(serve) = cli.command else {
            panic!("not serve")
        };
        serve
    }

    #[test]
    fn the_defaults_serve_the_embedded_database_on_port_8080() {
        let config = Config::from_args(&serve(&[])).unwrap();
        assert_eq!(config.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(config.database_url, "sqlite://citygrid.db");
        assert!(config.load_demo);
        assert_eq!(config.tile_cache_bytes, 256 << 20);
    }

    #[test]
    fn a_basemap_is_an_xyz_tile_url_and_absent_by_default() {
        assert_eq!(Config::from_args(&serve(&[])).unwrap().basemap_url, None);
        let url = "https://t0.tianditu.gov.cn/vec_w/wmts?tilematrix={z}&tilerow={y}&tilecol={x}";
        let config = Config::from_args(&serve(&["--basemap-url", url])).unwrap();
        assert_eq!(config.basemap_url.as_deref(), Some(url));
        let err = Config::from_args(&serve(&["--basemap-url", "https://tiles.example/{z}.png"]))
            .unwrap_err();
        assert!(err.to_string().contains("CITYGRID_BASEMAP_URL"), "{err}");
    }

    #[test]
    fn the_tile_cache_budget_is_given_in_mib_and_bounded() {
        let config = Config::from_args(&serve(&["--tile-cache-mb", "0"])).unwrap();
        assert_eq!(config.tile_cache_bytes, 0);
        let config = Config::from_args(&serve(&["--tile-cache-mb", "64"])).unwrap();
        assert_eq!(config.tile_cache_bytes, 64 << 20);
        let err = Config::from_args(&serve(&["--tile-cache-mb", "99999999"])).unwrap_err();
        assert!(err.to_string().contains("CITYGRID_TILE_CACHE_MB"), "{err}");
    }

    #[test]
    fn the_base_layers_are_public_unless_configured_otherwise() {
        assert!(Config::from_args(&serve(&[])).unwrap().public_layers);
        for (value, public) in [
            ("false", false),
            ("0", false),
            ("no", false),
            ("true", true),
        ] {
            let config = Config::from_args(&serve(&["--public-layers", value])).unwrap();
            assert_eq!(config.public_layers, public, "{value}");
        }
        assert!(Cli::try_parse_from(["citygrid", "serve", "--public-layers", "maybe"]).is_err());
    }

    #[test]
    fn trusted_proxies_are_none_by_default_and_a_bad_entry_is_named() {
        let config = Config::from_args(&serve(&[])).unwrap();
        assert!(config.trusted_proxies.is_empty());
        let config =
            Config::from_args(&serve(&["--trusted-proxies", "127.0.0.1, 10.0.0.0/8"])).unwrap();
        assert!(config.trusted_proxies.trusts("10.2.3.4".parse().unwrap()));
        let err =
            Config::from_args(&serve(&["--trusted-proxies", "10.0.0.0/8,proxy.lan"])).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("CITYGRID_TRUSTED_PROXIES") && text.contains("proxy.lan"),
            "{text}"
        );
    }

    #[test]
    fn the_analysis_pool_is_sized_from_its_variables_and_refuses_nonsense_naming_them() {
        let config = Config::from_args(&serve(&[
            "--analysis-workers",
            "3",
            "--analysis-queue",
            "0",
            "--analysis-timeout-ms",
            "2500",
        ]))
        .unwrap();
        assert_eq!(config.analysis.workers, 3);
        assert_eq!(config.analysis.queue, 0);
        assert_eq!(config.analysis.timeout.as_millis(), 2500);
        let default = Config::from_args(&serve(&[])).unwrap();
        assert_eq!(
            default.analysis.queue,
            crate::service::analysis::QUEUE_PER_WORKER * default.analysis.workers
        );
        assert_eq!(default.analysis.timeout.as_millis(), 5000);
        for (flag, value, variable) in [
            ("--analysis-workers", "0", "CITYGRID_ANALYSIS_WORKERS"),
            ("--analysis-queue", "1000000", "CITYGRID_ANALYSIS_QUEUE"),
            ("--analysis-timeout-ms", "5", "CITYGRID_ANALYSIS_TIMEOUT_MS"),
        ] {
            let err = Config::from_args(&serve(&[flag, value])).unwrap_err();
            assert!(err.to_string().contains(variable), "{err}");
        }
    }

    #[test]
    fn tokens_last_twelve_hours_unless_configured_within_thirty_days() {
        let config = Config::from_args(&serve(&[])).unwrap();
        assert_eq!(config.token_ttl.as_secs(), 12 * 3600);
        let config = Config::from_args(&serve(&["--token-ttl-hours", "1"])).unwrap();
        assert_eq!(config.token_ttl.as_secs(), 3600);
        let err = Config::from_args(&serve(&["--token-ttl-hours", "0"])).unwrap_err();
        assert!(
            err.to_string().contains("CITYGRID_TOKEN_TTL_HOURS"),
            "{err}"
        );
    }

    #[test]
    fn user_add_takes_a_role_comma_separated_cells_a_unit_and_a_name() {
        let cli = Cli::try_parse_from([
            "citygrid",
            "user",
            "add",
            "wang",
            "--role",
            "worker",
            "--cells",
            "410104001001001,410104001001002",
            "--name",
            "王伟",
            "--database-url",
            "sqlite://x.db",
        ])
        .unwrap();
        let Command::User(args) = cli.command else {
            panic!("not user")
        };
        assert_eq!(args.database_url, "sqlite://x.db");
        let UserAction::Add {
            username,
            role,
            cells,
            unit,
            name,
        } = args.action
        else {
            panic!("not add")
        };
        assert_eq!(username.as_str(), "wang");
        assert_eq!(role, Role::Worker);
        assert_eq!(cells, ["410104001001001", "410104001001002"]);
        assert_eq!(unit, None);
        assert_eq!(name.as_deref(), Some("王伟"));
    }

    #[test]
    fn user_commands_refuse_unknown_roles_and_invalid_names() {
        let err =
            Cli::try_parse_from(["citygrid", "user", "add", "wang", "--role", "root"]).unwrap_err();
        assert!(err.to_string().contains("root"), "{err}");
        assert!(Cli::try_parse_from(["citygrid", "user", "disable", "wang wei"]).is_err());
        assert!(Cli::try_parse_from(["citygrid", "user", "assign-cells", "wang"]).is_err());
    }

    #[test]
    fn connection_limits_and_timeouts_have_defaults_and_bad_values_name_the_variable() {
        let config = Config::from_args(&serve(&[])).unwrap();
        assert_eq!(config.limits.max_connections, 4096);
        assert_eq!(config.limits.header_timeout.as_secs(), 10);
        assert_eq!(config.limits.idle_timeout.as_secs(), 60);
        assert_eq!(config.limits.shutdown_timeout.as_secs(), 10);
        assert_eq!(config.stats_cache_bytes, 64 << 20);
        for (flag, variable) in [
            ("--max-connections", "CITYGRID_MAX_CONNECTIONS"),
            ("--header-timeout-secs", "CITYGRID_HEADER_TIMEOUT_SECS"),
            ("--idle-timeout-secs", "CITYGRID_IDLE_TIMEOUT_SECS"),
            ("--shutdown-timeout-secs", "CITYGRID_SHUTDOWN_TIMEOUT_SECS"),
        ] {
            let err = Config::from_args(&serve(&[flag, "0"])).unwrap_err();
            assert!(err.to_string().contains(variable), "{err}");
        }
        let err = Config::from_args(&serve(&["--stats-cache-mb", "99999999"])).unwrap_err();
        assert!(err.to_string().contains("CITYGRID_STATS_CACHE_MB"), "{err}");
    }

    #[test]
    fn the_photo_quota_and_orphan_grace_have_defaults_and_bounds_naming_the_variable() {
        let config = Config::from_args(&serve(&[])).unwrap();
        assert_eq!(config.photo_quota_count, 200);
        assert_eq!(config.photo_quota_bytes, 500 << 20);
        assert_eq!(config.photo_orphan_grace.as_secs(), 24 * 3600);
        let config = Config::from_args(&serve(&[
            "--photo-quota-count",
            "5",
            "--photo-quota-mb",
            "20",
            "--photo-orphan-hours",
            "2",
        ]))
        .unwrap();
        assert_eq!(config.photo_quota_count, 5);
        assert_eq!(config.photo_quota_bytes, 20 << 20);
        assert_eq!(config.photo_orphan_grace.as_secs(), 7200);
        for (flag, variable) in [
            ("--photo-quota-count", "CITYGRID_PHOTO_QUOTA_COUNT"),
            ("--photo-quota-mb", "CITYGRID_PHOTO_QUOTA_MB"),
            ("--photo-orphan-hours", "CITYGRID_PHOTO_ORPHAN_HOURS"),
        ] {
            let err = Config::from_args(&serve(&[flag, "0"])).unwrap_err();
            assert!(err.to_string().contains(variable), "{err}");
        }
    }

    #[test]
    fn a_bad_bind_address_names_the_variable() {
        let err = Config::from_args(&serve(&["--bind", "localhost"])).unwrap_err();
        assert!(err.to_string().contains("CITYGRID_BIND"));
    }

    #[test]
    fn the_public_url_must_be_http_and_loses_its_trailing_slash() {
        let config =
            Config::from_args(&serve(&["--public-url", "https://grid.example.cn/"])).unwrap();
        assert_eq!(
            config.public_url.as_deref(),
            Some("https://grid.example.cn")
        );
        assert!(Config::from_args(&serve(&["--public-url", "grid.example.cn"])).is_err());
    }
}
