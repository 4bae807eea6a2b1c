//! `zero-feed-in --demo`: the installation of `examples/scenes/zero-feed-in.toml` (embedded)
//! on one scene world (`voltwire_sim::scene`) at ×10 real time: the house load steps, the
//! AC-coupled PV follows the sun from 09:00, a simulated BIC-2200-48 sits on the app's
//! in-process bus `virtual://demo-bic` and is driven by the app's real CAN device task, and
//! the meter and the battery are read from the scene's plant, through the same control loop
//! as a real installation. The scene's other devices (its HTTP grid meter, the JK-PB BMS,
//! the coulomb meter) are served as `voltwire sim scene` serves them, for a look beside.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use voltwire_core::{DeciCelsius, Milliamps, Permille, Watts};
use voltwire_meanwell::{Body, Command, Family, Message, Model, Target, Value};
use voltwire_runtime::can::{BusUrl, CanBus as _, CanFrame, VirtualBuses, VirtualNode};
use voltwire_sim::SharedWorld;
use voltwire_sim::scene::{External, Scene, ServeExternal};
use voltwire_sim::serve::can::CanNode;
use voltwire_zero_feed_in_rules::{
    BatteryConfig, BatteryReading, Commands, Config, Controller, CurrentRange, Decision,
    DeviceCommand, DeviceConfig, DeviceStatus, MeterReading, Millis, Role,
};

use crate::engine::{self, Clock, Sources};
use voltwire_core::Millivolts;
use voltwire_zero_feed_in_rules::WriteBudgetConfig;

/// Demo time runs this many times faster than real time.
pub const SPEED: u32 = 10;

/// The installation: `examples/scenes/zero-feed-in.toml`.
pub const SCENE: &str = include_str!("../../../examples/scenes/zero-feed-in.toml");

/// The app's in-process bus the scene's BIC-2200 is on.
const BIC_BUS: &str = "demo-bic";

/// The simulated BIC-2200-48.
pub fn bic() -> DeviceConfig {
    DeviceConfig {
        role: Role::Bidirectional,
        min_charge: Watts(0),
        max_charge: Watts(2200),
        min_discharge: Watts(0),
        max_discharge: Watts(2200),
        current: Some(CurrentRange {
            min: Milliamps(450),
            max: Milliamps(38_300),
        }),
        trim: None,
    }
}

/// One status line: time of day, grid, set point, SOC, mode, latches.
pub fn status_line(clock_s: u64, grid: Watts, d: &Decision, soc: Permille) -> String {
    let latches: Vec<_> = d.latches.names().collect();
    format!(
        "{:02}:{:02}:{:02} grid {:+6} W  set point {:+6} W  soc {:5.1} %  mode {:<12} latches {}",
        clock_s / 3600 % 24,
        clock_s / 60 % 60,
        clock_s % 60,
        grid.0,
        d.total().0,
        f64::from(soc.0) / 10.0,
        d.mode.name(),
        if latches.is_empty() {
            "-".to_owned()
        } else {
            latches.join(",")
        }
    )
}

/// A node of the app's in-process buses, as the scene engine attaches a device.
struct Node(VirtualNode);

impl CanNode for Node {
    async fn send(&mut self, frame: &CanFrame) -> std::io::Result<()> {
        self.0.send(frame).await.map_err(std::io::Error::other)
    }

    async fn recv(&mut self) -> std::io::Result<CanFrame> {
        self.0.recv().await.map_err(std::io::Error::other)
    }
}

/// What the serving layer has to say (a client, a port): to the log.
fn log(args: std::fmt::Arguments<'_>) {
    tracing::info!("{args}");
}

/// The scene's HTTP grid meter is `voltwire sim scene`'s (axum); here the app reads the
/// meter straight from the plant, so it is announced as in-process and serves nothing.
fn in_process() -> ServeExternal {
    Box::new(|e: External| {
        let _ = e.link.send("in-process".to_owned());
        Box::pin(std::future::pending::<std::io::Result<()>>())
    })
}

/// What the meter and the BMS report of the world's plant now.
fn read_plant(world: &SharedWorld, now: Millis) -> (MeterReading, BatteryReading, Permille) {
    let mut w = voltwire_sim::world::lock(world);
    w.advance();
    let p = w.plant();
    let mut b = BatteryReading::voltage_only(now, p.bus_voltage());
    b.current = Some(p.total_current());
    let soc = p.pack(0).map_or(Permille(0), voltwire_sim::Pack::soc);
    b.soc = Some(soc);
    let temps = p.pack(0).map(voltwire_sim::Pack::temperatures);
    b.temperature_min = temps.as_ref().and_then(|t| t.iter().min().copied());
    b.temperature_max = temps.as_ref().and_then(|t| t.iter().max().copied());
    if b.temperature_min.is_none() {
        b.temperature_min = Some(DeciCelsius(250));
        b.temperature_max = Some(DeciCelsius(250));
    }
    (
        MeterReading {
            at: now,
            grid: p.grid(),
        },
        b,
        soc,
    )
}

/// Ask the simulated unit itself, over its bus, whether its output is on (`None`: no
/// answer).
async fn unit_operating(virtuals: &VirtualBuses) -> Option<bool> {
    let mut node = virtuals.get(BIC_BUS).node();
    let ask = Message {
        family: Family::Bic2200,
        target: Target::Device(0),
        body: Body::Read(Command::OPERATION),
    };
    let frame = ask.to_frame::<CanFrame>().ok()?;
    node.send(&frame).await.ok()?;
    let answer = async {
        loop {
            let f = node.recv().await.ok()?;
            if let Ok(Message {
                body: Body::Reply(Value::Operation(o)),
                ..
            }) = Message::from_frame(&f)
            {
                return Some(o == 1);
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(2), answer)
        .await
        .ok()
        .flatten()
}

/// Runs the demo until `stop` or `duration` (real time); prints one line per real second.
#[allow(clippy::too_many_lines, reason = "the demo's wiring in one place")]
pub async fn run(duration: Option<Duration>, stop: impl Future<Output = ()>) {
    let scene = match Scene::parse(SCENE) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(%e, "the demo's scene (examples/scenes/zero-feed-in.toml)");
            return;
        }
    };
    let clock = Clock::start(SPEED);
    let world = scene.world(f64::from(SPEED));
    let start_s = scene.sun.map_or(9 * 3600, |s| {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "an hour of the day, 0..=24"
        )]
        let s = (s.start_hour * 3600.0) as u64;
        s
    });
    let day_s = move |now: Millis| start_s + now.0 / 1000;

    let (meter_tx, meter) = watch::channel(None);
    let (battery_tx, battery) = watch::channel(None);
    let (status_tx, status) = watch::channel(DeviceStatus::default());
    let (_commands_tx, commands) = watch::channel(Commands::default());
    let (cmd_tx, cmd_rx) = watch::channel(DeviceCommand::OFF);

    // The BIC-2200 is driven through the app's real CAN device task, on an in-process bus,
    // where the scene puts its simulated unit (the plant's converter).
    let virtuals = VirtualBuses::default();
    let serving = scene.serve_in(
        world.clone(),
        log,
        |name, link| {
            tracing::debug!(device = name, link, "demo: simulated device");
            Ok(())
        },
        in_process(),
        |bus: &str| Some(Node(virtuals.get(bus).node())),
        std::future::pending(),
    );
    let device = crate::meanwell::run(
        crate::meanwell::Bic {
            model: Model::Bic2200_48,
            id: 0,
            bus: BusUrl::Virtual(BIC_BUS.into()),
            backstop_vout: Millivolts(16 * 3550),
            backstop_reverse_vout: Millivolts(16 * 2900),
            budget: WriteBudgetConfig::default(),
            state_file: None,
        },
        virtuals.clone(),
        clock,
        cmd_rx,
        crate::meanwell::Reports {
            status: status_tx,
            voltage: None,
        },
    );

    // The meter and the BMS, every simulated second, from the scene's plant.
    let sim = {
        let world = world.clone();
        async move {
            let mut every = tokio::time::interval(clock.real(1000));
            loop {
                every.tick().await;
                let (m, b, _) = read_plant(&world, clock.now());
                meter_tx.send_replace(Some(m));
                battery_tx.send_replace(Some(b));
            }
        }
    };

    let controller = match Controller::new(Config::new(BatteryConfig::lfp(16)), &[bic()]) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(?e, "demo configuration refused");
            return;
        }
    };
    let sources = Sources {
        meter,
        battery,
        devices: vec![status],
        commands,
    };
    let outputs = [cmd_tx];
    let stop = async {
        match duration {
            Some(d) => {
                tokio::select! {
                    () = stop => {}
                    () = tokio::time::sleep(d) => {}
                }
            }
            None => stop.await,
        }
    };
    let mut last_line = None;
    let observe = |now: Millis, d: &Decision| {
        let second = now.0 / (1000 * u64::from(SPEED));
        if last_line != Some(second) {
            last_line = Some(second);
            let (m, _, soc) = read_plant(&world, now);
            println!("{}", status_line(day_s(now), m.grid, d, soc));
        }
    };
    let device = tokio::spawn(device);
    let run = async {
        tokio::select! {
            () = engine::run(controller, clock, 1000, sources, &outputs, stop, observe) => {}
            () = sim => {}
        }
        for out in &outputs {
            out.send_replace(DeviceCommand::OFF);
        }
        // The device task writes OPERATION off to the unit before it ends.
        let _ = tokio::time::timeout(Duration::from_secs(3), device).await;
        unit_operating(&virtuals).await
    };
    // The scene serves until the demo is done (it only ends by itself on an error).
    let on = tokio::select! {
        on = run => on,
        r = serving => {
            tracing::error!(?r, "the demo's scene ended");
            None
        }
    };
    println!(
        "stopped: BIC-2200 output {}",
        match on {
            Some(false) => "off",
            Some(true) => "ON (not switched off!)",
            None => "unknown (the simulated unit did not answer)",
        }
    );
}
