//! The `voltwire decode` contract, run as a user runs it: real captures in, JSON Lines out,
//! exit status as documented.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::format_collect,
    clippy::type_complexity,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::case_sensitive_file_extension_comparisons,
    reason = "test code"
)]

use std::process::Output;

mod common;
use common::{close, lines};

fn voltwire(args: &[&str], stdin: Option<&[u8]>) -> Output {
    common::run(args, stdin)
}

fn testdata(file: &str) -> String {
    format!(
        "{}/../../testdata/victron/{file}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn mppt_block_values() {
    let out = voltwire(
        &[
            "decode",
            "vedirect",
            &testdata("bluesolar-75-15-fw123-karioja-block1.bin"),
        ],
        None,
    );
    assert!(out.status.success(), "{out:?}");
    let objs = lines(&out);
    assert_eq!(objs.len(), 1);
    let r = &objs[0];
    assert_eq!(r["protocol"], "vedirect");
    assert_eq!(r["type"], "record");
    assert_eq!(r["offset"], 0);
    assert_eq!(r["product_id"]["hex"], "0xA042");
    assert_eq!(r["product_id"]["name"], "BlueSolar MPPT 75/15");
    assert_eq!(r["serial_number"], "HQ1411MYIKN");
    assert_eq!(r["firmware_version"], "1.23");
    assert!(close(&r["battery_voltage_v"], 12.53));
    assert!(close(&r["battery_current_a"], 0.64));
    assert!(close(&r["panel_voltage_v"], 31.39));
    assert!(close(&r["panel_power_w"], 8.0));
    assert_eq!(r["state"]["code"], 3);
    assert_eq!(r["state"]["name"], "bulk");
    // The charger's ERR field, apart from the `error` of decode errors.
    assert_eq!(r["charger_error"]["name"], "no_error");
    assert!(r.get("error").is_none());
    assert_eq!(r["load_output"], true);
    assert!(close(&r["load_current_a"], 0.0));
    assert!(close(&r["yield_total_wh"], 82_720.0));
    assert!(close(&r["yield_today_wh"], 0.0));
    assert!(close(&r["max_power_today_w"], 11.0));
    assert!(close(&r["yield_yesterday_wh"], 250.0));
    assert!(close(&r["max_power_yesterday_w"], 119.0));
    assert_eq!(r["day_sequence"], 274);
}

#[test]
fn bmv_block_with_colon_checksum_and_negative_values() {
    let out = voltwire(
        &[
            "decode",
            "vedirect",
            &testdata("bmv700-fw308-karioja-checksum-colon.bin"),
        ],
        None,
    );
    assert!(out.status.success());
    let r = &lines(&out)[0];
    assert_eq!(r["product_id"]["name"], "BMV-700");
    assert!(close(&r["battery_voltage_v"], 12.164));
    assert!(close(&r["battery_current_a"], -2.674)); // discharging: negative
    assert!(close(&r["power_w"], -33.0));
    assert!(close(&r["consumed_ah"], -65.887));
    assert!(close(&r["soc_pct"], 83.7));
    assert_eq!(r["time_to_go_s"], 2199 * 60);
    assert_eq!(r["alarm"], false);
    assert_eq!(r["alarm_reason"]["raw"], 0);
    assert_eq!(r["model_description"], "700");
    assert_eq!(r["firmware_version"], "3.08");
}

#[test]
fn split_record_is_one_object_and_hex_frames_come_first() {
    let file = testdata("smartsolar-150-70-rev3-fw316-kindr007-split-record-async-hex.bin");
    let objs = lines(&voltwire(&["decode", "vedirect", &file], None));
    let records: Vec<_> = objs.iter().filter(|o| o["type"] == "record").collect();
    assert_eq!(records.len(), 1, "two blocks, one record: {objs:?}");
    let r = records[0];
    // Fields of the first block ...
    assert!(close(&r["panel_voltage_v"], 103.87));
    assert_eq!(r["tracker_mode"]["name"], "mpp_tracker_active");
    // ... and of the second.
    assert_eq!(r["day_sequence"], 2);
    assert!(close(&r["yield_total_wh"], 11_580.0));
    assert_eq!(objs.iter().filter(|o| o["type"] != "record").count(), 6);
}

#[test]
fn bmv_dump_main_and_history_blocks_join() {
    let out = voltwire(
        &[
            "decode",
            "vedirect",
            &testdata("bmv700-fw308-karioja-dump.bin"),
        ],
        None,
    );
    assert!(out.status.success());
    let objs = lines(&out);
    let records: Vec<_> = objs.iter().filter(|o| o["type"] == "record").collect();
    // 906 blocks = 453 cycles of main + history.
    assert_eq!(records.len(), 453);
    for r in &records {
        assert!(r.get("battery_voltage_v").is_some() && r.get("charged_energy_wh").is_some());
    }
    // The recording ends inside a block: one `truncated` error, exit status still 0.
    let errors: Vec<_> = objs.iter().filter(|o| o["type"] == "error").collect();
    // `select(.error)` picks exactly the decode errors.
    assert_eq!(
        objs.iter().filter(|o| o.get("error").is_some()).count(),
        errors.len()
    );
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["error"], "truncated");
}

#[test]
fn bad_checksum_is_reported_and_nothing_decoded_exits_1() {
    let out = voltwire(
        &[
            "decode",
            "vedirect",
            &testdata("multi-rs-solar-fw109-kindr007-bad-checksum.bin"),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let objs = lines(&out);
    assert_eq!(objs.len(), 1);
    assert_eq!(objs[0]["error"], "checksum");
    assert_eq!(objs[0]["offset"], 0);
    assert!(String::from_utf8_lossy(&out.stderr).contains("checksum"));
}

#[test]
fn stdin_hex_input_and_resync_after_garbage() {
    let block = std::fs::read(testdata("bluesolar-75-15-fw123-karioja-block1.bin")).unwrap();
    let mut stream = b"garbage\xff\x00".to_vec();
    stream.extend_from_slice(&block);
    let hex: String = stream.iter().map(|b| format!("{b:02x} ")).collect();
    let out = voltwire(&["decode", "vedirect", "--hex", "-"], Some(hex.as_bytes()));
    assert!(out.status.success(), "{out:?}");
    let objs = lines(&out);
    assert_eq!(objs.len(), 1);
    assert_eq!(objs[0]["offset"], 9);
    assert!(close(&objs[0]["battery_voltage_v"], 12.53));
}

#[test]
fn hex_frames_decode() {
    // Victron FAQ and community examples (see testdata/victron/hex-frames.txt), a real async
    // frame from a SmartSolar, and one frame with a wrong checksum.
    let input = b":7F0ED0071\n:A0102000543\n:ABCED0045A10000BC\n:51641F9\n:7001000C80076\n:4AAAAFD\n:7001000C80077\n";
    let out = voltwire(&["decode", "vedirect"], Some(input));
    assert!(out.status.success(), "{out:?}");
    let objs = lines(&out);
    assert_eq!(objs.len(), 7);
    assert_eq!(objs[0]["type"], "hex_get");
    assert_eq!(objs[0]["register"], "0xEDF0");
    assert_eq!(objs[0]["register_name"], "battery_max_current");
    assert_eq!(objs[1]["type"], "hex_async");
    assert_eq!(objs[1]["device_state"]["name"], "float");
    assert_eq!(objs[1]["offset"], 11);
    assert!(close(&objs[2]["panel_power_w"], 412.85));
    assert_eq!(objs[3]["type"], "hex_ping_response");
    assert_eq!(objs[3]["firmware_version"], "1.16");
    assert_eq!(objs[4]["type"], "hex_get_response");
    assert!(close(&objs[4]["battery_capacity_ah"], 200.0));
    assert_eq!(objs[5]["type"], "hex_error");
    assert_eq!(objs[6]["error"], "hex_checksum");
    assert_eq!(objs[6]["offset"], 76);
}

#[test]
fn async_history_record_between_blocks() {
    let file = testdata("bluesolar-75-15-fw123-karioja-async-hex-between-blocks.bin");
    let objs = lines(&voltwire(&["decode", "vedirect", &file], None));
    let types: Vec<_> = objs.iter().map(|o| o["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["record", "hex_async", "record"]);
    let day = &objs[1]["history_day_0"];
    // Cross-check with the TEXT block beside it: HSDS 274, H21 (max power today) 11 W.
    assert_eq!(day["day_sequence"], 274);
    assert!(close(&day["max_power_w"], 11.0));
    assert!(close(&day["battery_voltage_max_v"], 12.61));
}

#[test]
fn usage_errors_exit_2() {
    let out = voltwire(&["decode", "nosuch", "-"], Some(b""));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("vedirect"));
    let out = voltwire(&["decode", "vedirect", "--hex"], Some(b"0d0g"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a hex digit"));
    let out = voltwire(&["decode", "vedirect", "/nonexistent/capture.bin"], None);
    assert_eq!(out.status.code(), Some(2));
    let out = voltwire(&["decode", "vedirect", "--command", "42"], Some(b""));
    assert_eq!(out.status.code(), Some(2));
    let out = voltwire(&["decode"], None);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn empty_input_exits_1_and_list_names_protocols() {
    assert_eq!(
        voltwire(&["decode", "vedirect"], Some(b"")).status.code(),
        Some(1)
    );
    let out = voltwire(&["decode", "--list"], None);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("vedirect"));
    let help = voltwire(&["--help"], None);
    assert!(String::from_utf8_lossy(&help.stdout).contains("JSON Lines"));
}

/// The unit suffixes in `text` after `marker`, up to the closing parenthesis or semicolon.
fn suffixes(text: &str, marker: &str) -> Vec<String> {
    let at = text.find(marker).unwrap_or_else(|| panic!("no {marker:?}")) + marker.len();
    let rest = &text[at..];
    let end = rest.find([')', ';']).unwrap();
    let mut v: Vec<String> = rest[..end]
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with('_'))
        .map(str::to_owned)
        .collect();
    v.sort();
    v
}

#[test]
fn help_describes_every_subcommand_and_the_readmes_list_its_unit_suffixes() {
    let help = common::run(&["--help"], None);
    let help = String::from_utf8(help.stdout).unwrap();
    for sub in ["decode", "poll", "sim"] {
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(sub) && l.len() > sub.len() + 10),
            "{sub} not described: {help}"
        );
    }
    let sim_help = String::from_utf8(common::run(&["sim", "--help"], None).stdout).unwrap();
    assert!(sim_help.contains("slcan-pty"), "{sim_help}");
    let flat = help.split_whitespace().collect::<Vec<_>>().join(" ");
    let from_help = suffixes(&flat, "key suffix (");
    assert!(from_help.len() >= 9, "{from_help:?}");
    let root =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let app = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert_eq!(suffixes(&root, "key suffix ("), from_help);
    assert_eq!(suffixes(&app, "key suffix ("), from_help);
}
