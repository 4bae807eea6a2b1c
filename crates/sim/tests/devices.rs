//! Every simulator, asked through the protocol crate's master-side encoder, answers with
//! values the protocol crate's decoder reads back equal to the plant's.

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
use voltwire_core::{
    DeciCelsius, DeciKelvin, MilliampHours, Milliamps, Millivolts, Permille, Watts,
};
use voltwire_daly::{Command, Request as DalyRequest, Response as DalyResponse};
use voltwire_pylontech::can::{CanMessage as _, InverterRequest, Message as CanMessage};
use voltwire_pylontech::rs485::{Request, RequestBody, ResponseBody, Target};
use voltwire_sim::device::{DalyBms, PylontechCanBms, PylontechStack, VeDirect, VeDirectKind};
use voltwire_sim::{
    CanFrame, CanResponder as _, Flows, PackConfig, Plant, PlantCommand, SerialResponder as _,
};
use voltwire_victron::hex::{self, register::id};
use voltwire_victron::text::Message;

/// A 16-cell pack charging at about 1 kW, stepped a little so the current is real.
fn charging_plant() -> Plant {
    let mut p = Plant::single(16, 0.6);
    p.flows = Flows {
        charge: Watts(1_000),
        ..Flows::default()
    };
    p.step(Duration::from_secs(1));
    p
}

fn round(v: i32, step: i32) -> i32 {
    (f64::from(v) / f64::from(step)).round() as i32 * step
}

#[test]
fn daly_pack_status_matches_plant() {
    let plant = charging_plant();
    let pack = plant.pack(0).unwrap();
    let mut bms = DalyBms::new(0);
    let r = daly(&mut bms, &plant, DalyRequest::read(Command::PACK_STATUS));
    let [Ok(DalyResponse::PackStatus(s))] = r.as_slice() else {
        panic!("{r:?}")
    };
    assert_eq!(s.voltage, Millivolts(round(pack.voltage().0, 100)));
    assert_eq!(s.current, Milliamps(round(pack.current().0, 100)));
    assert!(
        s.current.0 > 15_000,
        "charging is positive: {:?}",
        s.current
    );
    assert_eq!(s.soc, pack.soc());
}

#[test]
fn daly_cell_voltages_span_frames() {
    let plant = charging_plant();
    let cells = plant.pack(0).unwrap().cell_voltages();
    let mut bms = DalyBms::new(0);
    let r = daly(&mut bms, &plant, DalyRequest::read(Command::CELL_VOLTAGES));
    assert_eq!(r.len(), 6, "16 cells, 3 per frame");
    let mut got = Vec::new();
    for (i, f) in r.iter().enumerate() {
        let Ok(DalyResponse::CellVoltages(c)) = f else {
            panic!("{f:?}")
        };
        assert_eq!(usize::from(c.frame), i + 1);
        got.extend_from_slice(&c.voltages);
    }
    assert_eq!(&got[..16], cells.as_slice());
    assert_eq!(&got[16..], &[Millivolts(0), Millivolts(0)]);

    let r = daly(&mut bms, &plant, DalyRequest::read(Command::TEMPERATURES));
    let [Ok(DalyResponse::Temperatures(t))] = r.as_slice() else {
        panic!("{r:?}")
    };
    for (got, want) in t
        .temperatures
        .iter()
        .zip(plant.pack(0).unwrap().temperatures())
    {
        assert_eq!(got.0, round(i32::from(want.0), 10) as i16);
    }

    let r = daly(
        &mut bms,
        &plant,
        DalyRequest::read(Command::CELL_VOLTAGE_RANGE),
    );
    let [Ok(DalyResponse::CellVoltageRange(range))] = r.as_slice() else {
        panic!()
    };
    assert_eq!(range.max, *cells.iter().max().unwrap());
    assert_eq!(range.min, *cells.iter().min().unwrap());
    assert_eq!(cells[usize::from(range.max_cell) - 1], range.max);

    let r = daly(&mut bms, &plant, DalyRequest::read(Command::STATUS_INFO));
    let [Ok(DalyResponse::StatusInfo(s))] = r.as_slice() else {
        panic!()
    };
    assert_eq!((s.cell_count, s.temperature_sensor_count), (16, 4));
    assert!(s.charger.is_on());

    let r = daly(
        &mut bms,
        &plant,
        DalyRequest::read(Command::RATED_PARAMETERS),
    );
    let [Ok(DalyResponse::RatedParameters(p))] = r.as_slice() else {
        panic!()
    };
    assert_eq!(p.rated_capacity, MilliampHours(100_000));

    let r = daly(
        &mut bms,
        &plant,
        DalyRequest::read(Command::SOFTWARE_VERSION),
    );
    assert_eq!(r.len(), 2);
}

#[test]
fn daly_mosfet_write_changes_state_and_plant() {
    let mut plant = charging_plant();
    let mut bms = DalyBms::new(0);
    let r = daly(&mut bms, &plant, DalyRequest::ChargeMosfet { on: false });
    let [Ok(DalyResponse::ChargeMosfet(ack))] = r.as_slice() else {
        panic!("{r:?}")
    };
    assert_eq!(ack.status, 0);
    assert!(!bms.charge_mosfet());
    let r = daly(&mut bms, &plant, DalyRequest::read(Command::MOSFET_STATUS));
    let [Ok(DalyResponse::MosfetStatus(m))] = r.as_slice() else {
        panic!()
    };
    assert!(!m.charge_mosfet.is_on());
    assert!(m.discharge_mosfet.is_on());

    let mut cmds = Vec::new();
    bms.drain_commands(&mut cmds);
    assert_eq!(cmds, [PlantCommand::ChargeEnabled { pack: 0, on: false }]);
    for c in cmds {
        c.apply(&mut plant);
    }
    plant.step(Duration::from_secs(1));
    assert_eq!(
        plant.pack(0).unwrap().current(),
        Milliamps(0),
        "charge path is open"
    );
}

#[test]
fn pylontech_analog_of_every_module() {
    let mut plant = Plant::new(vec![
        PackConfig {
            initial_soc: 0.4,
            ..PackConfig::default()
        },
        PackConfig {
            initial_soc: 0.7,
            cells: 15,
            ..PackConfig::default()
        },
    ]);
    plant.flows.discharge = Watts(2_000);
    plant.step(Duration::from_secs(1));
    let mut stack = PylontechStack::new();
    let r = pylon(
        &mut stack,
        &plant,
        &Request::new(2, RequestBody::Analog(Target::All)),
    );
    let [Ok(resp)] = r.as_slice() else {
        panic!("{r:?}")
    };
    assert!(resp.rtn.is_ok());
    let ResponseBody::Analog(a) = &resp.body else {
        panic!("{resp:?}")
    };
    assert_eq!(a.modules.len(), 2);
    for (m, p) in a.modules.iter().zip(plant.packs()) {
        assert_eq!(m.cells.as_slice(), p.cell_voltages().as_slice());
        assert_eq!(m.voltage, p.voltage());
        assert_eq!(m.current, Milliamps(round(p.current().0, 100)));
        assert!(m.current.0 < 0, "discharging is negative");
        assert_eq!(m.remaining(), p.remaining());
        assert_eq!(m.total(), MilliampHours(100_000));
        let want: Vec<DeciKelvin> = p
            .temperatures()
            .iter()
            .map(|t| DeciKelvin(i32::from(t.0) + 2731))
            .collect();
        assert_eq!(m.temperatures.as_slice(), want.as_slice());
    }

    // One module at its own address.
    let r = pylon(
        &mut stack,
        &plant,
        &Request::new(3, RequestBody::Analog(Target::Module(3))),
    );
    let [Ok(resp)] = r.as_slice() else {
        panic!("{r:?}")
    };
    let ResponseBody::Analog(a) = &resp.body else {
        panic!()
    };
    assert_eq!(a.modules[0].cells.len(), 15);
    assert!(resp.answers(&Request::new(3, RequestBody::Analog(Target::Module(3)))));

    // A missing address stays silent.
    assert!(
        pylon(
            &mut stack,
            &plant,
            &Request::new(9, RequestBody::Analog(Target::Module(9)))
        )
        .is_empty()
    );
}

#[test]
fn pylontech_stack_commands() {
    let plant = charging_plant();
    let mut stack = PylontechStack::new();
    for body in [
        RequestBody::Alarm(Target::All),
        RequestBody::SystemParameters(None),
        RequestBody::ProtocolVersion,
        RequestBody::Manufacturer,
        RequestBody::SystemInfo,
        RequestBody::SystemAnalog,
        RequestBody::SystemAlarm,
        RequestBody::SystemManagement,
        RequestBody::Management(2),
        RequestBody::Serial(Some(2)),
    ] {
        let req = Request::new(2, body.clone());
        let r = pylon(&mut stack, &plant, &req);
        let [Ok(resp)] = r.as_slice() else {
            panic!("{body:?}: {r:?}")
        };
        assert!(resp.rtn.is_ok(), "{body:?}");
        assert!(resp.answers(&req), "{body:?}: {resp:?}");
        assert!(
            !matches!(resp.body, ResponseBody::Undecoded { .. }),
            "{body:?}: {resp:?}"
        );
        match &resp.body {
            ResponseBody::SystemAnalog(s) => {
                let p = plant.pack(0).unwrap();
                assert_eq!(s.current, Milliamps(round(p.current().0, 10)));
                assert_eq!(i32::from(s.soc_percent), (i32::from(p.soc().0) + 5) / 10);
            }
            ResponseBody::SystemManagement(m) => {
                assert_eq!(m.charge_voltage_limit, Millivolts(16 * 3_550));
                assert_ne!(m.status.0 & 0x80, 0, "charge enabled");
            }
            ResponseBody::Alarm(a) => assert_eq!(a.modules[0].state[0], 0),
            _ => {}
        }
    }
    // An unknown command: RTN 0x04.
    let req = Request::new(
        2,
        RequestBody::Other {
            cid2: 0x99,
            info: Default::default(),
        },
    );
    let r = pylon(&mut stack, &plant, &req);
    let [Ok(resp)] = r.as_slice() else {
        panic!("{r:?}")
    };
    assert!(!resp.rtn.is_ok());
}

#[test]
fn vedirect_shunt_text_every_second() {
    let mut plant = Plant::single(16, 0.8);
    plant.flows.discharge = Watts(1_500);
    plant.step(Duration::from_secs(1));
    let mut shunt = VeDirect::new(VeDirectKind::SmartShunt);
    let mut out = Vec::new();
    for ms in (0..=2_500).step_by(100) {
        shunt.tick(Duration::from_millis(ms), &plant, &mut out);
    }
    let items = vedirect(&out);
    assert_eq!(items.len(), 3, "t = 0, 1, 2 s");
    let Ok(Message::Record(r)) = &items[0] else {
        panic!("{items:?}")
    };
    let p = plant.pack(0).unwrap();
    assert_eq!(r.product_id(), Some(0xA389));
    assert_eq!(
        r.battery_voltage(),
        Some(Millivolts(round(p.voltage().0, 10)))
    );
    assert_eq!(r.battery_current(), Some(p.current()));
    assert!(p.current().0 < 0);
    assert_eq!(r.soc(), Some(p.soc()));
    assert_eq!(r.consumed(), Some(MilliampHours(p.remaining().0 - 100_000)));
    assert_eq!(r.alarm(), Some(false));
}

#[test]
fn vedirect_mppt_text_and_hex() {
    let mut plant = Plant::single(16, 0.3);
    plant.flows.mppt_pv = Watts(800);
    plant.step(Duration::from_secs(1));
    let mut mppt = VeDirect::new(VeDirectKind::Mppt);
    let mut out = Vec::new();
    mppt.tick(Duration::ZERO, &plant, &mut out);
    let items = vedirect(&out);
    let [Ok(Message::Record(r))] = items.as_slice() else {
        panic!("{items:?}")
    };
    assert_eq!(r.product_id(), Some(0xA060));
    assert_eq!(r.panel_power(), Some(Watts(800)));
    let i = r.battery_current().unwrap();
    let v = r.battery_voltage().unwrap();
    assert!(
        (f64::from(i.0) * f64::from(v.0) / 1e6 - 800.0).abs() < 10.0,
        "{i:?} {v:?}"
    );

    // HEX Ping.
    let items = vedirect_hex(&mut mppt, &plant, &hex::Request::Ping);
    let [Ok(Message::Hex(f))] = items.as_slice() else {
        panic!("{items:?}")
    };
    assert!(matches!(
        hex::Response::from_frame(f).unwrap(),
        hex::Response::Ping(_)
    ));

    // Get the battery voltage.
    let items = vedirect_hex(
        &mut mppt,
        &plant,
        &hex::Request::get(id::DC_CHANNEL1_VOLTAGE),
    );
    let [Ok(Message::Hex(f))] = items.as_slice() else {
        panic!("{items:?}")
    };
    let hex::Response::Get(d) = hex::Response::from_frame(f).unwrap() else {
        panic!()
    };
    assert!(d.flags.is_ok());
    let reading = *d.decode().unwrap().reading().unwrap();
    assert_eq!(reading.millivolts(), Some(v));

    // Set the max charge current, read it back.
    let set = hex::Request::set(id::BATTERY_MAX_CURRENT, &[0x96, 0x00]).unwrap();
    let items = vedirect_hex(&mut mppt, &plant, &set);
    let [Ok(Message::Hex(f))] = items.as_slice() else {
        panic!("{items:?}")
    };
    let resp = hex::Response::from_frame(f).unwrap();
    assert!(resp.answers(&set), "{resp:?}");
    assert!(resp.register_data().unwrap().flags.is_ok());
    assert_eq!(
        mppt.setting(id::BATTERY_MAX_CURRENT),
        Some(&[0x96, 0x00][..])
    );

    // An unknown register.
    let items = vedirect_hex(&mut mppt, &plant, &hex::Request::get(0x1234));
    let [Ok(Message::Hex(f))] = items.as_slice() else {
        panic!("{items:?}")
    };
    let hex::Response::Get(d) = hex::Response::from_frame(f).unwrap() else {
        panic!()
    };
    assert!(!d.flags.is_ok());
}

#[test]
fn vedirect_shunt_hex_soc() {
    let plant = charging_plant();
    let mut shunt = VeDirect::new(VeDirectKind::SmartShunt);
    let items = vedirect_hex(&mut shunt, &plant, &hex::Request::get(id::SOC));
    let [Ok(Message::Hex(f))] = items.as_slice() else {
        panic!("{items:?}")
    };
    let hex::Response::Get(d) = hex::Response::from_frame(f).unwrap() else {
        panic!()
    };
    let reading = *d.decode().unwrap().reading().unwrap();
    assert_eq!(reading.raw, i64::from(plant.pack(0).unwrap().soc().0) * 10);
}

fn can_messages(frames: &[CanFrame]) -> Vec<CanMessage> {
    frames
        .iter()
        .map(|f| CanMessage::from_frame(f).unwrap())
        .collect()
}

#[test]
fn pylontech_can_burst_every_second_and_on_0x305() {
    let plant = charging_plant();
    let p = plant.pack(0).unwrap();
    let mut bms = PylontechCanBms::new();
    let mut out = Vec::new();
    bms.tick(Duration::ZERO, &plant, &mut out);
    bms.tick(Duration::from_millis(500), &plant, &mut out);
    assert_eq!(out.len(), 6);
    bms.tick(Duration::from_millis(1_000), &plant, &mut out);
    assert_eq!(out.len(), 12);

    let msgs = can_messages(&out[..6]);
    let ids: Vec<u16> = msgs.iter().map(CanMessage::id).collect();
    assert_eq!(ids, [0x359, 0x351, 0x355, 0x356, 0x35C, 0x35E]);
    for m in &msgs {
        match m {
            CanMessage::Measurements(m) => {
                assert_eq!(m.voltage, Millivolts(round(p.voltage().0, 10)));
                assert_eq!(m.current, Milliamps(round(p.current().0, 100)));
                assert!(m.current.0 > 0);
            }
            CanMessage::SocSoh(s) => {
                assert_eq!(s.soc, Permille(round(i32::from(p.soc().0), 10) as i16));
            }
            CanMessage::Alarms(a) => assert_eq!(a.protection.0, 0),
            CanMessage::Limits(l) => {
                assert_eq!(l.charge_current, Milliamps(50_000));
                assert_eq!(l.charge_voltage, Millivolts(56_800));
            }
            CanMessage::Request(r) => assert!(r.flags.charge_enable()),
            _ => {}
        }
    }

    let mut out = Vec::new();
    let req: CanFrame = InverterRequest::zeros().to_frame().unwrap();
    bms.on_frame(&req, NOW, &plant, &mut out);
    assert_eq!(out.len(), 6);
    let _ = DeciCelsius(0);
}
