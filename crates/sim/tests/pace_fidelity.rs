//! The Pace simulator answers as a real pack does: a lone pack at address 0x00, a pack of a
//! scene on its own port, and every configuration read `voltwire-pace` can encode.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::std_instead_of_core,
    clippy::cast_precision_loss,
    reason = "test code"
)]

use std::time::Duration;

use voltwire_core::{MilliampHours, Milliamps, Millivolts, StreamDecoder as _};
use voltwire_pace::{
    ConfigRead, CurrentProtection, Request, RequestBody, Response, ResponseBody, Rtn, Target,
    VoltageKind, VoltageProtection,
};
use voltwire_sim::device::{PaceSettings, PaceStack};
use voltwire_sim::{PackConfig, Plant, PlantCommand, SerialResponder};

const NOW: Duration = Duration::from_secs(10);

/// Every reply to `req`, read as answers to it.
fn ask(stack: &mut PaceStack, p: &Plant, req: &Request) -> Vec<Response> {
    let tx = req.to_frame().unwrap().to_bytes();
    let mut out = Vec::new();
    stack.on_bytes(&tx, NOW, p, &mut out);
    let mut d = voltwire_asciihex::Decoder::new();
    let mut replies = Vec::new();
    d.feed_all(&out, |i| {
        let r = Response::from_frame(&i.value.unwrap(), req.command());
        assert!(r.answers(req), "{r:?}");
        replies.push(r);
    });
    replies
}

fn packs(n: usize) -> Plant {
    Plant::new(
        (0..n)
            .map(|i| PackConfig {
                cells: 16,
                initial_soc: 0.2 + 0.1 * i as f64,
                ..PackConfig::default()
            })
            .collect(),
    )
}

#[test]
fn a_lone_pack_answers_at_address_zero_and_at_its_own() {
    let p = packs(1);
    let mut stack = PaceStack::new();
    for adr in [0, 1] {
        let r = ask(
            &mut stack,
            &p,
            &Request::new(adr, RequestBody::Analog(Target::All)),
        );
        assert_eq!(r.len(), 1, "address {adr}");
        assert_eq!(r[0].adr, adr);
        let ResponseBody::Analog(a) = &r[0].body else {
            panic!("{r:?}")
        };
        assert_eq!(a.modules.len(), 1);
    }
    // Address 2 is nobody.
    assert!(
        ask(
            &mut stack,
            &p,
            &Request::new(2, RequestBody::ProtocolVersion)
        )
        .is_empty()
    );
}

#[test]
fn address_zero_is_nobody_on_a_bus_of_several_packs() {
    let p = packs(2);
    let mut stack = PaceStack::new();
    assert!(
        ask(
            &mut stack,
            &p,
            &Request::new(0, RequestBody::ProtocolVersion)
        )
        .is_empty()
    );
    assert_eq!(
        ask(
            &mut stack,
            &p,
            &Request::new(2, RequestBody::ProtocolVersion)
        )
        .len(),
        1
    );
}

#[test]
fn a_configured_first_address_moves_the_packs() {
    let p = packs(2);
    let mut stack = PaceStack::new().with_first_address(5);
    assert!(
        ask(
            &mut stack,
            &p,
            &Request::new(1, RequestBody::ProtocolVersion)
        )
        .is_empty()
    );
    assert_eq!(
        ask(
            &mut stack,
            &p,
            &Request::new(5, RequestBody::ProtocolVersion)
        )
        .len(),
        1
    );
    assert_eq!(
        ask(
            &mut stack,
            &p,
            &Request::new(6, RequestBody::ProtocolVersion)
        )
        .len(),
        1
    );
}

#[test]
fn a_scene_pack_on_its_own_port_reports_its_plant_pack_and_commands_it() {
    let p = packs(3);
    let mut stack = PaceStack::new().with_packs(2, 1);
    let r = ask(
        &mut stack,
        &p,
        &Request::new(0, RequestBody::Analog(Target::All)),
    );
    let ResponseBody::Analog(a) = &r[0].body else {
        panic!("{r:?}")
    };
    assert_eq!(a.modules.len(), 1);
    let soc = |m: &voltwire_pace::PackAnalog| m.remaining_capacity.0 * 1000 / m.full_capacity.0;
    let want = i64::from(p.pack(2).unwrap().soc().0);
    assert!((soc(&a.modules[0]) - want).abs() <= 1, "{a:?}");
    let r = ask(
        &mut stack,
        &p,
        &Request::new(
            0,
            RequestBody::ChargeMosfet(voltwire_pace::MosfetSwitch::Off),
        ),
    );
    assert!(
        matches!(r[0].body, ResponseBody::ControlState { .. }),
        "{r:?}"
    );
    let mut cmds = Vec::new();
    stack.drain_commands(&mut cmds);
    assert_eq!(
        cmds,
        vec![PlantCommand::ChargeEnabled { pack: 2, on: false }]
    );
}

#[test]
fn configuration_reads_answer_from_the_settings() {
    let p = packs(1);
    let mut stack = PaceStack::new();
    let read = |stack: &mut PaceStack, r: ConfigRead| {
        let rep = ask(stack, &p, &Request::new(0, RequestBody::ReadConfig(r)));
        assert_eq!(rep.len(), 1, "{r:?}");
        assert_eq!(rep[0].rtn, Rtn::Normal, "{r:?}");
        rep[0].body.clone()
    };
    // Defaults follow the pack: 16 cells, 100 Ah.
    let ResponseBody::Voltage(VoltageKind::PackOver, v) =
        read(&mut stack, ConfigRead::Voltage(VoltageKind::PackOver))
    else {
        panic!()
    };
    assert_eq!(v.protect, Millivolts(16 * 3_650));
    let ResponseBody::Voltage(VoltageKind::PackUnder, v) =
        read(&mut stack, ConfigRead::Voltage(VoltageKind::PackUnder))
    else {
        panic!()
    };
    assert_eq!(v.protect, Millivolts(16 * 2_800));
    let ResponseBody::ChargeOverCurrent(c) = read(&mut stack, ConfigRead::ChargeOverCurrent) else {
        panic!()
    };
    assert_eq!(
        (c.alarm, c.protect),
        (Milliamps(100_000), Milliamps(105_000))
    );
    let ResponseBody::DischargeOverCurrent(c) = read(&mut stack, ConfigRead::DischargeOverCurrent)
    else {
        panic!()
    };
    assert_eq!(
        (c.alarm, c.protect),
        (Milliamps(-100_000), Milliamps(-105_000))
    );
    assert!(matches!(
        read(&mut stack, ConfigRead::Balancing),
        ResponseBody::Balancing(_)
    ));
    assert!(matches!(
        read(&mut stack, ConfigRead::FullCharge),
        ResponseBody::FullCharge(_)
    ));
    for k in VoltageKind::ALL {
        assert!(
            matches!(read(&mut stack, ConfigRead::Voltage(k)), ResponseBody::Voltage(kk, _) if kk == k)
        );
    }

    // Given settings are what the reads report.
    let mut set = PaceSettings::for_pack(16, MilliampHours(280_000));
    set.pack_over.protect = Millivolts(57_000);
    set.charge_over_current.alarm = Milliamps(150_000);
    let mut stack = PaceStack::new().with_settings(set);
    let ResponseBody::Voltage(_, v) = read(&mut stack, ConfigRead::Voltage(VoltageKind::PackOver))
    else {
        panic!()
    };
    assert_eq!(v.protect, Millivolts(57_000));
    let ResponseBody::ChargeOverCurrent(c) = read(&mut stack, ConfigRead::ChargeOverCurrent) else {
        panic!()
    };
    assert_eq!(c.alarm, Milliamps(150_000));

    // A write changes what is read back.
    let new = VoltageProtection {
        lead: 1,
        alarm: Millivolts(56_000),
        protect: Millivolts(56_800),
        release: Millivolts(54_000),
        delay_100ms: 20,
    };
    let r = ask(
        &mut stack,
        &p,
        &Request::new(0, RequestBody::WriteVoltage(VoltageKind::PackOver, new)),
    );
    assert_eq!(r[0].rtn, Rtn::Normal);
    assert_eq!(
        read(&mut stack, ConfigRead::Voltage(VoltageKind::PackOver)),
        ResponseBody::Voltage(VoltageKind::PackOver, new)
    );
    let oc = CurrentProtection {
        lead: 1,
        alarm: Milliamps(80_000),
        protect: Milliamps(90_000),
        delay_100ms: 5,
    };
    ask(
        &mut stack,
        &p,
        &Request::new(0, RequestBody::WriteDischargeOverCurrent(oc)),
    );
    let ResponseBody::DischargeOverCurrent(c) = read(&mut stack, ConfigRead::DischargeOverCurrent)
    else {
        panic!()
    };
    assert_eq!(
        (c.alarm, c.protect, c.delay_100ms),
        (Milliamps(-80_000), Milliamps(-90_000), 5)
    );
}

#[test]
fn capacity_versions_and_clock_are_answered() {
    let p = packs(1);
    let mut stack = PaceStack::new();
    let r = ask(&mut stack, &p, &Request::new(0, RequestBody::Capacity));
    let ResponseBody::Capacity(c) = r[0].body else {
        panic!("{r:?}")
    };
    assert_eq!(c.full, MilliampHours(100_000));
    assert_eq!(c.design, MilliampHours(100_000));
    let want = p.pack(0).unwrap().remaining().0;
    assert!((c.remaining.0 - want).abs() <= 10, "{c:?} vs {want}");
    let r = ask(
        &mut stack,
        &p,
        &Request::new(0, RequestBody::SoftwareVersion),
    );
    assert!(
        matches!(r[0].body, ResponseBody::SoftwareVersion(v) if v.starts_with(b"VW-SIM-PACE")),
        "{r:?}"
    );
    let r = ask(&mut stack, &p, &Request::new(0, RequestBody::ProductInfo));
    assert!(
        matches!(&r[0].body, ResponseBody::ProductInfo(v) if v.starts_with(b"VWSIMPACE")),
        "{r:?}"
    );
    let t = voltwire_pace::DateTime {
        year_since_2000: 27,
        month: 3,
        day: 4,
        hour: 5,
        minute: 6,
        second: 7,
    };
    let r = ask(
        &mut stack,
        &p,
        &Request::new(0, RequestBody::WriteDateTime(t)),
    );
    assert_eq!(r[0].rtn, Rtn::Normal);
    let r = ask(&mut stack, &p, &Request::new(0, RequestBody::ReadDateTime));
    assert_eq!(r[0].body, ResponseBody::DateTime(t));
}
