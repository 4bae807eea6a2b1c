//! Property tests: encode → decode identity for every message in both directions, byte-exact
//! re-encoding of parsed records, scanner totality on arbitrary bytes, and chunk
//! independence of the stream decoders with marker-free noise between frames.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::format_collect,
    clippy::type_complexity,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "test code"
)]

use proptest::prelude::*;
use voltwire_core::{
    DeciCelsius, Emit, Framing, MilliampHours, Milliamps, Millivolts, Scan, StreamDecoder,
};
use voltwire_jk::frame::{MAX_FRAME_LEN, START};
use voltwire_jk::pb::{self, PbDecoder, PbFraming};
use voltwire_jk::{
    Command, FrameSource, Header, Info, JkDecoder, JkFraming, Message, Record, Transport,
};

/// Info bytes made of known IDs (ascending, each once) with arbitrary values, optionally a
/// cell block first and an unknown-ID tail.
fn info_bytes() -> impl Strategy<Value = Vec<u8>> {
    let ids: Vec<u8> = (0x80..=0xC0u8)
        .filter(|&id| Record::value_len(id).is_some())
        .collect();
    let fields = proptest::collection::vec(any::<bool>(), ids.len());
    let values = proptest::collection::vec(any::<u8>(), 256);
    let cells = proptest::option::of(proptest::collection::vec(
        (any::<u8>(), any::<u16>()),
        0..=85,
    ));
    let tail = proptest::option::of(proptest::collection::vec(any::<u8>(), 0..20));
    (fields, values, cells, tail).prop_map(move |(on, values, cells, tail)| {
        let mut out = Vec::new();
        if let Some(cells) = cells {
            out.push(0x79);
            out.push((cells.len() * 3) as u8);
            for (i, mv) in cells {
                out.push(i);
                out.extend_from_slice(&mv.to_be_bytes());
            }
        }
        let mut v = values.iter().cycle();
        for (id, on) in ids.iter().zip(on) {
            if on {
                out.push(*id);
                for _ in 0..Record::value_len(*id).unwrap() {
                    out.push(*v.next().unwrap());
                }
            }
        }
        if let Some(tail) = tail {
            out.push(0x88); // unknown ID: ends the typed parse
            out.extend(tail);
        }
        out
    })
}

fn header() -> impl Strategy<Value = Header> {
    (
        any::<u32>(),
        any::<u8>(),
        any::<u8>(),
        1u8..=2,
        any::<u32>(),
        any::<u16>(),
    )
        .prop_map(
            |(terminal, command, source, transport, record_number, reserved)| Header {
                terminal,
                command: Command::from(command),
                source: FrameSource::from(source),
                transport: Transport::from(transport),
                record_number,
                reserved,
            },
        )
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        // Requests naming one ID (host → BMS).
        (
            any::<u8>(),
            prop_oneof![
                Just(Command::ReadAll),
                Just(Command::Read),
                Just(Command::Activate)
            ]
        )
            .prop_map(|(id, c)| Message {
                header: Header::request(c),
                info: Info::Id(id)
            }),
        // Replies and uploads (BMS → host), and writes (host → BMS, records).
        (header(), info_bytes()).prop_map(|(header, info)| Message {
            header,
            info: Info::Records(Record::parse_info(&info)),
        }),
        info_bytes().prop_map(|info| Message::write(Record::parse_info(&info))),
    ]
}

fn emit(m: &impl Emit) -> Vec<u8> {
    let mut out = vec![0; m.buffer_len()];
    let n = m.emit(&mut out).unwrap();
    out.truncate(n);
    out
}

fn pb_status() -> impl Strategy<Value = pb::Status> {
    (
        proptest::array::uniform32(0u16..),
        proptest::array::uniform32(any::<u16>()),
        any::<u32>(),
        (
            any::<i16>(),
            0..=i32::MAX,
            any::<i32>(),
            any::<i16>(),
            any::<i16>(),
            any::<u32>(),
        ),
        (
            any::<i16>(),
            any::<u8>(),
            0u8..=100,
            any::<i32>(),
            any::<i32>(),
            any::<u32>(),
        ),
        (
            any::<u8>(),
            any::<u8>(),
            any::<u8>(),
            any::<u16>(),
            any::<i16>(),
            any::<i16>(),
        ),
    )
        .prop_map(|(cells, res, mask, a, b, c)| pb::Status {
            cell_voltages: cells.map(|v| Millivolts(i32::from(v))),
            cell_resistances_milliohm: res,
            cell_mask: mask,
            mosfet_temperature: DeciCelsius(a.0),
            pack_voltage: Millivolts(a.1),
            current: Milliamps(a.2),
            temperature_1: DeciCelsius(a.3),
            temperature_2: DeciCelsius(a.4),
            alarms: pb::Alarms(a.5),
            balance_current: Milliamps(i32::from(b.0)),
            balancing: b.1,
            soc_percent: b.2,
            remaining_capacity: MilliampHours(i64::from(b.3)),
            full_charge_capacity: MilliampHours(i64::from(b.4)),
            cycle_count: b.5,
            soh_percent: c.0,
            precharge: c.1,
            charge_mos: c.2,
            heater_current: Milliamps(i32::from(c.3)),
            temperature_3: DeciCelsius(c.4),
            temperature_4: DeciCelsius(c.5),
            ..pb::Status::default()
        })
}

fn pb_message() -> impl Strategy<Value = pb::Message> {
    prop_oneof![
        pb_status().prop_map(|s| pb::Message::Block(s.to_block().unwrap())),
        (
            any::<u8>(),
            any::<u16>(),
            proptest::collection::vec(any::<u16>(), 1..=127)
        )
            .prop_map(|(address, register, values)| pb::Message::WriteRequest {
                address,
                register,
                values: values.as_slice().try_into().unwrap(),
            }),
        (any::<u8>(), any::<u16>(), any::<u16>()).prop_map(|(address, register, quantity)| {
            pb::Message::WriteAck {
                address,
                register,
                quantity,
            }
        }),
        (any::<u8>(), any::<u16>(), any::<u16>()).prop_map(|(address, register, quantity)| {
            pb::Message::ReadRequest {
                address,
                register,
                quantity,
            }
        }),
        (
            any::<u8>(),
            proptest::collection::vec(any::<u16>(), 0..=127)
        )
            .prop_map(|(address, regs)| {
                let data: Vec<u8> = regs.iter().flat_map(|r| r.to_be_bytes()).collect();
                pb::Message::ReadResponse {
                    address,
                    data: data.as_slice().try_into().unwrap(),
                }
            }),
        (
            any::<u8>(),
            prop_oneof![Just(0x83u8), Just(0x90)],
            any::<u8>()
        )
            .prop_map(|(address, function, code)| pb::Message::Exception {
                address,
                function,
                code
            }),
    ]
}

proptest! {
    #[test]
    fn record_bytes_survive(info in info_bytes()) {
        let r = Record::parse_info(&info);
        let mut out = vec![0; r.info_len()];
        prop_assert_eq!(r.emit_info(&mut out), Ok(info.len()));
        prop_assert_eq!(&out, &info);
        prop_assert_eq!(Record::parse_info(&out), r);
    }

    #[test]
    fn message_round_trip(m in message()) {
        let bytes = emit(&m);
        prop_assert!(bytes.len() <= MAX_FRAME_LEN);
        prop_assert_eq!(Message::parse(&bytes), Ok(m.clone()));
        prop_assert_eq!(JkFraming::scan(&bytes), Scan::Frame { skip: 0, len: bytes.len() });
    }

    #[test]
    fn scan_is_total(data in proptest::collection::vec(any::<u8>(), 0..1500)) {
        for scan in [JkFraming::scan(&data), PbFraming::scan(&data)] {
            match scan {
                Scan::Frame { skip, len } => prop_assert!(skip + len <= data.len()),
                Scan::Incomplete { skip } => prop_assert!(skip <= data.len()),
            }
        }
        match JkFraming::scan(&data) {
            Scan::Incomplete { skip } => prop_assert!(data.len() - skip < MAX_FRAME_LEN),
            Scan::Frame { skip, len } => prop_assert!(Message::parse(&data[skip..skip + len]).is_ok()),
        }
        match PbFraming::scan(&data) {
            Scan::Incomplete { skip } => prop_assert!(data.len() - skip < pb::MAX_FRAME_LEN),
            Scan::Frame { skip, len } => prop_assert!(pb::Message::parse(&data[skip..skip + len]).is_ok()),
        }
    }

    #[test]
    fn decoders_are_total(data in proptest::collection::vec(any::<u8>(), 0..3000), chunk in 1usize..64) {
        let mut jk = JkDecoder::new();
        let mut p = PbDecoder::new();
        for c in data.chunks(chunk) {
            jk.feed_all(c, |_| {});
            p.feed_all(c, |_| {});
        }
        jk.finish();
        p.finish();
        prop_assert!(jk.dropped_bytes() <= data.len() as u64);
        prop_assert!(p.dropped_bytes() <= data.len() as u64);
    }

    #[test]
    fn jk_stream_chunk_independent(
        parts in proptest::collection::vec(
            (message(), proptest::collection::vec(any::<u8>().prop_filter("no marker", |b| *b != START[0]), 0..30)),
            1..5),
        chunk in 1usize..100,
    ) {
        let mut stream = Vec::new();
        let mut want = Vec::new();
        for (m, noise) in &parts {
            stream.extend_from_slice(noise);
            want.push((stream.len() as u64, m.clone()));
            stream.extend(emit(m));
        }
        let mut d = JkDecoder::new();
        let mut got = Vec::new();
        for c in stream.chunks(chunk) {
            d.feed_all(c, |l| got.push((l.offset, l.value.unwrap())));
        }
        prop_assert_eq!(got, want);
        let noise: usize = parts.iter().map(|(_, n)| n.len()).sum();
        prop_assert_eq!(d.dropped_bytes(), noise as u64);
    }

    #[test]
    fn pb_round_trip(m in pb_message()) {
        let bytes = emit(&m);
        prop_assert_eq!(pb::Message::parse(&bytes), Ok(m.clone()));
        if let pb::Message::Block(b) = &m {
            let s = b.status().unwrap();
            prop_assert_eq!(s.to_block().unwrap(), b.clone());
        }
    }

    #[test]
    fn pb_settings_and_about_round_trip(words in proptest::collection::vec(any::<i32>(), 40), text in "[A-Z0-9._]{0,16}") {
        let s = pb::Settings {
            cell_over_voltage: Millivolts(words[0]),
            charge_over_current: Milliamps(words[1]),
            charge_under_temperature: DeciCelsius(words[2] as i16),
            cell_count: words[3],
            capacity: MilliampHours(i64::from(words[4])),
            control_bits: words[5] as u16,
            heating_start_celsius: words[6] as i8,
            device_address: words[7],
            ..pb::Settings::default()
        };
        prop_assert_eq!(s.to_block().unwrap().settings(), Some(s));
        let a = pb::About {
            serial_number: voltwire_jk::Text::new(&text).unwrap(),
            runtime_s: words[8] as u32,
            ..pb::About::default()
        };
        prop_assert_eq!(a.to_block().about(), Some(a));
    }

    #[test]
    fn pb_stream_chunk_independent(
        parts in proptest::collection::vec(
            (pb_message(), proptest::collection::vec(
                any::<u8>().prop_filter("no marker", |b| ![0x55, 0x10, 0x03, 0x83, 0x90].contains(b)), 0..30)),
            1..4),
        chunk in 1usize..100,
    ) {
        let mut stream = Vec::new();
        let mut want = Vec::new();
        for (m, noise) in &parts {
            stream.extend_from_slice(noise);
            want.push((stream.len() as u64, m.clone()));
            stream.extend(emit(m));
        }
        // Modbus frames have no start marker: a stray byte before a frame from address 3 or
        // 16 reads as a function code, and that candidate is only rejected once enough bytes
        // follow. A live bus always sends more; here 300 marker-free bytes stand for it.
        stream.extend_from_slice(&[0xFF; 300]);
        let mut d = PbDecoder::new();
        let mut got = Vec::new();
        for c in stream.chunks(chunk) {
            d.feed_all(c, |l| got.push((l.offset, l.value.unwrap())));
        }
        prop_assert_eq!(got, want);
    }

    #[test]
    fn pb_frames_at_end_of_input(m in pb_message(), noise in proptest::collection::vec(any::<u8>().prop_filter("no marker", |b| *b != 0x55), 0..4)) {
        // With no more input to come, `scan_final` finds the frame a live decoder holds back.
        let mut stream = noise.clone();
        stream.extend(emit(&m));
        let (skip, len) = pb::scan_final(&stream).unwrap();
        prop_assert_eq!(pb::Message::parse(&stream[skip..skip + len]), Ok(m));
        prop_assert!(skip <= noise.len());
    }
}

/// An 8-byte read request whose first 7 bytes are also a read response with a matching CRC
/// (found by proptest): a whole frame, or the last frame of a capture, is read as the frame
/// that fills it, not as the shorter reading.
#[test]
fn pb_read_request_that_is_also_a_short_response() {
    let m = pb::Message::ReadRequest {
        address: 161,
        register: 763,
        quantity: 12411,
    };
    let bytes = emit(&m);
    assert_eq!(bytes.len(), 8);
    // The ambiguity is real: the 7-byte prefix is a valid response on its own.
    assert!(matches!(
        pb::Message::parse(&bytes[..7]),
        Ok(pb::Message::ReadResponse { address: 161, .. })
    ));
    assert_eq!(pb::Message::parse(&bytes), Ok(m.clone()));
    let mut stream = vec![0x01, 0x02];
    stream.extend_from_slice(&bytes);
    let (skip, len) = pb::scan_final(&stream).unwrap();
    assert_eq!((skip, len), (2, 8));
}
