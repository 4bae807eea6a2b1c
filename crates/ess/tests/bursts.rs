//! Issue 22 item 4: a telegram is the frames of ONE burst. Lost, duplicated and reordered
//! frames, the window edges, and the "enables lag one burst" scenario.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::too_many_lines,
    clippy::many_single_char_names,
    clippy::cast_possible_truncation,
    missing_docs,
    reason = "test code"
)]

use voltwire_core::{DeciCelsius, Milliamps, Millivolts, Permille};
use voltwire_ess::{
    BatteryState, EncodeOptions, Flags, Millis, PYLONTECH_TELEGRAM, SMA_TELEGRAM, TelegramReader,
    frames,
};
use voltwire_pylontech::can::Message;

const WINDOW: u64 = 300;

fn state(dcl: i32, discharge: bool, soc: i16) -> BatteryState {
    BatteryState {
        charge_voltage_limit: Millivolts(55_200),
        charge_current_limit: Milliamps(50_000),
        discharge_current_limit: Milliamps(dcl),
        soc: Permille(soc),
        soh: Permille(1000),
        voltage: Millivolts(52_000),
        current: Milliamps(-10_000),
        temperature: DeciCelsius(250),
        errors: Flags::NONE,
        warnings: Flags::NONE,
        charge_enable: true,
        discharge_enable: discharge,
        module_count: 1,
        ..BatteryState::default()
    }
}

/// The Pylontech burst a BMS sends for `s` (0x359, 0x351, 0x355, 0x356, 0x35C, 0x35E), its
/// 0x351 carrying the DCL even when discharging is disabled (as a BMS may do; the
/// gateway's encoder would zero it).
fn burst(s: &BatteryState) -> Vec<Message> {
    let mut v: Vec<Message> = frames(s, &EncodeOptions::default()).into_iter().collect();
    let on = BatteryState {
        discharge_enable: true,
        ..*s
    };
    let limits = frames(&on, &EncodeOptions::default())[1];
    assert_eq!(limits.id(), 0x351);
    v[1] = limits;
    let ids: Vec<u16> = v.iter().map(Message::id).collect();
    assert_eq!(ids, [0x359, 0x351, 0x355, 0x356, 0x35C, 0x35E]);
    v
}

/// Feed `frames` 2 ms apart from `t0`; every state produced with its time.
fn feed(r: &mut TelegramReader, frames: &[Message], t0: u64) -> Vec<(u64, BatteryState)> {
    let mut out = Vec::new();
    for (i, m) in frames.iter().enumerate() {
        let t = t0 + 2 * i as u64;
        if let Some(s) = r.push(*m, Millis(t)) {
            out.push((t, s.unwrap()));
        }
    }
    out
}

fn without(frames: &[Message], id: u16) -> Vec<Message> {
    frames.iter().copied().filter(|m| m.id() != id).collect()
}

#[test]
fn one_state_per_burst_at_its_last_required_frame() {
    let mut r = TelegramReader::new(PYLONTECH_TELEGRAM, WINDOW);
    let a = state(80_000, true, 500);
    let b = state(70_000, true, 510);
    // 0x35C (index 4, at t0 + 8) completes each burst; 0x35E after it changes nothing.
    assert_eq!(feed(&mut r, &burst(&a), 0), [(8, a)]);
    assert_eq!(feed(&mut r, &burst(&b), 1_000), [(1_008, b)]);
    assert_eq!(r.incomplete_bursts(), 0);
    assert_eq!(r.duplicates(), 0);
    // A lone 0x35C after that completes nothing: a new burst needs every part again.
    assert!(r.push(burst(&b)[4], Millis(2_000)).is_none());
}

#[test]
fn lost_first_frame_drops_that_burst_only() {
    let mut r = TelegramReader::new(PYLONTECH_TELEGRAM, WINDOW);
    let a = state(80_000, true, 500);
    let b = state(71_000, true, 510);
    let c = state(60_000, true, 520);
    assert_eq!(feed(&mut r, &burst(&a), 0).len(), 1);
    // 0x359 of burst b lost: nothing from b ...
    assert!(feed(&mut r, &without(&burst(&b), 0x359), 1_000).is_empty());
    // ... and c is exactly c (its 0x359 does not complete b's leftovers).
    assert_eq!(feed(&mut r, &burst(&c), 2_000), [(2_008, c)]);
    assert_eq!(r.incomplete_bursts(), 1);
}

#[test]
fn lost_last_frame_drops_that_burst_only() {
    let mut r = TelegramReader::new(PYLONTECH_TELEGRAM, WINDOW);
    let a = state(80_000, true, 500);
    let b = state(71_000, false, 510);
    let c = state(60_000, true, 520);
    assert_eq!(feed(&mut r, &burst(&a), 0).len(), 1);
    assert!(feed(&mut r, &without(&burst(&b), 0x35C), 1_000).is_empty());
    assert_eq!(feed(&mut r, &burst(&c), 2_000), [(2_008, c)]);
    assert_eq!(r.incomplete_bursts(), 1);
}

#[test]
fn enables_never_lag_one_burst_after_a_lost_frame() {
    // The scenario: after one lost frame the old assembler built every later
    // telegram from two adjacent bursts, so the inverter was told "71 A discharge,
    // enabled" when the BMS had just sent 71 A with discharge disabled.
    let mut r = TelegramReader::new(PYLONTECH_TELEGRAM, WINDOW);
    let bursts = [
        (state(80_000, true, 500), None),
        (state(71_000, true, 500), Some(0x359)), // its first frame is lost
        (state(71_000, false, 500), None),
        (state(71_000, false, 490), None),
        (state(60_000, true, 480), None),
    ];
    let mut seen = Vec::new();
    for (k, (s, lost)) in bursts.iter().enumerate() {
        let mut f = burst(s);
        if let Some(id) = lost {
            f = without(&f, *id);
        }
        for (t, got) in feed(&mut r, &f, 1_000 * k as u64) {
            seen.push((k, t, got));
        }
    }
    // Exactly one state per intact burst, equal to that burst, at that burst's 0x35C.
    let want: Vec<(usize, u64, BatteryState)> = [0usize, 2, 3, 4]
        .into_iter()
        .map(|k| (k, 1_000 * k as u64 + 8, bursts[k].0))
        .collect();
    assert_eq!(seen, want);
    // The burst after the loss says 71 A with discharge disabled, never enabled.
    let (_, _, s) = seen[1];
    assert_eq!(s.discharge_current_limit, Milliamps(71_000));
    assert!(!s.discharge_enable);
    assert_eq!(r.incomplete_bursts(), 1);
}

#[test]
fn duplicated_frame_is_ignored() {
    let mut r = TelegramReader::new(PYLONTECH_TELEGRAM, WINDOW);
    let a = state(80_000, true, 500);
    let mut f = burst(&a);
    f.insert(2, f[1]); // 0x351 twice
    f.insert(0, f[0]); // 0x359 twice
    assert_eq!(feed(&mut r, &f, 0), [(12, a)]);
    assert_eq!(r.duplicates(), 2);
    // A frame repeated after the completing one, other than the first: ignored.
    assert!(r.push(f[3], Millis(20)).is_none());
    assert_eq!(r.duplicates(), 3);
    // The whole burst repeated 100 ms later, within the window (a BMS sending faster than
    // the window): its first frame starts the next burst, which gives the same state.
    assert_eq!(feed(&mut r, &burst(&a), 100), [(108, a)]);
    assert_eq!(r.incomplete_bursts(), 0);
}

#[test]
fn reordered_frames_within_a_burst() {
    let mut r = TelegramReader::new(PYLONTECH_TELEGRAM, WINDOW);
    let a = state(80_000, true, 500);
    let f = burst(&a);
    // 0x35C first, 0x351 last: completes at the last required frame (0x351, index 4).
    let shuffled = [f[4], f[2], f[0], f[3], f[1], f[5]];
    assert_eq!(feed(&mut r, &shuffled, 0), [(8, a)]);
    let b = state(60_000, false, 490);
    let f = burst(&b);
    let shuffled = [f[3], f[5], f[1], f[0], f[4], f[2]];
    assert_eq!(feed(&mut r, &shuffled, 1_000), [(1_010, b)]);
    assert_eq!(r.incomplete_bursts(), 0);
}

#[test]
fn window_edges() {
    let a = state(80_000, true, 500);
    let f = burst(&a);
    // The last required frame exactly `WINDOW` after the first: one burst.
    let mut r = TelegramReader::new(PYLONTECH_TELEGRAM, WINDOW);
    for m in &f[..4] {
        assert!(r.push(*m, Millis(0)).is_none());
    }
    assert_eq!(r.push(f[4], Millis(WINDOW)), Some(Ok(a)));
    // One millisecond later: it starts a new burst, the first one is dropped.
    let mut r = TelegramReader::new(PYLONTECH_TELEGRAM, WINDOW);
    for m in &f[..4] {
        assert!(r.push(*m, Millis(0)).is_none());
    }
    assert!(r.push(f[4], Millis(WINDOW + 1)).is_none());
    assert_eq!(r.incomplete_bursts(), 1);
    // The new burst (started by that 0x35C) completes with the next four frames.
    assert_eq!(feed(&mut r, &f[..4], WINDOW + 2), [(WINDOW + 8, a)]);
}

#[test]
fn a_changed_frame_within_the_window_starts_a_new_burst() {
    let mut r = TelegramReader::new(PYLONTECH_TELEGRAM, WINDOW);
    let a = state(80_000, true, 500);
    let b = state(70_000, false, 400);
    let fa = burst(&a);
    let fb = burst(&b);
    // a's first three frames, then b's whole burst 50 ms later (a was cut short).
    assert!(feed(&mut r, &fa[..3], 0).is_empty());
    assert_eq!(feed(&mut r, &fb, 50), [(58, b)]);
    assert_eq!(r.incomplete_bursts(), 1);
}

#[test]
fn a_fast_burst_with_an_unchanged_beginning_is_not_mixed() {
    // A BMS polled faster than the window: the next burst starts 100 ms later, its first
    // three frames identical, then the measurements and the enables change.
    let mut r = TelegramReader::new(PYLONTECH_TELEGRAM, WINDOW);
    let a = state(80_000, true, 500);
    let b = BatteryState {
        voltage: Millivolts(52_010),
        discharge_enable: false,
        ..a
    };
    assert_eq!(feed(&mut r, &burst(&a), 0), [(8, a)]);
    assert_eq!(feed(&mut r, &burst(&b), 100), [(108, b)]);
    assert_eq!(r.incomplete_bursts(), 0);
}

#[test]
fn sma_optional_parts_after_the_required_ones_are_learned_not_carried_over() {
    // SMA/Victron dialect: 0x351, 0x355, 0x356, 0x35A, then 0x372 (module count).
    let sma = |online: u8, soc: u8| -> Vec<Message> {
        [
            (0x351, &[0x28, 0x02, 0x20, 0x03, 0x20, 0x03, 0xA0, 0x01][..]),
            (0x355, &[soc, 0, 0x64, 0, 0, 0, 0, 0][..]),
            (0x356, &[0x4E, 0x14, 0x9C, 0xFF, 0xD7, 0, 0, 0][..]),
            (0x35A, &[0xAA; 8][..]),
            (0x372, &[online, 0, 0, 0, 0, 0, 0, 0][..]),
        ]
        .iter()
        .map(|(id, d)| Message::parse(*id, d).unwrap())
        .collect()
    };
    let mut r = TelegramReader::new(SMA_TELEGRAM, WINDOW);
    // First burst: complete at 0x35A, before 0x372 is known (module count 1) ...
    let got = feed(&mut r, &sma(4, 50), 0);
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].0, got[0].1.module_count), (6, 1));
    // ... then 0x372 is learned: the next bursts complete with their own 0x372.
    let got = feed(&mut r, &sma(3, 51), 1_000);
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].0, got[0].1.module_count, got[0].1.soc),
        (1_008, 3, Permille(510))
    );
    // A burst whose 0x372 is lost is dropped, never completed with the next one's ...
    assert!(feed(&mut r, &sma(2, 52)[..4], 2_000).is_empty());
    let got = feed(&mut r, &sma(5, 53), 3_000);
    assert_eq!(r.incomplete_bursts(), 1);
    // ... and the BMS is no longer waited for 0x372 (it may have stopped sending it):
    // the next burst completes at 0x35A again and 0x372 is learned back.
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].0, got[0].1.soc), (3_006, Permille(530)));
    let got = feed(&mut r, &sma(5, 54), 4_000);
    assert_eq!((got[0].0, got[0].1.module_count), (4_008, 5));
}

#[test]
fn damaged_bursts_give_only_their_own_state() {
    // A deterministic pseudo-random walk: bursts of two different states, each with frames
    // lost, duplicated or swapped, 400 .. 1 400 ms apart. Every state produced is the state
    // of the burst being received, never a mix.
    let sa = state(80_000, true, 500);
    let sb = state(10_000, false, 100);
    let (a, b) = (burst(&sa), burst(&sb));
    let mut r = TelegramReader::new(PYLONTECH_TELEGRAM, WINDOW);
    let mut x: u32 = 12_345;
    let mut rnd = |n: u32| {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        (x >> 16) % n
    };
    let mut t = 0u64;
    let (mut states, mut intact) = (0, 0);
    for _ in 0..2_000 {
        let (want, frames) = if rnd(2) == 0 { (sa, &a) } else { (sb, &b) };
        let mut f: Vec<Message> = Vec::new();
        let mut damaged = false;
        for m in frames {
            match rnd(10) {
                0 => damaged |= m.id() != 0x35E, // lost
                1 => f.extend([*m, *m]),         // duplicated
                _ => f.push(*m),
            }
        }
        if rnd(4) == 0 && f.len() > 2 {
            let k = rnd(f.len() as u32 - 1) as usize;
            f.swap(k, k + 1); // reordered
        }
        for m in f {
            if let Some(s) = r.push(m, Millis(t)) {
                assert_eq!(s.unwrap(), want);
                assert!(!damaged);
                states += 1;
            }
            t += u64::from(rnd(6));
        }
        intact += u32::from(!damaged);
        t += 400 + u64::from(rnd(1_000));
    }
    assert_eq!(states, intact);
    assert_eq!(r.incomplete_bursts(), u64::from(2_000 - intact));
}

#[test]
fn arbitrary_frame_streams_never_panic() {
    let a = burst(&state(80_000, true, 500));
    let b = burst(&state(10_000, false, 100));
    for window in [0, 1, WINDOW, u64::MAX] {
        let mut r = TelegramReader::new(PYLONTECH_TELEGRAM, window);
        let mut x: u32 = 99;
        let mut t = 0u64;
        for _ in 0..20_000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let k = (x >> 16) as usize;
            let m = if k & 1 == 0 {
                a[k % 6]
            } else {
                b[(k >> 1) % 6]
            };
            t = t.wrapping_add([0u64, 1, 5, 50, 400, u64::MAX / 2][(k >> 4) % 6]);
            let _ = r.push(m, Millis(t));
        }
    }
}
