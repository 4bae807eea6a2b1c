//! The binary: --init, --check-config (errors name the field, exit 2), --demo, and a signal
//! that ends a real run with the device set to 0 W.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::std_instead_of_core
)]

use std::io::Read as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use voltwire_core::Watts;
use voltwire_soyosource::Demand;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_zero-feed-in"))
}

#[test]
fn init_writes_a_valid_template_and_check_config_names_bad_fields() {
    let dir = voltwire_testkit::scratch_dir("zfi-cli");
    let file = dir.join("zfi.toml");
    let out = bin().arg("--init").arg(&file).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = bin().arg("--init").arg(&file).output().unwrap();
    assert!(
        !again.status.success(),
        "--init refuses to overwrite without --force"
    );
    let ok = bin().arg("--check-config").arg(&file).output().unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    let text = std::fs::read_to_string(&file).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        text.replacen("max_discharge_w = 900", "max_discharge_w = -5", 1),
    )
    .unwrap();
    let out = bin().arg("--check-config").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("device[0].max_discharge_w") && err.contains("fix"),
        "{err}"
    );
    assert!(err.contains("bad.toml"), "names the file: {err}");
}

#[test]
fn demo_prints_status_lines_and_ends_with_everything_off() {
    let out = bin().args(["--demo", "--duration", "3"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() >= 2, "{text}");
    assert!(lines.iter().any(|l| l.contains("mode normal")), "{text}");
    assert!(
        lines[0].contains("grid") && lines[0].contains("set point") && lines[0].contains("soc")
    );
    assert_eq!(lines.last().copied(), Some("stopped: BIC-2200 output off"));
}

#[cfg(unix)]
#[test]
fn sigterm_sets_the_device_to_0_w_and_exits_0() {
    let dir = voltwire_testkit::scratch_dir("zfi-signal");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let file = dir.join("zfi.toml");
    // No MQTT broker is running on port 1: the meter is never fresh, so the unit only
    // ever gets 0 W frames; the point is the last frame after the signal.
    std::fs::write(
        &file,
        format!(
            r#"
[meter]
kind = "mqtt"
broker = "mqtt://127.0.0.1:1"
topic = "house/grid"
[battery]
source = "none"
cells = 16
charge_voltage_v = 55.2
restart_voltage_v = 53.6
[[device]]
kind = "soyosource"
port = "tcp://127.0.0.1:{port}"
max_discharge_w = 900
"#
        ),
    )
    .unwrap();
    let mut child = bin()
        .arg("--config")
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (mut conn, _) = listener.accept().unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut first = [0u8; 8];
    conn.read_exact(&mut first).unwrap();
    assert_eq!(
        Demand::parse(&first).unwrap().power,
        Watts(0),
        "off before the first decision"
    );
    let kill = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(kill.success());
    let mut rest = Vec::new();
    let _ = conn.read_to_end(&mut rest);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let last = rest
        .rchunks(8)
        .next()
        .filter(|c| c.len() == 8)
        .map_or(first, |c| c.try_into().unwrap());
    assert_eq!(Demand::parse(&last).unwrap().power, Watts(0));
}
