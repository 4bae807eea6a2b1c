//! The `zero-feed-in` binary.
#![forbid(unsafe_code)]
#![allow(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "std application"
)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use zero_feed_in::config::{File, TEMPLATE};

/// Meter-driven charge and discharge for zero grid export, with a watchdog on its own clock.
#[derive(Debug, Parser)]
#[command(name = "zero-feed-in", version)]
struct Cli {
    /// Run with this configuration file (TOML; see --init).
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Check a configuration file and exit (0 = valid, 2 = invalid).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["config", "init", "demo"])]
    check_config: Option<PathBuf>,

    /// Write a commented configuration template to FILE and exit.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["config", "demo"])]
    init: Option<PathBuf>,

    /// With --init: overwrite an existing file.
    #[arg(long, requires = "init")]
    force: bool,

    /// Run an in-process house, meter, BIC-2200 and BMS at ×10, one status line per second.
    #[arg(long, conflicts_with = "config")]
    demo: bool,

    /// With --demo: stop after this many (real) seconds.
    #[arg(long, value_name = "S", requires = "demo")]
    duration: Option<u64>,

    /// More logging (-v info, -vv debug); `RUST_LOG` wins.
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

fn say(line: &str) {
    voltwire_runtime::logging::stderr_line(format_args!("{line}"));
}

fn fail(msg: &str) -> ExitCode {
    say(&format!("zero-feed-in: {msg}"));
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(path) = &cli.init {
        return match voltwire_runtime::config::write_template(path, TEMPLATE, cli.force) {
            Ok(()) => {
                say(&format!("wrote {}", path.display()));
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e.to_string()),
        };
    }
    if let Some(path) = &cli.check_config {
        return match File::load(path) {
            Ok(_) => {
                say(&format!("{}: configuration is valid", path.display()));
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        };
    }
    if let Err(e) = voltwire_runtime::logging::init(cli.verbose) {
        say(&format!("zero-feed-in: logging: {e}"));
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    let signals = rt.block_on(async { voltwire_runtime::signal::Signals::register() });
    let stop = async move {
        match signals {
            Ok(s) => s.stop().await,
            Err(e) => {
                tracing::error!(error = %e, "cannot handle signals; stop with SIGKILL");
                std::future::pending::<()>().await;
            }
        }
    };
    if cli.demo {
        let duration = cli.duration.map(std::time::Duration::from_secs);
        rt.block_on(zero_feed_in::demo::run(duration, stop));
        return ExitCode::SUCCESS;
    }
    let Some(path) = &cli.config else {
        return fail("give --config FILE (see --init), --check-config FILE or --demo");
    };
    let settings = match File::load(path) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    match rt.block_on(zero_feed_in::app::run(settings, stop)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say(&format!("zero-feed-in: {e}"));
            ExitCode::from(1)
        }
    }
}
