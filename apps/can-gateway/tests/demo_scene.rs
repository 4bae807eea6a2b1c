//! `--demo`'s installation is `examples/scenes/can-gateway.toml`: the scene serves every bus
//! the demo's configuration names, each BMS with its input's capacity and each inverter in
//! its output's mode; run through the scene engine beside the real gateway on tokio's
//! paused clock, the scripted silence of bms2 is seen in order (active, stale after 20 s,
//! recovering once it speaks at 35 s, active after the hold) and the README's sample line
//! is what the demo prints at 23 s.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "test code"
)]

use std::path::Path;
use std::time::Duration;

use can_gateway::app::{self, Hooks};
use can_gateway::bus::{BusUrl, VirtualBuses};
use can_gateway::config::{Config, OutputMode};
use can_gateway::demo::{self, DEMO_CONFIG, status_line};
use can_gateway::simulated::spawn_inverter;
use serde_json::Value;
use tokio::sync::watch;
use voltwire_sim::scene::Kind;
use voltwire_sim::serve::Listen;

fn bus_name(url: &BusUrl) -> String {
    match url {
        BusUrl::Virtual(n) => n.clone(),
        other => panic!("the demo runs on virtual buses only: {other:?}"),
    }
}

#[test]
fn the_scene_serves_every_bus_of_the_demo_config() {
    let settings = Config::parse(DEMO_CONFIG, Path::new("<demo>")).unwrap();
    let scene = demo::scene().unwrap();
    let on_bus = |kind: Kind| -> Vec<(String, &voltwire_sim::scene::DeviceSpec)> {
        scene
            .devices
            .iter()
            .filter(|d| d.kind == kind)
            .map(|d| match &d.listen {
                Listen::Virtual(b) => (b.clone(), d),
                other => panic!("{} is not on a virtual bus: {other:?}", d.name),
            })
            .collect()
    };
    let bmses = on_bus(Kind::PylontechCan);
    assert_eq!(bmses.len(), settings.inputs.len());
    for (input, (bus, d)) in settings.inputs.iter().zip(&bmses) {
        assert_eq!(&bus_name(&input.bus), bus, "{}", input.name);
        assert_eq!(d.name, input.name);
        // One pack each, of the input's capacity.
        assert_eq!(d.packs.1, 1, "{}", d.name);
        assert_eq!(
            scene.packs[d.packs.0].capacity, input.domain.capacity,
            "{}",
            d.name
        );
    }
    let inverters = on_bus(Kind::PylontechInverter);
    assert_eq!(inverters.len(), settings.outputs.len());
    for (output, (bus, d)) in settings.outputs.iter().zip(&inverters) {
        assert_eq!(&bus_name(&output.bus), bus, "{}", output.name);
        assert_eq!(d.name, output.name);
        // A sync output answers an inverter that asks; a push output's inverter listens.
        assert_eq!(
            d.keep_alive.is_some(),
            output.mode == OutputMode::Sync,
            "{}",
            d.name
        );
    }
    assert_eq!(
        demo::script_summary(&scene),
        "bms2 goes silent at 20 s for 15 s"
    );
}

/// The README's sample status line.
fn readme_line() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    readme
        .lines()
        .find(|l| l.starts_with("t= 23s "))
        .expect("the README shows the demo's line at 23 s")
        .to_owned()
}

#[tokio::test(start_paused = true)]
async fn the_demo_scene_beside_the_gateway_in_paused_time() {
    let settings = Config::parse(DEMO_CONFIG, Path::new("<demo>")).unwrap();
    let scene = demo::scene().unwrap();
    let virtuals = VirtualBuses::default();
    let taps = [
        ("inv1", spawn_inverter(virtuals.get("inv1").node(), None)),
        ("inv2", spawn_inverter(virtuals.get("inv2").node(), None)),
    ];
    let (snap_tx, snap_rx) = watch::channel(Value::Null);
    let hooks = Hooks {
        virtuals: virtuals.clone(),
        snapshot: Some(snap_tx),
        web_bound: None,
    };
    let world = scene.world(1.0);
    let start = tokio::time::Instant::now();
    let watch = async {
        let mut seen: Vec<(u64, String)> = Vec::new();
        let mut at_23 = String::new();
        // Sampled half-way between the whole seconds at which the BMSes, the inverter's
        // 0x305 and the gateway's sends fall, so no sample races an instant's events.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        for _ in 0..50 {
            tick.tick().await;
            let t = start.elapsed();
            let snap = snap_rx.borrow().clone();
            let status = snap["inputs"][1]["status"]
                .as_str()
                .unwrap_or("-")
                .to_owned();
            if seen.last().is_none_or(|(_, s)| *s != status) {
                seen.push((t.as_secs(), status));
            }
            if t.as_secs() == 23 {
                let views: Vec<_> = taps
                    .iter()
                    .map(|(n, tap)| ((*n).to_owned(), tap.view.borrow().state))
                    .collect();
                at_23 = status_line(t, &snap, &views);
            }
        }
        (seen, at_23)
    };
    let (seen, at_23) = tokio::select! {
        r = app::run(settings, hooks, std::future::pending()) => panic!("the gateway ended: {r:?}"),
        r = demo::serve_scene(&scene, world.clone(), &virtuals, std::future::pending()) => {
            panic!("the scene ended: {r:?}")
        }
        r = watch => r,
    };
    // bms2: used after the hold, stale once its silence outlasts its timeout, recovering
    // once it speaks again, used after the hold again.
    let states: Vec<&str> = seen.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(
        states,
        ["recovering", "active", "stale", "recovering", "active"],
        "{seen:?}"
    );
    // The silence starts at 20 s (its last burst before: at 19 s, plus the 3 s timeout);
    // it speaks at 35 s and is used again 5 s (the hold) later.
    assert!(seen[2].0 >= 20, "{seen:?}");
    assert!(seen[3].0 >= 35, "{seen:?}");
    assert!(seen[4].0 >= 35 + 5, "{seen:?}");
    assert_eq!(at_23, readme_line());
}

/// `voltwire sim scene examples/scenes/can-gateway.toml` serves each `virtual://` device
/// behind a simulated SLCAN adapter on a pty of its own: the demo's configuration with those
/// ptys as its buses runs a real gateway on them (every input used, both inverters served).
#[tokio::test]
async fn a_gateway_reads_the_scene_served_on_slcan_ptys() {
    use std::cell::RefCell;
    use std::rc::Rc;

    const GUARD: Duration = Duration::from_secs(90);
    fn quiet(_: std::fmt::Arguments<'_>) {}
    let mut scene = demo::scene().unwrap();
    // The installation without its script (which the paused-time test covers): a loaded
    // machine may take its time to reach 3/3 without bms2 falling silent meanwhile.
    scene.events.clear();
    let ports = Rc::new(RefCell::new(Vec::<(String, String)>::new()));
    let said = Rc::clone(&ports);
    let serving = scene.serve(
        1.0,
        quiet,
        move |name, link| {
            said.borrow_mut().push((name.to_owned(), link.to_owned()));
            Ok(())
        },
        voltwire_sim::scene::no_external(),
        std::future::pending(),
    );
    let gateway = async {
        while ports.borrow().len() < scene.devices.len() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut config = DEMO_CONFIG.to_owned();
        for (name, pty) in ports.borrow().iter() {
            assert!(pty.starts_with("/dev/"), "{name}: {pty}");
            config = config.replace(
                &format!("\"virtual://{name}\""),
                &format!("\"slcan://{pty}?bitrate=500000\""),
            );
        }
        assert!(!config.contains("virtual://"), "{config}");
        let settings = Config::parse(&config, Path::new("<ptys>")).unwrap();
        let (snap_tx, mut snap_rx) = watch::channel(Value::Null);
        let hooks = Hooks {
            virtuals: VirtualBuses::default(),
            snapshot: Some(snap_tx),
            web_bound: None,
        };
        let run = app::run(settings, hooks, std::future::pending());
        let served = async {
            loop {
                snap_rx.changed().await.unwrap();
                let s = snap_rx.borrow_and_update().clone();
                let outputs_fed = (0..2).all(|o| {
                    s["outputs"][o]["bursts"].as_u64().unwrap_or(0) > 0
                        && s["outputs"][o]["link"] == "up"
                });
                if s["combined"]["mode"] == "normal"
                    && s["combined"]["inputs_active"] == 3
                    && outputs_fed
                {
                    return s;
                }
            }
        };
        tokio::select! {
            r = run => panic!("the gateway ended: {r:?}"),
            s = served => s,
        }
    };
    let (serving, gateway) = (Box::pin(serving), Box::pin(gateway));
    let snap = tokio::time::timeout(GUARD, async {
        tokio::select! {
            r = serving => panic!("the scene ended: {r:?}"),
            s = gateway => s,
        }
    })
    .await
    .expect("the gateway uses every input of the scene on its ptys");
    let names: Vec<&str> = snap["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bms1", "bms2", "bms3"]);
    // The stack's discharge (3600 W, about 68 A) is what the gateway reads from the three.
    let amps = snap["combined"]["current_a"].as_f64().unwrap();
    assert!((-75.0..-60.0).contains(&amps), "{amps}");
}
