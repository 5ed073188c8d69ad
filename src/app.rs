//! The composition root: each command opens the store, builds what it needs and runs.
//! `serve` loads the demo district into an empty database, builds the indexes, builds the
//! router and serves until SIGTERM or Ctrl-C, finishing the requests under way.

use std::collections::HashSet;
use std::io::{BufRead as _, IsTerminal as _};
use std::sync::Arc;

use anyhow::Context as _;
use tracing_subscriber::EnvFilter;

use crate::api::{self, AppState};
use crate::config::{
    ApiKeyAction, ApiKeyArgs, Config, ImportArgs, LogFormat, UnitAction, UnitArgs, UserAction,
    UserArgs,
};
use crate::model::calendar::WorkCalendar;
use crate::model::category::CategoryCatalog;
use crate::model::crs::InputCrs;
use crate::model::{CollectionId, NewUser, User};
use crate::service::auth::{AuthService, AuthSettings, MIN_PASSWORD_CHARS, Origin};
use crate::service::cases::{CaseService, PhotoPolicy, issue_api_key};
use crate::service::import::{self, ImportError, ImportOptions, SchemaSource};
use crate::service::photos::PhotoStore;
use crate::service::tiles::TileService;
use crate::service::{Catalog, grid, units};
use crate::store::{self, CaseStore, Store, StoreError, UserStore};

/// Meta key set once the demo district has been loaded.
const DEMO_LOADED: &str = "demo_loaded_at";

/// Starts logging with `filter`, as text or JSON lines, to standard error.
pub fn init_logging(filter: &str, format: LogFormat) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Loads the demo district when the database holds no feature yet and it was never loaded.
async fn load_demo_if_empty(store: &Arc<dyn Store>, config: &Config) -> anyhow::Result<()> {
    if !config.load_demo || store.meta(DEMO_LOADED).await?.is_some() {
        return Ok(());
    }
    let catalog = Catalog::load(Arc::clone(store)).await?;
    if catalog.collections().iter().any(|c| !c.index.is_empty()) {
        return Ok(());
    }
    if !config.data_dir.join("grid_cells.geojson").exists() {
        tracing::warn!(dir = %config.data_dir.display(), "no demo district found (CITYGRID_DATA_DIR); starting empty");
        return Ok(());
    }
    let started = std::time::Instant::now();
    let loaded = import::load_demo(store, &config.data_dir)
        .await
        .with_context(|| {
            format!(
                "loading the demo district from {}",
                config.data_dir.display()
            )
        })?;
    let total: usize = loaded.iter().map(|(_, n)| n).sum();
    tracing::info!(features = total, layers = ?loaded, elapsed_ms = started.elapsed().as_millis(), "demo district loaded");
    store
        .set_meta(DEMO_LOADED, &chrono::Utc::now().to_rfc3339())
        .await?;
    Ok(())
}

/// Runs the service until SIGTERM or Ctrl-C.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let store = store::open(&config.database_url)
        .await
        .with_context(|| format!("opening {}", config.database_url))?;
    load_demo_if_empty(&store, &config).await?;
    let started = std::time::Instant::now();
    let catalog = Arc::new(
        Catalog::load(store)
            .await?
            .with_stats_cache_bytes(config.stats_cache_bytes),
    );
    let features: usize = catalog.collections().iter().map(|c| c.index.len()).sum();
    tracing::info!(
        features,
        elapsed_ms = started.elapsed().as_millis(),
        "indexes built"
    );
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("binding {}", config.bind))?;
    let address = listener.local_addr()?;
    let base_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{address}"));
    let users: Arc<dyn UserStore> = Arc::clone(catalog.store()) as Arc<dyn UserStore>;
    let auth = AuthService::new(
        users,
        AuthSettings {
            token_ttl: config.token_ttl,
            trusted_proxies: config.trusted_proxies.clone(),
            ..AuthSettings::default()
        },
    );
    auth.prepare().await?;
    let cases = Arc::new(case_service(&catalog, &config).await?);
    tokio::spawn(collect_orphan_photos(
        Arc::clone(&cases),
        config.photo_orphan_grace,
    ));
    let state = AppState::with_tile_cache(catalog, &base_url, config.tile_cache_bytes)
        .with_cases(cases)
        .with_basemap(config.basemap_url.as_deref())
        .with_auth(Arc::new(auth))
        .with_public_layers(config.public_layers)
        .with_analysis(Arc::new(crate::service::analysis::AnalysisPool::new(
            config.analysis,
        )));
    let router = api::router(state);
    let limits = connection_limits(config.limits);
    tracing::info!(%address, %base_url, map = %format!("{base_url}/map/"), public_layers = config.public_layers, max_connections = limits.max_connections, "listening");
    api::server::serve(listener, router, limits, shutdown_signal()).await;
    tracing::info!("stopped");
    Ok(())
}

/// The services a handler reaches through [`AppState`], built for one catalogue.
#[derive(Debug)]
pub struct Services {
    /// Cases, their photos and events.
    pub cases: Arc<CaseService>,
    /// Logins, sessions and users.
    pub auth: Arc<AuthService>,
    /// Vector tiles and their cache.
    pub tiles: Arc<TileService>,
}

/// The default services of `catalog`: cases with the built-in categories and calendar and a
/// temporary photo directory, users and sessions in the catalogue's store with the default
/// settings, and a tile cache of `tile_cache_bytes` (0: no cache). `serve` replaces the case
/// and authentication services with configured ones.
pub fn default_services(catalog: &Arc<Catalog>, tile_cache_bytes: usize) -> Services {
    let users: Arc<dyn UserStore> = Arc::clone(catalog.store()) as Arc<dyn UserStore>;
    Services {
        cases: Arc::new(CaseService::new(
            Arc::clone(catalog.store()) as Arc<dyn CaseStore>,
            Arc::clone(catalog),
            Arc::new(CategoryCatalog::builtin()),
            Arc::new(WorkCalendar::builtin()),
            PhotoStore::temporary(),
        )),
        auth: Arc::new(AuthService::new(users, AuthSettings::default())),
        tiles: Arc::new(TileService::new(Arc::clone(catalog), tile_cache_bytes)),
    }
}

/// File handles kept for the database, photos and logs besides the connections.
const RESERVED_FILES: u64 = 256;

/// `limits` with the connection cap lowered to what the open file limit allows, after raising
/// that limit as far as the OS lets us.
fn connection_limits(mut limits: crate::config::ServerLimits) -> crate::config::ServerLimits {
    if let Some(files) = api::server::raise_file_limit() {
        let room = usize::try_from(files.saturating_sub(RESERVED_FILES))
            .unwrap_or(usize::MAX)
            .max(1);
        if limits.max_connections > room {
            tracing::warn!(
                configured = limits.max_connections,
                open_file_limit = files,
                max_connections = room,
                "CITYGRID_MAX_CONNECTIONS exceeds what the open file limit allows: lowered"
            );
            limits.max_connections = room;
        }
    }
    limits
}

/// The case workflow with the configured calendar and photo directory, its open cases loaded.
async fn case_service(catalog: &Arc<Catalog>, config: &Config) -> anyhow::Result<CaseService> {
    let calendar = match &config.holidays {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading CITYGRID_HOLIDAYS {}", path.display()))?;
            WorkCalendar::from_json(&text)
                .with_context(|| format!("CITYGRID_HOLIDAYS {}", path.display()))?
        }
        None => WorkCalendar::builtin(),
    }
    .with_working_hours(config.working_hours.clone())
    .context("CITYGRID_WORKING_HOURS")?;
    let today = crate::model::temporal::today_in_china();
    if !calendar.years().contains(&chrono::Datelike::year(&today)) {
        tracing::warn!(years = ?calendar.years(), "the holiday calendar does not cover this year: working days are Monday–Friday only; update data/cases/holidays-cn.json or set CITYGRID_HOLIDAYS");
    }
    let photos = PhotoStore::open(&config.photo_dir)
        .with_context(|| format!("opening the photo directory {}", config.photo_dir.display()))?;
    let service = CaseService::new(
        Arc::clone(catalog.store()) as Arc<dyn CaseStore>,
        Arc::clone(catalog),
        Arc::new(CategoryCatalog::builtin()),
        Arc::new(calendar),
        photos,
    );
    let service = service.with_photo_policy(PhotoPolicy {
        daily_count: config.photo_quota_count,
        daily_bytes: config.photo_quota_bytes,
        orphan_grace: chrono::Duration::from_std(config.photo_orphan_grace)
            .context("CITYGRID_PHOTO_ORPHAN_HOURS")?,
    });
    let open = service.load_open_cases().await?;
    tracing::info!(open_cases = open, photo_dir = %config.photo_dir.display(), "cases loaded");
    Ok(service)
}

/// Removes orphaned photos at start and then every twelfth of the grace period (at most
/// hourly), so none outlives its grace period by much. Runs until the server stops.
async fn collect_orphan_photos(cases: Arc<CaseService>, grace: std::time::Duration) {
    let every = (grace / 12).clamp(
        std::time::Duration::from_secs(60),
        std::time::Duration::from_secs(3600),
    );
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match cases.collect_orphan_photos().await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "orphaned photos removed"),
            Err(error) => tracing::warn!(%error, "removing orphaned photos failed"),
        }
    }
}

/// `citygrid apikey add|list|revoke`: keys of civic apps reporting through Open311.
pub async fn apikey(args: ApiKeyArgs) -> anyhow::Result<bool> {
    let store = store::open(&args.database_url)
        .await
        .with_context(|| format!("opening {}", args.database_url))?;
    match args.action {
        ApiKeyAction::Add { name } => {
            let key = issue_api_key(store.as_ref(), &name).await.map_err(|e| match e {
                crate::service::cases::CaseError::Store(StoreError::DuplicateApiKey(n)) => {
                    anyhow::anyhow!("an API key named {n} exists already; revoke it first or choose another name")
                }
                other => anyhow::anyhow!("{other}"),
            })?;
            store
                .append_audit(&crate::model::audit::AuditEntry {
                    actor: None,
                    action: "apikey.add".into(),
                    target: format!("apikey/{name}"),
                    detail: serde_json::json!({}),
                    remote: Some("cli".into()),
                })
                .await?;
            eprintln!(
                "API key for {name} (shown once; give it to the app, it is stored only as a hash):"
            );
            println!("{key}");
        }
        ApiKeyAction::List => {
            println!("{:<32} {:<26} revoked", "name", "created");
            for (name, created, revoked) in store.api_keys().await? {
                println!(
                    "{name:<32} {:<26} {}",
                    created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    revoked.map_or_else(
                        || "-".to_owned(),
                        |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    )
                );
            }
        }
        ApiKeyAction::Revoke { name } => {
            if !store.revoke_api_key(&name).await? {
                anyhow::bail!("no unrevoked API key named {name}");
            }
            store
                .append_audit(&crate::model::audit::AuditEntry {
                    actor: None,
                    action: "apikey.revoke".into(),
                    target: format!("apikey/{name}"),
                    detail: serde_json::json!({}),
                    remote: Some("cli".into()),
                })
                .await?;
            eprintln!("revoked the API key of {name}");
        }
    }
    Ok(true)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// `citygrid import`: validates and imports a file, printing a report; exit code 1 when
/// features were rejected.
pub async fn import(args: ImportArgs) -> anyhow::Result<bool> {
    let collection =
        CollectionId::parse(&args.collection).map_err(|e| anyhow::anyhow!("--collection: {e}"))?;
    let crs = InputCrs::parse(&args.crs)
        .ok_or_else(|| anyhow::anyhow!("--crs {:?}: use wgs84, gcj02 or bd09", args.crs))?;
    let schema = match (&args.schema, args.infer_schema) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading --schema {}", path.display()))?;
            SchemaSource::JsonSchema(
                serde_json::from_str(&text)
                    .with_context(|| format!("--schema {} is not JSON", path.display()))?,
            )
        }
        (None, true) => SchemaSource::Infer,
        (None, false) => SchemaSource::Existing,
    };
    if args.max_feature_bytes == 0 {
        anyhow::bail!("--max-feature-bytes must be at least 1 (the default is 64 MiB)");
    }
    let options = ImportOptions {
        collection,
        crs,
        schema,
        skip_invalid: args.skip_invalid,
        upsert: args.upsert,
        attribution: args.attribution.clone(),
        license: args.license.clone(),
        max_feature_bytes: args.max_feature_bytes,
    };
    let store = store::open(&args.database_url)
        .await
        .with_context(|| format!("opening {}", args.database_url))?;
    let size = std::fs::metadata(&args.file).map_or(0, |m| m.len());
    let bar = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(size)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} reading {bytes}/{total_bytes} [{bar:30}] {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let progress = bar.clone();
    let result = import::import_file(&store, &args.file, &options, move |read| {
        progress.set_position(read);
    })
    .await;
    bar.finish_and_clear();
    let (report, ok) = match result {
        Ok(report) => (report, true),
        Err(ImportError::Rejected(report) | ImportError::NothingValid(report)) => (*report, false),
        Err(other) => return Err(other.into()),
    };
    for r in &report.rejected {
        let id =
            r.id.as_deref()
                .map(|i| format!(" (id {i})"))
                .unwrap_or_default();
        // Positions are 1-based: the first feature of the file is #1.
        eprintln!("rejected feature #{}{id}: {}", r.index, r.reason);
    }
    if report.created && matches!(options.schema, SchemaSource::Infer) {
        println!("{}", serde_json::to_string_pretty(&report.schema)?);
    }
    if ok {
        eprintln!(
            "imported {} of {} features into {}{}{}",
            report.imported,
            report.read,
            options.collection,
            if report.created {
                " (new collection)"
            } else {
                ""
            },
            if report.rejected.is_empty() {
                String::new()
            } else {
                format!("; {} rejected", report.rejected.len())
            }
        );
    } else if options.skip_invalid {
        eprintln!(
            "all {} features were rejected; nothing was imported (not even with --skip-invalid: an import of nothing is a failure)",
            report.read
        );
    } else {
        eprintln!(
            "{} of {} features rejected; nothing was imported (use --skip-invalid to import the valid ones)",
            report.rejected.len(),
            report.read
        );
    }
    Ok(ok)
}

/// `citygrid demo-data`: generates the demo district into a directory.
pub fn demo_data(args: &crate::config::DemoDataArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let reference = crate::demo::Reference::load(&args.reference)
        .with_context(|| format!("reading the reference data in {}", args.reference.display()))?;
    let district = crate::demo::generate(
        &reference,
        &crate::demo::DemoOptions {
            seed: args.seed,
            scale: args.scale,
        },
    )?;
    district
        .write_dir(&args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;
    for (layer, features) in &district.layers {
        eprintln!("{layer:>18}: {:>9} features", features.len());
    }
    eprintln!(
        "wrote {} features (seed {}, scale {}) to {} in {:.1} s",
        district.feature_count(),
        args.seed,
        args.scale,
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Reads a password: from the terminal without echo (asked twice when `confirm`), otherwise
/// one line of standard input without its line ending.
fn read_password(confirm: bool) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("password (at least {MIN_PASSWORD_CHARS} characters): ");
        let password = rpassword::read_password().context("reading the password")?;
        if confirm {
            eprint!("the same password again: ");
            let again = rpassword::read_password().context("reading the password")?;
            anyhow::ensure!(password == again, "the two passwords differ");
        }
        return Ok(password);
    }
    let mut line = String::new();
    let read = stdin
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    anyhow::ensure!(
        read > 0,
        "no password on standard input (one line expected)"
    );
    let password = line.strip_suffix('\n').unwrap_or(&line);
    Ok(password.strip_suffix('\r').unwrap_or(password).to_owned())
}

/// The codes of the grid cells in the store.
/// The unit of a user to add, checked against the registry: handlers need a known unit; other
/// roles may name one, which must be known too.
async fn checked_unit(
    store: &Arc<dyn Store>,
    role: crate::model::Role,
    unit: Option<String>,
) -> anyhow::Result<Option<String>> {
    let Some(raw) = unit.filter(|u| !u.trim().is_empty()) else {
        anyhow::ensure!(
            role != crate::model::Role::Handler,
            "a handler needs --unit: the unit (责任单位) they work for; `citygrid unit list` lists the known units"
        );
        return Ok(None);
    };
    let id = CollectionId::parse("grid_cells").expect("the grid layer's id is valid");
    let cells = match store.features(&id).await {
        Ok(cells) => cells,
        Err(StoreError::UnknownCollection(_)) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    let grid = units::grid_units(cells.iter().map(AsRef::as_ref));
    let unit = units::known_unit(grid, store.as_ref(), &raw)
        .await
        .map_err(|e| match e {
            units::UnitError::Unknown { unit, near } => anyhow::anyhow!(
                "unknown unit {unit:?}: no grid cell names it and it is not registered{}; register it with `citygrid unit add {unit}` or see `citygrid unit list`",
                if near.is_empty() {
                    String::new()
                } else {
                    format!(". Near matches: {}", near.join(", "))
                }
            ),
            other => anyhow::anyhow!("--unit: {other}"),
        })?;
    Ok(Some(unit.name))
}

/// `citygrid unit add|list`: the registry of units.
pub async fn unit(args: UnitArgs) -> anyhow::Result<bool> {
    let store = store::open(&args.database_url)
        .await
        .with_context(|| format!("opening {}", args.database_url))?;
    let id = CollectionId::parse("grid_cells").expect("the grid layer's id is valid");
    match args.action {
        UnitAction::Add { name } => {
            let (name, added) =
                units::register_unit(store.as_ref(), &name, None, Some("cli".into()))
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            if added {
                eprintln!("registered the unit {name}");
            } else {
                eprintln!("the unit {name} was registered already");
            }
        }
        UnitAction::List => {
            let cells = match store.features(&id).await {
                Ok(cells) => cells,
                Err(StoreError::UnknownCollection(_)) => Vec::new(),
                Err(e) => return Err(e.into()),
            };
            let grid = units::grid_units(cells.iter().map(AsRef::as_ref));
            let all = units::units(grid, store.as_ref()).await?;
            println!("{:<8} {:<9} {:<6} name", "handlers", "source", "cells");
            for u in &all {
                let source = match (u.registered, u.cells.is_empty()) {
                    (true, true) => "registry",
                    (true, false) => "both",
                    (false, _) => "grid",
                };
                println!(
                    "{:<8} {:<9} {:<6} {}",
                    u.active_handlers,
                    source,
                    u.cells.len(),
                    u.name
                );
            }
        }
    }
    Ok(true)
}

async fn known_cells(store: &Arc<dyn Store>) -> anyhow::Result<HashSet<String>> {
    let id = CollectionId::parse("grid_cells").expect("the grid layer's id is valid");
    let cells = store.features(&id).await?;
    let codes = grid::cell_codes(cells.iter().map(AsRef::as_ref));
    anyhow::ensure!(
        !codes.is_empty(),
        "the database holds no grid cells: import the grid_cells layer (or serve once to load the demo district) before assigning cells"
    );
    Ok(codes)
}

fn print_users(users: &[User]) {
    let header = [
        "username", "name", "role", "unit", "cells", "status", "created",
    ];
    let rows: Vec<[String; 7]> = users
        .iter()
        .map(|u| {
            [
                u.username.to_string(),
                u.display_name.clone(),
                format!("{} {}", u.role, u.role.label_zh()),
                u.unit.clone().unwrap_or_else(|| "-".into()),
                if u.cells.is_empty() {
                    "-".into()
                } else {
                    u.cells.join(",")
                },
                if u.disabled { "disabled" } else { "active" }.into(),
                u.created_at.format("%Y-%m-%d %H:%M").to_string(),
            ]
        })
        .collect();
    let width = |text: &str| unicode_width::UnicodeWidthStr::width(text);
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| width(&r[i]))
                .chain([width(header[i])])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[&str]| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if i + 1 < cells.len() {
                out.push_str(&" ".repeat(widths[i] - width(cell) + 2));
            }
        }
        println!("{out}");
    };
    line(&header);
    for row in &rows {
        line(&row.each_ref().map(String::as_str));
    }
}

/// `citygrid user …`: administers users in the database; each change is audited with the
/// command line as its origin.
pub async fn user(args: UserArgs) -> anyhow::Result<bool> {
    let store = store::open(&args.database_url)
        .await
        .with_context(|| format!("opening {}", args.database_url))?;
    let users: Arc<dyn UserStore> = Arc::clone(&store) as Arc<dyn UserStore>;
    let auth = AuthService::new(users, AuthSettings::default());
    let origin = Origin::command_line();
    match args.action {
        UserAction::Add {
            username,
            role,
            cells,
            unit,
            name,
        } => {
            let known = if cells.iter().any(|c| !c.trim().is_empty()) {
                known_cells(&store).await?
            } else {
                HashSet::new()
            };
            let unit = checked_unit(&store, role, unit).await?;
            let password = read_password(true)?;
            let user = NewUser {
                display_name: name.unwrap_or_default(),
                username,
                role,
                unit,
                cells,
            };
            let added = auth
                .add_user(&origin, user, &password, &|c| known.contains(c))
                .await?;
            eprintln!(
                "added {} ({}, {} {}) with {} cell(s)",
                added.username,
                added.display_name,
                added.role,
                added.role.label_zh(),
                added.cells.len()
            );
        }
        UserAction::List => print_users(&auth.list_users().await?),
        UserAction::Disable { username } => {
            auth.set_disabled(&origin, &username, true).await?;
            eprintln!("disabled {username}; their tokens are revoked");
        }
        UserAction::Enable { username } => {
            auth.set_disabled(&origin, &username, false).await?;
            eprintln!("enabled {username}");
        }
        UserAction::SetPassword { username } => {
            // Fail on an unknown name before asking for a password.
            auth.user(&username).await?;
            let password = read_password(true)?;
            auth.set_password(&origin, &username, &password).await?;
            eprintln!("password of {username} set; their tokens are revoked");
        }
        UserAction::AssignCells { username, cells } => {
            let known = if cells.iter().any(|c| !c.trim().is_empty()) {
                known_cells(&store).await?
            } else {
                HashSet::new()
            };
            let user = auth
                .assign_cells(&origin, &username, &cells, &|c| known.contains(c))
                .await?;
            eprintln!(
                "{username} now has {} cell(s): {}",
                user.cells.len(),
                user.cells.join(",")
            );
        }
    }
    Ok(true)
}
