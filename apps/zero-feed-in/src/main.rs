//! The `zero-feed-in` binary.
#![forbid(unsafe_code)]
#![allow(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "std application"
)]

use std::process::ExitCode;

use clap::Parser;
use voltwire_runtime::app::{App, say};
use zero_feed_in::config::{File, template_with_token};

/// Meter-driven charge and discharge for zero grid export, with a watchdog on its own clock.
#[derive(Debug, Parser)]
#[command(name = "zero-feed-in", version)]
struct Cli {
    /// --config, --check-config, --init, --force.
    #[command(flatten)]
    cfg: voltwire_runtime::app::ConfigArgs,

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

/// This app's name on its messages, and its exit codes.
const APP: App = App("zero-feed-in");

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(path) = &cli.cfg.init {
        // The template holds a fresh random web token: the file is made private.
        return match template_with_token() {
            Ok(template) => match APP.write_template(path, &template, cli.cfg.force, true) {
                Ok(()) => {
                    say(&format!("wrote {}", path.display()));
                    ExitCode::SUCCESS
                }
                Err(code) => code,
            },
            Err(e) => APP.fail(&e),
        };
    }
    if let Some(path) = &cli.cfg.check_config {
        return match File::load(path) {
            Ok(_) => {
                say(&format!("{}: configuration is valid", path.display()));
                ExitCode::SUCCESS
            }
            Err(e) => APP.fail(&e),
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
        Err(e) => return APP.fail(&format!("cannot start the runtime: {e}")),
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
    let Some(path) = &cli.cfg.config else {
        return APP.fail("give --config FILE (see --init), --check-config FILE or --demo");
    };
    let settings = match File::load(path) {
        Ok(s) => s,
        Err(e) => return APP.fail(&e),
    };
    match rt.block_on(zero_feed_in::app::run(settings, stop)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say(&format!("zero-feed-in: {e}"));
            ExitCode::from(1)
        }
    }
}
