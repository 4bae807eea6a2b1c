//! Closed loop on in-process buses: chosen BMS states in (as real Pylontech frames), the
//! real gateway, simulated inverters decoding what it presents.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::missing_panics_doc,
    clippy::float_cmp,
    clippy::too_many_lines,
    clippy::duration_suboptimal_units,
    clippy::cast_possible_truncation,
    reason = "test code"
)]

mod common;

use std::fmt::Write as _;
use std::time::Duration;

use common::{Rig, bms};
use voltwire_core::{Milliamps, Millivolts, Permille};

const PERIOD: Duration = Duration::from_millis(100);
const TIMEOUT_S: f64 = 0.5;
const HOLD_S: f64 = 0.4;
/// Timeout + one tick + one feeder period + one burst, with room for a loaded CI machine.
const SLACK: Duration = Duration::from_millis(400);

/// Inputs `in0..` with `caps` Ah, outputs `out0..` as `(mode, scale, extra lines)`.
fn config(policy: &str, no_input: &str, caps: &[u32], outputs: &[(&str, f64, &str)]) -> String {
    let mut t = format!(
        "[gateway]\nfault_policy = \"{policy}\"\nno_input = \"{no_input}\"\nrecovery_hold_s = {HOLD_S}\n\
         current_rule = \"sum\"\nmax_charge_current_a = 250\nmax_discharge_current_a = 180\ntick_ms = 20\n"
    );
    for (i, c) in caps.iter().enumerate() {
        let _ = write!(
            t,
            "\n[[input]]\nname = \"bms{i}\"\nbus = \"virtual://in{i}\"\ncapacity_ah = {c}\ntimeout_s = {TIMEOUT_S}\n"
        );
    }
    for (o, (mode, scale, extra)) in outputs.iter().enumerate() {
        let _ = write!(
            t,
            "\n[[output]]\nname = \"inv{o}\"\nbus = \"virtual://out{o}\"\nmode = \"{mode}\"\n\
             interval_ms = 200\nmin_delay_ms = 0\ncurrent_scale = {scale}\n{extra}\n"
        );
    }
    t
}

#[tokio::test]
async fn mixed_capacities_combine_and_scale_per_output() {
    let cfg = config(
        "exclude",
        "safe",
        &[100, 200],
        &[
            ("push", 0.5, ""),
            ("push", 1.0, "max_charge_current_a = 60"),
        ],
    );
    let a = bms(55_200, 50_000, 100_000, 500);
    let b = bms(56_000, 100_000, 100_000, 800);
    let rig = Rig::start(&cfg, &[Some(a), Some(b)], &[None, None], PERIOD).await;
    // Capacity-weighted SOC (50·100 + 80·200) / 300 = 70 %; CVL = min; CCL = 50 + 100 A;
    // DCL = 200 A clamped to the stack's 180 A.
    rig.wait_for(0, Duration::from_secs(3), "combined, half", |s| {
        s.soc == Permille(700)
            && s.charge_voltage_limit == Millivolts(55_200)
            && s.charge_current_limit == Milliamps(75_000)
            && s.discharge_current_limit == Milliamps(90_000)
            && s.charge_enable
            && s.discharge_enable
            && s.module_count == 2
    })
    .await;
    rig.wait_for(1, Duration::from_secs(1), "own charge limit", |s| {
        s.charge_current_limit == Milliamps(60_000)
            && s.discharge_current_limit == Milliamps(180_000)
            && s.soc == Permille(700)
    })
    .await;
    rig.wait_snapshot(Duration::from_secs(1), "normal mode", |v| {
        v["combined"]["mode"] == "normal" && v["combined"]["inputs_active"] == 2
    })
    .await;
    rig.stop().await;
}

#[tokio::test]
async fn one_input_stops_it_is_excluded_and_outputs_continue() {
    let cfg = config("exclude", "safe", &[100, 100], &[("push", 1.0, "")]);
    let a = bms(55_200, 50_000, 60_000, 500);
    let b = bms(55_200, 70_000, 80_000, 500);
    let rig = Rig::start(&cfg, &[Some(a), Some(b)], &[None], PERIOD).await;
    rig.wait_for(0, Duration::from_secs(3), "both", |s| {
        s.discharge_current_limit == Milliamps(140_000)
    })
    .await;
    rig.inputs[1].send_replace(None);
    let took = rig
        .wait_for(0, Duration::from_secs(2), "bms1 excluded", |s| {
            s.discharge_current_limit == Milliamps(60_000)
                && s.charge_current_limit == Milliamps(50_000)
                && s.charge_enable
                && s.discharge_enable
        })
        .await;
    // Excluded no later than its timeout plus a tick, a feeder period and a burst.
    assert!(
        took <= Duration::from_secs_f64(TIMEOUT_S) + SLACK,
        "excluded after {took:?}"
    );
    // Outputs continue while degraded.
    let before = rig.seen(0).telegrams;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(rig.seen(0).telegrams >= before + 2, "output stopped");
    rig.wait_snapshot(Duration::from_secs(1), "degraded", |v| {
        v["combined"]["mode"] == "degraded"
            && v["inputs"][1]["status"] == "stale"
            && v["combined"]["alarms"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == "input_stale"))
    })
    .await;
    rig.stop().await;
}

#[tokio::test]
async fn block_policy_disables_all_when_one_stops() {
    let cfg = config("block", "safe", &[100, 100], &[("push", 1.0, "")]);
    let a = bms(55_200, 50_000, 60_000, 500);
    let rig = Rig::start(&cfg, &[Some(a), Some(a)], &[None], PERIOD).await;
    rig.wait_for(0, Duration::from_secs(3), "both", |s| {
        s.charge_current_limit == Milliamps(100_000)
    })
    .await;
    rig.inputs[0].send_replace(None);
    rig.wait_for(0, Duration::from_secs(2), "blocked", |s| {
        !s.charge_enable
            && !s.discharge_enable
            && s.charge_current_limit == Milliamps(0)
            && s.discharge_current_limit == Milliamps(0)
    })
    .await;
    rig.stop().await;
}

#[tokio::test]
async fn all_inputs_stop_then_disabled_frames_not_silence_then_recovery_with_hold() {
    let cfg = config("exclude", "safe", &[100, 100], &[("push", 1.0, "")]);
    let a = bms(55_200, 50_000, 60_000, 500);
    let rig = Rig::start(&cfg, &[Some(a), Some(a)], &[None], PERIOD).await;
    rig.wait_for(0, Duration::from_secs(3), "both", |s| {
        s.charge_current_limit == Milliamps(100_000)
    })
    .await;
    rig.inputs[0].send_replace(None);
    rig.inputs[1].send_replace(None);
    let took = rig
        .wait_for(0, Duration::from_secs(2), "safe state", |s| {
            !s.charge_enable
                && !s.discharge_enable
                && s.charge_current_limit == Milliamps(0)
                && s.discharge_current_limit == Milliamps(0)
        })
        .await;
    assert!(
        took <= Duration::from_secs_f64(TIMEOUT_S) + SLACK,
        "safe after {took:?}"
    );
    // Not silence: disabled frames keep coming.
    let before = rig.seen(0).telegrams;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(rig.seen(0).telegrams >= before + 2);
    assert!(!rig.seen(0).state.unwrap().charge_enable);
    // Recovery: input 0 speaks again; it is used only after the hold time.
    let back = tokio::time::Instant::now();
    rig.inputs[0].send_replace(Some(a));
    rig.wait_snapshot(Duration::from_secs(1), "recovering", |v| {
        v["inputs"][0]["status"] == "recovering"
    })
    .await;
    assert!(!rig.seen(0).state.unwrap().charge_enable);
    rig.wait_for(0, Duration::from_secs(2), "recovered", |s| {
        s.charge_enable && s.charge_current_limit == Milliamps(50_000)
    })
    .await;
    let after = back.elapsed();
    assert!(
        after >= Duration::from_secs_f64(HOLD_S),
        "admitted after {after:?}, before the {HOLD_S} s hold"
    );
    rig.stop().await;
}

#[tokio::test]
async fn silence_option_sends_nothing_without_inputs() {
    let cfg = config("exclude", "silence", &[100], &[("push", 1.0, "")]);
    let a = bms(55_200, 50_000, 60_000, 500);
    let rig = Rig::start(&cfg, &[Some(a)], &[None], PERIOD).await;
    rig.wait_for(0, Duration::from_secs(3), "on", |s| s.charge_enable)
        .await;
    rig.inputs[0].send_replace(None);
    // (At start-up the mode is silent too, before the input is admitted: wait for the
    // input to be stale, not just for the mode.)
    rig.wait_snapshot(Duration::from_secs(2), "silent", |v| {
        v["combined"]["mode"] == "silent" && v["inputs"][0]["status"] == "stale"
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before = rig.seen(0).telegrams;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(rig.seen(0).telegrams, before, "frames sent while silent");
    rig.stop().await;
}

#[tokio::test]
async fn sync_mode_answers_the_inverters_0x305() {
    // Sync output with a long own interval: only the inverter's requests bring bursts.
    let mut cfg = config("exclude", "safe", &[100], &[("sync", 1.0, "")]);
    cfg = cfg.replace("interval_ms = 200", "interval_ms = 60000");
    let a = bms(55_200, 50_000, 60_000, 500);
    let rig = Rig::start(
        &cfg,
        &[Some(a)],
        &[Some(Duration::from_millis(300))],
        PERIOD,
    )
    .await;
    rig.wait_for(0, Duration::from_secs(3), "first answer", |s| {
        s.charge_enable
    })
    .await;
    let n0 = rig.seen(0).telegrams;
    tokio::time::sleep(Duration::from_millis(1_250)).await;
    let n = rig.seen(0).telegrams - n0;
    // About one burst per 0x305 (300 ms) — not one per input telegram (100 ms).
    assert!((2..=7).contains(&n), "{n} bursts in 1.25 s");
    rig.stop().await;
}

#[tokio::test]
async fn push_mode_follows_input_changes_quickly() {
    let cfg = config("exclude", "safe", &[100], &[("push", 1.0, "")]);
    let a = bms(55_200, 50_000, 60_000, 500);
    let rig = Rig::start(&cfg, &[Some(a)], &[None], Duration::from_millis(50)).await;
    rig.wait_for(0, Duration::from_secs(3), "on", |s| s.soc == Permille(500))
        .await;
    let b = bms(55_200, 50_000, 60_000, 510);
    rig.inputs[0].send_replace(Some(b));
    let took = rig
        .wait_for(0, Duration::from_secs(1), "new SOC", |s| {
            s.soc == Permille(510)
        })
        .await;
    assert!(took < Duration::from_millis(300), "change took {took:?}");
    rig.stop().await;
}

#[tokio::test]
async fn sma_dialect_input_combines_with_a_pylontech_one() {
    use voltwire_runtime::can::{CanBus as _, CanFrame};
    let cfg = config("exclude", "safe", &[100, 100], &[("push", 1.0, "")]).replace(
        "bus = \"virtual://in1\"",
        "bus = \"virtual://in1\"\ndialect = \"sma\"",
    );
    let a = bms(55_200, 50_000, 60_000, 500);
    let rig = Rig::start(&cfg, &[Some(a), None], &[None], PERIOD).await;
    // Input 1 speaks the SMA/Victron dialect only: no 0x359, no 0x35C; 0x35A all "OK".
    let mut node = rig.virtuals.get("in1").node();
    let sma: [(u32, &[u8]); 5] = [
        (0x351, &[0x28, 0x02, 0x20, 0x03, 0x20, 0x03, 0xA0, 0x01]), // 55.2 V, 80 A, 80 A
        (0x355, &[0x46, 0, 0x64, 0, 0, 0, 0, 0]),                   // 70 %, 100 %
        (0x356, &[0x4E, 0x14, 0x9C, 0xFF, 0xD7, 0, 0, 0]),          // 51.98 V, -10 A, 21.5 °C
        (0x35A, &[0xAA; 8]),
        (0x372, &[2, 0, 0, 0, 0, 0, 0, 0]), // 2 modules online
    ];
    let feeder = tokio::spawn(async move {
        loop {
            for (id, d) in sma {
                node.send(&CanFrame::data_frame(id, false, d).unwrap())
                    .await
                    .unwrap();
            }
            tokio::time::sleep(PERIOD).await;
        }
    });
    // CCL 50 + 80 A, DCL 60 + 80 A, SOC (50 + 70) / 2 = 60 %, modules 1 + 2.
    rig.wait_for(0, Duration::from_secs(3), "pylontech + sma combined", |s| {
        s.charge_current_limit == Milliamps(130_000)
            && s.discharge_current_limit == Milliamps(140_000)
            && s.soc == Permille(600)
            && s.module_count == 3
            && s.charge_enable
            && s.discharge_enable
    })
    .await;
    feeder.abort();
    rig.stop().await;
}
