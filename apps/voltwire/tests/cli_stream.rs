//! `voltwire decode` streams: a message is printed while the input is still open, and
//! `--follow` picks up what is appended to a file.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "test code"
)]

mod common;
mod sim_common;

use std::io::Write as _;
use std::process::{Command, Stdio};

use common::testdata_path;
use sim_common::{collect_until, reader};

/// Complete JSON lines in `bytes`.
fn json_lines(bytes: &[u8]) -> Vec<serde_json::Value> {
    let text = String::from_utf8_lossy(bytes);
    let complete = text.rfind('\n').map_or("", |i| &text[..i]);
    complete
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Kills the child on drop (a failed assertion must not leave it running).
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_record_is_printed_before_the_input_ends() {
    let block = std::fs::read(testdata_path(
        "victron/bluesolar-75-15-fw123-karioja-block1.bin",
    ))
    .unwrap();
    let mut child = Killed(
        Command::new(env!("CARGO_BIN_EXE_voltwire"))
            .args(["decode", "vedirect"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut input = child.0.stdin.take().unwrap();
    let out = reader(child.0.stdout.take().unwrap());

    // One block in, one record out, with the pipe still open.
    input.write_all(&block).unwrap();
    input.flush().unwrap();
    let got = collect_until(&out, |b| !json_lines(b).is_empty());
    let first = json_lines(&got);
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0]["type"], "record");
    assert_eq!(first[0]["offset"], 0);
    assert_eq!(first[0]["product_id"]["code"], 0xA042);

    // A second block: the second record, at the second block's offset.
    input.write_all(&block).unwrap();
    input.flush().unwrap();
    let got = collect_until(&out, |b| !json_lines(b).is_empty());
    let second = json_lines(&got);
    assert_eq!(second.len(), 1, "{second:?}");
    assert_eq!(second[0]["type"], "record");
    assert_eq!(second[0]["offset"], block.len() as u64);

    drop(input);
    let status = child.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn follow_prints_what_is_appended_to_a_file() {
    let dir = voltwire_testkit::scratch_dir("cli-follow");
    let path = dir.join("capture.bin");
    let block = std::fs::read(testdata_path(
        "victron/bluesolar-75-15-fw123-karioja-block1.bin",
    ))
    .unwrap();
    std::fs::write(&path, &block).unwrap();
    let mut child = Killed(
        Command::new(env!("CARGO_BIN_EXE_voltwire"))
            .args(["decode", "vedirect", "--follow"])
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let out = reader(child.0.stdout.take().unwrap());
    let got = collect_until(&out, |b| !json_lines(b).is_empty());
    assert_eq!(json_lines(&got)[0]["type"], "record");

    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    f.write_all(&block).unwrap();
    f.flush().unwrap();
    let got = collect_until(&out, |b| !json_lines(b).is_empty());
    assert_eq!(json_lines(&got)[0]["offset"], block.len() as u64);
    // Still following: the process has not ended.
    assert!(child.0.try_wait().unwrap().is_none());
}

/// Truncation and rotation of a followed file: each said on stderr, and decoding goes on with
/// the new bytes from the start of the file.
#[test]
fn follow_notices_truncation_and_rotation() {
    let dir = voltwire_testkit::scratch_dir("cli-follow-rotate");
    let path = dir.join("capture.bin");
    let block = std::fs::read(testdata_path(
        "victron/bluesolar-75-15-fw123-karioja-block1.bin",
    ))
    .unwrap();
    // Two records first, so that the truncated file (one record) is shorter than what was
    // read whenever the follower looks.
    std::fs::write(&path, [block.as_slice(), &block].concat()).unwrap();
    let mut child = Killed(
        Command::new(env!("CARGO_BIN_EXE_voltwire"))
            .args(["decode", "vedirect", "--follow"])
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let out = reader(child.0.stdout.take().unwrap());
    let err = reader(child.0.stderr.take().unwrap());
    let got = collect_until(&out, |b| json_lines(b).len() >= 2);
    assert_eq!(json_lines(&got).len(), 2);

    // Truncated and written anew (same file, shorter).
    std::fs::write(&path, &block).unwrap();
    let said = collect_until(&err, |b| String::from_utf8_lossy(b).contains("truncated"));
    assert!(
        String::from_utf8_lossy(&said).contains("reading it again from its start"),
        "{}",
        String::from_utf8_lossy(&said)
    );
    let got = collect_until(&out, |b| !json_lines(b).is_empty());
    let line = &json_lines(&got)[0];
    assert_eq!(line["type"], "record");
    // Offsets count the stream on: the third record starts after the first two.
    assert_eq!(line["offset"], 2 * block.len() as u64);

    // Rotated: moved away, a new file at the path.
    std::fs::rename(&path, dir.join("capture.bin.1")).unwrap();
    std::fs::write(&path, &block).unwrap();
    let said = collect_until(&err, |b| String::from_utf8_lossy(b).contains("rotated"));
    assert!(
        String::from_utf8_lossy(&said).contains("replaced by a new file"),
        "{}",
        String::from_utf8_lossy(&said)
    );
    let got = collect_until(&out, |b| !json_lines(b).is_empty());
    let line = &json_lines(&got)[0];
    assert_eq!(line["type"], "record");
    assert_eq!(line["offset"], 3 * block.len() as u64);
    assert!(child.0.try_wait().unwrap().is_none());
}

#[test]
fn follow_needs_a_file() {
    let out = common::run(&["decode", "vedirect", "--follow"], Some(b""));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--follow needs a file"), "{err}");
}
