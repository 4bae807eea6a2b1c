//! The SLCAN byte streams in `testdata/slcan/` decode to `expected.json`, fed whole and at
//! every chunk size, and every line re-encodes to its exact bytes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::format_collect,
    reason = "test code"
)]

use std::path::PathBuf;

use embedded_can::Frame as _;
use serde_json::Value as J;
use voltwire_core::{Emit, StreamDecoder};
use voltwire_slcan::{AdapterDecoder, Command, HostDecoder, Response};

fn testdata() -> PathBuf {
    std::env::var_os("VOLTWIRE_TESTDATA")
        .map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata"),
            PathBuf::from,
        )
        .join("slcan")
}

fn bytes_of<E: Emit>(e: &E) -> Vec<u8> {
    let mut b = [0u8; 64];
    let n = e.emit(&mut b).unwrap();
    b[..n].to_vec()
}

fn check_response(r: &Response, want: &J) {
    let Response::Frame(f) = r else {
        panic!("{r:?}")
    };
    assert_eq!(want["type"], "frame");
    assert_eq!(u64::from(f.frame.id()), want["id"].as_u64().unwrap());
    assert_eq!(f.frame.is_extended(), want["extended"].as_bool().unwrap());
    assert_eq!(f.frame.is_remote_frame(), want["remote"].as_bool().unwrap());
    assert_eq!(f.frame.dlc() as u64, want["dlc"].as_u64().unwrap());
    let hex: String = f.frame.data().iter().map(|b| format!("{b:02X}")).collect();
    assert_eq!(hex, want["data_hex"].as_str().unwrap());
    assert_eq!(f.timestamp.map(u64::from), want["timestamp_ms"].as_u64());
}

fn check_command(c: &Command, want: &J) {
    let t = want["type"].as_str().unwrap();
    match (t, c) {
        ("close", Command::Close) | ("open", Command::Open) | ("empty", Command::Empty) => {}
        ("bitrate", Command::Bitrate(n)) => {
            assert_eq!(u64::from(*n), want["code"].as_u64().unwrap());
        }
        _ => panic!("{t} vs {c:?}"),
    }
}

#[test]
fn every_file_at_every_chunk_size() {
    let expected: J =
        serde_json::from_str(&std::fs::read_to_string(testdata().join("expected.json")).unwrap())
            .unwrap();
    let specs = expected.as_object().unwrap();
    // Every capture on disk has its expectations, and there is something to check.
    let mut on_disk: Vec<String> = std::fs::read_dir(testdata())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| {
            std::path::Path::new(n)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("bin"))
        })
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = specs.keys().cloned().collect();
    listed.sort();
    assert_eq!(listed, on_disk, "expected.json against the .bin files");
    assert!(listed.len() >= 3, "{listed:?}");
    let (mut files_checked, mut items_checked) = (0, 0);
    for (file, spec) in specs {
        let input = std::fs::read(testdata().join(file)).unwrap();
        let items = spec["items"].as_array().unwrap();
        assert!(!items.is_empty(), "{file}: no items to check");
        assert!(!input.is_empty(), "{file}");
        for chunk in 1..=input.len() {
            let mut reencoded = Vec::new();
            let mut n = 0;
            if spec["role"] == "host" {
                let mut d = HostDecoder::new();
                for c in input.chunks(chunk) {
                    d.feed_all(c, |l| {
                        assert_eq!(l.offset, items[n]["offset"].as_u64().unwrap(), "{file}");
                        let r = l.value.unwrap();
                        check_response(&r, &items[n]);
                        reencoded.extend(bytes_of(&r));
                        n += 1;
                    });
                }
                assert_eq!(d.dropped_bytes(), 0);
            } else {
                let mut d = AdapterDecoder::new();
                for c in input.chunks(chunk) {
                    d.feed_all(c, |l| {
                        assert_eq!(l.offset, items[n]["offset"].as_u64().unwrap(), "{file}");
                        let c = l.value.unwrap();
                        check_command(&c, &items[n]);
                        reencoded.extend(bytes_of(&c));
                        n += 1;
                    });
                }
                assert_eq!(d.dropped_bytes(), 0);
            }
            assert_eq!(n, items.len(), "{file} chunk {chunk}");
            assert_eq!(reencoded, input, "{file}");
        }
        files_checked += 1;
        items_checked += items.len();
    }
    // python-can's test lines (4), the constructed file (2) and the open sequence (5).
    assert_eq!((files_checked, items_checked), (3, 11));
}
