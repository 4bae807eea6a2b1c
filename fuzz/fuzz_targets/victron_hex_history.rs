//! VE.Direct HEX register values and history records from arbitrary bytes: whatever decodes
//! must encode back to the same bytes (history records keep every byte, including the
//! undocumented tail of the totals record).
#![no_main]

use libfuzzer_sys::fuzz_target;
use voltwire_victron::hex::{DayRecord, RECORD_LEN, REGISTERS, RegisterValue, TotalRecord, lookup};

fn check_value(id: u16, value: &[u8]) {
    if let Ok(v) = RegisterValue::decode_register(id, value) {
        if let Some(info) = lookup(id) {
            assert_eq!(v.encode(info).as_deref(), Ok(value));
        }
        if let Some(r) = v.reading() {
            assert!(!r.si_value().is_nan());
            let _ = (
                r.millivolts(),
                r.milliamps(),
                r.watts(),
                r.watt_hours(),
                r.seconds(),
            );
        }
        let _ = v.text();
    }
}

fuzz_target!(|data: &[u8]| {
    // Records: exactly 34 bytes, or the first 34 of a longer input.
    for bytes in [Some(data), data.get(..RECORD_LEN)].into_iter().flatten() {
        if let Ok(d) = DayRecord::parse(bytes) {
            let out = d.to_bytes().expect("a parsed day record emits");
            assert_eq!(out.as_slice(), bytes);
            assert_eq!(DayRecord::parse(&out), Ok(d));
        }
        if let Ok(t) = TotalRecord::parse(bytes) {
            let out = t.to_bytes().expect("a parsed total record emits");
            assert_eq!(out.as_slice(), bytes);
            assert_eq!(TotalRecord::parse(&out), Ok(t));
            let _ = t.tail_battery_voltage_min();
        }
    }
    // Register values: two bytes pick the register, the rest is the value.
    if let [a, b, value @ ..] = data {
        // Any id (mostly unknown ones)…
        check_value(u16::from_le_bytes([*a, *b]), value);
        // …and one of the table, so that every known register is reached.
        if let Some(info) =
            REGISTERS.get(usize::from(u16::from_le_bytes([*a, *b])) % REGISTERS.len())
        {
            check_value(info.id, value);
        }
    }
});
