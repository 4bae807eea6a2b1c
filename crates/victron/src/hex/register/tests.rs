//! Register table and value tests.
use super::*;
use crate::hex::HexError;
use proptest::prelude::*;
use voltwire_core::{
    EncodeError, MilliampHours, Milliamps, Millivolts, VoltAmperes, WattHours, Watts,
};

fn info(id: u16) -> &'static RegisterInfo {
    lookup(id).unwrap()
}

#[test]
fn table_is_sorted_unique_and_complete() {
    assert!(REGISTERS.windows(2).all(|w| w[0].id < w[1].id));
    for (i, a) in REGISTERS.iter().enumerate() {
        assert!(
            REGISTERS[i + 1..].iter().all(|b| b.name != a.name),
            "{}",
            a.name
        );
        assert!(
            a.name
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
        );
        assert_eq!(lookup(a.id), Some(a));
        assert_eq!(lookup_name(a.name), Some(a));
    }
    // Every register of the notes' §2.3 table is present.
    for id in [
        0x0100, 0x0102, 0x010A, 0x010B, 0x0120, 0x0140, 0x0200, 0x0201, 0x0202, 0x0205, 0x0207,
        0x031C, 0x031E, 0x034E, 0x0FFE, 0x0FFF, 0x1000, 0x104F, 0x2002, 0x2007, 0x200D, 0x200E,
        0x200F, 0x2013, 0x2015, 0x2027, 0x2200, 0x2201, 0x2205, 0xED8C, 0xED8D, 0xED8E, 0xED8F,
        0xEDA8, 0xEDA9, 0xEDAD, 0xEDB3, 0xEDBB, 0xEDBC, 0xEDBD, 0xEDD0, 0xEDD1, 0xEDD2, 0xEDD3,
        0xEDD5, 0xEDD7, 0xEDDA, 0xEDDB, 0xEDDC, 0xEDDD, 0xEDEC, 0xEDF0, 0xEDF6, 0xEDF7, 0xEEB8,
        0xECCB, 0xECDB, 0xECEB, 0xECFB,
    ] {
        assert!(lookup(id).is_some(), "0x{id:04X}");
    }
    for d in 0x1050..=0x106E {
        assert!(is_history_day(d));
        assert_eq!(lookup(d).unwrap().value_type, ValueType::Bytes);
    }
    assert!(!is_history_day(0x104F));
    assert!(lookup(0x1234).is_none());
    assert!(lookup_name("nope").is_none());
}

#[test]
fn nvm_flags() {
    assert!(may_write_nvm(id::BATTERY_MAX_CURRENT));
    assert!(may_write_nvm(id::BATTERY_FLOAT_VOLTAGE));
    assert!(may_write_nvm(id::BATTERY_ABSORPTION_VOLTAGE));
    assert!(may_write_nvm(0xEDE0));
    assert!(!may_write_nvm(id::DEVICE_MODE));
    assert!(info(0xEDF0).nvm && !info(0xEDBB).nvm);
}

#[test]
fn faq_battery_capacity() {
    // :7001000C80076 → 200 Ah; :70010007800C6 → 120 Ah.
    let v = RegisterValue::decode(info(0x1000), &[0xC8, 0x00]).unwrap();
    let r = v.reading().unwrap();
    assert_eq!(r.raw, 200);
    assert_eq!(r.milliamp_hours(), Some(MilliampHours(200_000)));
    assert_eq!(r.si_unit(), "Ah");
    let v = RegisterValue::decode(info(0x1000), &[0x78, 0x00]).unwrap();
    assert_eq!(
        v.reading().unwrap().milliamp_hours(),
        Some(MilliampHours(120_000))
    );
}

#[test]
fn real_async_values() {
    // (register, value bytes, raw, si value, si unit) from KinDR007 / vedirect-rs captures.
    let cases: &[(u16, &[u8], i64, f64, &str)] = &[
        (0x0120, &[0x24, 0x70, 0x03, 0x00], 225_316, 225_316.0, "s"),
        (0xEDDB, &[0xBF, 0x0A], 2751, 27.51, "°C"),
        (0xEDBC, &[0x45, 0xA1, 0x00, 0x00], 41_285, 412.85, "W"),
        (0xEDBB, &[0x8D, 0x28], 10_381, 103.81, "V"),
        (0xEDD5, &[0x97, 0x14], 5271, 52.71, "V"),
        (0xED8F, &[0x0D, 0x00], 13, 1.3, "A"),
        (0xED8D, &[0x9B, 0x13], 5019, 50.19, "V"),
        (0xEDEC, &[0xCE, 0x72], 29_390, 293.9, "K"),
        (0x0201, &[0x05], 5, 5.0, ""),
    ];
    for &(id, bytes, raw, si, unit) in cases {
        let v = RegisterValue::decode(info(id), bytes).unwrap();
        let r = v.reading().unwrap();
        assert_eq!(r.raw, raw, "0x{id:04X}");
        assert!(
            (r.si_value() - si).abs() < 1e-9,
            "0x{id:04X}: {}",
            r.si_value()
        );
        assert_eq!(r.si_unit(), unit);
        assert_eq!(v.encode(info(id)).unwrap().as_slice(), bytes);
    }
    let r = *RegisterValue::decode(info(0xEDD5), &[0x97, 0x14])
        .unwrap()
        .reading()
        .unwrap();
    assert_eq!(r.millivolts(), Some(Millivolts(52_710)));
    assert_eq!(r.milliamps(), None);
    let r = *RegisterValue::decode(info(0xED8F), &[0x0D, 0x00])
        .unwrap()
        .reading()
        .unwrap();
    assert_eq!(r.milliamps(), Some(Milliamps(1_300)));
    // 0.01 W is finer than Watts: no lossy accessor.
    let r = *RegisterValue::decode(info(0xEDBC), &[0x45, 0xA1, 0, 0])
        .unwrap()
        .reading()
        .unwrap();
    assert_eq!(r.watts(), None);
    assert_eq!(r.unit.core_scale(), None);
}

#[test]
fn signed_and_sentinels() {
    let v = RegisterValue::decode(info(0xED8F), &[0xF6, 0xFF]).unwrap();
    assert_eq!(v.reading().unwrap().milliamps(), Some(Milliamps(-1_000)));
    for (id, bytes) in [
        (0x0200, &[0xFFu8][..]),
        (0xEDEC, &[0xFF, 0xFF]),
        (0x0102, &[0xFF, 0xFF, 0xFF]),
        (0x2027, &[0xFF, 0xFF, 0xFF, 0xFF]),
        (0xED8F, &[0xFF, 0x7F]),
        (0x2013, &[0xFF, 0xFF, 0xFF, 0x7F]),
    ] {
        let v = RegisterValue::decode(info(id), bytes).unwrap();
        assert_eq!(v, RegisterValue::NotAvailable, "0x{id:04X}");
        assert_eq!(v.encode(info(id)).unwrap().as_slice(), bytes);
    }
    // Bit fields have no sentinel.
    let v = RegisterValue::decode(info(0x0207), &[0xFF; 4]).unwrap();
    assert_eq!(v.reading().unwrap().raw, 0xFFFF_FFFF);
    assert_eq!(
        RegisterValue::NotAvailable.encode(info(0x0207)),
        Err(EncodeError::OutOfRange {
            field: "device_off_reason_2"
        })
    );
    // Sn8 sentinel per the notes.
    assert_eq!(ValueType::Sn8.sentinel(), Some(0x7F));
    assert_eq!(ValueType::Sn8.read(&[0x80]), Some(-128));
}

#[test]
fn text_and_bytes() {
    let v = RegisterValue::decode(info(0x010A), b"HQ2247EP3FN\0\0").unwrap();
    assert_eq!(v.text(), Some("HQ2247EP3FN"));
    assert_eq!(
        v.encode(info(0x010A)).unwrap().as_slice(),
        b"HQ2247EP3FN\0\0"
    );
    let v = RegisterValue::decode(info(0x0100), &[0xFF, 0xA0, 0x53]).unwrap();
    assert_eq!(
        v,
        RegisterValue::Bytes(ValueBytes::from_slice(&[0xFF, 0xA0, 0x53]).unwrap())
    );
    assert_eq!(v.text(), None);
    let v = RegisterValue::decode_register(0x1234, &[1, 2]).unwrap();
    assert!(matches!(v, RegisterValue::Bytes(_)));
    assert_eq!(
        RegisterValue::decode_register(0x1234, &[0; 35]),
        Err(HexError::ValueLength {
            register: 0x1234,
            expected: 34,
            actual: 35
        })
    );
}

#[test]
fn length_errors() {
    assert_eq!(
        RegisterValue::decode(info(0xEDBB), &[1]),
        Err(HexError::ValueLength {
            register: 0xEDBB,
            expected: 2,
            actual: 1
        })
    );
    assert_eq!(
        RegisterValue::decode(info(0x1055), &[0; 3]),
        Err(HexError::ValueLength {
            register: 0x1055,
            expected: 34,
            actual: 3
        })
    );
}

#[test]
fn history_through_registers() {
    let day = [
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xED, 0x04, 0xC6, 0x04, 0x00, 0x00,
        0x00, 0x00, 0x00, 0xC2, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0B, 0x00, 0x00, 0x00, 0x09, 0x00,
        0xC8, 0x0D, 0x12, 0x01,
    ];
    let v = RegisterValue::decode(info(0x1050), &day).unwrap();
    let RegisterValue::Day(d) = &v else {
        panic!("{v:?}")
    };
    assert_eq!(d.day_sequence, 274);
    assert_eq!(d.max_power, Some(Watts(11)));
    assert_eq!(v.encode(info(0x1050)).unwrap().as_slice(), day.as_slice());
    assert!(v.encode(info(0x104F)).is_err());
    let t = RegisterValue::decode(info(0x104F), &day).unwrap();
    assert!(matches!(t, RegisterValue::Total(_)));
    assert_eq!(t.encode(info(0x104F)).unwrap().as_slice(), day.as_slice());
}

#[test]
fn encode_for_set() {
    // Set float voltage 13.50 V.
    let r = Reading::from_millivolts(Unit::CentiVolt, Millivolts(13_500)).unwrap();
    let v = RegisterValue::Number(r);
    assert_eq!(v.encode(info(0xEDF6)).unwrap().as_slice(), &[0x46, 0x05]);
    assert_eq!(
        Reading::from_millivolts(Unit::CentiVolt, Millivolts(13_505)),
        Err(EncodeError::Precision { field: "voltage" })
    );
    assert_eq!(
        Reading::from_millivolts(Unit::DeciAmp, Millivolts(13_500)),
        Err(EncodeError::OutOfRange { field: "unit" })
    );
    // Wrong unit for the register.
    assert_eq!(
        v.encode(info(0xEDF0)),
        Err(EncodeError::OutOfRange { field: "unit" })
    );
    // Out of the un16 range.
    let big = RegisterValue::Number(Reading {
        raw: 70_000,
        unit: Unit::CentiVolt,
    });
    assert_eq!(
        big.encode(info(0xEDF6)),
        Err(EncodeError::OutOfRange {
            field: "battery_float_voltage"
        })
    );
    // The sentinel value itself is refused as a number.
    let s = RegisterValue::Number(Reading {
        raw: 0xFFFF,
        unit: Unit::CentiVolt,
    });
    assert!(s.encode(info(0xEDF6)).is_err());
    // Other constructors.
    assert_eq!(
        Reading::from_milliamps(Unit::DeciAmp, Milliamps(15_000))
            .unwrap()
            .raw,
        150
    );
    assert_eq!(Reading::from_watts(Unit::Watt, Watts(5)).unwrap().raw, 5);
    assert_eq!(
        Reading::from_watt_hours(Unit::CentiKiloWattHour, WattHours(1_230))
            .unwrap()
            .raw,
        123
    );
    assert_eq!(
        Reading::from_volt_amperes(Unit::VoltAmpere, VoltAmperes(7))
            .unwrap()
            .raw,
        7
    );
    assert_eq!(
        Reading::from_milliamp_hours(Unit::AmpHour, MilliampHours(200_000))
            .unwrap()
            .raw,
        200
    );
    assert_eq!(
        Reading {
            raw: 3,
            unit: Unit::Minute
        }
        .seconds(),
        Some(180)
    );
}

proptest! {
    #[test]
    fn numeric_round_trip(i in 0..REGISTERS.len(), raw in any::<u32>()) {
        let info = &REGISTERS[i];
        if let Some(width) = info.value_type.width() {
            let bytes = &raw.to_le_bytes()[..width];
            let v = RegisterValue::decode(info, bytes).unwrap();
            prop_assert_eq!(v.encode(info).unwrap().to_vec(), bytes.to_vec());
        }
    }

    #[test]
    fn decode_never_panics(i in 0..REGISTERS.len(), bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
        if let Ok(v) = RegisterValue::decode(&REGISTERS[i], &bytes) {
            prop_assert_eq!(v.encode(&REGISTERS[i]).unwrap().to_vec(), bytes);
        }
    }
}
