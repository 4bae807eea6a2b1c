//! The parts of a scene a day needs: the sun (`[sun]`), relay-switched consumers
//! (`kind = "relay"`), 1-Wire temperature files (`kind = "onewire"`) and the grid meter's
//! MQTT publishing (`mqtt`, `topic` on a `meter`).

use core::time::Duration;
use std::io;
use std::path::{Path, PathBuf};

use voltwire_core::{Milliamps, Watts};

use super::{SceneError, err, file, int_in, watts};
use crate::Plant;
use crate::world::{self, PvFeed, SharedWorld, Sun};

fn hour(v: Option<f64>, default: f64, field: &str) -> Result<f64, SceneError> {
    let h = v.unwrap_or(default);
    if !(h.is_finite() && (0.0..=24.0).contains(&h)) {
        return err(
            field,
            format!("{h}: give an hour of the day, 0 to 24 (e.g. 7.5)"),
        );
    }
    Ok(h)
}

/// `[sun]` validated.
pub(super) fn sun(s: &file::SunFile) -> Result<Sun, SceneError> {
    let sunrise = hour(s.sunrise_h, 7.0, "sun.sunrise_h")?;
    let sunset = hour(s.sunset_h, 19.0, "sun.sunset_h")?;
    if sunset <= sunrise {
        return err(
            "sun.sunset_h",
            format!("{sunset} is not after sunrise ({sunrise}): give a later hour"),
        );
    }
    let feeds = match s.feeds.as_deref() {
        None | Some("mppt") => PvFeed::Mppt,
        Some("ac") => PvFeed::Ac,
        Some(other) => {
            return err(
                "sun.feeds",
                format!("{other:?}: the sun feeds \"mppt\" (DC PV, the default) or \"ac\""),
            );
        }
    };
    let heat_c = s.heat_c.unwrap_or(0.0);
    if !(heat_c.is_finite() && (-40.0..=60.0).contains(&heat_c)) {
        return err(
            "sun.heat_c",
            "give the afternoon's warmth above ambient in °C, -40 to 60 (e.g. heat_c = 15)",
        );
    }
    let width = s.heat_width_h.unwrap_or(2.5);
    if !(width.is_finite() && (0.1..=24.0).contains(&width)) {
        return err(
            "sun.heat_width_h",
            "give how long the warmth lasts around its peak, 0.1 to 24 h (e.g. 2.5)",
        );
    }
    Ok(Sun {
        start_hour: hour(s.start_h, 6.0, "sun.start_h")?,
        sunrise,
        sunset,
        peak: watts(s.peak_w, "sun.peak_w")?,
        feeds,
        heat_c,
        heat_peak_hour: hour(s.heat_peak_h, 15.0, "sun.heat_peak_h")?,
        heat_width_h: width,
    })
}

/// What a 1-Wire sensor of a scene measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SensorReads {
    /// The warmest temperature sensor of plant pack `0` (0-based): the cells.
    Pack(usize),
    /// The air: the first pack's ambient (with the sun's warmth).
    Ambient,
    /// A solar charger: the ambient plus `c_per_kw` per kW the MPPTs deliver.
    Mppt,
}

/// One 1-Wire sensor of a `onewire` device: `DIR/ID/temperature`, in m°C as the kernel's
/// `w1_therm` driver writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct OneWireSensor {
    /// Its id, the directory name (`28-…`).
    pub id: String,
    /// What it measures.
    pub reads: SensorReads,
    /// Added to what it measures, °C.
    pub offset_c: f64,
    /// [`SensorReads::Mppt`]: °C per kW delivered.
    pub c_per_kw: f64,
}

impl OneWireSensor {
    /// What it reads on `plant`, in m°C.
    #[allow(
        clippy::cast_possible_truncation,
        reason = "bounded temperatures in m°C"
    )]
    pub fn millicelsius(&self, plant: &Plant) -> i64 {
        let ambient = plant
            .packs()
            .first()
            .map_or(25.0, |p| p.config().ambient_celsius);
        let c = match self.reads {
            SensorReads::Pack(i) => plant
                .pack(i)
                .and_then(|p| p.temperatures().into_iter().max())
                .map_or(ambient, |t| f64::from(t.0) / 10.0),
            SensorReads::Ambient => ambient,
            SensorReads::Mppt => ambient + self.c_per_kw * f64::from(plant.mppt_power().0) / 1000.0,
        };
        ((c + self.offset_c) * 1000.0).round() as i64
    }
}

/// The `[[device.sensor]]` list of a `onewire` device validated.
pub(super) fn sensors(
    list: &[file::SensorFile],
    at: &str,
    packs: usize,
) -> Result<Vec<OneWireSensor>, SceneError> {
    if list.is_empty() {
        return err(
            format!("{at}.sensor"),
            "a onewire device has at least one [[device.sensor]] (id = \"28-…\", reads = \"pack\")",
        );
    }
    let mut out: Vec<OneWireSensor> = Vec::new();
    for (k, s) in list.iter().enumerate() {
        let f = |key: &str| format!("{at}.sensor[{k}].{key}");
        if !(s.id.starts_with("28-")
            && s.id.len() > 3
            && s.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        {
            return err(
                f("id"),
                format!(
                    "{:?}: a DS18B20's id is \"28-\" and letters or digits (e.g. \"28-0000cell\")",
                    s.id
                ),
            );
        }
        if out.iter().any(|o| o.id == s.id) {
            return err(f("id"), format!("{:?} is used twice", s.id));
        }
        let reads = match s.reads.as_str() {
            "pack" => {
                let p: usize = int_in(
                    s.pack.unwrap_or(1),
                    1..=i64::try_from(packs).unwrap_or(64),
                    &f("pack"),
                    &format!("the scene has packs 1 to {packs}"),
                )?;
                SensorReads::Pack(p - 1)
            }
            "ambient" => SensorReads::Ambient,
            "mppt" => SensorReads::Mppt,
            other => {
                return err(
                    f("reads"),
                    format!("{other:?}: a sensor reads \"pack\", \"ambient\" or \"mppt\""),
                );
            }
        };
        if s.pack.is_some() && !matches!(reads, SensorReads::Pack(_)) {
            return err(f("pack"), "only a sensor that reads \"pack\" names a pack");
        }
        let offset_c = s.offset_c.unwrap_or(0.0);
        if !(offset_c.is_finite() && (-50.0..=50.0).contains(&offset_c)) {
            return err(f("offset_c"), "give -50 to 50 °C (e.g. offset_c = -3)");
        }
        let c_per_kw = s.c_per_kw.unwrap_or(4.0);
        if !(c_per_kw.is_finite() && (0.0..=50.0).contains(&c_per_kw)) {
            return err(f("c_per_kw"), "give 0 to 50 °C per kW (e.g. c_per_kw = 4)");
        }
        if s.c_per_kw.is_some() && reads != SensorReads::Mppt {
            return err(
                f("c_per_kw"),
                "only a sensor that reads \"mppt\" warms per kW",
            );
        }
        out.push(OneWireSensor {
            id: s.id.clone(),
            reads,
            offset_c,
            c_per_kw,
        });
    }
    Ok(out)
}

/// A relay's `load_w` and `balance_ma` validated (at least one of them).
pub(super) fn relay(d: &file::DeviceFile, at: &str) -> Result<(Watts, Milliamps), SceneError> {
    let load = match d.load_w {
        Some(w) => watts(w, &format!("{at}.load_w"))?,
        None => Watts(0),
    };
    let balance = match d.balance_ma {
        Some(ma) => Milliamps(int_in(
            ma,
            0..=100_000,
            &format!("{at}.balance_ma"),
            "give a balancing current in mA, 0 to 100000 (e.g. balance_ma = 2000)",
        )?),
        None => Milliamps(0),
    };
    if d.load_w.is_none() && d.balance_ma.is_none() {
        return err(
            format!("{at}.load_w"),
            "a relay switches something: give load_w (a DC load on the bank) and/or balance_ma (a balancer)",
        );
    }
    Ok((load, balance))
}

/// The grid meter's MQTT publishing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterMqtt {
    /// `mqtt://HOST:PORT` (user and password allowed as `mqtt://USER:PASS@HOST:PORT`).
    pub broker: String,
    /// The topic prefix (`PREFIX/state`, `PREFIX/status/em:0`, …).
    pub topic: String,
    /// How often it publishes, real time.
    pub interval: Duration,
}

/// A meter's `mqtt`, `topic`, `interval_ms` validated (`None` without `mqtt`).
pub(super) fn meter_mqtt(d: &file::DeviceFile, at: &str) -> Result<Option<MeterMqtt>, SceneError> {
    let Some(broker) = &d.mqtt else {
        if d.topic.is_some() || d.interval_ms.is_some() {
            return err(
                format!("{at}.mqtt"),
                "topic and interval_ms go with mqtt: give the broker (e.g. mqtt = \"mqtt://127.0.0.1:1883\")",
            );
        }
        return Ok(None);
    };
    let host = broker
        .strip_prefix("mqtt://")
        .map(|r| r.rsplit('@').next().unwrap_or(r));
    if !host.is_some_and(crate::serve::is_host_port) {
        return err(
            format!("{at}.mqtt"),
            format!(
                "{broker:?}: give the broker as \"mqtt://HOST:PORT\" (e.g. \"mqtt://127.0.0.1:1883\")"
            ),
        );
    }
    let topic = d.topic.clone().unwrap_or_else(|| d.name.clone());
    if !valid_topic(&topic) {
        return err(
            format!("{at}.topic"),
            format!(
                "{topic:?}: a topic prefix without '+', '#' or spaces, not starting or ending with '/' (e.g. \"shellypro3em-sim\")"
            ),
        );
    }
    let interval = Duration::from_millis(int_in(
        d.interval_ms.unwrap_or(1000),
        50..=3_600_000,
        &format!("{at}.interval_ms"),
        "give 50 to 3600000 ms",
    )?);
    Ok(Some(MeterMqtt {
        broker: broker.clone(),
        topic,
        interval,
    }))
}

/// Whether `t` is a usable topic (prefix): no wildcards, spaces or empty levels.
pub(super) fn valid_topic(t: &str) -> bool {
    !t.is_empty()
        && !t.starts_with('/')
        && !t.ends_with('/')
        && !t.contains("//")
        && !t
            .chars()
            .any(|c| matches!(c, '+' | '#') || c.is_whitespace())
}

/// Write every sensor's file under `dir` (each aside, then renamed, so a reader never sees
/// half a file).
fn write_all(dir: &Path, sensors: &[OneWireSensor], plant: &Plant) -> io::Result<()> {
    for s in sensors {
        let d = dir.join(&s.id);
        std::fs::create_dir_all(&d)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", d.display())))?;
        let tmp = d.join("temperature.new");
        std::fs::write(&tmp, format!("{}\n", s.millicelsius(plant)))
            .and_then(|()| std::fs::rename(&tmp, d.join("temperature")))
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", d.display())))?;
    }
    Ok(())
}

/// Keep the 1-Wire files of `sensors` under `dir` updated from `world` (every simulated
/// second, at most every 50 ms and at least every second of real time); `ready` gets the
/// directory once the files exist. `device` is its index in the world (its `silent` fault
/// freezes the files). Ends only on an error.
///
/// # Errors
///
/// A directory or file that cannot be written, named.
pub async fn serve_onewire(
    dir: PathBuf,
    sensors: Vec<OneWireSensor>,
    device: usize,
    world: SharedWorld,
    ready: tokio::sync::oneshot::Sender<String>,
) -> io::Result<()> {
    let speed = world::lock(&world).clock().speed();
    let period = Duration::from_secs(1)
        .div_f64(speed)
        .clamp(Duration::from_millis(50), Duration::from_secs(1));
    let write = |world: &SharedWorld| {
        let mut w = world::lock(world);
        w.advance();
        // A silent sensor bus keeps its last files (the readers see them age).
        if w.faults(device).silent {
            return Ok(());
        }
        write_all(&dir, &sensors, w.plant())
    };
    write(&world)?;
    let _ = ready.send(dir.display().to_string());
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        write(&world)?;
    }
}
