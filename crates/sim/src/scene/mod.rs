//! Simulated installations (feature `scene`): every device of a scene on its own link, all
//! on one shared plant ([`crate::World`]), with a script of events.
//!
//! A scene is a TOML file:
//!
//! ```toml
//! [flows]                 # W at the start: charge_w, discharge_w, pv_w, mppt_pv_w, load_w
//! discharge_w = 2000      # load_profile / pv_profile: constant, step, sine, ramp
//!
//! [[pack]]                # plant packs in order; `count` repeats one
//! count = 4               # cells = 16, capacity_ah = 100, soc = 50 (%), ambient_c = 25
//! soc = 60
//!
//! [[device]]
//! name = "pack1"
//! kind = "pace"           # see `Kind`
//! listen = "tcp://127.0.0.1:0"   # or "pty"; CAN devices "slcan-pty" or tcp:// (SLCAN),
//!                         # or "virtual://NAME" (an app's in-process bus; `serve_in`);
//!                         # the meter "http://HOST:PORT" (served by the app: `External`)
//! packs = [1]             # plant packs it reports, 1-based (default: all)
//! line_timing = true      # pace bytes at `baud` (default: the device's usual rate)
//!
//! [[event]]
//! at = 30                 # sim seconds
//! action = "silent"       # silent | back | drop | fault | cell-drift | load | pv | charge | discharge
//! device = "pack2"
//! ```
//!
//! A day (`[sun]`: PV on the MPPTs or AC, the afternoon's warmth), relays (`kind = "relay"`,
//! `load_w` / `balance_ma`, on `mqtt://HOST:PORT/TOPIC` as a Tasmota device or
//! `virtual://NAME` for the app), 1-Wire files (`kind = "onewire"`, `listen = "dir:PATH"`,
//! `[[device.sensor]]`) and the grid meter on MQTT (`mqtt`, `topic`) are described in
//! `examples/scenes/README.md`.
//!
//! [`Scene::parse`] validates everything and names the field of any error
//! (`device[2].listen: …`); [`Scene::serve`] serves every device until a stop, and
//! [`Scene::serve_in`] does so on a given world with an app's in-process CAN buses.

use core::time::Duration;
use std::io;

use voltwire_core::{MilliampHours, Milliamps, Millivolts, Watts};
use voltwire_meanwell::Model;

use crate::device::PylontechInverter;
use crate::device::{
    DalyBms, JkBms, JkPb, LoadProfile, MeanwellPsu, PaceSettings, PaceStack, PylontechCanBms,
    PylontechStack, VeDirect, VeDirectKind,
};
use crate::modbus::{CoulombMeter, Lumentree};
use crate::serve::can::{CanNode, CanStation, NoBus};
use crate::serve::rtu::RtuPort;
use crate::serve::{Listen, Log, Port, PortDrop, Pty, SerialStation};
use crate::world::{Action, Event, SharedWorld, World, merge};
use crate::{Faults, Flows, PackConfig, Plant, SerialResponder, SimClock};

mod day;
mod file;
mod relay;

pub use day::{MeterMqtt, OneWireSensor, SensorReads, serve_onewire};

/// What a scene device is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// Pace packs (RS485 v25), [`PaceStack`].
    Pace,
    /// A Pylontech stack (RS485 0x20), [`PylontechStack`].
    PylontechRs485,
    /// A Daly BMS, [`DalyBms`].
    Daly,
    /// A JK BMS, [`JkBms`].
    Jk,
    /// A JK-PB inverter BMS, [`JkPb`].
    JkPb,
    /// A Victron MPPT on VE.Direct.
    VedirectMppt,
    /// A Victron SmartShunt on VE.Direct.
    VedirectSmartshunt,
    /// The Eco-Worthy coulomb meter (Modbus RTU), [`CoulombMeter`].
    Coulombmeter,
    /// A Lumentree grid-tie inverter (Modbus RTU), [`Lumentree`].
    Lumentree,
    /// A Pylontech-protocol BMS on CAN behind an SLCAN adapter (or on an app's bus),
    /// [`PylontechCanBms`]: of every plant pack, or of its `packs`.
    PylontechCan,
    /// A Mean Well BIC-2200-48 on CAN behind an SLCAN adapter.
    MeanwellBic2200,
    /// A Mean Well NPB-1700-48 on CAN behind an SLCAN adapter.
    MeanwellNpb,
    /// The inverter side of Pylontech CAN behind an SLCAN adapter (or on an app's bus):
    /// 0x305 every `keep_alive_s` (1 s by default; 0: none, an inverter the BMS side pushes
    /// to). What it reads is dropped (`voltwire sim pylontech-inverter` prints it).
    PylontechInverter,
    /// The grid meter (Shelly Pro 3EM) over HTTP: served by the app ([`External`]), since
    /// its HTTP server is the app's; it reads the shared plant's flows. With `mqtt` it also
    /// publishes to a broker (the app's too).
    Meter,
    /// A relay switching a DC load (`load_w`) and/or a balancer (`balance_ma`) on the bank:
    /// on an app's in-process hook (`virtual://NAME`, [`World::set_relay`]) or a Tasmota-style
    /// relay on MQTT (`mqtt://HOST:PORT/TOPIC`: `cmnd/TOPIC/POWER`, `stat/TOPIC/POWER`).
    Relay,
    /// 1-Wire temperature sensors: a directory (`dir:PATH`) of `28-…/temperature` files
    /// kept updated from the plant ([`OneWireSensor`]).
    OneWire,
}

impl Kind {
    /// Every kind with its name in a scene file.
    pub const ALL: [(Self, &'static str); 16] = [
        (Self::Pace, "pace"),
        (Self::PylontechRs485, "pylontech-rs485"),
        (Self::Daly, "daly"),
        (Self::Jk, "jk"),
        (Self::JkPb, "jk-pb"),
        (Self::VedirectMppt, "vedirect-mppt"),
        (Self::VedirectSmartshunt, "vedirect-smartshunt"),
        (Self::Coulombmeter, "coulombmeter"),
        (Self::Lumentree, "lumentree"),
        (Self::PylontechCan, "pylontech-can"),
        (Self::MeanwellBic2200, "meanwell-bic2200"),
        (Self::MeanwellNpb, "meanwell-npb"),
        (Self::PylontechInverter, "pylontech-inverter"),
        (Self::Meter, "meter"),
        (Self::Relay, "relay"),
        (Self::OneWire, "onewire"),
    ];

    /// The kind named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, n)| *n == name).map(|(k, _)| *k)
    }

    /// Its name in a scene file.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(k, _)| *k == self)
            .map_or("?", |(_, n)| n)
    }

    /// Whether it speaks on a CAN bus (served behind a simulated SLCAN adapter).
    pub fn is_can(self) -> bool {
        matches!(
            self,
            Self::PylontechCan
                | Self::PylontechInverter
                | Self::MeanwellBic2200
                | Self::MeanwellNpb
        )
    }

    /// Whether it is a Modbus RTU slave.
    pub fn is_modbus(self) -> bool {
        matches!(self, Self::Coulombmeter | Self::Lumentree)
    }

    /// Whether it is a device on a serial line (pty or a console server's TCP port).
    pub fn is_serial(self) -> bool {
        !self.is_can()
            && !self.is_modbus()
            && !matches!(self, Self::Meter | Self::Relay | Self::OneWire)
    }

    /// Whether it reports exactly one pack.
    fn one_pack(self) -> bool {
        matches!(self, Self::Daly | Self::Jk | Self::JkPb)
    }

    /// Whether it reports packs at all (`packs = […]` applies).
    fn has_packs(self) -> bool {
        self.one_pack() || matches!(self, Self::Pace | Self::PylontechRs485 | Self::PylontechCan)
    }

    /// The usual serial bit rate.
    fn default_baud(self) -> u32 {
        match self {
            Self::Jk | Self::JkPb => 115_200,
            Self::VedirectMppt | Self::VedirectSmartshunt => 19_200,
            _ => 9_600,
        }
    }

    /// The usual CAN bit rate.
    fn default_bitrate(self) -> u32 {
        match self {
            Self::PylontechCan | Self::PylontechInverter => 500_000,
            _ => 250_000,
        }
    }
}

/// A scene file that does not hold: the field and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SceneError {
    /// The field, e.g. `device[2].listen` (`scene` for the file as a whole).
    pub field: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl core::fmt::Display for SceneError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for SceneError {}

fn err<T>(field: impl Into<String>, message: impl Into<String>) -> Result<T, SceneError> {
    Err(SceneError {
        field: field.into(),
        message: message.into(),
    })
}

/// One device of a validated scene.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceSpec {
    /// Its unique name.
    pub name: String,
    /// What it is.
    pub kind: Kind,
    /// Where it is served.
    pub listen: Listen,
    /// The plant packs it reports: `first..first + count` (0-based).
    pub packs: (usize, usize),
    /// Its address (Pace: first pack; Modbus: slave; JK-PB: DIP address), if given.
    pub address: Option<u8>,
    /// The serial bit rate when its bytes are paced (`line_timing = true`).
    pub line_timing: Option<u32>,
    /// The CAN bit rate (CAN kinds).
    pub bitrate: u32,
    /// Its faults at the start.
    pub faults: Faults,
    /// Pace: the protection settings its configuration reads report.
    pub settings: Option<PaceSettings>,
    /// When its port goes away (connections refused, a pty gone) and for how long, in
    /// sim time (a `drop` event).
    pub drop: Option<(Duration, Option<Duration>)>,
    /// A Pylontech inverter: how often it sends 0x305 (`None`: never, it only listens).
    pub keep_alive: Option<Duration>,
    /// A relay: the DC load and the balancing current it switches.
    pub relay: Option<(Watts, Milliamps)>,
    /// A onewire device: its sensors.
    pub sensors: Vec<OneWireSensor>,
    /// A meter: its MQTT publishing, if any.
    pub mqtt: Option<MeterMqtt>,
    /// A VE.Direct MPPT: how many MPPTs of the scene share the PV (it reports its part).
    pub mppt_share: u16,
}

/// A validated scene: the plant, the devices, the script.
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    /// Its name (the file's `name`, or empty).
    pub name: String,
    /// The plant packs.
    pub packs: Vec<PackConfig>,
    /// The flows at the start.
    pub flows: Flows,
    /// How the house load and the AC PV vary around their levels (`[flows] load_profile`,
    /// `pv_profile`; constant by default).
    pub profiles: (LoadProfile, LoadProfile),
    /// The devices.
    pub devices: Vec<DeviceSpec>,
    /// The script (drops are the devices' [`DeviceSpec::drop`]).
    pub events: Vec<Event>,
    /// The day's sun and warmth (`[sun]`), if any.
    pub sun: Option<crate::world::Sun>,
    /// The MPPTs' absorption voltage of a pack (`[flows] absorption_mv`), if any.
    pub absorption: Option<Millivolts>,
}

/// The faults a scene names (as `voltwire sim --fault`).
const FAULTS: &str = "silent, late, garbage, bad-checksum, cell-overvoltage, over-temperature";

fn fault(name: &str, delay: Duration) -> Option<Faults> {
    let mut f = Faults::default();
    match name {
        "silent" => f.silent = true,
        "late" => f.delay = delay,
        "garbage" => f.garbage = true,
        "bad-checksum" => f.bad_checksum = true,
        "cell-overvoltage" => f.cell_over_voltage = true,
        "over-temperature" => f.over_temperature = true,
        _ => return None,
    }
    Some(f)
}

fn int_in<T: TryFrom<i64>>(
    v: i64,
    range: core::ops::RangeInclusive<i64>,
    field: &str,
    hint: &str,
) -> Result<T, SceneError> {
    if !range.contains(&v) {
        return err(field, format!("{v} is out of range: {hint}"));
    }
    T::try_from(v).or_else(|_| err(field, hint.to_owned()))
}

fn watts(v: i64, field: &str) -> Result<Watts, SceneError> {
    int_in::<i32>(
        v,
        0..=1_000_000,
        field,
        "a power is a magnitude in W from 0 to 1000000 (the direction is in the key)",
    )
    .map(Watts)
}

fn seconds(v: f64, field: &str) -> Result<Duration, SceneError> {
    if !(v.is_finite() && (0.0..=31_536_000.0).contains(&v)) {
        return err(
            field,
            format!("{v} is not a time: give seconds from 0 (e.g. at = 30)"),
        );
    }
    Ok(Duration::from_secs_f64(v))
}

impl Scene {
    /// Read and validate a scene file.
    ///
    /// # Errors
    ///
    /// The first field that does not hold, named (`device[2].listen`, `event[0].device`)
    /// with the fix.
    pub fn parse(text: &str) -> Result<Self, SceneError> {
        let f: file::SceneFile = toml::from_str(text).or_else(|e| {
            let msg = e.message().trim().to_owned();
            let at = e
                .span()
                .map(|s| {
                    let line = text
                        .get(..s.start)
                        .map_or(1, |t| t.matches('\n').count() + 1);
                    format!(" (line {line})")
                })
                .unwrap_or_default();
            err("scene", format!("{msg}{at}"))
        })?;
        let packs = packs(&f.packs)?;
        let flows = Flows {
            charge: watts(f.flows.charge_w, "flows.charge_w")?,
            discharge: watts(f.flows.discharge_w, "flows.discharge_w")?,
            pv: watts(f.flows.pv_w, "flows.pv_w")?,
            mppt_pv: watts(f.flows.mppt_pv_w, "flows.mppt_pv_w")?,
            load: watts(f.flows.load_w, "flows.load_w")?,
        };
        let profile = |name: &Option<String>, key: &str| match name {
            None => Ok(LoadProfile::Constant),
            Some(n) => LoadProfile::parse(n).map_or_else(
                || {
                    err(
                        format!("flows.{key}"),
                        format!("{n:?}: choose one of {}", LoadProfile::NAMES.join(", ")),
                    )
                },
                Ok,
            ),
        };
        let profiles = (
            profile(&f.flows.load_profile, "load_profile")?,
            profile(&f.flows.pv_profile, "pv_profile")?,
        );
        if f.devices.is_empty() {
            return err(
                "device",
                "a scene serves at least one device: add a [[device]] with name, kind and listen",
            );
        }
        let mut devices = Vec::new();
        for (i, d) in f.devices.iter().enumerate() {
            let spec = device(d, &format!("device[{i}]"), &packs)?;
            if devices.iter().any(|o: &DeviceSpec| o.name == spec.name) {
                return err(
                    format!("device[{i}].name"),
                    format!(
                        "{:?} is used twice: give every device its own name",
                        spec.name
                    ),
                );
            }
            if let Listen::Virtual(bus) = &spec.listen {
                if let Some(o) = devices
                    .iter()
                    .find(|o| matches!(&o.listen, Listen::Virtual(b) if b == bus))
                {
                    return err(
                        format!("device[{i}].listen"),
                        format!(
                            "virtual://{bus} is {:?}'s bus already: give every device a bus of its own (outside an app each is an SLCAN adapter of its own)",
                            o.name
                        ),
                    );
                }
            }
            devices.push(spec);
        }
        let absorption = share_mppts(&mut devices, f.flows.absorption_mv)?;
        let sun = f.sun.as_ref().map(day::sun).transpose()?;
        let mut events = Vec::new();
        for (i, e) in f.events.iter().enumerate() {
            if let Some(ev) = event(e, &format!("event[{i}]"), &mut devices, &packs)? {
                events.push(ev);
            }
        }
        Ok(Self {
            name: f.name.unwrap_or_default(),
            packs,
            flows,
            profiles,
            devices,
            events,
            sun,
            absorption,
        })
    }

    /// The index of the device named `name` (its place in the world:
    /// [`World::faults`], [`World::set_relay`]).
    pub fn device_index(&self, name: &str) -> Option<usize> {
        self.devices.iter().position(|d| d.name == name)
    }

    /// The shared plant of the scene, running `speed` times faster than real time from now,
    /// every device's faults and the script in it.
    ///
    /// Its clock is tokio's ([`SimClock::tokio`]): the wall clock, or the paused clock of a
    /// test, which then drives the script and every device in injected time.
    pub fn world(&self, speed: f64) -> SharedWorld {
        let mut plant = Plant::new(self.packs.clone());
        plant.flows = self.flows;
        plant.set_absorption(self.absorption);
        let mut w = World::with_clock(plant, SimClock::tokio(speed), self.devices.len());
        for (i, d) in self.devices.iter().enumerate() {
            w = w.with_faults(i, d.faults);
        }
        let relays = self.devices.iter().enumerate().filter_map(|(i, d)| {
            d.relay.map(|(load, balance)| crate::world::RelayLoad {
                device: i,
                load,
                balance,
            })
        });
        w = w.with_relays(relays);
        if let Some(sun) = self.sun {
            w = w.with_sun(sun);
        }
        w.with_profiles(self.profiles.0, self.profiles.1)
            .with_script(self.events.iter().copied())
            .shared()
    }

    /// Serve every device on its link, all on [`Scene::world`], until `stop` resolves (then
    /// `Ok`). `announce` gets each device's name and link (pty path or address) in the
    /// scene's order, each once its port is open and before anything is served; `external`
    /// serves the devices the app serves itself ([`no_external`] when none). A
    /// `virtual://NAME` device is served behind a simulated SLCAN adapter on a new pty (an
    /// in-process bus needs the app: [`Scene::serve_in`]).
    ///
    /// # Errors
    ///
    /// A port that cannot be opened or fails, a failed announcement: the device named.
    pub async fn serve(
        &self,
        speed: f64,
        log: Log,
        announce: impl FnMut(&str, &str) -> io::Result<()>,
        external: ServeExternal,
        stop: impl Future<Output = ()>,
    ) -> io::Result<()> {
        self.serve_in(
            self.world(speed),
            log,
            announce,
            external,
            |_: &str| None::<NoBus>,
            stop,
        )
        .await
    }

    /// [`Scene::serve`] on `world` (one from [`Scene::world`], which the caller keeps to
    /// watch or drive), with `buses` giving the node of an in-process bus by name for each
    /// `virtual://NAME` device: the device is then on that bus itself and announced as
    /// `virtual://NAME`; where `buses` gives `None` it goes behind a simulated SLCAN
    /// adapter on a new pty. A scripted port drop follows the world's speed.
    ///
    /// # Errors
    ///
    /// As [`Scene::serve`]; a bus that fails ends the scene naming the device.
    pub async fn serve_in<N: CanNode + 'static>(
        &self,
        world: SharedWorld,
        log: Log,
        mut announce: impl FnMut(&str, &str) -> io::Result<()>,
        mut external: ServeExternal,
        mut buses: impl FnMut(&str) -> Option<N>,
        stop: impl Future<Output = ()>,
    ) -> io::Result<()> {
        let speed = crate::world::lock(&world).clock().speed();
        let local = tokio::task::LocalSet::new();
        let mut stop = core::pin::pin!(stop);
        local
            .run_until(async move {
                let mut tasks = tokio::task::JoinSet::new();
                for (i, d) in self.devices.iter().enumerate() {
                    let own = serve_own(d, i, &world, &mut tasks, log);
                    if let Some(rx) = own {
                        let link = tokio::select! {
                            () = &mut stop => return Ok(()),
                            link = rx => link,
                        };
                        match link {
                            Ok(link) => announce(&d.name, &link)?,
                            Err(_) => return Err(ended(tasks.join_next().await)),
                        }
                        continue;
                    }
                    let mut port = served(d, i, &world, log);
                    let mut listen = d.listen.clone();
                    let plan = drop_plan(d.drop, speed);
                    let (tx, rx) = tokio::sync::oneshot::channel::<String>();
                    let name = d.name.clone();
                    let node = match &listen {
                        Listen::Virtual(bus) => buses(bus).map(|n| (n, format!("virtual://{bus}"))),
                        _ => None,
                    };
                    if node.is_none() && matches!(listen, Listen::Virtual(_)) {
                        // No bus of the app's: behind a simulated SLCAN adapter instead.
                        listen = Listen::Pty;
                    }
                    if let Some((node, link)) = node {
                        let _ = tx.send(link);
                        tasks.spawn_local(async move {
                            let e = port.serve_node(node).await;
                            (name, Err(e))
                        });
                    } else if matches!(port, Served::External) {
                        let serving = external(External {
                            spec: d.clone(),
                            index: i,
                            world: world.clone(),
                            link: tx,
                        });
                        tasks.spawn_local(async move { (name, serving.await) });
                    } else {
                        tasks.spawn_local(async move {
                            let r = crate::serve::serve(
                                &mut port,
                                listen,
                                plan,
                                log,
                                |link| {
                                    let _ = tx.send(link.to_owned());
                                    Ok(())
                                },
                                core::future::pending(),
                            )
                            .await;
                            (name, r)
                        });
                    }
                    let link = tokio::select! {
                        () = &mut stop => return Ok(()),
                        link = rx => link,
                    };
                    match link {
                        Ok(link) => announce(&d.name, &link)?,
                        Err(_) => return Err(ended(tasks.join_next().await)),
                    }
                }
                tokio::select! {
                    () = &mut stop => Ok(()),
                    r = tasks.join_next() => Err(ended(r)),
                }
            })
            .await
    }
}

/// Give each MPPT its share of the PV; the absorption voltage validated.
fn share_mppts(
    devices: &mut [DeviceSpec],
    absorption_mv: Option<i64>,
) -> Result<Option<Millivolts>, SceneError> {
    let mppts = devices
        .iter()
        .filter(|d| d.kind == Kind::VedirectMppt)
        .count();
    for d in devices.iter_mut() {
        if d.kind == Kind::VedirectMppt {
            d.mppt_share = u16::try_from(mppts).unwrap_or(u16::MAX);
        }
    }
    absorption_mv
        .map(|v| {
            int_in(
                v,
                1_000..=1_000_000,
                "flows.absorption_mv",
                "give the MPPTs' absorption voltage of a pack in mV (e.g. absorption_mv = 28400 for 8 LFP cells)",
            )
            .map(Millivolts)
        })
        .transpose()
}

/// What a device's task in a scene's set gives back when it ends: its name and why.
type Ended = (String, io::Result<()>);

/// Serve the devices a scene serves without a port (1-Wire files, relays) in
/// `tasks`; the channel its link comes on, or `None` for every other device.
fn serve_own(
    d: &DeviceSpec,
    i: usize,
    world: &SharedWorld,
    tasks: &mut tokio::task::JoinSet<Ended>,
    log: Log,
) -> Option<tokio::sync::oneshot::Receiver<String>> {
    let (tx, rx) = tokio::sync::oneshot::channel::<String>();
    let name = d.name.clone();
    match (&d.kind, &d.listen) {
        (Kind::OneWire, Listen::Dir(dir)) => {
            let serving = day::serve_onewire(dir.into(), d.sensors.clone(), i, world.clone(), tx);
            tasks.spawn_local(async move { (name, serving.await) });
        }
        (Kind::Relay, Listen::Mqtt { broker, topic }) => {
            let serving = relay::serve(
                name.clone(),
                i,
                broker.clone(),
                topic.clone(),
                world.clone(),
                tx,
                log,
            );
            tasks.spawn_local(async move { (name, serving.await) });
        }
        (Kind::Relay, Listen::Virtual(bus)) => {
            // Switched in-process by the app (World::set_relay): nothing to serve, but it
            // stays in the set so that the scene never runs empty.
            let _ = tx.send(format!("virtual://{bus}"));
            tasks.spawn_local(async move {
                core::future::pending::<()>().await;
                (name, Ok(()))
            });
        }
        _ => return None,
    }
    Some(rx)
}

/// The error of a device's serving that ended (it only ends on an error).
fn ended(r: Option<Result<(String, io::Result<()>), tokio::task::JoinError>>) -> io::Error {
    match r {
        Some(Ok((name, Err(e)))) => io::Error::new(e.kind(), format!("device {name}: {e}")),
        Some(Ok((name, Ok(())))) => io::Error::other(format!("device {name}: serving ended")),
        Some(Err(e)) => io::Error::other(format!("a device's serving failed: {e}")),
        None => io::Error::other("no device left to serve"),
    }
}

/// The serving layer's drop plan for a scene drop at sim time `at` for `down`.
fn drop_plan(drop: Option<(Duration, Option<Duration>)>, speed: f64) -> PortDrop {
    let real = |d: Duration| d.div_f64(if speed > 0.0 { speed } else { 1.0 });
    match drop {
        None => PortDrop::Never,
        Some((after, down)) => PortDrop::After {
            after: real(after),
            down: down.map(real),
        },
    }
}

/// What a device is served as.
enum Served {
    Serial(SerialStation),
    Rtu(RtuPort),
    PylontechCan(CanStation<PylontechCanBms>),
    Meanwell(CanStation<MeanwellPsu>),
    Inverter(CanStation<PylontechInverter>),
    /// Served by the app ([`External`]); never reaches the serving layer.
    External,
}

impl Served {
    /// Serve the device on an app's in-process bus (CAN kinds); the error that ended it.
    async fn serve_node<N: CanNode>(&mut self, node: N) -> io::Error {
        match self {
            Self::PylontechCan(p) => p.serve_node(node).await,
            Self::Meanwell(p) => p.serve_node(node).await,
            Self::Inverter(p) => p.serve_node(node).await,
            Self::Serial(_) | Self::Rtu(_) | Self::External => io::Error::new(
                io::ErrorKind::Unsupported,
                "only a CAN device goes on an in-process bus",
            ),
        }
    }
}

impl Port for Served {
    async fn serve_tcp(&mut self, listener: tokio::net::TcpListener, log: Log) -> io::Result<()> {
        match self {
            Self::Serial(p) => p.serve_tcp(listener, log).await,
            Self::Rtu(p) => p.serve_tcp(listener, log).await,
            Self::PylontechCan(p) => p.serve_tcp(listener, log).await,
            Self::Meanwell(p) => p.serve_tcp(listener, log).await,
            Self::Inverter(p) => p.serve_tcp(listener, log).await,
            Self::External => Err(io::Error::other("served by the app")),
        }
    }

    async fn serve_pty(&mut self, pty: Pty, log: Log) -> io::Result<()> {
        match self {
            Self::Serial(p) => p.serve_pty(pty, log).await,
            Self::Rtu(p) => p.serve_pty(pty, log).await,
            Self::PylontechCan(p) => p.serve_pty(pty, log).await,
            Self::Meanwell(p) => p.serve_pty(pty, log).await,
            Self::Inverter(p) => p.serve_pty(pty, log).await,
            Self::External => Err(io::Error::other("served by the app")),
        }
    }
}

/// Device `i` of a scene, `d`, on `world`.
fn served(d: &DeviceSpec, i: usize, world: &SharedWorld, log: Log) -> Served {
    if let Some(r) = d.serial_responder() {
        let s = SerialStation::in_world(world.clone(), i, r);
        return Served::Serial(match d.line_timing {
            Some(baud) => s.with_line_timing(baud),
            None => s,
        });
    }
    match d.kind {
        Kind::Coulombmeter => {
            let plant = crate::world::lock(world).plant().clone();
            let m = CoulombMeter::new(&plant).with_address(d.address.unwrap_or(1));
            Served::Rtu(RtuPort::in_world(world.clone(), Some(i), Box::new(m)))
        }
        Kind::PylontechCan => Served::PylontechCan(CanStation::in_world(
            world.clone(),
            Some(i),
            PylontechCanBms::new().with_packs(d.packs.0, d.packs.1),
            d.bitrate,
            log,
        )),
        Kind::MeanwellBic2200 | Kind::MeanwellNpb => {
            let model = if d.kind == Kind::MeanwellNpb {
                Model::Npb1700_48
            } else {
                Model::Bic2200_48
            };
            let psu = MeanwellPsu::new(model, d.address.unwrap_or(0));
            Served::Meanwell(CanStation::in_world(
                world.clone(),
                Some(i),
                psu,
                d.bitrate,
                log,
            ))
        }
        Kind::PylontechInverter => {
            let inverter = d
                .keep_alive
                .map_or_else(PylontechInverter::listening, PylontechInverter::new);
            Served::Inverter(
                CanStation::in_world(world.clone(), Some(i), inverter, d.bitrate, log)
                    .after_frames(forget_seen),
            )
        }
        Kind::Lumentree => {
            let m = Lumentree::new().with_address(d.address.unwrap_or(1));
            Served::Rtu(RtuPort::in_world(world.clone(), Some(i), Box::new(m)))
        }
        // The serial kinds are served above; the meter is the app's.
        Kind::Pace
        | Kind::PylontechRs485
        | Kind::Daly
        | Kind::Jk
        | Kind::JkPb
        | Kind::VedirectMppt
        | Kind::VedirectSmartshunt
        | Kind::Meter
        | Kind::Relay
        | Kind::OneWire => Served::External,
    }
}

/// A scene's inverter keeps nothing of what it read (it would grow without bound).
#[allow(
    clippy::unnecessary_wraps,
    reason = "the shape CanStation::after_frames takes"
)]
fn forget_seen(inverter: &mut PylontechInverter) -> io::Result<()> {
    let mut seen = Vec::new();
    inverter.drain_seen(&mut seen);
    Ok(())
}

/// A device a scene leaves to the app ([`Kind::Meter`]: its HTTP server lives in the app):
/// what it is, its place in the world, and where its link goes once it listens.
#[derive(Debug)]
pub struct External {
    /// The device.
    pub spec: DeviceSpec,
    /// Its index in the world ([`World::faults`]).
    pub index: usize,
    /// The scene's world.
    pub world: SharedWorld,
    /// Send the link (e.g. `http://127.0.0.1:8080`) here once listening; it is announced
    /// in turn.
    pub link: tokio::sync::oneshot::Sender<String>,
}

/// How an app serves the [`External`] devices: a future that sends the link and then serves
/// until it fails (it is dropped when the scene stops).
pub type ServeExternal =
    Box<dyn FnMut(External) -> core::pin::Pin<Box<dyn Future<Output = io::Result<()>>>>>;

/// For [`Scene::serve`] without an app that serves external devices: each fails, named.
pub fn no_external() -> ServeExternal {
    Box::new(|e: External| {
        let kind = e.spec.kind.name();
        Box::pin(async move {
            Err(io::Error::other(format!(
                "a {kind} is served by an app (voltwire sim scene), not by the sim crate alone"
            )))
        })
    })
}

impl DeviceSpec {
    /// The device as a sans-IO [`SerialResponder`] (its faults as configured), for the
    /// serial kinds; `None` for the Modbus and CAN kinds. A test or an app's closed loop
    /// drives it on the scene's [`Scene::world`] with injected time.
    pub fn serial_responder(&self) -> Option<Box<dyn SerialResponder + Send>> {
        let (first, count) = self.packs;
        let mut r: Box<dyn SerialResponder + Send> = match self.kind {
            Kind::Pace => {
                let mut s = PaceStack::new()
                    .with_first_address(self.address.unwrap_or(1))
                    .with_packs(first, count);
                if let Some(set) = self.settings {
                    s = s.with_settings(set);
                }
                Box::new(s)
            }
            Kind::PylontechRs485 => Box::new(PylontechStack::new().with_packs(first, count)),
            Kind::Daly => Box::new(DalyBms::new(first)),
            Kind::Jk => Box::new(JkBms::new(first)),
            Kind::JkPb => Box::new(JkPb::new(self.address.unwrap_or(1), first)),
            Kind::VedirectMppt => {
                Box::new(VeDirect::new(VeDirectKind::Mppt).sharing(self.mppt_share))
            }
            Kind::VedirectSmartshunt => Box::new(VeDirect::new(VeDirectKind::SmartShunt)),
            _ => return None,
        };
        *r.faults_mut() = self.faults;
        Some(r)
    }
}

#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "checked ranges before the casts"
)]
fn packs(list: &[file::PackFile]) -> Result<Vec<PackConfig>, SceneError> {
    let mut out = Vec::new();
    for (i, p) in list.iter().enumerate() {
        let at = |k: &str| format!("pack[{i}].{k}");
        let count: usize = int_in(
            p.count,
            1..=64,
            &at("count"),
            "give 1 to 64 (e.g. count = 12)",
        )?;
        let cells: usize = int_in(
            p.cells,
            1..=48,
            &at("cells"),
            "give 1 to 48 cells (e.g. cells = 16)",
        )?;
        if !(p.capacity_ah.is_finite() && (1.0..=10_000.0).contains(&p.capacity_ah)) {
            return err(
                at("capacity_ah"),
                "give the capacity in Ah, 1 to 10000 (e.g. capacity_ah = 100)",
            );
        }
        if !(p.soc.is_finite() && (0.0..=100.0).contains(&p.soc)) {
            return err(
                at("soc"),
                "give the state of charge in percent, 0 to 100 (e.g. soc = 60)",
            );
        }
        if !(p.ambient_c.is_finite() && (-40.0..=80.0).contains(&p.ambient_c)) {
            return err(
                at("ambient_c"),
                "give the ambient temperature in °C, -40 to 80 (e.g. ambient_c = 25)",
            );
        }
        let mut config = PackConfig {
            cells,
            capacity: MilliampHours((p.capacity_ah * 1000.0).round() as i64),
            initial_soc: p.soc / 100.0,
            ambient_celsius: p.ambient_c,
            ..PackConfig::default()
        };
        if let Some(sp) = p.spread_pct {
            if !(sp.is_finite() && (0.0..=20.0).contains(&sp)) {
                return err(
                    at("spread_pct"),
                    "give the cells' capacity spread in percent, 0 to 20 (e.g. spread_pct = 1.2)",
                );
            }
            config.spread = sp / 100.0;
        }
        if let Some(n) = p.temperature_sensors {
            config.temperature_sensors = int_in(
                n,
                1..=8,
                &at("temperature_sensors"),
                "give 1 to 8 sensors (e.g. temperature_sensors = 2)",
            )?;
        }
        out.extend(core::iter::repeat_n(config, count));
    }
    if out.is_empty() {
        return err(
            "pack",
            "a scene has at least one battery pack: add a [[pack]] (e.g. count = 4)",
        );
    }
    if out.len() > 64 {
        return err(
            "pack",
            format!("{} packs: a scene has at most 64", out.len()),
        );
    }
    Ok(out)
}

#[allow(
    clippy::too_many_lines,
    reason = "one check per field, in the file's order"
)]
fn device(d: &file::DeviceFile, at: &str, plant: &[PackConfig]) -> Result<DeviceSpec, SceneError> {
    let plant_packs = plant.len();
    let field = |k: &str| format!("{at}.{k}");
    if d.name.trim().is_empty() {
        return err(
            field("name"),
            "give the device a name (e.g. name = \"pack1\")",
        );
    }
    let Some(kind) = Kind::from_name(&d.kind) else {
        let names: Vec<_> = Kind::ALL.iter().map(|(_, n)| *n).collect();
        return err(
            field("kind"),
            format!(
                "{:?} is not a device; choose one of: {}",
                d.kind,
                names.join(", ")
            ),
        );
    };
    let listen = if kind == Kind::OneWire {
        let Some(dir) = d
            .listen
            .strip_prefix("dir:")
            .filter(|p| !p.trim().is_empty())
        else {
            return err(
                field("listen"),
                format!(
                    "{:?}: 1-Wire sensors are files: give the directory as \"dir:PATH\" (e.g. listen = \"dir:/tmp/w1\")",
                    d.listen
                ),
            );
        };
        Some(Listen::Dir(dir.to_owned()))
    } else if kind == Kind::Relay && d.listen.starts_with("mqtt://") {
        let rest = d.listen.trim_start_matches("mqtt://");
        let Some((host, topic)) = rest.split_once('/').filter(|(h, t)| {
            crate::serve::is_host_port(h.rsplit('@').next().unwrap_or(h)) && day::valid_topic(t)
        }) else {
            return err(
                field("listen"),
                format!(
                    "{:?}: a relay on MQTT is \"mqtt://HOST:PORT/TOPIC\" (Tasmota: cmnd/TOPIC/POWER), e.g. \"mqtt://127.0.0.1:1883/load1\"",
                    d.listen
                ),
            );
        };
        Some(Listen::Mqtt {
            broker: format!("mqtt://{host}"),
            topic: topic.to_owned(),
        })
    } else if kind == Kind::Relay && !d.listen.starts_with("virtual://") {
        return err(
            field("listen"),
            format!(
                "{:?}: a relay is \"virtual://NAME\" (switched by the app running the scene) or \"mqtt://HOST:PORT/TOPIC\"",
                d.listen
            ),
        );
    } else if kind == Kind::Meter {
        let Some(addr) = d
            .listen
            .strip_prefix("http://")
            .filter(|a| crate::serve::is_host_port(a))
        else {
            return err(
                field("listen"),
                format!(
                    "{:?}: the meter serves HTTP; give \"http://HOST:PORT\" (e.g. listen = \"http://127.0.0.1:0\")",
                    d.listen
                ),
            );
        };
        Some(Listen::Tcp(addr.to_owned()))
    } else if let Some(bus) = d.listen.strip_prefix("virtual://") {
        if !kind.is_can() && kind != Kind::Relay {
            return err(
                field("listen"),
                format!(
                    "virtual:// is an in-process CAN bus; a {} is not on CAN: use \"pty\" or \"tcp://HOST:PORT\"",
                    kind.name()
                ),
            );
        }
        if bus.is_empty()
            || !bus
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return err(
                field("listen"),
                format!(
                    "{:?}: name the bus with letters, digits, '-', '_' or '.' (e.g. listen = \"virtual://bms1\")",
                    d.listen
                ),
            );
        }
        Some(Listen::Virtual(bus.to_owned()))
    } else if kind.is_can() {
        if d.listen == "pty" {
            return err(
                field("listen"),
                "a CAN device is served through a simulated SLCAN adapter: use \"slcan-pty\" or \"tcp://HOST:PORT\"",
            );
        }
        Listen::parse(&d.listen, "slcan-pty")
    } else {
        Listen::parse(&d.listen, "pty")
    };
    let Some(listen) = listen else {
        let pty = if kind.is_can() { "slcan-pty" } else { "pty" };
        return err(
            field("listen"),
            format!(
                "{:?}: expected \"{pty}\" or \"tcp://HOST:PORT\" (e.g. listen = \"tcp://127.0.0.1:0\")",
                d.listen
            ),
        );
    };
    let packs = match (&d.packs, kind.has_packs()) {
        (Some(_), false) => {
            return err(
                field("packs"),
                format!("a {} measures the whole bank; remove `packs`", kind.name()),
            );
        }
        (None, _) if kind.one_pack() => {
            return err(
                field("packs"),
                format!(
                    "a {} is the BMS of one pack: say which (e.g. packs = [1])",
                    kind.name()
                ),
            );
        }
        (None, _) => (0, plant_packs),
        (Some(list), true) => {
            let mut idx = Vec::new();
            for v in list {
                let n: usize = int_in(
                    *v,
                    1..=i64::try_from(plant_packs).unwrap_or(64),
                    &field("packs"),
                    &format!("the scene has packs 1 to {plant_packs}"),
                )?;
                idx.push(n - 1);
            }
            let Some(&first) = idx.first() else {
                return err(field("packs"), "name at least one pack (e.g. packs = [1])");
            };
            if idx.iter().enumerate().any(|(k, v)| *v != first + k) {
                return err(
                    field("packs"),
                    "a device's packs are consecutive, in order (e.g. packs = [3, 4, 5])",
                );
            }
            if kind.one_pack() && idx.len() != 1 {
                return err(
                    field("packs"),
                    format!(
                        "a {} is the BMS of one pack: name one (e.g. packs = [1])",
                        kind.name()
                    ),
                );
            }
            if kind == Kind::Pace && idx.len() > 15 {
                return err(field("packs"), "a Pace bus has at most 15 packs");
            }
            (first, idx.len())
        }
    };
    let address = match d.address {
        None => None,
        Some(a) => Some(match kind {
            Kind::Pace => {
                let a: u8 = int_in(
                    a,
                    1..=15,
                    &field("address"),
                    "a Pace pack address is 1 to 15 (a lone pack answers at 0 as well)",
                )?;
                if usize::from(a) + packs.1 > 16 {
                    return err(
                        field("address"),
                        "Pace addresses end at 15: give a lower address or fewer packs",
                    );
                }
                a
            }
            Kind::Coulombmeter | Kind::Lumentree => int_in(
                a,
                1..=247,
                &field("address"),
                "a Modbus slave address is 1 to 247",
            )?,
            Kind::JkPb => int_in(
                a,
                1..=255,
                &field("address"),
                "a JK-PB address is 1 to 255 (0 makes it the bus master)",
            )?,
            Kind::MeanwellBic2200 | Kind::MeanwellNpb => {
                int_in(a, 0..=7, &field("address"), "a Mean Well CAN id is 0 to 7")?
            }
            _ => {
                return err(
                    field("address"),
                    format!("a {} has no address to set; remove `address`", kind.name()),
                );
            }
        }),
    };
    let serial = kind.is_serial();
    if d.baud.is_some() && !serial {
        return err(
            field("baud"),
            format!(
                "a {} has no serial line of its own here; remove `baud`",
                kind.name()
            ),
        );
    }
    let baud = match d.baud {
        Some(b) => int_in(
            b,
            300..=1_000_000,
            &field("baud"),
            "give a serial bit rate from 300 to 1000000 (e.g. baud = 9600)",
        )?,
        None => kind.default_baud(),
    };
    if d.line_timing && !serial {
        return err(
            field("line_timing"),
            format!(
                "line timing applies to the serial devices (pace, pylontech-rs485, daly, jk, jk-pb, vedirect-*), not to a {}",
                kind.name()
            ),
        );
    }
    if d.bitrate.is_some() && !kind.is_can() {
        return err(
            field("bitrate"),
            format!(
                "`bitrate` is the CAN bus rate; a {} is not on CAN",
                kind.name()
            ),
        );
    }
    let bitrate = match d.bitrate {
        Some(b) => {
            let ok = u32::try_from(b).ok().filter(|b| {
                voltwire_slcan::bitrate_code(*b, voltwire_slcan::Dialect::Canable).is_some()
            });
            let Some(b) = ok else {
                return err(
                    field("bitrate"),
                    "an SLCAN adapter offers 10000, 20000, 50000, 83300, 100000, 125000, 250000, 500000, 750000 or 1000000",
                );
            };
            b
        }
        None => kind.default_bitrate(),
    };
    let delay = match d.delay_ms {
        Some(ms) => Duration::from_millis(int_in(
            ms,
            0..=60_000,
            &field("delay_ms"),
            "give 0 to 60000 ms",
        )?),
        None => Duration::from_secs(1),
    };
    let mut faults = Faults::default();
    for name in &d.faults {
        let Some(f) = fault(name, delay) else {
            return err(
                field("faults"),
                format!(
                    "{name:?} is not a fault; choose from: {FAULTS} (a port drop is a `drop` event)"
                ),
            );
        };
        faults = merge(faults, f);
    }
    let settings = match (&d.settings, kind) {
        (None, _) => None,
        (Some(s), Kind::Pace) => Some(settings(s, &field("settings"), plant.get(packs.0))?),
        (Some(_), _) => {
            return err(
                field("settings"),
                "settings are the Pace packs' configuration reads; remove them here",
            );
        }
    };
    let keep_alive = match (d.keep_alive_s, kind) {
        (None, _) => Some(Duration::from_secs(1)),
        (Some(v), Kind::PylontechInverter) => {
            if !(v.is_finite() && (0.0..=3600.0).contains(&v)) {
                return err(
                    field("keep_alive_s"),
                    format!(
                        "{v}: give the seconds between two 0x305, 0 to 3600 (0: it sends none, as an inverter the BMS pushes to)"
                    ),
                );
            }
            (v > 0.0).then(|| Duration::from_secs_f64(v))
        }
        (Some(_), _) => {
            return err(
                field("keep_alive_s"),
                format!(
                    "the 0x305 keep-alive is a pylontech-inverter's; a {} has none: remove `keep_alive_s`",
                    kind.name()
                ),
            );
        }
    };
    let relay = if kind == Kind::Relay {
        Some(day::relay(d, at)?)
    } else {
        for (key, given) in [
            ("load_w", d.load_w.is_some()),
            ("balance_ma", d.balance_ma.is_some()),
        ] {
            if given {
                return err(
                    field(key),
                    format!(
                        "`{key}` is what a relay switches; a {} has none: remove it",
                        kind.name()
                    ),
                );
            }
        }
        None
    };
    let sensors = if kind == Kind::OneWire {
        day::sensors(&d.sensors, at, plant_packs)?
    } else if d.sensors.is_empty() {
        Vec::new()
    } else {
        return err(
            field("sensor"),
            format!(
                "sensors belong to a onewire device; a {} has none: remove them",
                kind.name()
            ),
        );
    };
    let mqtt = if kind == Kind::Meter {
        day::meter_mqtt(d, at)?
    } else if d.mqtt.is_some() || d.topic.is_some() || d.interval_ms.is_some() {
        return err(
            field("mqtt"),
            format!(
                "mqtt/topic/interval_ms are the grid meter's publishing; a {} has none (a relay on MQTT is listen = \"mqtt://HOST:PORT/TOPIC\")",
                kind.name()
            ),
        );
    } else {
        None
    };
    Ok(DeviceSpec {
        relay,
        sensors,
        mqtt,
        mppt_share: 1,
        name: d.name.clone(),
        kind,
        listen,
        packs,
        address,
        line_timing: d.line_timing.then_some(baud),
        bitrate,
        faults,
        settings,
        drop: None,
        keep_alive,
    })
}

fn settings(
    s: &file::SettingsFile,
    at: &str,
    first: Option<&PackConfig>,
) -> Result<PaceSettings, SceneError> {
    // Limits of the device's first plant pack (its cells and capacity) unless the scene
    // says otherwise; the cell count does not change what the four keys set.
    let mut set = first.map_or_else(
        || PaceSettings::for_pack(16, MilliampHours(100_000)),
        |p| PaceSettings::for_pack(p.cells, p.capacity),
    );
    let f = |k: &str| format!("{at}.{k}");
    if let Some(v) = s.pack_over_voltage_mv {
        set.pack_over.protect = Millivolts(int_in(
            v,
            1..=65_535,
            &f("pack_over_voltage_mv"),
            "give mV, 1 to 65535 (e.g. 58400)",
        )?);
        set.pack_over.alarm = Millivolts(set.pack_over.protect.0.saturating_sub(800));
    }
    if let Some(v) = s.pack_under_voltage_mv {
        set.pack_under.protect = Millivolts(int_in(
            v,
            1..=65_535,
            &f("pack_under_voltage_mv"),
            "give mV, 1 to 65535 (e.g. 44800)",
        )?);
        set.pack_under.alarm = Millivolts(set.pack_under.protect.0.saturating_add(1_600));
    }
    if let Some(v) = s.charge_over_current_a {
        let a: i32 = int_in(
            v,
            1..=32_767,
            &f("charge_over_current_a"),
            "give whole A, 1 to 32767 (e.g. 100)",
        )?;
        set.charge_over_current.alarm = Milliamps(a * 1000);
        set.charge_over_current.protect = Milliamps(a * 1000);
    }
    if let Some(v) = s.discharge_over_current_a {
        let a: i32 = int_in(
            v,
            1..=32_767,
            &f("discharge_over_current_a"),
            "give whole A, 1 to 32767 (e.g. 100)",
        )?;
        set.discharge_over_current.alarm = Milliamps(a * 1000);
        set.discharge_over_current.protect = Milliamps(a * 1000);
    }
    Ok(set)
}

/// The event `e` (a `drop` becomes its device's [`DeviceSpec::drop`]: `None`).
#[allow(
    clippy::too_many_lines,
    reason = "one arm per action, each checking its fields"
)]
fn event(
    e: &file::EventFile,
    at: &str,
    devices: &mut [DeviceSpec],
    packs: &[PackConfig],
) -> Result<Option<Event>, SceneError> {
    let field = |k: &str| format!("{at}.{k}");
    let time = seconds(e.at, &field("at"))?;
    let device = |devices: &[DeviceSpec]| -> Result<usize, SceneError> {
        let Some(name) = &e.device else {
            return err(
                field("device"),
                format!(
                    "a {:?} event names its device (e.g. device = \"pack2\")",
                    e.action
                ),
            );
        };
        devices.iter().position(|d| &d.name == name).map_or_else(
            || err(field("device"), format!("no device is named {name:?}")),
            Ok,
        )
    };
    let w = |key: &str| -> Result<Watts, SceneError> {
        let Some(v) = e.watts else {
            return err(
                field("watts"),
                format!("a {key:?} event gives the new power (e.g. watts = 1500)"),
            );
        };
        watts(v, &field("watts"))
    };
    let action = match e.action.as_str() {
        "silent" => Action::Silent {
            device: device(devices)?,
        },
        "back" => Action::Back {
            device: device(devices)?,
        },
        "fault" => {
            let d = device(devices)?;
            let Some(name) = &e.fault else {
                return err(field("fault"), format!("name the fault, one of: {FAULTS}"));
            };
            let Some(faults) = fault(name, Duration::from_secs(1)) else {
                return err(
                    field("fault"),
                    format!("{name:?} is not a fault; choose from: {FAULTS}"),
                );
            };
            Action::Fault { device: d, faults }
        }
        "drop" => {
            let d = device(devices)?;
            let down = e.down.map(|s| seconds(s, &field("for"))).transpose()?;
            let Some(spec) = devices.get_mut(d) else {
                return err(field("device"), "no such device");
            };
            if spec.kind == Kind::Meter {
                return err(
                    field("action"),
                    "the meter's HTTP port does not drop in a scene; use silent/back",
                );
            }
            if matches!(spec.kind, Kind::Relay | Kind::OneWire) {
                return err(
                    field("action"),
                    format!(
                        "a {} has no port to drop; use silent/back",
                        spec.kind.name()
                    ),
                );
            }
            if matches!(spec.listen, Listen::Virtual(_)) {
                return err(
                    field("action"),
                    "a device on an in-process bus (virtual://) has no port to drop; use silent/back",
                );
            }
            if spec.drop.is_some() {
                return err(
                    at,
                    format!(
                        "device {:?} already drops once; a port drops at most once in a scene (use silent/back for more)",
                        spec.name
                    ),
                );
            }
            spec.drop = Some((time, down));
            return Ok(None);
        }
        "cell-drift" => {
            let Some(pack) = e.pack else {
                return err(
                    field("pack"),
                    "a cell-drift names its pack, 1-based (e.g. pack = 2)",
                );
            };
            let pack: usize = int_in(
                pack,
                1..=i64::try_from(packs.len()).unwrap_or(64),
                &field("pack"),
                &format!("the scene has packs 1 to {}", packs.len()),
            )?;
            let cells = packs.get(pack - 1).map_or(16, |p| p.cells);
            let Some(cell) = e.cell else {
                return err(
                    field("cell"),
                    "a cell-drift names its cell, 1-based (e.g. cell = 5)",
                );
            };
            let cell: usize = int_in(
                cell,
                1..=i64::try_from(cells).unwrap_or(48),
                &field("cell"),
                &format!("pack {pack} has cells 1 to {cells}"),
            )?;
            let Some(percent) = e
                .percent
                .filter(|p| p.is_finite() && (-100.0..=100.0).contains(p))
            else {
                return err(
                    field("percent"),
                    "give the change of the cell's charge in percent of its capacity, -100 to 100 (e.g. percent = -20)",
                );
            };
            Action::CellDrift {
                pack: pack - 1,
                cell: cell - 1,
                soc: percent / 100.0,
            }
        }
        "load" => Action::Load(w("load")?),
        "pv" => Action::Pv(w("pv")?),
        "charge" => Action::Charge(w("charge")?),
        "discharge" => Action::Discharge(w("discharge")?),
        other => {
            return err(
                field("action"),
                format!(
                    "{other:?} is not an action; choose one of: silent, back, drop, fault, cell-drift, load, pv, charge, discharge"
                ),
            );
        }
    };
    Ok(Some(Event { at: time, action }))
}
