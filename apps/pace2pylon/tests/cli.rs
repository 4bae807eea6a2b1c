//! The binary's configuration commands: `--init`, `--check-config` (exit status and the
//! field-naming message).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
#![allow(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pace2pylon"))
}

#[test]
fn init_writes_a_template_that_checks_valid_and_refuses_to_overwrite() {
    let dir = voltwire_testkit::scratch_dir("pace2pylon-cli");
    let path = dir.join("p.toml");
    let out = bin().arg("--init").arg(&path).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = bin().arg("--check-config").arg(&path).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("valid (2 packs)"));
    let out = bin().arg("--init").arg(&path).output().unwrap();
    assert!(!out.status.success(), "overwrote without --force");
}

#[test]
fn check_config_names_the_field_and_the_fix() {
    let dir = voltwire_testkit::scratch_dir("pace2pylon-cli");
    let path = dir.join("bad.toml");
    std::fs::write(
        &path,
        "[inverter]\nlink = \"tcp://127.0.0.1:1\"\n[packs]\nlinks = [\"tcp://127.0.0.1:2\"]\n\
         [supervisor]\nover_current_trip_pct = 99\nover_current_release_pct = 99.5\n",
    )
    .unwrap();
    let out = bin().arg("--check-config").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("supervisor.over_current_release_pct") && err.contains("fix"),
        "{err}"
    );
    std::fs::write(
        &path,
        "[inverter]\nlink = \"tcp://127.0.0.1:1\"\nbaud = 9600\n",
    )
    .unwrap();
    let out = bin().arg("--check-config").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("baud"));
}
