//! The Modbus simulators (Lumentree, coulomb meter) answer with registers that
//! `voltwire-modbus` decodes to the plant's values, and their writes change the plant.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::too_many_lines,
    missing_docs,
    reason = "test code"
)]

use std::time::Duration;

use voltwire_core::{MilliampHours, Permille, Watts};
use voltwire_modbus::coulomb_meter::{self, SetChargeLevel, State};
use voltwire_modbus::lumentree;
use voltwire_modbus::rtu::ExceptionCode;
use voltwire_sim::modbus::{CoulombMeter, Lumentree, ModbusReply, ModbusRequest, ModbusResponder};
use voltwire_sim::{Plant, PlantCommand};

const T: Duration = Duration::ZERO;

fn registers(reply: Option<ModbusReply>) -> Vec<u16> {
    match reply {
        Some(ModbusReply::Registers(r)) => r,
        other => panic!("expected registers, got {other:?}"),
    }
}

fn apply(dev: &mut dyn ModbusResponder, plant: &mut Plant) {
    let mut cmds = Vec::new();
    dev.drain_commands(&mut cmds);
    for c in cmds {
        c.apply(plant);
    }
}

#[test]
fn lumentree_reports_the_plant_and_takes_its_set_point() {
    let mut plant = Plant::single(16, 0.6);
    plant.flows.discharge = Watts(500);
    plant.run(Duration::from_secs(10), Duration::from_secs(1));
    let mut lt = Lumentree::new();
    let read = |lt: &mut Lumentree, plant: &Plant, reg: u16| {
        registers(lt.handle(
            1,
            ModbusRequest::ReadHolding {
                start: reg,
                count: 1,
            },
            T,
            plant,
        ))[0]
    };
    let regs: Vec<u16> = lumentree::STATUS_REGISTERS
        .iter()
        .map(|r| read(&mut lt, &plant, *r))
        .collect();
    let s = lumentree::Status::from_registers(&regs).unwrap();
    assert_eq!(s.output_power(), Watts(500));
    assert_eq!(s.grid_voltage.0, 230_000);
    let bus = plant.bus_voltage().0;
    assert!((s.battery_voltage.0 - bus).abs() <= 50, "{s:?} vs {bus}");

    // Set 300 W: the plant's discharge follows and 107 reads it back.
    let reply = lt.handle(
        1,
        ModbusRequest::Write {
            start: 40,
            values: &[300],
        },
        T,
        &plant,
    );
    assert_eq!(reply, Some(ModbusReply::Written));
    apply(&mut lt, &mut plant);
    assert_eq!(plant.flows.discharge, Watts(300));
    assert_eq!(read(&mut lt, &plant, lumentree::OUTPUT_POWER), 3000);

    // Above the protocol range: exception, plant unchanged; above the LT1000: clamped.
    let reply = lt.handle(
        1,
        ModbusRequest::Write {
            start: 40,
            values: &[2001],
        },
        T,
        &plant,
    );
    assert_eq!(
        reply,
        Some(ModbusReply::Exception(ExceptionCode::IllegalDataValue))
    );
    lt.handle(
        1,
        ModbusRequest::Write {
            start: 40,
            values: &[1500],
        },
        T,
        &plant,
    );
    let mut cmds = Vec::new();
    lt.drain_commands(&mut cmds);
    assert_eq!(
        cmds,
        vec![PlantCommand::ConverterPower {
            charge: Watts(0),
            discharge: Watts(1000)
        }]
    );

    // Other slaves, unknown registers and functions.
    assert_eq!(
        lt.handle(
            2,
            ModbusRequest::ReadHolding {
                start: 70,
                count: 1
            },
            T,
            &plant
        ),
        None
    );
    assert_eq!(
        lt.handle(
            1,
            ModbusRequest::ReadHolding {
                start: 120,
                count: 10
            },
            T,
            &plant
        ),
        Some(ModbusReply::Exception(ExceptionCode::IllegalDataAddress))
    );
    assert_eq!(
        lt.handle(
            1,
            ModbusRequest::ReadInput {
                start: 70,
                count: 1
            },
            T,
            &plant
        ),
        Some(ModbusReply::Exception(ExceptionCode::IllegalFunction))
    );
    lt.faults_mut().silent = true;
    assert_eq!(
        lt.handle(
            1,
            ModbusRequest::ReadHolding {
                start: 70,
                count: 1
            },
            T,
            &plant
        ),
        None
    );
}

#[test]
fn lumentree_outputs_nothing_from_an_empty_bank() {
    let mut plant = Plant::single(16, 0.0);
    plant.flows.discharge = Watts(500);
    let mut lt = Lumentree::new().with_address(7);
    let r = registers(lt.handle(
        7,
        ModbusRequest::ReadHolding {
            start: 107,
            count: 1,
        },
        T,
        &plant,
    ));
    assert_eq!(r, vec![0]);
}

#[test]
fn coulomb_meter_measures_the_bank() {
    let mut plant = Plant::single(16, 0.8);
    plant.flows.discharge = Watts(1000);
    plant.run(Duration::from_secs(60), Duration::from_secs(1));
    let mut m = CoulombMeter::new(&plant);
    let regs = registers(m.handle(
        1,
        ModbusRequest::ReadInput {
            start: 0,
            count: 12,
        },
        T,
        &plant,
    ));
    let s = coulomb_meter::Status::from_registers(&regs).unwrap();
    assert_eq!(s.state, State::Discharging);
    let i = plant.total_current().0;
    assert!(i < -15_000, "{i}");
    assert!((s.current.0 - i).abs() <= 5, "{s:?} vs {i}");
    assert!((s.voltage.0 - plant.bus_voltage().0).abs() <= 5);
    let soc = plant.pack(0).unwrap().soc().0;
    assert!((s.soc.0 - soc).abs() <= 5, "{s:?} vs {soc}");
    assert_eq!(s.soc.0 % 10, 0, "whole percent");
    let w = s.power().0;
    assert!((990..=1010).contains(&w), "{w}");
    let rem = plant.pack(0).unwrap().remaining().0;
    assert_eq!(s.remaining, MilliampHours(rem));

    // Settings: read, write the capacity (high word first), read back.
    let set = registers(m.handle(
        1,
        ModbusRequest::ReadHolding {
            start: 0,
            count: 10,
        },
        T,
        &plant,
    ));
    let settings = coulomb_meter::Settings::from_registers(&set).unwrap();
    assert_eq!(settings.capacity, MilliampHours(100_000));
    let cap = coulomb_meter::Settings::capacity_registers(MilliampHours(240_000)).unwrap();
    let reply = m.handle(
        1,
        ModbusRequest::Write {
            start: 1,
            values: &cap,
        },
        T,
        &plant,
    );
    assert_eq!(reply, Some(ModbusReply::Written));
    assert_eq!(m.settings().capacity, MilliampHours(240_000));

    // 0x6F full: every pack to 100 %.
    let reply = m.handle(
        1,
        ModbusRequest::SetChargeLevel(SetChargeLevel::Full),
        T,
        &plant,
    );
    assert_eq!(reply, Some(ModbusReply::Written));
    apply(&mut m, &mut plant);
    assert_eq!(plant.pack(0).unwrap().soc(), Permille(1000));

    // A new address takes effect after the reply.
    let reply = m.handle(
        1,
        ModbusRequest::Write {
            start: 0,
            values: &[5],
        },
        T,
        &plant,
    );
    assert_eq!(reply, Some(ModbusReply::Written));
    assert_eq!(m.address(), 5);
    assert_eq!(
        m.handle(
            1,
            ModbusRequest::ReadInput { start: 0, count: 1 },
            T,
            &plant
        ),
        None
    );
    assert!(
        m.handle(
            5,
            ModbusRequest::ReadInput { start: 0, count: 1 },
            T,
            &plant
        )
        .is_some()
    );
    // Address 0 is not a valid new address.
    let reply = m.handle(
        5,
        ModbusRequest::Write {
            start: 0,
            values: &[0],
        },
        T,
        &plant,
    );
    assert_eq!(
        reply,
        Some(ModbusReply::Exception(ExceptionCode::IllegalDataValue))
    );
}

#[test]
fn coulomb_meter_idle_and_charging() {
    let mut plant = Plant::single(8, 0.5);
    let mut m = CoulombMeter::new(&plant);
    let s = coulomb_meter::Status::from_registers(&registers(m.handle(
        1,
        ModbusRequest::ReadInput {
            start: 0,
            count: 12,
        },
        T,
        &plant,
    )))
    .unwrap();
    assert_eq!(s.state, State::Idle);
    plant.flows.charge = Watts(500);
    plant.run(Duration::from_secs(5), Duration::from_secs(1));
    let r = registers(m.handle(
        1,
        ModbusRequest::ReadInput { start: 3, count: 9 },
        T,
        &plant,
    ));
    assert_eq!(r.len(), 9);
    assert_eq!(r[8], 2, "state charging");
}
