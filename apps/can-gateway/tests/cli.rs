//! The `can-gateway` binary: `--init`, `--check-config`, usage errors, `--demo`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::missing_panics_doc,
    clippy::float_cmp,
    clippy::too_many_lines,
    clippy::duration_suboptimal_units,
    reason = "test code"
)]

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Output};

fn bin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_can-gateway"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("can-gateway-cli-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn init_then_check_config() {
    let d = scratch("init");
    let f = d.join("gw.toml");
    let f = f.to_str().unwrap();
    let o = bin(&["--init", f]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = fs::read_to_string(f).unwrap();
    assert!(text.contains("[[input]]") && text.contains("fault_policy"));
    // Never overwrites without --force.
    let o = bin(&["--init", f]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    assert!(bin(&["--init", f, "--force"]).status.success());
    let o = bin(&["--check-config", f]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("valid (2 inputs, 1 outputs)"), "{out}");
    let _ = fs::remove_dir_all(&d);
}

#[test]
fn bad_configs_name_the_field_and_the_fix() {
    let d = scratch("bad");
    let f = d.join("gw.toml");
    let fs_ = f.to_str().unwrap();
    assert!(bin(&["--init", fs_]).status.success());
    let good = fs::read_to_string(&f).unwrap();
    for (from, to, expect) in [
        (
            "capacity_ah = 100\ntimeout_s = 5                   # older",
            "capacity_ah = 0\ntimeout_s = 5                   # older",
            "input[0].capacity_ah",
        ),
        (
            "current_scale = 1.0",
            "current_scale = 11",
            "output[0].current_scale",
        ),
        (
            "fault_policy = \"exclude\"",
            "fault_policy = \"ignore\"",
            "fault_policy",
        ),
        ("tick_ms = 100", "tick_ms = 100\nspeed = 2", "speed"),
        (
            "bus = \"slcan:///dev/ttyACM2?bitrate=500000\"",
            "bus = \"slcan:///dev/ttyACM2?bitrate=300000\"",
            "output[0].bus",
        ),
        (
            "max_charge_current_a = 200",
            "max_charge_current_a = -1",
            "gateway.max_charge_current_a",
        ),
    ] {
        assert!(good.contains(from), "template lacks {from}");
        fs::write(&f, good.replace(from, to)).unwrap();
        let o = bin(&["--check-config", fs_]);
        assert_eq!(o.status.code(), Some(2), "{to}");
        let e = stderr(&o);
        assert!(e.contains(expect), "{to}: {e}");
        assert!(e.contains("gw.toml"), "{to}: {e}");
    }
    let o = bin(&["--check-config", d.join("missing.toml").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--init"), "{}", stderr(&o));
    let _ = fs::remove_dir_all(&d);
}

#[test]
fn usage_errors() {
    let o = bin(&[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--demo"), "{}", stderr(&o));
    let o = bin(&["--duration", "3"]);
    assert_eq!(o.status.code(), Some(2));
    let o = bin(&["--demo", "--config", "x.toml"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn demo_runs_and_reaches_normal_mode() {
    let o = bin(&["--demo", "--duration", "7"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = out.lines().filter(|l| l.starts_with("t=")).collect();
    assert!(lines.len() >= 6, "{out}");
    // Safe until the recovery hold has passed, then every input active and both inverters
    // told half of the combined limits.
    assert!(lines[0].contains("mode=safe"), "{}", lines[0]);
    let last = lines.last().unwrap();
    assert!(
        last.contains("mode=normal") && last.contains("inputs 3/3"),
        "{last}"
    );
    assert!(last.contains("inv1 sees CCL 75.0 A DCL 100.0 A"), "{last}");
    assert!(last.contains("inv2 sees CCL 60.0 A DCL 100.0 A"), "{last}");
}
