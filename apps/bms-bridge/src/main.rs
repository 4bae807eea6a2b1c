//! The `bms-bridge` binary.
#![forbid(unsafe_code)]
#![allow(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "std application"
)]

use std::process::ExitCode;

use bms_bridge::config::{Settings, template_with_token};
use clap::Parser;
use voltwire_runtime::app::{App, say};

/// A BMS, a SmartShunt and VE.Direct solar chargers to MQTT, switching two load relays and
/// an active balancer under latched safety rules.
#[derive(Debug, Parser)]
#[command(name = "bms-bridge", version)]
struct Cli {
    /// --config, --check-config, --init, --force.
    #[command(flatten)]
    cfg: voltwire_runtime::app::ConfigArgs,

    /// A simulated Daly, two MPPTs and a SmartShunt on one plant through a day at x120,
    /// one status line per simulated 10 minutes.
    #[arg(long, conflicts_with = "config")]
    demo: bool,

    /// With --demo: stop after this many real seconds (default: the whole day, 720 s).
    #[arg(long, value_name = "S", requires = "demo")]
    duration: Option<u64>,

    /// Serve the status page on this port: with --demo instead of 8080 (0: any free port),
    /// with --config instead of web.port (needs an enabled [web] section).
    #[arg(long, value_name = "PORT", conflicts_with_all = ["check_config", "init"])]
    web_port: Option<u16>,

    /// More logging (-v info, -vv debug); `RUST_LOG` wins.
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

/// This app's name on its messages, and its exit codes.
const APP: App = App("bms-bridge");

#[cfg(feature = "demo")]
fn demo(
    duration: Option<u64>,
    web_port: Option<u16>,
    stop: impl std::future::Future<Output = ()>,
) -> impl std::future::Future<Output = Result<(), String>> {
    bms_bridge::demo::run(
        duration.map(std::time::Duration::from_secs),
        Some(web_port.unwrap_or(DEMO_WEB_PORT)),
        stop,
        |line| {
            let _ = APP.print(&format!("{line}\n"));
        },
    )
}

/// The demo's web port unless `--web-port` gives another.
#[cfg(feature = "demo")]
const DEMO_WEB_PORT: u16 = 8080;

#[cfg(not(feature = "demo"))]
fn demo(
    _duration: Option<u64>,
    _web_port: Option<u16>,
    _stop: impl std::future::Future<Output = ()>,
) -> impl std::future::Future<Output = Result<(), String>> {
    async { Err("this build has no --demo; rebuild with the default features".to_owned()) }
}

/// `--init FILE`: the template with a fresh web token, readable by its owner only.
fn init(path: &std::path::Path, force: bool) -> ExitCode {
    match template_with_token() {
        Ok(template) => APP.init(path, &template, force, true),
        Err(e) => APP.fail(&e),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = voltwire_runtime::logging::init(cli.verbose) {
        say(&format!("bms-bridge: logging: {e}"));
    }
    if let Some(path) = &cli.cfg.init {
        return init(path, cli.cfg.force);
    }
    if let Some(path) = &cli.cfg.check_config {
        return match Settings::load(path) {
            Ok(s) => APP.print(&format!(
                "{}: configuration is valid ({}, {} shunt, {} charger(s), {} sensor(s){}{}){}\n",
                path.display(),
                s.bms.kind.name(),
                if s.shunt.is_some() { "a" } else { "no" },
                s.chargers.len(),
                s.onewire.as_ref().map_or(0, |w| w.ids.len()),
                if s.mqtt.is_some() { ", MQTT" } else { "" },
                s.web.as_ref().map_or_else(String::new, |w| format!(
                    ", web on {}:{}{}",
                    w.bind,
                    w.port,
                    if w.token.is_some() {
                        " with commands"
                    } else {
                        ", read-only"
                    }
                )),
                if matches!(s.bms.kind, bms_bridge::config::BmsKind::Pylontech { .. }) {
                    "\nwarning: pylontech-rs485 has no charge-MOSFET command: the temperature latches cannot stop charging through the BMS"
                } else {
                    ""
                }
            )),
            Err(e) => APP.fail(&e),
        };
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            say(&format!("bms-bridge: cannot start the runtime: {e}"));
            return ExitCode::from(1);
        }
    };
    let signals = {
        let _rt = rt.enter();
        voltwire_runtime::signal::Signals::register()
    };
    let stop: std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> = match signals {
        Ok(s) => Box::pin(s.stop()),
        Err(e) => {
            say(&format!(
                "bms-bridge: cannot handle signals ({e}); stop with SIGKILL"
            ));
            Box::pin(std::future::pending())
        }
    };
    let result = if cli.demo {
        rt.block_on(demo(cli.duration, cli.web_port, stop))
    } else {
        let Some(path) = &cli.cfg.config else {
            return APP.fail("give --config FILE (write one with --init FILE), or try --demo");
        };
        let mut settings = match Settings::load(path) {
            Ok(s) => s,
            Err(e) => return APP.fail(&e),
        };
        if let Some(port) = cli.web_port {
            match &mut settings.web {
                Some(w) => w.port = port,
                None => {
                    return APP.fail(
                        "--web-port needs the status page on: set enabled = true in the [web] section (bms-bridge --init writes one)",
                    );
                }
            }
        }
        tracing::info!("bms-bridge starting");
        rt.block_on(bms_bridge::app::run(settings, stop))
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say(&format!("bms-bridge: {e}"));
            ExitCode::from(1)
        }
    }
}
