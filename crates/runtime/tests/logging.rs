//! `-v` counts and `RUST_LOG`; colours only on a terminal without `NO_COLOR`; a log that
//! cannot be written never panics.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::ffi::OsStr;
use std::process::{Command, Stdio};

use voltwire_runtime::logging::{dropped_lines, filter_directive, init, stderr_line, use_ansi};

#[test]
fn verbosity_and_rust_log() {
    assert_eq!(filter_directive(0, None), "warn");
    assert_eq!(filter_directive(1, None), "info");
    assert_eq!(filter_directive(2, Some("  ")), "debug");
    assert_eq!(filter_directive(9, None), "trace");
    assert_eq!(
        filter_directive(0, Some("voltwire_runtime=debug")),
        "voltwire_runtime=debug"
    );
    // Installs once; a second install is refused, not a panic.
    init(1).unwrap();
    assert!(init(1).is_err());
}

#[test]
fn ansi_only_on_a_terminal_without_no_color() {
    assert!(use_ansi(true, None));
    assert!(
        use_ansi(true, Some(OsStr::new(""))),
        "an empty NO_COLOR counts as unset"
    );
    assert!(!use_ansi(true, Some(OsStr::new("1"))));
    assert!(!use_ansi(false, None), "a pipe or journald gets plain text");
    assert!(!use_ansi(false, Some(OsStr::new("1"))));
}

/// The child half of `unwritable_stderr_never_panics`: logs through the real subscriber and
/// `stderr_line` with stderr on /dev/full, then checks that the lines were counted as
/// dropped. Does nothing when run on its own.
#[test]
fn child_logs_to_unwritable_stderr() {
    if std::env::var_os("VOLTWIRE_LOGGING_CHILD").is_none() {
        return;
    }
    init(1).unwrap();
    for i in 0..100 {
        tracing::warn!(i, "a line stderr cannot take");
    }
    stderr_line(format_args!("and a plain one"));
    assert!(dropped_lines() >= 101, "{}", dropped_lines());
    println!("child done, {} lines dropped", dropped_lines());
}

#[test]
fn unwritable_stderr_never_panics() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_logs_to_unwritable_stderr", "--nocapture"])
        .env("VOLTWIRE_LOGGING_CHILD", "1")
        .stdin(Stdio::null())
        .stderr(full)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{:?}\n{stdout}", out.status);
    assert!(stdout.contains("child done, "), "{stdout}");
    assert!(stdout.contains("1 passed"), "{stdout}");
}
