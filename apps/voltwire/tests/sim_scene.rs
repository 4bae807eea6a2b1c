//! `voltwire sim scene FILE.toml` run as a user runs it: 4 Pace packs and a coulomb meter on
//! one plant, each on its own TCP port, polled with `voltwire-pace` (address 0, as a master
//! of packs on their own ports polls) and `tokio-modbus`; the script's silence and port drop
//! seen in order; line timing at 9600 Bd; scene errors naming the field.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::float_cmp,
    reason = "test code (the meter's powers are whole watts: exact)"
)]

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use voltwire_core::{Milliamps, Millivolts, StreamDecoder as _};
use voltwire_pace::{
    ConfigRead, PackAnalog, Request, RequestBody, Response, ResponseBody, Target, VoltageKind,
};

/// A running scene, killed on drop.
struct SceneRun {
    child: Child,
    links: HashMap<String, String>,
    _file: PathBuf,
}

impl Drop for SceneRun {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write_scene(tag: &str, text: &str) -> PathBuf {
    let dir = voltwire_testkit::scratch_dir(tag);
    let path = dir.join("scene.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Start `voltwire sim scene` on `text`; read one listening line per device.
fn scene(tag: &str, text: &str, devices: usize, extra: &[&str]) -> SceneRun {
    let file = write_scene(tag, text);
    let mut child = Command::new(env!("CARGO_BIN_EXE_voltwire"))
        .args(["sim", "scene"])
        .arg(&file)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut links = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    for _ in 0..devices {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?} is not JSON: {e}"));
        let name = v["name"].as_str().unwrap().to_owned();
        order.push(name.clone());
        links.insert(name, v["listening"].as_str().unwrap().to_owned());
    }
    assert_eq!(order.len(), devices);
    SceneRun {
        child,
        links,
        _file: file,
    }
}

/// A poll of one Pace pack on its own TCP port.
struct Master {
    stream: TcpStream,
}

impl Master {
    fn connect(addr: &str) -> Self {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_nodelay(true).unwrap();
        Self { stream }
    }

    /// Send `req`; its answer, or `None` when nothing whole comes within `wait` (or the
    /// port closed).
    fn ask(&mut self, req: &Request, wait: Duration) -> Option<Response> {
        self.stream
            .write_all(&req.to_frame().unwrap().to_bytes())
            .ok()?;
        let end = Instant::now() + wait;
        let mut all = Vec::new();
        let mut buf = [0u8; 1024];
        loop {
            let left = end.checked_duration_since(Instant::now())?;
            self.stream.set_read_timeout(Some(left)).unwrap();
            match self.stream.read(&mut buf) {
                // A signal to this process (another test's child ending) is no answer.
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Ok(0) | Err(_) => return None,
                Ok(n) => all.extend_from_slice(&buf[..n]),
            }
            let mut got = None;
            voltwire_asciihex::Decoder::new().feed_all(&all, |item| {
                let r = Response::from_frame(&item.value.unwrap(), req.command());
                assert!(r.answers(req), "{r:?}");
                got = Some(r);
            });
            if got.is_some() {
                return got;
            }
        }
    }

    fn analog(&mut self) -> PackAnalog {
        let r = self
            .ask(
                &Request::new(0, RequestBody::Analog(Target::All)),
                Duration::from_secs(10),
            )
            .expect("an answer at address 0");
        let ResponseBody::Analog(a) = r.body else {
            panic!("{r:?}")
        };
        assert_eq!(a.modules.len(), 1, "one pack per port");
        a.modules[0].clone()
    }
}

const FOUR_PACKS: &str = r#"
[flows]
discharge_w = 2000

[[pack]]
soc = 40
[[pack]]
soc = 50
[[pack]]
soc = 60
[[pack]]
soc = 70

[[device]]
name = "pack1"
kind = "pace"
listen = "tcp://127.0.0.1:0"
packs = [1]

[[device]]
name = "pack2"
kind = "pace"
listen = "tcp://127.0.0.1:0"
packs = [2]
[device.settings]
pack_over_voltage_mv = 57000
pack_under_voltage_mv = 46000
charge_over_current_a = 80
discharge_over_current_a = 120

[[device]]
name = "pack3"
kind = "pace"
listen = "tcp://127.0.0.1:0"
packs = [3]

[[device]]
name = "pack4"
kind = "pace"
listen = "tcp://127.0.0.1:0"
packs = [4]

[[device]]
name = "meter"
kind = "coulombmeter"
listen = "tcp://127.0.0.1:0"
"#;

fn soc_permille(a: &PackAnalog) -> i64 {
    a.remaining_capacity.0 * 1000 / a.full_capacity.0
}

#[test]
fn four_pace_packs_and_a_meter_share_one_plant() {
    let s = scene("scene-four", FOUR_PACKS, 5, &[]);
    // Every pack answers at address 0 on its own port, with its own pack's state.
    let mut currents = Vec::new();
    for (i, want_soc) in [(1, 400), (2, 500), (3, 600), (4, 700)] {
        let mut m = Master::connect(&s.links[&format!("pack{i}")]);
        let a = m.analog();
        assert!((soc_permille(&a) - want_soc).abs() <= 15, "pack{i}: {a:?}");
        assert_eq!(a.cells.len(), 16);
        assert!(a.current.0 < 0, "discharging: {a:?}");
        currents.push(a.current.0);
    }
    // The meter on the bank measures the packs' sum (within 1 %).
    let sum: i32 = currents.iter().sum();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let meter = rt.block_on(async {
        use tokio_modbus::prelude::*;
        let stream = tokio::net::TcpStream::connect(&s.links["meter"])
            .await
            .unwrap();
        let mut ctx = tokio_modbus::client::rtu::attach_slave(stream, Slave(1));
        let regs = tokio::time::timeout(Duration::from_secs(10), ctx.read_input_registers(0, 12))
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        voltwire_modbus::coulomb_meter::Status::from_registers(&regs).unwrap()
    });
    let diff = f64::from((meter.current.0 - sum).abs());
    assert!(
        diff <= f64::from(sum.abs()) * 0.01,
        "meter {:?} vs packs {currents:?} (sum {sum})",
        meter.current
    );
    // ~2000 W out of a ~52 V bank.
    assert!((-45_000..=-33_000).contains(&sum), "{currents:?}");

    // Configuration reads answer with the scene's values (pack 2) or the defaults.
    let mut m2 = Master::connect(&s.links["pack2"]);
    let mut m1 = Master::connect(&s.links["pack1"]);
    let read = |m: &mut Master, c: ConfigRead| {
        m.ask(
            &Request::new(0, RequestBody::ReadConfig(c)),
            Duration::from_secs(10),
        )
        .expect("a config answer")
        .body
    };
    let pack_over = ConfigRead::Voltage(VoltageKind::PackOver);
    let pack_under = ConfigRead::Voltage(VoltageKind::PackUnder);
    assert!(
        matches!(read(&mut m2, pack_over), ResponseBody::Voltage(_, v) if v.protect == Millivolts(57_000))
    );
    assert!(
        matches!(read(&mut m2, pack_under), ResponseBody::Voltage(_, v) if v.protect == Millivolts(46_000))
    );
    assert!(
        matches!(read(&mut m2, ConfigRead::ChargeOverCurrent), ResponseBody::ChargeOverCurrent(c) if c.protect == Milliamps(80_000))
    );
    assert!(
        matches!(read(&mut m2, ConfigRead::DischargeOverCurrent), ResponseBody::DischargeOverCurrent(c) if c.protect == Milliamps(-120_000))
    );
    assert!(
        matches!(read(&mut m1, pack_over), ResponseBody::Voltage(_, v) if v.protect == Millivolts(16 * 3_650))
    );
}

#[test]
fn scripted_silence_and_port_drop_are_seen_in_order() {
    // 10× real time: pack3 silent from 30 s to 60 s (sim), pack4's port gone from 30 s to
    // 60 s (connections refused).
    let text = format!(
        "{FOUR_PACKS}
[[event]]
at = 30
action = \"silent\"
device = \"pack3\"

[[event]]
at = 60
action = \"back\"
device = \"pack3\"

[[event]]
at = 30
action = \"drop\"
device = \"pack4\"
for = 30
"
    );
    let s = scene("scene-script", &text, 5, &["--speed", "10"]);
    let req = Request::new(0, RequestBody::ProtocolVersion);
    let wait = Duration::from_millis(400);
    let deadline = Instant::now() + Duration::from_secs(60);

    // pack3: answered, then silent on the same open connection, then answered again.
    let mut m3 = Master::connect(&s.links["pack3"]);
    let mut seen3: Vec<bool> = Vec::new();
    // pack4: answered, then refused/closed, then answered again on a new connection.
    let mut m4 = Some(Master::connect(&s.links["pack4"]));
    let mut seen4: Vec<bool> = Vec::new();
    let phases = |v: &[bool]| {
        let mut p: Vec<bool> = Vec::new();
        for x in v {
            if p.last() != Some(x) {
                p.push(*x);
            }
        }
        p
    };
    while Instant::now() < deadline
        && (phases(&seen3) != [true, false, true] || phases(&seen4) != [true, false, true])
    {
        seen3.push(m3.ask(&req, wait).is_some());
        let ok4 = m4.as_mut().and_then(|m| m.ask(&req, wait)).is_some();
        if !ok4 {
            m4 = TcpStream::connect(&s.links["pack4"]).ok().map(|stream| {
                stream.set_nodelay(true).unwrap();
                Master { stream }
            });
        }
        seen4.push(ok4);
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(phases(&seen3), [true, false, true], "pack3: {seen3:?}");
    assert_eq!(phases(&seen4), [true, false, true], "pack4: {seen4:?}");
    // The packs the script leaves alone answered throughout.
    let mut m1 = Master::connect(&s.links["pack1"]);
    assert!(m1.ask(&req, Duration::from_secs(10)).is_some());
}

/// The time of one 0x42 exchange, from the request's first byte to the reply's last, and
/// the bytes it moved.
fn exchange(m: &mut Master) -> (Duration, usize) {
    let req = Request::new(0, RequestBody::Analog(Target::All));
    let tx = req.to_frame().unwrap().to_bytes();
    let t0 = Instant::now();
    let r = m.ask(&req, Duration::from_secs(10)).expect("an answer");
    let dt = t0.elapsed();
    let rx = r.to_frame().unwrap().to_bytes();
    (dt, tx.len() + rx.len())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[test]
fn line_timing_at_9600_makes_an_exchange_take_its_wire_time() {
    let text = r#"
[[pack]]
count = 2

[[device]]
name = "timed"
kind = "pace"
listen = "tcp://127.0.0.1:0"
packs = [1]
line_timing = true
baud = 9600

[[device]]
name = "fast"
kind = "pace"
listen = "tcp://127.0.0.1:0"
packs = [2]
"#;
    let s = scene("scene-timing", text, 2, &[]);
    let mut timed = Master::connect(&s.links["timed"]);
    let mut fast = Master::connect(&s.links["fast"]);
    let (mut t, mut f) = (Vec::new(), Vec::new());
    let mut bytes = 0;
    for _ in 0..15 {
        let (dt, n) = exchange(&mut timed);
        t.push(dt);
        bytes = n;
        f.push(exchange(&mut fast).0);
    }
    // 8N1: ten bits a byte.
    let wire = Duration::from_secs_f64(bytes as f64 * 10.0 / 9600.0);
    let (mt, mf) = (median(t), median(f));
    let paced = mt.saturating_sub(mf);
    let ratio = paced.as_secs_f64() / wire.as_secs_f64();
    eprintln!(
        "line timing: timed {mt:?}, untimed {mf:?}, wire {wire:?} ({bytes} bytes), ratio {ratio:.3}"
    );
    assert!(
        (0.8..=1.2).contains(&ratio),
        "timed {mt:?} − untimed {mf:?} = {paced:?} vs wire time {wire:?} of {bytes} bytes"
    );
}

/// One HTTP/1.1 request; (status, JSON body).
fn http(addr: &str, method: &str, path: &str) -> (u16, serde_json::Value) {
    let addr = addr.strip_prefix("http://").unwrap();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let at = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&buf[..at]).into_owned();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_slice(&buf[at + 4..]).unwrap())
}

fn grid_w(link: &str) -> f64 {
    let (status, em) = http(link, "GET", "/rpc/EM.GetStatus?id=0");
    assert_eq!(status, 200, "{em}");
    em["total_act_power"].as_f64().unwrap()
}

#[test]
fn the_grid_meter_reads_the_scene_plant_and_moves_it() {
    let text = r#"
[flows]
load_w = 1000
pv_w = 300
discharge_w = 200

[[pack]]

[[device]]
name = "grid"
kind = "meter"
listen = "http://127.0.0.1:0"

[[device]]
name = "bank"
kind = "coulombmeter"
listen = "tcp://127.0.0.1:0"

[[event]]
at = 20
action = "load"
watts = 2500
"#;
    let s = scene("scene-meter", text, 2, &["--speed", "10"]);
    let grid = &s.links["grid"];
    assert!(grid.starts_with("http://"), "{grid}");
    // load − PV − discharge, before the scripted step.
    assert!((grid_w(grid) - 500.0).abs() < 1e-9);
    // The meter's sim interface moves the shared plant: the bank's meter sees it.
    let (status, _) = http(grid, "POST", "/sim/discharge?w=700");
    assert_eq!(status, 200);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let bank = rt.block_on(async {
        use tokio_modbus::prelude::*;
        let stream = tokio::net::TcpStream::connect(&s.links["bank"])
            .await
            .unwrap();
        let mut ctx = tokio_modbus::client::rtu::attach_slave(stream, Slave(1));
        let regs = tokio::time::timeout(Duration::from_secs(10), ctx.read_input_registers(0, 12))
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        voltwire_modbus::coulomb_meter::Status::from_registers(&regs).unwrap()
    });
    let watts = f64::from(bank.voltage.0) * f64::from(bank.current.0) / 1e6;
    assert!((watts + 700.0).abs() < 15.0, "{bank:?}: {watts} W");
    // 1000 − 300 − 700, then the scripted load step: 2500 − 300 − 700.
    let end = Instant::now() + Duration::from_secs(30);
    let mut seen = vec![grid_w(grid)];
    while *seen.last().unwrap() != 1500.0 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
        seen.push(grid_w(grid));
    }
    seen.dedup();
    assert_eq!(seen, [0.0, 1500.0]);
}

#[test]
fn a_scripted_garbage_fault_reaches_a_modbus_devices_bytes() {
    let text = r#"
[[pack]]

[[device]]
name = "bank"
kind = "coulombmeter"
listen = "tcp://127.0.0.1:0"

[[event]]
at = 20
action = "fault"
device = "bank"
fault = "garbage"
"#;
    let s = scene("scene-modbus-fault", text, 1, &["--speed", "10"]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let seen = rt.block_on(async {
        use tokio_modbus::prelude::*;
        let mut seen: Vec<bool> = Vec::new();
        let end = tokio::time::Instant::now() + Duration::from_secs(30);
        while tokio::time::Instant::now() < end && seen.last() != Some(&false) {
            // A fresh connection each time: garbage may leave the client's framing lost.
            let stream = tokio::net::TcpStream::connect(&s.links["bank"])
                .await
                .unwrap();
            let mut ctx = tokio_modbus::client::rtu::attach_slave(stream, Slave(1));
            let r =
                tokio::time::timeout(Duration::from_millis(500), ctx.read_input_registers(0, 12))
                    .await;
            seen.push(matches!(r, Ok(Ok(Ok(_)))));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        seen
    });
    let mut phases = seen.clone();
    phases.dedup();
    assert_eq!(phases, [true, false], "{seen:?}");
}

#[test]
fn scene_errors_name_the_field_and_exit_2() {
    let cases = [
        (
            "[[pack]]\n[[device]]\nname = \"a\"\nkind = \"pace\"\nlisten = \"tcp://nowhere\"\n",
            "device[0].listen",
        ),
        (
            "[[pack]]\n[[device]]\nname = \"a\"\nkind = \"toaster\"\nlisten = \"pty\"\n",
            "device[0].kind",
        ),
        (
            "[[pack]]\n[[device]]\nname = \"a\"\nkind = \"pace\"\nlisten = \"pty\"\npacks = [3]\n",
            "device[0].packs",
        ),
        (
            "[[pack]]\n[[device]]\nname = \"a\"\nkind = \"coulombmeter\"\nlisten = \"pty\"\nline_timing = true\n",
            "device[0].line_timing",
        ),
        (
            "[[pack]]\ncells = 99\n[[device]]\nname = \"a\"\nkind = \"pace\"\nlisten = \"pty\"\n",
            "pack[0].cells",
        ),
        (
            "[[pack]]\n[[device]]\nname = \"a\"\nkind = \"pace\"\nlisten = \"pty\"\n[[event]]\nat = 5\naction = \"silent\"\ndevice = \"b\"\n",
            "event[0].device",
        ),
        (
            "[[pack]]\n[[device]]\nname = \"a\"\nkind = \"pace\"\nlisten = \"pty\"\nbaud_rate = 9600\n",
            "baud_rate",
        ),
    ];
    for (i, (text, field)) in cases.iter().enumerate() {
        let file = write_scene(&format!("scene-bad-{i}"), text);
        let out = Command::new(env!("CARGO_BIN_EXE_voltwire"))
            .args(["sim", "scene"])
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(field), "{field}: {err}");
        assert!(out.stdout.is_empty(), "nothing served: {text}");
    }
}

#[test]
fn the_pace2pylon_example_serves_its_installation() {
    let file =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/scenes/pace2pylon.toml");
    let text = std::fs::read_to_string(file).unwrap();
    let s = scene("scene-pace2pylon", &text, 14, &[]);
    for i in 1..=12 {
        let a = Master::connect(&s.links[&format!("pack{i}")]).analog();
        assert!((soc_permille(&a) - 700).abs() <= 15, "pack{i}: {a:?}");
    }
    // The inverter's SLCAN side: keep-alives (0x305) to whoever opens it at 500 kbit/s; a
    // BMS frame sent to it is taken.
    let pty = s.links["inverter"].clone();
    assert!(pty.starts_with("/dev/pts/"), "{pty}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use voltwire_runtime::can::CanBus as _;
        let link = voltwire_runtime::link::Link::open(&voltwire_runtime::link::LinkUrl::Serial {
            path: pty,
            baud: 115_200,
        })
        .await
        .unwrap();
        let mut bus =
            voltwire_runtime::can::SlcanBus::open(link, 500_000, voltwire_slcan::Dialect::Canable)
                .await
                .unwrap();
        for _ in 0..2 {
            let f = tokio::time::timeout(Duration::from_secs(10), bus.recv())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(f.id(), 0x305);
            let bms = voltwire_runtime::can::CanFrame::standard(0x359, &[0; 7]).unwrap();
            bus.send(&bms).await.unwrap();
        }
    });
}

#[test]
fn the_example_scenes_check() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/scenes");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "toml") {
            let out = Command::new(env!("CARGO_BIN_EXE_voltwire"))
                .args(["sim", "scene", "--check"])
                .arg(&path)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            n += 1;
        }
    }
    assert!(n >= 4, "{n} example scenes");
}
