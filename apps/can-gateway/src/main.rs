//! The `can-gateway` binary.
#![forbid(unsafe_code)]
#![allow(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "std application"
)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use can_gateway::app::{self, Hooks};
use can_gateway::config::{self, Config};
use can_gateway::demo;
use clap::Parser;

/// n Pylontech-CAN batteries x m inverters: combines the BMSes into one virtual battery and
/// presents it to every inverter with its own limits, with MQTT telemetry and set points.
#[derive(Debug, Parser)]
#[command(name = "can-gateway", version)]
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

    /// Run with simulated BMSes and inverters on in-process buses, printing a status line
    /// every second.
    #[arg(long, conflicts_with = "config")]
    demo: bool,

    /// With --demo: stop after this many seconds.
    #[arg(long, value_name = "S", requires = "demo")]
    duration: Option<u64>,

    /// With --demo: also publish telemetry to this MQTT broker (mqtt://host:port).
    #[arg(long, value_name = "URL", requires = "demo")]
    mqtt: Option<String>,

    /// More logging (-v info, -vv debug); `RUST_LOG` wins.
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("can-gateway: {msg}");
    ExitCode::from(2)
}

/// The signals the gateway handles, registered once at start-up (before this, SIGHUP would
/// end the process with status 129).
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn register() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// Resolves on SIGTERM or SIGINT; SIGHUP is logged and ignored (the configuration is
    /// read once, at start).
    async fn stop(mut self) {
        loop {
            tokio::select! {
                _ = self.term.recv() => {
                    tracing::info!("SIGTERM: stopping");
                    return;
                }
                _ = self.int.recv() => {
                    tracing::info!("SIGINT: stopping");
                    return;
                }
                _ = self.hup.recv() => {
                    tracing::info!("SIGHUP ignored; restart to apply a changed configuration");
                }
            }
        }
    }
}

/// Run `body` on `rt` until it ends, with the stop future of `signals`.
fn with_signals<F, Fut>(
    rt: &tokio::runtime::Runtime,
    signals: std::io::Result<Signals>,
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = voltwire_runtime::logging::init(cli.verbose) {
        eprintln!("can-gateway: logging: {e}");
    }
    if let Some(path) = &cli.init {
        return match voltwire_runtime::config::write_template(path, config::TEMPLATE, cli.force) {
            Ok(()) => {
                println!(
                    "{}: template written; edit it, then run can-gateway --check-config {}",
                    path.display(),
                    path.display()
                );
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e.to_string()),
        };
    }
    if let Some(path) = &cli.check_config {
        return match Config::load(path) {
            Ok(s) => {
                println!(
                    "{}: configuration is valid ({} inputs, {} outputs{})",
                    path.display(),
                    s.inputs.len(),
                    s.outputs.len(),
                    if s.mqtt.is_some() { ", MQTT" } else { "" }
                );
                for w in &s.warnings {
                    println!("warning: {w}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        };
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("can-gateway: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    // Registered before the configuration is read, so a SIGHUP from now on never ends the
    // process.
    let signals = {
        let _rt = rt.enter();
        Signals::register()
    };
    if cli.demo {
        let duration = cli.duration.map(Duration::from_secs);
        let mqtt = cli.mqtt.clone();
        return match with_signals(&rt, signals, |stop| demo::run(duration, mqtt, stop)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e),
        };
    }
    let Some(path) = &cli.config else {
        return fail("give --config FILE (write one with --init FILE), or try --demo");
    };
    let settings = match Config::load(path) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
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
            eprintln!("can-gateway: {e}");
            ExitCode::from(1)
        }
    }
}
