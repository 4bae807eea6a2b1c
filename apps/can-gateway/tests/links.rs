//! Failures that must not hide (issue 22, items 6–8), in process over SLCAN-over-TCP links
//! served by the test and in-process buses: a silent input connection is dropped and
//! reopened; an output whose adapter stops acknowledging is reopened and its counters say
//! what was written; malformed adapter lines count in `bad_frames`; a `sync` output whose
//! inverter stops asking reports its link stale; on exit every output hears one last
//! disabled burst (or nothing, with `on_exit = "silence"`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::missing_panics_doc,
    clippy::too_many_lines,
    reason = "test code"
)]

mod slcan_wire;

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use can_gateway::app::{self, Hooks};
use can_gateway::bus::VirtualBuses;
use can_gateway::config::Config;
use common::{Rig, bms, send_state};
use serde_json::Value;
use slcan_wire::{burst_lines, limits, parse_line};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout};
use voltwire_ess::BatteryState;

/// Generous bound for anything that must happen "eventually".
const WAIT: Duration = Duration::from_secs(10);

/// Start the gateway on `toml`; its snapshot and a stop switch.
fn start(
    toml: &str,
    virtuals: &VirtualBuses,
) -> (
    watch::Receiver<Value>,
    oneshot::Sender<()>,
    JoinHandle<Result<(), String>>,
) {
    let settings = Config::parse(toml, Path::new("test.toml")).unwrap();
    let (snap_tx, snap) = watch::channel(Value::Null);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let hooks = Hooks {
        virtuals: virtuals.clone(),
        snapshot: Some(snap_tx),
        web_bound: None,
    };
    let gw = tokio::spawn(app::run(settings, hooks, async move {
        let _ = stop_rx.await;
    }));
    (snap, stop_tx, gw)
}

/// Feed `s` on `virtual://<name>` every 100 ms.
fn feed_virtual(virtuals: &VirtualBuses, name: &str, s: BatteryState) -> JoinHandle<()> {
    let mut node = virtuals.get(name).node();
    tokio::spawn(async move {
        loop {
            send_state(&mut node, &s).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

async fn wait_snapshot(snap: &watch::Receiver<Value>, what: &str, pred: impl Fn(&Value) -> bool) {
    let end = Instant::now() + WAIT;
    loop {
        if pred(&snap.borrow()) {
            return;
        }
        assert!(
            Instant::now() < end,
            "{what} not reached within {WAIT:?}; gateway {}",
            *snap.borrow()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn accept(srv: &TcpListener, what: &str) -> TcpStream {
    timeout(WAIT, srv.accept())
        .await
        .unwrap_or_else(|_| panic!("{what}: no connection within {WAIT:?}"))
        .unwrap()
        .0
}

/// Read and discard until the gateway closes `s`; panics if it stays open for `WAIT`.
async fn wait_closed(s: &mut TcpStream, what: &str) {
    let mut buf = [0u8; 1024];
    let end = Instant::now() + WAIT;
    loop {
        let r = timeout(end - Instant::now(), s.read(&mut buf))
            .await
            .unwrap_or_else(|_| {
                panic!("{what}: the gateway kept the connection open for {WAIT:?}")
            });
        if matches!(r, Ok(0) | Err(_)) {
            return;
        }
    }
}

fn addr(srv: &TcpListener) -> SocketAddr {
    srv.local_addr().unwrap()
}

/// A gateway with one input `bms` (100 Ah) and one output `inv`, ticking every 20 ms with
/// no recovery hold; each argument adds its lines (the bus, timings) to its section.
fn one_bms_one_inverter(gateway: &str, input: &str, output: &str) -> String {
    format!(
        "[gateway]\nrecovery_hold_s = 0\ntick_ms = 20\n{gateway}\n\n\
         [[input]]\nname = \"bms\"\ncapacity_ah = 100\n{input}\n\n\
         [[output]]\nname = \"inv\"\n{output}\n"
    )
}

#[tokio::test]
async fn a_silent_input_connection_is_dropped_and_reopened() {
    let srv = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let toml = one_bms_one_inverter(
        "",
        &format!(
            "bus = \"slcan+tcp://{}?handshake=none\"\ntimeout_s = 0.5",
            addr(&srv)
        ),
        "bus = \"virtual://out0\"",
    );
    let virtuals = VirtualBuses::default();
    let (snap, stop, gw) = start(&toml, &virtuals);
    // A console server that delivers three telegrams, then freezes with the TCP connection
    // still open (no FIN, no RST: only the silence tells).
    let mut s = accept(&srv, "first connection").await;
    let mut last_write = Instant::now();
    for _ in 0..3 {
        s.write_all(&burst_lines(&bms(55_200, 50_000, 60_000, 500)))
            .await
            .unwrap();
        last_write = Instant::now();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_snapshot(&snap, "telegrams", |v| {
        v["inputs"][0]["telegrams"].as_u64() >= Some(1) && v["inputs"][0]["bus_up"] == true
    })
    .await;
    wait_closed(&mut s, "frozen console server").await;
    // The receive timeout is 2 × timeout_s, at least 1 s, from the last frame: never earlier.
    assert!(
        last_write.elapsed() >= can_gateway::bus::MIN_RECEIVE_TIMEOUT,
        "dropped {:?} after the last frame",
        last_write.elapsed()
    );
    // Reopened, and the input is used again.
    let mut s = accept(&srv, "reconnect").await;
    let before = snap.borrow()["inputs"][0]["telegrams"].as_u64().unwrap();
    s.write_all(&burst_lines(&bms(55_200, 50_000, 60_000, 500)))
        .await
        .unwrap();
    wait_snapshot(&snap, "telegram on the new connection", |v| {
        v["inputs"][0]["telegrams"].as_u64() > Some(before) && v["inputs"][0]["bus_up"] == true
    })
    .await;
    let _ = stop.send(());
    timeout(WAIT, gw).await.unwrap().unwrap().unwrap();
}

/// A fake Lawicel adapter on one connection: answers the open sequence (if `open`), acks
/// every transmit with `z` until `frozen` is set, counts the bursts acknowledged completely
/// (their last frame, 0x35E, acked). Returns when the gateway closes the connection.
async fn lawicel(s: TcpStream, open: bool, frozen: Arc<AtomicBool>, acked: Arc<AtomicU64>) {
    let (r, mut w) = s.into_split();
    let mut r = BufReader::new(r);
    let mut line = Vec::new();
    loop {
        line.clear();
        match r.read_until(b'\r', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let l = line.strip_suffix(b"\r").unwrap_or(&line);
        let reply: &[u8] = match l.first() {
            Some(b'C' | b'S' | b'O') if open => b"\r",
            Some(b't') if !frozen.load(Ordering::SeqCst) => {
                if l.starts_with(b"t35E") {
                    acked.fetch_add(1, Ordering::SeqCst);
                }
                b"z\r"
            }
            _ => b"",
        };
        if !reply.is_empty() && w.write_all(reply).await.is_err() {
            return;
        }
    }
}

#[tokio::test]
async fn an_output_adapter_that_stops_acknowledging_is_reopened_and_counters_tell_the_truth() {
    let srv = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let toml = one_bms_one_inverter(
        "",
        "bus = \"virtual://in0\"\ntimeout_s = 1",
        &format!(
            "bus = \"slcan+tcp://{}\"\ninterval_ms = 200\nmin_delay_ms = 50",
            addr(&srv)
        ),
    );
    let virtuals = VirtualBuses::default();
    let feeder = feed_virtual(&virtuals, "in0", bms(55_200, 50_000, 60_000, 500));
    let (snap, stop, gw) = start(&toml, &virtuals);
    let frozen = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicU64::new(0));

    let first = tokio::spawn(lawicel(
        accept(&srv, "first connection").await,
        true,
        Arc::clone(&frozen),
        Arc::clone(&acked),
    ));
    wait_snapshot(&snap, "bursts acknowledged", |v| {
        let o = &v["outputs"][0];
        o["bursts"].as_u64() >= Some(3) && o["bus_up"] == true && o["link"] == "up"
    })
    .await;
    // Counted bursts are acknowledged bursts.
    assert!(
        snap.borrow()["outputs"][0]["bursts"].as_u64().unwrap() <= acked.load(Ordering::SeqCst)
    );

    // The adapter (or the console server in front of it) hangs: it reads, answers nothing.
    frozen.store(true, Ordering::SeqCst);
    timeout(WAIT, first)
        .await
        .expect("the gateway kept the unacknowledging connection")
        .unwrap();
    // It reconnects; this time nothing answers the open sequence either.
    let second = tokio::spawn(lawicel(
        accept(&srv, "reconnect").await,
        false,
        Arc::clone(&frozen),
        Arc::clone(&acked),
    ));
    let written = acked.load(Ordering::SeqCst);
    wait_snapshot(
        &snap,
        "bus down, bursts dropped, nothing more counted",
        |v| {
            let o = &v["outputs"][0];
            o["bus_up"] == false
                && o["link"] == "down"
                && o["bursts"].as_u64() == Some(written)
                && o["bursts_dropped"].as_u64() >= Some(2)
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        snap.borrow()["outputs"][0]["bursts"].as_u64(),
        Some(written),
        "bursts counted that nobody acknowledged"
    );
    timeout(WAIT, second).await.unwrap().unwrap();

    // The adapter is back: bursts are written and counted again.
    frozen.store(false, Ordering::SeqCst);
    let third = tokio::spawn(lawicel(
        accept(&srv, "recovery").await,
        true,
        Arc::clone(&frozen),
        Arc::clone(&acked),
    ));
    wait_snapshot(&snap, "bursts again", |v| {
        let o = &v["outputs"][0];
        o["bursts"].as_u64() >= Some(written + 2) && o["bus_up"] == true
    })
    .await;
    let _ = stop.send(());
    timeout(WAIT, gw).await.unwrap().unwrap().unwrap();
    timeout(WAIT, third).await.unwrap().unwrap();
    // After the stop every burst handed out was accounted for, and every counted one was
    // acknowledged.
    let o = &snap.borrow()["outputs"][0];
    assert_eq!(
        o["bursts"].as_u64(),
        Some(acked.load(Ordering::SeqCst)),
        "{o}"
    );
    feeder.abort();
}

#[tokio::test]
async fn malformed_adapter_lines_count_in_bad_frames() {
    let srv = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let toml = one_bms_one_inverter(
        "",
        &format!(
            "bus = \"slcan+tcp://{}?handshake=none\"\ntimeout_s = 1",
            addr(&srv)
        ),
        "bus = \"virtual://out0\"",
    );
    let virtuals = VirtualBuses::default();
    let (snap, stop, gw) = start(&toml, &virtuals);
    let mut s = accept(&srv, "input").await;
    // Each cycle: three malformed lines (bad length digit, bad hex digit, truncated), an
    // unknown but well-formed line (not counted), then a good telegram.
    // The SOC differs per cycle (whole percent, as 0x355 carries it): four identical telegrams 50 ms apart would be taken for
    // the gateway's own output read back (tests/own_frames.rs), which is not this test.
    for k in 0..4 {
        let mut cycle = b"t3519\rt35120G\rt35\rV\r".to_vec();
        cycle.extend_from_slice(&burst_lines(&bms(55_200, 50_000, 60_000, 500 + 10 * k)));
        s.write_all(&cycle).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_snapshot(&snap, "bad_frames 12 and 4 telegrams", |v| {
        let i = &v["inputs"][0];
        i["bad_frames"].as_u64() == Some(12) && i["telegrams"].as_u64() == Some(4)
    })
    .await;
    // Noise does not cost the connection.
    assert_eq!(snap.borrow()["inputs"][0]["bus_up"], true);
    let _ = stop.send(());
    timeout(WAIT, gw).await.unwrap().unwrap().unwrap();
}

#[tokio::test]
async fn a_sync_output_whose_inverter_stops_asking_reports_a_stale_link() {
    let toml = r#"
[gateway]
recovery_hold_s = 0
tick_ms = 20

[[input]]
name = "bms0"
bus = "virtual://in0"
capacity_ah = 100
timeout_s = 1

[[output]]
name = "asks"
bus = "virtual://out0"
mode = "sync"
interval_ms = 1000
min_delay_ms = 0
request_timeout_s = 0.5

[[output]]
name = "silent"
bus = "virtual://out1"
mode = "sync"
interval_ms = 1000
min_delay_ms = 0
request_timeout_s = 0.5

[[output]]
name = "push"
bus = "virtual://out2"
"#;
    let s = bms(55_200, 50_000, 60_000, 500);
    let rig = Rig::start(
        toml,
        &[Some(s)],
        &[Some(Duration::from_millis(100)), None, None],
        Duration::from_millis(100),
    )
    .await;
    rig.wait_snapshot(WAIT, "stale only where no requests come", |v| {
        let o = &v["outputs"];
        o[0]["link"] == "up"
            && o[1]["link"] == "stale"
            && o[1]["bus_up"] == true
            && o[2]["link"] == "up"
            && o[0]["last_request_age_s"].as_f64().is_some()
            && o[1]["last_request_age_s"].is_null()
    })
    .await;
    rig.stop().await;
}

/// Run a gateway whose output is served by the test; stop it; every frame the output
/// link carried, in order.
async fn frames_until_exit(on_exit: &str) -> Vec<(u16, Vec<u8>)> {
    let srv = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let toml = one_bms_one_inverter(
        &format!("on_exit = \"{on_exit}\""),
        "bus = \"virtual://in0\"\ntimeout_s = 1",
        &format!(
            "bus = \"slcan+tcp://{}?handshake=none\"\ninterval_ms = 200\nmin_delay_ms = 0",
            addr(&srv)
        ),
    );
    let virtuals = VirtualBuses::default();
    let feeder = feed_virtual(&virtuals, "in0", bms(55_200, 50_000, 60_000, 500));
    let (_snap, stop, gw) = start(&toml, &virtuals);
    let mut r = BufReader::new(accept(&srv, "output").await);
    let mut seen = Vec::new();
    let mut line = Vec::new();
    // Until the inverter has been told the real limits.
    let end = Instant::now() + WAIT;
    loop {
        line.clear();
        let n = timeout(end - Instant::now(), r.read_until(b'\r', &mut line))
            .await
            .expect("no limits within the bound")
            .unwrap();
        assert_ne!(n, 0, "the gateway closed the output early");
        let f = parse_line(line.strip_suffix(b"\r").unwrap_or(&line)).unwrap();
        let normal = f.0 == 0x351 && limits(&f.1) == (500, 600);
        seen.push(f);
        if normal {
            break;
        }
    }
    let _ = stop.send(());
    // Everything until the gateway closes the link.
    loop {
        line.clear();
        let n = timeout(WAIT, r.read_until(b'\r', &mut line))
            .await
            .expect("the gateway did not close the output link on exit")
            .unwrap();
        if n == 0 {
            break;
        }
        seen.push(parse_line(line.strip_suffix(b"\r").unwrap_or(&line)).unwrap());
    }
    timeout(WAIT, gw).await.unwrap().unwrap().unwrap();
    feeder.abort();
    seen
}

#[tokio::test]
async fn on_exit_every_output_hears_one_disabled_burst() {
    let seen = frames_until_exit("safe").await;
    // The last burst, whole and in order, says: charge and discharge disabled, 0 A.
    let ids: Vec<u16> = seen.iter().rev().take(6).rev().map(|f| f.0).collect();
    assert_eq!(ids, [0x359, 0x351, 0x355, 0x356, 0x35C, 0x35E], "{seen:?}");
    let last = |id: u16| seen.iter().rev().find(|f| f.0 == id).unwrap().1.clone();
    assert_eq!(limits(&last(0x351)), (0, 0));
    assert_eq!(last(0x35C)[0] & 0xC0, 0, "enable bits still set");
    // Measurements are kept (SOC 50 %), only the permissions go.
    assert_eq!(last(0x355)[0], 50);
    // Before it, the real limits.
    assert!(
        seen.iter()
            .any(|f| f.0 == 0x351 && limits(&f.1) == (500, 600))
    );
}

#[tokio::test]
async fn on_exit_silence_sends_no_last_burst() {
    let seen = frames_until_exit("silence").await;
    let last = |id: u16| seen.iter().rev().find(|f| f.0 == id).unwrap().1.clone();
    assert_eq!(limits(&last(0x351)), (500, 600));
    assert_eq!(last(0x35C)[0] & 0xC0, 0xC0, "{seen:?}");
}

#[test]
fn on_exit_and_request_timeout_are_checked() {
    let base = r#"
[gateway]
on_exit = "EXIT"

[[input]]
name = "bms"
bus = "virtual://in0"
capacity_ah = 100

[[output]]
name = "inv"
bus = "virtual://out0"
mode = "MODE"
TIMEOUT
"#;
    let cfg = |exit: &str, mode: &str, t: &str| {
        Config::parse(
            &base
                .replace("EXIT", exit)
                .replace("MODE", mode)
                .replace("TIMEOUT", t),
            Path::new("t.toml"),
        )
    };
    let s = cfg("safe", "sync", "").unwrap();
    assert_eq!(s.on_exit, can_gateway::config::OnExit::Safe);
    assert_eq!(s.outputs[0].request_timeout_ms, 10_000);
    let s = cfg("silence", "sync", "request_timeout_s = 0").unwrap();
    assert_eq!(s.on_exit, can_gateway::config::OnExit::Silence);
    assert_eq!(s.outputs[0].request_timeout_ms, 0);
    assert_eq!(
        cfg("safe", "push", "").unwrap().outputs[0].request_timeout_ms,
        0
    );
    let e = cfg("safe", "push", "request_timeout_s = 5").unwrap_err();
    assert!(
        e.contains("output[0].request_timeout_s") && e.contains("sync"),
        "{e}"
    );
    let e = cfg("safe", "sync", "request_timeout_s = -1").unwrap_err();
    assert!(e.contains("output[0].request_timeout_s"), "{e}");
    let e = cfg("halt", "sync", "").unwrap_err();
    assert!(e.contains("on_exit"), "{e}");
}
