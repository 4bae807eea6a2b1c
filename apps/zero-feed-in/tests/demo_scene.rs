//! `--demo`'s installation (`examples/scenes/zero-feed-in.toml`) on tokio's paused clock:
//! the scene's BIC-2200 on the app's in-process bus, driven by the app's real device task,
//! moves the scene's plant — what the grid meter and the bank see — and goes back to 0 W.
#![allow(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::unwrap_used,
    clippy::panic,
    reason = "std test"
)]

use std::time::Duration;

use tokio::sync::watch;
use voltwire_core::{Milliamps, Millivolts, Watts};
use voltwire_meanwell::Model;
use voltwire_runtime::can::{BusUrl, CanBus as _, CanFrame, VirtualBuses, VirtualNode};
use voltwire_sim::scene::{External, Kind, Scene};
use voltwire_sim::serve::can::CanNode;
use voltwire_zero_feed_in_rules::{DeviceCommand, DeviceStatus, WriteBudgetConfig};
use zero_feed_in::engine::Clock;

struct Node(VirtualNode);

impl CanNode for Node {
    async fn send(&mut self, frame: &CanFrame) -> std::io::Result<()> {
        self.0.send(frame).await.map_err(std::io::Error::other)
    }

    async fn recv(&mut self) -> std::io::Result<CanFrame> {
        self.0.recv().await.map_err(std::io::Error::other)
    }
}

fn quiet(_: core::fmt::Arguments<'_>) {}

#[tokio::test(start_paused = true)]
async fn the_scene_bic_follows_the_app_and_moves_the_plant() {
    let mut scene = Scene::parse(zero_feed_in::demo::SCENE).unwrap();
    // The grid meter and the BIC (the demo's part); no device is named by the script.
    scene
        .devices
        .retain(|d| matches!(d.kind, Kind::Meter | Kind::MeanwellBic2200));
    let world = scene.world(1.0);
    let virtuals = VirtualBuses::default();
    let serving = scene.serve_in(
        world.clone(),
        quiet,
        |_, _| Ok(()),
        Box::new(|e: External| {
            let _ = e.link.send("in-process".into());
            Box::pin(std::future::pending())
        }),
        |bus: &str| Some(Node(virtuals.get(bus).node())),
        std::future::pending(),
    );
    let (cmd_tx, cmd_rx) = watch::channel(DeviceCommand::OFF);
    let (status_tx, _status) = watch::channel(DeviceStatus::default());
    let device = tokio::spawn(zero_feed_in::meanwell::run(
        zero_feed_in::meanwell::Bic {
            model: Model::Bic2200_48,
            id: 0,
            bus: BusUrl::Virtual("demo-bic".into()),
            backstop_vout: Millivolts(16 * 3550),
            backstop_reverse_vout: Millivolts(16 * 2900),
            budget: WriteBudgetConfig::default(),
            state_file: None,
        },
        virtuals.clone(),
        Clock::start(1),
        cmd_rx,
        zero_feed_in::meanwell::Reports {
            status: status_tx,
            voltage: None,
        },
    ));
    let flows = || voltwire_sim::world::lock(&world).plant().flows;
    let wait = |pred: fn(voltwire_sim::Flows) -> bool, what: &'static str| {
        let world = world.clone();
        async move {
            for _ in 0..600 {
                {
                    let mut w = voltwire_sim::world::lock(&world);
                    w.advance();
                    if pred(w.plant().flows) {
                        return w.plant().grid();
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("{what} never came");
        }
    };
    let test = async {
        let before = wait(|f| f.charge == Watts(0), "the start").await;
        let f0 = flows();
        assert_eq!(before.0, f0.load.0 - f0.pv.0, "load − PV at 09:00");
        // 1000 W into a 16 S bank near 52.8 V: the BIC told ≈ 18.9 A.
        cmd_tx.send_replace(DeviceCommand {
            power: Watts(1000),
            current: Some(Milliamps(18_900)),
            voltage: None,
        });
        let charging = wait(|f| f.charge.0 > 900, "the charge").await;
        let f1 = flows();
        assert!((900..=1100).contains(&f1.charge.0), "{f1:?}");
        assert_eq!(f1.discharge, Watts(0));
        assert_eq!(
            charging.0,
            f1.load.0 - f1.pv.0 + f1.charge.0,
            "the meter sees it"
        );
        assert!(voltwire_sim::world::lock(&world).plant().total_current().0 > 10_000);
        cmd_tx.send_replace(DeviceCommand::OFF);
        wait(|f| f.charge == Watts(0) && f.discharge == Watts(0), "0 W").await;
        drop(cmd_tx);
        device.await.unwrap();
    };
    tokio::select! {
        r = serving => panic!("the scene ended: {r:?}"),
        () = test => {}
    }
}
