//! `voltwire sim`: a simulated device from `voltwire-sim` behind a pseudo-terminal or a TCP
//! listener, in real time (or `--speed` times faster).
//!
//! The first stdout line is `{"listening": "<pty path or address>"}`; then it serves until
//! SIGINT/SIGTERM, which end it with status 0.

use std::io::{self, Write as _};
use std::os::fd::OwnedFd;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::sys::termios::{self, FlushArg, SetArg};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio::net::unix::pipe;
use voltwire_core::Watts;
use voltwire_sim::device::{
    DalyBms, JkBms, JkPb, PaceStack, PylontechStack, VeDirect, VeDirectKind,
};
use voltwire_sim::{PackConfig, Plant, PlantCommand, SerialResponder, SimClock};

#[path = "sim_modbus.rs"]
mod modbus;
#[path = "sim_can.rs"]
mod sim_can;

#[path = "sim_meter.rs"]
mod sim_meter;

#[derive(Debug, Args)]
pub(crate) struct SimArgs {
    /// Device to simulate (see --list).
    #[arg(required_unless_present = "list")]
    device: Option<String>,

    /// Where to serve: `pty` (a new pseudo-terminal; its path is printed) or
    /// `tcp://HOST:PORT` (port 0 picks a free one; one client at a time); the meter takes
    /// `http://HOST:PORT`.
    #[arg(
        long,
        value_name = "pty|tcp://HOST:PORT|http://HOST:PORT",
        required_unless_present = "list"
    )]
    listen: Option<String>,

    /// Cells in series per pack.
    #[arg(long, value_name = "N")]
    cells: Option<usize>,

    /// Modules in the stack (pylontech-rs485: addresses 2, 3, …; pace: packs at 1, 2, …).
    #[arg(long, value_name = "N")]
    modules: Option<usize>,

    /// State of charge at start, in percent (0–100).
    #[arg(long, value_name = "PCT")]
    soc: Option<f64>,

    /// Charger power into the batteries, W.
    #[arg(long, value_name = "W")]
    charge: Option<i32>,

    /// Discharge (inverter) power out of the batteries, W.
    #[arg(long, value_name = "W")]
    discharge: Option<i32>,

    /// DC PV power through the MPPT into the batteries, W (meter: AC PV seen by the meter).
    #[arg(long, value_name = "W")]
    pv: Option<i32>,

    /// Bus address the device answers on (jk-pb: its DIP switches, 1–255; lumentree,
    /// coulombmeter: Modbus slave address, 1–247; default 1).
    #[arg(long, value_name = "N")]
    address: Option<u8>,

    /// Run the plant this many times faster than real time.
    #[arg(long, value_name = "N", default_value_t = 1.0)]
    speed: f64,

    /// Inject a fault (repeatable): silent, late, garbage, bad-checksum, drop,
    /// cell-overvoltage, over-temperature.
    #[arg(long = "fault", value_name = "FAULT")]
    faults: Vec<String>,

    /// How late `--fault late` answers, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    delay_ms: u64,

    /// With `--fault drop`: serve normally for this many seconds before the port goes away.
    #[arg(long, value_name = "S", default_value_t = 0.0)]
    drop_after: f64,

    /// With `--fault drop`: the port comes back after this many seconds (default: never).
    /// A pty is then announced as a stable symlink that disappears while the port is gone
    /// and points to the new pty afterwards (like /dev/serial/by-id on a USB replug); TCP
    /// refuses connections while gone and listens on the same address again afterwards.
    #[arg(long, value_name = "S")]
    drop_for: Option<f64>,

    /// List the devices with their options and exit.
    #[arg(long)]
    list: bool,

    #[command(flatten)]
    can: sim_can::CanArgs,

    #[command(flatten)]
    meter: Box<sim_meter::MeterArgs>,
}

/// An option a device may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opt {
    Cells,
    Modules,
    Soc,
    Charge,
    Discharge,
    Pv,
    Address,
}

impl Opt {
    const fn flag(self) -> &'static str {
        match self {
            Self::Cells => "--cells",
            Self::Modules => "--modules",
            Self::Soc => "--soc",
            Self::Charge => "--charge",
            Self::Discharge => "--discharge",
            Self::Pv => "--pv",
            Self::Address => "--address",
        }
    }
}

/// One simulated device the command offers.
#[derive(Debug)]
struct Device {
    name: &'static str,
    description: &'static str,
    options: &'static [Opt],
    /// Default cells per pack.
    cells: usize,
}

const COMMON: &[Opt] = &[Opt::Cells, Opt::Soc, Opt::Charge, Opt::Discharge];

const DEVICES: &[Device] = &[
    Device {
        name: "daly",
        description: "Daly BMS (UART/RS485, 9600 8N1), host requests answered from address 0x01",
        options: COMMON,
        cells: 16,
    },
    Device {
        name: "jk",
        description: "JK BMS, RS485/UART \"4E 57\" protocol (115200 8N1): read-all answered, MOSFET writes applied",
        options: COMMON,
        cells: 16,
    },
    Device {
        name: "jk-pb",
        description: "JK-PB inverter BMS on RS485 (115200 8N1): trigger blocks 55AA EB90 and Modbus FC 0x03/0x10 registers",
        options: &[
            Opt::Cells,
            Opt::Soc,
            Opt::Charge,
            Opt::Discharge,
            Opt::Address,
        ],
        cells: 16,
    },
    Device {
        name: "pace",
        description: "Pace BMS packs, RS485 protocol v25 (9600 8N1), packs at addresses 1, 2, …",
        options: &[
            Opt::Cells,
            Opt::Modules,
            Opt::Soc,
            Opt::Charge,
            Opt::Discharge,
        ],
        cells: 16,
    },
    Device {
        name: "pylontech-rs485",
        description: "Pylontech battery stack, RS485 protocol 0x20 (slave side), modules at 2, 3, …",
        options: &[
            Opt::Cells,
            Opt::Modules,
            Opt::Soc,
            Opt::Charge,
            Opt::Discharge,
        ],
        cells: 15,
    },
    Device {
        name: "vedirect-mppt",
        description: "Victron MPPT on VE.Direct: TEXT every second, HEX answered",
        options: &[Opt::Cells, Opt::Soc, Opt::Charge, Opt::Discharge, Opt::Pv],
        cells: 16,
    },
    Device {
        name: "vedirect-smartshunt",
        description: "Victron SmartShunt on VE.Direct: TEXT every second, HEX answered",
        options: &[Opt::Cells, Opt::Soc, Opt::Charge, Opt::Discharge, Opt::Pv],
        cells: 16,
    },
    Device {
        name: "pylontech-can",
        description: "Pylontech-protocol BMS on CAN (500 kbit/s) behind a simulated SLCAN adapter (--listen slcan-pty|tcp://HOST:PORT, --bitrate N): 0x359/0x351/0x355/0x356/0x35C/0x35E every second and on 0x305",
        options: &[
            Opt::Cells,
            Opt::Modules,
            Opt::Soc,
            Opt::Charge,
            Opt::Discharge,
        ],
        cells: 16,
    },
    Device {
        name: "pylontech-inverter",
        description: "the inverter side of Pylontech CAN behind a simulated SLCAN adapter (--listen slcan-pty|tcp://HOST:PORT): 0x305 every second, prints each BMS frame it reads as a JSON line",
        options: &[],
        cells: 16,
    },
    Device {
        name: "meanwell-bic2200",
        description: "Mean Well BIC-2200-48 on CAN (250 kbit/s, id 0) behind a simulated SLCAN adapter (--listen slcan-pty|tcp://HOST:PORT): reads answered, set points drive the plant",
        options: &[Opt::Cells, Opt::Soc],
        cells: 16,
    },
    Device {
        name: "meanwell-npb",
        description: "Mean Well NPB-1700-48 charger on CAN (250 kbit/s, id 0) behind a simulated SLCAN adapter (--listen slcan-pty|tcp://HOST:PORT): reads answered, charge curve drives the plant",
        options: &[Opt::Cells, Opt::Soc],
        cells: 16,
    },
    Device {
        name: "lumentree",
        description: "Lumentree SUN grid-tie inverter (LT1000), Modbus RTU (9600 8N1; RTU over TCP on tcp), --address N (default 1); --discharge is its output until a set point is written to register 40",
        options: &[
            Opt::Cells,
            Opt::Soc,
            Opt::Charge,
            Opt::Discharge,
            Opt::Address,
        ],
        cells: 16,
    },
    Device {
        name: "coulombmeter",
        description: "Eco-Worthy 200 A coulomb meter on the battery bank, Modbus RTU (9600 8N1; RTU over TCP on tcp), --address N (default 1)",
        options: &[
            Opt::Cells,
            Opt::Soc,
            Opt::Charge,
            Opt::Discharge,
            Opt::Address,
        ],
        cells: 16,
    },
    Device {
        name: "meter",
        description: "grid meter as a Shelly Pro 3EM / 3EM over HTTP (--listen http://HOST:PORT), optionally MQTT",
        options: &[Opt::Charge, Opt::Discharge, Opt::Pv],
        cells: 0,
    },
];

const FAULTS: &[&str] = &[
    "silent",
    "late",
    "garbage",
    "bad-checksum",
    "drop",
    "cell-overvoltage",
    "over-temperature",
];

/// Where to serve.
#[derive(Debug)]
enum Listen {
    Pty,
    Tcp(String),
}

fn usage(msg: &str) -> ExitCode {
    say!("voltwire sim: {msg}");
    ExitCode::from(2)
}

fn list() -> ExitCode {
    use std::fmt::Write as _;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "devices (voltwire sim DEVICE --listen pty|tcp://HOST:PORT [OPTIONS]):"
    );
    for d in DEVICES {
        let opts: Vec<_> = d.options.iter().map(|o| o.flag()).collect();
        let _ = writeln!(text, "  {:<20} {}", d.name, d.description);
        if d.name == "meter" {
            let _ = writeln!(
                text,
                "  {:<20} options: {} --load W --load-profile constant|step|sine|ramp --mqtt URL --topic T --interval-ms MS",
                "",
                opts.join(" ")
            );
        } else {
            let _ = writeln!(
                text,
                "  {:<20} options: {} (default --cells {})",
                "",
                opts.join(" "),
                d.cells
            );
        }
    }
    let _ = writeln!(
        text,
        "every device: --speed N, --fault {{{}}} (repeatable), --delay-ms MS, --drop-after S, --drop-for S",
        FAULTS.join("|")
    );
    match crate::stdout::write_all(&text) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => crate::stdout::failed("voltwire sim", &e),
    }
}

/// Everything needed to run, validated.
struct Setup {
    listen: Listen,
    plant: Plant,
    responder: Box<dyn SerialResponder + Send>,
    speed: f64,
    drop: Option<DropPlan>,
}

/// `--fault drop`: when the port goes away and for how long.
#[derive(Debug, Clone, Copy)]
struct DropPlan {
    after: Duration,
    down: Option<Duration>,
}

fn seconds(flag: &str, s: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(s)
        .ok()
        .filter(|d| *d <= Duration::from_secs(86_400))
        .ok_or_else(|| format!("{flag} {s}: give seconds from 0 to 86400 (e.g. {flag} 2)"))
}

fn given(args: &SimArgs) -> Vec<Opt> {
    let mut v = Vec::new();
    if args.cells.is_some() {
        v.push(Opt::Cells);
    }
    if args.modules.is_some() {
        v.push(Opt::Modules);
    }
    if args.soc.is_some() {
        v.push(Opt::Soc);
    }
    if args.charge.is_some() {
        v.push(Opt::Charge);
    }
    if args.discharge.is_some() {
        v.push(Opt::Discharge);
    }
    if args.pv.is_some() {
        v.push(Opt::Pv);
    }
    if args.address.is_some() {
        v.push(Opt::Address);
    }
    v
}

fn watts(flag: &str, w: Option<i32>, default: i32) -> Result<Watts, String> {
    match w {
        Some(w) if w < 0 => Err(format!(
            "{flag} {w}: a power is a magnitude in W (≥ 0); use --charge or --discharge for the direction"
        )),
        Some(w) => Ok(Watts(w)),
        None => Ok(Watts(default)),
    }
}

/// Whether `addr` is `HOST:PORT` (a non-empty host, a port number), as `--listen` takes it.
fn is_host_port(addr: &str) -> bool {
    addr.rsplit_once(':')
        .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())
}

/// `--cells` (default `default`), checked: 1 to 48 per pack.
fn check_cells(args: &SimArgs, default: usize) -> Result<usize, String> {
    let cells = args.cells.unwrap_or(default);
    if (1..=48).contains(&cells) {
        Ok(cells)
    } else {
        Err(format!(
            "--cells {cells}: give 1 to 48 cells per pack (e.g. --cells 16)"
        ))
    }
}

/// `--modules` (default 1), checked: a stack has 1 to 15 modules.
fn check_modules(args: &SimArgs) -> Result<usize, String> {
    let modules = args.modules.unwrap_or(1);
    if (1..=15).contains(&modules) {
        Ok(modules)
    } else {
        Err(format!(
            "--modules {modules}: a stack has 1 to 15 modules (e.g. --modules 2)"
        ))
    }
}

/// `--soc` (default 50 %), checked.
fn check_soc(args: &SimArgs) -> Result<f64, String> {
    let soc = args.soc.unwrap_or(50.0);
    if (0.0..=100.0).contains(&soc) {
        Ok(soc)
    } else {
        Err(format!(
            "--soc {soc}: give a percentage from 0 to 100 (e.g. --soc 75)"
        ))
    }
}

/// `--speed`, checked.
fn check_speed(args: &SimArgs) -> Result<f64, String> {
    if args.speed.is_finite() && args.speed > 0.0 && args.speed <= 100_000.0 {
        Ok(args.speed)
    } else {
        Err(format!(
            "--speed {}: give a factor above 0 and at most 100000 (e.g. --speed 60)",
            args.speed
        ))
    }
}

/// `--fault` flags as [`voltwire_sim::Faults`] (`drop` sets `drop_port`: the port goes away
/// for good unless the caller plans otherwise). `refuse(fault)` may name a fault this device
/// does not have, with the reason.
fn parse_faults(
    args: &SimArgs,
    refuse: impl Fn(&str) -> Option<String>,
) -> Result<voltwire_sim::Faults, String> {
    let mut faults = voltwire_sim::Faults::default();
    for f in &args.faults {
        if let Some(why) = refuse(f) {
            return Err(why);
        }
        match f.as_str() {
            "silent" => faults.silent = true,
            "late" => faults.delay = Duration::from_millis(args.delay_ms),
            "garbage" => faults.garbage = true,
            "bad-checksum" => faults.bad_checksum = true,
            "drop" => faults.drop_port = true,
            "cell-overvoltage" => faults.cell_over_voltage = true,
            "over-temperature" => faults.over_temperature = true,
            other => {
                return Err(format!(
                    "--fault `{other}`: choose one of: {}",
                    FAULTS.join(", ")
                ));
            }
        }
    }
    Ok(faults)
}

/// Run `serve` on a current-thread runtime: status 0 when it ends (SIGINT/SIGTERM), 1 on an
/// error.
fn serve_blocking(serve: impl Future<Output = io::Result<()>>) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            say!("voltwire sim: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(serve) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say!("voltwire sim: {e}");
            ExitCode::from(1)
        }
    }
}

#[allow(
    clippy::too_many_lines,
    reason = "one validation after the other, each with its message"
)]
fn setup(args: &SimArgs) -> Result<Setup, String> {
    let names: Vec<_> = DEVICES.iter().map(|d| d.name).collect();
    let name = args.device.as_deref().unwrap_or_default();
    let Some(device) = DEVICES.iter().find(|d| d.name == name) else {
        return Err(format!(
            "unknown DEVICE `{name}`; choose one of: {} (see `voltwire sim --list`)",
            names.join(", ")
        ));
    };
    for o in given(args) {
        if !device.options.contains(&o) {
            let opts: Vec<_> = device.options.iter().map(|o| o.flag()).collect();
            return Err(format!(
                "{} does not apply to `{}`; its options are: {}",
                o.flag(),
                device.name,
                opts.join(" ")
            ));
        }
    }
    let listen = match args.listen.as_deref().unwrap_or_default() {
        "pty" => Listen::Pty,
        l => match l.strip_prefix("tcp://") {
            Some(addr) if is_host_port(addr) => Listen::Tcp(addr.to_owned()),
            _ => {
                return Err(format!(
                    "--listen `{l}`: expected `pty` or `tcp://HOST:PORT` (e.g. --listen tcp://127.0.0.1:0)"
                ));
            }
        },
    };
    let address = args.address.unwrap_or(1);
    if address == 0 {
        return Err(
            "--address 0: address 0 makes a JK-PB the bus master (it polls, it does not answer); give 1 to 255 (e.g. --address 1)"
                .to_owned(),
        );
    }
    let cells = check_cells(args, device.cells)?;
    if device.name == "jk-pb" && cells > 32 {
        return Err(format!(
            "--cells {cells}: a JK-PB has at most 32 cells (e.g. --cells 16)"
        ));
    }
    let modules = check_modules(args)?;
    let soc = check_soc(args)?;
    check_speed(args)?;
    let mut faults = parse_faults(args, |_| None)?;
    // For the serial devices the drop plan below governs the port.
    faults.drop_port = false;
    let drop = if args.faults.iter().any(|f| f == "drop") {
        Some(DropPlan {
            after: seconds("--drop-after", args.drop_after)?,
            down: args
                .drop_for
                .map(|s| seconds("--drop-for", s))
                .transpose()?,
        })
    } else {
        if args.drop_after != 0.0 || args.drop_for.is_some() {
            return Err(
                "--drop-after/--drop-for apply only with --fault drop (e.g. --fault drop --drop-after 2 --drop-for 3)"
                    .to_owned(),
            );
        }
        None
    };
    let pack = PackConfig {
        cells,
        initial_soc: soc / 100.0,
        ..PackConfig::default()
    };
    let packs = if matches!(device.name, "pylontech-rs485" | "pace") {
        vec![
            PackConfig {
                capacity: voltwire_core::MilliampHours(100_000),
                ..pack
            };
            modules
        ]
    } else {
        vec![pack]
    };
    let mut plant = Plant::new(packs);
    let mppt = device.name == "vedirect-mppt";
    plant.flows.charge = watts("--charge", args.charge, 0)?;
    plant.flows.discharge = watts("--discharge", args.discharge, if mppt { 0 } else { 500 })?;
    plant.flows.mppt_pv = watts("--pv", args.pv, if mppt { 400 } else { 0 })?;
    let mut responder: Box<dyn SerialResponder + Send> = match device.name {
        "daly" => Box::new(DalyBms::new(0)),
        "jk" => Box::new(JkBms::new(0)),
        "jk-pb" => Box::new(JkPb::new(address, 0)),
        "pace" => Box::new(PaceStack::new()),
        "pylontech-rs485" => Box::new(PylontechStack::new()),
        "vedirect-mppt" => Box::new(VeDirect::new(VeDirectKind::Mppt)),
        _ => Box::new(VeDirect::new(VeDirectKind::SmartShunt)),
    };
    *responder.faults_mut() = faults;
    Ok(Setup {
        listen,
        plant,
        responder,
        speed: args.speed,
        drop,
    })
}

pub(crate) fn run(args: &SimArgs) -> ExitCode {
    if args.list {
        return list();
    }
    if let Some(status) = modbus::branch(args) {
        return status;
    }
    if let Some(code) = sim_meter::branch(args) {
        return code;
    }
    if sim_can::handles(args) {
        return sim_can::run(args);
    }
    match setup(args) {
        Ok(s) => serve_blocking(serve(s)),
        Err(e) => usage(&e),
    }
}

/// Install the SIGINT and SIGTERM handlers now; the future resolves when either arrives.
fn stop_signal() -> io::Result<impl Future<Output = io::Result<()>>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        Ok(())
    })
}

fn announce(listening: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{}", serde_json::json!({ "listening": listening }))?;
    out.flush()
}

async fn serve(setup: Setup) -> io::Result<()> {
    // Install the handlers before announcing, so that a signal right after the first line
    // ends us cleanly.
    let stop = stop_signal()?;
    let mut stop = std::pin::pin!(stop);
    let Setup {
        listen,
        plant,
        responder,
        speed,
        drop: drop_plan,
    } = setup;
    let mut sim = Sim {
        plant,
        responder,
        clock: SimClock::new(speed),
    };
    match listen {
        Listen::Pty => {
            let Some(plan) = drop_plan else {
                let pty = Pty::open()?;
                announce(&pty.path)?;
                return tokio::select! {
                    r = &mut stop => r,
                    r = serve_pty(&mut sim, pty) => pty_ended(r),
                };
            };
            let link = StableLink::new()?;
            let pty = Pty::open()?;
            link.point(&pty.path)?;
            announce(&link.path.to_string_lossy())?;
            tokio::select! {
                r = &mut stop => return r,
                r = serve_pty(&mut sim, pty) => r?,
                () = tokio::time::sleep(plan.after) => {}
            }
            // Hang up: master and slave closed, the path gone.
            link.remove();
            say!("voltwire sim: port dropped");
            let Some(down) = plan.down else {
                return stop.await;
            };
            tokio::select! {
                r = &mut stop => return r,
                () = tokio::time::sleep(down) => {}
            }
            let pty = Pty::open()?;
            link.point(&pty.path)?;
            say!(
                "voltwire sim: port back ({} -> {})",
                link.path.display(),
                pty.path
            );
            tokio::select! {
                r = &mut stop => r,
                r = serve_pty(&mut sim, pty) => pty_ended(r),
            }
        }
        Listen::Tcp(addr) => {
            let listener = TcpListener::bind(&addr)
                .await
                .map_err(|e| io::Error::new(e.kind(), format!("--listen tcp://{addr}: {e}")))?;
            let local = listener.local_addr()?;
            announce(&local.to_string())?;
            let Some(plan) = drop_plan else {
                return tokio::select! {
                    r = &mut stop => r,
                    r = accept_loop(&mut sim, &listener) => r,
                };
            };
            tokio::select! {
                r = &mut stop => return r,
                r = accept_loop(&mut sim, &listener) => r?,
                () = tokio::time::sleep(plan.after) => {}
            }
            // The client's connection (owned by the accept loop) and the listener close.
            drop(listener);
            say!("voltwire sim: port dropped");
            let Some(down) = plan.down else {
                return stop.await;
            };
            tokio::select! {
                r = &mut stop => return r,
                () = tokio::time::sleep(down) => {}
            }
            let listener = TcpListener::bind(local).await?;
            say!("voltwire sim: port back ({local})");
            tokio::select! {
                r = &mut stop => r,
                r = accept_loop(&mut sim, &listener) => r,
            }
        }
    }
}

async fn accept_loop(sim: &mut Sim, listener: &TcpListener) -> io::Result<()> {
    loop {
        let (stream, peer) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        say!("voltwire sim: client {peer} connected");
        let (reader, writer) = stream.into_split();
        if let Err(e) = serve_port(sim, reader, writer, &|| {}).await {
            say!("voltwire sim: client {peer}: {e}");
        }
        say!("voltwire sim: client {peer} gone");
    }
}

/// The serving of a pty ended without a stop signal: never a success (exit 0) — a pty we
/// hold both sides of has no end of file, so this is an error whichever way it came.
pub(crate) fn pty_ended(r: io::Result<()>) -> io::Result<()> {
    r.and_then(|()| Err(io::Error::other("the pty's reader ended (end of file)")))
}

/// Serve a pty until its reader ends.
async fn serve_pty(sim: &mut Sim, pty: Pty) -> io::Result<()> {
    let Pty {
        reader,
        writer,
        slave,
        path: _,
    } = pty;
    let discard = || {
        let _ = termios::tcflush(&slave, FlushArg::TCIFLUSH);
    };
    serve_port(sim, reader, writer, &discard).await
}

/// A stable path for a pty that comes and goes: a symlink in a private temporary
/// directory, removed with the directory when the simulator ends.
struct StableLink {
    dir: std::path::PathBuf,
    path: std::path::PathBuf,
}

impl StableLink {
    fn new() -> io::Result<Self> {
        let dir = std::env::temp_dir().join(format!("voltwire-sim-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("tty");
        Ok(Self { dir, path })
    }

    /// Point the link at `target` (replacing it atomically).
    fn point(&self, target: &str) -> io::Result<()> {
        let tmp = self.dir.join("tty.new");
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(target, &tmp)?;
        std::fs::rename(&tmp, &self.path)
    }

    fn remove(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for StableLink {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The plant and the device, in (scaled) real time.
struct Sim {
    plant: Plant,
    responder: Box<dyn SerialResponder + Send>,
    clock: SimClock,
}

impl Sim {
    /// Advance the plant to now; the sim time.
    fn advance(&mut self) -> Duration {
        self.plant.advance_to(self.clock.now())
    }

    fn apply_commands(&mut self) {
        let mut cmds: Vec<PlantCommand> = Vec::new();
        self.responder.drain_commands(&mut cmds);
        self.plant.apply(cmds);
    }
}

/// How long a write may wait for the reader before its bytes are dropped.
const WRITE_TIMEOUT: Duration = Duration::from_millis(200);

/// Write `out`; if the far end does not take it within [`WRITE_TIMEOUT`], drop it and call
/// `discard` (which drops what the far end has not read, so that the next output starts on
/// a clean boundary).
async fn write_out<W: AsyncWrite + Unpin>(
    writer: &mut W,
    out: &[u8],
    discard: &dyn Fn(),
) -> io::Result<()> {
    if out.is_empty() {
        return Ok(());
    }
    if let Ok(r) = tokio::time::timeout(WRITE_TIMEOUT, writer.write_all(out)).await {
        r
    } else {
        discard();
        Ok(())
    }
}

/// Serve one connection until the reader ends.
async fn serve_port<R, W>(
    sim: &mut Sim,
    mut reader: R,
    mut writer: W,
    discard: &dyn Fn(),
) -> io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut ticker = tokio::time::interval(Duration::from_millis(50));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut buf = [0u8; 1024];
    let mut out = Vec::new();
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                let now = sim.advance();
                out.clear();
                sim.responder.tick(now, &sim.plant, &mut out);
                write_out(&mut writer, &out, discard).await?;
            }
            n = reader.read(&mut buf) => {
                let n = n?;
                if n == 0 {
                    return Ok(());
                }
                let now = sim.advance();
                out.clear();
                let input = buf.get(..n).unwrap_or_default();
                sim.responder.on_bytes(input, now, &sim.plant, &mut out);
                sim.apply_commands();
                let delay = sim.responder.faults().delay;
                if !delay.is_zero() && !out.is_empty() {
                    tokio::time::sleep(delay).await;
                }
                write_out(&mut writer, &out, discard).await?;
            }
        }
    }
}

/// A pseudo-terminal in raw mode: the master side as a tokio reader and writer (on two
/// descriptors of the one master). The slave stays open here too, so that clients may open
/// and close it as often as they like without hanging up the master.
struct Pty {
    reader: pipe::Receiver,
    writer: pipe::Sender,
    slave: OwnedFd,
    path: String,
}

impl Pty {
    fn open() -> io::Result<Self> {
        let pty = nix::pty::openpty(None, None).map_err(io::Error::from)?;
        let mut t = termios::tcgetattr(&pty.slave).map_err(io::Error::from)?;
        termios::cfmakeraw(&mut t);
        termios::tcsetattr(&pty.slave, SetArg::TCSANOW, &t).map_err(io::Error::from)?;
        let path = nix::unistd::ttyname(&pty.slave)
            .map_err(io::Error::from)?
            .to_string_lossy()
            .into_owned();
        let flags = fcntl(&pty.master, FcntlArg::F_GETFL).map_err(io::Error::from)?;
        fcntl(
            &pty.master,
            FcntlArg::F_SETFL(OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK),
        )
        .map_err(io::Error::from)?;
        // A pty master is not a pipe, but it is a non-blocking character device that epoll
        // handles alike: exactly what the unchecked constructors ask for.
        let writer = pipe::Sender::from_owned_fd_unchecked(pty.master.try_clone()?)?;
        let reader = pipe::Receiver::from_owned_fd_unchecked(pty.master)?;
        Ok(Self {
            reader,
            writer,
            slave: pty.slave,
            path,
        })
    }
}
