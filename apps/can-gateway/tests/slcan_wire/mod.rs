//! SLCAN text as the gateway's tests write and read it on `slcan+tcp://` links served by the
//! test: a BMS burst as transmit lines, a transmit line back to (id, data), the limits of a
//! 0x351. No simulator here, so process tests can use it without the `demo` feature.

#![allow(dead_code, unreachable_pub, reason = "each test file uses a part")]

use voltwire_core::{DeciCelsius, Milliamps, Millivolts, Permille};
use voltwire_ess::{BatteryState, EncodeOptions, frames};

/// The BMS these tests feed: CVL 55.2 V, CCL 50 A, DCL 60 A, SOC 50 %, 52 V, −10 A, 25 °C.
pub fn bms() -> BatteryState {
    BatteryState {
        charge_voltage_limit: Millivolts(55_200),
        charge_current_limit: Milliamps(50_000),
        discharge_current_limit: Milliamps(60_000),
        soc: Permille(500),
        soh: Permille(1000),
        voltage: Millivolts(52_000),
        current: Milliamps(-10_000),
        temperature: DeciCelsius(250),
        charge_enable: true,
        discharge_enable: true,
        module_count: 1,
        ..BatteryState::default()
    }
}

/// The burst for `s` as SLCAN transmit lines (`tIIILDD…\r`), written by hand from the frames.
pub fn burst_lines(s: &BatteryState) -> Vec<u8> {
    let mut out = Vec::new();
    for m in frames(s, &EncodeOptions::default()) {
        let (d, n) = m.emit().unwrap();
        out.extend_from_slice(format!("t{:03X}{n}", m.id()).as_bytes());
        for b in &d[..n] {
            out.extend_from_slice(format!("{b:02X}").as_bytes());
        }
        out.push(b'\r');
    }
    out
}

/// `tIIIL<hex>` → (id, data).
pub fn parse_line(l: &[u8]) -> Option<(u16, Vec<u8>)> {
    let l = std::str::from_utf8(l).ok()?;
    let rest = l.strip_prefix('t')?;
    let id = u16::from_str_radix(rest.get(..3)?, 16).ok()?;
    let n = usize::from(rest.as_bytes().get(3)?.checked_sub(b'0')?);
    let data = (0..n)
        .map(|i| u8::from_str_radix(rest.get(4 + 2 * i..6 + 2 * i)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    Some((id, data))
}

/// (CCL, DCL) in 0.1 A of a 0x351's data.
pub fn limits(d: &[u8]) -> (i16, i16) {
    (
        i16::from_le_bytes([d[2], d[3]]),
        i16::from_le_bytes([d[4], d[5]]),
    )
}
