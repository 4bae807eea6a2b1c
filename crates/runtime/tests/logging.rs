//! `-v` counts and `RUST_LOG`.
#![allow(clippy::unwrap_used, reason = "test code")]

use voltwire_runtime::logging::{filter_directive, init};

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
