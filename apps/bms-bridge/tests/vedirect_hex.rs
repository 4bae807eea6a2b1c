//! VE.Direct HEX for the SmartShunt and an MPPT, against the voltwire-sim devices on
//! in-process pipes (paused clock): the source asks its registers every poll (SOC, V, I in mA
//! for the shunt; panel power for the charger), the readings match the plant, exactly one
//! reading per poll (the TEXT records the device keeps sending are not used), and the
//! requests the device heard are exactly those Gets.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "test code"
)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bms_bridge::engine::Input;
use bms_bridge::sources::{self, ChannelConnect, VeDirectRole};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, DuplexStream};
use tokio::sync::mpsc;
use voltwire_core::{StreamDecoder as _, Watts};
use voltwire_sim::device::{VeDirect, VeDirectKind};
use voltwire_sim::{Plant, SerialResponder};
use voltwire_victron::hex::Request;
use voltwire_victron::hex::register::id;
use voltwire_victron::text::{Message, RecordDecoder};

type Shared<T> = Arc<Mutex<T>>;

/// The device on its pipe: HEX requests answered, a TEXT record every second (counted in
/// `text_blocks`); what it heard is appended to `heard`.
async fn serve(
    plant: Shared<Plant>,
    kind: VeDirectKind,
    (heard, text_blocks): (Shared<Vec<u8>>, Arc<AtomicUsize>),
    mut pipe: DuplexStream,
) {
    let start = tokio::time::Instant::now();
    let mut dev = VeDirect::new(kind);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut buf = [0u8; 512];
    loop {
        let mut out = Vec::new();
        tokio::select! {
            r = pipe.read(&mut buf) => {
                let n = match r {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                heard.lock().unwrap().extend_from_slice(&buf[..n]);
                let mut p = plant.lock().unwrap();
                let now = p.advance_to(start.elapsed());
                dev.on_bytes(&buf[..n], now, &p, &mut out);
            }
            _ = tick.tick() => {
                let mut p = plant.lock().unwrap();
                let now = p.advance_to(start.elapsed());
                dev.tick(now, &p, &mut out);
                if !out.is_empty() {
                    text_blocks.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
        if pipe.write_all(&out).await.is_err() {
            return;
        }
    }
}

/// The HEX requests in `heard`, in order.
fn requests(heard: &[u8]) -> Vec<Request> {
    let mut d = RecordDecoder::new();
    let mut out = Vec::new();
    d.feed_all(heard, |item| {
        if let Ok(Message::Hex(f)) = item.value {
            out.push(Request::from_frame(&f).unwrap());
        }
    });
    out
}

struct Rig {
    plant: Shared<Plant>,
    heard: Shared<Vec<u8>>,
    text_blocks: Arc<AtomicUsize>,
    rx: mpsc::Receiver<Input>,
    _keep: mpsc::Sender<DuplexStream>,
}

fn start(kind: VeDirectKind, role: VeDirectRole) -> Rig {
    let plant = Arc::new(Mutex::new(Plant::single(16, 0.55)));
    plant.lock().unwrap().flows.mppt_pv = Watts(432);
    let heard = Shared::default();
    let text_blocks = Arc::new(AtomicUsize::new(0));
    let (app_end, dev_end) = tokio::io::duplex(16 * 1024);
    let (ptx, prx) = mpsc::channel(1);
    ptx.try_send(app_end).unwrap();
    tokio::spawn(serve(
        Arc::clone(&plant),
        kind,
        (Arc::clone(&heard), Arc::clone(&text_blocks)),
        dev_end,
    ));
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(sources::vedirect_port(
        ChannelConnect(prx),
        role,
        Some(Duration::from_secs(5)),
        tx,
    ));
    Rig {
        plant,
        heard,
        text_blocks,
        rx,
        _keep: ptx,
    }
}

impl Rig {
    /// The inputs of the next `secs` seconds (readings only).
    async fn collect(&mut self, secs: u64) -> Vec<Input> {
        let end = tokio::time::Instant::now() + Duration::from_secs(secs);
        let mut got = Vec::new();
        while let Ok(Some(i)) = tokio::time::timeout_at(end, self.rx.recv()).await {
            if let Input::Link {
                up: false, detail, ..
            } = &i
            {
                panic!("link down: {detail}");
            }
            if !matches!(i, Input::Link { .. }) {
                got.push(i);
            }
        }
        got
    }
}

#[tokio::test(start_paused = true)]
async fn smartshunt_over_hex_soc_voltage_and_current_match_the_plant_one_reading_per_poll() {
    let mut rig = start(VeDirectKind::SmartShunt, VeDirectRole::Shunt);
    let got = rig.collect(62).await;
    let polls = requests(&rig.heard.lock().unwrap());
    // Every poll is the three Gets, in order: SOC, voltage, current (mA).
    let regs: Vec<u16> = polls
        .iter()
        .map(|r| match r {
            Request::Get { register, .. } => *register,
            other => panic!("not a Get: {other:?}"),
        })
        .collect();
    assert_eq!(regs.len() % 3, 0, "{regs:x?}");
    for chunk in regs.chunks(3) {
        assert_eq!(
            chunk,
            [id::SOC, id::DC_CHANNEL1_VOLTAGE, id::DC_CHANNEL1_CURRENT_MA]
        );
    }
    // A poll at 0, 5, …, 60 s: 13, each answered by exactly one reading (the TEXT records
    // of the same 62 s are not readings here).
    assert_eq!(regs.len() / 3, 13);
    assert_eq!(got.len(), 13, "{got:?}");
    let (soc, volts, amps) = {
        let p = rig.plant.lock().unwrap();
        let pack = &p.packs()[0];
        (pack.soc(), pack.voltage(), pack.current())
    };
    let Input::Shunt(r) = got.last().unwrap() else {
        panic!("not a shunt reading: {got:?}");
    };
    assert_eq!(r.soc, Some(soc), "{r:?}");
    assert!((r.voltage.0 - volts.0).abs() <= 10, "{r:?} vs {volts:?}");
    assert!((r.current.0 - amps.0).abs() <= 100, "{r:?} vs {amps:?}");
}

#[tokio::test(start_paused = true)]
async fn mppt_over_hex_panel_power_matches_the_plant() {
    let mut rig = start(VeDirectKind::Mppt, VeDirectRole::Charger(0));
    let got = rig.collect(12).await;
    // Polls at 0, 5 and 10 s.
    assert_eq!(got, vec![Input::Charger(0, Watts(432)); 3]);
    let regs: Vec<Request> = requests(&rig.heard.lock().unwrap());
    assert_eq!(regs, vec![Request::get(id::PANEL_POWER); 3]);
    // The device sent a TEXT record every second meanwhile (each would have been a reading
    // on a TEXT port): ignored.
    assert!(rig.text_blocks.load(Ordering::SeqCst) >= 11);
}
