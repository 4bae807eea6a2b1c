//! `voltwire sim`: a simulated device from `voltwire-sim`, one clap subcommand each, served
//! in real time (or `--speed` times faster) by `voltwire_sim::serve` on a pseudo-terminal or
//! a TCP listener; the grid meter by [`meter`] over HTTP (and MQTT).
//!
//! The first stdout line is `{"listening": "<pty path or address>"}`; then it serves until
//! SIGINT/SIGTERM, which end it with status 0. Bad options: status 2; a failure: status 1.

use std::io::{self, Write as _};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, CommandFactory as _, Subcommand, ValueEnum};
use voltwire_core::{MilliampHours, Watts};
use voltwire_meanwell::Model;
use voltwire_pylontech::can::{Message, ParseError};
use voltwire_sim::device::{
    DalyBms, JkBms, JkPb, MeanwellPsu, PaceStack, PylontechCanBms, PylontechInverter,
    PylontechStack, VeDirect, VeDirectKind,
};
use voltwire_sim::modbus::{CoulombMeter, Lumentree, ModbusResponder};
use voltwire_sim::serve::can::CanStation;
use voltwire_sim::serve::rtu::RtuPort;
use voltwire_sim::serve::{Listen, Port, PortDrop, SerialStation};
use voltwire_sim::{CanResponder, Faults, PackConfig, Plant, SerialResponder};

mod meter;
mod scene;

#[derive(Debug, Args)]
#[command(
    subcommand_value_name = "DEVICE",
    subcommand_help_heading = "Devices",
    args_conflicts_with_subcommands = true,
    disable_help_subcommand = true
)]
pub(crate) struct SimArgs {
    /// List the devices with their options and exit.
    #[arg(long)]
    list: bool,

    #[command(subcommand)]
    device: Option<Device>,
}

/// The simulated devices.
#[derive(Debug, Subcommand)]
enum Device {
    /// Daly BMS (UART/RS485, 9600 8N1), host requests answered from address 0x01
    Daly(Battery),
    /// JK BMS, RS485/UART "4E 57" protocol (115200 8N1): read-all answered, MOSFET writes
    /// applied
    Jk(Battery),
    /// JK-PB inverter BMS on RS485 (115200 8N1): trigger blocks 55AA EB90 and Modbus FC
    /// 0x03/0x10 registers
    JkPb(JkPbArgs),
    /// Pace BMS packs, RS485 protocol v25 (9600 8N1), packs at addresses 1, 2, … (a lone
    /// pack also at 0x00, as on its RS232 port); configuration reads answered
    Pace(PaceArgs),
    /// Pylontech battery stack, RS485 protocol 0x20 (slave side), modules at 2, 3, …
    PylontechRs485(StackArgs),
    /// Victron MPPT on VE.Direct: TEXT every second, HEX answered
    VedirectMppt(VeDirectArgs),
    /// Victron SmartShunt on VE.Direct: TEXT every second, HEX answered
    VedirectSmartshunt(VeDirectArgs),
    /// Pylontech-protocol BMS on CAN (500 kbit/s) behind a simulated SLCAN adapter:
    /// 0x359/0x351/0x355/0x356/0x35C/0x35E every second and on 0x305
    PylontechCan(CanStackArgs),
    /// The inverter side of Pylontech CAN behind a simulated SLCAN adapter: 0x305 every
    /// second, prints each BMS frame it reads as a JSON line
    PylontechInverter(CanPort),
    /// Mean Well BIC-2200-48 on CAN (250 kbit/s, id 0) behind a simulated SLCAN adapter:
    /// reads answered, set points drive the plant
    MeanwellBic2200(CanPackArgs),
    /// Mean Well NPB-1700-48 charger on CAN (250 kbit/s, id 0) behind a simulated SLCAN
    /// adapter: reads answered, charge curve drives the plant
    MeanwellNpb(CanPackArgs),
    /// Lumentree SUN grid-tie inverter (LT1000), Modbus RTU (9600 8N1; RTU over TCP on tcp);
    /// --discharge is its output until a set point is written to register 40
    Lumentree(ModbusArgs),
    /// Eco-Worthy 200 A coulomb meter on the battery bank, Modbus RTU (9600 8N1; RTU over
    /// TCP on tcp)
    Coulombmeter(ModbusArgs),
    /// Grid meter as a Shelly Pro 3EM / 3EM over HTTP, optionally MQTT
    Meter(Box<meter::MeterArgs>),
    /// A whole installation from a scene file: every device on its own link, one shared
    /// plant, scripted events
    Scene(scene::SceneArgs),
}

/// A battery device on a serial line: the pack, the flows, the port.
#[derive(Debug, Args)]
struct Battery {
    #[command(flatten)]
    pack: Pack,
    #[command(flatten)]
    flows: Flows,
    #[command(flatten)]
    port: SerialPort,
}

/// `jk-pb`.
#[derive(Debug, Args)]
struct JkPbArgs {
    #[command(flatten)]
    battery: Battery,
    /// The address its DIP switches set, 1–255 (0 would make it the bus master).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = jk_pb_address)]
    address: u8,
}

/// `pace`, `pylontech-rs485`.
#[derive(Debug, Args)]
struct StackArgs {
    #[command(flatten)]
    battery: Battery,
    /// Modules in the stack, 1–15 (pylontech-rs485: addresses 2, 3, …; pace: packs at 1,
    /// 2, …).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = modules)]
    modules: usize,
}

/// `pace`.
#[derive(Debug, Args)]
struct PaceArgs {
    #[command(flatten)]
    stack: StackArgs,
    /// The address of the first pack, 1–15 (the others follow); a lone pack answers at
    /// 0x00 too.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = pace_address)]
    address: u8,
}

/// `vedirect-mppt`, `vedirect-smartshunt`.
#[derive(Debug, Args)]
struct VeDirectArgs {
    #[command(flatten)]
    battery: Battery,
    /// DC PV power through the MPPT into the batteries, W (default 400 for vedirect-mppt).
    #[arg(long, value_name = "W", value_parser = watts)]
    pv: Option<Watts>,
}

/// `lumentree`, `coulombmeter`.
#[derive(Debug, Args)]
struct ModbusArgs {
    #[command(flatten)]
    battery: Battery,
    /// Modbus slave address, 1–247.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = modbus_address)]
    address: u8,
}

/// `pylontech-can`.
#[derive(Debug, Args)]
struct CanStackArgs {
    #[command(flatten)]
    pack: Pack,
    #[command(flatten)]
    flows: Flows,
    /// Modules in the stack, 1–15.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = modules)]
    modules: usize,
    #[command(flatten)]
    port: CanPort,
}

/// `meanwell-bic2200`, `meanwell-npb`.
#[derive(Debug, Args)]
struct CanPackArgs {
    #[command(flatten)]
    pack: Pack,
    #[command(flatten)]
    port: CanPort,
}

/// The battery pack.
#[derive(Debug, Args)]
struct Pack {
    /// Cells in series per pack, 1–48 (default 16; pylontech-rs485: 15).
    #[arg(long, value_name = "N", value_parser = cells)]
    cells: Option<usize>,

    /// State of charge at start, in percent (0–100).
    #[arg(long, value_name = "PCT", default_value_t = 50.0, value_parser = soc)]
    soc: f64,
}

/// The charger and the inverter on the battery.
#[derive(Debug, Args)]
struct Flows {
    /// Charger power into the batteries, W.
    #[arg(long, value_name = "W", value_parser = watts)]
    charge: Option<Watts>,

    /// Discharge (inverter) power out of the batteries, W (default 500; vedirect-mppt and
    /// meter: 0).
    #[arg(long, value_name = "W", value_parser = watts)]
    discharge: Option<Watts>,
}

/// The port of a serial (and Modbus RTU) device.
#[derive(Debug, Args)]
struct SerialPort {
    /// Where to serve: `pty` (a new pseudo-terminal; its path is printed) or
    /// `tcp://HOST:PORT` (port 0 picks a free one).
    #[arg(long, value_name = "pty|tcp://HOST:PORT", value_parser = serial_listen)]
    listen: Listen,

    /// Inject a fault (repeatable): silent, late, garbage, bad-checksum, drop,
    /// cell-overvoltage, over-temperature.
    #[arg(
        long = "fault",
        value_name = "FAULT",
        value_enum,
        hide_possible_values = true
    )]
    faults: Vec<Fault>,

    /// With `--fault drop`: serve normally for this many seconds before the port goes away.
    #[arg(long, value_name = "S", value_parser = seconds)]
    drop_after: Option<Duration>,

    /// With `--fault drop`: the port comes back after this many seconds (default: never).
    /// A pty is then announced as a stable symlink that disappears while the port is gone
    /// and points to the new pty afterwards (like /dev/serial/by-id on a USB replug); TCP
    /// refuses connections while gone and listens on the same address again afterwards.
    #[arg(long, value_name = "S", value_parser = seconds)]
    drop_for: Option<Duration>,

    #[command(flatten)]
    timing: Timing,
}

/// The port of a CAN device: a simulated SLCAN adapter.
#[derive(Debug, Args)]
struct CanPort {
    /// Where to serve the SLCAN adapter: `slcan-pty` (a new pseudo-terminal) or
    /// `tcp://HOST:PORT` (SLCAN over TCP).
    #[arg(long, value_name = "slcan-pty|tcp://HOST:PORT", value_parser = can_listen)]
    listen: Listen,

    /// The bus bit rate in bit/s (default 500000 for Pylontech, 250000 for Mean Well). A
    /// host that opens the adapter at another rate sees no frames.
    #[arg(long, value_name = "N", value_parser = bitrate)]
    bitrate: Option<u32>,

    /// Inject a fault (repeatable): silent, late, garbage, drop (the port closed for good),
    /// cell-overvoltage, over-temperature.
    #[arg(long = "fault", value_name = "FAULT", value_parser = can_fault)]
    faults: Vec<Fault>,

    #[command(flatten)]
    timing: Timing,
}

/// Time, for every device.
#[derive(Debug, Args)]
struct Timing {
    /// Run the plant this many times faster than real time.
    #[arg(long, value_name = "N", default_value_t = 1.0, value_parser = speed)]
    speed: f64,

    /// How late `--fault late` answers, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    delay_ms: u64,
}

/// A fault `--fault` injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Fault {
    Silent,
    Late,
    Garbage,
    BadChecksum,
    Drop,
    #[value(name = "cell-overvoltage")]
    CellOverVoltage,
    OverTemperature,
}

/// The names `--fault` takes.
fn fault_names() -> Vec<String> {
    Fault::value_variants()
        .iter()
        .filter_map(ValueEnum::to_possible_value)
        .map(|v| v.get_name().to_owned())
        .collect()
}

/// `faults` as [`Faults`] (`drop` sets `drop_port`), `late` answering after `timing`'s delay.
fn to_faults(faults: &[Fault], timing: &Timing) -> Faults {
    let mut f = Faults::default();
    for fault in faults {
        match fault {
            Fault::Silent => f.silent = true,
            Fault::Late => f.delay = Duration::from_millis(timing.delay_ms),
            Fault::Garbage => f.garbage = true,
            Fault::BadChecksum => f.bad_checksum = true,
            Fault::Drop => f.drop_port = true,
            Fault::CellOverVoltage => f.cell_over_voltage = true,
            Fault::OverTemperature => f.over_temperature = true,
        }
    }
    f
}

// ---------------------------------------------------------------- value parsers

fn in_range<T: std::str::FromStr + PartialOrd>(
    s: &str,
    range: std::ops::RangeInclusive<T>,
    hint: &str,
) -> Result<T, String> {
    s.parse::<T>()
        .ok()
        .filter(|v| range.contains(v))
        .ok_or_else(|| hint.to_owned())
}

fn cells(s: &str) -> Result<usize, String> {
    in_range(s, 1..=48, "give 1 to 48 cells per pack (e.g. --cells 16)")
}

fn modules(s: &str) -> Result<usize, String> {
    in_range(s, 1..=15, "a stack has 1 to 15 modules (e.g. --modules 2)")
}

fn soc(s: &str) -> Result<f64, String> {
    in_range(
        s,
        0.0..=100.0,
        "give a percentage from 0 to 100 (e.g. --soc 75)",
    )
}

fn speed(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0 && *v <= 100_000.0)
        .ok_or_else(|| "give a factor above 0 and at most 100000 (e.g. --speed 60)".to_owned())
}

fn watts(s: &str) -> Result<Watts, String> {
    match s.parse::<i32>() {
        Ok(w) if w >= 0 => Ok(Watts(w)),
        Ok(_) => Err(
            "a power is a magnitude in W (≥ 0); use --charge or --discharge for the direction"
                .to_owned(),
        ),
        Err(e) => Err(format!("whole watts: {e}")),
    }
}

fn seconds(s: &str) -> Result<Duration, String> {
    s.parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .filter(|d| *d <= Duration::from_secs(86_400))
        .ok_or_else(|| "give seconds from 0 to 86400 (e.g. 2)".to_owned())
}

fn jk_pb_address(s: &str) -> Result<u8, String> {
    in_range(
        s,
        1..=255,
        "address 0 makes a JK-PB the bus master (it polls, it does not answer); give 1 to 255 (e.g. --address 1)",
    )
}

fn pace_address(s: &str) -> Result<u8, String> {
    in_range(
        s,
        1..=15,
        "a Pace pack address (its DIP switches) is 1 to 15 (e.g. --address 1); a lone pack answers at 0 as well",
    )
}

fn modbus_address(s: &str) -> Result<u8, String> {
    in_range(
        s,
        1..=247,
        "a Modbus slave address is 1 to 247 (e.g. --address 1)",
    )
}

fn serial_listen(s: &str) -> Result<Listen, String> {
    Listen::parse(s, "pty").ok_or_else(|| {
        "expected `pty` or `tcp://HOST:PORT` (e.g. --listen tcp://127.0.0.1:0)".to_owned()
    })
}

fn can_listen(s: &str) -> Result<Listen, String> {
    if s == "pty" {
        return Err("--listen pty: a CAN device is served through a simulated SLCAN adapter; use --listen slcan-pty (or tcp://HOST:PORT for SLCAN over TCP)".to_owned());
    }
    Listen::parse(s, "slcan-pty").ok_or_else(|| {
        "expected `slcan-pty` or `tcp://HOST:PORT` (e.g. --listen slcan-pty)".to_owned()
    })
}

fn bitrate(s: &str) -> Result<u32, String> {
    s.parse::<u32>()
        .ok()
        .filter(|b| voltwire_slcan::bitrate_code(*b, voltwire_slcan::Dialect::Canable).is_some())
        .ok_or_else(|| format!("--bitrate {s}: an SLCAN adapter offers 10000, 20000, 50000, 83300, 100000, 125000, 250000, 500000, 750000 or 1000000 (e.g. --bitrate 500000)"))
}

fn can_fault(s: &str) -> Result<Fault, String> {
    let names = || fault_names().join(", ").replace("bad-checksum, ", "");
    match Fault::from_str(s, false).map_err(|_| format!("choose one of: {}", names()))? {
        Fault::BadChecksum => Err("--fault bad-checksum: the CAN devices speak protocols without a checksum of their own (the CRC lives in the CAN controller); use --fault garbage for malformed payloads".to_owned()),
        f => Ok(f),
    }
}

// ---------------------------------------------------------------- running

#[allow(
    clippy::too_many_lines,
    reason = "one short arm per device: its plant, its responder, its port"
)]
pub(crate) fn run(args: SimArgs) -> ExitCode {
    if args.list {
        return list();
    }
    let Some(device) = args.device else {
        return usage("give a DEVICE (see `voltwire sim --list`)");
    };
    let result = match device {
        Device::Meter(m) => return meter::run(*m),
        Device::Scene(s) => return scene::run(&s),
        Device::Daly(b) => serial(b.plant(500), Box::new(DalyBms::new(0)), b.port),
        Device::Jk(b) => serial(b.plant(500), Box::new(JkBms::new(0)), b.port),
        Device::JkPb(JkPbArgs { battery: b, .. }) if b.pack.cells.is_some_and(|c| c > 32) => {
            Err(format!(
                "--cells {}: a JK-PB has at most 32 cells (e.g. --cells 16)",
                b.pack.cells.unwrap_or_default()
            ))
        }
        Device::JkPb(JkPbArgs {
            battery: b,
            address,
        }) => serial(b.plant(500), Box::new(JkPb::new(address, 0)), b.port),
        Device::Pace(PaceArgs { stack: s, address }) if usize::from(address) + s.modules > 16 => {
            Err(format!(
                "--address {address} with --modules {}: Pace addresses end at 15; give a lower --address or fewer --modules",
                s.modules
            ))
        }
        Device::Pace(PaceArgs { stack: s, address }) => {
            let packs = PaceStack::new().with_first_address(address);
            serial(s.plant(16), Box::new(packs), s.battery.port)
        }
        Device::PylontechRs485(s) => {
            serial(s.plant(15), Box::new(PylontechStack::new()), s.battery.port)
        }
        Device::VedirectMppt(v) => {
            let mppt = VeDirect::new(VeDirectKind::Mppt);
            serial(v.plant(0, 400), Box::new(mppt), v.battery.port)
        }
        Device::VedirectSmartshunt(v) => {
            let shunt = VeDirect::new(VeDirectKind::SmartShunt);
            serial(v.plant(500, 0), Box::new(shunt), v.battery.port)
        }
        Device::Lumentree(ModbusArgs {
            battery: b,
            address,
        }) => {
            let inverter = Lumentree::new().with_address(address);
            modbus(b.plant(500), Box::new(inverter), b.port)
        }
        Device::Coulombmeter(ModbusArgs {
            battery: b,
            address,
        }) => {
            let plant = b.plant(500);
            let meter = CoulombMeter::new(&plant).with_address(address);
            modbus(plant, Box::new(meter), b.port)
        }
        Device::PylontechCan(c) => {
            let plant = c.flows.plant(vec![c.pack.config(16); c.modules], 500);
            Ok(can(plant, PylontechCanBms::new(), 500_000, c.port, |_| {
                Ok(())
            }))
        }
        Device::PylontechInverter(port) => {
            let plant = Plant::new(vec![PackConfig {
                cells: 16,
                initial_soc: 0.5,
                ..PackConfig::default()
            }]);
            let inverter = PylontechInverter::new(KEEP_ALIVE);
            Ok(can(plant, inverter, 500_000, port, report_seen))
        }
        Device::MeanwellBic2200(m) => {
            let plant = Plant::new(vec![m.pack.config(16)]);
            let psu = MeanwellPsu::new(Model::Bic2200_48, MEANWELL_ID);
            Ok(can(plant, psu, 250_000, m.port, |_| Ok(())))
        }
        Device::MeanwellNpb(m) => {
            let plant = Plant::new(vec![m.pack.config(16)]);
            let psu = MeanwellPsu::new(Model::Npb1700_48, MEANWELL_ID);
            Ok(can(plant, psu, 250_000, m.port, |_| Ok(())))
        }
    };
    result.unwrap_or_else(|e| usage(&e))
}

/// Mean Well jumper id of the simulated unit.
const MEANWELL_ID: u8 = 0;

/// How often the simulated inverter sends its 0x305 keep-alive (sim time).
const KEEP_ALIVE: Duration = Duration::from_secs(1);

impl Pack {
    /// One pack, `default_cells` unless `--cells` says otherwise.
    fn config(&self, default_cells: usize) -> PackConfig {
        PackConfig {
            cells: self.cells.unwrap_or(default_cells),
            initial_soc: self.soc / 100.0,
            ..PackConfig::default()
        }
    }
}

impl Battery {
    /// One pack, discharged at `default_discharge` W unless `--discharge` says otherwise.
    fn plant(&self, default_discharge: i32) -> Plant {
        self.flows
            .plant(vec![self.pack.config(16)], default_discharge)
    }
}

impl StackArgs {
    /// The stack: its modules of 100 Ah, `default_cells` each unless `--cells`.
    fn plant(&self, default_cells: usize) -> Plant {
        let module = PackConfig {
            capacity: MilliampHours(100_000),
            ..self.battery.pack.config(default_cells)
        };
        self.battery.flows.plant(vec![module; self.modules], 500)
    }
}

impl VeDirectArgs {
    /// One pack, the MPPT's PV at `default_pv` W unless `--pv` says otherwise.
    fn plant(&self, default_discharge: i32, default_pv: i32) -> Plant {
        let mut plant = self.battery.plant(default_discharge);
        plant.flows.mppt_pv = self.pv.unwrap_or(Watts(default_pv));
        plant
    }
}

impl Flows {
    /// A plant of `packs`, charged at `--charge` (default 0), discharged at `--discharge`
    /// (default `default_discharge` W).
    fn plant(&self, packs: Vec<PackConfig>, default_discharge: i32) -> Plant {
        let mut plant = Plant::new(packs);
        plant.flows.charge = self.charge.unwrap_or(Watts(0));
        plant.flows.discharge = self.discharge.unwrap_or(Watts(default_discharge));
        plant
    }
}

/// A serial device: `--fault drop` is the serving layer's (the port goes, and may return).
fn serial(
    plant: Plant,
    mut responder: Box<dyn SerialResponder + Send>,
    port: SerialPort,
) -> Result<ExitCode, String> {
    let drop_plan = if port.faults.contains(&Fault::Drop) {
        PortDrop::After {
            after: port.drop_after.unwrap_or_default(),
            down: port.drop_for,
        }
    } else if port.drop_after.is_some() || port.drop_for.is_some() {
        return Err("--drop-after/--drop-for apply only with --fault drop (e.g. --fault drop --drop-after 2 --drop-for 3)".to_owned());
    } else {
        PortDrop::Never
    };
    let mut faults = to_faults(&port.faults, &port.timing);
    faults.drop_port = false;
    *responder.faults_mut() = faults;
    let station = SerialStation::new(plant, responder, port.timing.speed);
    Ok(serve(station, port.listen, drop_plan))
}

/// A Modbus device: its `--fault drop` closes the port for good.
fn modbus(
    plant: Plant,
    mut responder: Box<dyn ModbusResponder + Send>,
    port: SerialPort,
) -> Result<ExitCode, String> {
    if port.drop_after.is_some() || port.drop_for.is_some() {
        return Err("--drop-after/--drop-for: the Modbus devices only drop the port for good (--fault drop alone)".to_owned());
    }
    let faults = to_faults(&port.faults, &port.timing);
    *responder.faults_mut() = faults;
    let drop_plan = if faults.drop_port {
        PortDrop::AtOnce
    } else {
        PortDrop::Never
    };
    let rtu = RtuPort::new(plant, responder, port.timing.speed);
    Ok(serve(rtu, port.listen, drop_plan))
}

/// A CAN device behind the simulated SLCAN adapter (`--bitrate`, default `bitrate`);
/// `after_frames` sees the device after each batch of host frames.
fn can<D: CanResponder + std::fmt::Debug>(
    plant: Plant,
    mut device: D,
    bitrate: u32,
    port: CanPort,
    after_frames: fn(&mut D) -> io::Result<()>,
) -> ExitCode {
    let faults = to_faults(&port.faults, &port.timing);
    *device.faults_mut() = faults;
    let drop_plan = if faults.drop_port {
        PortDrop::AtOnce
    } else {
        PortDrop::Never
    };
    let bitrate = port.bitrate.unwrap_or(bitrate);
    let station =
        CanStation::new(plant, device, port.timing.speed, bitrate, log).after_frames(after_frames);
    serve(station, port.listen, drop_plan)
}

/// Where the serving layer's messages go: stderr, never panicking.
fn log(args: std::fmt::Arguments<'_>) {
    voltwire_runtime::logging::stderr_line(args);
}

/// Serve `port` until SIGINT/SIGTERM (status 0); status 1 on an error.
fn serve<P: Port>(mut port: P, listen: Listen, drop_plan: PortDrop) -> ExitCode {
    serve_blocking(async move {
        // Install the handlers before announcing, so that a signal right after the first
        // line ends us cleanly.
        let stop = stop_signal()?;
        voltwire_sim::serve::serve(&mut port, listen, drop_plan, log, announce, stop).await
    })
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

/// Install the SIGINT and SIGTERM handlers now; the future resolves when either arrives.
fn stop_signal() -> io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
    })
}

/// The first stdout line: `{"listening": "<pty path or address>"}`.
fn announce(listening: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{}", serde_json::json!({ "listening": listening }))?;
    out.flush()
}

fn usage(msg: &str) -> ExitCode {
    say!("voltwire sim: {msg}");
    ExitCode::from(2)
}

/// The simulated inverter prints what it read, one JSON object per frame.
fn report_seen(inv: &mut PylontechInverter) -> io::Result<()> {
    let mut seen = Vec::new();
    inv.drain_seen(&mut seen);
    if seen.is_empty() {
        return Ok(());
    }
    let mut out = io::stdout().lock();
    for (id, m) in seen {
        writeln!(out, "{}", seen_json(id, m))?;
    }
    out.flush()
}

/// One frame the inverter read as JSON: `{"seen": "0x351", "type": …, fields…}` or
/// `{"seen": "0x351", "error": "<code>"}`.
fn seen_json(id: u32, m: Result<Message, ParseError>) -> serde_json::Value {
    let mut o = serde_json::Map::new();
    o.insert("seen".into(), format!("0x{id:03X}").into());
    match m {
        Ok(m) => {
            o.insert("type".into(), m.name().into());
            // The crate's serde shape; a message serializes as an object.
            if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(m) {
                o.extend(fields);
            }
        }
        Err(e) => {
            o.insert("error".into(), e.code().into());
        }
    }
    serde_json::Value::Object(o)
}

// ---------------------------------------------------------------- --list and hints

/// The options every device's `--list` line leaves out (listed once at the end).
const EVERY_DEVICE: &[&str] = &[
    "help",
    "speed",
    "fault",
    "delay-ms",
    "drop-after",
    "drop-for",
];

/// The devices and their options, from the subcommands themselves.
fn list() -> ExitCode {
    use std::fmt::Write as _;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "devices (voltwire sim DEVICE --listen pty|tcp://HOST:PORT [OPTIONS]):"
    );
    let sim = devices();
    for d in sim.get_subcommands() {
        let name = d.get_name();
        let about = d.get_about().map(ToString::to_string).unwrap_or_default();
        let about = about.split_whitespace().collect::<Vec<_>>().join(" ");
        let _ = writeln!(text, "  {name:<20} {about}");
        let mut opts = Vec::new();
        for a in d.get_arguments() {
            let Some(long) = a.get_long() else {
                // A positional argument (scene's FILE.toml) leads the line.
                if let (true, Some([v])) = (a.is_positional(), a.get_value_names()) {
                    opts.insert(0, v.to_string());
                }
                continue;
            };
            if EVERY_DEVICE.contains(&long) {
                continue;
            }
            match (long, a.get_value_names()) {
                ("listen", Some([v])) => opts.insert(0, format!("--listen {v}")),
                _ => opts.push(format!("--{long}")),
            }
        }
        let default_cells = match name {
            "pylontech-rs485" => " (default --cells 15)",
            _ if opts.iter().any(|o| o == "--cells") => " (default --cells 16)",
            _ => "",
        };
        let _ = writeln!(
            text,
            "  {:<20} options: {}{default_cells}",
            "",
            opts.join(" ")
        );
    }
    let _ = writeln!(
        text,
        "every device: --speed N, --fault {{{}}} (repeatable, as the device has them), --delay-ms MS; serial and Modbus devices: --drop-after S, --drop-for S",
        fault_names().join("|")
    );
    match crate::stdout::write_all(&text) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => crate::stdout::failed("voltwire sim", &e),
    }
}

/// The `voltwire sim` command with its device subcommands.
fn devices() -> clap::Command {
    crate::Cli::command()
        .find_subcommand("sim")
        .cloned()
        .unwrap_or_else(|| clap::Command::new("sim"))
}

/// For an unknown option of `voltwire sim DEVICE`: the devices that take it, e.g.
/// "--mqtt is an option of: meter".
pub(crate) fn hint(err: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if err.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    let Some(ContextValue::String(arg)) = err.get(ContextKind::InvalidArg) else {
        return None;
    };
    let long = arg.strip_prefix("--")?;
    let long = long.split_once('=').map_or(long, |(l, _)| l);
    let takers: Vec<_> = devices()
        .get_subcommands()
        .filter(|d| d.get_arguments().any(|a| a.get_long() == Some(long)))
        .map(|d| d.get_name().to_owned())
        .collect();
    (!takers.is_empty()).then(|| format!("--{long} is an option of: {}", takers.join(", ")))
}
