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
use std::sync::{Arc, Mutex};
use std::time::Duration;

use can_gateway::config::Config;
use can_gateway::engine::REQUIRED;
use can_gateway::simulated::spawn_bms_with;
use common::{Rig, bms};
use voltwire_core::{MilliampHours, Milliamps, Millivolts, Permille};
use voltwire_ess::{BatteryState, EncodeOptions, Flags, Millis, TelegramReader, frames};
use voltwire_pylontech::can::Message;
use voltwire_runtime::can::{CanBus as _, CanFrame, VirtualNode};
use voltwire_sim::{Faults, PackConfig, Plant};

const PERIOD: Duration = Duration::from_millis(100);
const TIMEOUT_S: f64 = 0.5;
const HOLD_S: f64 = 0.4;
/// How long to wait for something that must happen: generous, so that a loaded machine
/// cannot fail a test by being slow. The tests assert order and content, not speed (the
/// timing rules themselves are pinned with injected time in `tests/engine.rs` and in
/// `voltwire-ess`). Every test but the one with the simulated BMS (which keeps its own std
/// clock) runs on tokio's paused clock: the gateway, the feeders and the inverters all use
/// `tokio::time` and the in-process buses, so time advances only when every task waits.
const EVENTUALLY: Duration = Duration::from_secs(15);

/// Inputs `in0..` with `caps` Ah, outputs `out0..` as `(mode, scale, extra lines)`. The
/// burst window (30 ms) is shorter than every feeder's period (50 ms or more), as it must
/// be; the rule is the plain sum, which the older tests' numbers assume (tests of the
/// default rule remove that line with [`default_rule`]).
fn config(policy: &str, no_input: &str, caps: &[u32], outputs: &[(&str, f64, &str)]) -> String {
    let mut t = format!(
        "[gateway]\nfault_policy = \"{policy}\"\nno_input = \"{no_input}\"\nrecovery_hold_s = {HOLD_S}\n\
         current_rule = \"sum\"\nmax_charge_current_a = 250\nmax_discharge_current_a = 180\ntick_ms = 20\n"
    );
    for (i, c) in caps.iter().enumerate() {
        let _ = write!(
            t,
            "\n[[input]]\nname = \"bms{i}\"\nbus = \"virtual://in{i}\"\ncapacity_ah = {c}\ntimeout_s = {TIMEOUT_S}\nburst_window_ms = 30\n"
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

#[tokio::test(start_paused = true)]
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
    rig.wait_for(0, EVENTUALLY, "combined, half", |s| {
        s.soc == Permille(700)
            && s.charge_voltage_limit == Millivolts(55_200)
            && s.charge_current_limit == Milliamps(75_000)
            && s.discharge_current_limit == Milliamps(90_000)
            && s.charge_enable
            && s.discharge_enable
            && s.module_count == 2
    })
    .await;
    rig.wait_for(1, EVENTUALLY, "own charge limit", |s| {
        s.charge_current_limit == Milliamps(60_000)
            && s.discharge_current_limit == Milliamps(180_000)
            && s.soc == Permille(700)
    })
    .await;
    rig.wait_snapshot(EVENTUALLY, "normal mode", |v| {
        v["combined"]["mode"] == "normal" && v["combined"]["inputs_active"] == 2
    })
    .await;
    rig.stop().await;
}

#[tokio::test(start_paused = true)]
async fn one_input_stops_it_is_excluded_and_outputs_continue() {
    let cfg = config("exclude", "safe", &[100, 100], &[("push", 1.0, "")]);
    let a = bms(55_200, 50_000, 60_000, 500);
    let b = bms(55_200, 70_000, 80_000, 500);
    let rig = Rig::start(&cfg, &[Some(a), Some(b)], &[None], PERIOD).await;
    rig.wait_for(0, EVENTUALLY, "both", |s| {
        s.discharge_current_limit == Milliamps(140_000)
    })
    .await;
    let (seen, recorder) = record(rig.virtuals.get("out0").node());
    rig.inputs[1].send_replace(None);
    let took = rig
        .wait_for(0, EVENTUALLY, "bms1 excluded", |s| {
            s.discharge_current_limit == Milliamps(60_000)
                && s.charge_current_limit == Milliamps(50_000)
                && s.charge_enable
                && s.discharge_enable
        })
        .await;
    // Not before its timeout (its last telegram may have left one feeder period before it
    // was silenced).
    assert!(
        took + PERIOD >= Duration::from_secs_f64(TIMEOUT_S),
        "excluded after {took:?}, before the {TIMEOUT_S} s timeout"
    );
    // The inverter saw both, then input 0 alone: never anything in between (no safe state,
    // no zero limit, no disabled direction).
    wait_recorded(&seen, "input 0 alone recorded", |s| {
        s.discharge_current_limit == Milliamps(60_000)
    })
    .await;
    let dcls = distinct(&seen.lock().unwrap(), |s| {
        (
            s.discharge_current_limit,
            s.charge_enable && s.discharge_enable,
        )
    });
    assert_eq!(
        dcls,
        [(Milliamps(140_000), true), (Milliamps(60_000), true)],
        "the inverter's sequence"
    );
    recorder.abort();
    // Outputs continue while degraded.
    let before = rig.seen(0).telegrams;
    wait_telegrams(&rig, before + 2, "outputs continue while degraded").await;
    rig.wait_snapshot(EVENTUALLY, "degraded", |v| {
        v["combined"]["mode"] == "degraded"
            && v["inputs"][1]["status"] == "stale"
            && v["combined"]["alarms"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == "input_stale"))
    })
    .await;
    rig.stop().await;
}

#[tokio::test(start_paused = true)]
async fn block_policy_disables_all_when_one_stops() {
    let cfg = config("block", "safe", &[100, 100], &[("push", 1.0, "")]);
    let a = bms(55_200, 50_000, 60_000, 500);
    let rig = Rig::start(&cfg, &[Some(a), Some(a)], &[None], PERIOD).await;
    rig.wait_for(0, EVENTUALLY, "both", |s| {
        s.charge_current_limit == Milliamps(100_000)
    })
    .await;
    rig.inputs[0].send_replace(None);
    rig.wait_for(0, EVENTUALLY, "blocked", |s| {
        !s.charge_enable
            && !s.discharge_enable
            && s.charge_current_limit == Milliamps(0)
            && s.discharge_current_limit == Milliamps(0)
    })
    .await;
    rig.stop().await;
}

#[tokio::test(start_paused = true)]
async fn all_inputs_stop_then_disabled_frames_not_silence_then_recovery_with_hold() {
    let cfg = config("exclude", "safe", &[100, 100], &[("push", 1.0, "")]);
    let a = bms(55_200, 50_000, 60_000, 500);
    let rig = Rig::start(&cfg, &[Some(a), Some(a)], &[None], PERIOD).await;
    rig.wait_for(0, EVENTUALLY, "both", |s| {
        s.charge_current_limit == Milliamps(100_000)
    })
    .await;
    rig.inputs[0].send_replace(None);
    rig.inputs[1].send_replace(None);
    let took = rig
        .wait_for(0, EVENTUALLY, "safe state", |s| {
            !s.charge_enable
                && !s.discharge_enable
                && s.charge_current_limit == Milliamps(0)
                && s.discharge_current_limit == Milliamps(0)
        })
        .await;
    assert!(
        took + PERIOD >= Duration::from_secs_f64(TIMEOUT_S),
        "safe after {took:?}, before the {TIMEOUT_S} s timeout"
    );
    // Not silence: disabled frames keep coming.
    let before = rig.seen(0).telegrams;
    wait_telegrams(&rig, before + 2, "disabled frames keep coming").await;
    let s = rig.seen(0).state.unwrap();
    assert!(!s.charge_enable && !s.discharge_enable, "{s:?}");
    assert_eq!(s.charge_current_limit, Milliamps(0));
    // Recovery: input 0 speaks again; it is used only after the hold time.
    let back = tokio::time::Instant::now();
    rig.inputs[0].send_replace(Some(a));
    rig.wait_snapshot(EVENTUALLY, "recovering", |v| {
        v["inputs"][0]["status"] == "recovering"
    })
    .await;
    assert!(!rig.seen(0).state.unwrap().charge_enable);
    rig.wait_for(0, EVENTUALLY, "recovered", |s| {
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

#[tokio::test(start_paused = true)]
async fn silence_option_sends_nothing_without_inputs() {
    let cfg = config("exclude", "silence", &[100], &[("push", 1.0, "")]);
    let a = bms(55_200, 50_000, 60_000, 500);
    let rig = Rig::start(&cfg, &[Some(a)], &[None], PERIOD).await;
    rig.wait_for(0, EVENTUALLY, "on", |s| s.charge_enable).await;
    rig.inputs[0].send_replace(None);
    // (At start-up the mode is silent too, before the input is admitted: wait for the
    // input to be stale, not just for the mode.)
    rig.wait_snapshot(EVENTUALLY, "silent", |v| {
        v["combined"]["mode"] == "silent" && v["inputs"][0]["status"] == "stale"
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before = rig.seen(0).telegrams;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(rig.seen(0).telegrams, before, "frames sent while silent");
    rig.stop().await;
}

#[tokio::test(start_paused = true)]
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
    rig.wait_for(0, EVENTUALLY, "first answer", |s| s.charge_enable)
        .await;
    // Watch the inverter's bus: its 0x305 requests and the starts of the gateway's bursts
    // (0x359 is a burst's first frame).
    let events = Arc::new(Mutex::new(String::new()));
    let log = Arc::clone(&events);
    let mut node = rig.virtuals.get("out0").node();
    let watcher = tokio::spawn(async move {
        while let Ok(f) = node.recv().await {
            match f.id() {
                0x305 => log.lock().unwrap().push('R'),
                0x359 => log.lock().unwrap().push('B'),
                _ => {}
            }
        }
    });
    let start = tokio::time::Instant::now();
    while events.lock().unwrap().matches('B').count() < 4 {
        assert!(
            start.elapsed() < EVENTUALLY,
            "fewer than 4 answers: {}",
            events.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    watcher.abort();
    let events = events.lock().unwrap().clone();
    // Each burst answers a request: after the first burst seen, no two bursts without a
    // 0x305 between them (the own interval, 60 s, never elapses; the input's telegrams,
    // every 100 ms, do not trigger a sync output).
    let from_first = &events[events.find('B').unwrap()..];
    assert!(
        !from_first.contains("BB"),
        "a burst without a request: {events}"
    );
    rig.stop().await;
}

#[tokio::test(start_paused = true)]
async fn push_mode_follows_input_changes_in_order() {
    let cfg = config("exclude", "safe", &[100], &[("push", 1.0, "")]);
    let a = bms(55_200, 50_000, 60_000, 500);
    let rig = Rig::start(&cfg, &[Some(a)], &[None], Duration::from_millis(50)).await;
    rig.wait_for(0, EVENTUALLY, "on", |s| s.soc == Permille(500))
        .await;
    let (seen, recorder) = record(rig.virtuals.get("out0").node());
    let b = bms(55_200, 50_000, 60_000, 510);
    rig.inputs[0].send_replace(Some(b));
    rig.wait_for(0, EVENTUALLY, "new SOC", |s| s.soc == Permille(510))
        .await;
    // A few more bursts, then the order: the old SOC, then only the new one (no burst of
    // the old state after the new one, nothing else). How fast is pinned with injected time
    // in tests/engine.rs (min_delay_ms, interval_ms).
    let n = rig.seen(0).telegrams;
    wait_telegrams(&rig, n + 2, "bursts after the change").await;
    wait_recorded(&seen, "new SOC recorded", |s| s.soc == Permille(510)).await;
    let socs = distinct(&seen.lock().unwrap(), |s| s.soc);
    assert!(
        socs == [Permille(510)] || socs == [Permille(500), Permille(510)],
        "SOC sequence at the inverter: {socs:?}"
    );
    recorder.abort();
    rig.stop().await;
}

#[tokio::test(start_paused = true)]
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
    rig.wait_for(0, EVENTUALLY, "pylontech + sma combined", |s| {
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

/// `cfg` with the default current rule (capacity-weighted).
fn default_rule(cfg: &str) -> String {
    let out = cfg.replace("current_rule = \"sum\"\n", "");
    assert_ne!(out, cfg);
    out
}

/// The frames of `s` as a BMS sends them, with `patch` applied to each (id, data).
fn raw_burst(s: &BatteryState, patch: impl Fn(u16, &mut Vec<u8>)) -> Vec<CanFrame> {
    frames(s, &EncodeOptions::default())
        .iter()
        .map(|m| {
            let (d, n) = m.emit().unwrap();
            let mut data = d[..n].to_vec();
            patch(m.id(), &mut data);
            CanFrame::standard(m.id(), &data).unwrap()
        })
        .collect()
}

/// Send `bursts[k]` (each a list of frames) every `period`, in turn; the last one repeats.
fn feed_raw(
    mut node: VirtualNode,
    bursts: Vec<Vec<CanFrame>>,
    period: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut k = 0;
        loop {
            for f in &bursts[k.min(bursts.len() - 1)] {
                node.send(f).await.unwrap();
            }
            k += 1;
            tokio::time::sleep(period).await;
        }
    })
}

/// Every state an inverter on `node` decodes, in order.
fn record(mut node: VirtualNode) -> (Arc<Mutex<Vec<BatteryState>>>, tokio::task::JoinHandle<()>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let out = Arc::clone(&seen);
    let task = tokio::spawn(async move {
        let mut reader = TelegramReader::new(REQUIRED, 20);
        let start = tokio::time::Instant::now();
        while let Ok(f) = node.recv().await {
            let Ok(m) = Message::parse(u16::try_from(f.id()).unwrap(), f.data()) else {
                continue;
            };
            let now = Millis(start.elapsed().as_millis() as u64);
            if let Some(Ok(s)) = reader.push(m, now) {
                out.lock().unwrap().push(s);
            }
        }
    });
    (seen, task)
}

/// `key` of each state, consecutive repeats collapsed: the sequence of changes.
fn distinct<K: PartialEq>(states: &[BatteryState], key: impl Fn(&BatteryState) -> K) -> Vec<K> {
    let mut out: Vec<K> = Vec::new();
    for s in states {
        let k = key(s);
        if out.last() != Some(&k) {
            out.push(k);
        }
    }
    out
}

/// Wait until the latest state `record` recorded satisfies `pred`.
async fn wait_recorded(
    seen: &Mutex<Vec<BatteryState>>,
    what: &str,
    pred: impl Fn(&BatteryState) -> bool,
) {
    let start = tokio::time::Instant::now();
    loop {
        if seen.lock().unwrap().last().is_some_and(&pred) {
            return;
        }
        assert!(
            start.elapsed() < EVENTUALLY,
            "{what}: not within {EVENTUALLY:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Wait until inverter 0 has decoded at least `n` telegrams in all.
async fn wait_telegrams(rig: &Rig, n: u64, what: &str) {
    let start = tokio::time::Instant::now();
    while rig.seen(0).telegrams < n {
        assert!(
            start.elapsed() < EVENTUALLY,
            "{what}: {} of {n} telegrams within {EVENTUALLY:?}",
            rig.seen(0).telegrams
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// ---- issue 22 ---------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn default_rule_protects_the_weakest_battery_95_and_5_amps_give_10() {
    // Item 1: two equal 100 Ah batteries whose BMSes allow 95 A and 5 A.
    let cfg = default_rule(&config(
        "exclude",
        "safe",
        &[100, 100],
        &[("push", 1.0, "")],
    ));
    let a = bms(55_200, 95_000, 95_000, 500);
    let b = bms(55_200, 5_000, 5_000, 500);
    let rig = Rig::start(&cfg, &[Some(a), Some(b)], &[None], PERIOD).await;
    rig.wait_for(0, EVENTUALLY, "10 A, not 100 A", |s| {
        s.charge_current_limit == Milliamps(10_000)
            && s.discharge_current_limit == Milliamps(10_000)
            && s.charge_enable
            && s.discharge_enable
    })
    .await;
    rig.wait_snapshot(EVENTUALLY, "normal", |v| {
        v["combined"]["mode"] == "normal" && v["combined"]["charge_current_limit_a"] == 10.0
    })
    .await;
    rig.stop().await;
}

// Real time: the simulated BMS runs on its own (std) clock.
#[tokio::test]
async fn overvoltage_bms_disables_charge_for_the_stack_and_its_flag_reaches_the_inverter() {
    // Item 2, with the simulated BMS of `voltwire sim pylontech-can --fault
    // cell-overvoltage` on input 0 (CCL 0, charge disabled, over-voltage protection) and a
    // healthy BMS allowing 50 A / 60 A on input 1. Before: `ce=1 ccl=50 prot=0`.
    for policy in ["exclude", "block"] {
        let cfg = default_rule(&config(policy, "safe", &[100, 100], &[("push", 1.0, "")]));
        let ok = bms(55_200, 50_000, 60_000, 500);
        let rig = Rig::start(&cfg, &[None, Some(ok)], &[None], PERIOD).await;
        let plant = Plant::new(vec![PackConfig {
            capacity: MilliampHours(100_000),
            initial_soc: 0.9,
            ..PackConfig::default()
        }]);
        let faults = Faults {
            cell_over_voltage: true,
            ..Faults::default()
        };
        // Sim time 10× real: a burst every 100 ms.
        let _sim = spawn_bms_with(rig.virtuals.get("in0").node(), plant, 10.0, faults);
        rig.wait_for(0, EVENTUALLY, "charge off, protection passed on", |s| {
            !s.charge_enable
                && s.charge_current_limit == Milliamps(0)
                && s.errors.contains(Flags::HIGH_VOLTAGE)
                // Discharge goes on: the sim allows 50 A (0.5 C), the other 60 A: 2 × 50 A.
                && s.discharge_enable
                && s.discharge_current_limit == Milliamps(100_000)
        })
        .await;
        rig.wait_snapshot(EVENTUALLY, "blocking input", |v| {
            v["inputs"][0]["status"] == "blocking"
                && v["combined"]["alarms"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x == "input_blocking"))
        })
        .await;
        // It stays that way: never charge enabled while the BMS is in protection.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let s = rig.seen(0).state.unwrap();
        assert!(
            !s.charge_enable && s.errors.contains(Flags::HIGH_VOLTAGE),
            "{policy}: {s:?}"
        );
        rig.stop().await;
    }
}

#[tokio::test(start_paused = true)]
async fn implausible_telegrams_make_an_input_faulty() {
    // Item 3: input 0 sends CCL 0x7FFF (3276.7 A); input 1 is healthy (50 A / 60 A).
    let cfg = default_rule(&config(
        "exclude",
        "safe",
        &[100, 100],
        &[("push", 1.0, "")],
    ));
    let ok = bms(55_200, 50_000, 60_000, 500);
    let rig = Rig::start(&cfg, &[None, Some(ok)], &[None], PERIOD).await;
    let wild = raw_burst(&ok, |id, d| {
        if id == 0x351 {
            d[2..4].copy_from_slice(&0x7FFFu16.to_le_bytes());
        }
    });
    let feeder = feed_raw(rig.virtuals.get("in0").node(), vec![wild], PERIOD);
    // Not the cable cap (250 A): input 0 is left out, input 1 alone.
    rig.wait_snapshot(EVENTUALLY, "implausible input", |v| {
        v["inputs"][0]["status"] == "implausible"
            && v["inputs"][0]["implausible"].as_u64().unwrap_or(0) >= 2
            && v["inputs"][0]["implausible_field"]["field"] == "charge_current_limit"
            && v["inputs"][0]["implausible_field"]["value"] == 3_276_700
            && v["inputs"][1]["status"] == "active"
            && v["combined"]["alarms"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == "input_implausible"))
    })
    .await;
    rig.wait_for(0, EVENTUALLY, "input 1 alone", |s| {
        s.charge_current_limit == Milliamps(50_000)
            && s.discharge_current_limit == Milliamps(60_000)
    })
    .await;
    feeder.abort();
    rig.stop().await;

    // A lone BMS announcing CVL 0xFFFF (6553.5 V) never reaches the inverter: safe state.
    let cfg = default_rule(&config("exclude", "safe", &[100], &[("push", 1.0, "")]));
    let rig = Rig::start(&cfg, &[None], &[None], PERIOD).await;
    let wild = raw_burst(&ok, |id, d| {
        if id == 0x351 {
            d[0..2].copy_from_slice(&0xFFFFu16.to_le_bytes());
        }
    });
    let feeder = feed_raw(rig.virtuals.get("in0").node(), vec![wild], PERIOD);
    rig.wait_snapshot(EVENTUALLY, "implausible CVL", |v| {
        v["inputs"][0]["status"] == "implausible"
            && v["inputs"][0]["implausible_field"]["field"] == "charge_voltage_limit"
            && v["combined"]["mode"] == "safe"
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let s = rig.seen(0).state.unwrap();
    assert!(!s.charge_enable && !s.discharge_enable, "{s:?}");
    assert_eq!(s.charge_current_limit, Milliamps(0));
    assert_ne!(s.charge_voltage_limit, Millivolts(6_553_500));
    feeder.abort();
    rig.stop().await;

    // A lone BMS sending CCL 0x8000 (-3276.8 A): 0 A, never +3276.8 A (nor the cable cap).
    let rig = Rig::start(&cfg, &[None], &[None], PERIOD).await;
    let neg = raw_burst(&ok, |id, d| {
        if id == 0x351 {
            d[2..4].copy_from_slice(&0x8000u16.to_le_bytes());
        }
    });
    let feeder = feed_raw(rig.virtuals.get("in0").node(), vec![neg], PERIOD);
    rig.wait_for(0, EVENTUALLY, "CCL 0 A", |s| {
        s.charge_current_limit == Milliamps(0) && s.discharge_current_limit == Milliamps(60_000)
    })
    .await;
    rig.wait_snapshot(EVENTUALLY, "active", |v| {
        v["inputs"][0]["status"] == "active" && v["inputs"][0]["implausible"] == 0
    })
    .await;
    feeder.abort();
    rig.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_lost_frame_never_mixes_two_bursts_at_the_inverter() {
    // Item 4: bursts every 100 ms: 80 A discharge enabled; then one burst of 71 A still
    // enabled whose first frame (0x359) is lost; then 71 A with discharge disabled. Mixing
    // bursts told the inverter "71 A discharge, enabled" one burst late.
    let cfg = default_rule(&config("exclude", "safe", &[100], &[("push", 1.0, "")]));
    let rig = Rig::start(&cfg, &[None], &[None], PERIOD).await;
    let (seen, recorder) = record(rig.virtuals.get("out0").node());
    let b1 = raw_burst(&bms(55_200, 50_000, 80_000, 500), |_, _| {});
    let mut b2 = raw_burst(&bms(55_200, 50_000, 71_000, 500), |_, _| {});
    b2.retain(|f| f.id() != 0x359);
    // 71 A in 0x351, discharge enable (0x40) off in 0x35C.
    let b3 = raw_burst(&bms(55_200, 50_000, 71_000, 500), |id, d| {
        if id == 0x35C {
            d[0] &= !0x40;
        }
    });
    let mut bursts = vec![b1; 12];
    bursts.push(b2);
    bursts.push(b3);
    let feeder = feed_raw(rig.virtuals.get("in0").node(), bursts, PERIOD);
    rig.wait_for(0, EVENTUALLY, "discharge disabled", |s| {
        !s.discharge_enable && s.discharge_current_limit == Milliamps(0) && s.charge_enable
    })
    .await;
    rig.wait_snapshot(EVENTUALLY, "one incomplete burst", |v| {
        v["inputs"][0]["incomplete_bursts"] == 1
    })
    .await;
    let states = seen.lock().unwrap().clone();
    assert!(
        states
            .iter()
            .any(|s| s.discharge_enable && s.discharge_current_limit == Milliamps(80_000)),
        "80 A never seen"
    );
    for s in &states {
        // Never 71 A with discharge enabled: the BMS never sent that in one burst that
        // arrived whole.
        assert!(
            !(s.discharge_enable && s.discharge_current_limit == Milliamps(71_000)),
            "mixed telegram reached the inverter: {s:?}"
        );
    }
    feeder.abort();
    recorder.abort();
    rig.stop().await;
}

#[tokio::test(start_paused = true)]
async fn an_input_and_an_output_on_one_bus_are_refused() {
    // Item 5: refused at --check-config and at start (both go through Config::parse).
    let cfg = config("exclude", "safe", &[100], &[("push", 1.0, "")])
        .replace("virtual://out0", "virtual://in0");
    let e = Config::parse(&cfg, std::path::Path::new("t.toml")).unwrap_err();
    assert!(
        e.contains("output[0].bus") && e.contains("input[0].bus") && e.contains("own bus"),
        "{e}"
    );
    // One 40 A BMS configured twice would give 80 A: refused too.
    let cfg = config("exclude", "safe", &[100, 100], &[("push", 1.0, "")])
        .replace("virtual://in1", "virtual://in0");
    let e = Config::parse(&cfg, std::path::Path::new("t.toml")).unwrap_err();
    assert!(
        e.contains("input[1].bus") && e.contains("input[0].bus"),
        "{e}"
    );
}

#[tokio::test(start_paused = true)]
async fn own_output_read_back_on_an_input_does_not_keep_it_alive() {
    // Item 5: the output's wire also reaches the input (two adapters on one bus, which no
    // configuration check can see): a bridge copies every frame of out0 onto in0. The only
    // BMS dies; the gateway must not go on reading its own `ccl=60 ce=1` as a live BMS.
    let cfg = default_rule(&config("exclude", "safe", &[100], &[("push", 1.0, "")]));
    let a = bms(55_200, 60_000, 60_000, 500);
    let rig = Rig::start(&cfg, &[Some(a)], &[None], PERIOD).await;
    let mut from = rig.virtuals.get("out0").node();
    let mut to = rig.virtuals.get("in0").node();
    let bridge = tokio::spawn(async move {
        while let Ok(f) = from.recv().await {
            let _ = to.send(&f).await;
        }
    });
    rig.wait_for(0, EVENTUALLY, "ccl 60 A", |s| {
        s.charge_enable && s.charge_current_limit == Milliamps(60_000)
    })
    .await;
    rig.inputs[0].send_replace(None);
    rig.wait_for(0, EVENTUALLY, "safe after the BMS died", |s| {
        !s.charge_enable && !s.discharge_enable && s.charge_current_limit == Milliamps(0)
    })
    .await;
    rig.wait_snapshot(EVENTUALLY, "own frames counted", |v| {
        v["inputs"][0]["status"] == "stale"
            && v["inputs"][0]["own_frames"].as_u64().unwrap_or(0) > 0
    })
    .await;
    // And it stays safe while our own frames keep coming back.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let s = rig.seen(0).state.unwrap();
    assert!(!s.charge_enable && !s.discharge_enable, "{s:?}");
    bridge.abort();
    rig.stop().await;
}
