//! Every plan against real captures from `testdata/`: the exact request bytes, the replies
//! assembled whatever the chunking and noise, and the reading's exact numbers.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::match_same_arms,
    clippy::std_instead_of_core,
    clippy::cast_possible_truncation,
    reason = "test code"
)]

use voltwire_bms_poll::daly::{DalyPlan, DalyReads};
use voltwire_bms_poll::jk::JkPlan;
use voltwire_bms_poll::jk_pb::{Fetch, JkPbPlan};
use voltwire_bms_poll::pace::{PaceExchange, PacePlan};
use voltwire_bms_poll::pylontech::PylontechPlan;
use voltwire_bms_poll::{Extreme, Limits, Need, PackReading, Plan, Reading};
use voltwire_core::{DeciCelsius, MilliampHours, Milliamps, Millivolts, Permille, StreamDecoder};

fn capture(path: &str) -> Vec<u8> {
    let at = format!("{}/../../testdata/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&at).unwrap_or_else(|e| panic!("{at}: {e}"))
}

/// Runs one poll of `plan`: each request is answered by the next of `replies` (`None`: no
/// answer), fed to one decoder in `chunk`-byte pieces after a few bytes of noise. Returns
/// the requests sent and the output.
fn run<P: Plan>(
    plan: &mut P,
    replies: &[Option<Vec<u8>>],
    chunk: usize,
) -> (Vec<Vec<u8>>, Option<P::Output>) {
    let mut decoder = P::Decoder::default();
    let mut sent = Vec::new();
    let mut replies = replies.iter();
    plan.start();
    while let Some(req) = plan.request() {
        sent.push(req.to_vec());
        let mut answer = None;
        if let Some(Some(bytes)) = replies.next() {
            let mut wire = vec![0x00, 0x13, 0xFF];
            wire.extend_from_slice(bytes);
            'feed: for piece in wire.chunks(chunk) {
                let mut input = piece;
                loop {
                    let p = decoder.feed(input);
                    input = &input[p.consumed..];
                    match p.item {
                        Some(item) if plan.matches(&item.value) => {
                            answer = Some(item.value);
                            break 'feed;
                        }
                        Some(_) => {}
                        None if input.is_empty() || p.consumed == 0 => break,
                        None => {}
                    }
                }
            }
        }
        plan.reply(answer);
    }
    (sent, plan.finish())
}

/// The same poll whole, in 1-byte and in 7-byte pieces: the same requests and output.
fn run_all_chunkings<P: Plan>(
    plan: &mut P,
    replies: &[Option<Vec<u8>>],
) -> (Vec<Vec<u8>>, Option<P::Output>)
where
    P::Output: PartialEq + std::fmt::Debug,
{
    let whole = run(plan, replies, 4096);
    for chunk in [1, 7] {
        let again = run(plan, replies, chunk);
        assert_eq!(again.0, whole.0, "requests, {chunk}-byte pieces");
        assert_eq!(again.1, whole.1, "output, {chunk}-byte pieces");
    }
    whole
}

fn daly_reply(r: &voltwire_daly::Response) -> Vec<u8> {
    let mut buf = [0u8; voltwire_daly::FRAME_LEN];
    let n = r.emit(1, &voltwire_daly::Variant::RS485, &mut buf).unwrap();
    buf[..n].to_vec()
}

fn cell_range() -> voltwire_daly::Response {
    voltwire_daly::Response::CellVoltageRange(voltwire_daly::CellVoltageRange {
        max: Millivolts(3_330),
        max_cell: 7,
        min: Millivolts(3_310),
        min_cell: 12,
        reserved: [0; 2],
    })
}

#[test]
fn daly_status_reads_four_in_order_and_maps_exactly() {
    let mut plan = DalyPlan::new(voltwire_daly::Variant::RS485, DalyReads::Status);
    let replies = [
        Some(capture("daly/mppsolar-pack-status-53v2.bin")),
        Some(daly_reply(&cell_range())),
        Some(capture("daly/mppsolar-temperature-range.bin")),
        Some(capture("daly/mppsolar-mosfet-status.bin")),
    ];
    let (sent, out) = run_all_chunkings(&mut plan, &replies);
    let commands: Vec<u8> = sent.iter().map(|r| r[2]).collect();
    assert_eq!(commands, [0x90, 0x91, 0x92, 0x93]);
    // Host 0x40 (RS485), no data, checksum: A5 40 90 08 … 7D.
    assert_eq!(
        sent[0],
        [0xA5, 0x40, 0x90, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0x7D]
    );
    let r = out.unwrap().reading().unwrap();
    assert_eq!(r.voltage, Millivolts(53_200));
    // Raw 30021 on an RS485 board (charge below the offset): 2.1 A discharging.
    assert_eq!(r.current, Milliamps(-2_100));
    assert_eq!(r.soc, Some(Permille(888)));
    assert_eq!(
        (r.cell_min, r.cell_max),
        (
            Extreme {
                value: Millivolts(3_310),
                number: 12
            },
            Extreme {
                value: Millivolts(3_330),
                number: 7
            }
        )
    );
    // 0x37 − 40 = 15 °C at both ends.
    assert_eq!(
        r.cell_temperatures,
        Some((DeciCelsius(150), DeciCelsius(150)))
    );
    assert_eq!(
        (r.charge_mosfet, r.discharge_mosfet),
        (Some(true), Some(true))
    );
    assert_eq!(r.remaining, Some(MilliampHours(0x0003_CB40)));
    // No 0x98 read: nothing stops.
    assert!(r.charge_allowed() && r.discharge_allowed());
}

#[test]
fn daly_optional_reads_may_be_missing_but_required_ones_end_the_poll() {
    let mut plan = DalyPlan::new(voltwire_daly::Variant::RS485, DalyReads::Status);
    let pack = Some(capture("daly/mppsolar-pack-status-53v2.bin"));
    let cells = Some(daly_reply(&cell_range()));
    let (sent, out) = run_all_chunkings(&mut plan, &[pack.clone(), cells.clone(), None, None]);
    assert_eq!(sent.len(), 4);
    let r = out.unwrap().reading().unwrap();
    assert_eq!((r.cell_temperatures, r.charge_mosfet), (None, None));
    assert!(r.charge_allowed());
    // No cell range: the poll ends there (0x92/0x93 never sent) with nothing.
    let (sent, out) = run_all_chunkings(&mut plan, &[pack.clone(), None]);
    assert_eq!(sent.len(), 2);
    assert_eq!(out, None);
    // A reply to another command does not answer 0x91.
    let temps = Some(capture("daly/mppsolar-temperature-range.bin"));
    let (_, out) = run_all_chunkings(&mut plan, &[pack.clone(), temps]);
    assert_eq!(out, None);
    // Full: every read required, 0x98 faults stop their direction.
    let mut full = DalyPlan::new(voltwire_daly::Variant::RS485, DalyReads::Full);
    let mut flags = voltwire_daly::FailureFlags::default();
    flags.set(voltwire_daly::Failure::CellVoltageHighL2, true);
    let failures = voltwire_daly::Response::Failures(voltwire_daly::Failures {
        flags,
        fault_code: 0,
    });
    let all = [
        pack.clone(),
        cells.clone(),
        Some(capture("daly/mppsolar-temperature-range.bin")),
        Some(capture("daly/mppsolar-mosfet-status.bin")),
        Some(daly_reply(&failures)),
    ];
    let (sent, out) = run_all_chunkings(&mut full, &all);
    assert_eq!(
        sent.iter().map(|r| r[2]).collect::<Vec<_>>(),
        [0x90, 0x91, 0x92, 0x93, 0x98]
    );
    let r = out.unwrap().reading().unwrap();
    assert!(!r.charge_allowed() && r.discharge_allowed());
    let (_, out) = run_all_chunkings(&mut full, &all[..4]);
    assert_eq!(out, None, "0x98 is required in Full");
}

#[test]
fn jk_read_all_request_and_reply_of_a_real_exchange() {
    let exchange = capture("jk/exchange-13s-b2a24s20p-fw1007.bin");
    let (request, reply) = exchange.split_at(21);
    let mut plan = JkPlan::new();
    // Our own request echoed back is not the reply: it is skipped.
    let mut wire = request.to_vec();
    wire.extend_from_slice(reply);
    let (sent, out) = run_all_chunkings(&mut plan, &[Some(wire)]);
    assert_eq!(sent, [request.to_vec()]);
    assert_eq!(sent[0], capture("jk/read-all-request-syssi.bin"));
    let r = out.unwrap().reading().unwrap();
    assert_eq!(r.voltage, Millivolts(53_130));
    assert_eq!(r.current, Milliamps(0));
    assert_eq!(r.soc, Some(Permille(940)));
    assert_eq!(
        r.cell_min,
        Extreme {
            value: Millivolts(4_047),
            number: 2
        }
    );
    // 4094 twice (cells 8 and 9): the last of equals.
    assert_eq!(
        r.cell_max,
        Extreme {
            value: Millivolts(4_094),
            number: 9
        }
    );
    assert_eq!(
        r.cell_temperatures,
        Some((DeciCelsius(190), DeciCelsius(190)))
    );
    assert_eq!(
        r.other_temperatures,
        Some((DeciCelsius(220), DeciCelsius(220)))
    );
    // Status 0x0004: bit 2 (balancer) only, both MOSFETs off.
    assert_eq!(
        (r.charge_mosfet, r.discharge_mosfet),
        (Some(false), Some(false))
    );
    assert!(!r.charge_stop && !r.discharge_stop);
    let (_, out) = run_all_chunkings(&mut plan, &[None]);
    assert!(out.is_none());
}

#[test]
fn jk_pb_status_block_by_trigger() {
    let block = capture("jk/pb-block-status-b2a8s20p-fw1117-ble-1.bin");
    let mut plan = JkPbPlan::new(1, Fetch::Trigger);
    let (sent, out) = run_all_chunkings(&mut plan, &[Some(block)]);
    // FC 0x10 of one zero register to 0x1620 at address 1, CRC16/Modbus.
    assert_eq!(sent.len(), 1);
    assert_eq!(
        &sent[0][..9],
        &[0x01, 0x10, 0x16, 0x20, 0x00, 0x01, 0x02, 0x00, 0x00]
    );
    assert_eq!(sent[0].len(), 11);
    let r = out.unwrap().reading().unwrap();
    assert_eq!(r.voltage, Millivolts(26_381));
    assert_eq!(r.soc, Some(Permille(690)));
    assert_eq!(
        (r.remaining, r.full),
        (Some(MilliampHours(69_554)), Some(MilliampHours(100_000)))
    );
    assert_eq!(
        r.cell_min,
        Extreme {
            value: Millivolts(3_284),
            number: 7
        }
    );
    assert_eq!(
        r.cell_max,
        Extreme {
            value: Millivolts(3_328),
            number: 5
        }
    );
    assert_eq!(
        r.cell_temperatures,
        Some((DeciCelsius(297), DeciCelsius(298)))
    );
    assert_eq!(
        r.other_temperatures,
        Some((DeciCelsius(361), DeciCelsius(361)))
    );
    assert!(r.charge_allowed() && r.discharge_allowed());
}

#[test]
fn jk_pb_status_table_in_four_register_reads() {
    use voltwire_core::Emit as _;
    use voltwire_jk::pb::{Message, PbDecoder};
    use voltwire_jk::pb_map;
    // The device side: the captured block as its register image, answered 32 registers at
    // a time.
    let mut block = voltwire_jk::pb::Block::new(voltwire_jk::pb::BlockKind::Status);
    let raw = capture("jk/pb-block-status-b2a8s20p-fw1117-ble-1.bin");
    block.0.copy_from_slice(&raw);
    pb_map::swap_fields(&mut block);
    let mut plan = JkPbPlan::new(3, Fetch::Registers);
    let mut replies = Vec::new();
    for chunk in 0..4 {
        let at = pb_map::PAYLOAD_OFFSET + 64 * chunk;
        let data = voltwire_jk::heapless::Vec::from_slice(&block.0[at..at + 64]).unwrap();
        let m = Message::ReadResponse { address: 3, data };
        let mut buf = vec![0u8; m.buffer_len()];
        let n = m.emit(&mut buf).unwrap();
        replies.push(Some(buf[..n].to_vec()));
    }
    let (sent, out) = run_all_chunkings(&mut plan, &replies);
    let base = pb_map::table_register(voltwire_jk::pb::BlockKind::Status).unwrap();
    for (i, req) in sent.iter().enumerate() {
        let mut d = PbDecoder::new();
        let m = d.feed(req).item.unwrap().value.unwrap();
        assert_eq!(
            m,
            Message::ReadRequest {
                address: 3,
                register: base + 64 * i as u16,
                quantity: 32
            }
        );
    }
    assert_eq!(sent.len(), 4);
    let s = out.unwrap();
    assert_eq!(s.pack_voltage, Millivolts(26_381));
    assert_eq!(s.soc_percent, 69);
    // A missing third read: no block, the fourth never sent.
    let (sent, out) = run_all_chunkings(&mut plan, &[replies[0].clone(), replies[1].clone(), None]);
    assert_eq!((sent.len(), out), (3, None));
}

#[test]
fn pace_analog_and_status_of_pack_1() {
    use voltwire_pace::Target;
    let analog = Some(capture("pace/nk-resp-0x42-16s.bin"));
    let status = Some(capture("pace/nk-resp-0x44-16s-length-004c.bin"));
    let mut plan = PacePlan::new(1, Target::Pack(1), Need::Required);
    let (sent, out) = run_all_chunkings(&mut plan, &[analog.clone(), status.clone()]);
    assert_eq!(
        sent,
        [
            capture("pace/nk-req-0x42-pack1.bin"),
            capture("pace/nk-req-0x44-pack1.bin")
        ]
    );
    let r = out.unwrap().reading().unwrap();
    let want = PackReading {
        voltage: Millivolts(52_429),
        current: Milliamps(-2_250),
        // 48190 / 103460 mAh.
        soc: Some(Permille(465)),
        remaining: Some(MilliampHours(48_190)),
        full: Some(MilliampHours(103_460)),
        design: Some(MilliampHours(100_000)),
        cycles: Some(140),
        cell_min: Extreme {
            value: Millivolts(3_269),
            number: 6,
        },
        cell_max: Extreme {
            value: Millivolts(3_272),
            number: 2,
        },
        // Four cell probes (24.1, 23.9 ×3 °C), then MOSFET 26.5 and environment 27.4 °C.
        cell_temperatures: Some((DeciCelsius(239), DeciCelsius(241))),
        other_temperatures: Some((DeciCelsius(265), DeciCelsius(274))),
        // System 0x0E: charge and discharge FETs on.
        charge_mosfet: Some(true),
        discharge_mosfet: Some(true),
        charge_stop: false,
        discharge_stop: false,
        limits: None,
    };
    assert_eq!(r, want);
    assert_eq!(r.temperatures(), Some((DeciCelsius(239), DeciCelsius(274))));
    // Status optional: a silent 0x44 still gives the analog reading.
    let mut optional = PacePlan::new(1, Target::Pack(1), Need::Optional);
    let (sent, out) = run_all_chunkings(&mut optional, &[analog.clone(), None]);
    assert_eq!(sent.len(), 2);
    let r = out.unwrap().reading().unwrap();
    assert_eq!((r.charge_mosfet, r.charge_allowed()), (None, true));
    // Required: nothing. A silent 0x42: nothing, and 0x44 never sent.
    let (_, out) = run_all_chunkings(&mut plan, &[analog.clone(), None]);
    assert!(out.is_none());
    let (sent, out) = run_all_chunkings(&mut plan, &[None, status.clone()]);
    assert_eq!((sent.len(), out.is_none()), (1, true));
    // A reply from another address answers nothing.
    let mut other = PacePlan::new(2, Target::Pack(2), Need::Optional);
    let (_, out) = run_all_chunkings(&mut other, &[analog, status]);
    assert!(out.is_none());
}

#[test]
fn pace_exchange_takes_an_answer_with_rtn_0_only() {
    use voltwire_pace::{MosfetSwitch, RequestBody};
    let mut on = PaceExchange::new(0, RequestBody::ChargeMosfet(MosfetSwitch::On));
    let (sent, out) = run_all_chunkings(&mut on, &[Some(capture("pace/nk-resp-0x9a-state.bin"))]);
    assert_eq!(sent, [capture("pace/nk-req-0x9a-charge-mosfet-on.bin")]);
    assert!(out.is_some());
    let mut off = PaceExchange::new(0, RequestBody::DischargeMosfet(MosfetSwitch::Off));
    let (sent, out) = run_all_chunkings(
        &mut off,
        &[Some(capture("pace/nk-resp-0x9b-rtn09-refused.bin"))],
    );
    assert_eq!(sent, [capture("pace/nk-req-0x9b-discharge-mosfet-off.bin")]);
    assert_eq!(out, None, "a refusal (RTN 9) is no answer");
}

#[test]
fn pylontech_analog_and_limits_of_module_2() {
    let analog = Some(capture("pylontech/rs485/us5000-resp-0x42.bin"));
    let limits = Some(capture("pylontech/rs485/tomcat42-resp-0x92.bin"));
    let mut plan = PylontechPlan::new(2, true);
    let (sent, out) = run_all_chunkings(&mut plan, &[analog.clone(), limits]);
    assert_eq!(
        sent,
        [
            capture("pylontech/rs485/pyl33-doc-req-0x42-adr2.bin"),
            capture("pylontech/rs485/us5000-req-0x92-adr2.bin")
        ]
    );
    let r = out.unwrap().reading().unwrap();
    assert_eq!(r.voltage, Millivolts(51_849));
    assert_eq!(r.soc, Some(Permille(1000)));
    assert_eq!(
        r.cell_min,
        Extreme {
            value: Millivolts(3_434),
            number: 1
        }
    );
    assert_eq!(
        r.cell_max,
        Extreme {
            value: Millivolts(3_463),
            number: 9
        }
    );
    // 0 °C = 2731: board 3071 → 34.0 °C; cells 3020…3034 → 28.9…30.3 °C.
    assert_eq!(
        r.other_temperatures,
        Some((DeciCelsius(340), DeciCelsius(340)))
    );
    assert_eq!(
        r.cell_temperatures,
        Some((DeciCelsius(289), DeciCelsius(303)))
    );
    assert_eq!(
        r.limits,
        Some(Limits {
            charge_voltage: Millivolts(53_250),
            charge_current: Milliamps(20_000),
            discharge_current: Milliamps(50_000),
        })
    );
    // Status 0xC0: both enabled.
    assert!(r.charge_allowed() && r.discharge_allowed());
    // Analog only.
    let mut only = PylontechPlan::new(2, false);
    let (sent, out) = run_all_chunkings(&mut only, &[analog]);
    assert_eq!(sent.len(), 1);
    assert_eq!(out.unwrap().reading().unwrap().limits, None);
}
