//! The gateway engine: frames in, bursts out, no I/O and no clock (time is passed in).
//!
//! It assembles each input's frames into telegrams (`voltwire_pylontech::can::Assembler`),
//! hands the latest state of every input to `voltwire_ess::Gateway` (combine rules, data age,
//! exclusion, safe state), applies the MQTT set points (`voltwire_ess::Setpoints`) and each
//! output's limits (`voltwire_ess::limit_output`), encodes with `voltwire_ess::frames` and
//! decides when each output is due. Every rule lives in `voltwire-ess`; this module only
//! schedules, counts and logs.
//!
//! **Own frames.** The configuration refuses an input and an output on the same bus (the
//! main guard). Behind different URLs the same wire can still hide (two adapters on one
//! bus), so the engine remembers every frame the outputs sent for [`OWN_FRAME_MS`]; an
//! input telegram whose every required frame is byte-identical (id and data) to a frame
//! sent within that time is taken for our own output read back: it is not used (the input
//! goes stale instead of keeping itself alive), counted in `own_frames` (the frames of such
//! telegrams) and logged once per input. Single frames are not dropped: a BMS's own
//! 0x35C or 0x355 is often byte-identical to what the gateway just sent, and dropping it
//! would lose real telegrams. This cannot catch everything (an echo interleaved with a live
//! BMS's frames only disturbs its bursts, which then go incomplete and are counted).
//!
//! A live BMS whose values do not change can send a telegram byte-identical to ours, and
//! when its period equals an output's `interval_ms` our periodic burst can stay just ahead
//! of its bursts, telegram after telegram, which would let a healthy input go stale. So a
//! telegram taken for our own also delays every output's next *periodic* burst by half an
//! interval (once): a real echo follows our bursts wherever they move and stays ignored; a
//! live BMS keeps its own period, so the next of its telegrams no longer lines up with ours
//! and is used. A healthy input thus loses at most one telegram in a row this way.

use std::collections::VecDeque;

use voltwire_core::Milliamps;
use voltwire_ess::{
    BatteryState, Direction, Extensions, Gateway, InputStatus, Millis, Mode, Plausibility,
    SetpointBounds, SetpointError, Setpoints, TelegramReader,
};
use voltwire_pylontech::can::{Message, PartSet};
use voltwire_runtime::can::CanFrame;

use crate::bus::Endpoint;
use crate::config::{MAX_INPUTS, OutputMode, Settings};

/// The parts a Pylontech telegram needs (what `BatteryState` is made of).
pub const REQUIRED: PartSet = voltwire_ess::PYLONTECH_TELEGRAM;

/// How long a sent frame is remembered to recognise it read back on an input, ms.
pub const OWN_FRAME_MS: u64 = 50;

/// Most sent frames remembered (bounds memory when outputs send fast).
const OWN_FRAME_MEMORY: usize = 4096;

/// One input's bookkeeping.
#[derive(Debug, Clone)]
pub struct InputSlot {
    /// Name.
    pub name: String,
    poll_ms: u64,
    reader: TelegramReader,
    /// The latest complete telegram as a state, with its time.
    pub latest: Option<(BatteryState, Millis)>,
    /// Complete telegrams received.
    pub telegrams: u64,
    /// Frames that did not decode.
    pub bad_frames: u64,
    /// Complete telegrams outside the input's plausible ranges.
    pub implausible: u64,
    /// Frames of telegrams taken for our own output read back (not used).
    pub own_frames: u64,
    /// Time of the last frame of any kind.
    pub last_frame: Option<Millis>,
    last_poll: Option<Millis>,
    /// The bus is open.
    pub bus_up: bool,
    /// Times the bus went from open to lost (each one is followed by a reconnect).
    pub bus_drops: u64,
    required: PartSet,
    plausibility: Plausibility,
    /// CAN ids of the parts whose latest frame matched a frame we sent.
    own_ids: Vec<u16>,
    warned_own: bool,
    /// The field of the last implausible telegram (logged once per change).
    implausible_field: Option<voltwire_ess::Field>,
}

impl InputSlot {
    /// Bursts dropped as incomplete (lost or changed frames).
    pub const fn incomplete_bursts(&self) -> u64 {
        self.reader.incomplete_bursts()
    }
}

/// One output's bookkeeping.
#[derive(Debug, Clone)]
pub struct OutputSlot {
    /// Settings.
    pub cfg: crate::config::Output,
    /// When the last burst was scheduled (handed to the bus task).
    pub last_sent: Option<Millis>,
    sent_generation: u64,
    request_pending: bool,
    /// When the inverter last sent 0x305 / 0x307.
    pub last_request: Option<Millis>,
    /// Bursts written to the bus (reported by the bus task, see [`Engine::burst_done`]).
    pub bursts: u64,
    /// Bursts scheduled but not written (bus down or busy, write failed or timed out).
    pub bursts_dropped: u64,
    /// When a burst was last written to the bus.
    pub last_written: Option<Millis>,
    /// The state of the last burst.
    pub last_state: Option<BatteryState>,
    /// The bus is open.
    pub bus_up: bool,
    /// Times the bus went from open to lost (each one is followed by a reconnect).
    pub bus_drops: u64,
    /// Extra delay (ms) of the next periodic burst, set when an input telegram matched our
    /// own frames (see the module documentation); cleared when a burst goes out.
    pub periodic_shift_ms: u64,
}

/// A set-point command (validated by the MQTT layer, checked again here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Set the charge and/or discharge current-limit set point for `ttl_ms`.
    Set {
        /// Charge limit, if given.
        charge: Option<Milliamps>,
        /// Discharge limit, if given.
        discharge: Option<Milliamps>,
        /// Lifetime, ms.
        ttl_ms: u64,
    },
    /// Remove both set points.
    Clear,
}

/// A burst for one output.
#[derive(Debug, Clone)]
pub struct Burst {
    /// Output index.
    pub output: usize,
    /// The frames, in sending order.
    pub frames: Vec<CanFrame>,
}

/// The engine.
#[derive(Debug, Clone)]
pub struct Engine {
    gateway: Gateway<MAX_INPUTS>,
    /// Inputs, in configuration order.
    pub inputs: Vec<InputSlot>,
    /// Outputs, in configuration order.
    pub outputs: Vec<OutputSlot>,
    /// The set points.
    pub setpoints: Setpoints,
    bounds: SetpointBounds,
    /// The latest gateway result.
    pub last: Option<voltwire_ess::GatewayOutput<MAX_INPUTS>>,
    generation: u64,
    /// Frames the outputs sent, with their time, newest last.
    sent: VecDeque<(CanFrame, Millis)>,
}

/// Message of a standard data frame (`None` for extended and remote frames, which are not
/// ours to judge), or `Err` when it does not decode.
fn decode(frame: &CanFrame) -> Option<Result<Message, ()>> {
    if frame.is_extended() || frame.is_remote() {
        return None;
    }
    Some(Message::from_frame(frame).map_err(|_| ()))
}

/// `state` as the Pylontech burst an output sends, with `opts` (frames in sending order).
pub fn encode(state: &BatteryState, opts: &voltwire_ess::EncodeOptions) -> Vec<CanFrame> {
    voltwire_ess::frames(state, opts)
        .iter()
        .filter_map(|m| m.to_frame().ok())
        .collect()
}

fn same_frame(a: &CanFrame, b: &CanFrame) -> bool {
    a.id() == b.id()
        && a.is_extended() == b.is_extended()
        && a.is_remote() == b.is_remote()
        && a.data() == b.data()
}

impl Engine {
    /// An engine for validated `settings` (logs the configuration's warnings).
    pub fn new(settings: &Settings) -> Self {
        for w in &settings.warnings {
            tracing::warn!("configuration: {w}");
        }
        Self {
            gateway: Gateway::new(settings.gateway.clone()),
            inputs: settings
                .inputs
                .iter()
                .map(|i| InputSlot {
                    name: i.name.clone(),
                    poll_ms: i.poll_ms,
                    reader: TelegramReader::new(i.required, i.burst_window_ms),
                    latest: None,
                    telegrams: 0,
                    bad_frames: 0,
                    implausible: 0,
                    own_frames: 0,
                    last_frame: None,
                    last_poll: None,
                    bus_up: false,
                    bus_drops: 0,
                    required: i.required,
                    plausibility: i.domain.plausibility,
                    own_ids: Vec::new(),
                    warned_own: false,
                    implausible_field: None,
                })
                .collect(),
            outputs: settings
                .outputs
                .iter()
                .map(|o| OutputSlot {
                    cfg: o.clone(),
                    last_sent: None,
                    sent_generation: 0,
                    request_pending: false,
                    last_request: None,
                    bursts: 0,
                    bursts_dropped: 0,
                    last_written: None,
                    last_state: None,
                    bus_up: false,
                    bus_drops: 0,
                    periodic_shift_ms: 0,
                })
                .collect(),
            setpoints: Setpoints::default(),
            bounds: settings.setpoint_bounds,
            last: None,
            generation: 0,
            sent: VecDeque::new(),
        }
    }

    /// The configuration of the domain gateway.
    pub fn gateway_config(&self) -> &voltwire_ess::GatewayConfig<MAX_INPUTS> {
        self.gateway.config()
    }

    /// Set-point bounds.
    pub const fn bounds(&self) -> &SetpointBounds {
        &self.bounds
    }

    /// Mark a bus up or down (telemetry only).
    pub fn bus_state(&mut self, ep: Endpoint, up: bool) {
        match ep {
            Endpoint::Input(i) => {
                if let Some(s) = self.inputs.get_mut(i) {
                    if s.bus_up && !up {
                        s.bus_drops = s.bus_drops.saturating_add(1);
                    }
                    s.bus_up = up;
                }
            }
            Endpoint::Output(i) => {
                if let Some(s) = self.outputs.get_mut(i) {
                    if s.bus_up && !up {
                        s.bus_drops = s.bus_drops.saturating_add(1);
                    }
                    s.bus_up = up;
                }
            }
        }
    }

    /// Take a frame received at `now`. Returns `true` when it completed an input telegram
    /// or was an inverter request (so outputs may be due now).
    pub fn on_frame(&mut self, from: Endpoint, frame: &CanFrame, now: Millis) -> bool {
        match from {
            Endpoint::Input(i) => self.on_input(i, frame, now),
            Endpoint::Output(o) => {
                let Some(slot) = self.outputs.get_mut(o) else {
                    return false;
                };
                match decode(frame) {
                    Some(Ok(Message::InverterRequest(_) | Message::InverterHandshake(_))) => {
                        slot.request_pending = true;
                        slot.last_request = Some(now);
                        true
                    }
                    _ => false,
                }
            }
        }
    }

    /// Whether `frame` is byte-identical to one an output sent within [`OWN_FRAME_MS`] of
    /// `now` (either side: the receive time may precede the recorded send time).
    fn sent_by_us(&self, frame: &CanFrame, now: Millis) -> bool {
        self.sent.iter().rev().any(|(f, at)| {
            now.since(*at).max(at.since(now)) <= OWN_FRAME_MS && same_frame(f, frame)
        })
    }

    fn on_input(&mut self, i: usize, frame: &CanFrame, now: Millis) -> bool {
        let own = self.sent_by_us(frame, now);
        let Some(slot) = self.inputs.get_mut(i) else {
            return false;
        };
        slot.last_frame = Some(now);
        let m = match decode(frame) {
            None => return false,
            Some(Err(())) => {
                slot.bad_frames = slot.bad_frames.saturating_add(1);
                return false;
            }
            Some(Ok(m)) => m,
        };
        let id = m.id();
        slot.own_ids.retain(|x| *x != id);
        if own {
            slot.own_ids.push(id);
        }
        match slot.reader.push(m, now) {
            Some(Ok(s)) => {
                let echo = slot.required.iter().all(|p| slot.own_ids.contains(&p.id()));
                slot.own_ids.clear();
                if echo {
                    for o in &mut self.outputs {
                        o.periodic_shift_ms = o.cfg.interval_ms / 2;
                    }
                    slot.own_frames = slot
                        .own_frames
                        .saturating_add(u64::from(slot.required.len()));
                    if !slot.warned_own {
                        slot.warned_own = true;
                        tracing::warn!(
                            input = %slot.name,
                            "a telegram on this input is byte-identical to frames an output just sent: \
                             the input seems to share a bus with an output; such telegrams are ignored"
                        );
                    }
                    return false;
                }
                match slot.plausibility.check(&s) {
                    Ok(()) => {
                        if slot.implausible_field.take().is_some() {
                            tracing::info!(input = %slot.name, "telegrams are plausible again");
                        }
                    }
                    Err(e) => {
                        slot.implausible = slot.implausible.saturating_add(1);
                        if slot.implausible_field != Some(e.field) {
                            slot.implausible_field = Some(e.field);
                            tracing::warn!(
                                input = %slot.name,
                                field = e.field.name(),
                                "implausible telegram ({e}); the input is treated as faulty"
                            );
                        }
                    }
                }
                slot.latest = Some((s, now));
                slot.telegrams = slot.telegrams.saturating_add(1);
                self.generation = self.generation.wrapping_add(1);
                true
            }
            _ => false,
        }
    }

    /// Run the domain gateway at `now` (call on every tick and after every completed
    /// telegram). A change of mode or alarms counts as new data for push outputs.
    pub fn step(&mut self, now: Millis) {
        self.setpoints.expire(now);
        let latest: heapless::Vec<Option<(BatteryState, Millis)>, MAX_INPUTS> =
            self.inputs.iter().map(|s| s.latest).collect();
        let out = self.gateway.step(&latest, now);
        // A change of an input's kind of status counts, not the countdown of a recovery
        // hold (`Recovering { remaining_ms }` changes on every step, which would make push
        // outputs send every `min_delay_ms` for the whole hold).
        let same_kinds = |a: &[InputStatus], b: &[InputStatus]| {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(x, y)| core::mem::discriminant(x) == core::mem::discriminant(y))
        };
        let changed = self.last.as_ref().is_none_or(|l| {
            l.mode != out.mode || l.alarms != out.alarms || !same_kinds(&l.inputs, &out.inputs)
        });
        if changed {
            self.generation = self.generation.wrapping_add(1);
        }
        self.last = Some(out);
    }

    /// The combined state with the set points applied (before per-output limits).
    pub fn combined(&self, now: Millis) -> Option<BatteryState> {
        let s = self.last.as_ref()?.state?;
        Some(self.setpoints.apply(&s, now))
    }

    /// Inputs not admitted, and admitted inputs blocking charge / discharge.
    fn counts(&self) -> (u16, u16, u16) {
        let Some(last) = &self.last else {
            return (0, 0, 0);
        };
        let mut offline = 0u16;
        let mut block_c = 0u16;
        let mut block_d = 0u16;
        for (st, slot) in last.inputs.iter().zip(&self.inputs) {
            if !st.is_admitted() {
                offline = offline.saturating_add(1);
            } else if let Some((s, _)) = slot.latest {
                block_c = block_c.saturating_add(u16::from(s.forbids_charge()));
                block_d = block_d.saturating_add(u16::from(s.forbids_discharge()));
            }
        }
        (offline, block_c, block_d)
    }

    /// The bursts due at `now` (each output at most one), marking them sent.
    pub fn due(&mut self, now: Millis, out: &mut Vec<Burst>) {
        while self
            .sent
            .front()
            .is_some_and(|(_, at)| now.since(*at) > OWN_FRAME_MS)
            || self.sent.len() > OWN_FRAME_MEMORY
        {
            self.sent.pop_front();
        }
        let Some(combined) = self.combined(now) else {
            return;
        };
        let (offline, block_c, block_d) = self.counts();
        let generation = self.generation;
        for (o, slot) in self.outputs.iter_mut().enumerate() {
            let since = slot.last_sent.map(|t| now.since(t));
            let periodic = since
                .is_none_or(|s| s >= slot.cfg.interval_ms.saturating_add(slot.periodic_shift_ms));
            let gap_ok = since.is_none_or(|s| s >= slot.cfg.min_delay_ms);
            let due = match slot.cfg.mode {
                OutputMode::Push => periodic || (slot.sent_generation != generation && gap_ok),
                OutputMode::Sync => periodic || (slot.request_pending && gap_ok),
            };
            if !due {
                continue;
            }
            let state = voltwire_ess::limit_output(&combined, &slot.cfg.limits);
            let mut opts = slot.cfg.encode;
            if let Some(ext) = &mut opts.extensions {
                *ext = Extensions {
                    modules_offline: offline,
                    blocking_charge: block_c,
                    blocking_discharge: block_d,
                    ..*ext
                };
            }
            let frames = encode(&state, &opts);
            for f in &frames {
                self.sent.push_back((*f, now));
            }
            slot.last_sent = Some(now);
            slot.periodic_shift_ms = 0;
            slot.sent_generation = generation;
            slot.request_pending = false;
            slot.last_state = Some(state);
            out.push(Burst { output: o, frames });
        }
    }

    /// Record what became of a burst for output `o`: `written` to the bus at `now`, or
    /// dropped (the bus was down or busy, or the write failed). Telemetry only; scheduling
    /// goes by [`OutputSlot::last_sent`].
    pub fn burst_done(&mut self, o: usize, written: bool, now: Millis) {
        let Some(slot) = self.outputs.get_mut(o) else {
            return;
        };
        if written {
            slot.bursts = slot.bursts.saturating_add(1);
            slot.last_written = Some(now);
        } else {
            slot.bursts_dropped = slot.bursts_dropped.saturating_add(1);
        }
    }

    /// A `sync` output whose inverter has sent no 0x305 / 0x307 for its
    /// `request_timeout_ms` (counted from the start if it never sent one).
    pub fn request_stale(&self, o: usize, now: Millis) -> bool {
        let Some(slot) = self.outputs.get(o) else {
            return false;
        };
        let limit = slot.cfg.request_timeout_ms;
        if slot.cfg.mode != OutputMode::Sync || limit == 0 {
            return false;
        }
        now.since(slot.last_request.unwrap_or(Millis(0))) >= limit
    }

    /// Inputs due for an inverter keep-alive (0x305) at `now`, marking them polled.
    pub fn polls(&mut self, now: Millis, out: &mut Vec<usize>) {
        for (i, slot) in self.inputs.iter_mut().enumerate() {
            if slot.poll_ms == 0 {
                continue;
            }
            if slot.last_poll.is_none_or(|t| now.since(t) >= slot.poll_ms) {
                slot.last_poll = Some(now);
                out.push(i);
            }
        }
    }

    /// Apply a set-point command at `now`.
    ///
    /// # Errors
    /// [`SetpointError`] when a value or the lifetime is out of bounds; then nothing changed.
    pub fn command(&mut self, cmd: Command, now: Millis) -> Result<(), SetpointError> {
        match cmd {
            Command::Clear => {
                self.setpoints.clear();
            }
            Command::Set {
                charge,
                discharge,
                ttl_ms,
            } => {
                // Check both first, so that a half-bad command changes nothing.
                for (d, v) in [
                    (Direction::Charge, charge),
                    (Direction::Discharge, discharge),
                ] {
                    if let Some(v) = v {
                        Setpoints::check(d, v, ttl_ms, &self.bounds)?;
                    }
                }
                for (d, v) in [
                    (Direction::Charge, charge),
                    (Direction::Discharge, discharge),
                ] {
                    if let Some(v) = v {
                        self.setpoints.set(d, v, ttl_ms, now, &self.bounds)?;
                    }
                }
            }
        }
        self.generation = self.generation.wrapping_add(1);
        Ok(())
    }

    /// Mode of the last step.
    pub fn mode(&self) -> Option<Mode> {
        self.last.as_ref().map(|l| l.mode)
    }

    /// Status of input `i` in the last step.
    pub fn input_status(&self, i: usize) -> InputStatus {
        self.last
            .as_ref()
            .and_then(|l| l.inputs.get(i).copied())
            .unwrap_or_default()
    }
}
