//! `voltwire sim meter` run as a user runs it: Shelly-compatible HTTP over loopback (plain
//! HTTP/1.1 on a `TcpStream`), the sim-only control paths, faults, usage errors, and MQTT
//! through a test broker (voltwire-testkit: embedded, or Mosquitto with
//! `VOLTWIRE_TEST_BROKER=mosquitto`) watched by an independent rumqttc client.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::cast_possible_truncation,
    clippy::many_single_char_names,
    clippy::float_cmp,
    reason = "test code"
)]

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read as _, Write as _};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use voltwire_testkit::Broker;

mod sim_common;
use sim_common::{Sim, sim};

/// `host:port` of a meter's `http://host:port`.
fn addr(s: &Sim) -> String {
    s.listening
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("{}", s.listening))
        .to_owned()
}

/// One HTTP/1.1 request; (status, body). `Err` if the connection fails or times out.
fn http(
    addr: &str,
    method: &str,
    path: &str,
    timeout: Duration,
) -> std::io::Result<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(timeout))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf);
    let (head, _) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::new(ErrorKind::InvalidData, format!("{text:?}")))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::new(ErrorKind::InvalidData, head.to_owned()))?;
    let body_at = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    Ok((status, buf[body_at..].to_vec()))
}

fn get_json(addr: &str, path: &str) -> (u16, Value) {
    let (status, body) = http(addr, "GET", path, Duration::from_secs(5)).unwrap();
    let v = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{path}: {e}: {:?}", String::from_utf8_lossy(&body)));
    (status, v)
}

fn post_json(addr: &str, path: &str) -> (u16, Value) {
    let (status, body) = http(addr, "POST", path, Duration::from_secs(5)).unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn check_em(em: &Value, grid: f64) {
    let phases = f(&em["a_act_power"]) + f(&em["b_act_power"]) + f(&em["c_act_power"]);
    assert!((phases - grid).abs() < 1e-9, "{em}");
    assert!((f(&em["total_act_power"]) - grid).abs() < 1e-9, "{em}");
    for p in ["a", "b", "c"] {
        let v = f(&em[format!("{p}_voltage")]);
        assert!((220.0..=240.0).contains(&v), "{em}");
        let i = f(&em[format!("{p}_current")]);
        let w = f(&em[format!("{p}_act_power")]);
        // I ≈ |P| / (V · pf).
        let pf = f(&em[format!("{p}_pf")]).abs();
        assert!((i - w.abs() / (v * pf)).abs() < 0.002, "{p}: {em}");
    }
}

#[test]
fn http_values_follow_the_plant() {
    let s = sim(&[
        "meter",
        "--listen",
        "http://127.0.0.1:0",
        "--load",
        "1000",
        "--pv",
        "300",
        "--discharge",
        "100",
        "--load-profile",
        "constant",
    ]);
    let a = addr(&s);
    // grid = load − PV − discharge + charge.
    let (st, em) = get_json(&a, "/rpc/EM.GetStatus?id=0");
    assert_eq!(st, 200);
    assert_eq!(em["id"], 0);
    check_em(&em, 600.0);
    let (st, g1) = get_json(&a, "/status");
    assert_eq!(st, 200);
    assert_eq!(f(&g1["total_power"]), 600.0);
    let emeters = g1["emeters"].as_array().unwrap();
    assert_eq!(emeters.len(), 3);
    let sum: f64 = emeters.iter().map(|e| f(&e["power"])).sum();
    assert!((sum - 600.0).abs() < 1e-9, "{g1}");
    assert!(emeters.iter().all(|e| e["is_valid"] == true));
    let (st, one) = get_json(&a, "/emeter/1");
    assert_eq!(st, 200);
    assert_eq!(one["power"], emeters[1]["power"]);
    let (_, all) = get_json(&a, "/rpc/Shelly.GetStatus");
    check_em(&all["em:0"], 600.0);
    assert!(all["emdata:0"]["total_act"].is_number(), "{all}");
    assert_eq!(all["mqtt"]["connected"], false);
    let (_, info) = get_json(&a, "/rpc/Shelly.GetDeviceInfo");
    assert_eq!(info["gen"], 2);
    assert_eq!(info["app"], "Pro3EM");
    assert_eq!(info["profile"], "triphase");
    let (_, info2) = get_json(&a, "/shelly");
    assert_eq!(info, info2);
    let (_, data) = get_json(&a, "/rpc/EMData.GetStatus?id=0");
    assert!(data["a_total_act_energy"].is_number(), "{data}");

    // The sim-only interface changes the flows; the meter follows at once.
    let (st, state) = post_json(&a, "/sim/load?w=2000");
    assert_eq!(st, 200);
    assert_eq!(state["grid_w"], 1600);
    let (_, em) = get_json(&a, "/rpc/EM.GetStatus?id=0");
    check_em(&em, 1600.0);
    let (_, _) = post_json(&a, "/sim/pv?w=4000");
    let (_, em) = get_json(&a, "/rpc/EM.GetStatus?id=0");
    check_em(&em, -2100.0);
    assert!(f(&em["a_pf"]) < 0.0, "export: {em}");
    let (_, _) = post_json(&a, "/sim/charge?w=500");
    let (_, state) = get_json(&a, "/sim");
    assert_eq!(state["grid_w"], 2000 - 4000 - 100 + 500);
    assert_eq!(state["charge_w"], 500);
}

#[test]
fn http_errors_name_the_problem() {
    let s = sim(&["meter", "--listen", "http://127.0.0.1:0"]);
    let a = addr(&s);
    for path in [
        "/nope",
        "/rpc/Switch.GetStatus?id=0",
        "/emeter/3",
        "/emeter/x",
    ] {
        let (st, v) = get_json(&a, path);
        assert_eq!(st, 404, "{path}: {v}");
        assert_eq!(v["code"], 404, "{path}: {v}");
        assert!(
            v["message"].as_str().unwrap().contains("No handler"),
            "{path}: {v}"
        );
    }
    for (path, needle) in [
        ("/rpc/EM.GetStatus", "'id'"),
        ("/rpc/EM.GetStatus?id=x", "'id'"),
        ("/rpc/EM.GetStatus?id=1", "'id'"),
        ("/rpc/EM.GetStatus?id=0&foo=1", "'foo'"),
        ("/status?x=1", "'x'"),
    ] {
        let (st, v) = get_json(&a, path);
        assert_eq!(st, 400, "{path}: {v}");
        assert!(
            v["message"].as_str().unwrap().contains(needle),
            "{path}: {v}"
        );
    }
    for (path, needle) in [
        ("/sim/load?w=-5", "'w'"),
        ("/sim/load", "'w'"),
        ("/sim/load?watts=5", "'watts'"),
        ("/sim/profile?name=square", "'name'"),
        ("/sim/fault?set=bad-checksum", "'set'"),
    ] {
        let (st, v) = post_json(&a, path);
        assert_eq!(st, 400, "{path}: {v}");
        assert!(
            v["message"].as_str().unwrap().contains(needle),
            "{path}: {v}"
        );
    }
}

#[test]
fn the_step_profile_moves_the_load() {
    // 10 s per level at 100× is 0.1 s.
    let s = sim(&[
        "meter",
        "--listen",
        "http://127.0.0.1:0",
        "--load",
        "1000",
        "--speed",
        "100",
    ]);
    let a = addr(&s);
    // Poll until three different levels were seen (a slow machine only takes more polls);
    // every answer is one of the profile's levels.
    let mut seen = BTreeMap::new();
    let end = Instant::now() + sim_common::EVENTUALLY;
    while seen.len() < 3 {
        assert!(
            Instant::now() < end,
            "only {seen:?} after {:?}",
            sim_common::EVENTUALLY
        );
        let (st, em) = get_json(&a, "/rpc/EM.GetStatus?id=0");
        assert_eq!(st, 200, "{em}");
        let w = f(&em["total_act_power"]) as i64;
        assert!([500, 1000, 1250, 1500].contains(&w), "{w} W: {seen:?}");
        *seen.entry(w).or_insert(0) += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn faults() {
    // garbage: 200 with a body that is not JSON.
    let s = sim(&[
        "meter",
        "--listen",
        "http://127.0.0.1:0",
        "--fault",
        "garbage",
    ]);
    let (st, body) = http(
        &addr(&s),
        "GET",
        "/rpc/EM.GetStatus?id=0",
        Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!(st, 200);
    assert!(serde_json::from_slice::<Value>(&body).is_err(), "{body:?}");
    drop(s);

    // silent: no answer at all; /sim still answers and can heal it.
    let s = sim(&[
        "meter",
        "--listen",
        "http://127.0.0.1:0",
        "--fault",
        "silent",
    ]);
    let a = addr(&s);
    let t = Instant::now();
    let e = http(
        &a,
        "GET",
        "/rpc/EM.GetStatus?id=0",
        Duration::from_millis(400),
    )
    .unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{e}"
    );
    assert!(t.elapsed() >= Duration::from_millis(390));
    let (st, v) = post_json(&a, "/sim/fault?set=none");
    assert_eq!((st, v["fault"].as_str()), (200, Some("none")));
    assert_eq!(get_json(&a, "/rpc/EM.GetStatus?id=0").0, 200);
    // late, set at run time.
    let (_, v) = post_json(&a, "/sim/fault?set=late&delay_ms=300");
    assert_eq!(v["fault"], "late");
    let t = Instant::now();
    assert_eq!(get_json(&a, "/status").0, 200);
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    drop(s);

    // late from the command line.
    let s = sim(&[
        "meter",
        "--listen",
        "http://127.0.0.1:0",
        "--fault",
        "late",
        "--delay-ms",
        "250",
    ]);
    let t = Instant::now();
    assert_eq!(get_json(&addr(&s), "/rpc/Shelly.GetDeviceInfo").0, 200);
    assert!(t.elapsed() >= Duration::from_millis(250));
    drop(s);

    // drop: the printed port refuses connections.
    let s = sim(&["meter", "--listen", "http://127.0.0.1:0", "--fault", "drop"]);
    let e = TcpStream::connect(addr(&s)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
}

fn usage_error(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_voltwire"))
        .arg("sim")
        .args(args)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    assert!(out.stdout.is_empty(), "{args:?}");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn usage_errors_name_the_flag() {
    let h = "http://127.0.0.1:0";
    for (args, needles) in [
        (
            vec!["meter", "--listen", "tcp://127.0.0.1:0"],
            vec!["--listen", "http://"],
        ),
        (
            vec!["meter", "--listen", h, "--load-profile", "square"],
            vec!["--load-profile", "sine"],
        ),
        (vec!["meter", "--listen", h, "--load=-1"], vec!["--load"]),
        (
            vec!["meter", "--listen", h, "--cells", "8"],
            vec!["--cells", "meter"],
        ),
        (
            vec!["meter", "--listen", h, "--fault", "bad-checksum"],
            vec!["--fault", "garbage"],
        ),
        (
            vec!["meter", "--listen", h, "--topic", "x"],
            vec!["--topic", "--mqtt"],
        ),
        (
            vec!["meter", "--listen", h, "--mqtt", "http://h"],
            vec!["--mqtt", "scheme"],
        ),
        (
            vec![
                "meter", "--listen", h, "--mqtt", "mqtt://h", "--topic", "a//b",
            ],
            vec!["--topic"],
        ),
        (
            vec![
                "meter",
                "--listen",
                h,
                "--mqtt",
                "mqtt://h",
                "--interval-ms",
                "1",
            ],
            vec!["--interval-ms"],
        ),
        (
            vec!["meter", "--listen", h, "--fault", "drop", "--drop-for", "1"],
            vec!["--drop-for", "meter"],
        ),
        (
            vec!["meter", "--listen", h, "--bitrate", "500000"],
            vec!["--bitrate", "meter"],
        ),
        (
            vec![
                "pylontech-can",
                "--listen",
                "slcan-pty",
                "--mqtt",
                "mqtt://h",
            ],
            vec!["--mqtt", "meter"],
        ),
        (
            vec!["daly", "--listen", "pty", "--load", "5"],
            vec!["--load", "meter"],
        ),
    ] {
        let err = usage_error(&args);
        for n in needles {
            assert!(err.contains(n), "{args:?}: {err}");
        }
    }
}

#[test]
fn sigterm_exits_zero() {
    let mut s = sim(&["meter", "--listen", "http://127.0.0.1:0"]);
    assert_eq!(get_json(&addr(&s), "/sim").0, 200);
    let st = Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let end = Instant::now() + sim_common::EVENTUALLY;
    loop {
        if let Some(code) = s.child.try_wait().unwrap() {
            assert_eq!(code.code(), Some(0));
            break;
        }
        assert!(Instant::now() < end, "still running after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------- MQTT

/// Messages on `filter` from an independent client (its own thread), kept in order.
struct Watcher {
    client: rumqttc::Client,
    rx: std::sync::mpsc::Receiver<(String, Vec<u8>)>,
    seen: Vec<(String, Vec<u8>)>,
}

impl Watcher {
    fn start(port: u16, filter: &str) -> Self {
        let mut o =
            rumqttc::MqttOptions::new(format!("watch-{}", std::process::id()), "127.0.0.1", port);
        o.set_keep_alive(Duration::from_secs(5));
        let (client, mut conn) = rumqttc::Client::new(o, 64);
        client.subscribe(filter, rumqttc::QoS::AtLeastOnce).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for ev in conn.iter() {
                match ev {
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) => {
                        if tx.send((p.topic.clone(), p.payload.to_vec())).is_err() {
                            break;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        });
        Self {
            client,
            rx,
            seen: Vec::new(),
        }
    }

    /// Where the next message will be.
    fn mark(&self) -> usize {
        self.seen.len()
    }

    /// The first message at or after `from` on `topic` for which `pred` holds, waiting up to
    /// [`sim_common::EVENTUALLY`] for it.
    fn wait_for(&mut self, from: usize, topic: &str, pred: impl Fn(&[u8]) -> bool) -> Vec<u8> {
        let end = Instant::now() + sim_common::EVENTUALLY;
        let mut i = from;
        loop {
            while let Some((t, p)) = self.seen.get(i) {
                if t == topic && pred(p) {
                    return p.clone();
                }
                i += 1;
            }
            let left = end.saturating_duration_since(Instant::now());
            let m = self.rx.recv_timeout(left).unwrap_or_else(|_| {
                panic!(
                    "nothing matching on {topic} within {:?}",
                    sim_common::EVENTUALLY
                )
            });
            self.seen.push(m);
        }
    }
}

fn json_of(p: &[u8]) -> Value {
    serde_json::from_slice(p).unwrap_or(Value::Null)
}

#[test]
fn mqtt_publishes_like_a_shelly_gen2() {
    let b = Broker::start("meter");
    let url = b.url();
    let mut w = Watcher::start(b.port(), "meter1/#");
    let s = sim(&[
        "meter",
        "--listen",
        "http://127.0.0.1:0",
        "--load",
        "1000",
        "--pv",
        "250",
        "--load-profile",
        "constant",
        "--mqtt",
        &url,
        "--topic",
        "meter1",
        "--interval-ms",
        "100",
    ]);
    let a = addr(&s);
    w.wait_for(0, "meter1/online", |p| p == b"true");
    w.wait_for(0, "meter1/availability", |p| p == b"online");
    let em = json_of(&w.wait_for(0, "meter1/status/em:0", |p| json_of(p).is_object()));
    check_em(&em, 750.0);
    let ev = json_of(&w.wait_for(0, "meter1/events/rpc", |p| json_of(p).is_object()));
    assert_eq!(ev["method"], "NotifyStatus");
    assert_eq!(ev["dst"], "meter1/events");
    check_em(&ev["params"]["em:0"], 750.0);
    assert!(f(&ev["params"]["ts"]) > 1.6e9, "{ev}");
    let st = json_of(&w.wait_for(0, "meter1/state", |p| json_of(p).is_object()));
    assert_eq!(st["power_w"], 750);
    let phases: i64 = st["phase_power_w"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .sum();
    assert_eq!(phases, 750);
    // Shelly.GetStatus knows the link is up.
    let (_, all) = get_json(&a, "/rpc/Shelly.GetStatus");
    assert_eq!(all["mqtt"]["connected"], true);

    // A command changes the load; a bad one is rejected with a reason.
    let m = w.mark();
    w.client
        .publish(
            "meter1/command/load",
            rumqttc::QoS::AtLeastOnce,
            false,
            "2000",
        )
        .unwrap();
    w.wait_for(m, "meter1/state", |p| json_of(p)["power_w"] == 1750);
    w.client
        .publish(
            "meter1/command/load",
            rumqttc::QoS::AtLeastOnce,
            false,
            "lots",
        )
        .unwrap();
    let r = json_of(&w.wait_for(m, "meter1/command/result", |p| {
        json_of(p)["accepted"] == false
    }));
    assert!(r["reason"].as_str().unwrap().contains("lots"), "{r}");

    // garbage reaches MQTT too; healing brings JSON back.
    post_json(&a, "/sim/fault?set=garbage");
    let m = w.mark();
    w.wait_for(m, "meter1/status/em:0", |p| {
        serde_json::from_slice::<Value>(p).is_err()
    });
    post_json(&a, "/sim/fault?set=none");
    let m = w.mark();
    w.wait_for(m, "meter1/status/em:0", |p| json_of(p).is_object());

    // A clean stop says so on both availability topics.
    let m = w.mark();
    Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status()
        .unwrap();
    w.wait_for(m, "meter1/online", |p| p == b"false");
    w.wait_for(m, "meter1/availability", |p| p == b"offline");
    drop(s);
}
