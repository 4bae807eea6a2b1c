//! Shared test helpers: a pty pair opened from Rust (voltwire-testkit, no socat) that is
//! closed when dropped, and scratch dirs.
#![allow(dead_code, clippy::unwrap_used, clippy::panic, reason = "test code")]

#[allow(unused_imports, reason = "not every test file uses it")]
pub(crate) use voltwire_testkit::PtyPair;

/// A fresh, empty scratch directory for one test.
#[allow(unused_imports, reason = "not every test file uses it")]
pub(crate) use voltwire_testkit::scratch_dir as scratch;
