//! The binary's `--init` and `--check-config`: the template is valid, and each bad value is
//! reported with the field and the fix (exit status 2).
#![allow(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::unwrap_used,
    clippy::too_many_lines,
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
            "[relays]\nload2 = { backend = \"relay\" }\n",
            "relays.load2",
            "\"sim\", \"gpio\", \"tasmota\" or \"shelly\"",
        ),
        ("[shunt]\nurl = \"ftp://x\"\n", "shunt.url", "serial://"),
        (
            "[shunt]\nurl = \"tcp://h:2\"\nhex_poll_s = 0\n",
            "shunt.hex_poll_s",
            "use 1..=600 s",
        ),
        (
            "[[charger]]\nurl = \"tcp://h:2\"\nhex_poll_s = 601\n",
            "charger[0].hex_poll_s",
            "remove it to read the TEXT stream",
        ),
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
        (
            "[web]\nbind = \"localhost\"\n",
            "web.bind",
            "give 127.0.0.1",
        ),
        (
            "[web]\ntoken = \"short\"\n",
            "web.token",
            "at least 16 random characters",
        ),
        (
            "[web]\nenabled = false\ntoken = \"REPLACE-WITH-A-RANDOM-TOKEN-run-init\"\n",
            "web.token",
            "bms-bridge --init writes one",
        ),
        (
            "[web]\ntoken = \"0123456789abcdef0\"\ntoken_env = \"X\"\n",
            "web.token",
            "keep one of them",
        ),
        (
            "[web]\ntoken_file = \"/nonexistent/web-token\"\n",
            "web.token_file",
            "readable file",
        ),
        (
            "[web]\ntoken_env = \"BMS_BRIDGE_TEST_UNSET_VARIABLE\"\n",
            "web.token_env",
            "set it before starting bms-bridge",
        ),
        (
            "[web]\nprotect_reads = true\n",
            "web.protect_reads",
            "set web.token",
        ),
        (
            "[web]\nrate_limit_per_s = 0\n",
            "web.rate_limit_per_s",
            "requests per second",
        ),
        ("[web]\nport = 70000\n", "web.port", ""),
    ] {
        let path = dir.join("bad.toml");
        std::fs::write(&path, format!("{base}{extra}")).unwrap();
        let (code, text) = check(&path);
        assert_eq!(code, 2, "{extra}: {text}");
        assert!(text.contains(field), "{extra}: no field {field} in {text}");
        assert!(text.contains(fix), "{extra}: no fix {fix:?} in {text}");
    }
    // A good [web] section, and --web-port without one.
    let path = dir.join("web.toml");
    std::fs::write(
        &path,
        format!("{base}[web]\nport = 9000\ntoken = \"0123456789abcdef0123\"\n"),
    )
    .unwrap();
    let (code, text) = check(&path);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("web on 127.0.0.1:9000 with commands"),
        "{text}"
    );
    let path = dir.join("noweb.toml");
    std::fs::write(&path, base).unwrap();
    let out = bin()
        .arg("--config")
        .arg(&path)
        .args(["--web-port", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("[web] section"));
    // Pace: valid with an address; the address checked; Daly has none.
    let path = dir.join("pace.toml");
    std::fs::write(
        &path,
        "[bms]\nkind = \"pace\"\naddress = 2\nurl = \"tcp://h:1\"\n",
    )
    .unwrap();
    let (code, text) = check(&path);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("configuration is valid (pace, no shunt"),
        "{text}"
    );
    // Pylontech RS485: valid, with the warning that it cannot write the charge MOSFET.
    std::fs::write(
        &path,
        "[bms]\nkind = \"pylontech-rs485\"\nurl = \"tcp://h:1\"\n",
    )
    .unwrap();
    let (code, text) = check(&path);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("valid (pylontech-rs485,") && text.contains("no charge-MOSFET command"),
        "{text}"
    );
    for (body, field, fix) in [
        (
            "kind = \"pace\"\naddress = 16",
            "bms.address",
            "DIP switches",
        ),
        (
            "kind = \"pace\"\nvariant = \"rs485\"",
            "bms.variant",
            "remove bms.variant",
        ),
        ("address = 1", "bms.address", "kind = \"pace\""),
        (
            "kind = \"pylontech-rs485\"\naddress = 99",
            "bms.address",
            "outside 0..=15",
        ),
    ] {
        std::fs::write(&path, format!("[bms]\n{body}\nurl = \"tcp://h:1\"\n")).unwrap();
        let (code, text) = check(&path);
        assert_eq!(code, 2, "{body}: {text}");
        assert!(text.contains(field) && text.contains(fix), "{body}: {text}");
    }
    for (body, field, fix) in [
        (
            "kind = \"jkbms\"",
            "bms.kind",
            "\"daly\", \"jk\", \"jk-pb\", \"pace\"",
        ),
        (
            "kind = \"jk\"\naddress = 1",
            "bms.address",
            "remove bms.address",
        ),
        (
            "kind = \"jk-pb\"\naddress = 0",
            "bms.address",
            "DIP switches to 1..=15",
        ),
        (
            "kind = \"jk-pb\"\naddress = 16",
            "bms.address",
            "outside 1..=15",
        ),
        (
            "kind = \"jk\"\nvariant = \"rs485\"",
            "bms.variant",
            "it is for \"daly\"",
        ),
    ] {
        std::fs::write(&path, format!("[bms]\n{body}\nurl = \"tcp://h:1\"\n")).unwrap();
        let (code, text) = check(&path);
        assert_eq!(code, 2, "{body}: {text}");
        assert!(text.contains(field) && text.contains(fix), "{body}: {text}");
    }
    // Both JK kinds are accepted (JK-PB at address 1 by default).
    for (body, kind) in [("kind = \"jk\"", "jk"), ("kind = \"jk-pb\"", "jk-pb")] {
        std::fs::write(&path, format!("[bms]\n{body}\nurl = \"tcp://h:1\"\n")).unwrap();
        let (code, text) = check(&path);
        assert_eq!(code, 0, "{body}: {text}");
        assert!(text.contains(kind), "{body}: {text}");
    }
}

/// GPIO relays: every mistake in a `gpio://` relay names the relay's field and the fix; a
/// good one passes (the chip is not opened by the check).
#[test]
fn gpio_relays_are_checked() {
    let dir = voltwire_testkit::scratch_dir("bms-bridge-cli-gpio");
    let path = dir.join("gpio.toml");
    let head = "[bms]\nurl = \"tcp://h:1\"\n\n[relays]\n";
    for (relays, field, fix) in [
        (
            "load1 = { backend = \"gpio\" }",
            "relays.load1",
            "add url = \"gpio:///dev/gpiochip0?line=17\"",
        ),
        (
            "load1 = { backend = \"gpio\", url = \"gpio:///dev/gpiochip0\" }",
            "relays.load1.url",
            "add ?line=",
        ),
        (
            "load2 = { backend = \"gpio\", url = \"gpio:///dev/gpiochip0?line=17&active=0\" }",
            "relays.load2.url",
            "active=low",
        ),
        (
            "balancer = { backend = \"gpio\", url = \"gpio://gpiochip0?line=3\" }",
            "relays.balancer.url",
            "three slashes",
        ),
        (
            "load1 = { backend = \"gpio\", url = \"gpio:///dev/gpiochip0?line=5\", topic = \"x\" }",
            "relays.load1",
            "remove them",
        ),
        (
            "load1 = { backend = \"sim\", url = \"gpio:///dev/gpiochip0?line=5\" }",
            "relays.load1",
            "remove url",
        ),
        (
            "load1 = { backend = \"gpio\", url = \"gpio:///dev/gpiochip0?line=5\" }\nbalancer = { backend = \"gpio\", url = \"gpio:///dev/gpiochip0?line=5&active=low\" }",
            "relays.balancer.url",
            "its own line",
        ),
        ("load1 = { backend = \"gpoi\" }", "relays.load1", "\"gpio\""),
    ] {
        std::fs::write(&path, format!("{head}{relays}\n")).unwrap();
        let (code, text) = check(&path);
        assert_eq!(code, 2, "{relays}: {text}");
        assert!(
            text.contains(field) && text.contains(fix),
            "{relays}: {text}"
        );
    }
    std::fs::write(
        &path,
        format!("{head}load1 = {{ backend = \"gpio\", url = \"gpio:///dev/gpiochip0?line=17\" }}\nload2 = {{ backend = \"gpio\", url = \"gpio:///dev/gpiochip0?line=27&active=low\" }}\n"),
    )
    .unwrap();
    let (code, text) = check(&path);
    if cfg!(all(feature = "gpio", target_os = "linux")) {
        assert_eq!(code, 0, "{text}");
    } else {
        assert_eq!(code, 2, "{text}");
        assert!(text.contains("no GPIO support"), "{text}");
    }
}

#[test]
fn run_without_a_config_says_what_to_do() {
    let out = bin().output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--init"));
}
