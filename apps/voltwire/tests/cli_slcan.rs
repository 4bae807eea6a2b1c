//! `voltwire decode slcan` on SLCAN byte streams.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "test code"
)]

use std::process::Output;

mod common;
use common::{close, lines};

fn voltwire(args: &[&str]) -> Output {
    common::run(args, None)
}

fn testdata(file: &str) -> String {
    format!("{}/../../testdata/{file}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn python_can_lines() {
    let out = voltwire(&[
        "decode",
        "slcan",
        &testdata("slcan/python-can-test-lines.bin"),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v = lines(&out);
    assert_eq!(v.len(), 4);
    assert_eq!(v[0]["id"], 0x12AB_CDEF);
    assert_eq!(v[0]["extended"], true);
    assert_eq!(v[0]["data_hex"], "AA55");
    assert_eq!(v[1]["offset"], 15);
    assert_eq!(v[2]["remote"], true);
    assert_eq!(v[2]["dlc"], 8);
}

#[test]
fn timestamps_and_commands() {
    let out = voltwire(&[
        "decode",
        "slcan",
        &testdata("slcan/constructed-timestamp-and-meanwell.bin"),
    ]);
    let v = lines(&out);
    assert!(close(&v[0]["timestamp_s"], 59.999));
    assert_eq!(v[1]["id_hex"], "0x000C0300");
    let out = voltwire(&[
        "decode",
        "slcan",
        &testdata("slcan/python-can-4.6.1-open-sequence.bin"),
    ]);
    let v = lines(&out);
    assert_eq!(v[1]["command"], "bitrate");
    assert_eq!(v[1]["argument"]["bitrate_bps"], 250_000);
    assert_eq!(v[2]["type"], "ok");
}

#[test]
fn malformed_line_is_an_error_and_decoding_goes_on() {
    let dir = voltwire_testkit::scratch_dir("slcan");
    let capture = dir.join("capture");
    std::fs::write(&capture, b"t1239\r\x07t1230\r").unwrap();
    let out = voltwire(&["decode", "slcan", capture.to_str().unwrap()]);
    let v = lines(&out);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(v[0]["error"], "bad_frame");
    assert_eq!(v[1]["type"], "nak");
    assert_eq!(v[2]["type"], "frame");
}

#[test]
fn a_capture_that_is_not_slcan_exits_1() {
    let out = voltwire(&[
        "decode",
        "slcan",
        &testdata("victron/bmv700-fw308-karioja-dump.bin"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not look like slcan"), "{err}");
    // A real adapter's open sequence (only commands and replies) is SLCAN.
    let out = voltwire(&[
        "decode",
        "slcan",
        &testdata("slcan/python-can-4.6.1-open-sequence.bin"),
    ]);
    assert_eq!(out.status.code(), Some(0));
}
