//! The Pace and Pylontech RS485 sources against the voltwire-sim packs on an in-process pipe
//! (paused clock): readings match the plant; Pace's charge MOSFET follows the rules' request
//! (off, and back on only because this bridge switched it off); a pack at another address is
//! silence.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "test code"
)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bms_bridge::engine::Input;
use bms_bridge::sources::{self, ChannelConnect, PaceOptions};
use tokio::io::DuplexStream;
use tokio::sync::{mpsc, watch};
use voltwire_core::MilliampHours;
use voltwire_runtime::poll::PollConfig;
use voltwire_sim::device::{PaceStack, PylontechStack};
use voltwire_sim::{PackConfig, Plant, SerialResponder};

mod support;

/// A failure guard only: every wait ends on a reading long before this (paused clock).
const GUARD: Duration = Duration::from_secs(600);

type Shared = support::Shared<Plant>;

struct Rig {
    plant: Shared,
    rx: mpsc::Receiver<Input>,
    want: watch::Sender<bool>,
    _keep: mpsc::Sender<DuplexStream>,
}

fn start(address: u8, pack: PaceStack) -> Rig {
    start_with(pack, |conn, tx, want| {
        tokio::spawn(sources::pace(
            conn,
            PaceOptions {
                address,
                poll: Duration::from_secs(5),
                poller: PollConfig::default(),
            },
            tx,
            want,
        ));
    })
}

fn start_with(
    pack: impl SerialResponder + Send + 'static,
    spawn: impl FnOnce(ChannelConnect<DuplexStream>, mpsc::Sender<Input>, watch::Receiver<bool>),
) -> Rig {
    let plant: Shared = Arc::new(Mutex::new(Plant::new(vec![PackConfig {
        cells: 16,
        capacity: MilliampHours(100_000),
        initial_soc: 0.62,
        ..PackConfig::default()
    }])));
    let (app_end, dev_end) = tokio::io::duplex(16 * 1024);
    let (ptx, prx) = mpsc::channel(1);
    ptx.try_send(app_end).unwrap();
    tokio::spawn(support::serve_pipe(
        Arc::clone(&plant),
        support::device(pack),
        support::Shared::default(),
        dev_end,
    ));
    let (tx, rx) = mpsc::channel(64);
    let (want, want_rx) = watch::channel(true);
    spawn(ChannelConnect(prx), tx, want_rx);
    Rig {
        plant,
        rx,
        want,
        _keep: ptx,
    }
}

impl Rig {
    /// The next BMS reading and the charge-MOSFET state it reported.
    async fn reading(&mut self) -> (voltwire_bms_rules::BmsReading, Option<bool>) {
        tokio::time::timeout(GUARD, async {
            loop {
                match self.rx.recv().await.expect("the source runs") {
                    Input::Bms(r, m) => return (r, m),
                    Input::Link {
                        up: false, detail, ..
                    } => panic!("link down: {detail}"),
                    _ => {}
                }
            }
        })
        .await
        .expect("a reading comes")
    }
}

#[tokio::test(start_paused = true)]
async fn pace_readings_match_the_plant_and_the_charge_mosfet_follows_the_rules() {
    let mut rig = start(1, PaceStack::new());
    let (r, mosfet) = rig.reading().await;
    let (soc, cells) = {
        let p = rig.plant.lock().unwrap();
        let pack = &p.packs()[0];
        (pack.soc(), pack.cell_voltages())
    };
    // SOC from remaining / full capacity (10 mAh steps): within 0.1 %.
    assert!((r.soc.0 - soc.0).abs() <= 1, "{r:?} vs plant {soc:?}");
    let min = cells.iter().map(|c| c.0).min().unwrap();
    let max = cells.iter().map(|c| c.0).max().unwrap();
    assert!((r.cell_min.0 - min).abs() <= 1, "{r:?} vs {min}");
    assert!((r.cell_max.0 - max).abs() <= 1, "{r:?} vs {max}");
    assert!(r.pack.0 > 16 * 3_000 && r.pack.0 < 16 * 3_700, "{r:?}");
    let t = r.temp_max.expect("cell temperatures");
    assert!((0..=600).contains(&t.0), "{t:?}");
    assert_eq!(mosfet, Some(true));

    // The rules ask for the charge MOSFET off: written, the plant stops charging, and the
    // next polls report it off.
    rig.want.send_replace(false);
    loop {
        let (_, m) = rig.reading().await;
        if m == Some(false) {
            break;
        }
    }
    assert!(!rig.plant.lock().unwrap().packs()[0].charge_enabled);
    // Back on (this bridge switched it off, so it switches it back on).
    rig.want.send_replace(true);
    loop {
        let (_, m) = rig.reading().await;
        if m == Some(true) {
            break;
        }
    }
    assert!(rig.plant.lock().unwrap().packs()[0].charge_enabled);
}

#[tokio::test(start_paused = true)]
async fn a_pack_at_another_address_is_silence_not_a_reading() {
    // The pack answers at 1..; the bridge asks address 5: no frame answers it.
    let mut rig = start(5, PaceStack::new());
    let got = tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            if let Input::Bms(r, _) = rig.rx.recv().await.expect("the source runs") {
                return r;
            }
        }
    })
    .await;
    assert!(got.is_err(), "a reading from the wrong address: {got:?}");
}

#[tokio::test(start_paused = true)]
async fn pylontech_readings_match_the_plant_read_only() {
    let mut rig = start_with(PylontechStack::new(), |conn, tx, _want| {
        tokio::spawn(sources::pylontech(
            conn,
            PaceOptions {
                address: 2,
                poll: Duration::from_secs(5),
                poller: PollConfig::default(),
            },
            tx,
        ));
    });
    let (r, mosfet) = rig.reading().await;
    let (soc, cells) = {
        let p = rig.plant.lock().unwrap();
        let pack = &p.packs()[0];
        (pack.soc(), pack.cell_voltages())
    };
    assert!((r.soc.0 - soc.0).abs() <= 1, "{r:?} vs plant {soc:?}");
    let min = cells.iter().map(|c| c.0).min().unwrap();
    let max = cells.iter().map(|c| c.0).max().unwrap();
    assert!((r.cell_min.0 - min).abs() <= 1, "{r:?} vs {min}");
    assert!((r.cell_max.0 - max).abs() <= 1, "{r:?} vs {max}");
    assert!(r.temp_max.is_some(), "{r:?}");
    // No MOSFET state (and none written): the protocol has no such command.
    assert_eq!(mosfet, None);
    // The next poll comes too (the source keeps polling).
    let (r2, _) = rig.reading().await;
    assert!((r2.soc.0 - r.soc.0).abs() <= 10, "{r2:?}");
}
