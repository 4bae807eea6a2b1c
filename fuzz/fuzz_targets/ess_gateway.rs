//! Arbitrary frames on up to four BMS inputs, through the telegram assembler, the domain
//! gateway (exclusion, hold, safe state), per-output limits and the burst encoder: no panic;
//! an output never announces more than the stack limits; a disabled direction has a zero
//! limit; every frame of the burst encodes and parses back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voltwire_core::{MilliampHours, Milliamps};
use voltwire_ess::{
    BatteryState, CombineConfig, CurrentRule, EncodeOptions, Extensions, FaultPolicy, Gateway,
    GatewayConfig, InputConfig, Millis, NoInputPolicy, OutputConfig, PYLONTECH_TELEGRAM, Ratio,
    TelegramReader, frames, limit_output,
};
use voltwire_pylontech::can::Message;

fuzz_target!(|input: &[u8]| {
    let Some((&[flags, scale, ..], rest)) = input.split_first_chunk::<4>() else {
        return;
    };
    let n = usize::from(flags & 3) + 1;
    let cfg = GatewayConfig::<4> {
        inputs: (0..n)
            .map(|i| InputConfig::new(MilliampHours(100_000 * (i as i64 + 1)), 500))
            .collect(),
        combine: CombineConfig {
            current_rule: match (flags >> 2) & 3 {
                0 => CurrentRule::Sum,
                1 => CurrentRule::SmallestTimesCount,
                _ => CurrentRule::CapacityWeighted,
            },
            max_charge_current: Milliamps(200_000),
            max_discharge_current: Milliamps(300_000),
        },
        fault_policy: if flags & 0x10 != 0 {
            FaultPolicy::Block
        } else {
            FaultPolicy::Exclude
        },
        no_input: if flags & 0x20 != 0 {
            NoInputPolicy::Silence
        } else {
            NoInputPolicy::SafeOutput
        },
        recovery_hold_ms: u64::from(flags >> 6) * 100,
    };
    let out_cfg = OutputConfig {
        current_scale: Ratio::permille(u32::from(scale) * 8),
        ..OutputConfig::default()
    };
    let opts = EncodeOptions {
        extensions: Some(Extensions::default()),
        ..EncodeOptions::default()
    };
    let mut gw = Gateway::new(cfg);
    let mut readers = [TelegramReader::new(PYLONTECH_TELEGRAM, 1000); 4];
    let mut latest: [Option<(BatteryState, Millis)>; 4] = [None; 4];
    let mut now = 0u64;
    for rec in rest.chunks(12) {
        let [who, id_lo, len, step, data @ ..] = rec else {
            break;
        };
        let i = usize::from(*who) % n;
        now = now.wrapping_add(u64::from(*step) * 4);
        let data = &data[..usize::from(*len % 9).min(data.len())];
        if let Ok(m) = Message::parse(0x350 | u16::from(*id_lo & 0xF), data) {
            if let Some(Ok(s)) = readers[i].push(m, Millis(now)) {
                latest[i] = Some((s, Millis(now)));
            }
        }
        let o = gw.step(&latest[..n], Millis(now));
        if let Some(s) = o.state {
            let s = limit_output(&s, &out_cfg);
            assert!(s.charge_current_limit.0 <= 200_000 && s.charge_current_limit.0 >= 0);
            assert!(s.discharge_current_limit.0 <= 300_000 && s.discharge_current_limit.0 >= 0);
            if !s.charge_enable {
                assert_eq!(s.charge_current_limit.0, 0);
            }
            for m in frames(&s, &opts) {
                let (d, len) = m.emit().expect("every burst frame encodes");
                assert_eq!(Message::parse(m.id(), &d[..len]), Ok(m));
            }
        }
    }
});
