//! The gateway's status page, API and metrics, through the binary (`--demo --web-port 0`):
//! what it serves, a set point over HTTP reaching the inverters, and bad requests that
//! change nothing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::missing_panics_doc,
    clippy::float_cmp,
    reason = "test code"
)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use voltwire_testkit::scratch_dir;

/// A failure guard only: every wait below ends on an event long before this.
const GUARD: Duration = Duration::from_secs(60);

struct Demo {
    child: Child,
    addr: SocketAddr,
    token: String,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start `can-gateway --demo --web-port 0` and read the page's address and token from its
/// output.
fn demo() -> Demo {
    let mut child = Command::new(env!("CARGO_BIN_EXE_can-gateway"))
        .args(["--demo", "--web-port", "0"])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let line = loop {
        let l = rx.recv_timeout(GUARD).expect("the demo announces its page");
        if l.starts_with("demo: status page at ") {
            break l;
        }
    };
    // Keep draining stdout so the demo never blocks on a full pipe.
    std::thread::spawn(move || while rx.recv().is_ok() {});
    let url = line.split(' ').nth(4).unwrap();
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let token = line
        .rsplit(' ')
        .next()
        .unwrap()
        .trim_end_matches(')')
        .to_owned();
    Demo { child, addr, token }
}

struct Reply {
    status: u16,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

fn http(addr: SocketAddr, method: &str, path: &str, auth: Option<&str>, body: &str) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(GUARD)).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(t) = auth {
        req.push_str("Authorization: Bearer ");
        req.push_str(t);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = String::new();
    let _ = s.read_to_string(&mut raw);
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    Reply {
        status: head.split(' ').nth(1).unwrap().parse().unwrap(),
        body: body.to_owned(),
    }
}

fn state(d: &Demo) -> Value {
    http(d.addr, "GET", "/api/state", None, "").json()
}

/// Poll `/api/state` until `f` holds (the guard only fails a test that would hang).
fn wait_for(d: &Demo, what: &str, f: impl Fn(&Value) -> bool) -> Value {
    let t0 = Instant::now();
    loop {
        let s = state(d);
        if f(&s) {
            return s;
        }
        assert!(t0.elapsed() < GUARD, "never: {what}; last state {s}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn all_active(s: &Value) -> bool {
    s["combined"]["mode"] == "normal"
        && s["outputs"]
            .as_array()
            .is_some_and(|o| o.iter().all(|o| o["state"].is_object()))
}

#[test]
fn state_health_and_metrics_describe_the_gateway() {
    let d = demo();
    let s = wait_for(&d, "normal mode", all_active);
    // The keys of the MQTT topics: combined, one object per input and output.
    assert_eq!(s["inputs"].as_array().unwrap().len(), 3);
    assert_eq!(s["inputs"][1]["name"], "bms2");
    assert_eq!(s["outputs"][0]["name"], "inv1");
    for k in [
        "voltage_v",
        "soc_pct",
        "charge_current_limit_a",
        "setpoints",
    ] {
        assert!(s["combined"].get(k).is_some(), "{k}");
    }
    let h = http(d.addr, "GET", "/api/health", None, "");
    assert_eq!(h.status, 200);
    let h = h.json();
    assert_eq!(h["status"], "running");
    let names: Vec<&str> = h["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bms1", "bms2", "bms3", "inv1", "inv2"]);
    let m = http(d.addr, "GET", "/metrics", None, "");
    assert_eq!(m.status, 200);
    for needle in [
        "# TYPE voltwire_battery_voltage_volts gauge\nvoltwire_battery_voltage_volts ",
        "voltwire_input_voltage_volts{input=\"bms1\"} ",
        "# TYPE voltwire_input_telegrams_total counter\n",
        "voltwire_input_bad_frames_total{input=\"bms3\"} 0\n",
        "voltwire_input_bus_reconnects_total{input=\"bms2\"} 0\n",
        "voltwire_output_charge_current_limit_amperes{output=\"inv2\"} ",
        "voltwire_output_bursts_total{output=\"inv1\"} ",
        "voltwire_gateway_mode{mode=\"normal\"} 1\n",
        "voltwire_gateway_inputs 3\n",
    ] {
        assert!(m.body.contains(needle), "{needle} missing in\n{}", m.body);
    }
}

#[test]
fn a_set_point_over_http_reaches_the_inverters_and_bad_ones_change_nothing() {
    let d = demo();
    wait_for(&d, "normal mode", all_active);
    let post = |auth: Option<&str>, path: &str, body: &str| http(d.addr, "POST", path, auth, body);
    let tok = d.token.clone();
    // Bad requests, one by one: each a 4xx naming the problem.
    for (auth, path, body, status, code) in [
        (
            None,
            "/api/command",
            r#"{"charge_current_limit_a": 20}"#,
            401,
            "missing_token",
        ),
        (
            Some("0123456789abcdef-wrong"),
            "/api/command",
            r#"{"charge_current_limit_a": 20}"#,
            401,
            "wrong_token",
        ),
        (
            Some(tok.as_str()),
            "/api/command",
            r#"{"charge_current_limit_a": 20"#,
            400,
            "bad_json",
        ),
        (
            Some(tok.as_str()),
            "/api/command",
            r#"{"charge_current_limit_a": 151}"#,
            422,
            "out_of_range",
        ),
        (
            Some(tok.as_str()),
            "/api/command",
            r#"{"charge_current_limit_a": 20, "ttl_s": 0}"#,
            422,
            "out_of_range",
        ),
        (
            Some(tok.as_str()),
            "/api/command",
            r#"{"max_power_w": 20}"#,
            400,
            "unknown_field",
        ),
        (
            Some(tok.as_str()),
            "/api/command/max_power_w",
            "20",
            404,
            "unknown_command",
        ),
    ] {
        let r = post(auth, path, body);
        assert_eq!(r.status, status, "{body}: {}", r.body);
        assert_eq!(r.json()["error"], code, "{body}");
    }
    // Nothing changed: no set point, and inv1 is not told the refused 20 A (x 0.5).
    let s = state(&d);
    assert_eq!(
        s["combined"]["setpoints"]["charge_current_limit_a"],
        Value::Null
    );
    assert_ne!(s["outputs"][0]["state"]["charge_current_limit_a"], 10.0);
    // A good one: the page's form sends this.
    let r = post(
        Some(&tok),
        "/api/command",
        r#"{"charge_current_limit_a": 20, "ttl_s": 120}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["result"]["charge_current_limit_a"], 20.0);
    // inv1 takes half of the stack: 10 A once its next burst has gone out.
    let s = wait_for(&d, "inv1 told 10 A", |s| {
        s["outputs"][0]["state"]["charge_current_limit_a"] == 10.0
    });
    assert_eq!(s["combined"]["setpoints"]["charge_current_limit_a"], 20.0);
    // The named form (as MQTT `command/clear`) clears it.
    let r = post(Some(&tok), "/api/command/clear", "true");
    assert_eq!(r.status, 200, "{}", r.body);
    wait_for(&d, "inv1 back at the stack's limit", |s| {
        s["combined"]["setpoints"]["charge_current_limit_a"].is_null()
            && s["outputs"][0]["state"]["charge_current_limit_a"] != 10.0
    });
}

#[test]
fn a_web_port_in_use_stops_the_start_with_the_field_and_fix() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let o = Command::new(env!("CARGO_BIN_EXE_can-gateway"))
        .args(["--demo", "--duration", "5", "--web-port", &port])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains(&format!("127.0.0.1:{port}")) && e.contains("web.port"),
        "{e}"
    );
    // --web-port with a configuration that has no [web]: a usage error.
    let dir = scratch_dir("gw-web-noweb");
    let f = dir.join("gw.toml");
    std::fs::write(
        &f,
        "[[input]]\nname = \"bms\"\nbus = \"virtual://in\"\ncapacity_ah = 100\n\n\
         [[output]]\nname = \"inv\"\nbus = \"virtual://out\"\n",
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_can-gateway"))
        .args(["--config", f.to_str().unwrap(), "--web-port", "0"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("[web]"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn init_writes_a_private_file_with_a_random_token_and_web_off() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = scratch_dir("gw-web-init");
    let f = dir.join("gw.toml");
    let o = Command::new(env!("CARGO_BIN_EXE_can-gateway"))
        .args(["--init", f.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_eq!(
        std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let text = std::fs::read_to_string(&f).unwrap();
    let token = text
        .lines()
        .find_map(|l| l.strip_prefix("token = \""))
        .and_then(|l| l.split('"').next())
        .unwrap();
    assert_eq!(token.len(), 64);
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    // Off until enabled; enabled, --check-config says where and that control is on.
    let o = Command::new(env!("CARGO_BIN_EXE_can-gateway"))
        .args(["--check-config", f.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(!String::from_utf8_lossy(&o.stdout).contains("web on"));
    std::fs::write(&f, text.replace("enabled = false", "enabled = true")).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_can-gateway"))
        .args(["--check-config", f.to_str().unwrap()])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("web on 127.0.0.1:8080 with control"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
