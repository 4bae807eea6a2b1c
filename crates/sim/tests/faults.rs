//! Each fault changes the simulators' output as specified.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::cast_possible_truncation,
    clippy::many_single_char_names,
    clippy::large_stack_arrays,
    clippy::default_trait_access,
    clippy::duration_suboptimal_units,
    missing_docs,
    reason = "test code (Duration::from_hours is newer than the MSRV)"
)]

mod common;

use std::time::Duration;

use common::{NOW, daly, pylon, vedirect, vedirect_hex};
use voltwire_core::{ErrorKind, StreamDecoder as _};
use voltwire_daly::{Command, Failure, Request as DalyRequest, Response as DalyResponse};
use voltwire_pylontech::can::{CanMessage as _, Message as CanMessage, Protection};
use voltwire_pylontech::rs485::{Request, RequestBody, ResponseBody, Target, alarm_state};
use voltwire_sim::device::{DalyBms, PylontechCanBms, PylontechStack, VeDirect, VeDirectKind};
use voltwire_sim::{CanResponder, Faults, Plant, SerialResponder};
use voltwire_victron::hex;

fn plant() -> Plant {
    Plant::single(16, 0.5)
}

fn serial_devices() -> Vec<Box<dyn SerialResponder>> {
    vec![
        Box::new(DalyBms::new(0)),
        Box::new(PylontechStack::new()),
        Box::new(VeDirect::new(VeDirectKind::Mppt)),
        Box::new(VeDirect::new(VeDirectKind::SmartShunt)),
    ]
}

/// A request each serial device answers, built with its crate's encoder.
fn request_for(i: usize) -> Vec<u8> {
    match i {
        0 => {
            let mut tx = [0u8; 13];
            DalyRequest::read(Command::PACK_STATUS)
                .emit(0x40, &mut tx)
                .unwrap();
            tx.to_vec()
        }
        1 => {
            let f = Request::new(2, RequestBody::Analog(Target::Module(2)))
                .to_frame()
                .unwrap();
            let mut tx = vec![0u8; 64];
            let n = voltwire_core::Emit::emit(&f, &mut tx).unwrap();
            tx.truncate(n);
            tx
        }
        _ => hex::Request::Ping.to_frame().unwrap().to_line().to_vec(),
    }
}

#[test]
fn silent_devices_send_nothing() {
    let p = plant();
    for (i, mut d) in serial_devices().into_iter().enumerate() {
        let mut out = Vec::new();
        d.on_bytes(&request_for(i), NOW, &p, &mut out);
        d.tick(NOW, &p, &mut out);
        assert!(!out.is_empty(), "device {i} answers when healthy");
        d.faults_mut().silent = true;
        let mut out = Vec::new();
        d.on_bytes(&request_for(i), NOW, &p, &mut out);
        d.tick(NOW + Duration::from_secs(5), &p, &mut out);
        assert!(out.is_empty(), "device {i}: {out:?}");
    }
    let mut can = PylontechCanBms::new();
    can.faults_mut().silent = true;
    let mut out = Vec::new();
    can.tick(NOW, &p, &mut out);
    assert!(out.is_empty());
}

#[test]
fn delay_and_drop_port_are_visible_to_the_io_layer() {
    for mut d in serial_devices() {
        *d.faults_mut() = Faults {
            delay: Duration::from_millis(750),
            drop_port: true,
            ..Faults::default()
        };
        assert_eq!(d.faults().delay, Duration::from_millis(750));
        assert!(d.faults().drop_port);
    }
}

#[test]
fn bad_checksums_are_reported_by_the_decoders() {
    let p = plant();
    // Daly.
    let mut bms = DalyBms::new(0);
    bms.faults_mut().bad_checksum = true;
    let r = daly(&mut bms, &p, DalyRequest::read(Command::PACK_STATUS));
    let [Err(e)] = r.as_slice() else {
        panic!("{r:?}")
    };
    assert_eq!(e.kind(), ErrorKind::Checksum);

    // Pylontech RS485.
    let mut stack = PylontechStack::new();
    stack.faults_mut().bad_checksum = true;
    let r = pylon(
        &mut stack,
        &p,
        &Request::new(2, RequestBody::Analog(Target::All)),
    );
    assert!(
        matches!(r.as_slice(), [Err(e)] if e.kind() == ErrorKind::Checksum),
        "the stream decoder reports the corrupt frame: {r:?}"
    );
    let mut out = Vec::new();
    stack.on_bytes(&request_for(1), NOW, &p, &mut out);
    let voltwire_asciihex::Found::Corrupt {
        skip: 0,
        len,
        error,
    } = voltwire_asciihex::scan_frame(&out)
    else {
        panic!("{}", String::from_utf8_lossy(&out))
    };
    assert_eq!(len, out.len());
    assert_eq!(error.kind(), ErrorKind::Checksum);
    assert_eq!(error.code(), "checksum");

    // VE.Direct TEXT and HEX.
    let mut shunt = VeDirect::new(VeDirectKind::SmartShunt);
    shunt.faults_mut().bad_checksum = true;
    let mut out = Vec::new();
    shunt.tick(Duration::ZERO, &p, &mut out);
    let items = vedirect(&out);
    assert!(!items.is_empty());
    assert!(
        items
            .iter()
            .any(|i| matches!(i, Err(e) if e.kind() == ErrorKind::Checksum)),
        "{items:?}"
    );
    assert!(items.iter().all(Result::is_err));
    let items = vedirect_hex(&mut shunt, &p, &hex::Request::Ping);
    let [Err(e)] = items.as_slice() else {
        panic!("{items:?}")
    };
    assert_eq!(e.kind(), ErrorKind::Checksum);
}

#[test]
fn garbage_decodes_to_nothing() {
    let p = plant();
    for (i, mut d) in serial_devices().into_iter().enumerate() {
        d.faults_mut().garbage = true;
        let mut out = Vec::new();
        d.on_bytes(&request_for(i), NOW, &p, &mut out);
        d.tick(NOW, &p, &mut out);
        assert!(!out.is_empty(), "device {i} sends garbage");
        let decoded = match i {
            0 => {
                let mut dec = voltwire_daly::Decoder::new();
                let mut n = 0;
                dec.feed_all(&out, |_| n += 1);
                n
            }
            1 => common::pylon_decode(&out, 0x42).len(),
            _ => vedirect(&out).into_iter().flatten().count(),
        };
        assert_eq!(decoded, 0, "device {i}");
    }
    let mut can = PylontechCanBms::new();
    can.faults_mut().garbage = true;
    let mut out = Vec::new();
    can.tick(NOW, &p, &mut out);
    assert_eq!(out.len(), 6);
    let mut healthy = Vec::new();
    PylontechCanBms::new().tick(NOW, &p, &mut healthy);
    for (f, h) in out.iter().zip(&healthy) {
        assert_eq!(f.id(), h.id());
        assert_ne!(f.data(), h.data());
        if [0x351, 0x355, 0x356, 0x359].contains(&f.id()) {
            assert!(CanMessage::from_frame(f).is_err(), "{f:?}");
        }
    }
}

#[test]
fn cell_over_voltage_sets_the_bms_flags() {
    let p = plant();
    let faults = Faults {
        cell_over_voltage: true,
        ..Faults::default()
    };
    // Daly: 0x98 failure bits and the cell voltage.
    let mut bms = DalyBms::new(0);
    let r = daly(&mut bms, &p, DalyRequest::read(Command::FAILURES));
    let [Ok(DalyResponse::Failures(f))] = r.as_slice() else {
        panic!()
    };
    assert!(f.flags.is_empty());
    *bms.faults_mut() = faults;
    let r = daly(&mut bms, &p, DalyRequest::read(Command::FAILURES));
    let [Ok(DalyResponse::Failures(f))] = r.as_slice() else {
        panic!()
    };
    assert!(f.flags.contains(Failure::CellVoltageHighL2));
    let r = daly(&mut bms, &p, DalyRequest::read(Command::CELL_VOLTAGE_RANGE));
    let [Ok(DalyResponse::CellVoltageRange(c))] = r.as_slice() else {
        panic!()
    };
    assert_eq!((c.max.0, c.max_cell), (Faults::OVER_VOLTAGE, 1));
    let r = daly(&mut bms, &p, DalyRequest::read(Command::MOSFET_STATUS));
    let [Ok(DalyResponse::MosfetStatus(m))] = r.as_slice() else {
        panic!()
    };
    assert!(!m.charge_mosfet.is_on(), "charging stopped on over-voltage");

    // Pylontech RS485: cell 1 above limit, status 1 module over-voltage, charge disabled.
    let mut stack = PylontechStack::new();
    *stack.faults_mut() = faults;
    let r = pylon(
        &mut stack,
        &p,
        &Request::new(2, RequestBody::Alarm(Target::Module(2))),
    );
    let [Ok(resp)] = r.as_slice() else {
        panic!("{r:?}")
    };
    let ResponseBody::Alarm(a) = &resp.body else {
        panic!("{resp:?}")
    };
    assert_eq!(a.modules[0].cells[0], alarm_state::ABOVE);
    assert_eq!(a.modules[0].cells[1], alarm_state::NORMAL);
    assert_ne!(a.modules[0].state[0] & 0x01, 0);
    let r = pylon(
        &mut stack,
        &p,
        &Request::new(2, RequestBody::SystemManagement),
    );
    let [Ok(resp)] = r.as_slice() else { panic!() };
    let ResponseBody::SystemManagement(m) = &resp.body else {
        panic!()
    };
    assert_eq!(m.status.0 & 0x80, 0);

    // Pylontech CAN: 0x359 over-voltage protection, 0x351 charge current 0.
    let mut can = PylontechCanBms::new();
    *can.faults_mut() = faults;
    let mut out = Vec::new();
    can.tick(NOW, &p, &mut out);
    let msgs: Vec<CanMessage> = out
        .iter()
        .map(|f| CanMessage::from_frame(f).unwrap())
        .collect();
    let Some(CanMessage::Alarms(a)) = msgs.iter().find(|m| m.id() == 0x359) else {
        panic!()
    };
    assert!(a.protection.contains(Protection::OVER_VOLTAGE));
    let Some(CanMessage::Limits(l)) = msgs.iter().find(|m| m.id() == 0x351) else {
        panic!()
    };
    assert_eq!(l.charge_current.0, 0);

    // SmartShunt: alarm on, high-voltage reason.
    let mut shunt = VeDirect::new(VeDirectKind::SmartShunt);
    *shunt.faults_mut() = faults;
    let mut out = Vec::new();
    shunt.tick(Duration::ZERO, &p, &mut out);
    let items = vedirect(&out);
    let Ok(voltwire_victron::text::Message::Record(r)) = &items[0] else {
        panic!()
    };
    assert_eq!(r.alarm(), Some(true));
}

#[test]
fn over_temperature_sets_the_bms_flags() {
    let p = plant();
    let faults = Faults {
        over_temperature: true,
        ..Faults::default()
    };
    let mut bms = DalyBms::new(0);
    *bms.faults_mut() = faults;
    let r = daly(&mut bms, &p, DalyRequest::read(Command::FAILURES));
    let [Ok(DalyResponse::Failures(f))] = r.as_slice() else {
        panic!()
    };
    assert!(f.flags.contains(Failure::ChargeTemperatureHighL2));
    assert!(!f.flags.contains(Failure::CellVoltageHighL2));

    let mut stack = PylontechStack::new();
    *stack.faults_mut() = faults;
    let r = pylon(&mut stack, &p, &Request::new(2, RequestBody::SystemAlarm));
    let [Ok(resp)] = r.as_slice() else { panic!() };
    let ResponseBody::SystemAlarm(a) = &resp.body else {
        panic!()
    };
    assert_ne!(a.protection_1 & 0x08, 0);

    let mut can = PylontechCanBms::new();
    *can.faults_mut() = faults;
    let mut out = Vec::new();
    can.tick(NOW, &p, &mut out);
    let a = voltwire_pylontech::can::Alarms::from_frame(&out[0]).unwrap();
    assert!(a.protection.contains(Protection::OVER_TEMPERATURE));
    assert!(!a.protection.contains(Protection::OVER_VOLTAGE));
}
