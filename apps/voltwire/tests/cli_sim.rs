//! `voltwire sim`, run as a user runs it: the simulator on a real pty and on loopback TCP,
//! talked to with our own protocol crates; usage errors; clean exit on SIGTERM.

#![allow(
    clippy::many_single_char_names,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "test code"
)]

use std::io::Write as _;
use std::net::TcpStream;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use voltwire_core::StreamDecoder as _;
use voltwire_daly::{Command as DalyCommand, Decoder, Request, Response, Variant};
use voltwire_victron::text::{self, Event};

mod sim_common;
use sim_common::{EVENTUALLY, Sim, collect, collect_until, open_pty, reader, reader_thread, sim};

fn decode_daly(bytes: &[u8]) -> Vec<Result<Response, String>> {
    let mut out = Vec::new();
    Decoder::new().feed_all(bytes, |item| {
        out.push(match item.value {
            Ok(f) => Response::parse(&f, &Variant::RS485).map_err(|e| format!("{e:?}")),
            Err(e) => Err(format!("{e:?}")),
        });
    });
    out
}

/// Send one Daly read request and decode what comes back, waiting (up to [`EVENTUALLY`]) for
/// `n` items: replies, or errors for frames that fail.
fn daly_query(
    w: &mut impl std::io::Write,
    rx: &mpsc::Receiver<Vec<u8>>,
    command: DalyCommand,
    n: usize,
) -> Vec<Result<Response, String>> {
    let mut tx = [0u8; 13];
    Request::read(command)
        .emit(Variant::RS485.host_address, &mut tx)
        .unwrap();
    w.write_all(&tx).unwrap();
    w.flush().unwrap();
    decode_daly(&collect_until(rx, |b| decode_daly(b).len() >= n))
}

/// The replies to one request: exactly `n`, each an answer to `command` (an extra or
/// stray frame, here or at the start of the next answer, fails).
fn daly_replies(
    w: &mut impl std::io::Write,
    rx: &mpsc::Receiver<Vec<u8>>,
    command: DalyCommand,
    n: usize,
) -> Vec<Response> {
    let r = daly_query(w, rx, command, n);
    assert_eq!(r.len(), n, "{command:?}: {r:?}");
    r.into_iter()
        .map(|x| {
            let x = x.unwrap();
            assert_eq!(x.command(), command, "{x:?}");
            x
        })
        .collect()
}

fn check_daly(w: &mut impl std::io::Write, rx: &mpsc::Receiver<Vec<u8>>, cells: u8) {
    let r = daly_replies(w, rx, DalyCommand::STATUS_INFO, 1);
    let [Response::StatusInfo(s)] = r.as_slice() else {
        panic!("{r:?}")
    };
    assert_eq!(s.cell_count, cells);
    let r = daly_replies(w, rx, DalyCommand::PACK_STATUS, 1);
    let [Response::PackStatus(p)] = r.as_slice() else {
        panic!("{r:?}")
    };
    // Started at 60 %, discharging 500 W: a little below.
    assert!((550..=600).contains(&p.soc.0), "{p:?}");
    assert!(p.current.0 < 0, "{p:?}");
    let per_cell = p.voltage.0 / i32::from(cells);
    assert!((3_000..=3_450).contains(&per_cell), "{p:?}");
    let frames = usize::from(cells).div_ceil(3);
    let r = daly_replies(w, rx, DalyCommand::CELL_VOLTAGES, frames);
    assert!(r.iter().all(|x| matches!(x, Response::CellVoltages(_))));
}

#[test]
fn daly_over_pty() {
    let s = sim(&["daly", "--listen", "pty", "--cells", "8", "--soc", "60"]);
    let f = open_pty(&s.listening);
    let (rx, reading) = reader_thread(f.try_clone().unwrap());
    let mut w = f;
    check_daly(&mut w, &rx, 8);
    // Close and reopen: the simulator keeps serving. The old reader thread ends once it sees
    // its receiver gone (its reads time out after 0.1 s); wait for it, so that it cannot take
    // bytes meant for the new one.
    drop((w, rx));
    reading.join().unwrap();
    let f = open_pty(&s.listening);
    let rx2 = reader(f.try_clone().unwrap());
    let mut w = f;
    check_daly(&mut w, &rx2, 8);
}

#[test]
fn daly_over_tcp() {
    let s = sim(&["daly", "--listen", "tcp://127.0.0.1:0", "--soc", "60"]);
    assert!(s.listening.starts_with("127.0.0.1:"), "{}", s.listening);
    assert!(!s.listening.ends_with(":0"));
    for _ in 0..2 {
        let stream = TcpStream::connect(&s.listening).unwrap();
        let rx = reader(stream.try_clone().unwrap());
        let mut w = stream;
        check_daly(&mut w, &rx, 16);
        // One client at a time: hang up so that the next is served.
        w.shutdown(std::net::Shutdown::Both).unwrap();
    }
}

#[test]
fn daly_faults() {
    let s = sim(&[
        "daly",
        "--listen",
        "tcp://127.0.0.1:0",
        "--fault",
        "bad-checksum",
        "--fault",
        "cell-overvoltage",
    ]);
    let stream = TcpStream::connect(&s.listening).unwrap();
    let rx = reader(stream.try_clone().unwrap());
    let mut w = stream;
    let r = daly_query(&mut w, &rx, DalyCommand::PACK_STATUS, 1);
    assert!(!r.is_empty() && r.iter().all(Result::is_err), "{r:?}");

    let s = sim(&["daly", "--listen", "pty", "--fault", "silent"]);
    let f = open_pty(&s.listening);
    let rx = reader(f.try_clone().unwrap());
    let mut w = f;
    w.write_all(&{
        let mut tx = [0u8; 13];
        Request::read(DalyCommand::PACK_STATUS)
            .emit(Variant::RS485.host_address, &mut tx)
            .unwrap();
        tx
    })
    .unwrap();
    // Nothing, however long we listen (a late answer would show up here too).
    let r = decode_daly(&collect(&rx, Duration::from_secs(1)));
    assert!(r.is_empty(), "{r:?}");

    let s = sim(&["daly", "--listen", "pty", "--fault", "cell-overvoltage"]);
    let f = open_pty(&s.listening);
    let rx = reader(f.try_clone().unwrap());
    let mut w = f;
    let r = daly_replies(&mut w, &rx, DalyCommand::CELL_VOLTAGE_RANGE, 1);
    let [Response::CellVoltageRange(c)] = r.as_slice() else {
        panic!("{r:?}")
    };
    assert_eq!(c.max.0, 3_800);
}

fn vedirect_blocks(bytes: &[u8]) -> (Vec<Vec<(String, String)>>, usize) {
    let mut d = text::Decoder::new();
    let mut blocks = Vec::new();
    let mut errors = 0;
    let mut rest = bytes;
    while !rest.is_empty() {
        let p = d.feed(rest);
        match p.item.map(|i| i.value) {
            Some(Event::Block(b)) => blocks.push(
                b.fields()
                    .map(|(l, v)| {
                        (
                            String::from_utf8_lossy(l).into_owned(),
                            String::from_utf8_lossy(v).into_owned(),
                        )
                    })
                    .collect(),
            ),
            Some(Event::Error(_)) => errors += 1,
            _ => {}
        }
        rest = &rest[p.consumed..];
    }
    (blocks, errors)
}

fn field<'a>(b: &'a [(String, String)], label: &str) -> &'a str {
    b.iter()
        .find(|(l, _)| l == label)
        .map_or_else(|| panic!("no {label} in {b:?}"), |(_, v)| v.as_str())
}

#[test]
fn vedirect_mppt_text_over_pty() {
    let s = sim(&["vedirect-mppt", "--listen", "pty", "--pv", "300"]);
    let f = open_pty(&s.listening);
    let rx = reader(f);
    // A block a second: wait for two whole ones, however long that takes.
    let bytes = collect_until(&rx, |b| vedirect_blocks(b).0.len() >= 2);
    let (blocks, errors) = vedirect_blocks(&bytes);
    assert_eq!(errors, 0);
    assert!(blocks.len() >= 2, "{} blocks", blocks.len());
    for b in &blocks {
        assert_eq!(field(b, "PID"), "0xA060");
        assert_eq!(field(b, "PPV"), "300");
        let v: i32 = field(b, "V").parse().unwrap();
        assert!((48_000..=56_000).contains(&v), "{v}");
        let i: i32 = field(b, "I").parse().unwrap();
        assert!(i > 0, "charging from PV: {i}");
    }
}

#[test]
fn vedirect_smartshunt_over_tcp_at_speed() {
    let s = sim(&[
        "vedirect-smartshunt",
        "--listen",
        "tcp://127.0.0.1:0",
        "--soc",
        "80",
        "--speed",
        "20",
    ]);
    let stream = TcpStream::connect(&s.listening).unwrap();
    let start = Instant::now();
    let rx = reader(stream);
    let bytes = collect_until(&rx, |b| vedirect_blocks(b).0.len() >= 6);
    let took = start.elapsed();
    let (blocks, errors) = vedirect_blocks(&bytes);
    assert_eq!(errors, 0);
    assert!(blocks.len() >= 6, "{} blocks", blocks.len());
    // A block per simulated second: at real time six blocks span at least 5 s; at 20× they
    // take about 0.25 s. The bound only tells the two apart (16× slack for a loaded machine).
    assert!(took < Duration::from_secs(4), "six blocks took {took:?}");
    let b = &blocks[0];
    assert_eq!(field(b, "PID"), "0xA389");
    let soc: i32 = field(b, "SOC").parse().unwrap();
    assert!((780..=800).contains(&soc), "{soc}");
}

#[test]
fn usage_errors_exit_2_and_name_the_option() {
    let cases: &[(&[&str], &str)] = &[
        (&["nonesuch", "--listen", "pty"], "DEVICE"),
        (&["daly", "--listen", "serial:///dev/ttyUSB0"], "--listen"),
        (&["daly", "--listen", "tcp://127.0.0.1"], "--listen"),
        (&["daly", "--listen", "pty", "--modules", "2"], "--modules"),
        (&["daly", "--listen", "pty", "--soc", "150"], "--soc"),
        (&["daly", "--listen", "pty", "--fault", "fire"], "--fault"),
        (
            &["pylontech-rs485", "--listen", "pty", "--modules", "0"],
            "--modules",
        ),
        (&["daly", "--listen", "pty", "--speed", "0"], "--speed"),
        (&["daly"], "--listen"),
        (&["daly", "--listen", "pty", "--cells", "x"], "--cells"),
    ];
    for (args, want) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_voltwire"))
            .arg("sim")
            .args(*args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

#[test]
fn list_names_every_device() {
    let out = Command::new(env!("CARGO_BIN_EXE_voltwire"))
        .args(["sim", "--list"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for d in [
        "daly",
        "pylontech-rs485",
        "vedirect-mppt",
        "vedirect-smartshunt",
        "--modules",
        "--fault",
    ] {
        assert!(text.contains(d), "{d}: {text}");
    }
}

fn terminate(s: &mut Sim, signal: &str) {
    let st = Command::new("kill")
        .args([signal, &s.child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let end = Instant::now() + EVENTUALLY;
    loop {
        if let Some(status) = s.child.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            return;
        }
        assert!(
            Instant::now() < end,
            "still running {EVENTUALLY:?} after {signal}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn sigterm_and_sigint_end_cleanly() {
    let mut s = sim(&["vedirect-mppt", "--listen", "pty"]);
    let f = open_pty(&s.listening);
    terminate(&mut s, "-TERM");
    drop(f);
    let mut s = sim(&["daly", "--listen", "tcp://127.0.0.1:0"]);
    let _c = TcpStream::connect(&s.listening).unwrap();
    terminate(&mut s, "-INT");
}
