//! The JSON contract (docs/json.md), pinned: one capture per protocol (and two with decode
//! errors) decoded by `voltwire decode`, compared line by line with `tests/golden/*.jsonl`.
//! After an intended change, regenerate with `VOLTWIRE_BLESS=1 cargo test -p voltwire --test
//! golden` and review the diff.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "test code"
)]

mod common;

/// (golden name, protocol, capture under testdata/, extra arguments, exit status)
const CASES: &[(&str, &str, &str, &[&str], i32)] = &[
    (
        "vedirect",
        "vedirect",
        "victron/smartsolar-150-70-rev3-fw316-kindr007-split-record-async-hex.bin",
        &[],
        0,
    ),
    (
        "vedirect-errors",
        "vedirect",
        "victron/multi-rs-solar-fw109-kindr007-bad-checksum.bin",
        &[],
        1,
    ),
    (
        "daly",
        "daly",
        "daly/mppsolar-session-status-noise-temperatures.bin",
        &[],
        0,
    ),
    ("jk", "jk", "jk/reply-16s-lfp-bd6a17s6p-fw710h.bin", &[], 0),
    (
        "jk-errors",
        "jk",
        "jk/reply-20s-vendor-example-bad-checksum.bin",
        &[],
        1,
    ),
    (
        "jk-pb",
        "jk-pb",
        "jk/pb-block-status-b2a8s20p-fw1117-ble-1.bin",
        &[],
        0,
    ),
    (
        "pace",
        "pace",
        "pace/nk-resp-0x42-16s.bin",
        &["--command", "42"],
        0,
    ),
    (
        "pylontech-rs485",
        "pylontech-rs485",
        "pylontech/rs485/us2000-resp-0x42-all-3-modules.bin",
        &["--command", "42"],
        0,
    ),
    (
        "pylontech-can",
        "pylontech-can",
        "pylontech/can/bms-gateway-5-module-stack-inverter-0x305.log",
        &[],
        0,
    ),
    (
        "meanwell-can",
        "meanwell-can",
        "meanwell/constructed-vectors.log",
        &[],
        0,
    ),
    (
        "slcan",
        "slcan",
        "slcan/constructed-timestamp-and-meanwell.bin",
        &[],
        0,
    ),
];

#[test]
fn every_protocol_matches_its_golden_file() {
    let bless = std::env::var_os("VOLTWIRE_BLESS").is_some();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden");
    let mut failed = Vec::new();
    for (name, protocol, capture, extra, status) in CASES {
        let path = common::testdata_path(capture);
        let mut args = vec!["decode", protocol, path.as_str()];
        args.extend_from_slice(extra);
        let out = common::run(&args, None);
        assert_eq!(out.status.code(), Some(*status), "{name}");
        let got = String::from_utf8(out.stdout).unwrap();
        // Every line is one JSON object with the common keys.
        for l in got.lines() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["protocol"], *protocol, "{name}: {l}");
            assert!(v["type"].is_string(), "{name}: {l}");
            assert!(v["offset"].is_u64(), "{name}: {l}");
            assert_eq!(
                v.get("error").is_some(),
                v["type"] == "error",
                "{name}: `error` marks decode errors only: {l}"
            );
        }
        let file = format!("{dir}/{name}.jsonl");
        if bless {
            std::fs::write(&file, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("{file}: {e} (VOLTWIRE_BLESS=1 writes it)"));
        if got != want {
            let first = got
                .lines()
                .zip(want.lines())
                .position(|(g, w)| g != w)
                .unwrap_or(got.lines().count().min(want.lines().count()));
            failed.push(format!(
                "{name}: line {} differs\n  got:  {}\n  want: {}",
                first + 1,
                got.lines().nth(first).unwrap_or("<none>"),
                want.lines().nth(first).unwrap_or("<none>")
            ));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
