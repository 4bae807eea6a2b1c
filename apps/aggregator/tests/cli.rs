//! The binary: --init, --check-config (errors name the field, exit 2), --demo --duration.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    missing_docs
)]

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_aggregator"))
}

#[test]
fn init_then_check_config_then_a_bad_field() {
    let dir = voltwire_testkit::scratch_dir("agg-cli");
    let file = dir.join("a.toml");
    let out = bin().arg("--init").arg(&file).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A second --init refuses to overwrite.
    let out = bin().arg("--init").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = bin().arg("--check-config").arg(&file).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("configuration is valid"), "{text}");
    assert!(
        text.contains("com.victronenergy.battery.aggregate"),
        "{text}"
    );
    let t = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        t.replace("recovery_hold_s = 30", "recovery_hold_s = -5"),
    )
    .unwrap();
    let out = bin().arg("--check-config").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("policy.recovery_hold_s"), "{err}");
    // Running with it refuses too, before touching any bus.
    let out = bin().arg("--config").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "needs a dbus-daemon (Debian package dbus); .ci/run installs it and runs these with --ignored"]
fn demo_prints_the_aggregate_and_ends_after_its_duration() {
    let out = bin().args(["--demo", "--duration", "7"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("t=")).collect();
    assert_eq!(lines.len(), 8, "{text}");
    // Safe until the batteries pass the hold, then normal with the three combined.
    assert!(
        lines
            .iter()
            .any(|l| l.contains("mode=normal") && l.contains("CCL=240.00")),
        "{text}"
    );
    assert!(!lines.iter().any(|l| l.contains("mode=degraded")), "{text}");
}
