//! The scene features a simulated day needs, on one world with injected time: the sun
//! curve, MPPTs sharing the PV and tapering at absorption, a SmartShunt measuring the bank,
//! a BMS charge switch that cuts the charge, relay-switched loads and balancers, and the
//! 1-Wire files.

#![cfg(feature = "scene")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::float_cmp,
    clippy::cast_possible_truncation,
    missing_docs,
    reason = "test code"
)]

mod common;

use std::time::Duration;

use common::{daly, vedirect};
use voltwire_core::{Milliamps, Watts};
use voltwire_daly::Request as DalyRequest;
use voltwire_sim::scene::{Scene, SensorReads};
use voltwire_sim::world::{self, PvFeed, Sun};
use voltwire_sim::{PlantCommand, SerialResponder as _};
use voltwire_victron::text::Message;

const DAY: &str = r#"
[flows]
discharge_w = 20
absorption_mv = 27600

[sun]
start_h = 6
sunrise_h = 7
sunset_h = 19
peak_w = 1600
heat_c = 17
heat_peak_h = 15

[[pack]]
cells = 8
capacity_ah = 280
soc = 40
ambient_c = 20

[[device]]
name = "daly"
kind = "daly"
listen = "pty"
packs = [1]

[[device]]
name = "mppt1"
kind = "vedirect-mppt"
listen = "pty"

[[device]]
name = "mppt2"
kind = "vedirect-mppt"
listen = "pty"

[[device]]
name = "shunt"
kind = "vedirect-smartshunt"
listen = "pty"

[[device]]
name = "load1"
kind = "relay"
listen = "virtual://load1"
load_w = 480

[[device]]
name = "balancer"
kind = "relay"
listen = "virtual://balancer"
balance_ma = 2000

[[device]]
name = "w1"
kind = "onewire"
listen = "dir:/tmp/voltwire-scene-day-unused"

[[device.sensor]]
id = "28-0000cell"
reads = "pack"

[[device.sensor]]
id = "28-0000charger"
reads = "mppt"
c_per_kw = 5
"#;

fn h(hours: f64) -> Duration {
    Duration::from_secs_f64(hours * 3600.0)
}

/// The TEXT record device `name` sends at sim time `now`.
fn record(
    scene: &Scene,
    w: &world::World,
    name: &str,
    now: Duration,
) -> voltwire_victron::text::Record {
    let mut dev = scene.devices[scene.device_index(name).unwrap()]
        .serial_responder()
        .unwrap();
    let mut out = Vec::new();
    dev.tick(now, w.plant(), &mut out);
    let items = vedirect(&out);
    let Some(Ok(Message::Record(r))) = items.into_iter().next() else {
        panic!("{name} sent no record")
    };
    r
}

#[test]
fn the_sun_rises_peaks_at_solar_noon_and_sets() {
    let sun = Sun {
        start_hour: 6.0,
        sunrise: 7.0,
        sunset: 19.0,
        peak: Watts(1600),
        feeds: PvFeed::Mppt,
        heat_c: 17.0,
        heat_peak_hour: 15.0,
        heat_width_h: 2.5,
    };
    assert_eq!(sun.hour(Duration::ZERO), 6.0);
    assert_eq!(sun.hour(h(20.0)), 2.0, "the day wraps");
    assert_eq!(sun.power(7.0), Watts(0), "sunrise");
    assert_eq!(sun.power(6.5), Watts(0), "night");
    assert_eq!(sun.power(13.0), Watts(1600), "solar noon");
    assert_eq!(sun.power(10.0), Watts(1131), "1600 × sin(π/4)");
    assert_eq!(sun.power(19.0), Watts(0), "sunset");
    assert_eq!(sun.heat(15.0), 17.0);
    assert!((sun.heat(17.5) - 17.0 / core::f64::consts::E).abs() < 1e-9);
}

#[test]
fn the_sun_drives_the_mppts_and_they_share_it() {
    let scene = Scene::parse(DAY).unwrap();
    let world = scene.world(1.0);
    let mut w = world::lock(&world);
    w.advance_to(h(0.5));
    assert_eq!(w.plant().flows.mppt_pv, Watts(0), "06:30: night");
    w.advance_to(h(4.0));
    assert_eq!(w.plant().flows.mppt_pv, Watts(1131), "10:00");
    assert_eq!(w.plant().mppt_power(), Watts(1131));
    let now = w.plant().time();
    let m1 = record(&scene, &w, "mppt1", now);
    let m2 = record(&scene, &w, "mppt2", now);
    assert_eq!(m1.panel_power(), Some(Watts(565)), "half each");
    assert_eq!(m2.panel_power(), Some(Watts(565)));
    // The shunt measures the bank: what the packs take, net of the 20 W standby.
    let shunt = record(&scene, &w, "shunt", now);
    assert_eq!(
        shunt.battery_current(),
        Some(w.plant().total_current()),
        "the shunt is the bank"
    );
    assert!(w.plant().total_current().0 > 40_000, "≈ 1110 W into 26.5 V");
    // The ambient warms with the afternoon: 15:00 is 20 + 17 °C.
    w.advance_to(h(9.0));
    assert_eq!(
        w.plant().pack(0).unwrap().config().ambient_celsius,
        37.0,
        "15:00"
    );
}

#[test]
fn the_mppts_taper_at_absorption() {
    let text = DAY
        .replace("soc = 40", "soc = 97")
        .replace("start_h = 6", "start_h = 13");
    let scene = Scene::parse(&text).unwrap();
    let world = scene.world(1.0);
    let mut w = world::lock(&world);
    // From solar noon the bank fills; the MPPTs deliver less and less, then hold.
    let mut delivered = Vec::new();
    for minute in 1..=120 {
        w.advance_to(Duration::from_secs(minute * 60));
        delivered.push(w.plant().mppt_power().0);
    }
    assert!(
        delivered[0] >= 1595,
        "full power below absorption: {delivered:?}"
    );
    assert!(
        delivered.windows(2).skip(5).all(|p| p[1] <= p[0] + 2),
        "it only tapers: {delivered:?}"
    );
    let last = *delivered.last().unwrap();
    assert!(last < 200, "held near absorption: {delivered:?}");
    assert!(
        w.plant().bus_voltage().0 <= 27_600 + 100,
        "never above absorption: {:?}",
        w.plant().bus_voltage()
    );
}

#[test]
fn the_bms_charge_switch_cuts_the_charge() {
    let scene = Scene::parse(DAY).unwrap();
    let world = scene.world(1.0);
    let mut w = world::lock(&world);
    w.advance_to(h(4.0));
    assert!(w.plant().total_current().0 > 0, "charging at 10:00");
    // The scene's Daly is pack 1's BMS (`DeviceSpec::serial_responder` boxes this one).
    let mut bms = voltwire_sim::device::DalyBms::new(scene.devices[0].packs.0);
    let r = daly(&mut bms, w.plant(), DalyRequest::ChargeMosfet { on: false });
    assert_eq!(r.len(), 1, "{r:?}");
    let mut cmds: Vec<PlantCommand> = Vec::new();
    bms.drain_commands(&mut cmds);
    w.plant_mut().apply(cmds);
    w.advance_to(h(4.0) + Duration::from_secs(10));
    assert_eq!(
        w.plant().mppt_power(),
        Watts(0),
        "the MPPTs have nowhere to go"
    );
    let now = w.plant().time();
    assert_eq!(
        record(&scene, &w, "mppt1", now).panel_power(),
        Some(Watts(0))
    );
    assert!(
        w.plant().total_current().0 < 0,
        "no charge current, the standby still drawn: {:?}",
        w.plant().total_current()
    );
    // Back on: the charge returns.
    let r = daly(&mut bms, w.plant(), DalyRequest::ChargeMosfet { on: true });
    assert_eq!(r.len(), 1);
    let mut cmds: Vec<PlantCommand> = Vec::new();
    bms.drain_commands(&mut cmds);
    w.plant_mut().apply(cmds);
    w.advance_to(h(4.0) + Duration::from_secs(20));
    assert!(w.plant().total_current().0 > 40_000);
}

#[test]
fn a_relay_switches_its_load_and_its_balancer() {
    let scene = Scene::parse(DAY).unwrap();
    let world = scene.world(1.0);
    let mut w = world::lock(&world);
    w.advance_to(h(0.25)); // 06:15, no sun: only the standby draws
    let before = w.plant().total_current().0;
    let v = f64::from(w.plant().bus_voltage().0) / 1000.0;
    let load1 = scene.device_index("load1").unwrap();
    assert_eq!(w.relay(load1), Some(false), "relays start off");
    assert!(
        !w.set_relay(scene.device_index("shunt").unwrap(), true),
        "not a relay"
    );
    assert!(w.set_relay(load1, true));
    w.advance_to(h(0.25) + Duration::from_secs(5));
    assert_eq!(w.plant().dc_load(), Watts(480));
    let after = w.plant().total_current().0;
    let drop_a = f64::from(before - after) / 1000.0;
    assert!(
        (drop_a - 480.0 / v).abs() < 0.2,
        "the bank current drops by the load: {drop_a} A vs {} A",
        480.0 / v
    );
    assert!(w.set_relay(load1, false));
    w.advance_to(h(0.25) + Duration::from_secs(10));
    assert_eq!(w.plant().dc_load(), Watts(0));
    assert!((w.plant().total_current().0 - before).abs() < 50);

    // The balancer narrows the cells' spread while it is on, and only then.
    let spread = |w: &world::World| {
        let c = w.plant().pack(0).unwrap().cell_voltages();
        c.iter().max().unwrap().0 - c.iter().min().unwrap().0
    };
    let small = r#"
[flows]
discharge_w = 1

[[pack]]
cells = 4
capacity_ah = 10
soc = 8
spread_pct = 5

[[device]]
name = "balancer"
kind = "relay"
listen = "virtual://balancer"
balance_ma = 2000
"#;
    let scene = Scene::parse(small).unwrap();
    let world = scene.world(1.0);
    let mut w = world::lock(&world);
    w.advance_to(h(0.1));
    let start = spread(&w);
    w.advance_to(h(0.5));
    let without = spread(&w);
    assert!(without >= start - 2, "no balancer: {start} → {without} mV");
    assert!(w.set_relay(0, true));
    w.advance_to(h(1.0));
    assert_eq!(w.plant().dc_load(), Watts(0), "a balancer is no load");
    assert!(
        spread(&w) * 2 < without,
        "the balancer narrows it: {without} → {} mV",
        spread(&w)
    );
}

#[test]
fn onewire_sensors_read_the_plant() {
    let scene = Scene::parse(DAY).unwrap();
    let w1 = &scene.devices[scene.device_index("w1").unwrap()];
    assert_eq!(w1.sensors.len(), 2);
    assert_eq!(w1.sensors[0].reads, SensorReads::Pack(0));
    let world = scene.world(1.0);
    let mut w = world::lock(&world);
    w.advance_to(h(4.0));
    let pack_t = w.plant().pack(0).unwrap().temperatures();
    let max = i64::from(pack_t.iter().max().unwrap().0) * 100;
    assert_eq!(w1.sensors[0].millicelsius(w.plant()), max);
    // Ambient at 10:00 (20 + 17 e^(−(5/2.5)²)) + 5 °C/kW × 1.131 kW.
    let ambient = 20.0 + 17.0 * (-(2.0f64 * 2.0)).exp();
    let expect = ((ambient + 5.0 * 1.131) * 1000.0).round() as i64;
    assert_eq!(w1.sensors[1].millicelsius(w.plant()), expect);
}

#[tokio::test(start_paused = true)]
async fn onewire_files_are_kept_updated_while_served() {
    let dir = std::env::temp_dir().join(format!("voltwire-w1-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let text = DAY.replace(
        "dir:/tmp/voltwire-scene-day-unused",
        &format!("dir:{}", dir.display()),
    );
    // Only the 1-Wire device and the relays: nothing on a pty.
    let text = text
        .split("[[device]]")
        .filter(|d| !d.contains("kind = \"daly\"") && !d.contains("vedirect"))
        .collect::<Vec<_>>()
        .join("[[device]]");
    let scene = Scene::parse(&text).unwrap();
    let world = scene.world(600.0);
    let mut links = Vec::new();
    scene
        .serve_in(
            world.clone(),
            |_| {},
            |name: &str, link: &str| {
                links.push((name.to_owned(), link.to_owned()));
                Ok(())
            },
            voltwire_sim::scene::no_external(),
            |_: &str| None::<voltwire_sim::serve::can::NoBus>,
            tokio::time::sleep(Duration::from_secs(42)),
        )
        .await
        .unwrap();
    assert_eq!(
        links,
        [
            ("load1".to_owned(), "virtual://load1".to_owned()),
            ("balancer".to_owned(), "virtual://balancer".to_owned()),
            ("w1".to_owned(), dir.display().to_string()),
        ]
    );
    // The last write is what the world holds now (nothing else advanced it).
    let w = world::lock(&world);
    assert!(
        w.plant().time() >= h(6.9),
        "42 s at ×600: {:?}",
        w.plant().time()
    );
    let w1 = &scene.devices[2];
    for s in &w1.sensors {
        let file = std::fs::read_to_string(dir.join(&s.id).join("temperature")).unwrap();
        assert_eq!(file, format!("{}\n", s.millicelsius(w.plant())), "{}", s.id);
    }
    assert!(!dir.join("28-0000cell/temperature.new").exists());
    drop(w);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn day_keys_are_checked_and_named() {
    let bad = |from: &str, to: &str| Scene::parse(&DAY.replace(from, to)).unwrap_err();
    assert_eq!(bad("sunset_h = 19", "sunset_h = 6").field, "sun.sunset_h");
    assert_eq!(bad("peak_w = 1600", "peak_w = -1").field, "sun.peak_w");
    assert_eq!(bad("load_w = 480", "").field, "device[4].load_w");
    assert_eq!(
        bad("listen = \"virtual://load1\"", "listen = \"pty\"").field,
        "device[4].listen"
    );
    assert_eq!(
        bad("dir:/tmp/voltwire-scene-day-unused", "/tmp/w1").field,
        "device[6].listen"
    );
    assert_eq!(bad("28-0000cell", "cell").field, "device[6].sensor[0].id");
    assert_eq!(
        bad("reads = \"pack\"", "reads = \"air\"").field,
        "device[6].sensor[0].reads"
    );
    assert_eq!(
        bad("absorption_mv = 27600", "absorption_mv = 5").field,
        "flows.absorption_mv"
    );
    let e = bad(
        "kind = \"vedirect-smartshunt\"",
        "kind = \"vedirect-smartshunt\"\nload_w = 5",
    );
    assert_eq!(e.field, "device[3].load_w");
    let mqtt = DAY.replace(
        "listen = \"virtual://load1\"",
        "listen = \"mqtt://127.0.0.1:1883/load1\"",
    );
    let s = Scene::parse(&mqtt).unwrap();
    assert_eq!(
        s.devices[4].listen,
        voltwire_sim::serve::Listen::Mqtt {
            broker: "mqtt://127.0.0.1:1883".into(),
            topic: "load1".into()
        }
    );
    let _ = Milliamps(0);
}
