//! The `citygrid` command: parses the command line and calls the library.

use std::process::ExitCode;

use citygrid::app;
use citygrid::config::{Cli, Command, Config, LogFormat};
use clap::Parser as _;

/// mimalloc rather than the system allocator: a request allocates and frees dozens of small
/// blocks on whichever worker thread runs it, where glibc's malloc spent about a third of the
/// server's CPU time under load (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: starting the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    let code = runtime.block_on(run(cli));
    // Work still running on blocking threads (a heavy analysis) must not hold the exit once
    // `serve` has passed its shutdown deadline.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    code
}

async fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Serve(args) => {
            app::init_logging(&args.log, args.log_format);
            match Config::from_args(&args) {
                Ok(config) => app::serve(config).await.map(|()| true),
                Err(e) => Err(e.into()),
            }
        }
        Command::Import(args) => {
            app::init_logging(&args.log, LogFormat::Text);
            app::import(args).await
        }
        Command::DemoData(args) => app::demo_data(&args).map(|()| true),
        Command::User(args) => {
            app::init_logging("warn", LogFormat::Text);
            app::user(args).await
        }
        Command::Apikey(args) => {
            app::init_logging("warn", LogFormat::Text);
            app::apikey(args).await
        }
        Command::Unit(args) => {
            app::init_logging("warn", LogFormat::Text);
            app::unit(args).await
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
