//! Output that cannot be written: stdout on a full device is an error with a message and
//! status 1; a closed pipe (`| head -1`) ends quietly with status 0; stderr that cannot be
//! written never turns into a panic.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::fs::File;
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_voltwire");

/// About 340 kB of JSON Lines: more than a pipe buffer holds.
fn big_capture() -> String {
    format!(
        "{}/../../testdata/victron/bmv700-fw308-karioja-dump.bin",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn full() -> File {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full exists on Linux")
}

fn run(args: &[&str], stdout: Stdio, stderr: Stdio) -> Output {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn decode_to_a_full_device_is_an_error() {
    let out = run(
        &["decode", "vedirect", &big_capture()],
        full().into(),
        Stdio::piped(),
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("voltwire decode: cannot write to stdout: No space left on device"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn lists_to_a_full_device_are_errors() {
    for (args, who) in [
        (&["decode", "--list"][..], "voltwire decode"),
        (&["sim", "--list"][..], "voltwire sim"),
    ] {
        let out = run(args, full().into(), Stdio::piped());
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains(&format!(
                "{who}: cannot write to stdout: No space left on device"
            )),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn sim_cannot_announce_to_a_full_device() {
    let out = run(
        &["sim", "daly", "--listen", "pty"],
        full().into(),
        Stdio::piped(),
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("voltwire sim: No space left on device"),
        "{err}"
    );
}

#[test]
fn decode_into_a_closed_pipe_ends_quietly() {
    // `voltwire decode … | head -1`: read one line, close the pipe while it still writes.
    let mut child = Command::new(BIN)
        .args(["decode", "vedirect", &big_capture()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // (the reader is dropped here: the pipe is closed)
    assert!(first.starts_with(r#"{"protocol":"vedirect""#), "{first}");
    let out = child.wait_with_output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("cannot write"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn unwritable_stderr_never_panics() {
    // A capture with a bad checksum: the error goes to stdout as JSON and to stderr as a
    // line; stderr on a full device loses the line, nothing else changes.
    let capture = format!(
        "{}/../../testdata/victron/multi-rs-solar-fw109-kindr007-bad-checksum.bin",
        env!("CARGO_MANIFEST_DIR")
    );
    let normal = run(
        &["decode", "vedirect", &capture],
        Stdio::piped(),
        Stdio::piped(),
    );
    assert!(text(&normal.stderr).contains("checksum"));
    let lossy = run(
        &["decode", "vedirect", &capture],
        Stdio::piped(),
        full().into(),
    );
    assert_eq!(lossy.status.code(), normal.status.code());
    assert_eq!(text(&lossy.stdout), text(&normal.stdout));

    // Both streams unwritable: the message is lost, the status still says what happened
    // (1, not a panic's 101).
    let out = run(
        &["decode", "vedirect", &big_capture()],
        full().into(),
        full().into(),
    );
    assert_eq!(out.status.code(), Some(1));
    let out = run(
        &["sim", "daly", "--listen", "pty"],
        full().into(),
        full().into(),
    );
    assert_eq!(out.status.code(), Some(1));
    // A usage error with stderr unwritable: status 2.
    let out = run(&["decode", "nosuch"], Stdio::piped(), full().into());
    assert_eq!(out.status.code(), Some(2));
}
