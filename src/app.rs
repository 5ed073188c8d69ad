//! The composition root: each command opens the store, builds what it needs and runs.
//! `serve` loads the demo district into an empty database, builds the indexes, builds the
//! router and serves until SIGTERM or Ctrl-C, finishing the requests under way.

use std::io::IsTerminal as _;
use std::sync::Arc;

use anyhow::Context as _;
use tracing_subscriber::EnvFilter;

use crate::api::{self, AppState};
use crate::config::{Config, ImportArgs, LogFormat};
use crate::model::CollectionId;
use crate::model::crs::InputCrs;
use crate::service::Catalog;
use crate::service::import::{self, ImportError, ImportOptions, SchemaSource};
use crate::store::{self, Store};

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
    let catalog = Arc::new(Catalog::load(store).await?);
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
    let state = AppState::with_tile_cache(catalog, &base_url, config.tile_cache_bytes)
        .with_basemap(config.basemap_url.as_deref());
    let router = api::router(state);
    tracing::info!(%address, %base_url, "listening");
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving")?;
    tracing::info!("stopped");
    Ok(())
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
    tracing::info!("shutting down: finishing requests under way");
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
    let options = ImportOptions {
        collection,
        crs,
        schema,
        skip_invalid: args.skip_invalid,
        upsert: args.upsert,
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
        Err(ImportError::Rejected(report)) => (*report, false),
        Err(other) => return Err(other.into()),
    };
    for r in &report.rejected {
        let id =
            r.id.as_deref()
                .map(|i| format!(" (id {i})"))
                .unwrap_or_default();
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
