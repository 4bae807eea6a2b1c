//! The gateway on SLCAN over TCP (a console server in front of the adapters), with the
//! links dropped under it: a lost BMS link means the safe state after the timeout, then
//! reconnect with backoff and normal output again; a lost inverter link is reopened and the
//! bursts resume on the new connection.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::missing_panics_doc,
    reason = "test code"
)]

mod slcan_wire;

use std::path::Path;
use std::time::Duration;

use can_gateway::app::{self, Hooks};
use can_gateway::config::Config;
use slcan_wire::{bms, burst_lines};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::time::{Instant, timeout};
use voltwire_core::Milliamps;
use voltwire_pylontech::can::Message;
/// Read SLCAN lines from the gateway until a 0x351 arrives; its (CCL, DCL).
async fn next_limits(r: &mut BufReader<TcpStream>) -> Option<(Milliamps, Milliamps)> {
    let mut line = Vec::new();
    loop {
        line.clear();
        if r.read_until(b'\r', &mut line).await.ok()? == 0 {
            return None;
        }
        let l = line.strip_suffix(b"\r").unwrap_or(&line);
        if l.len() < 5 || l[0] != b't' || &l[1..4] != b"351" {
            continue;
        }
        let n = usize::from(l[4] - b'0');
        let data: Vec<u8> = (0..n)
            .map(|i| {
                u8::from_str_radix(std::str::from_utf8(&l[5 + 2 * i..7 + 2 * i]).unwrap(), 16)
                    .unwrap()
            })
            .collect();
        let Message::Limits(lim) = Message::parse(0x351, &data).unwrap() else {
            panic!("0x351 did not parse as limits");
        };
        return Some((lim.charge_current, lim.discharge_current));
    }
}

/// Wait until the inverter side sees limits `want`.
async fn wait_limits(r: &mut BufReader<TcpStream>, want: (i32, i32), within: Duration, what: &str) {
    let end = Instant::now() + within;
    let mut last = None;
    while Instant::now() < end {
        match timeout(end - Instant::now(), next_limits(r)).await {
            Ok(Some(l)) => {
                if l == (Milliamps(want.0), Milliamps(want.1)) {
                    return;
                }
                last = Some(l);
            }
            Ok(None) => panic!("{what}: the gateway closed the inverter link"),
            Err(_) => break,
        }
    }
    panic!("{what}: limits {want:?} not seen within {within:?}; last {last:?}");
}

#[tokio::test]
async fn lost_links_are_survived() {
    let bms_srv = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let inv_srv = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let toml = format!(
        r#"
[gateway]
recovery_hold_s = 0.3
tick_ms = 20

[[input]]
name = "bms"
bus = "slcan+tcp://{}?handshake=none"
capacity_ah = 100
timeout_s = 0.6

[[output]]
name = "inv"
bus = "slcan+tcp://{}?handshake=none"
interval_ms = 200
min_delay_ms = 0
"#,
        bms_srv.local_addr().unwrap(),
        inv_srv.local_addr().unwrap()
    );
    let settings = Config::parse(&toml, Path::new("test.toml")).unwrap();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let gw = tokio::spawn(app::run(settings, Hooks::default(), async move {
        let _ = stop_rx.await;
    }));

    let lines = burst_lines(&bms());
    let feed = |mut s: TcpStream, lines: Vec<u8>| {
        tokio::spawn(async move {
            loop {
                if s.write_all(&lines).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let (b, _) = timeout(Duration::from_secs(5), bms_srv.accept())
        .await
        .unwrap()
        .unwrap();
    let feeder = feed(b, lines.clone());
    let (i, _) = timeout(Duration::from_secs(5), inv_srv.accept())
        .await
        .unwrap()
        .unwrap();
    let mut inv = BufReader::new(i);
    wait_limits(&mut inv, (50_000, 60_000), Duration::from_secs(3), "start").await;

    // The BMS link goes away: the inverter is told charge/discharge 0 after the timeout.
    feeder.abort();
    // Order, not speed: the next change the inverter hears is to 0 / 0 (a generous bound
    // for a loaded machine; the timing goal lives in the latency benchmark).
    wait_limits(&mut inv, (0, 0), Duration::from_secs(10), "BMS link lost").await;
    // The gateway reconnects (backoff from 0.2 s); the BMS speaks again; limits come back.
    let (b, _) = timeout(Duration::from_secs(5), bms_srv.accept())
        .await
        .expect("no reconnect")
        .unwrap();
    let feeder = feed(b, lines.clone());
    wait_limits(
        &mut inv,
        (50_000, 60_000),
        Duration::from_secs(3),
        "BMS link back",
    )
    .await;

    // The inverter link goes away: reopened, and the bursts go on on the new connection.
    drop(inv);
    let (i, _) = timeout(Duration::from_secs(5), inv_srv.accept())
        .await
        .expect("no reconnect")
        .unwrap();
    let mut inv = BufReader::new(i);
    wait_limits(
        &mut inv,
        (50_000, 60_000),
        Duration::from_secs(3),
        "inverter link back",
    )
    .await;

    feeder.abort();
    let _ = stop_tx.send(());
    timeout(Duration::from_secs(5), gw)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
