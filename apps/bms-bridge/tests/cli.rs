//! The binary's `--init` and `--check-config`: the template is valid, and each bad value is
//! reported with the field and the fix (exit status 2).
#![allow(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::unwrap_used,
    reason = "std test"
)]

use std::path::Path;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bms-bridge"))
}

fn check(path: &Path) -> (i32, String) {
    let out = bin().arg("--check-config").arg(path).output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn init_writes_a_valid_template_and_refuses_to_overwrite() {
    let dir = voltwire_testkit::scratch_dir("bms-bridge-cli");
    let path = dir.join("bb.toml");
    let out = bin().arg("--init").arg(&path).output().unwrap();
    assert!(out.status.success());
    let (code, text) = check(&path);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("configuration is valid (daly, a shunt, 1 charger(s), 0 sensor(s))"),
        "{text}"
    );
    let again = bin().arg("--init").arg(&path).output().unwrap();
    assert_eq!(again.status.code(), Some(2));
}

#[test]
fn bad_values_name_the_field_and_the_fix() {
    let dir = voltwire_testkit::scratch_dir("bms-bridge-cli");
    let base = "[bms]\nurl = \"serial:///dev/ttyUSB0?baud=9600\"\n";
    for (extra, field, fix) in [
        (
            "[rules]\ncell_diff_recover_v = 0.2\n",
            "rules.cell_diff_recover_v",
            "below cell_diff.trip",
        ),
        (
            "[rules]\ncell_temp_trip_c = 200\n",
            "rules.cell_temp_trip_c",
            "from -40 to 120",
        ),
        (
            "[rules]\nload1_off_soc_pct = 70\n",
            "rules.load1_on_soc_pv_low_pct",
            "above off_soc",
        ),
        ("[rules]\ncel_count = 8\n", "rules.cel_count", "cell_count"),
        (
            "[relays]\nload1 = { backend = \"tasmota\", topic = \"t1\" }\n",
            "relays.load1",
            "add an [mqtt] section",
        ),
        (
            "[relays]\nload2 = { backend = \"gpio\" }\n",
            "relays.load2",
            "\"sim\", \"tasmota\" or \"shelly\"",
        ),
        ("[shunt]\nurl = \"ftp://x\"\n", "shunt.url", "serial://"),
        (
            "[onewire]\nsensors = [{ id = \"28-1\", role = \"cpu\" }]\n",
            "onewire.sensors",
            "\"cell\" or \"charger\"",
        ),
        (
            "[mqtt]\nurl = \"mqtt://h:1883\"\nbase = \"a//b\"\n",
            "mqtt.base",
            "voltwire/bms1",
        ),
    ] {
        let path = dir.join("bad.toml");
        std::fs::write(&path, format!("{base}{extra}")).unwrap();
        let (code, text) = check(&path);
        assert_eq!(code, 2, "{extra}: {text}");
        assert!(text.contains(field), "{extra}: no field {field} in {text}");
        assert!(text.contains(fix), "{extra}: no fix {fix:?} in {text}");
    }
    let path = dir.join("bms.toml");
    std::fs::write(&path, "[bms]\nkind = \"jk\"\nurl = \"tcp://h:1\"\n").unwrap();
    let (code, text) = check(&path);
    assert_eq!(code, 2);
    assert!(
        text.contains("bms.kind") && text.contains("\"daly\""),
        "{text}"
    );
}

#[test]
fn run_without_a_config_says_what_to_do() {
    let out = bin().output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--init"));
}
