//! `voltwire decode PROTOCOL SOURCE` on live sources: simulators on a pty, on TCP and behind
//! a simulated SLCAN adapter; a source that appears late; one that vanishes and comes back.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "test code"
)]

mod sim_common;

use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;

use serde_json::Value;
use sim_common::{collect_until, reader, sim};

/// A running `voltwire decode` (or `poll`), with its stdout and stderr read by threads;
/// killed on drop.
pub(crate) struct Cli {
    child: Child,
    out: Receiver<Vec<u8>>,
    err: Receiver<Vec<u8>>,
    seen_out: Vec<u8>,
    seen_err: Vec<u8>,
}

impl Drop for Cli {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Cli {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_voltwire"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = reader(child.stdout.take().unwrap());
        let err = reader(child.stderr.take().unwrap());
        Self {
            child,
            out,
            err,
            seen_out: Vec::new(),
            seen_err: Vec::new(),
        }
    }

    /// Complete JSON lines printed so far, waiting until `enough` of them.
    fn lines_until(&mut self, enough: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let seen = std::mem::take(&mut self.seen_out);
        let more = collect_until(&self.out, |b| {
            let mut all = seen.clone();
            all.extend_from_slice(b);
            enough(&json_lines(&all))
        });
        self.seen_out = seen;
        self.seen_out.extend_from_slice(&more);
        json_lines(&self.seen_out)
    }

    /// Stderr so far, waiting until it contains `text`.
    fn stderr_until(&mut self, text: &str) -> String {
        let seen = std::mem::take(&mut self.seen_err);
        let more = collect_until(&self.err, |b| {
            let mut all = seen.clone();
            all.extend_from_slice(b);
            String::from_utf8_lossy(&all).contains(text)
        });
        self.seen_err = seen;
        self.seen_err.extend_from_slice(&more);
        String::from_utf8_lossy(&self.seen_err).into_owned()
    }

    /// SIGTERM, then the exit status.
    fn stop(&mut self) -> std::process::ExitStatus {
        let st = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
        self.child.wait().unwrap()
    }
}

fn json_lines(bytes: &[u8]) -> Vec<Value> {
    let text = String::from_utf8_lossy(bytes);
    let complete = text.rfind('\n').map_or("", |i| &text[..i]);
    complete
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}

fn records(lines: &[Value]) -> usize {
    lines.iter().filter(|l| l["type"] == "record").count()
}

#[test]
fn vedirect_from_a_pty_and_from_tcp() {
    let pty = sim(&["vedirect-mppt", "--listen", "pty"]);
    let tcp = sim(&["vedirect-smartshunt", "--listen", "tcp://127.0.0.1:0"]);
    // No baud in the URL: VE.Direct's 19200 is used.
    let mut a = Cli::start(&["decode", "vedirect", &format!("serial://{}", pty.listening)]);
    let mut b = Cli::start(&["decode", "vedirect", &format!("tcp://{}", tcp.listening)]);
    let la = a.lines_until(|l| records(l) >= 2);
    let lb = b.lines_until(|l| records(l) >= 2);
    assert_eq!(la[0]["protocol"], "vedirect");
    assert!(
        la[0]["product_id"]["name"]
            .as_str()
            .unwrap()
            .contains("MPPT"),
        "{}",
        la[0]
    );
    assert!(
        la[0]["battery_voltage_v"].as_f64().unwrap() > 40.0,
        "{}",
        la[0]
    );
    assert!(
        lb[0]["product_id"]["name"]
            .as_str()
            .unwrap()
            .contains("SmartShunt"),
        "{}",
        lb[0]
    );
    // Offsets grow: the second record comes after the first.
    assert!(la[1]["offset"].as_u64() > la[0]["offset"].as_u64());
    assert!(a.stop().success());
    assert!(b.stop().success());
}

#[test]
fn pylontech_can_behind_an_slcan_adapter_on_a_pty_and_on_tcp() {
    let pty = sim(&["pylontech-can", "--listen", "slcan-pty"]);
    let tcp = sim(&["pylontech-can", "--listen", "tcp://127.0.0.1:0"]);
    let mut a = Cli::start(&[
        "decode",
        "pylontech-can",
        &format!("slcan://{}?bitrate=500000", pty.listening),
    ]);
    let mut b = Cli::start(&[
        "decode",
        "pylontech-can",
        &format!("slcan+tcp://{}", tcp.listening),
    ]);
    for cli in [&mut a, &mut b] {
        let lines = cli.lines_until(|l| l.iter().any(|m| m["type"] == "measurements"));
        let m = lines.iter().find(|m| m["type"] == "measurements").unwrap();
        assert_eq!(m["id"], "0x356");
        assert!(m["voltage_v"].as_f64().unwrap() > 40.0, "{m}");
        assert!(lines.iter().all(|m| m.get("error").is_none()), "{lines:?}");
        assert!(cli.stderr_until("bus open").contains("bus open"));
        assert!(cli.stop().success());
    }
}

#[test]
fn a_source_that_appears_late_is_waited_for() {
    let port = voltwire_testkit::free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut cli = Cli::start(&["decode", "vedirect", &format!("tcp://{addr}")]);
    let err = cli.stderr_until("retrying");
    assert!(err.contains("cannot open"), "{err}");
    let _sim = sim(&["vedirect-mppt", "--listen", &format!("tcp://{addr}")]);
    let lines = cli.lines_until(|l| records(l) >= 1);
    assert_eq!(lines[0]["type"], "record");
    assert!(cli.stderr_until("connected").contains("connected"));
    assert!(cli.stop().success());
}

#[test]
fn a_source_that_vanishes_is_reopened() {
    let port = voltwire_testkit::free_port();
    let addr = format!("127.0.0.1:{port}");
    let first = sim(&["vedirect-mppt", "--listen", &format!("tcp://{addr}")]);
    let mut cli = Cli::start(&["decode", "vedirect", &format!("tcp://{addr}")]);
    let before = records(&cli.lines_until(|l| records(l) >= 1));
    drop(first);
    let err = cli.stderr_until("reconnecting");
    assert!(
        err.contains("closed by the other end") || err.contains("lost"),
        "{err}"
    );
    let _second = sim(&["vedirect-mppt", "--listen", &format!("tcp://{addr}")]);
    let lines = cli.lines_until(|l| records(l) > before);
    assert!(records(&lines) > before);
    assert!(cli.stop().success());
}

#[test]
fn bad_sources_are_usage_errors_naming_the_fix() {
    for (args, want) in [
        (
            ["decode", "pylontech-can", "serial:///dev/ttyUSB0"],
            "is a CAN protocol",
        ),
        (
            ["decode", "daly", "slcan:///dev/ttyACM0"],
            "not a CAN protocol",
        ),
        (["decode", "daly", "ftp://x"], "unknown scheme"),
        (["decode", "daly", "tcp://host"], "port"),
        (
            ["decode", "pylontech-can", "slcan:///dev/x?bitrate=7"],
            "bitrate",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_voltwire"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(out.stdout.is_empty());
    }
}

/// A Daly response frame from BMS 1: `A5 01 CMD 08 DATA×8 SUM`.
fn daly_frame(command: u8, data: [u8; 8]) -> Vec<u8> {
    let mut f = vec![0xA5, 0x01, command, 0x08];
    f.extend_from_slice(&data);
    let sum = f.iter().fold(0u8, |s, b| s.wrapping_add(*b));
    f.push(sum);
    f
}

/// A live Daly source that falls silent after a multi-frame reply: the reply is printed
/// without waiting for another frame (the device here is the test, on TCP, and it sends
/// the next frame only after it has read the assembled reply). The 0x96 reply carries one
/// frame more than the 0x94 count (as in the mpp-solar capture): still one reply.
#[test]
fn daly_multi_frame_reply_is_printed_when_the_line_falls_silent() {
    use std::io::Write as _;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut cli = Cli::start(&["decode", "daly", &format!("tcp://{addr}")]);
    let (mut device, _) = listener.accept().unwrap();
    // 0x94: 8 cells, 1 temperature sensor.
    device
        .write_all(&daly_frame(0x94, [8, 1, 0, 0, 0, 0, 12, 0]))
        .unwrap();
    let lines = cli.lines_until(|l| !l.is_empty());
    assert_eq!(lines[0]["type"], "status_info");
    // 0x95 in three frames (3 + 3 + 2 cells), written at once; then nothing.
    let mut reply = Vec::new();
    for (n, cells) in [
        (1u8, [3301u16, 3302, 3303]),
        (2, [3304, 3305, 3306]),
        (3, [3307, 3308, 0]),
    ] {
        let mut data = [n, 0, 0, 0, 0, 0, 0, 0];
        for (slot, mv) in data[1..7].chunks_mut(2).zip(cells) {
            slot.copy_from_slice(&mv.to_be_bytes());
        }
        reply.extend(daly_frame(0x95, data));
    }
    device.write_all(&reply).unwrap();
    let lines = cli.lines_until(|l| l.len() >= 2);
    assert_eq!(lines.len(), 2, "{lines:?}");
    let cells = &lines[1];
    assert_eq!(cells["type"], "cell_voltages", "{cells}");
    assert_eq!(cells["frames"], 3);
    assert_eq!(cells["count"], 8);
    assert_eq!(cells["missing_frames"], serde_json::json!([]));
    assert_eq!(
        cells["cell_voltages_v"],
        serde_json::json!([3.301, 3.302, 3.303, 3.304, 3.305, 3.306, 3.307, 3.308])
    );
    // 0x96: 25 °C (raw 65) in frame 1, a padding frame 2; then nothing.
    let mut reply = daly_frame(0x96, [1, 65, 0, 0, 0, 0, 0, 0]);
    reply.extend(daly_frame(0x96, [2, 0, 0, 0, 0, 0, 0, 0]));
    device.write_all(&reply).unwrap();
    let lines = cli.lines_until(|l| l.len() >= 3);
    let temps = &lines[2];
    assert_eq!(temps["type"], "temperatures", "{temps}");
    assert_eq!(temps["frames"], 2);
    assert_eq!(temps["missing_frames"], serde_json::json!([]));
    assert_eq!(temps["temperatures_c"], serde_json::json!([25]));
    // A single-frame reply after it is printed at once, in order.
    // 0x90: 53.2 V, current raw 29875 (12.5 A off the 30000 offset), SOC 87.5 %.
    let [v0, v1] = 532u16.to_be_bytes();
    let [c0, c1] = 29_875u16.to_be_bytes();
    let [s0, s1] = 875u16.to_be_bytes();
    device
        .write_all(&daly_frame(0x90, [v0, v1, 0, 0, c0, c1, s0, s1]))
        .unwrap();
    let lines = cli.lines_until(|l| l.len() >= 4);
    let types: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "status_info",
            "cell_voltages",
            "temperatures",
            "pack_status"
        ]
    );
    assert_eq!(lines[3]["voltage_v"], 53.2, "{}", lines[3]);
    assert_eq!(lines[3]["soc_pct"], 87.5);
    assert!(cli.stop().success());
}
