//! The JK, Pace and Meanwell simulators, asked through the protocol crate's master-side
//! encoder, answer with values the protocol crate's decoder reads back equal to the plant's.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::cast_possible_truncation,
    clippy::large_stack_arrays,
    clippy::many_single_char_names,
    clippy::too_many_lines,
    missing_docs,
    reason = "test code"
)]

use std::time::Duration;

use voltwire_core::{Emit as _, ErrorKind, Milliamps, Millivolts, StreamDecoder as _, Watts};
use voltwire_sim::device::{JkBms, MeanwellPsu, PaceStack};
use voltwire_sim::{
    BmsView, CanFrame, CanResponder, Faults, Flows, PackConfig, Plant, PlantCommand,
    SerialResponder,
};

const NOW: Duration = Duration::from_secs(10);

fn plant(charge: i32, discharge: i32) -> Plant {
    let mut p = Plant::single(16, 0.6);
    p.flows = Flows {
        charge: Watts(charge),
        discharge: Watts(discharge),
        ..Flows::default()
    };
    p.step(Duration::from_secs(1));
    p
}

fn round(v: i32, step: i32) -> i32 {
    (f64::from(v) / f64::from(step)).round() as i32 * step
}

/// Send `req` (built with voltwire-jk) and return the raw reply bytes.
fn jk_raw(bms: &mut impl SerialResponder, p: &Plant, req: &voltwire_jk::Message) -> Vec<u8> {
    let mut tx = vec![0u8; req.buffer_len()];
    let n = req.emit(&mut tx).unwrap();
    let mut out = Vec::new();
    bms.on_bytes(&tx[..n], NOW, p, &mut out);
    out
}

/// Send `req`, decode the replies with the streaming decoder.
fn jk(
    bms: &mut impl SerialResponder,
    p: &Plant,
    req: &voltwire_jk::Message,
) -> Vec<voltwire_jk::Message> {
    let out = jk_raw(bms, p, req);
    let mut d = voltwire_jk::JkDecoder::new();
    let mut replies = Vec::new();
    d.feed_all(&out, |i| replies.push(i.value.unwrap()));
    assert_eq!(d.dropped_bytes(), 0);
    replies
}

fn check_jk_record(r: &voltwire_jk::Record, p: &Plant, faults: &Faults) {
    let v = BmsView::of(p, 0, faults).unwrap();
    let cells: Vec<Millivolts> = r.cell_voltages().collect();
    assert_eq!(cells, v.cells);
    let indices: Vec<u8> = r.cells.as_ref().unwrap().iter().map(|c| c.index).collect();
    assert_eq!(indices, (1..=16).collect::<Vec<u8>>());
    assert_eq!(r.cell_count, Some(16));
    assert_eq!(r.pack_voltage, Some(Millivolts(round(v.voltage.0, 10))));
    assert_eq!(r.current(), Some(Milliamps(round(v.current.0, 10))));
    assert_eq!(
        r.soc_percent.map(i32::from),
        Some(round(i32::from(v.soc.0), 10) / 10)
    );
    assert_eq!(r.cycle_count, Some(v.cycles));
    let temps = [
        r.mosfet_temperature,
        r.box_temperature,
        r.battery_temperature,
    ];
    for (got, want) in temps.iter().zip(&v.temperatures) {
        assert_eq!(
            got.unwrap().deci_celsius().unwrap().0,
            round(i32::from(want.0), 10) as i16
        );
    }
}

#[test]
fn jk_read_all_matches_plant_charging_and_discharging() {
    for (charge, discharge) in [(1_000, 0), (0, 1_500)] {
        let p = plant(charge, discharge);
        let mut bms = JkBms::new(0);
        let r = jk(&mut bms, &p, &voltwire_jk::Message::read_all());
        let [m] = r.as_slice() else { panic!("{r:?}") };
        assert_eq!(m.header.command, voltwire_jk::Command::ReadAll);
        assert_eq!(m.header.transport, voltwire_jk::Transport::Reply);
        let rec = m.record().unwrap();
        assert!(rec.rest.is_empty(), "every ID typed: {:?}", rec.rest);
        check_jk_record(rec, &p, &Faults::default());
        let current = rec.current().unwrap().0;
        if charge > 0 {
            assert!(current > 15_000, "charging is positive: {current}");
        } else {
            assert!(current < -20_000, "discharging is negative: {current}");
        }
        let status = rec.status.unwrap();
        assert!(status.charge_mos_on() && status.discharge_mos_on());
        assert_eq!(rec.warnings, Some(voltwire_jk::Warnings(0)));
        assert_eq!(
            rec.capacity_setting,
            Some(p.pack(0).unwrap().config().capacity)
        );
    }
}

#[test]
fn jk_read_id_zero_answers_like_mpp_solar_expects() {
    let p = plant(1_000, 0);
    let mut bms = JkBms::new(0);
    let r = jk(&mut bms, &p, &voltwire_jk::Message::read(0));
    let [m] = r.as_slice() else { panic!("{r:?}") };
    check_jk_record(m.record().unwrap(), &p, &Faults::default());
}

#[test]
fn jk_read_of_one_id_answers_that_field_alone() {
    let p = plant(1_000, 0);
    let mut bms = JkBms::new(0);
    let all = jk(&mut bms, &p, &voltwire_jk::Message::read_all());
    let all = all[0].record().unwrap().clone();
    // SOC (0x85), cycles (0x87) and the cell block (0x79), each alone and as in read-all.
    let r = jk(&mut bms, &p, &voltwire_jk::Message::read(0x85));
    let soc = r[0].record().unwrap();
    assert_eq!(soc.soc_percent, all.soc_percent);
    assert!(soc.soc_percent.is_some());
    assert_eq!(soc.fields().count(), 1, "{soc:?}");
    assert!(soc.cells.is_none());
    let r = jk(&mut bms, &p, &voltwire_jk::Message::read(0x87));
    let cycles = r[0].record().unwrap();
    assert_eq!(cycles.cycle_count, all.cycle_count);
    assert_eq!(cycles.fields().count(), 1, "{cycles:?}");
    let r = jk(&mut bms, &p, &voltwire_jk::Message::read(0x79));
    let cells = r[0].record().unwrap();
    assert_eq!(cells.cells, all.cells);
    assert_eq!(cells.fields().count(), 0, "{cells:?}");
    // An ID the BMS has not: no answer.
    assert!(jk(&mut bms, &p, &voltwire_jk::Message::read(0x01)).is_empty());
}

#[test]
fn jk_faults_set_warnings_and_drop_mosfets() {
    let p = plant(1_000, 0);
    let mut bms = JkBms::new(0);
    bms.faults_mut().cell_over_voltage = true;
    bms.faults_mut().over_temperature = true;
    let faults = *bms.faults();
    let r = jk(&mut bms, &p, &voltwire_jk::Message::read_all());
    let rec = r[0].record().unwrap();
    check_jk_record(rec, &p, &faults);
    assert_eq!(
        rec.cells.as_ref().unwrap()[0].voltage,
        Millivolts(Faults::OVER_VOLTAGE)
    );
    let w = rec.warnings.unwrap();
    assert!(w.contains(voltwire_jk::Warnings::CELL_OVER_VOLTAGE));
    assert!(w.contains(voltwire_jk::Warnings::BATTERY_OVER_TEMPERATURE));
    assert!(!w.contains(voltwire_jk::Warnings::CELL_UNDER_VOLTAGE));
    assert_eq!(rec.battery_temperature.unwrap().celsius(), 70);
    let s = rec.status.unwrap();
    assert!(!s.charge_mos_on() && !s.discharge_mos_on(), "{s:?}");
}

#[test]
fn jk_bad_checksum_is_reported_by_the_decoder() {
    let p = plant(1_000, 0);
    let mut bms = JkBms::new(0);
    bms.faults_mut().bad_checksum = true;
    let out = jk_raw(&mut bms, &p, &voltwire_jk::Message::read_all());
    assert!(out.len() > 100);
    let e = voltwire_jk::Message::parse(&out).unwrap_err();
    assert!(matches!(e, voltwire_jk::Error::Checksum { .. }), "{e:?}");
    assert_eq!(e.kind(), ErrorKind::Checksum);
    let mut d = voltwire_jk::JkDecoder::new();
    let mut n = 0;
    d.feed_all(&out, |_| n += 1);
    if d.finish().is_some() {
        n += 1;
    }
    assert_eq!(n, 0, "the stream decoder drops a corrupt frame as noise");

    bms.faults_mut().bad_checksum = false;
    bms.faults_mut().silent = true;
    assert!(jk_raw(&mut bms, &p, &voltwire_jk::Message::read_all()).is_empty());
    bms.faults_mut().silent = false;
    bms.faults_mut().garbage = true;
    let out = jk_raw(&mut bms, &p, &voltwire_jk::Message::read_all());
    assert!(!out.is_empty());
    let mut d = voltwire_jk::JkDecoder::new();
    let mut n = 0;
    d.feed_all(&out, |_| n += 1);
    assert_eq!(n, 0);
}

#[test]
fn jk_mosfet_write_switches_and_commands_the_plant() {
    let mut p = plant(1_000, 0);
    let mut bms = JkBms::new(0);
    let mut rec = voltwire_jk::Record::new();
    rec.charge_mos_switch = Some(0);
    let r = jk(&mut bms, &p, &voltwire_jk::Message::write(rec.clone()));
    let [m] = r.as_slice() else { panic!("{r:?}") };
    assert_eq!(m.header.command, voltwire_jk::Command::Write);
    assert_eq!(m.record(), Some(&rec));
    assert!(!bms.charge_mosfet());
    let mut cmds = Vec::new();
    bms.drain_commands(&mut cmds);
    assert_eq!(cmds, [PlantCommand::ChargeEnabled { pack: 0, on: false }]);
    for c in cmds {
        c.apply(&mut p);
    }
    assert!(!p.pack(0).unwrap().charge_enabled);
    let r = jk(&mut bms, &p, &voltwire_jk::Message::read_all());
    let s = r[0].record().unwrap().status.unwrap();
    assert!(!s.charge_mos_on() && s.discharge_mos_on());
}

/// Send a Pace request (built with voltwire-pace); decode the replies as answers to it.
fn pace(
    bms: &mut impl SerialResponder,
    p: &Plant,
    req: &voltwire_pace::Request,
) -> Vec<voltwire_pace::Response> {
    let out = pace_raw(bms, p, req);
    let mut d = voltwire_asciihex::Decoder::new();
    let mut replies = Vec::new();
    d.feed_all(&out, |i| {
        let r = voltwire_pace::Response::from_frame(&i.value.unwrap(), req.command());
        assert!(r.answers(req), "{r:?}");
        replies.push(r);
    });
    replies
}

fn pace_raw(bms: &mut impl SerialResponder, p: &Plant, req: &voltwire_pace::Request) -> Vec<u8> {
    let tx = req.to_frame().unwrap().to_bytes();
    let mut out = Vec::new();
    bms.on_bytes(&tx, NOW, p, &mut out);
    out
}

fn two_packs() -> Plant {
    let mut p = Plant::new(vec![
        PackConfig {
            cells: 16,
            initial_soc: 0.6,
            ..PackConfig::default()
        },
        PackConfig {
            cells: 15,
            initial_soc: 0.4,
            ..PackConfig::default()
        },
    ]);
    p.flows = Flows {
        discharge: Watts(2_000),
        ..Flows::default()
    };
    p.step(Duration::from_secs(1));
    p
}

fn check_pace_pack(a: &voltwire_pace::PackAnalog, p: &Plant, i: usize) {
    let v = BmsView::of(p, i, &Faults::default()).unwrap();
    assert_eq!(a.cells.as_slice(), v.cells.as_slice());
    assert_eq!(a.voltage, v.voltage);
    assert_eq!(a.current, Milliamps(round(v.current.0, 10)));
    assert!(a.current.0 < 0, "discharging is negative: {a:?}");
    assert_eq!(a.cycles, v.cycles);
    assert_eq!(a.full_capacity, v.capacity);
    assert_eq!(a.extension, Some(v.capacity));
    assert_eq!(
        i64::from(round(v.remaining.0 as i32, 10)),
        a.remaining_capacity.0
    );
    assert_eq!(a.temperatures.len(), v.temperatures.len() + 2);
    for (k, t) in v.temperatures.iter().enumerate() {
        assert_eq!(a.temperature_celsius(k), Some(*t));
    }
}

#[test]
fn pace_analog_single_and_all_packs() {
    use voltwire_pace::{Request, RequestBody, ResponseBody, Target};
    let p = two_packs();
    let mut stack = PaceStack::new();
    for (adr, i) in [(1u8, 0usize), (2, 1)] {
        let r = pace(
            &mut stack,
            &p,
            &Request::new(adr, RequestBody::Analog(Target::Pack(adr))),
        );
        let [resp] = r.as_slice() else {
            panic!("{r:?}")
        };
        let ResponseBody::Analog(a) = &resp.body else {
            panic!("{resp:?}")
        };
        assert_eq!((a.command, a.modules.len()), (adr, 1));
        check_pace_pack(&a.modules[0], &p, i);
    }
    let r = pace(
        &mut stack,
        &p,
        &Request::new(1, RequestBody::Analog(Target::All)),
    );
    let [resp] = r.as_slice() else {
        panic!("{r:?}")
    };
    let ResponseBody::Analog(a) = &resp.body else {
        panic!("{resp:?}")
    };
    assert_eq!((a.command, a.modules.len()), (2, 2));
    check_pace_pack(&a.modules[0], &p, 0);
    check_pace_pack(&a.modules[1], &p, 1);
    // All packs only at the first address; another answers for itself; unknown addresses
    // stay silent.
    let r = pace(
        &mut stack,
        &p,
        &Request::new(2, RequestBody::Analog(Target::All)),
    );
    let ResponseBody::Analog(a) = &r[0].body else {
        panic!("{r:?}")
    };
    assert_eq!((a.command, a.modules.len()), (1, 1));
    check_pace_pack(&a.modules[0], &p, 1);
    assert!(
        pace(
            &mut stack,
            &p,
            &Request::new(3, RequestBody::Analog(Target::Pack(3)))
        )
        .is_empty()
    );
}

#[test]
fn pace_status_reports_faults() {
    use voltwire_pace::{Request, RequestBody, ResponseBody, Target, flags::warning};
    let p = two_packs();
    let mut stack = PaceStack::new();
    let r = pace(
        &mut stack,
        &p,
        &Request::new(1, RequestBody::Status(Target::All)),
    );
    let ResponseBody::Status(s) = &r[0].body else {
        panic!("{r:?}")
    };
    assert_eq!((s.command, s.modules.len()), (2, 2));
    assert_eq!(s.modules[0].cells.len(), 16);
    assert_eq!(s.modules[1].cells.len(), 15);
    for pk in &s.modules {
        assert!(pk.cells.iter().all(|w| *w == warning::NORMAL));
        assert_eq!(
            (
                pk.state.protect_1.0,
                pk.state.protect_2.0,
                pk.state.warn_1.0,
                pk.state.warn_2.0
            ),
            (0, 0, 0, 0)
        );
        assert_eq!(pk.state.system.0 & 0x06, 0x06, "both FETs on");
    }
    stack.faults_mut().cell_over_voltage = true;
    stack.faults_mut().over_temperature = true;
    let r = pace(
        &mut stack,
        &p,
        &Request::new(2, RequestBody::Status(Target::Pack(2))),
    );
    let ResponseBody::Status(s) = &r[0].body else {
        panic!("{r:?}")
    };
    let pk = &s.modules[0];
    assert_eq!(pk.cells[0], warning::ABOVE);
    assert!(
        pk.temperatures.iter().all(|w| *w == warning::ABOVE),
        "{pk:?}"
    );
    assert_eq!(pk.state.protect_1.0 & 0x01, 0x01);
    assert_eq!(pk.state.protect_2.0 & 0x03, 0x03);
    assert_eq!(pk.state.system.0 & 0x06, 0, "protection opens both FETs");
}

#[test]
fn pace_system_version_manufacturer_and_refusals() {
    use voltwire_pace::{Request, RequestBody, ResponseBody};
    let p = two_packs();
    let mut stack = PaceStack::new();
    let r = pace(
        &mut stack,
        &p,
        &Request::new(1, RequestBody::SystemParameters),
    );
    let ResponseBody::SystemParameters(sp) = &r[0].body else {
        panic!("{r:?}")
    };
    assert_eq!(i32::from(sp.values[0]), BmsView::CELL_OVER_VOLTAGE);
    let r = pace(
        &mut stack,
        &p,
        &Request::new(1, RequestBody::ProtocolVersion),
    );
    assert_eq!(r[0].body, ResponseBody::ProtocolVersion);
    assert_eq!(r[0].ver, voltwire_pace::VER);
    let r = pace(&mut stack, &p, &Request::new(2, RequestBody::Manufacturer));
    let ResponseBody::Manufacturer(m) = &r[0].body else {
        panic!("{r:?}")
    };
    assert_eq!(&m.device_name, b"VW-SIM-PAC");
    let r = pace(&mut stack, &p, &Request::new(1, RequestBody::PackCount));
    assert_eq!(r[0].body, ResponseBody::PackCount(2));
    // A command the simulator does not implement (shutting the pack down) is refused.
    let r = pace(&mut stack, &p, &Request::new(1, RequestBody::Shutdown(1)));
    assert_eq!(r[0].rtn, voltwire_pace::Rtn::InvalidCid2);
}

#[test]
fn pace_mosfet_switch_commands_the_plant() {
    use voltwire_pace::{MosfetSwitch, Request, RequestBody, ResponseBody, Target};
    let mut p = two_packs();
    let mut stack = PaceStack::new();
    let r = pace(
        &mut stack,
        &p,
        &Request::new(2, RequestBody::DischargeMosfet(MosfetSwitch::Off)),
    );
    let ResponseBody::ControlState { state, .. } = r[0].body else {
        panic!("{r:?}")
    };
    assert_eq!(state & 0x06, 0x02, "charge FET on, discharge off");
    let mut cmds = Vec::new();
    stack.drain_commands(&mut cmds);
    assert_eq!(
        cmds,
        [PlantCommand::DischargeEnabled { pack: 1, on: false }]
    );
    for c in cmds {
        c.apply(&mut p);
    }
    assert!(!p.pack(1).unwrap().discharge_enabled);
    let r = pace(
        &mut stack,
        &p,
        &Request::new(2, RequestBody::Status(Target::Pack(2))),
    );
    let ResponseBody::Status(s) = &r[0].body else {
        panic!("{r:?}")
    };
    assert_eq!(s.modules[0].state.system.0 & 0x06, 0x02);
}

#[test]
fn pace_bad_checksum_is_reported_by_the_decoder() {
    use voltwire_pace::{Request, RequestBody, Target};
    let p = two_packs();
    let mut stack = PaceStack::new();
    stack.faults_mut().bad_checksum = true;
    let req = Request::new(1, RequestBody::Analog(Target::Pack(1)));
    // The stream decoder reports the corrupt frame as one checksum error item ...
    let out = pace_raw(&mut stack, &p, &req);
    let mut items = Vec::new();
    voltwire_asciihex::Decoder::new().feed_all(&out, |i| items.push(i.value));
    assert!(
        matches!(items.as_slice(), [Err(e)] if e.kind() == ErrorKind::Checksum),
        "{items:?}"
    );
    // ... and the scanner says where it is.
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
    stack.faults_mut().bad_checksum = false;
    stack.faults_mut().garbage = true;
    let out = pace_raw(&mut stack, &p, &req);
    assert!(!out.is_empty());
    let mut good = 0;
    voltwire_asciihex::Decoder::new().feed_all(&out, |i| good += usize::from(i.value.is_ok()));
    assert_eq!(good, 0, "garbage decodes to no valid frame");
}

/// Send a Mean Well frame (built with voltwire-meanwell); decode the replies with it.
fn mw(
    psu: &mut MeanwellPsu,
    p: &Plant,
    m: &voltwire_meanwell::Message,
) -> Vec<Result<voltwire_meanwell::Message, voltwire_meanwell::ParseError>> {
    let f: CanFrame = m.to_frame().unwrap();
    let mut out = Vec::new();
    psu.on_frame(&f, NOW, p, &mut out);
    out.iter()
        .map(voltwire_meanwell::Message::from_frame)
        .collect()
}

fn mw_read(
    psu: &mut MeanwellPsu,
    p: &Plant,
    command: voltwire_meanwell::Command,
) -> voltwire_meanwell::Value {
    use voltwire_meanwell::{Body, Message, Target};
    let family = psu.model().family();
    let r = mw(psu, p, &Message::read(family, Target::Device(1), command));
    let [Ok(m)] = r.as_slice() else {
        panic!("{r:?}")
    };
    assert_eq!((m.family, m.target), (family, Target::Device(1)));
    let Body::Reply(v) = m.body else {
        panic!("{m:?}")
    };
    assert_eq!(v.command(), command);
    v
}

#[test]
fn meanwell_bic_reads_match_plant() {
    use voltwire_meanwell::{Command, Family, Model, TEXT_PADDING, Value};
    for (charge, discharge) in [(1_000, 0), (0, 1_500)] {
        let p = plant(charge, discharge);
        let v = p.pack(0).unwrap().voltage();
        let mut psu = MeanwellPsu::new(Model::Bic2200_48, 1);
        assert_eq!(
            mw_read(&mut psu, &p, Command::READ_VOUT),
            Value::Vout(Millivolts(round(v.0, 10)))
        );
        let Value::Iout(i) = mw_read(&mut psu, &p, Command::READ_IOUT) else {
            panic!()
        };
        let want = (f64::from(charge - discharge) * 1e6 / f64::from(v.0)) as i32;
        assert!((i.0 - want).abs() <= 10, "{i:?} vs {want} mA");
        assert_eq!(i.0 > 0, charge > 0, "charging is positive");
        assert_eq!(
            mw_read(&mut psu, &p, Command::READ_TEMPERATURE_1),
            Value::Temperature(voltwire_core::DeciCelsius(350))
        );
        let Value::SystemStatus(s) = mw_read(&mut psu, &p, Command::SYSTEM_STATUS) else {
            panic!()
        };
        assert!(s.dc_ok(Family::Bic2200) && !s.initializing(Family::Bic2200));
        let Value::FaultStatus(f) = mw_read(&mut psu, &p, Command::FAULT_STATUS) else {
            panic!()
        };
        assert!(!f.any_fault());
        let Value::Text(_, a) = mw_read(&mut psu, &p, Command::MFR_MODEL_B0B5) else {
            panic!()
        };
        let Value::Text(_, b) = mw_read(&mut psu, &p, Command::MFR_MODEL_B6B11) else {
            panic!()
        };
        assert_eq!(
            format!(
                "{}{}",
                a.as_text_trimming(TEXT_PADDING).unwrap(),
                b.as_text_trimming(TEXT_PADDING).unwrap()
            ),
            "BIC-2200-48"
        );
    }
}

#[test]
fn meanwell_set_points_within_limits_apply_and_out_of_range_change_nothing() {
    use voltwire_meanwell::{Body, Command, LimitError, Message, Model, Target, Value};
    let mut p = plant(2_000, 0);
    let mut psu = MeanwellPsu::new(Model::Bic2200_48, 1);
    let write = |psu: &mut MeanwellPsu, p: &Plant, target: Target, v: Value| {
        let m = Message {
            family: voltwire_meanwell::Family::Bic2200,
            target,
            body: Body::Write(v),
        };
        assert!(mw(psu, p, &m).is_empty(), "writes are not acknowledged");
    };
    write(
        &mut psu,
        &p,
        Target::Device(1),
        Value::VoutSet(Millivolts(56_000)),
    );
    write(
        &mut psu,
        &p,
        Target::Broadcast,
        Value::IoutSet(Milliamps(10_000)),
    );
    assert_eq!(
        mw_read(&mut psu, &p, Command::VOUT_SET),
        Value::VoutSet(Millivolts(56_000))
    );
    assert_eq!(
        mw_read(&mut psu, &p, Command::IOUT_SET),
        Value::IoutSet(Milliamps(10_000))
    );
    // The charge current follows the set point: 2 kW at ~53 V is ~38 A, capped at 10 A.
    assert_eq!(
        mw_read(&mut psu, &p, Command::READ_IOUT),
        Value::Iout(Milliamps(10_000))
    );
    // Out of range: unchanged, recorded.
    write(
        &mut psu,
        &p,
        Target::Device(1),
        Value::VoutSet(Millivolts(70_000)),
    );
    write(
        &mut psu,
        &p,
        Target::Device(1),
        Value::IoutSet(Milliamps(60_000)),
    );
    assert_eq!(
        mw_read(&mut psu, &p, Command::VOUT_SET),
        Value::VoutSet(Millivolts(56_000))
    );
    assert_eq!(
        mw_read(&mut psu, &p, Command::IOUT_SET),
        Value::IoutSet(Milliamps(10_000))
    );
    assert!(
        matches!(
            psu.refused(),
            [
                LimitError::AboveMaximum {
                    field: "vout",
                    limit: 65_000,
                    ..
                },
                LimitError::AboveMaximum {
                    field: "charge_current",
                    ..
                },
            ]
        ),
        "{:?}",
        psu.refused()
    );
    // Another unit's id: ignored.
    write(
        &mut psu,
        &p,
        Target::Device(2),
        Value::VoutSet(Millivolts(50_000)),
    );
    assert_eq!(
        psu.setting(Command::VOUT_SET),
        Some(Value::VoutSet(Millivolts(56_000)))
    );
    // Discharge capped at REVERSE_IOUT_SET; OPERATION off gives 0 A.
    p.flows.charge = Watts(0);
    p.flows.discharge = Watts(2_000);
    write(
        &mut psu,
        &p,
        Target::Device(1),
        Value::ReverseIoutSet(Milliamps(5_000)),
    );
    assert_eq!(
        mw_read(&mut psu, &p, Command::READ_IOUT),
        Value::Iout(Milliamps(-5_000))
    );
    write(&mut psu, &p, Target::Device(1), Value::Operation(0));
    assert_eq!(
        mw_read(&mut psu, &p, Command::READ_IOUT),
        Value::Iout(Milliamps(0))
    );
    let Value::FaultStatus(f) = mw_read(&mut psu, &p, Command::FAULT_STATUS) else {
        panic!()
    };
    assert!(f.flags().any(|n| n == "output_off"));
    // Reads on another id, or broadcast, stay unanswered.
    assert!(
        mw(
            &mut psu,
            &p,
            &Message::read(
                voltwire_meanwell::Family::Bic2200,
                Target::Device(2),
                Command::READ_VOUT
            )
        )
        .is_empty()
    );
    assert!(
        mw(
            &mut psu,
            &p,
            &Message::read(
                voltwire_meanwell::Family::Bic2200,
                Target::Broadcast,
                Command::READ_VOUT
            )
        )
        .is_empty()
    );
}

#[test]
fn meanwell_npb_charges_only_and_has_curve_settings() {
    use voltwire_meanwell::{Body, Command, Family, Message, Model, Target, Value};
    let p = plant(500, 0);
    let mut psu = MeanwellPsu::new(Model::Npb1200_48, 1);
    let Value::Iout(i) = mw_read(&mut psu, &p, Command::READ_IOUT) else {
        panic!()
    };
    assert!(i.0 > 8_000 && i.0 <= 18_000, "{i:?}");
    let Value::SystemStatus(s) = mw_read(&mut psu, &p, Command::SYSTEM_STATUS) else {
        panic!()
    };
    assert!(s.dc_ok(Family::Npb) && !s.initializing(Family::Npb));
    let m = Message {
        family: Family::Npb,
        target: Target::Device(1),
        body: Body::Write(Value::CurveCc(Milliamps(4_000))),
    };
    assert!(mw(&mut psu, &p, &m).is_empty());
    assert_eq!(
        mw_read(&mut psu, &p, Command::CURVE_CC),
        Value::CurveCc(Milliamps(4_000))
    );
    assert_eq!(
        mw_read(&mut psu, &p, Command::READ_IOUT),
        Value::Iout(Milliamps(4_000))
    );
    // Below the model's minimum: refused.
    let m = Message {
        family: Family::Npb,
        target: Target::Device(1),
        body: Body::Write(Value::CurveCc(Milliamps(100))),
    };
    assert!(mw(&mut psu, &p, &m).is_empty());
    assert_eq!(psu.refused().len(), 1);
    assert_eq!(
        mw_read(&mut psu, &p, Command::CURVE_CC),
        Value::CurveCc(Milliamps(4_000))
    );
    // A BIC-only command is not answered by an NPB, nor a BIC frame.
    assert!(
        mw(
            &mut psu,
            &p,
            &Message::read(Family::Npb, Target::Device(1), Command::REVERSE_IOUT_SET)
        )
        .is_empty()
    );
    assert!(
        mw(
            &mut psu,
            &p,
            &Message::read(Family::Bic2200, Target::Device(1), Command::READ_VOUT)
        )
        .is_empty()
    );
    let p2 = plant(0, 1_000);
    assert_eq!(
        mw_read(&mut psu, &p2, Command::READ_IOUT),
        Value::Iout(Milliamps(0))
    );
}

#[test]
fn meanwell_faults() {
    use voltwire_meanwell::{Command, Family, Message, Model, Target, Value};
    let p = plant(1_000, 0);
    let mut psu = MeanwellPsu::new(Model::Bic2200_48, 1);
    psu.faults_mut().over_temperature = true;
    assert_eq!(
        mw_read(&mut psu, &p, Command::READ_TEMPERATURE_1),
        Value::Temperature(voltwire_core::DeciCelsius(Faults::OVER_TEMPERATURE))
    );
    let Value::FaultStatus(f) = mw_read(&mut psu, &p, Command::FAULT_STATUS) else {
        panic!()
    };
    assert!(f.any_fault() && f.flags().any(|n| n == "over_temperature"));
    let read = Message::read(Family::Bic2200, Target::Device(1), Command::READ_VOUT);
    psu.faults_mut().garbage = true;
    let r = mw(&mut psu, &p, &read);
    let [Err(e)] = r.as_slice() else {
        panic!("{r:?}")
    };
    assert_eq!(e.kind(), ErrorKind::Framing);
    psu.faults_mut().garbage = false;
    psu.faults_mut().silent = true;
    assert!(mw(&mut psu, &p, &read).is_empty());
}
