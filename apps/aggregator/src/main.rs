//! The `aggregator` binary.
#![forbid(unsafe_code)]
#![allow(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "std application"
)]

use std::path::PathBuf;
use std::process::ExitCode;

use aggregator::{app, config, demo};
use clap::Parser;

/// Many batteries as one Victron Venus OS battery on D-Bus: follows the
/// com.victronenergy.battery.* services matching a keyword and publishes their aggregate.
#[derive(Debug, Parser)]
#[command(name = "aggregator", version)]
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
            say(&format!("aggregator: cannot write to stdout: {e}"));
            ExitCode::from(1)
        }
    }
}

fn fail(msg: &str) -> ExitCode {
    say(&format!("aggregator: {msg}"));
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = voltwire_runtime::logging::init(cli.verbose) {
        say(&format!("aggregator: logging: {e}"));
    }
    if let Some(path) = &cli.init {
        return match voltwire_runtime::config::write_template(path, config::TEMPLATE, cli.force) {
            Ok(()) => print(&format!(
                "{}: template written; edit it, then run aggregator --check-config {}\n",
                path.display(),
                path.display()
            )),
            Err(e) => fail(&e.to_string()),
        };
    }
    if let Some(path) = &cli.check_config {
        return match config::load(path) {
            Ok(c) => print(&format!(
                "{}: configuration is valid (com.victronenergy.battery.{}, keyword \"{}\", {} batteries expected)\n",
                path.display(),
                c.name,
                c.keyword,
                c.aggregate.expected
            )),
            Err(e) => fail(&e.to_string()),
        };
    }
    let cfg = if cli.demo {
        None
    } else {
        let Some(path) = &cli.config else {
            return fail("give --config FILE (write one with --init FILE), or try --demo");
        };
        match config::load(path) {
            Ok(c) => Some(c),
            Err(e) => return fail(&e.to_string()),
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
                return fail(&format!("{}: {e}", dir.display()));
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
