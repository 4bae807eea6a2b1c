//! The `pace2pylon` binary.
#![forbid(unsafe_code)]
#![allow(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "std application"
)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use pace2pylon::config::{Config, TEMPLATE};

/// Many Pace packs (each on its own port) presented to an inverter as one Pylontech RS485
/// battery, with a supervisor and a rebalancing cycle.
#[derive(Debug, Parser)]
#[command(name = "pace2pylon", version)]
struct Cli {
    /// Run with this configuration file (TOML; see --init).
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Check a configuration file and exit (0 = valid).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["config", "init", "demo"])]
    check_config: Option<PathBuf>,
    /// Write a commented configuration template to FILE and exit.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["config", "demo"])]
    init: Option<PathBuf>,
    /// With --init: overwrite an existing file.
    #[arg(long, requires = "init")]
    force: bool,
    /// Run with 12 simulated packs on TCP ports and a simulated inverter, one status line
    /// per second; pack 3 drops out at 20 s and returns.
    #[arg(long, conflicts_with = "config")]
    demo: bool,
    /// With --demo: stop after this many seconds.
    #[arg(long, value_name = "S", requires = "demo")]
    duration: Option<u64>,
    /// With --demo: answer an external inverter on this link (`serial:///dev/…` or
    /// `tcp://host:port`) instead of the simulated one.
    #[arg(long, value_name = "URL", requires = "demo")]
    inverter: Option<String>,
}

fn say(line: &str) {
    voltwire_runtime::logging::stderr_line(format_args!("{line}"));
}

fn fail(msg: &str) -> ExitCode {
    say(&format!("pace2pylon: {msg}"));
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
        return match Config::load(path) {
            Ok(s) => {
                say(&format!(
                    "{}: valid ({} packs)",
                    path.display(),
                    s.pack_links.len()
                ));
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        };
    }
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    else {
        return fail("cannot start the tokio runtime");
    };
    #[cfg(feature = "demo")]
    if cli.demo {
        return match rt.block_on(pace2pylon::demo::run(cli.duration, cli.inverter.clone())) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&format!("demo: {e}")),
        };
    }
    let Some(path) = &cli.config else {
        return fail("give --config FILE (or --init FILE to write a template, --demo to try it)");
    };
    let settings = match Config::load(path) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    rt.block_on(async {
        let signals = match voltwire_runtime::signal::Signals::register() {
            Ok(s) => s,
            Err(e) => return fail(&format!("signals: {e}")),
        };
        let (_handles, run) = match pace2pylon::app::start(settings) {
            Ok(x) => x,
            Err(e) => return fail(&e.to_string()),
        };
        tokio::select! {
            () = signals.stop() => ExitCode::SUCCESS,
            r = run => match r {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&e.to_string()),
            },
        }
    })
}
