//! Unit tests of the JK-PB codec.
use super::*;
use voltwire_core::{DeciCelsius, Emit, Framing, Milliamps, Millivolts, Scan};

#[test]
fn alarm_names_with_bit_n() {
    assert!(Alarms(1 | 1 << 21 | 1 << 31).flags().eq([
        "wire_resistance",
        "battery_over_temperature",
        "bit_31"
    ]));
}

#[test]
fn trigger_requests() {
    let mut out = [0; 16];
    let n = Message::trigger(1, Trigger::Status).emit(&mut out).unwrap();
    // addr, FC 0x10, register 0x1620, 1 register, 2 bytes, value 0, CRC low byte first.
    assert_eq!(
        &out[..n],
        &[
            0x01, 0x10, 0x16, 0x20, 0x00, 0x01, 0x02, 0x00, 0x00, 0xD6, 0xF1
        ]
    );
    let m = Message::parse(&out[..n]).unwrap();
    assert_eq!(m.as_trigger(), Some(Trigger::Status));
    let n = Message::trigger(1, Trigger::About).emit(&mut out).unwrap();
    assert_eq!(&out[n - 2..n], &[0xD3, 0xCD]);
    let n = Message::trigger(1, Trigger::Settings)
        .emit(&mut out)
        .unwrap();
    assert_eq!(&out[n - 2..n], &[0xD2, 0x2F]);
}

#[test]
fn acks_and_reads() {
    // The bus master's acknowledgement (address 0) and a slave's (address 2).
    let ack = [0x00, 0x10, 0x16, 0x20, 0x00, 0x01, 0x05, 0x9A];
    assert_eq!(
        Message::parse(&ack),
        Ok(Message::WriteAck {
            address: 0,
            register: 0x1620,
            quantity: 1
        })
    );
    let read = [0x01, 0x03, 0x12, 0xA0, 0x00, 0x02, 0xC1, 0x51];
    let m = Message::parse(&read).unwrap();
    assert_eq!(
        m,
        Message::ReadRequest {
            address: 1,
            register: 0x12A0,
            quantity: 2
        }
    );
    let mut out = [0; 8];
    assert_eq!(m.emit(&mut out), Ok(8));
    assert_eq!(out, read);
}

#[test]
fn status_round_trip() {
    let mut s = Status {
        cell_mask: 0b11,
        pack_voltage: Millivolts(6_650),
        current: Milliamps(-12_345),
        mosfet_temperature: DeciCelsius(-55),
        soc_percent: 80,
        ..Status::default()
    };
    s.cell_voltages[0] = Millivolts(3_325);
    s.cell_voltages[1] = Millivolts(3_325);
    let block = s.to_block().unwrap();
    assert!(block.checksum_ok());
    assert_eq!(block.status(), Some(s.clone()));
    assert_eq!(s.cells().count(), 2);
    let mut out = [0; BLOCK_LEN];
    Message::Block(block.clone()).emit(&mut out).unwrap();
    assert_eq!(Message::parse(&out), Ok(Message::Block(block)));
}

#[test]
fn scan_skips_padding() {
    let s = Status {
        soc_percent: 50,
        ..Status::default()
    };
    let block = s.to_block().unwrap();
    let mut stream = std::vec![0x00];
    stream.extend_from_slice(&block.0);
    // Padding, the ACK of the slave at address 2, a trailing byte.
    stream.extend_from_slice(&[0x00, 0x02, 0x10, 0x16, 0x20, 0x00, 0x01, 0x04, 0x78, 0x00]);
    assert_eq!(PbFraming::scan(&stream), Scan::Frame { skip: 1, len: 300 });
    let rest = &stream[301..];
    assert_eq!(PbFraming::scan(rest), Scan::Frame { skip: 1, len: 8 });
    assert_eq!(
        Message::parse(&rest[1..9]),
        Ok(Message::WriteAck {
            address: 2,
            register: 0x1620,
            quantity: 1
        })
    );
    assert_eq!(PbFraming::scan(&rest[9..]), Scan::Incomplete { skip: 0 });
}
