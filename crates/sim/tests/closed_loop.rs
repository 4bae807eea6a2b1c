//! Closed loop: charge the plant for an hour of sim time through the simulators and watch
//! SOC and pack voltage follow the model.

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

use voltwire_core::{Milliamps, Permille, StreamDecoder as _, Watts};
use voltwire_daly::{Command, Request as DalyRequest, Response as DalyResponse};
use voltwire_sim::device::{DalyBms, VeDirect, VeDirectKind};
use voltwire_sim::plant::lfp_ocv;
use voltwire_sim::{Plant, SerialResponder as _};
use voltwire_victron::text::Message;

fn daly_soc(bms: &mut DalyBms, plant: &Plant) -> (Permille, i32) {
    let r = common::daly(bms, plant, DalyRequest::read(Command::PACK_STATUS));
    let [Ok(DalyResponse::PackStatus(s))] = r.as_slice() else {
        panic!("{r:?}")
    };
    (s.soc, s.voltage.0)
}

#[test]
fn an_hour_of_charging_raises_soc_and_voltage_follows_ocv() {
    let mut plant = Plant::single(16, 0.3);
    let mut bms = DalyBms::new(0);
    let mut mppt = VeDirect::new(VeDirectKind::Mppt);
    let (soc0, v0) = daly_soc(&mut bms, &plant);

    plant.flows.charge = Watts(1_500);
    plant.flows.mppt_pv = Watts(1_000);
    let mut text = Vec::new();
    let step = Duration::from_secs(1);
    for s in 1..=3_600u64 {
        plant.step(step);
        mppt.tick(Duration::from_secs(s), &plant, &mut text);
    }
    assert_eq!(plant.time(), Duration::from_secs(3_600));

    let (soc1, v1) = daly_soc(&mut bms, &plant);
    let pack = plant.pack(0).unwrap();
    // 2.5 kW at ~53 V for 1 h ≈ 47 Ah of 100 Ah.
    let rise = soc1.0 - soc0.0;
    assert!((400..=520).contains(&rise), "SOC {soc0:?} -> {soc1:?}");
    assert!(v1 > v0, "pack voltage {v0} -> {v1}");

    // Pack voltage = 16 × OCV(SOC) + I·R, within the cell spread.
    let current_a = f64::from(pack.current().0) / 1000.0;
    let expected = 16.0 * (lfp_ocv(f64::from(pack.soc().0) / 1000.0) + current_a * 0.0005);
    let got = f64::from(pack.voltage().0) / 1000.0;
    assert!(
        (got - expected).abs() < 0.15,
        "{got} V vs OCV model {expected} V"
    );
    assert!(pack.current() > Milliamps(0));

    // The MPPT sent one TEXT record per second of sim time, all valid.
    let mut d = voltwire_victron::text::RecordDecoder::new();
    let mut records = 0;
    d.feed_all(&text, |i| {
        assert!(matches!(i.value, Ok(Message::Record(_))), "{:?}", i.value);
        records += 1;
    });
    while d.finish().is_some() {
        records += 1;
    }
    assert_eq!(records, 3_600);
}

#[test]
fn a_full_pack_stops_taking_charge() {
    let mut plant = Plant::single(16, 0.97);
    plant.flows.charge = Watts(3_000);
    plant.run(Duration::from_secs(3 * 3_600), Duration::from_secs(10));
    let pack = plant.pack(0).unwrap();
    assert!(pack.soc().0 >= 980, "{:?}", pack.soc());
    assert_eq!(
        pack.current(),
        Milliamps(0),
        "the BMS stops charging when a cell is full"
    );
}

#[test]
fn discharge_lowers_soc_and_heats_the_pack() {
    let mut plant = Plant::single(16, 0.9);
    let t0 = plant.pack(0).unwrap().temperatures()[0];
    plant.flows.discharge = Watts(3_000);
    plant.run(Duration::from_secs(3_600), Duration::from_secs(5));
    let pack = plant.pack(0).unwrap();
    assert!(pack.soc().0 < 900);
    assert!(pack.current().0 < 0);
    assert!(pack.temperatures()[0] > t0);
}

#[test]
fn an_empty_pack_stops_giving_current() {
    let mut plant = Plant::single(16, 0.9);
    plant.flows.discharge = Watts(5_000);
    plant.run(Duration::from_secs(2 * 3_600), Duration::from_secs(5));
    let pack = plant.pack(0).unwrap();
    assert_eq!(pack.current(), Milliamps(0));
    assert!(pack.soc().0 <= 10, "{:?}", pack.soc());
}
