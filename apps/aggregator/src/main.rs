//! The `aggregator` binary.
#![forbid(unsafe_code)]
#![allow(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "std application"
)]

use std::process::ExitCode;

use aggregator::{app, config, demo};
use clap::Parser;
use voltwire_runtime::app::{App, say};

/// Many batteries as one Victron Venus OS battery on D-Bus: follows the
/// com.victronenergy.battery.* services matching a keyword and publishes their aggregate.
#[derive(Debug, Parser)]
#[command(name = "aggregator", version)]
struct Cli {
    /// --config, --check-config, --init, --force.
    #[command(flatten)]
    cfg: voltwire_runtime::app::ConfigArgs,

    /// Start a private dbus-daemon with three simulated batteries and print the aggregate
    /// once per second (battery 3 leaves after 8 s and returns after 16 s).
    #[arg(long, conflicts_with = "config")]
    demo: bool,

    /// With --demo: stop after this many seconds.
    #[arg(long, value_name = "S", requires = "demo")]
    duration: Option<u64>,

    /// More logging (-v info, -vv debug); `RUST_LOG` wins.
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

/// This app's name on its messages, and its exit codes.
const APP: App = App("aggregator");

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = voltwire_runtime::logging::init(cli.verbose) {
        say(&format!("aggregator: logging: {e}"));
    }
    if let Some(path) = &cli.cfg.init {
        return APP.init(path, config::TEMPLATE, cli.cfg.force, false);
    }
    if let Some(path) = &cli.cfg.check_config {
        return match config::load(path) {
            Ok(c) => APP.print(&format!(
                "{}: configuration is valid (com.victronenergy.battery.{}, keyword \"{}\", {} batteries expected)\n",
                path.display(),
                c.name,
                c.keyword,
                c.aggregate.expected
            )),
            Err(e) => APP.fail(&e.to_string()),
        };
    }
    let cfg = if cli.demo {
        None
    } else {
        let Some(path) = &cli.cfg.config else {
            return APP.fail("give --config FILE (write one with --init FILE), or try --demo");
        };
        match config::load(path) {
            Ok(c) => Some(c),
            Err(e) => return APP.fail(&e.to_string()),
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            say(&format!("aggregator: cannot start the runtime: {e}"));
            return ExitCode::from(1);
        }
    };
    let stop: std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> = {
        let _rt = rt.enter();
        match voltwire_runtime::signal::Signals::register() {
            Ok(s) => Box::pin(s.stop()),
            Err(e) => {
                say(&format!(
                    "aggregator: cannot handle signals ({e}); stop with SIGKILL"
                ));
                Box::pin(std::future::pending())
            }
        }
    };
    match cfg {
        None => {
            let dir = std::env::temp_dir().join(format!("aggregator-demo-{}", std::process::id()));
            if let Err(e) = std::fs::create_dir_all(&dir) {
                return APP.fail(&format!("{}: {e}", dir.display()));
            }
            let r = rt.block_on(demo::demo(&dir, cli.duration, stop));
            let _ = std::fs::remove_dir_all(&dir);
            match r {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    say(&format!("aggregator: {e}"));
                    ExitCode::from(1)
                }
            }
        }
        Some(c) => {
            rt.block_on(app::run(app::App::new(c), stop));
            ExitCode::SUCCESS
        }
    }
}
