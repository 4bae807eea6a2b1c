//! Shared test helpers: a pty pair opened from Rust (voltwire-testkit, no socat) that is
//! closed when dropped, and scratch dirs.
#![allow(dead_code, clippy::unwrap_used, clippy::panic, reason = "test code")]

use std::path::PathBuf;

#[allow(unused_imports, reason = "not every test file uses it")]
pub(crate) use voltwire_testkit::PtyPair;

/// A fresh, empty scratch directory for one test.
pub(crate) fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("voltwire-rt-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
