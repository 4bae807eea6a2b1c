//! `voltwire sim` for the CAN devices, run as a user runs it: on real ptys, with our
//! runtime's `SlcanBus` as the SLCAN host (the BIC-2200 has no working third-party peer),
//! and the simulated inverter joined to the simulated BMS through this test.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::many_single_char_names,
    reason = "test code"
)]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use voltwire_core::{Milliamps, Millivolts};
use voltwire_meanwell::{Body, Command as Mw, Family, Message, Target, Value};
use voltwire_runtime::can::{CanBus as _, CanFrame, SlcanBus};
use voltwire_runtime::link::{Link, LinkUrl};
use voltwire_slcan::Dialect;

mod sim_common;
use sim_common::sim;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn host(pty: &str, bitrate: u32) -> SlcanBus<Link> {
    let link = Link::open(&LinkUrl::Serial {
        path: pty.to_owned(),
        baud: 115_200,
    })
    .await
    .unwrap();
    SlcanBus::open(link, bitrate, Dialect::Canable)
        .await
        .unwrap()
}

fn frame(m: &Message) -> CanFrame {
    m.to_frame::<CanFrame>().unwrap()
}

const BIC: Family = Family::Bic2200;

async fn bic_write(bus: &mut SlcanBus<Link>, v: Value) {
    let m = Message {
        family: BIC,
        target: Target::Device(0),
        body: Body::Write(v),
    };
    bus.send(&frame(&m)).await.unwrap();
}

/// A bound no healthy run comes near, however loaded the machine: the tests assert what
/// arrives and in which order, not how fast.
const EVENTUALLY: Duration = Duration::from_secs(10);

/// Read `c` from BIC id 0: the reply to it is the next frame on the bus (the unit speaks
/// only when asked), and it arrives eventually.
async fn bic_read(bus: &mut SlcanBus<Link>, c: Mw) -> Value {
    let m = Message {
        family: BIC,
        target: Target::Device(0),
        body: Body::Read(c),
    };
    bus.send(&frame(&m)).await.unwrap();
    let f = tokio::time::timeout(EVENTUALLY, bus.recv())
        .await
        .unwrap_or_else(|_| panic!("no reply to {c:?} within {EVENTUALLY:?}"))
        .unwrap();
    let r = Message::from_frame(&f).unwrap();
    assert_eq!(r.target, Target::Device(0), "{r:?}");
    let Body::Reply(v) = r.body else {
        panic!("the answer to {c:?} is not a reply: {r:?}")
    };
    assert_eq!(v.command(), c, "a reply to another read: {v:?}");
    v
}

#[test]
fn bic2200_reads_writes_and_set_points_drive_the_plant() {
    let s = sim(&["meanwell-bic2200", "--listen", "slcan-pty"]);
    rt().block_on(async {
        let mut bus = host(&s.listening, 250_000).await;
        let Value::Vout(v) = bic_read(&mut bus, Mw::READ_VOUT).await else {
            panic!()
        };
        assert!((48_000..=55_200).contains(&v.0), "{v:?}");
        // Default VOUT_SET 51.5 V is below the pack: no current.
        assert_eq!(
            bic_read(&mut bus, Mw::READ_IOUT).await,
            Value::Iout(Milliamps(0))
        );
        // Charge: 56 V / 20 A.
        bic_write(&mut bus, Value::VoutSet(Millivolts(56_000))).await;
        bic_write(&mut bus, Value::IoutSet(Milliamps(20_000))).await;
        assert_eq!(
            bic_read(&mut bus, Mw::VOUT_SET).await,
            Value::VoutSet(Millivolts(56_000))
        );
        assert_eq!(
            bic_read(&mut bus, Mw::IOUT_SET).await,
            Value::IoutSet(Milliamps(20_000))
        );
        let Value::Iout(i) = bic_read(&mut bus, Mw::READ_IOUT).await else {
            panic!()
        };
        assert!((19_800..=20_000).contains(&i.0), "charging {i:?}");
        // Discharge: direction 1, floor 44 V, 15 A.
        bic_write(&mut bus, Value::ReverseVoutSet(Millivolts(44_000))).await;
        bic_write(&mut bus, Value::ReverseIoutSet(Milliamps(15_000))).await;
        bic_write(&mut bus, Value::Direction(1)).await;
        assert_eq!(
            bic_read(&mut bus, Mw::DIRECTION_CTRL).await,
            Value::Direction(1)
        );
        let Value::Iout(i) = bic_read(&mut bus, Mw::READ_IOUT).await else {
            panic!()
        };
        assert!((-15_000..=-14_800).contains(&i.0), "discharging {i:?}");
        // Out of range (BIC-2200-48: 38..65 V): refused, the set point stays.
        bic_write(&mut bus, Value::VoutSet(Millivolts(70_000))).await;
        assert_eq!(
            bic_read(&mut bus, Mw::VOUT_SET).await,
            Value::VoutSet(Millivolts(56_000))
        );
        // Operation off: no current.
        bic_write(&mut bus, Value::Operation(0)).await;
        assert_eq!(
            bic_read(&mut bus, Mw::READ_IOUT).await,
            Value::Iout(Milliamps(0))
        );
    });
}

#[test]
fn bic2200_silent_answers_nothing_but_the_adapter_still_acks() {
    let s = sim(&[
        "meanwell-bic2200",
        "--listen",
        "slcan-pty",
        "--fault",
        "silent",
    ]);
    rt().block_on(async {
        // The open sequence needs the adapter's acks: it succeeds.
        let mut bus = host(&s.listening, 250_000).await;
        let m = Message {
            family: BIC,
            target: Target::Device(0),
            body: Body::Read(Mw::READ_VOUT),
        };
        bus.send(&frame(&m)).await.unwrap();
        // Nothing, however long we listen (a late answer would show up here too).
        let r = tokio::time::timeout(Duration::from_secs(1), bus.recv()).await;
        assert!(r.is_err(), "a silent unit answered: {r:?}");
    });
}

#[test]
fn can_sim_usage_errors_name_the_flag() {
    for (args, flag) in [
        (&["meanwell-npb", "--listen", "pty"][..], "--listen pty"),
        (
            &[
                "pylontech-can",
                "--listen",
                "slcan-pty",
                "--bitrate",
                "12345",
            ],
            "--bitrate 12345",
        ),
        (
            &[
                "pylontech-can",
                "--listen",
                "slcan-pty",
                "--fault",
                "bad-checksum",
            ],
            "--fault bad-checksum",
        ),
        (
            &["daly", "--listen", "pty", "--bitrate", "500000"],
            "--bitrate",
        ),
        (
            &["pylontech-inverter", "--listen", "slcan-pty", "--soc", "50"],
            "--soc",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_voltwire"))
            .arg("sim")
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(flag), "{args:?}: {err}");
    }
}

/// A `voltwire sim` whose stdout lines after the first arrive on a channel.
struct LineSim {
    child: Child,
    listening: String,
    lines: mpsc::Receiver<String>,
}

impl Drop for LineSim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn line_sim(args: &[&str]) -> LineSim {
    let mut child = Command::new(env!("CARGO_BIN_EXE_voltwire"))
        .arg("sim")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut r = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    r.read_line(&mut first).unwrap();
    let v: serde_json::Value = serde_json::from_str(&first).unwrap();
    let listening = v["listening"].as_str().unwrap().to_owned();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for l in r.lines() {
            let Ok(l) = l else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    LineSim {
        child,
        listening,
        lines,
    }
}

#[test]
fn inverter_and_bms_joined_both_ways() {
    let inverter = line_sim(&["pylontech-inverter", "--listen", "slcan-pty"]);
    let bms = sim(&["pylontech-can", "--listen", "slcan-pty"]);
    // Relay both ways until the inverter has sent three keep-alives and the BMS has answered
    // them with more bursts than its own once-a-second ones would make: 0x305 every second,
    // a burst every second and again on each 0x305.
    let (keep_alives, bursts) = rt().block_on(async {
        let mut inv = host(&inverter.listening, 500_000).await;
        let mut bat = host(&bms.listening, 500_000).await;
        let (mut keep_alives, mut bursts) = (0, 0);
        let end = tokio::time::Instant::now() + 3 * EVENTUALLY;
        while keep_alives < 3 || bursts < keep_alives + 2 {
            tokio::select! {
                () = tokio::time::sleep_until(end) => panic!(
                    "{keep_alives} keep-alives, {bursts} bursts after {:?}", 3 * EVENTUALLY
                ),
                f = inv.recv() => {
                    let f = f.unwrap();
                    assert_eq!(f.id(), 0x305, "the inverter sends only 0x305");
                    assert_eq!(f.data(), [0; 8]);
                    keep_alives += 1;
                    bat.send(&f).await.unwrap();
                }
                f = bat.recv() => {
                    let f = f.unwrap();
                    if f.id() == 0x359 {
                        bursts += 1;
                    }
                    inv.send(&f).await.unwrap();
                }
            }
        }
        (keep_alives, bursts)
    });
    assert!(keep_alives >= 3, "{keep_alives} keep-alives");
    // What the inverter printed about the frames relayed to it: eventually every kind.
    let mut seen: Vec<serde_json::Value> = Vec::new();
    let kinds = [
        "charge_limits",
        "soc_soh",
        "measurements",
        "alarms",
        "request",
        "manufacturer",
    ];
    let end = Instant::now() + EVENTUALLY;
    while !kinds.iter().all(|k| seen.iter().any(|v| v["type"] == *k)) {
        let left = end.saturating_duration_since(Instant::now());
        let Ok(l) = inverter.lines.recv_timeout(left) else {
            panic!("the inverter printed only {seen:?} ({bursts} bursts relayed)")
        };
        seen.push(serde_json::from_str(&l).unwrap());
    }
    seen.extend(
        inverter
            .lines
            .try_iter()
            .map(|l| serde_json::from_str::<serde_json::Value>(&l).unwrap()),
    );
    let last = |t: &str| {
        seen.iter()
            .rev()
            .find(|v| v["type"] == t)
            .unwrap_or_else(|| panic!("the inverter saw no {t}: {seen:?}"))
            .clone()
    };
    assert!(seen.iter().all(|v| v.get("error").is_none()), "{seen:?}");
    let l = last("charge_limits");
    assert_eq!(l["seen"], "0x351");
    assert_eq!(l["charge_voltage_limit_v"], 56.8);
    assert_eq!(l["charge_current_limit_a"], 50.0);
    assert_eq!(l["discharge_voltage_limit_v"], 48.0);
    let s = last("soc_soh");
    let soc = s["soc_pct"].as_f64().unwrap();
    assert!((45.0..=50.0).contains(&soc), "{s}");
    let m = last("measurements");
    let v = m["voltage_v"].as_f64().unwrap();
    let i = m["current_a"].as_f64().unwrap();
    assert!((48.0..=55.2).contains(&v), "{m}");
    assert!((i + 500.0 / v).abs() < 0.2, "{m}");
    // alarms, request and manufacturer: present (the loop above waited for every kind).
}
