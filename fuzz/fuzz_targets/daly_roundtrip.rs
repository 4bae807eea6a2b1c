//! Daly messages from arbitrary frame contents (no checksum in the way): every response and
//! request reading encodes back to the same frame and parses again to the same message,
//! under every variant; the assembler stays consistent on any frame sequence.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voltwire_daly::{
    Assembler, BalanceBitOrder, CurrentSign, RawFrame, Request, Response, Series, Variant,
};

fuzz_target!(|input: &[u8]| {
    let variants = [
        Variant::RS485,
        Variant::UART.with_current_sign(CurrentSign::ChargeAboveOffset),
        Variant::RS485.with_balance_bit_order(BalanceBitOrder::BigEndianWord),
    ];
    let mut assemblers = [
        Assembler::new(Series::CellVoltages),
        Assembler::with_count(Series::Temperatures, input.first().copied().unwrap_or(0)),
        Assembler::new(Series::BatteryCode),
    ];
    for chunk in input.chunks(10) {
        let [address, command, d @ ..] = <[u8; 10]>::try_from(chunk).unwrap_or([0; 10]);
        let f = RawFrame {
            address,
            command,
            data: d,
        };
        let bytes = f.to_bytes();
        assert_eq!(RawFrame::parse(&bytes), Ok(f));
        let req = Request::parse(&f);
        assert_eq!(req.to_frame(address), Ok(f));
        for v in &variants {
            if let Ok(r) = Response::parse(&f, v) {
                let back = r.to_frame(address, v).unwrap();
                assert_eq!(back, f);
                assert_eq!(Response::parse(&back, v), Ok(r));
                if let Response::BalanceState(b) = r {
                    for cell in 0..=65 {
                        let _ = b.is_balancing(cell, v.balance_bit_order);
                    }
                }
            }
        }
        for a in &mut assemblers {
            let _ = a.push(&f);
            assert!(a.missing().count() <= usize::from(a.expected_frames()));
            let _ = a.cell_voltages().count() + a.temperatures().count();
            let mut text = [0u8; 128];
            assert!(a.text(&mut text) <= 128);
        }
    }
});
