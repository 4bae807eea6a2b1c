//! The `can-gateway` binary.
#![forbid(unsafe_code)]
#![allow(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "std application"
)]

use std::process::ExitCode;

use can_gateway::app::{self, Hooks};
use can_gateway::config::{self, Config};
use clap::Parser;
use voltwire_runtime::app::{App, say};

/// n Pylontech-CAN batteries x m inverters: combines the BMSes into one virtual battery and
/// presents it to every inverter with its own limits, with MQTT telemetry and set points.
#[derive(Debug, Parser)]
#[command(name = "can-gateway", version)]
struct Cli {
    /// --config, --check-config, --init, --force.
    #[command(flatten)]
    cfg: voltwire_runtime::app::ConfigArgs,

    /// Run with simulated BMSes and inverters on in-process buses, printing a status line
    /// every second.
    #[arg(long, conflicts_with = "config")]
    demo: bool,

    /// With --demo: stop after this many seconds.
    #[arg(long, value_name = "S", requires = "demo", conflicts_with_all = ["config", "check_config", "init"])]
    duration: Option<u64>,

    /// With --demo: also publish telemetry to this MQTT broker (mqtt://host:port).
    #[arg(long, value_name = "URL", requires = "demo", conflicts_with_all = ["config", "check_config", "init"])]
    mqtt: Option<String>,

    /// The status page's port: with --demo (default 8080; 0 = any free port, printed), or
    /// with --config instead of web.port (needs an enabled [web] section).
    #[arg(long, value_name = "PORT", conflicts_with_all = ["check_config", "init"])]
    web_port: Option<u16>,

    /// More logging (-v info, -vv debug); `RUST_LOG` wins.
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

/// This app's name on its messages, and its exit codes.
const APP: App = App("can-gateway");

/// Run `body` on `rt` until it ends, with the stop future of `signals`.
fn with_signals<F, Fut>(
    rt: &tokio::runtime::Runtime,
    signals: std::io::Result<voltwire_runtime::signal::Signals>,
    body: F,
) -> Result<(), String>
where
    F: FnOnce(std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let stop: std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> = match signals {
        Ok(s) => Box::pin(s.stop()),
        Err(e) => {
            tracing::error!(error = %e, "cannot handle signals; stop with SIGKILL");
            Box::pin(std::future::pending())
        }
    };
    rt.block_on(body(stop))
}

/// `--demo` (feature `demo`, on by default).
#[cfg(feature = "demo")]
fn run_demo(
    cli: &Cli,
    rt: &tokio::runtime::Runtime,
    signals: std::io::Result<voltwire_runtime::signal::Signals>,
) -> ExitCode {
    use can_gateway::demo;
    let duration = cli.duration.map(std::time::Duration::from_secs);
    let mqtt = cli.mqtt.clone();
    let mut failed = None;
    let r = with_signals(rt, signals, |stop| async {
        demo::run(duration, mqtt, cli.web_port, stop)
            .await
            .map_err(|e| {
                failed = Some(if matches!(e, demo::DemoError::Usage(_)) {
                    2
                } else {
                    1
                });
                e.to_string()
            })
    });
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say(&format!("can-gateway: {e}"));
            ExitCode::from(failed.unwrap_or(1))
        }
    }
}

/// `--demo` in a build without the `demo` feature.
#[cfg(not(feature = "demo"))]
fn run_demo(
    _cli: &Cli,
    _rt: &tokio::runtime::Runtime,
    _signals: std::io::Result<voltwire_runtime::signal::Signals>,
) -> ExitCode {
    APP.fail("this build has no --demo; rebuild with the default features (`--features demo`)")
}

/// `--init FILE`: the template with a fresh web token, readable by its owner only.
fn init(path: &std::path::Path, force: bool) -> ExitCode {
    match config::template_with_token() {
        Ok(template) => APP.init(path, &template, force, true),
        Err(e) => APP.fail(&e),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = voltwire_runtime::logging::init(cli.verbose) {
        say(&format!("can-gateway: logging: {e}"));
    }
    if let Some(path) = &cli.cfg.init {
        return init(path, cli.cfg.force);
    }
    if let Some(path) = &cli.cfg.check_config {
        return match Config::load(path) {
            Ok(s) => {
                let mut text = format!(
                    "{}: configuration is valid ({} inputs, {} outputs{}{})\n",
                    path.display(),
                    s.inputs.len(),
                    s.outputs.len(),
                    if s.mqtt.is_some() { ", MQTT" } else { "" },
                    s.web.as_ref().map_or_else(String::new, |w| format!(
                        ", web on {}:{}{}",
                        w.bind,
                        w.port,
                        if w.token.is_some() {
                            " with control"
                        } else {
                            ", read-only"
                        }
                    ))
                );
                for w in &s.warnings {
                    text.push_str("warning: ");
                    text.push_str(w);
                    text.push('\n');
                }
                APP.print(&text)
            }
            Err(e) => APP.fail(&e),
        };
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            say(&format!("can-gateway: cannot start the runtime: {e}"));
            return ExitCode::from(1);
        }
    };
    // Registered before the configuration is read, so a SIGHUP from now on never ends the
    // process.
    let signals = {
        let _rt = rt.enter();
        voltwire_runtime::signal::Signals::register()
    };
    if cli.demo {
        return run_demo(&cli, &rt, signals);
    }
    let Some(path) = &cli.cfg.config else {
        return APP.fail("give --config FILE (write one with --init FILE), or try --demo");
    };
    let mut settings = match Config::load(path) {
        Ok(s) => s,
        Err(e) => return APP.fail(&e),
    };
    if let Some(port) = cli.web_port {
        match &mut settings.web {
            Some(w) => w.port = port,
            None => {
                return APP.fail(
                    "--web-port needs the status page on: add a [web] section (enabled = true) to the configuration",
                );
            }
        }
    }
    tracing::info!(
        inputs = settings.inputs.len(),
        outputs = settings.outputs.len(),
        "can-gateway starting"
    );
    match with_signals(&rt, signals, |stop| {
        app::run(settings, Hooks::default(), stop)
    }) {
        Ok(()) => {
            tracing::info!("can-gateway stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            say(&format!("can-gateway: {e}"));
            ExitCode::from(1)
        }
    }
}
