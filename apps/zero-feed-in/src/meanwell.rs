//! A Mean Well BIC-2200 (or an NPB charger) on a CAN bus (SLCAN, `SocketCAN`, virtual) as a zero-feed-in device.
//!
//! On every (re)connection: output off, then `SYSTEM_CONFIG` is read and, if the EEPROM
//! write-disable bit (bit 10, firmware from about 2024) is not set, written once with it set
//! and read back. Set to and read back as set, set points go to RAM and are written freely;
//! otherwise (older firmware, or a unit that applies the bit only after a power cycle of its
//! AC input — cycle it once after the first start) every set point write goes through a
//! [`WriteBudget`] (2.3 writes / min average) and a lifetime counter; writes that switch the
//! output off always pass (counted). Then the hardware backstop: `VOUT_SET` = cells × max cell
//! voltage (a runaway charge is capped by the unit) and `REVERSE_VOUT_SET` = cells × min cell
//! voltage (the unit stops discharging there by itself), both checked against the model
//! limits. Status: `READ_VOUT` × `READ_IOUT` every second; a reply is the device's "seen".
//!
//! An NPB in voltage trim (`voltage_trim = true`, the rules' [`voltwire_zero_feed_in_rules::trim`])
//! gets `CURVE_CV` = the trimmed voltage (capped at the backstop) before `CURVE_CC` = its
//! minimum current; out of trim `CURVE_CV` goes back to the backstop before the current
//! rises. These are set point writes like any other: free in RAM mode, through the
//! [`WriteBudget`] otherwise (a refused one keeps the unit as it was and ends that step's
//! plan). Switched off, the trimmed `CURVE_CV` is left as it is (lower than the backstop) and
//! restored before the unit is switched on again without trim.

use std::time::Duration;

use tokio::sync::{mpsc, watch};
use voltwire_core::{Milliamps, Millivolts, Watts};
use voltwire_meanwell::{Body, Command, Family, Message, Model, SystemConfig, Target, Value};
use voltwire_runtime::can::port::{self, PortEvent, Received, Timeouts, Wires};
use voltwire_runtime::can::{BusUrl, CanFrame, VirtualBuses};
use voltwire_zero_feed_in_rules::{DeviceCommand, DeviceStatus, WriteBudget, WriteBudgetConfig};

use crate::engine::Clock;

/// One BIC-2200 or NPB on a bus (`model` tells which; an NPB only charges: its charge
/// current is `CURVE_CC`, its backstop `CURVE_CV`, and it has no discharge cut-off).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bic {
    /// The model (limits).
    pub model: Model,
    /// Its jumper id.
    pub id: u8,
    /// The bus.
    pub bus: BusUrl,
    /// Charge voltage cap: cells × max cell voltage.
    pub backstop_vout: Millivolts,
    /// Discharge cut-off: cells × min cell voltage.
    pub backstop_reverse_vout: Millivolts,
    /// The EEPROM budget when set points cannot go to RAM.
    pub budget: WriteBudgetConfig,
    /// Where the lifetime write count is kept (`None`: in memory only, warned at start).
    pub state_file: Option<std::path::PathBuf>,
}

/// Persists the budget's lifetime count after a counted write; an exhausted budget is an
/// alarm (logged as an error at every refusal).
fn persist(bic: &Bic, budget: &WriteBudget) {
    if let Some(path) = &bic.state_file {
        if let Err(e) = crate::state::save(path, budget.lifetime()) {
            tracing::error!(file = %path.display(), error = %e, "meanwell: EEPROM write count not saved");
        }
    }
}

struct Io {
    send: mpsc::Sender<Vec<CanFrame>>,
    recv: mpsc::Receiver<Received<()>>,
    notices: mpsc::UnboundedReceiver<PortEvent<()>>,
}

impl Io {
    async fn send(&self, m: &Message) -> bool {
        match m.to_frame::<CanFrame>() {
            Ok(f) => self.send.send(vec![f]).await.is_ok(),
            Err(e) => {
                tracing::error!(error = %e, "meanwell frame not encodable");
                false
            }
        }
    }

    /// Reads `command` and waits up to 1 s for its reply from `target`.
    async fn read(
        &mut self,
        target: Target,
        family: voltwire_meanwell::Family,
        command: Command,
    ) -> Option<Value> {
        if !self.send(&Message::read(family, target, command)).await {
            return None;
        }
        let wait = async {
            while let Some(r) = self.recv.recv().await {
                if let Ok(m) = Message::from_frame(&r.frame) {
                    if let (true, Body::Reply(v)) = (m.target == target, m.body) {
                        if v.command() == command {
                            return Some(v);
                        }
                    }
                }
            }
            None
        };
        tokio::time::timeout(Duration::from_secs(1), wait)
            .await
            .ok()
            .flatten()
    }
}

/// What was last written, so only changes are sent.
#[derive(Debug, Default)]
struct Written {
    operation: Option<u8>,
    direction: Option<u8>,
    iout: Option<Milliamps>,
    reverse_iout: Option<Milliamps>,
    /// The NPB's `CURVE_CV`: the backstop, or a trimmed voltage.
    cv: Option<Millivolts>,
}

/// Where the task reports: its status, and (no BMS) the battery voltage it measures.
#[derive(Debug)]
pub struct Reports {
    /// The device status.
    pub status: watch::Sender<DeviceStatus>,
    /// With `battery.source = "none"`: a voltage-only battery reading from `READ_VOUT`.
    pub voltage: Option<watch::Sender<Option<voltwire_zero_feed_in_rules::BatteryReading>>>,
}

/// Runs the device until its command sender is dropped; then switches the output off.
#[allow(clippy::too_many_lines, reason = "one device's sequence in one place")]
pub async fn run(
    bic: Bic,
    virtuals: VirtualBuses,
    clock: Clock,
    mut commands: watch::Receiver<DeviceCommand>,
    reports: Reports,
) {
    let (send_tx, send_rx) = mpsc::channel(16);
    let (recv_tx, recv_rx) = mpsc::channel(64);
    let (note_tx, note_rx) = mpsc::unbounded_channel();
    let label = bic.bus.to_string();
    let wires = Wires {
        to_send: send_rx,
        received: recv_tx,
        notices: note_tx,
    };
    let bus = tokio::spawn(port::run(
        bic.bus.clone(),
        label,
        (),
        Timeouts::output(),
        virtuals,
        wires,
    ));
    let mut io = Io {
        send: send_tx,
        recv: recv_rx,
        notices: note_rx,
    };
    let family = bic.model.family();
    let Some(target) = Target::device(family, bic.id) else {
        tracing::error!(id = bic.id, "meanwell: id out of the family's range");
        return;
    };
    let off = Value::Operation(0);
    let lifetime = match bic.state_file.as_deref().map(crate::state::load) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            // Unknown wear: never write to this unit (it stays as it is; the loop sees it lost).
            tracing::error!(error = %e, "meanwell: cannot read the EEPROM write count; the unit is not driven");
            return;
        }
    };
    let mut budget = WriteBudget::new(bic.budget, lifetime);
    let mut ram = false;
    let mut written = Written::default();
    let mut ready = false;
    // Once a second of app time (the demo runs faster than real time).
    let mut every = tokio::time::interval(clock.real(1000));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // A bus that went down: set up again from the start.
        while let Ok(n) = io.notices.try_recv() {
            if matches!(n, PortEvent::Down(())) {
                ready = false;
            }
        }
        let now = clock.now();
        if !ready {
            written = Written::default();
            budget.force_write(now);
            persist(&bic, &budget);
            io.send(&Message {
                family,
                target,
                body: Body::Write(off),
            })
            .await;
            written.operation = Some(0);
            if let Some(Value::SystemConfig(c)) =
                io.read(target, family, Command::SYSTEM_CONFIG).await
            {
                ram = c.eeprom_write_disabled();
                if !ram {
                    let want = SystemConfig(c.0 | SystemConfig::CAN_CONTROL)
                        .with_eeprom_write_disabled(true);
                    budget.force_write(now);
                    persist(&bic, &budget);
                    io.send(&Message {
                        family,
                        target,
                        body: Body::Write(Value::SystemConfig(want)),
                    })
                    .await;
                    ram = matches!(
                        io.read(target, family, Command::SYSTEM_CONFIG).await,
                        Some(Value::SystemConfig(back)) if back.eeprom_write_disabled()
                    );
                }
                if !ram && bic.state_file.is_none() {
                    tracing::warn!(
                        "meanwell: set points go to EEPROM and no eeprom_state_file is set: \
                         the lifetime write count is not kept across restarts"
                    );
                }
                tracing::info!(
                    ram,
                    "meanwell: set points go to {}",
                    if ram { "RAM" } else { "EEPROM (rate-limited)" }
                );
                let mut backstop_ok = true;
                // BIC: charge voltage and discharge cut-off; NPB (a charger): its charge
                // curve's constant voltage.
                let backstop = if family == Family::Npb {
                    vec![Value::CurveCv(bic.backstop_vout)]
                } else {
                    vec![
                        Value::VoutSet(bic.backstop_vout),
                        Value::ReverseVoutSet(bic.backstop_reverse_vout),
                    ]
                };
                for v in backstop {
                    match Message::write_checked(bic.model, target, v) {
                        Ok(m) => {
                            budget.force_write(now);
                            persist(&bic, &budget);
                            let sent = io.send(&m).await;
                            if let (true, Value::CurveCv(cv)) = (sent, v) {
                                written.cv = Some(cv);
                            }
                            backstop_ok &= sent;
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "meanwell: backstop refused; the unit stays off");
                            backstop_ok = false;
                        }
                    }
                }
                ready = backstop_ok;
            }
        }
        if ready {
            let cmd = *commands.borrow_and_update();
            // The wire carries 0.01 A: round down (never above the controller's current).
            let amps = Milliamps(cmd.current.unwrap_or(Milliamps(0)).0 / 10 * 10);
            let mut plan: Vec<Value> = Vec::new();
            let npb = family == Family::Npb;
            if cmd.power.0 == 0 || amps.0 == 0 || (npb && cmd.power.0 < 0) {
                if written.operation != Some(0) {
                    plan.push(off);
                }
            } else {
                let (dir, set) = if cmd.power.0 > 0 {
                    (
                        0,
                        (written.iout != Some(amps)).then_some(Value::IoutSet(amps)),
                    )
                } else {
                    (
                        1,
                        (written.reverse_iout != Some(amps)).then_some(Value::ReverseIoutSet(amps)),
                    )
                };
                if npb {
                    // The NPB charges only, at its charge curve's constant current, with its
                    // constant voltage at the backstop or, in voltage trim, just above the
                    // battery (never above the backstop). The voltage goes first: into trim
                    // it lowers the output before the current does; out of trim the current
                    // is still the minimum while the voltage rises.
                    let cv = cmd.voltage.map_or(bic.backstop_vout, |v| {
                        Millivolts(v.0.min(bic.backstop_vout.0))
                    });
                    if written.cv != Some(cv) {
                        plan.push(Value::CurveCv(cv));
                    }
                    if written.iout != Some(amps) {
                        plan.push(Value::CurveCc(amps));
                    }
                } else {
                    if written.direction != Some(dir) {
                        plan.push(Value::Direction(dir));
                    }
                    plan.extend(set);
                }
                if written.operation != Some(1) {
                    plan.push(Value::Operation(1));
                }
            }
            for v in plan {
                let switching_off = v == off;
                if !ram && !switching_off {
                    if let Err(r) = budget.try_write(now) {
                        tracing::warn!(
                            reason = r.name(),
                            lifetime = budget.lifetime(),
                            "meanwell: EEPROM write refused; set point kept"
                        );
                        break;
                    }
                    persist(&bic, &budget);
                } else if !ram {
                    budget.force_write(now);
                    persist(&bic, &budget);
                }
                let Ok(m) = Message::write_checked(bic.model, target, v) else {
                    tracing::error!(?v, "meanwell: set point outside the model limits; not sent");
                    break;
                };
                if !io.send(&m).await {
                    break;
                }
                match v {
                    Value::Operation(o) => written.operation = Some(o),
                    Value::Direction(d) => written.direction = Some(d),
                    Value::IoutSet(i) | Value::CurveCc(i) => written.iout = Some(i),
                    Value::ReverseIoutSet(i) => written.reverse_iout = Some(i),
                    Value::CurveCv(v) => written.cv = Some(v),
                    _ => {}
                }
            }
            let v = io.read(target, family, Command::READ_VOUT).await;
            let i = io.read(target, family, Command::READ_IOUT).await;
            if let (Some(Value::Vout(v)), Some(Value::Iout(i))) = (v, i) {
                let w = i64::from(v.0) * i64::from(i.0) / 1_000_000;
                let at = clock.now();
                reports.status.send_replace(DeviceStatus {
                    last_seen: Some(at),
                    delivered: Some(Watts(i32::try_from(w).unwrap_or(0))),
                });
                if let Some(tx) = &reports.voltage {
                    tx.send_replace(Some(
                        voltwire_zero_feed_in_rules::BatteryReading::voltage_only(at, v),
                    ));
                }
            }
        }
        tokio::select! {
            _ = every.tick() => {}
            r = commands.changed() => {
                if r.is_err() {
                    io.send(&Message { family, target, body: Body::Write(off) }).await;
                    // Let the bus task write it before it is dropped.
                    let _ = tokio::time::timeout(Duration::from_secs(1), async {
                        while let Some(n) = io.notices.recv().await {
                            if matches!(n, PortEvent::Sent(()) | PortEvent::SendFailed(())) {
                                break;
                            }
                        }
                    })
                    .await;
                    drop(io);
                    let _ = bus.await;
                    return;
                }
            }
        }
    }
}
