//! `voltwire poll` against the simulators, one per protocol (ptys and TCP), and a device
//! that never answers (timeouts are items, not exits).

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

use std::process::{Command, Output, Stdio};
use std::time::Instant;

use serde_json::Value;
use sim_common::{EVENTUALLY, sim};

/// Run `voltwire poll ARGS` to its end (a failure guard kills it after a generous bound).
fn poll(args: &[&str]) -> (Output, Vec<Value>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_voltwire"))
        .arg("poll")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > EVENTUALLY * 3 {
            let _ = child.kill();
            panic!("voltwire poll {args:?} did not end");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let lines = String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (out, lines)
}

/// Poll `protocol` at `source` for one cycle with a generous reply timeout: every request
/// is answered, in order, by a message of the expected type.
fn answered(protocol: &str, source: &str, extra: &[&str], want: &[&str]) -> Vec<Value> {
    let mut args = vec![protocol, source, "--count", "1", "--timeout", "5"];
    args.extend_from_slice(extra);
    let (out, lines) = poll(&args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{protocol}: {:?} {err}", out.status);
    let types: Vec<&str> = lines
        .iter()
        .map(|l| l["type"].as_str().unwrap())
        .filter(|t| want.contains(t) || *t == "timeout")
        .collect();
    assert_eq!(types, want, "{protocol}: {lines:?}");
    assert!(lines.iter().all(|l| l["protocol"] == protocol));
    lines
}

#[test]
fn daly_on_a_pty() {
    let s = sim(&["daly", "--listen", "pty", "--cells", "8"]);
    // The reply timeout is an hour: the multi-frame replies (0x95 cells, 0x96 temperatures)
    // must end when the line falls silent, not at the timeout, or the poll never ends (and
    // the guard fails the test). Each is printed before the next request is answered.
    let source = format!("serial://{}", s.listening);
    let (out, lines) = poll(&["daly", &source, "--count", "1", "--timeout", "3600"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?} {err}", out.status);
    let types: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "pack_status",
            "cell_voltage_range",
            "temperature_range",
            "mosfet_status",
            "status_info",
            "cell_voltages",
            "temperatures",
            "failures",
        ],
        "{lines:?}"
    );
    assert_eq!(lines[4]["cell_count"], 8);
    assert!(lines[0]["voltage_v"].as_f64().unwrap() > 20.0);
    // 8 cells in 3 frames, counted from the 0x94 just before; the sensors likewise.
    let cells = &lines[5];
    assert_eq!(cells["frames"], 3, "{cells}");
    assert_eq!(cells["count"], 8);
    assert_eq!(cells["missing_frames"], serde_json::json!([]));
    assert_eq!(cells["cell_voltages_v"].as_array().unwrap().len(), 8);
    let sensors = lines[4]["temperature_sensor_count"].as_u64().unwrap();
    assert!(sensors > 0);
    let temps = &lines[6];
    assert_eq!(temps["count"], sensors, "{temps}");
    assert_eq!(temps["missing_frames"], serde_json::json!([]));
    assert_eq!(
        temps["temperatures_c"].as_array().unwrap().len() as u64,
        sensors
    );
}

#[test]
fn jk_and_jk_pb_on_tcp() {
    let s = sim(&["jk", "--listen", "tcp://127.0.0.1:0", "--cells", "14"]);
    let lines = answered(
        "jk",
        &format!("tcp://{}", s.listening),
        &[],
        &["read_all_reply"],
    );
    assert_eq!(lines[0]["cell_voltages_v"].as_array().unwrap().len(), 14);
    let s = sim(&["jk-pb", "--listen", "tcp://127.0.0.1:0"]);
    answered(
        "jk-pb",
        &format!("tcp://{}", s.listening),
        &["--address", "1"],
        &["status", "about"],
    );
}

#[test]
fn pace_and_pylontech_rs485_on_ptys() {
    let s = sim(&["pace", "--listen", "pty"]);
    let lines = answered(
        "pace",
        &format!("serial://{}", s.listening),
        &[],
        &["analog", "status"],
    );
    assert_eq!(lines[0]["adr"], 1);
    let s = sim(&["pylontech-rs485", "--listen", "pty", "--modules", "2"]);
    let lines = answered(
        "pylontech-rs485",
        &format!("serial://{}", s.listening),
        &["--address", "3"],
        &["analog", "alarm"],
    );
    assert_eq!(lines[0]["adr"], 3);
}

#[test]
fn vedirect_hex_get_on_a_pty() {
    let s = sim(&["vedirect-mppt", "--listen", "pty"]);
    let lines = answered(
        "vedirect",
        &format!("serial://{}", s.listening),
        &[],
        &["hex_get_response", "hex_get_response", "hex_get_response"],
    );
    let regs: Vec<&str> = lines
        .iter()
        .filter(|l| l["type"] == "hex_get_response")
        .map(|l| l["register"].as_str().unwrap())
        .collect();
    assert_eq!(regs, ["0x0201", "0xED8D", "0xED8F"]);
}

#[test]
fn meanwell_behind_slcan_on_a_pty_and_on_tcp() {
    let s = sim(&["meanwell-bic2200", "--listen", "slcan-pty"]);
    let want = ["reply"; 4];
    let lines = answered(
        "meanwell-can",
        &format!("slcan://{}?bitrate=250000", s.listening),
        &[],
        &want,
    );
    let names: Vec<&str> = lines
        .iter()
        .map(|l| l["command"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "read_vout",
            "read_iout",
            "read_temperature_1",
            "fault_status"
        ]
    );
    let s = sim(&["meanwell-npb", "--listen", "tcp://127.0.0.1:0"]);
    let lines = answered(
        "meanwell-can",
        &format!("slcan+tcp://{}?bitrate=250000", s.listening),
        &["--family", "npb"],
        &want,
    );
    assert_eq!(lines[0]["family"], "NPB");
}

#[test]
fn a_silent_device_gives_timeout_items_and_polling_goes_on() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // Accept and say nothing.
    let held = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        s
    });
    let (out, lines) = poll(&[
        "pylontech-rs485",
        &format!("tcp://{addr}"),
        "--count",
        "2",
        "--interval",
        "0.05",
        "--timeout",
        "0.2",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let seen: Vec<(u64, &str, &str)> = lines
        .iter()
        .map(|l| {
            assert_eq!(l["type"], "timeout", "{l}");
            (
                l["cycle"].as_u64().unwrap(),
                l["request"].as_str().unwrap(),
                l["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (1, "analog", "no_reply"),
            (1, "alarm", "no_reply"),
            (2, "analog", "no_reply"),
            (2, "alarm", "no_reply"),
        ]
    );
    drop(held.join());
}

#[test]
fn usage_errors_name_the_fix() {
    for (args, want) in [
        (vec!["pylontech-can", "tcp://h:1"], "decode pylontech-can"),
        (
            vec!["jk", "tcp://h:1", "--address", "2"],
            "--address does not apply",
        ),
        (vec!["daly", "/dev/ttyUSB0"], "serial:///dev/ttyUSB0"),
        (vec!["daly", "tcp://h:1", "--interval", "abc"], "seconds"),
        (vec!["meanwell-can", "tcp://h:1"], "CAN protocol"),
        (vec!["nope", "tcp://h:1"], "unknown PROTOCOL"),
    ] {
        let (out, lines) = poll(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(lines.is_empty());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
}
