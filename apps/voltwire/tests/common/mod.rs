//! Helpers shared by the CLI tests: run the `voltwire` binary, read its JSON Lines.

#![allow(dead_code, reason = "each test file uses a subset")]

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// Path of `rel` under the repository's `testdata/`.
pub(crate) fn testdata_path(rel: &str) -> String {
    format!("{}/../../testdata/{rel}", env!("CARGO_MANIFEST_DIR"))
}

/// Run `voltwire` with `args`, writing `stdin` (if any) to its standard input.
pub(crate) fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_voltwire"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        input.write_all(bytes).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

/// The JSON objects on stdout, one per line.
pub(crate) fn lines(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Whether `v` is a number within 1e-9 of `want`.
pub(crate) fn close(v: &Value, want: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - want).abs() < 1e-9)
}
