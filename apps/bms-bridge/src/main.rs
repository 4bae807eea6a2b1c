//! The `bms-bridge` binary.
#![forbid(unsafe_code)]
#![allow(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "std application"
)]

use std::path::PathBuf;
use std::process::ExitCode;

use bms_bridge::config::{Settings, template_with_token};
use clap::Parser;

/// A BMS, a SmartShunt and VE.Direct solar chargers to MQTT, switching two load relays and
/// an active balancer under latched safety rules.
#[derive(Debug, Parser)]
#[command(name = "bms-bridge", version)]
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

fn say(line: &str) {
    voltwire_runtime::logging::stderr_line(format_args!("{line}"));
}

fn print(text: &str) -> ExitCode {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            say(&format!("bms-bridge: cannot write to stdout: {e}"));
            ExitCode::from(1)
        }
    }
}

fn fail(msg: &str) -> ExitCode {
    say(&format!("bms-bridge: {msg}"));
    ExitCode::from(2)
}

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
            let _ = print(&format!("{line}\n"));
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
    let template = match template_with_token() {
        Ok(t) => t,
        Err(e) => return fail(&e),
    };
    match voltwire_runtime::config::write_template(path, &template, force) {
        Ok(()) => {
            // It holds the web token: owner only.
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                if let Err(e) =
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                {
                    say(&format!(
                        "bms-bridge: warning: cannot make {} private ({e}); it holds the web token",
                        path.display()
                    ));
                }
            }
            print(&format!(
                "{}: template written (with a random web token); edit it, then run bms-bridge --check-config {}\n",
                path.display(),
                path.display()
            ))
        }
        Err(e) => fail(&e.to_string()),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = voltwire_runtime::logging::init(cli.verbose) {
        say(&format!("bms-bridge: logging: {e}"));
    }
    if let Some(path) = &cli.init {
        return init(path, cli.force);
    }
    if let Some(path) = &cli.check_config {
        return match Settings::load(path) {
            Ok(s) => print(&format!(
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
            Err(e) => fail(&e),
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
        let Some(path) = &cli.config else {
            return fail("give --config FILE (write one with --init FILE), or try --demo");
        };
        let mut settings = match Settings::load(path) {
            Ok(s) => s,
            Err(e) => return fail(&e),
        };
        if let Some(port) = cli.web_port {
            match &mut settings.web {
                Some(w) => w.port = port,
                None => {
                    return fail(
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
