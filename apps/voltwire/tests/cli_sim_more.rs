//! `voltwire sim` for the JK and Pace simulators, run as a user runs it: on a real pty and
//! on loopback TCP, talked to with our own protocol crates.

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

use voltwire_core::{Emit as _, StreamDecoder as _};

mod sim_common;
use sim_common::{collect_until, open_pty, reader, sim};

fn decode_jk(bytes: &[u8]) -> Vec<voltwire_jk::Message> {
    let mut out = Vec::new();
    voltwire_jk::JkDecoder::new().feed_all(bytes, |item| out.push(item.value.unwrap()));
    out
}

/// Send one JK request and wait (up to [`sim_common::EVENTUALLY`]) until what comes back holds `n`
/// whole frames, or (for `n == 0`) one frame-shaped run of bytes the decoder refuses.
fn jk_query(
    w: &mut impl std::io::Write,
    rx: &mpsc::Receiver<Vec<u8>>,
    req: &voltwire_jk::Message,
    n: usize,
) -> (Vec<voltwire_jk::Message>, Vec<u8>) {
    let mut tx = vec![0u8; req.buffer_len()];
    let k = req.emit(&mut tx).unwrap();
    w.write_all(&tx[..k]).unwrap();
    w.flush().unwrap();
    let bytes = collect_until(rx, |b| {
        if n == 0 {
            !b.is_empty()
                && !matches!(
                    voltwire_jk::Message::parse(b),
                    Err(voltwire_jk::Error::Truncated { .. })
                )
        } else {
            decode_jk(b).len() >= n
        }
    });
    (decode_jk(&bytes), bytes)
}

fn check_jk(w: &mut impl std::io::Write, rx: &mpsc::Receiver<Vec<u8>>, cells: u16) {
    let (r, _) = jk_query(w, rx, &voltwire_jk::Message::read_all(), 1);
    let [m] = r.as_slice() else { panic!("{r:?}") };
    let rec = m.record().unwrap();
    assert_eq!(rec.cell_count, Some(cells));
    assert_eq!(rec.cell_voltages().count(), usize::from(cells));
    // Started at 60 %, discharging 500 W: a little below.
    let soc = rec.soc_percent.unwrap();
    assert!((55..=60).contains(&soc), "{rec:?}");
    assert!(rec.current().unwrap().0 < 0, "{rec:?}");
    let per_cell = rec.pack_voltage.unwrap().0 / i32::from(cells);
    assert!((3_000..=3_450).contains(&per_cell), "{rec:?}");
    let sum: i32 = rec.cell_voltages().map(|v| v.0).sum();
    assert!((sum - rec.pack_voltage.unwrap().0).abs() <= 5, "{rec:?}");
    // Switch the charge MOSFET off: echoed, and the status follows.
    let mut set = voltwire_jk::Record::new();
    set.charge_mos_switch = Some(0);
    let (r, _) = jk_query(w, rx, &voltwire_jk::Message::write(set.clone()), 1);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].record(), Some(&set));
    let (r, _) = jk_query(w, rx, &voltwire_jk::Message::read_all(), 1);
    assert_eq!(r.len(), 1, "{r:?}");
    let s = r[0].record().unwrap().status.unwrap();
    assert!(!s.charge_mos_on() && s.discharge_mos_on(), "{s:?}");
    let mut set = voltwire_jk::Record::new();
    set.charge_mos_switch = Some(1);
    let (r, _) = jk_query(w, rx, &voltwire_jk::Message::write(set.clone()), 1);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].record(), Some(&set));
}

#[test]
fn jk_over_pty() {
    let s = sim(&["jk", "--listen", "pty", "--cells", "8", "--soc", "60"]);
    let f = open_pty(&s.listening);
    let rx = reader(f.try_clone().unwrap());
    let mut w = f;
    check_jk(&mut w, &rx, 8);
}

#[test]
fn jk_over_tcp() {
    let s = sim(&["jk", "--listen", "tcp://127.0.0.1:0", "--soc", "60"]);
    assert!(s.listening.starts_with("127.0.0.1:"), "{}", s.listening);
    for _ in 0..2 {
        let stream = TcpStream::connect(&s.listening).unwrap();
        let rx = reader(stream.try_clone().unwrap());
        let mut w = stream;
        check_jk(&mut w, &rx, 16);
        w.shutdown(std::net::Shutdown::Both).unwrap();
    }
}

#[test]
fn jk_faults() {
    let s = sim(&["jk", "--listen", "pty", "--fault", "bad-checksum"]);
    let f = open_pty(&s.listening);
    let rx = reader(f.try_clone().unwrap());
    let mut w = f;
    let (r, bytes) = jk_query(&mut w, &rx, &voltwire_jk::Message::read_all(), 0);
    assert!(r.is_empty(), "{r:?}");
    let e = voltwire_jk::Message::parse(&bytes).unwrap_err();
    assert!(matches!(e, voltwire_jk::Error::Checksum { .. }), "{e:?}");

    let s = sim(&["jk", "--listen", "pty", "--fault", "cell-overvoltage"]);
    let f = open_pty(&s.listening);
    let rx = reader(f.try_clone().unwrap());
    let mut w = f;
    let (r, _) = jk_query(&mut w, &rx, &voltwire_jk::Message::read_all(), 1);
    assert_eq!(r.len(), 1, "{r:?}");
    let rec = r[0].record().unwrap();
    assert!(
        rec.warnings
            .unwrap()
            .contains(voltwire_jk::Warnings::CELL_OVER_VOLTAGE)
    );
    assert!(!rec.status.unwrap().charge_mos_on());
}

#[test]
fn list_names_the_new_devices() {
    let out = Command::new(env!("CARGO_BIN_EXE_voltwire"))
        .args(["sim", "--list"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for name in ["jk", "pace"] {
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(&format!("{name} "))),
            "{text}"
        );
    }
}

fn decode_pace(bytes: &[u8], req: &voltwire_pace::Request) -> Vec<voltwire_pace::Response> {
    let mut out = Vec::new();
    voltwire_asciihex::Decoder::new().feed_all(bytes, |item| {
        let r = voltwire_pace::Response::from_frame(&item.value.unwrap(), req.command());
        assert!(r.answers(req), "{r:?}");
        out.push(r);
    });
    out
}

/// Send one Pace request and wait (up to [`sim_common::EVENTUALLY`]) for its reply: exactly one, and an
/// answer to this request (an extra or stray frame, here or before the next answer, fails).
fn pace_query(
    w: &mut impl std::io::Write,
    rx: &mpsc::Receiver<Vec<u8>>,
    req: &voltwire_pace::Request,
) -> voltwire_pace::Response {
    w.write_all(&req.to_frame().unwrap().to_bytes()).unwrap();
    w.flush().unwrap();
    let bytes = collect_until(rx, |b| !decode_pace(b, req).is_empty());
    let mut r = decode_pace(&bytes, req);
    assert_eq!(r.len(), 1, "{r:?}");
    r.remove(0)
}

fn check_pace(w: &mut impl std::io::Write, rx: &mpsc::Receiver<Vec<u8>>, packs: usize) {
    use voltwire_pace::{Request, RequestBody, ResponseBody, Target};
    let resp = pace_query(w, rx, &Request::new(1, RequestBody::Analog(Target::All)));
    let ResponseBody::Analog(a) = &resp.body else {
        panic!("{resp:?}")
    };
    assert_eq!(a.modules.len(), packs);
    assert_eq!(usize::from(a.command), packs);
    for p in &a.modules {
        assert_eq!(p.cells.len(), 16);
        // Discharging 500 W in total.
        assert!(p.current.0 < 0, "{p:?}");
        let sum: i32 = p.cells.iter().map(|c| c.0).sum();
        assert_eq!(sum, p.voltage.0);
        let per_cell = p.voltage.0 / 16;
        assert!((3_000..=3_450).contains(&per_cell), "{p:?}");
    }
    let last = u8::try_from(packs).unwrap();
    let r = pace_query(
        w,
        rx,
        &Request::new(last, RequestBody::Status(Target::Pack(last))),
    );
    let ResponseBody::Status(s) = &r.body else {
        panic!("{r:?}")
    };
    assert_eq!(s.modules[0].state.system.0 & 0x06, 0x06, "both FETs on");
    let r = pace_query(w, rx, &Request::new(1, RequestBody::ProtocolVersion));
    assert_eq!(r.ver, 0x25);
}

#[test]
fn pace_over_pty() {
    let s = sim(&["pace", "--listen", "pty", "--modules", "2", "--soc", "60"]);
    let f = open_pty(&s.listening);
    let rx = reader(f.try_clone().unwrap());
    let mut w = f;
    check_pace(&mut w, &rx, 2);
}

#[test]
fn pace_over_tcp_with_bad_checksums() {
    let s = sim(&["pace", "--listen", "tcp://127.0.0.1:0"]);
    let stream = TcpStream::connect(&s.listening).unwrap();
    let rx = reader(stream.try_clone().unwrap());
    let mut w = stream;
    check_pace(&mut w, &rx, 1);
    w.shutdown(std::net::Shutdown::Both).unwrap();

    let s = sim(&[
        "pace",
        "--listen",
        "tcp://127.0.0.1:0",
        "--fault",
        "bad-checksum",
    ]);
    let stream = TcpStream::connect(&s.listening).unwrap();
    let rx = reader(stream.try_clone().unwrap());
    let mut w = stream;
    let req = voltwire_pace::Request::new(
        1,
        voltwire_pace::RequestBody::Analog(voltwire_pace::Target::Pack(1)),
    );
    w.write_all(&req.to_frame().unwrap().to_bytes()).unwrap();
    // Until the reply's CR is in: then the scanner has a verdict.
    let bytes = collect_until(&rx, |b| b.contains(&b'\r'));
    let voltwire_asciihex::Found::Corrupt { error, .. } = voltwire_asciihex::scan_frame(&bytes)
    else {
        panic!("{}", String::from_utf8_lossy(&bytes))
    };
    assert_eq!(error.kind(), voltwire_core::ErrorKind::Checksum);
}
