//! `voltwire decode meanwell-can` on the constructed Mean Well frames (no real capture yet).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "test code"
)]

use std::process::Output;

mod common;
use common::{close, lines};

fn voltwire(args: &[&str]) -> Output {
    common::run(args, None)
}

fn testdata(file: &str) -> String {
    format!("{}/../../testdata/{file}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn constructed_vectors() {
    let out = voltwire(&[
        "decode",
        "meanwell-can",
        &testdata("meanwell/constructed-vectors.log"),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v = lines(&out);
    assert_eq!(v.len(), 9);
    assert_eq!(v[0]["type"], "read");
    assert_eq!(v[0]["command"]["name"], "read_vout");
    assert_eq!(v[0]["family"], "BIC-2200");
    assert!(close(&v[1]["vout_set_v"], 27.0));
    assert_eq!(v[2]["operation"]["name"], "on");
    assert!(close(&v[3]["reverse_vout_set_v"], 24.4));
    assert_eq!(v[5]["eeprom_write_disabled"], true);
    assert_eq!(v[5]["can_control"], true);
    assert_eq!(v[6]["family"], "NPB");
    assert_eq!(v[6]["target"], 3);
    assert_eq!(v[8]["command"]["name"], "chg_status");
}

#[test]
fn replies_and_errors() {
    let dir = voltwire_testkit::scratch_dir("meanwell-can");
    let capture = dir.join("capture");
    std::fs::write(&capture, "000C0201#61002EFB\n000C0001#6100D007\n000C02FF#C1002000\n000C0300#2000\n000C0300#20008C\n351#00\n").unwrap();
    let out = voltwire(&["decode", "meanwell-can", capture.to_str().unwrap()]);
    let v = lines(&out);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(close(&v[0]["iout_a"], -12.34));
    assert!(close(&v[1]["iout_a"], 20.0));
    assert_eq!(v[2]["target"], "broadcast");
    assert_eq!(v[2]["initializing"], false);
    assert_eq!(v[3]["type"], "read");
    assert_eq!(v[4]["error"], "bad_value_length");
    assert_eq!(v[5]["error"], "standard_id");
}
