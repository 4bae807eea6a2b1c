//! The JK-PB simulator: trigger blocks and Modbus register access, read back with
//! `voltwire-jk`'s `pb` and `pb_map`.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    missing_docs,
    reason = "test code"
)]

use std::time::Duration;

use voltwire_core::Emit as _;
use voltwire_jk::pb::{self, Block, Message, Trigger};
use voltwire_jk::pb_map;
use voltwire_sim::device::JkPb;
use voltwire_sim::{BmsView, Faults, PackConfig, Plant, PlantCommand, SerialResponder};

const NOW: Duration = Duration::from_secs(10);

fn plant() -> Plant {
    let mut p = Plant::new(vec![PackConfig {
        cells: 16,
        initial_soc: 0.75,
        ..PackConfig::default()
    }]);
    p.flows.discharge = voltwire_core::Watts(500);
    p.run(Duration::from_secs(1), Duration::from_secs(1));
    p
}

fn ask(sim: &mut JkPb, plant: &Plant, m: &Message) -> Vec<u8> {
    let mut buf = [0_u8; 300];
    let n = m.emit(&mut buf).unwrap();
    let mut out = Vec::new();
    sim.on_bytes(&buf[..n], NOW, plant, &mut out);
    out
}

#[test]
fn trigger_answers_block_padding_ack_trailer() {
    let plant = plant();
    let mut sim = JkPb::new(2, 0);
    let out = ask(&mut sim, &plant, &Message::trigger(2, Trigger::Status));
    assert_eq!(out.len(), 310);
    let block = Block::from_bytes(&out[..300]).unwrap();
    assert!(block.checksum_ok());
    let s = block.status().unwrap();
    let v = BmsView::of(&plant, 0, &Faults::default()).unwrap();
    assert_eq!(s.cells().collect::<Vec<_>>(), v.cells);
    assert_eq!(s.pack_voltage, v.voltage);
    assert_eq!(s.current, v.current);
    assert!(s.current.0 < 0);
    assert_eq!(s.soc_percent, 75);
    assert_eq!(
        Message::parse(&out[301..309]),
        Ok(Message::WriteAck {
            address: 2,
            register: 0x1620,
            quantity: 1
        })
    );
    // Another address: silence, as on a shared bus.
    assert!(ask(&mut sim, &plant, &Message::trigger(3, Trigger::Status)).is_empty());
}

#[test]
fn register_reads_are_big_endian_and_refused_like_the_device() {
    let plant = plant();
    let mut sim = JkPb::new(1, 0);
    let read = |register, quantity| Message::ReadRequest {
        address: 1,
        register,
        quantity,
    };
    let out = ask(&mut sim, &plant, &read(0x1200, 32));
    let Ok(Message::ReadResponse { address: 1, data }) = Message::parse(&out) else {
        panic!("{out:02x?}");
    };
    let v = BmsView::of(&plant, 0, &Faults::default()).unwrap();
    let first = u16::from_be_bytes([data[0], data[1]]);
    assert_eq!(i32::from(first), v.cells[0].0);
    // Pack voltage: u32 BE at payload offset 144 (block 150).
    let out = ask(&mut sim, &plant, &read(0x1200 + 144, 2));
    let Ok(Message::ReadResponse { data, .. }) = Message::parse(&out) else {
        panic!("{out:02x?}");
    };
    assert_eq!(
        i64::from(u32::from_be_bytes(data[..4].try_into().unwrap())),
        i64::from(v.voltage.0)
    );
    for (reg, qty) in [(0x1201, 1), (0x1200, 123), (0x1300, 19), (0x1700, 1)] {
        let out = ask(&mut sim, &plant, &read(reg, qty));
        assert_eq!(
            Message::parse(&out),
            Ok(Message::Exception {
                address: 1,
                function: 0x83,
                code: 2
            }),
            "{reg:#x} x {qty}"
        );
    }
}

#[test]
fn writing_the_charge_enable_switches_the_plant() {
    let plant = plant();
    let mut sim = JkPb::new(1, 0);
    // Charge enable: u32 at settings payload offset 112 (block 118), written big-endian.
    let mut values = voltwire_jk::heapless::Vec::new();
    values.extend_from_slice(&[0, 0]).unwrap();
    let w = Message::WriteRequest {
        address: 1,
        register: pb_map::REGISTER_BASE + 112,
        values,
    };
    let out = ask(&mut sim, &plant, &w);
    assert!(matches!(
        Message::parse(&out),
        Ok(Message::WriteAck { address: 1, .. })
    ));
    let mut cmds = Vec::new();
    sim.drain_commands(&mut cmds);
    assert_eq!(
        cmds,
        vec![PlantCommand::ChargeEnabled { pack: 0, on: false }]
    );
    let out = ask(&mut sim, &plant, &Message::trigger(1, Trigger::Settings));
    let s = Block::from_bytes(&out[..300]).unwrap().settings().unwrap();
    assert_eq!(s.charge_enabled, 0);
    assert_eq!(s.discharge_enabled, 1);
    assert_eq!(s.cell_count, 16);
    let out = ask(&mut sim, &plant, &Message::trigger(1, Trigger::Status));
    assert_eq!(
        pb::Block::from_bytes(&out[..300])
            .unwrap()
            .status()
            .unwrap()
            .charge_mos,
        0
    );
}
