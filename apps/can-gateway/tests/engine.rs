//! The engine's scheduling and commands with injected time (issue 21): no clock, no bus,
//! no sleeps. Frames go in through `Engine::on_frame` at chosen `Millis`, bursts come out of
//! `Engine::due`; every test states the exact milliseconds at which a burst is (not) due
//! and the exact values it carries.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::missing_panics_doc,
    clippy::too_many_lines,
    clippy::many_single_char_names,
    reason = "test code"
)]

use std::fmt::Write as _;
use std::path::Path;

use can_gateway::bus::Endpoint;
use can_gateway::config::Config;
use can_gateway::engine::{Burst, Command, Engine};
use can_gateway::telemetry;
use voltwire_core::{DeciCelsius, Milliamps, Millivolts, Permille};
use voltwire_ess::{
    BatteryState, Direction, EncodeOptions, Flags, InputStatus, Millis, Mode, SetpointError, frames,
};
use voltwire_pylontech::can::{
    CanMessage as _, InverterRequest, Message, ModuleCounts, Part, Telegram,
};
use voltwire_runtime::can::CanFrame;

/// A plausible 16-cell LFP BMS (100 Ah, rated 100 A).
fn bms(ccl: i32, dcl: i32, soc: i16) -> BatteryState {
    BatteryState {
        charge_voltage_limit: Millivolts(55_200),
        charge_current_limit: Milliamps(ccl),
        discharge_current_limit: Milliamps(dcl),
        soc: Permille(soc),
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

/// `n` inputs of 100 Ah (hold 0, timeout 3 s, plain-sum rule, stack limits 250 A) and one
/// output with `output` lines. The output scales by 1/2, so that its frames never equal an
/// input's (which the engine would take for its own output read back).
fn engine(n: usize, output: &str) -> Engine {
    let mut t = String::from(
        "[gateway]\nrecovery_hold_s = 0\ncurrent_rule = \"sum\"\nmax_charge_current_a = 250\n\
         max_discharge_current_a = 250\ntick_ms = 20\n",
    );
    for i in 0..n {
        let _ = write!(
            t,
            "\n[[input]]\nname = \"bms{i}\"\nbus = \"virtual://in{i}\"\ncapacity_ah = 100\n\
             timeout_s = 3\nburst_window_ms = 30\n"
        );
    }
    let _ = write!(
        t,
        "\n[[output]]\nname = \"inv0\"\nbus = \"virtual://out0\"\ncurrent_scale = 0.5\n{output}\n"
    );
    let settings = Config::parse(&t, Path::new("engine.toml")).unwrap();
    Engine::new(&settings)
}

fn push(interval_ms: u64, min_delay_ms: u64) -> String {
    format!("mode = \"push\"\ninterval_ms = {interval_ms}\nmin_delay_ms = {min_delay_ms}")
}

fn sync(interval_ms: u64, min_delay_ms: u64) -> String {
    format!("mode = \"sync\"\ninterval_ms = {interval_ms}\nmin_delay_ms = {min_delay_ms}")
}

/// Input `i`'s BMS sends `s` (its Pylontech burst) at `t`; then the engine steps, as the
/// app does after a completed telegram. Returns whether a telegram completed.
fn telegram(e: &mut Engine, i: usize, s: &BatteryState, t: u64) -> bool {
    let mut completed = false;
    for m in frames(s, &EncodeOptions::default()) {
        let (d, n) = m.emit().unwrap();
        let f = CanFrame::standard(m.id(), &d[..n]).unwrap();
        completed |= e.on_frame(Endpoint::Input(i), &f, Millis(t));
    }
    e.step(Millis(t));
    completed
}

/// The inverter on output 0 sends 0x305 at `t`.
fn request(e: &mut Engine, t: u64) -> bool {
    let (d, n) = InverterRequest::zeros().emit().unwrap();
    let f = CanFrame::standard(0x305, &d[..n]).unwrap();
    e.on_frame(Endpoint::Output(0), &f, Millis(t))
}

/// The bursts due at `t`, each reported written at once (as a bus task that keeps up
/// does), so that `bursts` counts them.
fn due(e: &mut Engine, t: u64) -> Vec<Burst> {
    let mut out = Vec::new();
    e.due(Millis(t), &mut out);
    for b in &out {
        e.burst_done(b.output, true, Millis(t));
    }
    out
}

/// The one burst due at `t`, decoded.
fn one(e: &mut Engine, t: u64) -> BatteryState {
    let b = due(e, t);
    assert_eq!(b.len(), 1, "one burst due at {t} ms");
    assert_eq!(b[0].output, 0);
    decode(&b[0]).0
}

/// The milliseconds in `from..=to` (1 ms steps) at which a burst is due.
fn due_times(e: &mut Engine, from: u64, to: u64) -> Vec<u64> {
    (from..=to).filter(|t| !due(e, *t).is_empty()).collect()
}

/// A burst as an inverter decodes it, with its 0x372 module counts if present; the ids in
/// sending order.
fn decode(b: &Burst) -> (BatteryState, Option<ModuleCounts>, Vec<u32>) {
    let mut t = Telegram::new();
    let mut ids = Vec::new();
    for f in &b.frames {
        ids.push(f.id());
        let m = Message::parse(u16::try_from(f.id()).unwrap(), f.data()).unwrap();
        t.insert(m);
    }
    let counts = match t.get(Part::ModuleCounts) {
        Some(Message::ModuleCounts(c)) => Some(*c),
        _ => None,
    };
    (BatteryState::try_from(&t).unwrap(), counts, ids)
}

// ---- push ---------------------------------------------------------------------------------

#[test]
fn push_first_burst_at_once_then_periodic() {
    let mut e = engine(1, &push(1_000, 100));
    // Nothing to present before the first step.
    assert!(due(&mut e, 0).is_empty());
    assert!(telegram(&mut e, 0, &bms(50_000, 60_000, 500), 0));
    let s = one(&mut e, 0);
    // 1/2 of 50 A / 60 A.
    assert_eq!(s.charge_current_limit, Milliamps(25_000));
    assert_eq!(s.discharge_current_limit, Milliamps(30_000));
    assert_eq!(s.soc, Permille(500));
    // Nothing new: the next burst exactly one interval later, then every interval.
    assert_eq!(due_times(&mut e, 1, 3_000), [1_000, 2_000, 3_000]);
    assert_eq!(e.outputs[0].bursts, 4);
    assert_eq!(e.outputs[0].last_sent, Some(Millis(3_000)));
}

#[test]
fn push_new_telegram_after_the_minimum_delay() {
    let mut e = engine(1, &push(1_000, 100));
    telegram(&mut e, 0, &bms(50_000, 60_000, 500), 0);
    assert_eq!(one(&mut e, 0).soc, Permille(500));
    // A changed telegram 40 ms later: held back until 100 ms after the last burst.
    telegram(&mut e, 0, &bms(50_000, 60_000, 510), 40);
    assert_eq!(due_times(&mut e, 40, 99), Vec::<u64>::new());
    assert_eq!(one(&mut e, 100).soc, Permille(510));
    // Then quiet again until the interval: 1 100.
    assert_eq!(due_times(&mut e, 101, 1_100), [1_100]);
    // A telegram long after the last burst goes out at once.
    telegram(&mut e, 0, &bms(40_000, 60_000, 520), 1_500);
    let s = one(&mut e, 1_500);
    assert_eq!(s.soc, Permille(520));
    assert_eq!(s.charge_current_limit, Milliamps(20_000));
    // Two changes within the delay: one burst, with the later values.
    telegram(&mut e, 0, &bms(40_000, 60_000, 530), 1_520);
    telegram(&mut e, 0, &bms(40_000, 60_000, 540), 1_560);
    assert_eq!(due_times(&mut e, 1_520, 1_599), Vec::<u64>::new());
    assert_eq!(one(&mut e, 1_600).soc, Permille(540));
    assert_eq!(due_times(&mut e, 1_601, 2_599), Vec::<u64>::new());
}

#[test]
fn push_mode_change_is_new_data() {
    // Input 1 goes stale (no telegram for more than 3 s): the change of mode and alarms
    // sends a burst at once, with the degraded values.
    let mut e = engine(2, &push(10_000, 100));
    telegram(&mut e, 0, &bms(50_000, 60_000, 500), 0);
    telegram(&mut e, 1, &bms(30_000, 40_000, 500), 0);
    let s = one(&mut e, 0);
    assert_eq!(s.charge_current_limit, Milliamps(40_000));
    assert_eq!(e.mode(), Some(Mode::Normal));
    // Input 0 keeps sending the same state every second; input 1 is silent after 0.
    for t in [1_000, 2_000, 3_000] {
        telegram(&mut e, 0, &bms(50_000, 60_000, 500), t);
        assert_eq!(one(&mut e, t).charge_current_limit, Milliamps(40_000));
    }
    e.step(Millis(3_001));
    assert_eq!(e.input_status(1), InputStatus::Stale);
    assert_eq!(e.mode(), Some(Mode::Degraded));
    let s = one(&mut e, 3_100);
    assert_eq!(s.charge_current_limit, Milliamps(25_000));
    assert_eq!(s.discharge_current_limit, Milliamps(30_000));
    assert!(s.warnings.contains(Flags::SYSTEM));
    // A step that changes nothing is not new data.
    e.step(Millis(3_200));
    assert_eq!(due_times(&mut e, 3_101, 5_000), Vec::<u64>::new());
}

// ---- sync ---------------------------------------------------------------------------------

#[test]
fn sync_answers_0x305_after_the_minimum_delay_and_keeps_its_own_interval() {
    let mut e = engine(1, &sync(5_000, 100));
    telegram(&mut e, 0, &bms(50_000, 60_000, 500), 0);
    // The first burst at once (nothing sent yet).
    assert_eq!(one(&mut e, 0).soc, Permille(500));
    // New input data does not trigger a sync output.
    telegram(&mut e, 0, &bms(50_000, 60_000, 510), 10);
    assert_eq!(due_times(&mut e, 10, 300), Vec::<u64>::new());
    // 0x305 at 20 ms would be answered at 100 (the minimum delay after the last burst);
    // at 400 it is answered at once.
    assert!(request(&mut e, 400));
    assert_eq!(e.outputs[0].last_request, Some(Millis(400)));
    assert_eq!(one(&mut e, 400).soc, Permille(510));
    // One answer per request.
    assert_eq!(due_times(&mut e, 401, 450), Vec::<u64>::new());
    // A request 20 ms after the last burst: answered exactly 100 ms after it.
    assert!(request(&mut e, 420));
    assert_eq!(due_times(&mut e, 451, 499), Vec::<u64>::new());
    assert_eq!(one(&mut e, 500).soc, Permille(510));
    // Two requests within the delay: one answer.
    assert!(request(&mut e, 510));
    assert!(request(&mut e, 520));
    assert_eq!(due_times(&mut e, 501, 5_499), [600]);
    // No request: its own interval, 5 000 ms after the last burst (600).
    assert_eq!(due_times(&mut e, 5_500, 10_600), [5_600, 10_600]);
    assert_eq!(e.outputs[0].bursts, 6);
}

#[test]
fn sync_also_answers_0x307_and_ignores_other_output_frames() {
    let mut e = engine(1, &sync(5_000, 0));
    telegram(&mut e, 0, &bms(50_000, 60_000, 500), 0);
    assert_eq!(due(&mut e, 0).len(), 1);
    // A BMS-type frame on the output bus (another device) is not a request.
    let other = CanFrame::standard(0x351, &[0; 8]).unwrap();
    assert!(!e.on_frame(Endpoint::Output(0), &other, Millis(100)));
    assert_eq!(due_times(&mut e, 100, 200), Vec::<u64>::new());
    // 0x307 (handshake) is a request.
    let hs = Message::parse(0x307, &[0x12, 0x34, 0x56, 0x78, b'V', b'I', b'C', 0]).unwrap();
    let (d, n) = hs.emit().unwrap();
    let f = CanFrame::standard(0x307, &d[..n]).unwrap();
    assert!(e.on_frame(Endpoint::Output(0), &f, Millis(300)));
    assert_eq!(due_times(&mut e, 300, 400), [300]);
    // A request for an output that does not exist changes nothing.
    let (d, n) = InverterRequest::zeros().emit().unwrap();
    let f = CanFrame::standard(0x305, &d[..n]).unwrap();
    assert!(!e.on_frame(Endpoint::Output(7), &f, Millis(500)));
    assert_eq!(due_times(&mut e, 500, 600), Vec::<u64>::new());
}

#[test]
fn silent_sends_nothing_until_an_input_is_admitted() {
    let text = format!(
        "[gateway]\nno_input = \"silence\"\nrecovery_hold_s = 0.5\n\n[[input]]\nname = \"b\"\n\
         bus = \"virtual://in0\"\ncapacity_ah = 100\ntimeout_s = 3\n\n[[output]]\nname = \"o\"\n\
         bus = \"virtual://out0\"\ncurrent_scale = 0.5\n{}\n",
        push(1_000, 0)
    );
    let mut e = Engine::new(&Config::parse(&text, Path::new("silence.toml")).unwrap());
    telegram(&mut e, 0, &bms(50_000, 60_000, 500), 0);
    assert_eq!(e.mode(), Some(Mode::Silent));
    assert_eq!(
        e.input_status(0),
        InputStatus::Recovering { remaining_ms: 500 }
    );
    assert_eq!(due_times(&mut e, 0, 499), Vec::<u64>::new());
    // Admitted after exactly the hold: the first burst at once.
    telegram(&mut e, 0, &bms(50_000, 60_000, 500), 500);
    assert_eq!(e.mode(), Some(Mode::Normal));
    assert_eq!(one(&mut e, 500).charge_current_limit, Milliamps(25_000));
}

// ---- commands -----------------------------------------------------------------------------

#[test]
fn half_bad_command_changes_nothing() {
    let mut e = engine(1, &push(2_000, 0));
    telegram(&mut e, 0, &bms(100_000, 100_000, 500), 0);
    assert_eq!(one(&mut e, 0).charge_current_limit, Milliamps(50_000));
    // Bounds: the stack limits (250 A) and, without MQTT, a lifetime of at most 1 h.
    assert_eq!(e.bounds().max_charge, Milliamps(250_000));
    assert_eq!(e.bounds().max_discharge, Milliamps(250_000));
    assert_eq!(e.bounds().max_ttl_ms, 3_600_000);
    let before = e.setpoints;
    // Charge fine, discharge above the bound: refused whole.
    let r = e.command(
        Command::Set {
            charge: Some(Milliamps(30_000)),
            discharge: Some(Milliamps(250_001)),
            ttl_ms: 60_000,
        },
        Millis(100),
    );
    assert_eq!(
        r,
        Err(SetpointError::OutOfRange {
            direction: Direction::Discharge,
            value: 250_001,
            bound: 250_000
        })
    );
    assert_eq!(e.setpoints, before);
    // Charge below 0, discharge fine: refused whole.
    let r = e.command(
        Command::Set {
            charge: Some(Milliamps(-1)),
            discharge: Some(Milliamps(30_000)),
            ttl_ms: 60_000,
        },
        Millis(100),
    );
    assert_eq!(r.unwrap_err().code(), "out_of_range");
    assert_eq!(e.setpoints, before);
    // Both fine, lifetime one beyond the maximum: refused.
    let r = e.command(
        Command::Set {
            charge: Some(Milliamps(30_000)),
            discharge: Some(Milliamps(30_000)),
            ttl_ms: 3_600_001,
        },
        Millis(100),
    );
    assert_eq!(
        r,
        Err(SetpointError::Ttl {
            ttl_ms: 3_600_001,
            max_ms: 3_600_000
        })
    );
    assert_eq!(e.setpoints, before);
    // A refused command is not new data: nothing is sent before the interval.
    assert_eq!(due_times(&mut e, 100, 1_999), Vec::<u64>::new());
    assert_eq!(one(&mut e, 2_000).charge_current_limit, Milliamps(50_000));
}

#[test]
fn accepted_command_at_its_bounds_is_sent_at_once_and_expires() {
    let mut e = engine(1, &push(10_000, 0));
    telegram(&mut e, 0, &bms(100_000, 100_000, 500), 0);
    assert_eq!(due(&mut e, 0).len(), 1);
    // Exactly at the bounds: 250 A (above the combined limit: no change) and 1 h.
    e.command(
        Command::Set {
            charge: Some(Milliamps(250_000)),
            discharge: Some(Milliamps(30_000)),
            ttl_ms: 3_600_000,
        },
        Millis(1_000),
    )
    .unwrap();
    // New data: a burst at once, the discharge limit lowered to 30 A before the output's
    // 1/2 (15 A), the charge limit unchanged (100 A combined → 50 A).
    let s = one(&mut e, 1_000);
    assert_eq!(s.charge_current_limit, Milliamps(50_000));
    assert_eq!(s.discharge_current_limit, Milliamps(15_000));
    assert_eq!(
        e.combined(Millis(1_000)).unwrap().discharge_current_limit,
        Milliamps(30_000)
    );
    // Applies through 3 600 999 ms, not at 3 601 000.
    assert_eq!(
        e.combined(Millis(3_600_999))
            .unwrap()
            .discharge_current_limit,
        Milliamps(30_000)
    );
    assert_eq!(
        e.combined(Millis(3_601_000))
            .unwrap()
            .discharge_current_limit,
        Milliamps(100_000)
    );
    // Clear: new data, the combined limits again.
    e.command(Command::Clear, Millis(2_000)).unwrap();
    assert_eq!(e.setpoints, voltwire_ess::Setpoints::default());
    assert_eq!(
        one(&mut e, 2_000).discharge_current_limit,
        Milliamps(50_000)
    );
}

#[test]
fn mqtt_commands_exactly_at_their_bounds() {
    // The MQTT layer's validation with the engine's bounds, then the engine: a value exactly
    // at the stack limit and a lifetime exactly at the maximum pass both; one step beyond
    // is refused by the MQTT layer.
    let settings = Config::parse(
        "[gateway]\nmax_charge_current_a = 150\nmax_discharge_current_a = 120\n\n[[input]]\n\
         name = \"b\"\nbus = \"virtual://in0\"\ncapacity_ah = 100\n\n[[output]]\nname = \"o\"\n\
         bus = \"virtual://out0\"\n\n[mqtt]\nurl = \"mqtt://127.0.0.1:1883\"\nbase_topic = \"gw\"\n\
         setpoint_ttl_s = 1\nsetpoint_max_ttl_s = 5\n",
        Path::new("mqtt.toml"),
    )
    .unwrap();
    let mut e = Engine::new(&settings);
    let b = *e.bounds();
    assert_eq!(
        (b.max_charge, b.max_discharge, b.max_ttl_ms),
        (Milliamps(150_000), Milliamps(120_000), 5_000)
    );
    let cmd = telemetry::validate(
        "",
        br#"{"charge_current_limit_a": 150, "discharge_current_limit_a": 120, "ttl_s": 5}"#,
        &b,
        1_000,
    )
    .unwrap();
    assert_eq!(
        cmd,
        Command::Set {
            charge: Some(Milliamps(150_000)),
            discharge: Some(Milliamps(120_000)),
            ttl_ms: 5_000
        }
    );
    e.command(cmd, Millis(10)).unwrap();
    assert_eq!(e.setpoints.charge.unwrap().until, Millis(5_010));
    assert_eq!(e.setpoints.discharge.unwrap().limit, Milliamps(120_000));
    // The named form at the bound, with the default lifetime.
    let cmd = telemetry::validate("discharge_current_limit_a", b"120", &b, 1_000).unwrap();
    assert_eq!(
        cmd,
        Command::Set {
            charge: None,
            discharge: Some(Milliamps(120_000)),
            ttl_ms: 1_000
        }
    );
    e.command(cmd, Millis(20)).unwrap();
    assert_eq!(e.setpoints.discharge.unwrap().until, Millis(1_020));
    // One step beyond: refused with the range, nothing changed.
    let before = e.setpoints;
    for (name, payload, field) in [
        (
            "",
            &br#"{"charge_current_limit_a": 150.001}"#[..],
            "charge_current_limit_a",
        ),
        (
            "",
            br#"{"discharge_current_limit_a": 120.001}"#,
            "discharge_current_limit_a",
        ),
        (
            "",
            br#"{"charge_current_limit_a": 1, "ttl_s": 5.001}"#,
            "ttl_s",
        ),
        (
            "charge_current_limit_a",
            b"150.001",
            "charge_current_limit_a",
        ),
    ] {
        let r = telemetry::validate(name, payload, &b, 1_000).unwrap_err();
        assert_eq!(r.code, "out_of_range", "{payload:?}");
        assert!(format!("{r:?}").contains(field), "{r:?}");
    }
    assert_eq!(e.setpoints, before);
}

// ---- module counts in 0x372 -----------------------------------------------------------------

#[test]
fn module_counts_in_the_0x372_extension_frame() {
    let mut e = engine(4, &format!("{}\nextensions = true", push(1_000, 0)));
    let ok = BatteryState {
        module_count: 2,
        ..bms(50_000, 60_000, 500)
    };
    // Input 1 in over-voltage protection (forbids charging), input 2 in under-voltage
    // protection (forbids discharging), input 3 silent.
    let hv = BatteryState {
        errors: Flags(Flags::HIGH_VOLTAGE),
        charge_enable: false,
        module_count: 3,
        ..bms(0, 60_000, 1000)
    };
    let lv = BatteryState {
        errors: Flags(Flags::LOW_VOLTAGE),
        discharge_enable: false,
        module_count: 4,
        ..bms(50_000, 0, 0)
    };
    telegram(&mut e, 0, &ok, 0);
    telegram(&mut e, 1, &hv, 0);
    telegram(&mut e, 2, &lv, 0);
    let b = due(&mut e, 0);
    assert_eq!(b.len(), 1);
    let (s, counts, ids) = decode(&b[0]);
    assert_eq!(
        ids,
        [
            0x359, 0x351, 0x355, 0x356, 0x35C, 0x35E, 0x35A, 0x35F, 0x372
        ]
    );
    // Online: the admitted inputs' modules (2 + 3 + 4); one input blocking each direction;
    // one offline (input 3, no data).
    assert_eq!(
        counts,
        Some(ModuleCounts {
            online: 9,
            blocking_charge: 1,
            blocking_discharge: 1,
            offline: 1,
        })
    );
    assert!(!s.charge_enable && !s.discharge_enable);
    assert_eq!(s.errors, Flags(Flags::HIGH_VOLTAGE | Flags::LOW_VOLTAGE));
    // Input 3 appears with a healthy battery: nothing offline, still one blocking each way.
    telegram(&mut e, 3, &ok, 100);
    let b = due(&mut e, 100);
    assert_eq!(
        decode(&b[0]).1,
        Some(ModuleCounts {
            online: 11,
            blocking_charge: 1,
            blocking_discharge: 1,
            offline: 0,
        })
    );
    // Everything stale: the safe state, no module online, all four offline.
    e.step(Millis(3_101));
    assert_eq!(e.mode(), Some(Mode::Safe));
    let b = due(&mut e, 3_101);
    let (s, counts, _) = decode(&b[0]);
    assert_eq!(
        counts,
        Some(ModuleCounts {
            online: 0,
            blocking_charge: 0,
            blocking_discharge: 0,
            offline: 4,
        })
    );
    assert_eq!(s.charge_current_limit, Milliamps(0));
    assert_eq!(s.discharge_current_limit, Milliamps(0));
}

#[test]
fn without_extensions_no_0x372() {
    let mut e = engine(1, &push(1_000, 0));
    telegram(&mut e, 0, &bms(50_000, 60_000, 500), 0);
    let b = due(&mut e, 0);
    let (_, counts, ids) = decode(&b[0]);
    assert_eq!(counts, None);
    assert_eq!(ids, [0x359, 0x351, 0x355, 0x356, 0x35C, 0x35E]);
}

// ---- keep-alive polls -----------------------------------------------------------------------

#[test]
fn polls_every_interval_per_input() {
    let text = "[[input]]\nname = \"a\"\nbus = \"virtual://in0\"\ncapacity_ah = 100\n\
                poll_interval_s = 1\nburst_window_ms = 30\n\n[[input]]\nname = \"b\"\n\
                bus = \"virtual://in1\"\ncapacity_ah = 100\n\n[[input]]\nname = \"c\"\n\
                bus = \"virtual://in2\"\ncapacity_ah = 100\npoll_interval_s = 0.25\n\
                burst_window_ms = 30\n\n[[output]]\nname = \"o\"\nbus = \"virtual://out0\"\n";
    let mut e = Engine::new(&Config::parse(text, Path::new("poll.toml")).unwrap());
    let mut at = |t: u64| {
        let mut out = Vec::new();
        e.polls(Millis(t), &mut out);
        out
    };
    // Both polling inputs at once; input 1 (poll_interval_s = 0) never.
    assert_eq!(at(0), [0, 2]);
    // Each exactly one own interval after its own last poll, not earlier.
    assert_eq!(at(249), Vec::<usize>::new());
    assert_eq!(at(250), [2]);
    assert_eq!(at(499), Vec::<usize>::new());
    assert_eq!(at(500), [2]);
    assert_eq!(at(749), Vec::<usize>::new());
    assert_eq!(at(750), [2]);
    assert_eq!(at(999), Vec::<usize>::new());
    assert_eq!(at(1_000), [0, 2]);
    // A late call polls once, and the interval counts from then.
    assert_eq!(at(1_999), [2]);
    assert_eq!(at(2_000), [0]);
    assert_eq!(at(2_248), Vec::<usize>::new());
    assert_eq!(at(2_249), [2]);
}

// ---- own output read back -------------------------------------------------------------------

/// An engine that sent one burst at 1 000 ms, and that burst.
fn sent_one() -> (Engine, Burst) {
    let mut e = engine(1, &push(1_000, 0));
    telegram(&mut e, 0, &bms(50_000, 60_000, 500), 1_000);
    let b = due(&mut e, 1_000);
    assert_eq!(b.len(), 1);
    (e, b.into_iter().next().unwrap())
}

/// The frames of `b` arrive on input 0 at `t`; whether any completed a used telegram.
fn read_back(e: &mut Engine, b: &Burst, t: u64) -> bool {
    let mut used = false;
    for f in &b.frames {
        used |= e.on_frame(Endpoint::Input(0), f, Millis(t));
    }
    used
}

#[test]
fn own_burst_read_back_within_own_frame_ms_is_not_used() {
    assert_eq!(can_gateway::engine::OWN_FRAME_MS, 50);
    // Exactly 50 ms after it was sent (ticks ran in between, which forget only frames
    // older than 50 ms): ours, not used.
    let (mut e, b) = sent_one();
    assert!(due(&mut e, 1_020).is_empty());
    assert!(due(&mut e, 1_050).is_empty());
    assert!(!read_back(&mut e, &b, 1_050));
    assert_eq!(e.inputs[0].own_frames, 5);
    assert_eq!(e.inputs[0].telegrams, 1);
    assert_eq!(e.inputs[0].latest.unwrap().1, Millis(1_000));
    // Received "before" it was sent (the receive time can precede the send time): 50 ms
    // either side counts.
    let (mut e, b) = sent_one();
    assert!(!read_back(&mut e, &b, 950));
    assert_eq!(e.inputs[0].own_frames, 5);
    // 51 ms later: a BMS that happens to send the same, used.
    let (mut e, b) = sent_one();
    assert!(due(&mut e, 1_051).is_empty());
    assert!(read_back(&mut e, &b, 1_051));
    assert_eq!(e.inputs[0].own_frames, 0);
    assert_eq!(e.inputs[0].telegrams, 2);
    let (s, t) = e.inputs[0].latest.unwrap();
    assert_eq!(t, Millis(1_051));
    assert_eq!(s.charge_current_limit, Milliamps(25_000));
    // One required frame differs (SOC 40 %): a real telegram, used, even within 50 ms.
    let (mut e, mut b) = sent_one();
    let other = frames(&bms(25_000, 30_000, 400), &EncodeOptions::default());
    let soc = other.iter().find(|m| m.id() == 0x355).unwrap();
    let (d, n) = soc.emit().unwrap();
    for f in &mut b.frames {
        if f.id() == 0x355 {
            *f = CanFrame::standard(0x355, &d[..n]).unwrap();
        }
    }
    assert!(read_back(&mut e, &b, 1_010));
    assert_eq!(e.inputs[0].own_frames, 0);
    assert_eq!(e.inputs[0].latest.unwrap().0.soc, Permille(400));
}

#[test]
fn a_recovery_hold_counting_down_is_not_new_data() {
    // A 2 s hold: the input recovers from 0 to 2 000 ms, its BMS sending every second.
    // While the hold counts down, the push output keeps the 1 s period of the telegrams
    // (no burst every min_delay_ms); after the admission at 2 000 ms the same.
    let text = "[gateway]\nrecovery_hold_s = 2\ncurrent_rule = \"sum\"\ntick_ms = 20\n\n\
                [[input]]\nname = \"bms0\"\nbus = \"virtual://in0\"\ncapacity_ah = 100\n\
                timeout_s = 3\nburst_window_ms = 30\n\n[[output]]\nname = \"inv0\"\n\
                bus = \"virtual://out0\"\ncurrent_scale = 0.5\nmode = \"push\"\n\
                interval_ms = 1000\nmin_delay_ms = 100\n";
    let mut e = Engine::new(&Config::parse(text, Path::new("hold.toml")).unwrap());
    let mut sent = Vec::new();
    for t in (0..=2_500).step_by(20) {
        if t % 1_000 == 0 {
            telegram(&mut e, 0, &bms(50_000, 60_000, 500), t);
        }
        e.step(Millis(t));
        if !due(&mut e, t).is_empty() {
            sent.push(t);
        }
    }
    assert!(matches!(e.input_status(0), InputStatus::Active));
    assert_eq!(sent, [0, 1_000, 2_000]);
}

// ---- telemetry ----------------------------------------------------------------------------

#[test]
fn telemetry_state_is_the_crates_json() {
    // The exact canonical values, written by voltwire-core's SI numbers and the Pylontech
    // CAN flag words' {"raw","flags"}: no rounding, no float noise, integral values as
    // integers.
    let s = BatteryState {
        voltage: Millivolts(52_860),
        current: Milliamps(-12_345),
        soc: Permille(875),
        soh: Permille(1000),
        temperature: DeciCelsius(-5),
        errors: Flags(0x0002),
        warnings: Flags(0x0004),
        requests: voltwire_ess::Requests(0x20),
        ..bms(50_000, 60_500, 875)
    };
    let m = telemetry::state_json(&s);
    let text = |k: &str| m[k].to_string();
    assert_eq!(text("voltage_v"), "52.86");
    assert_eq!(text("current_a"), "-12.345");
    // 52.86 V × -12.345 A = -652.5567 W, kept to the milliwatt (truncated toward zero).
    assert_eq!(text("power_w"), "-652.556");
    assert_eq!(text("soc_pct"), "87.5");
    assert_eq!(text("soh_pct"), "100");
    assert_eq!(text("temperature_c"), "-0.5");
    assert_eq!(text("charge_voltage_limit_v"), "55.2");
    assert_eq!(text("charge_current_limit_a"), "50");
    assert_eq!(text("discharge_current_limit_a"), "60.5");
    assert_eq!(m["errors"]["raw"], 2);
    assert_eq!(m["errors"]["flags"], serde_json::json!(["over_voltage"]));
    assert_eq!(m["warnings"]["raw"], 4);
    assert_eq!(m["warnings"]["flags"], serde_json::json!(["low_voltage"]));
    assert_eq!(m["requests"]["raw"], 0x20);
    assert_eq!(
        m["requests"]["flags"],
        serde_json::json!(["force_charge_1"])
    );
    assert_eq!(m["charge_enable"], true);
    assert_eq!(m["module_count"], 1);
    let mut keys: Vec<&str> = m.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "charge_current_limit_a",
            "charge_enable",
            "charge_voltage_limit_v",
            "current_a",
            "discharge_current_limit_a",
            "discharge_enable",
            "errors",
            "module_count",
            "power_w",
            "requests",
            "soc_pct",
            "soh_pct",
            "temperature_c",
            "voltage_v",
            "warnings",
        ]
    );
}

/// Home Assistant reads `B/state` through each entity's `value_template`: every path must
/// name a value the combined state carries (a renamed key would leave HA with `unknown`).
#[test]
fn discovery_value_templates_name_keys_of_the_state() {
    let mut e = engine(1, &push(1_000, 100));
    telegram(&mut e, 0, &bms(50_000, 60_000, 500), 0);
    e.command(
        Command::Set {
            charge: Some(Milliamps(40_000)),
            discharge: Some(Milliamps(45_500)),
            ttl_ms: 60_000,
        },
        Millis(10),
    )
    .unwrap();
    let state = telemetry::combined_json(&e, Millis(20));
    let topics = voltwire_runtime::mqtt::Topics::new("gw").unwrap();
    let configs = telemetry::discovery(&topics, "homeassistant", e.bounds()).unwrap();
    assert_eq!(configs.len(), 11);
    let mut resolved = Vec::new();
    for c in &configs {
        let p: serde_json::Value = serde_json::from_str(&c.payload).unwrap();
        let template = p["value_template"].as_str().unwrap();
        let path = template
            .strip_prefix("{{ value_json.")
            .and_then(|t| t.strip_suffix(" }}"))
            .unwrap_or_else(|| panic!("{}: template {template}", c.topic));
        let v = path.split('.').fold(&state, |v, k| &v[k]);
        assert!(
            v.is_number() || v.is_string(),
            "{}: {path} is {v} in {state}",
            c.topic
        );
        resolved.push((path.to_owned(), v.to_string()));
    }
    // The set points as commanded, the state as combined from the one input.
    for (path, value) in [
        ("setpoints.charge_current_limit_a", "40"),
        ("setpoints.discharge_current_limit_a", "45.5"),
        ("soc_pct", "50"),
        ("voltage_v", "52"),
        ("current_a", "-10"),
        ("power_w", "-520"),
        ("temperature_c", "25"),
        ("mode", "\"normal\""),
    ] {
        assert!(
            resolved.iter().any(|(p, v)| p == path && v == value),
            "{path} = {value} not in {resolved:?}"
        );
    }
}
