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
use std::process::{Command, Output};
use voltwire_testkit::scratch_dir;

fn bin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_can-gateway"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn init_then_check_config() {
    let d = scratch_dir("gw-cli-init");
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
    let d = scratch_dir("gw-cli-bad");
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
    let o = bin(&["--demo", "--duration", "7", "--web-port", "0"]);
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

#[test]
fn flags_that_cannot_work_beside_config_are_refused() {
    for extra in [
        &["--duration", "5"][..],
        &["--mqtt", "mqtt://127.0.0.1:1"][..],
        &["--force"][..],
    ] {
        let mut args = vec!["--config", "gw.toml"];
        args.extend_from_slice(extra);
        let o = bin(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("cannot be used with"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
}

/// The template (as `--init` writes it) with one replacement, written to a scratch file;
/// its path.
fn variant(d: &std::path::Path, name: &str, from: &str, to: &str) -> String {
    let text = can_gateway::config::template_with_token().unwrap();
    assert!(text.contains(from), "{from}");
    let f = d.join(name);
    fs::write(&f, text.replacen(from, to, 1)).unwrap();
    f.to_str().unwrap().to_owned()
}

/// 1-based line of the first line of the template containing `needle`.
fn line_of(needle: &str) -> usize {
    can_gateway::config::TEMPLATE
        .lines()
        .position(|l| l.contains(needle))
        .unwrap()
        + 1
}

#[test]
fn config_errors_name_file_line_column_field_and_fix() {
    let d = scratch_dir("gw-cli-where");
    // A range error: the line and column of the value.
    let f = variant(
        &d,
        "scale.toml",
        "current_scale = 1.0",
        "current_scale = 11",
    );
    let o = bin(&["--check-config", &f]);
    assert_eq!(o.status.code(), Some(2));
    let want = format!(
        "{f}:{}:17: field `output[0].current_scale`: 11 is outside 0 ..= 10; fix: ",
        line_of("current_scale = 1.0")
    );
    assert!(stderr(&o).contains(&want), "{}\nwanted {want}", stderr(&o));
    // A missing field in the second [[input]]: named with its index.
    let f = variant(
        &d,
        "missing.toml",
        "bus = \"slcan:///dev/ttyACM1?bitrate=500000\"\n",
        "",
    );
    let o = bin(&["--check-config", &f]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("field `input[1].bus`"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("[[input]] table (input[1])"),
        "{}",
        stderr(&o)
    );
    // One adapter for two inputs.
    let f = variant(&d, "shared.toml", "/dev/ttyACM1", "/dev/ttyACM0");
    let o = bin(&["--check-config", &f]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("field `input[1].bus`") && stderr(&o).contains("input[0].bus"),
        "{}",
        stderr(&o)
    );
    // An offset that pins the output at 0 A in both directions.
    let f = variant(
        &d,
        "offset.toml",
        "current_offset_a = 0",
        "current_offset_a = -200",
    );
    let o = bin(&["--check-config", &f]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("field `output[0].current_offset_a`")
            && stderr(&o).contains("pins this output at 0 A"),
        "{}",
        stderr(&o)
    );
    // SocketCAN only where this build has it.
    let f = variant(
        &d,
        "socketcan.toml",
        "slcan:///dev/ttyACM1?bitrate=500000",
        "socketcan://can0",
    );
    let o = bin(&["--check-config", &f]);
    if voltwire_runtime::can::SOCKETCAN {
        assert!(o.status.success(), "{}", stderr(&o));
    } else {
        assert_eq!(o.status.code(), Some(2));
        assert!(
            stderr(&o).contains("--features socketcan"),
            "{}",
            stderr(&o)
        );
    }
    let _ = fs::remove_dir_all(&d);
}

#[test]
fn init_names_force_refuses_a_directory_and_ends_with_a_newline() {
    let d = scratch_dir("gw-cli-init2");
    let f = d.join("gw.toml");
    let f = f.to_str().unwrap();
    assert!(bin(&["--init", f]).status.success());
    assert!(fs::read_to_string(f).unwrap().ends_with('\n'));
    let o = bin(&["--init", f]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    let o = bin(&["--init", d.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is a directory"), "{}", stderr(&o));
    let _ = fs::remove_dir_all(&d);
}

fn run_with(args: &[&str], stdout: std::process::Stdio, stderr: std::process::Stdio) -> Output {
    Command::new(env!("CARGO_BIN_EXE_can-gateway"))
        .args(args)
        .env_remove("RUST_LOG")
        .stdout(stdout)
        .stderr(stderr)
        .output()
        .unwrap()
}

fn dev_full() -> std::process::Stdio {
    std::process::Stdio::from(
        fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap(),
    )
}

#[test]
fn stdout_write_errors_exit_1_with_a_message() {
    use std::process::Stdio;
    let o = run_with(
        &["--demo", "--duration", "2", "--web-port", "0"],
        dev_full(),
        Stdio::piped(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cannot write to stdout"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    let d = scratch_dir("gw-cli-full");
    let f = d.join("gw.toml");
    let f = f.to_str().unwrap();
    assert!(bin(&["--init", f]).status.success());
    let o = run_with(&["--check-config", f], dev_full(), Stdio::piped());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cannot write to stdout"),
        "{}",
        stderr(&o)
    );
    let _ = fs::remove_dir_all(&d);
}

#[test]
fn an_unwritable_stderr_never_stops_the_gateway() {
    use std::process::Stdio;
    // With -vv every bus task logs; before, the first log line on a full stderr panicked
    // inside each task and the gateway exited 0 within milliseconds. Now it runs the whole
    // demo: three status lines, then exit 0.
    let o = run_with(
        &["--demo", "--duration", "3", "-vv", "--web-port", "0"],
        Stdio::piped(),
        dev_full(),
    );
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("t=  3s"), "{out}");
    // A configured gateway (virtual buses: no hardware) keeps running until SIGTERM.
    let d = scratch_dir("gw-cli-stderrfull");
    let f = d.join("gw.toml");
    fs::write(
        &f,
        "[[input]]\nname = \"bms\"\nbus = \"virtual://in\"\ncapacity_ah = 100\n\n\
         [[output]]\nname = \"inv\"\nbus = \"virtual://out\"\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_can-gateway"))
        .args(["--config", f.to_str().unwrap(), "-vv"])
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(dev_full())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the gateway ended early"
    );
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let _ = fs::remove_dir_all(&d);
}
