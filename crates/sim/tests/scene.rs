//! Scenes without I/O: the example scenes parse; a scene's devices, driven as a master
//! would with injected time on the scene's shared world, go silent and come back at the
//! scripted times exactly; drift and load steps reach the plant; errors name the field.

#![cfg(feature = "scene")]
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::std_instead_of_core,
    clippy::many_single_char_names,
    reason = "test code"
)]

use std::time::Duration;

use voltwire_core::{StreamDecoder as _, Watts};
use voltwire_pace::{Request, RequestBody, Response, ResponseBody, Target};
use voltwire_sim::scene::{Kind, Scene};
use voltwire_sim::serve::Listen;
use voltwire_sim::world::{self, Action};

const SCENE: &str = r#"
[flows]
discharge_w = 2000

[[pack]]
count = 4
soc = 60

[[device]]
name = "pack1"
kind = "pace"
listen = "pty"
packs = [1]

[[device]]
name = "pack3"
kind = "pace"
listen = "tcp://127.0.0.1:0"
packs = [3]

[[device]]
name = "meter"
kind = "coulombmeter"
listen = "tcp://127.0.0.1:0"

[[event]]
at = 30
action = "silent"
device = "pack3"

[[event]]
at = 45.5
action = "back"
device = "pack3"

[[event]]
at = 50
action = "cell-drift"
pack = 2
cell = 4
percent = -40

[[event]]
at = 60
action = "load"
watts = 1234

[[event]]
at = 70
action = "drop"
device = "meter"
for = 5
"#;

/// Ask `r`, device `dev` of a scene on `w`, at sim time `t` (s) for pack analog data at address 0.
fn ask_at(
    w: &voltwire_sim::SharedWorld,
    r: &mut Box<dyn voltwire_sim::SerialResponder + Send>,
    dev: usize,
    t: f64,
) -> Option<Response> {
    let mut g = world::lock(w);
    let now = g.advance_to(Duration::from_secs_f64(t));
    *r.faults_mut() = g.faults(dev);
    let req = Request::new(0, RequestBody::Analog(Target::All));
    let mut out = Vec::new();
    r.on_bytes(
        &req.to_frame().unwrap().to_bytes(),
        now,
        g.plant(),
        &mut out,
    );
    let mut got = None;
    voltwire_asciihex::Decoder::new().feed_all(&out, |i| {
        got = Some(Response::from_frame(&i.value.unwrap(), req.command()));
    });
    got
}

#[test]
fn a_scripted_silence_starts_and_ends_at_its_time() {
    let scene = Scene::parse(SCENE).unwrap();
    assert_eq!(scene.devices.len(), 3);
    assert_eq!(scene.devices[1].packs, (2, 1));
    assert_eq!(
        scene.devices[2].drop,
        Some((Duration::from_secs(70), Some(Duration::from_secs(5))))
    );
    let w = scene.world(1.0);
    let mut pack3 = scene.devices[1].serial_responder().unwrap();
    let mut pack1 = scene.devices[0].serial_responder().unwrap();
    let mut seen = Vec::new();
    for t in [0.0, 10.0, 29.9, 30.0, 40.0, 45.4, 45.5, 46.0] {
        seen.push((t, ask_at(&w, &mut pack3, 1, t).is_some()));
        // The other pack answers throughout.
        assert!(ask_at(&w, &mut pack1, 0, t).is_some(), "pack1 at {t}");
    }
    assert_eq!(
        seen,
        vec![
            (0.0, true),
            (10.0, true),
            (29.9, true),
            (30.0, false),
            (40.0, false),
            (45.4, false),
            (45.5, true),
            (46.0, true),
        ]
    );
}

#[test]
fn plant_events_reach_every_device_at_their_time() {
    let scene = Scene::parse(SCENE).unwrap();
    let w = scene.world(1.0);
    let mut pack3 = scene.devices[1].serial_responder().unwrap();
    // pack 3 reports plant pack 3 (index 2): its SOC falls with the shared discharge.
    let soc = |r: Option<Response>| {
        let ResponseBody::Analog(a) = r.unwrap().body else {
            panic!()
        };
        a.modules[0].remaining_capacity.0
    };
    let early = soc(ask_at(&w, &mut pack3, 1, 1.0));
    let later = soc(ask_at(&w, &mut pack3, 1, 600.0));
    assert!(later < early, "{early} → {later}");
    let g = world::lock(&w);
    assert_eq!(g.plant().flows.load, Watts(1234));
    assert_eq!(g.plant().flows.discharge, Watts(2000));
    let cells = g.plant().pack(1).unwrap().cell_voltages();
    let low = cells.iter().min().unwrap();
    assert_eq!(cells.iter().position(|c| c == low), Some(3), "{cells:?}");
    let other = g.plant().pack(0).unwrap().cell_voltages();
    assert!(
        other.iter().min().unwrap().0 > low.0 + 20,
        "{other:?} vs {cells:?}"
    );
    // Every plant pack shares the discharge: the bank's current is their sum.
    let sum: i32 = g.plant().packs().iter().map(|p| p.current().0).sum();
    assert_eq!(g.plant().total_current().0, sum);
    assert!(sum < -30_000, "{sum}");
}

#[test]
fn the_house_load_follows_the_scene_profile() {
    let text = SCENE.replace(
        "discharge_w = 2000",
        "discharge_w = 2000\nload_w = 1000\nload_profile = \"step\"",
    );
    let scene = Scene::parse(&text).unwrap();
    let w = scene.world(1.0);
    let mut g = world::lock(&w);
    let mut seen = Vec::new();
    for t in [1, 11, 21, 31, 55, 61] {
        g.advance_to(Duration::from_secs(t));
        seen.push(g.plant().flows.load.0);
    }
    // Step: 100 %, 150 %, 50 %, 125 % of 1000 W, 10 s each, round and round; the scripted
    // step to 1234 W at 60 s is the new level (61 s is in the 7th hold: 50 %).
    assert_eq!(seen, [1000, 1500, 500, 1250, 1500, 617]);
}

#[test]
fn the_example_scenes_parse() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/scenes");
    let read = |name: &str| Scene::parse(&std::fs::read_to_string(dir.join(name)).unwrap());
    let p = read("pace2pylon.toml").unwrap();
    assert_eq!(p.packs.len(), 12);
    let kinds: Vec<Kind> = p.devices.iter().map(|d| d.kind).collect();
    assert_eq!(kinds.iter().filter(|k| **k == Kind::Pace).count(), 12);
    assert_eq!(
        kinds.iter().filter(|k| **k == Kind::Coulombmeter).count(),
        1
    );
    for (i, d) in p
        .devices
        .iter()
        .filter(|d| d.kind == Kind::Pace)
        .enumerate()
    {
        assert_eq!(d.packs, (i, 1), "{}", d.name);
    }
    assert!(p.devices[11].settings.is_some());
    // The keys it does not set are those of its own 8-cell, 100 Ah pack (not a 16 S one's).
    let set = p.devices[11].settings.unwrap();
    let own =
        voltwire_sim::device::PaceSettings::for_pack(8, voltwire_core::MilliampHours(100_000));
    assert_eq!(set.pack_under, own.pack_under);
    assert_eq!(set.discharge_over_current, own.discharge_over_current);
    // can-gateway --demo's installation: a BMS per pack on a bus of its own, two inverters
    // (inv1 only listens), bms2 silent from 20 s to 35 s.
    let g = read("can-gateway.toml").unwrap();
    let capacities: Vec<i64> = g.packs.iter().map(|p| p.capacity.0).collect();
    assert_eq!(capacities, [100_000, 100_000, 200_000]);
    let on: Vec<(&str, Kind, Listen, (usize, usize))> = g
        .devices
        .iter()
        .map(|d| (d.name.as_str(), d.kind, d.listen.clone(), d.packs))
        .collect();
    let bus = |n: &str| Listen::Virtual(n.to_owned());
    assert_eq!(
        on,
        [
            ("bms1", Kind::PylontechCan, bus("bms1"), (0, 1)),
            ("bms2", Kind::PylontechCan, bus("bms2"), (1, 1)),
            ("bms3", Kind::PylontechCan, bus("bms3"), (2, 1)),
            ("inv1", Kind::PylontechInverter, bus("inv1"), (0, 3)),
            ("inv2", Kind::PylontechInverter, bus("inv2"), (0, 3)),
        ]
    );
    assert_eq!(g.devices[3].keep_alive, None);
    assert_eq!(g.devices[4].keep_alive, Some(Duration::from_secs(1)));
    let script: Vec<_> = g.events.iter().map(|e| (e.at, e.action)).collect();
    assert_eq!(
        script,
        [
            (Duration::from_secs(20), Action::Silent { device: 1 }),
            (Duration::from_secs(35), Action::Back { device: 1 }),
        ]
    );
    let b = read("bms-bridge.toml").unwrap();
    assert_eq!(
        b.devices.iter().map(|d| d.kind).collect::<Vec<_>>(),
        [
            Kind::Daly,
            Kind::VedirectMppt,
            Kind::VedirectMppt,
            Kind::VedirectSmartshunt,
            Kind::Relay,
            Kind::Relay,
            Kind::Relay,
            Kind::OneWire
        ]
    );
    assert!(b.sun.is_some());
    assert_eq!(b.devices[1].mppt_share, 2, "two MPPTs share the sun");
    assert_eq!(
        b.devices[4].relay,
        Some((voltwire_core::Watts(500), voltwire_core::Milliamps(0)))
    );
    assert_eq!(b.devices[7].sensors.len(), 2);
    let z = read("zero-feed-in.toml").unwrap();
    assert_eq!(z.devices[0].kind, Kind::Meter);
    assert!(z.devices.iter().any(|d| d.kind == Kind::MeanwellBic2200));
    assert!(z.devices.iter().any(|d| d.kind == Kind::JkPb));
    assert!(z.devices.iter().any(|d| d.kind == Kind::Coulombmeter));
    // Every example file is one of these.
    let n = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "toml")
        })
        .count();
    assert_eq!(n, 4, "a new example scene: check it here too");
}

#[test]
fn errors_name_the_field() {
    let base = "[[pack]]\ncount = 2\n[[device]]\nname = \"a\"\nkind = \"pace\"\nlisten = \"pty\"\n";
    let cases = [
        ("", "pack"),
        ("[[pack]]\n", "device"),
        ("[[pack]]\ncount = 0\n", "pack[0].count"),
        (
            "[[pack]]\n[flows]\nload_profile = \"wavy\"\n",
            "flows.load_profile",
        ),
        (&format!("{base}packs = [1, 3]\n"), "device[0].packs"),
        (&format!("{base}address = 16\n"), "device[0].address"),
        (&format!("{base}faults = [\"smoke\"]\n"), "device[0].faults"),
        (
            &format!(
                "{base}[[device]]\nname = \"m\"\nkind = \"meter\"\nlisten = \"tcp://127.0.0.1:0\"\n"
            ),
            "device[1].listen",
        ),
        (
            &format!(
                "{base}[[device]]\nname = \"a\"\nkind = \"daly\"\nlisten = \"pty\"\npacks = [1]\n"
            ),
            "device[1].name",
        ),
        (
            &format!("{base}[[device]]\nname = \"b\"\nkind = \"daly\"\nlisten = \"pty\"\n"),
            "device[1].packs",
        ),
        (
            &format!(
                "{base}[[device]]\nname = \"c\"\nkind = \"pylontech-can\"\nlisten = \"pty\"\n"
            ),
            "device[1].listen",
        ),
        (
            &format!("{base}[[event]]\nat = -1\naction = \"load\"\nwatts = 5\n"),
            "event[0].at",
        ),
        (
            &format!("{base}[[event]]\nat = 1\naction = \"load\"\n"),
            "event[0].watts",
        ),
        (
            &format!("{base}[[event]]\nat = 1\naction = \"explode\"\n"),
            "event[0].action",
        ),
        (
            &format!(
                "{base}[[event]]\nat = 1\naction = \"cell-drift\"\npack = 2\ncell = 17\npercent = 5\n"
            ),
            "event[0].cell",
        ),
        (
            &format!(
                "{base}[[event]]\nat = 1\naction = \"drop\"\ndevice = \"a\"\n[[event]]\nat = 2\naction = \"drop\"\ndevice = \"a\"\n"
            ),
            "event[1]",
        ),
    ];
    let can = "[[pack]]\ncount = 2\n[[device]]\nname = \"c\"\nkind = \"pylontech-can\"\nlisten = \"virtual://b1\"\n";
    let more = [
        (
            format!("{base}[[device]]\nname = \"v\"\nkind = \"daly\"\nlisten = \"virtual://x\"\npacks = [1]\n"),
            "device[1].listen",
        ),
        (
            "[[pack]]\n[[device]]\nname = \"c\"\nkind = \"pylontech-can\"\nlisten = \"virtual://\"\n".to_owned(),
            "device[0].listen",
        ),
        (
            "[[pack]]\n[[device]]\nname = \"c\"\nkind = \"pylontech-can\"\nlisten = \"virtual://a b\"\n".to_owned(),
            "device[0].listen",
        ),
        (
            format!("{can}[[device]]\nname = \"i\"\nkind = \"pylontech-inverter\"\nlisten = \"virtual://b1\"\n"),
            "device[1].listen",
        ),
        (
            format!("{can}[[event]]\nat = 1\naction = \"drop\"\ndevice = \"c\"\n"),
            "event[0].action",
        ),
        (format!("{can}keep_alive_s = 1\n"), "device[0].keep_alive_s"),
        (
            format!("{can}[[device]]\nname = \"i\"\nkind = \"pylontech-inverter\"\nlisten = \"virtual://b2\"\nkeep_alive_s = -1\n"),
            "device[1].keep_alive_s",
        ),
        (format!("{can}packs = [3]\n"), "device[0].packs"),
    ];
    let more: Vec<(&str, &str)> = more.iter().map(|(t, f)| (t.as_str(), *f)).collect();
    for (text, field) in cases.into_iter().chain(more) {
        let e = Scene::parse(text).unwrap_err();
        assert_eq!(e.field, field, "{text}\n→ {e}");
        assert!(!e.message.is_empty());
    }
    // Unknown keys are refused with the line.
    let e = Scene::parse(&format!("{base}baud_rate = 9600\n")).unwrap_err();
    assert!(
        e.message.contains("baud_rate") && e.message.contains("line 7"),
        "{e}"
    );
}
