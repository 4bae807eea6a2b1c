//! The `can-gateway` process and its signals, on SLCAN-over-TCP links served by the test: a
//! SIGHUP is logged and ignored (the process keeps driving the inverter; it used to die with
//! status 129); SIGTERM ends it with status 0 after one last burst with charge and
//! discharge disabled and 0 A limits.

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

use std::fs;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use slcan_wire::{bms, burst_lines, limits, parse_line};

const WAIT: Duration = Duration::from_secs(10);
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, timeout};
fn kill(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(child.id().to_string())
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{sig} failed");
}

/// Read output frames until the inverter has been told the limits `want` (0.1 A).
async fn until_limits(
    r: &mut BufReader<TcpStream>,
    want: (i16, i16),
    seen: &mut Vec<(u16, Vec<u8>)>,
) {
    let end = Instant::now() + WAIT;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = timeout(end - Instant::now(), r.read_until(b'\r', &mut line))
            .await
            .unwrap_or_else(|_| panic!("limits {want:?} not seen within {WAIT:?}"))
            .unwrap();
        assert_ne!(n, 0, "the gateway closed the output link");
        let f = parse_line(line.strip_suffix(b"\r").unwrap_or(&line)).unwrap();
        let hit = f.0 == 0x351 && limits(&f.1) == want;
        seen.push(f);
        if hit {
            return;
        }
    }
}

#[tokio::test]
async fn sighup_is_ignored_and_sigterm_ends_with_a_disabled_burst_and_status_0() {
    let bms_srv = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let inv_srv = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dir = std::env::temp_dir().join(format!("can-gateway-signals-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("gw.toml");
    fs::write(
        &cfg,
        format!(
            r#"
[gateway]
recovery_hold_s = 0
tick_ms = 20

[[input]]
name = "bms"
bus = "slcan+tcp://{}?handshake=none"
capacity_ah = 100
timeout_s = 2

[[output]]
name = "inv"
bus = "slcan+tcp://{}?handshake=none"
interval_ms = 200
min_delay_ms = 0
"#,
            bms_srv.local_addr().unwrap(),
            inv_srv.local_addr().unwrap()
        ),
    )
    .unwrap();
    let log = fs::File::create(dir.join("stderr.log")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_can-gateway"))
        .arg("--config")
        .arg(&cfg)
        .arg("-v")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let stderr = || fs::read_to_string(dir.join("stderr.log")).unwrap_or_default();

    let (mut b, _) = timeout(WAIT, bms_srv.accept()).await.unwrap().unwrap();
    let feeder = tokio::spawn(async move {
        let lines = burst_lines(&bms());
        while b.write_all(&lines).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let (i, _) = timeout(WAIT, inv_srv.accept()).await.unwrap().unwrap();
    let mut inv = BufReader::new(i);
    let mut seen = Vec::new();
    until_limits(&mut inv, (500, 600), &mut seen).await;

    // SIGHUP: logged, ignored; the inverter keeps hearing the real limits.
    kill(&child, "HUP");
    let end = Instant::now() + WAIT;
    while !stderr().contains("SIGHUP ignored") {
        assert!(Instant::now() < end, "no SIGHUP log line:\n{}", stderr());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before = seen.len();
    for _ in 0..3 {
        until_limits(&mut inv, (500, 600), &mut seen).await;
    }
    assert!(seen.len() > before);
    assert!(
        child.try_wait().unwrap().is_none(),
        "the gateway died on SIGHUP:\n{}",
        stderr()
    );

    // SIGTERM: one last disabled burst, the link closed, status 0.
    kill(&child, "TERM");
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = timeout(WAIT, inv.read_until(b'\r', &mut line))
            .await
            .expect("the gateway did not close the output link after SIGTERM")
            .unwrap();
        if n == 0 {
            break;
        }
        seen.push(parse_line(line.strip_suffix(b"\r").unwrap_or(&line)).unwrap());
    }
    let end = Instant::now() + WAIT;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() >= end {
            let _ = child.kill();
            panic!("the gateway did not exit after SIGTERM:\n{}", stderr());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    feeder.abort();
    assert_eq!(status.code(), Some(0), "{}", stderr());
    let ids: Vec<u16> = seen.iter().rev().take(6).rev().map(|f| f.0).collect();
    assert_eq!(ids, [0x359, 0x351, 0x355, 0x356, 0x35C, 0x35E], "{seen:?}");
    let last = |id: u16| seen.iter().rev().find(|f| f.0 == id).unwrap().1.clone();
    assert_eq!(limits(&last(0x351)), (0, 0), "{seen:?}");
    assert_eq!(last(0x35C)[0] & 0xC0, 0, "enable bits still set: {seen:?}");
    assert!(
        stderr().contains("safe exit burst written to every output"),
        "{}",
        stderr()
    );
    let _ = fs::remove_dir_all(&dir);
}
