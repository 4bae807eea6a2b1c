//! The Mean Well set points drive the plant through `PlantCommand::ConverterPower`; the
//! simulated inverter sends 0x305 on schedule and decodes what the BMS sends.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    missing_docs,
    reason = "test code"
)]

use std::time::Duration;

use voltwire_core::{Milliamps, Millivolts, Watts};
use voltwire_meanwell::{Body, Family, Message, Model, Target, Value};
use voltwire_pylontech::can::Message as PylonMessage;
use voltwire_sim::device::{MeanwellPsu, PylontechCanBms, PylontechInverter};
use voltwire_sim::{CanFrame, CanResponder as _, Plant, PlantCommand};

fn write(psu: &mut MeanwellPsu, p: &Plant, family: Family, v: Value) {
    let f: CanFrame = Message {
        family,
        target: Target::Device(0),
        body: Body::Write(v),
    }
    .to_frame()
    .unwrap();
    psu.on_frame(&f, Duration::ZERO, p, &mut Vec::new());
}

fn drain(psu: &mut MeanwellPsu) -> Vec<PlantCommand> {
    let mut v = Vec::new();
    psu.drain_commands(&mut v);
    v
}

#[test]
fn bic_set_points_become_plant_power() {
    let mut p = Plant::single(16, 0.5);
    let mut psu = MeanwellPsu::new(Model::Bic2200_48, 0);
    // Default VOUT_SET (51.5 V) is below the pack: nothing flows.
    psu.tick(Duration::ZERO, &p, &mut Vec::new());
    assert_eq!(
        drain(&mut psu),
        [PlantCommand::ConverterPower {
            charge: Watts(0),
            discharge: Watts(0)
        }]
    );
    write(
        &mut psu,
        &p,
        Family::Bic2200,
        Value::VoutSet(Millivolts(56_000)),
    );
    write(
        &mut psu,
        &p,
        Family::Bic2200,
        Value::IoutSet(Milliamps(20_000)),
    );
    let v = p.pack(0).unwrap().voltage().0;
    let cmds = drain(&mut psu);
    // One command per change; the last one is V × 20 A.
    let Some(&PlantCommand::ConverterPower { charge, discharge }) = cmds.last() else {
        panic!("{cmds:?}")
    };
    assert_eq!(
        charge,
        Watts(i32::try_from(i64::from(v) * 20 / 1000).unwrap())
    );
    assert_eq!(discharge, Watts(0));
    cmds.last().unwrap().apply(&mut p);
    assert_eq!(p.flows.charge, charge);
    // Nothing new while nothing changes.
    psu.tick(Duration::ZERO, &p, &mut Vec::new());
    assert!(drain(&mut psu).is_empty());
    // Discharge direction.
    write(
        &mut psu,
        &p,
        Family::Bic2200,
        Value::ReverseIoutSet(Milliamps(10_000)),
    );
    write(&mut psu, &p, Family::Bic2200, Value::Direction(1));
    let cmds = drain(&mut psu);
    let Some(&PlantCommand::ConverterPower { charge, discharge }) = cmds.last() else {
        panic!("{cmds:?}")
    };
    assert_eq!(charge, Watts(0));
    assert_eq!(
        discharge,
        Watts(i32::try_from(i64::from(v) * 10 / 1000).unwrap())
    );
    // Off: nothing.
    write(&mut psu, &p, Family::Bic2200, Value::Operation(0));
    assert_eq!(
        drain(&mut psu),
        [PlantCommand::ConverterPower {
            charge: Watts(0),
            discharge: Watts(0)
        }]
    );
}

#[test]
fn npb_follows_its_charge_curve() {
    let p = Plant::single(16, 0.5);
    let mut psu = MeanwellPsu::new(Model::Npb1700_48, 0);
    let v = i64::from(p.pack(0).unwrap().voltage().0);
    // Default CURVE_CV 61 V > pack, CURVE_CC 25 A.
    assert_eq!(
        psu.converter_power(&p),
        (Watts(i32::try_from(v * 25 / 1000).unwrap()), Watts(0))
    );
    write(&mut psu, &p, Family::Npb, Value::CurveCc(Milliamps(10_000)));
    assert_eq!(
        psu.converter_power(&p).0,
        Watts(i32::try_from(v * 10 / 1000).unwrap())
    );
    write(
        &mut psu,
        &p,
        Family::Npb,
        Value::CurveCv(Millivolts(42_000)),
    );
    assert_eq!(psu.converter_power(&p), (Watts(0), Watts(0)));
}

#[test]
fn inverter_sends_keep_alives_and_reads_the_bms() {
    let p = Plant::single(16, 0.5);
    let mut inv = PylontechInverter::new(Duration::from_secs(1));
    let mut bms = PylontechCanBms::new();
    let mut out = Vec::new();
    for ms in (0..3_000).step_by(100) {
        inv.tick(Duration::from_millis(ms), &p, &mut out);
    }
    assert_eq!(out.len(), 3);
    assert!(out.iter().all(|f| f.id() == 0x305 && f.data() == [0; 8]));
    assert_eq!(inv.keep_alives_sent(), 3);
    // The BMS answers 0x305 with its burst; the inverter decodes every frame.
    let mut burst = Vec::new();
    bms.on_frame(&out[0], Duration::ZERO, &p, &mut burst);
    assert_eq!(burst.len(), 6);
    for f in &burst {
        inv.on_frame(f, Duration::ZERO, &p, &mut Vec::new());
    }
    let mut seen = Vec::new();
    inv.drain_seen(&mut seen);
    assert_eq!(seen.len(), 6);
    assert!(
        seen.iter()
            .any(|(id, m)| *id == 0x351 && matches!(m, Ok(PylonMessage::Limits(_))))
    );
    // Silent: no keep-alive.
    inv.faults_mut().silent = true;
    let mut out = Vec::new();
    inv.tick(Duration::from_secs(10), &p, &mut out);
    assert!(out.is_empty());
}
