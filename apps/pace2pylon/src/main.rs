//! The `pace2pylon` binary.
#![forbid(unsafe_code)]
#![allow(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "std application"
)]

use std::process::ExitCode;

use clap::Parser;
use pace2pylon::config::{Config, TEMPLATE};
use voltwire_runtime::app::{App, say};

/// Many Pace packs (each on its own port) presented to an inverter as one Pylontech RS485
/// battery, with a supervisor and a rebalancing cycle.
#[derive(Debug, Parser)]
#[command(name = "pace2pylon", version)]
struct Cli {
    /// --config, --check-config, --init, --force.
    #[command(flatten)]
    cfg: voltwire_runtime::app::ConfigArgs,
    /// Run the installation of examples/scenes/pace2pylon.toml (12 simulated packs on TCP
    /// ports, a coulomb meter) with a simulated inverter, one status line per second;
    /// pack4's port drops at 20 s and returns at 35 s.
    #[arg(long, conflicts_with = "config")]
    demo: bool,
    /// With --demo: stop after this many seconds.
    #[arg(long, value_name = "S", requires = "demo")]
    duration: Option<u64>,
    /// With --demo: answer an external inverter on this link (`serial:///dev/…` or
    /// `tcp://host:port`) instead of the simulated one.
    #[arg(long, value_name = "URL", requires = "demo")]
    inverter: Option<String>,
    /// With --demo: the status page's port on 127.0.0.1 (default 8080; 0: any free port).
    #[arg(long, value_name = "PORT", requires = "demo")]
    web_port: Option<u16>,
}

/// This app's name on its messages, and its exit codes.
const APP: App = App("pace2pylon");

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(path) = &cli.cfg.init {
        return match APP.write_template(path, TEMPLATE, cli.cfg.force, false) {
            Ok(()) => {
                say(&format!("wrote {}", path.display()));
                ExitCode::SUCCESS
            }
            Err(code) => code,
        };
    }
    if let Some(path) = &cli.cfg.check_config {
        return match Config::load(path) {
            Ok(s) => {
                say(&format!(
                    "{}: valid ({} packs)",
                    path.display(),
                    s.pack_links.len()
                ));
                ExitCode::SUCCESS
            }
            Err(e) => APP.fail(&e),
        };
    }
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    else {
        return APP.fail("cannot start the tokio runtime");
    };
    #[cfg(feature = "demo")]
    if cli.demo {
        return match rt.block_on(pace2pylon::demo::run(
            cli.duration,
            cli.inverter.clone(),
            cli.web_port,
        )) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => APP.fail(&format!("demo: {e}")),
        };
    }
    let Some(path) = &cli.cfg.config else {
        return APP
            .fail("give --config FILE (or --init FILE to write a template, --demo to try it)");
    };
    let settings = match Config::load(path) {
        Ok(s) => s,
        Err(e) => return APP.fail(&e),
    };
    rt.block_on(async {
        let signals = match voltwire_runtime::signal::Signals::register() {
            Ok(s) => s,
            Err(e) => return APP.fail(&format!("signals: {e}")),
        };
        let (_handles, run) = match pace2pylon::app::start(settings) {
            Ok(x) => x,
            Err(e) => return APP.fail(&e.to_string()),
        };
        tokio::select! {
            () = signals.stop() => ExitCode::SUCCESS,
            r = run => match r {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => APP.fail(&e.to_string()),
            },
        }
    })
}
