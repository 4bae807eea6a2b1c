//! A scene served on an app's in-process CAN buses (`Scene::serve_in`), in paused time: the
//! can-gateway example's BMSes report their own packs on their own buses, the scripted
//! silence is on the bus exactly from its time to its end, a 0x305 is answered at once, the
//! sync inverter asks every second and the push one never; served without buses, each
//! `virtual://` device gets a pty of its own, announced by name.

#![cfg(feature = "scene")]
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "test code"
)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use voltwire_pylontech::can::{CanMessage as _, ChargeLimits, InverterRequest};
use voltwire_sim::CanFrame;
use voltwire_sim::scene::{Scene, no_external};
use voltwire_sim::serve::can::CanNode;

fn example() -> Scene {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/scenes/can-gateway.toml");
    Scene::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn quiet(_: core::fmt::Arguments<'_>) {}

/// The device's end of a test bus: what it sends is stamped with the (paused) time.
struct Node {
    out: mpsc::UnboundedSender<(Duration, CanFrame)>,
    inbox: mpsc::UnboundedReceiver<CanFrame>,
    start: Instant,
}

impl CanNode for Node {
    async fn send(&mut self, frame: &CanFrame) -> io::Result<()> {
        self.out
            .send((self.start.elapsed(), *frame))
            .map_err(|_| io::Error::other("the test is gone"))
    }

    async fn recv(&mut self) -> io::Result<CanFrame> {
        self.inbox
            .recv()
            .await
            .ok_or_else(|| io::Error::other("the test is gone"))
    }
}

/// The test's end of a bus.
struct Probe {
    heard: mpsc::UnboundedReceiver<(Duration, CanFrame)>,
    say: mpsc::UnboundedSender<CanFrame>,
}

fn drain(p: &mut Probe) -> Vec<(Duration, CanFrame)> {
    let mut v = Vec::new();
    while let Ok(x) = p.heard.try_recv() {
        v.push(x);
    }
    v
}

fn times_of(frames: &[(Duration, CanFrame)], id: u32) -> Vec<Duration> {
    frames
        .iter()
        .filter(|(_, f)| f.id() == id)
        .map(|(t, _)| *t)
        .collect()
}

#[tokio::test(start_paused = true)]
async fn the_can_gateway_scene_on_in_process_buses() {
    let scene = example();
    let start = Instant::now();
    let mut nodes = HashMap::new();
    let mut probes = HashMap::new();
    for bus in ["bms1", "bms2", "bms3", "inv1", "inv2"] {
        let (out, heard) = mpsc::unbounded_channel();
        let (say, inbox) = mpsc::unbounded_channel();
        nodes.insert(bus.to_owned(), Node { out, inbox, start });
        probes.insert(bus, Probe { heard, say });
    }
    let announced = Rc::new(RefCell::new(Vec::new()));
    let said = Rc::clone(&announced);
    let world = scene.world(1.0);
    let serving = scene.serve_in(
        world.clone(),
        quiet,
        move |name, link| {
            said.borrow_mut().push(format!("{name} {link}"));
            Ok(())
        },
        no_external(),
        |bus| nodes.remove(bus),
        std::future::pending(),
    );
    let script = async {
        // An inverter's 0x305 on bms3's bus at 10.5 s is answered at once.
        tokio::time::sleep(Duration::from_millis(10_500)).await;
        let req = InverterRequest::zeros().to_frame::<CanFrame>().unwrap();
        probes["bms3"].say.send(req).unwrap();
        tokio::time::sleep(Duration::from_millis(34_500)).await;
    };
    tokio::select! {
        r = serving => panic!("the scene ended: {r:?}"),
        () = script => {}
    }
    assert_eq!(
        *announced.borrow(),
        [
            "bms1 virtual://bms1",
            "bms2 virtual://bms2",
            "bms3 virtual://bms3",
            "inv1 virtual://inv1",
            "inv2 virtual://inv2"
        ]
    );
    let s = Duration::from_secs;
    let frames: HashMap<&str, Vec<(Duration, CanFrame)>> =
        probes.iter_mut().map(|(k, p)| (*k, drain(p))).collect();
    // bms2: bursts before 20 s and from 35 s, none in between; bms1 throughout.
    let bms2 = times_of(&frames["bms2"], 0x359);
    assert!(bms2.iter().any(|t| *t < s(20)), "{bms2:?}");
    assert!(!bms2.iter().any(|t| (s(20)..s(35)).contains(t)), "{bms2:?}");
    assert!(bms2.iter().any(|t| (s(35)..s(36)).contains(t)), "{bms2:?}");
    let bms1 = times_of(&frames["bms1"], 0x359);
    for k in 0..44 {
        assert!(
            bms1.iter().any(|t| (s(k)..s(k + 1)).contains(t)),
            "bms1 has a burst in second {k}: {bms1:?}"
        );
    }
    // The answer to the 0x305 at 10.5 s, at once.
    let bms3 = times_of(&frames["bms3"], 0x359);
    assert!(bms3.contains(&Duration::from_millis(10_500)), "{bms3:?}");
    // Each BMS reports its own pack: half a C of 100, 100 and 200 Ah.
    for (bus, amps) in [("bms1", 50_000), ("bms2", 50_000), ("bms3", 100_000)] {
        let f = frames[bus].iter().find(|(_, f)| f.id() == 0x351).unwrap().1;
        let limits = ChargeLimits::from_frame(&f).unwrap();
        assert_eq!(limits.charge_current.0, amps, "{bus}");
    }
    // inv2 asks every second; inv1 only listens.
    let inv2 = times_of(&frames["inv2"], 0x305);
    for k in 0..44 {
        assert!(
            inv2.iter().any(|t| (s(k)..s(k + 1)).contains(t)),
            "inv2 asks in second {k}: {inv2:?}"
        );
    }
    assert!(frames["inv1"].is_empty(), "{:?}", frames["inv1"]);
    assert_eq!(voltwire_sim::world::lock(&world).applied().len(), 2);
}

#[tokio::test]
async fn without_buses_each_virtual_device_gets_a_pty() {
    let scene = example();
    let announced = Rc::new(RefCell::new(Vec::new()));
    let said = Rc::clone(&announced);
    let seen = Rc::clone(&announced);
    let all_five = async move {
        while seen.borrow().len() < 5 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let r = tokio::time::timeout(
        Duration::from_secs(60),
        scene.serve(
            1.0,
            quiet,
            move |name, link| {
                // The pty exists while the scene serves it.
                let open = std::path::Path::new(link).exists();
                said.borrow_mut()
                    .push((name.to_owned(), link.to_owned(), open));
                Ok(())
            },
            no_external(),
            all_five,
        ),
    )
    .await;
    assert!(matches!(r, Ok(Ok(()))), "{r:?}");
    let got = announced.borrow();
    let names: Vec<&str> = got.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names, ["bms1", "bms2", "bms3", "inv1", "inv2"]);
    for (name, link, open) in got.iter() {
        assert!(*open && link.starts_with("/dev/"), "{name}: {link}");
    }
}
