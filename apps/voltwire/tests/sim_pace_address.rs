//! `voltwire sim pace` answers as a real pack does: a lone pack at address 0x00 (its RS232
//! port), `--address` moving the packs, the configuration reads 0xD5/0xD7/0xD9/0xDB.

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

use voltwire_core::{Milliamps, Millivolts, StreamDecoder as _};
use voltwire_pace::{
    ConfigRead, Request, RequestBody, Response, ResponseBody, Target, VoltageKind,
};

mod sim_common;
use sim_common::{collect, collect_until, reader, sim};

fn decode(bytes: &[u8], req: &Request) -> Vec<Response> {
    let mut out = Vec::new();
    voltwire_asciihex::Decoder::new().feed_all(bytes, |item| {
        let r = Response::from_frame(&item.value.unwrap(), req.command());
        assert!(r.answers(req), "{r:?}");
        out.push(r);
    });
    out
}

fn query(w: &mut TcpStream, rx: &mpsc::Receiver<Vec<u8>>, req: &Request) -> Response {
    w.write_all(&req.to_frame().unwrap().to_bytes()).unwrap();
    w.flush().unwrap();
    let bytes = collect_until(rx, |b| !decode(b, req).is_empty());
    let mut r = decode(&bytes, req);
    assert_eq!(r.len(), 1, "{r:?}");
    r.remove(0)
}

#[test]
fn a_lone_pack_answers_at_zero_with_its_configuration() {
    let s = sim(&["pace", "--listen", "tcp://127.0.0.1:0", "--cells", "15"]);
    let mut w = TcpStream::connect(&s.listening).unwrap();
    let rx = reader(w.try_clone().unwrap());
    let r = query(
        &mut w,
        &rx,
        &Request::new(0, RequestBody::Analog(Target::All)),
    );
    let ResponseBody::Analog(a) = &r.body else {
        panic!("{r:?}")
    };
    assert_eq!(a.modules.len(), 1);
    assert_eq!(a.modules[0].cells.len(), 15);
    let read =
        |w: &mut TcpStream, c| query(w, &rx, &Request::new(0, RequestBody::ReadConfig(c))).body;
    let ResponseBody::Voltage(VoltageKind::PackOver, v) =
        read(&mut w, ConfigRead::Voltage(VoltageKind::PackOver))
    else {
        panic!()
    };
    assert_eq!(v.protect, Millivolts(15 * 3_650));
    let ResponseBody::Voltage(VoltageKind::PackUnder, v) =
        read(&mut w, ConfigRead::Voltage(VoltageKind::PackUnder))
    else {
        panic!()
    };
    assert_eq!(v.protect, Millivolts(15 * 2_800));
    let ResponseBody::ChargeOverCurrent(c) = read(&mut w, ConfigRead::ChargeOverCurrent) else {
        panic!()
    };
    assert_eq!(c.alarm, Milliamps(100_000));
    let ResponseBody::DischargeOverCurrent(c) = read(&mut w, ConfigRead::DischargeOverCurrent)
    else {
        panic!()
    };
    assert_eq!(c.alarm, Milliamps(-100_000));
}

#[test]
fn address_moves_the_packs() {
    let s = sim(&[
        "pace",
        "--listen",
        "tcp://127.0.0.1:0",
        "--modules",
        "2",
        "--address",
        "7",
    ]);
    let mut w = TcpStream::connect(&s.listening).unwrap();
    let rx = reader(w.try_clone().unwrap());
    // Nobody at 1 (or 0: two packs); 7 and 8 answer.
    for adr in [0, 1] {
        let req = Request::new(adr, RequestBody::ProtocolVersion);
        w.write_all(&req.to_frame().unwrap().to_bytes()).unwrap();
    }
    let r = query(&mut w, &rx, &Request::new(8, RequestBody::ProtocolVersion));
    assert_eq!(r.adr, 8, "the replies to 0 and 1 would have come first");
    let r = query(
        &mut w,
        &rx,
        &Request::new(7, RequestBody::Analog(Target::All)),
    );
    let ResponseBody::Analog(a) = &r.body else {
        panic!("{r:?}")
    };
    assert_eq!(a.modules.len(), 2);
    assert!(collect(&rx, std::time::Duration::from_millis(200)).is_empty());
}

#[test]
fn an_address_out_of_range_is_refused_naming_the_option() {
    for args in [
        &["--address", "0"][..],
        &["--address", "15", "--modules", "2"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_voltwire"))
            .args(["sim", "pace", "--listen", "pty"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--address"), "{err}");
    }
}
