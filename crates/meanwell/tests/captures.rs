//! The Mean Well frames in `testdata/meanwell/` (constructed vectors: no real capture exists
//! yet) decode to `expected.json` and emit back to their bytes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::cast_possible_wrap,
    clippy::cast_possible_truncation,
    reason = "test code"
)]

use std::path::PathBuf;

use serde_json::Value as J;
use voltwire_meanwell::{Body, Direction, Family, Message, Target, Value};

fn testdata() -> PathBuf {
    std::env::var_os("VOLTWIRE_TESTDATA")
        .map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata"),
            PathBuf::from,
        )
        .join("meanwell")
}

#[test]
fn constructed_vectors() {
    let expected: Vec<J> =
        serde_json::from_str(&std::fs::read_to_string(testdata().join("expected.json")).unwrap())
            .unwrap();
    let log = std::fs::read_to_string(testdata().join("constructed-vectors.log")).unwrap();
    let mut n = 0;
    for (i, line) in log.lines().enumerate() {
        let (id, data) = line.split_once('#').unwrap();
        let id = u32::from_str_radix(id, 16).unwrap();
        let data: Vec<u8> = (0..data.len())
            .step_by(2)
            .map(|k| u8::from_str_radix(&data[k..k + 2], 16).unwrap())
            .collect();
        let want = expected
            .iter()
            .find(|e| e["line"].as_u64() == Some(i as u64 + 1))
            .unwrap_or_else(|| panic!("line {} missing from expected.json", i + 1));
        let m = Message::parse(id, &data).unwrap();
        let fam = match m.family {
            Family::Bic2200 => "BIC-2200",
            Family::Npb => "NPB",
            other => panic!("no capture of family {other:?}"),
        };
        assert_eq!(fam, want["family"]);
        assert_eq!(m.body.direction(), Direction::Request);
        assert_eq!(
            m.target,
            Target::Device(want["target"].as_u64().unwrap() as u8)
        );
        assert_eq!(
            u64::from(m.body.command().0),
            want["command"].as_u64().unwrap()
        );
        match (want["kind"].as_str().unwrap(), m.body) {
            ("read", Body::Read(_)) => {}
            ("write", Body::Write(v)) => {
                assert_eq!(v.command().name(), want["value"].as_str());
                match v {
                    Value::VoutSet(mv) | Value::ReverseVoutSet(mv) => {
                        assert_eq!(i64::from(mv.0), want["millivolts"].as_i64().unwrap());
                    }
                    Value::Operation(r) => assert_eq!(u64::from(r), want["raw"].as_u64().unwrap()),
                    Value::BidirectionalConfig(r) => {
                        assert_eq!(u64::from(r), want["raw"].as_u64().unwrap());
                    }
                    Value::SystemConfig(c) => {
                        assert_eq!(u64::from(c.0), want["raw"].as_u64().unwrap());
                        assert_eq!(c.can_control(), want["can_control"].as_bool().unwrap());
                        assert_eq!(c.operation_init().name(), want["operation_init"]);
                        assert_eq!(
                            c.eeprom_write_disabled(),
                            want["eeprom_write_disabled"].as_bool().unwrap()
                        );
                    }
                    other => panic!("{other:?}"),
                }
            }
            other => panic!("{other:?}"),
        }
        let (out, len) = m.emit().unwrap();
        assert_eq!(&out[..len], &data[..]);
        assert_eq!(m.id(), id);
        n += 1;
    }
    assert_eq!(n, expected.len());
    // Absolute: the nine constructed vectors (a lost line or an emptied file fails here).
    assert_eq!(n, 9);
}
