//! Victron VE.Direct devices: a SmartSolar MPPT and a SmartShunt.

use std::collections::BTreeMap;

use core::time::Duration;

use voltwire_core::{DeciCelsius, MilliampHours, Milliamps, Millivolts, Permille, Watts};
use voltwire_victron::hex::{
    self, FirmwareVersion, Flags, Reading, RegisterData, RegisterValue, Response, ValueBytes,
    register::id,
};
use voltwire_victron::text::{self, Event, Label, Record};

use super::{dc, ma, mv};
use crate::faults::{Garbage, flip_hex_digit, push_reply};
use crate::{BmsView, Every, Faults, Plant, SerialResponder};

/// Which VE.Direct device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VeDirectKind {
    /// A SmartSolar MPPT 100/20 48V (PID 0xA060): charges the packs from
    /// [`crate::Flows::mppt_pv`].
    Mppt,
    /// A SmartShunt 500A/50mV (PID 0xA389) on the battery bank.
    SmartShunt,
}

impl VeDirectKind {
    /// The product id.
    pub const fn product_id(self) -> u16 {
        match self {
            Self::Mppt => 0xA060,
            Self::SmartShunt => 0xA389,
        }
    }
}

/// Firmware version answered to Ping and App version (v1.64).
const FIRMWARE: u16 = 0x4164;

/// Registers a host may Set, with their initial raw value bytes.
const SETTINGS_MPPT: &[(u16, &[u8])] = &[
    (id::DEVICE_MODE, &[1]),
    (id::BATTERY_MAX_CURRENT, &[0xC8, 0x00]), // 20.0 A
    (id::BATTERY_ABSORPTION_VOLTAGE, &[0x2C, 0x16]), // 56.76 V
];
const SETTINGS_SHUNT: &[(u16, &[u8])] = &[(id::BATTERY_CAPACITY, &[0x64, 0x00])];

/// What the device measures now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Snapshot {
    voltage: Millivolts,
    current: Milliamps,
    power: Watts,
    soc: Permille,
    consumed: MilliampHours,
    capacity: MilliampHours,
    ttg_minutes: Option<u16>,
    temperature: DeciCelsius,
    panel_voltage: Millivolts,
    panel_power: Watts,
    alarm_reason: u16,
}

/// Whether a register is a live measurement of this device (`None` = not available now).
enum Live {
    Known(Option<i64>),
    NotHere,
}

/// A VE.Direct device: the TEXT record every second of sim time, and answers to HEX
/// Ping, App version, Product id, Get and Set (settable registers are kept; unknown
/// registers answer with flag 0x01, unknown commands with `:3`).
#[derive(Debug)]
pub struct VeDirect {
    kind: VeDirectKind,
    faults: Faults,
    garbage: Garbage,
    decoder: text::Decoder,
    every: Every,
    settings: BTreeMap<u16, ValueBytes>,
    yield_wh: f64,
    last_tick: Option<Duration>,
    /// An MPPT's share of the plant's PV: one of this many MPPTs sharing it.
    share: u16,
}

#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    reason = "physics floats, clamped before conversion"
)]
impl VeDirect {
    /// A device of `kind`.
    pub fn new(kind: VeDirectKind) -> Self {
        let table = match kind {
            VeDirectKind::Mppt => SETTINGS_MPPT,
            VeDirectKind::SmartShunt => SETTINGS_SHUNT,
        };
        Self {
            kind,
            faults: Faults::default(),
            garbage: Garbage::default(),
            decoder: text::Decoder::new(),
            every: Every::new(Duration::from_secs(1)),
            settings: table
                .iter()
                .filter_map(|(r, v)| Some((*r, ValueBytes::from_slice(v).ok()?)))
                .collect(),
            yield_wh: 0.0,
            last_tick: None,
            share: 1,
        }
    }

    /// An MPPT that is one of `count` MPPTs sharing the plant's PV: it reports (and
    /// yields) its equal part of what they deliver ([`Plant::mppt_power`]).
    #[must_use]
    pub fn sharing(mut self, count: u16) -> Self {
        self.share = count.max(1);
        self
    }

    /// This MPPT's part of what the MPPTs deliver now, W.
    fn pv(&self, plant: &Plant) -> i32 {
        plant.mppt_power().0.max(0) / i32::from(self.share.max(1))
    }

    /// The raw value bytes of settable register `register`, as last Set.
    pub fn setting(&self, register: u16) -> Option<&[u8]> {
        self.settings.get(&register).map(heapless::Vec::as_slice)
    }

    fn snapshot(&self, plant: &Plant) -> Snapshot {
        let views: Vec<BmsView> = (0..plant.packs().len())
            .filter_map(|i| BmsView::of(plant, i, &self.faults))
            .collect();
        let n = i32::try_from(views.len()).unwrap_or(1).max(1);
        let voltage = mv(
            Millivolts(views.iter().map(|v| v.voltage.0).sum::<i32>() / n),
            10,
        );
        let capacity = MilliampHours(views.iter().map(|v| v.capacity.0).sum());
        let remaining: i64 = views.iter().map(|v| v.remaining.0).sum();
        let soc = Permille(
            i16::try_from(views.iter().map(|v| i32::from(v.soc.0)).sum::<i32>() / n).unwrap_or(0),
        );
        let temperature = dc(
            views
                .first()
                .map_or(DeciCelsius(250), BmsView::mean_temperature),
            10,
        );
        let mut alarm_reason = 0;
        if views.iter().any(BmsView::cell_over_voltage) {
            alarm_reason |= 2; // high voltage
        }
        if views.iter().any(BmsView::over_temperature) {
            alarm_reason |= 64; // high temperature
        }
        match self.kind {
            VeDirectKind::Mppt => {
                let pv = self.pv(plant);
                let current = if voltage.0 > 1000 {
                    Milliamps((f64::from(pv) / (f64::from(voltage.0) / 1000.0) * 1000.0) as i32)
                } else {
                    Milliamps(0)
                };
                Snapshot {
                    voltage,
                    current: ma(current, 100),
                    power: Watts(pv),
                    soc,
                    consumed: MilliampHours(0),
                    capacity,
                    ttg_minutes: None,
                    temperature,
                    panel_voltage: if pv > 0 {
                        Millivolts(75_000)
                    } else {
                        Millivolts(0)
                    },
                    panel_power: Watts(pv),
                    alarm_reason,
                }
            }
            VeDirectKind::SmartShunt => {
                let current = Milliamps(views.iter().map(|v| v.current.0).sum());
                let power =
                    Watts(((i64::from(voltage.0) * i64::from(current.0)) / 1_000_000) as i32);
                let ttg_minutes = (current.0 < 0).then(|| {
                    let m = remaining * 60 / i64::from(-current.0);
                    u16::try_from(m).unwrap_or(u16::MAX - 1).min(u16::MAX - 1)
                });
                Snapshot {
                    voltage,
                    current,
                    power,
                    soc,
                    consumed: MilliampHours(remaining - capacity.0),
                    capacity,
                    ttg_minutes,
                    temperature,
                    panel_voltage: Millivolts(0),
                    panel_power: Watts(0),
                    alarm_reason,
                }
            }
        }
    }

    fn record(&self, s: &Snapshot) -> Result<Record, voltwire_core::EncodeError> {
        let mut r = Record::new();
        r.set_int(Label::Pid, i64::from(self.kind.product_id()))?;
        r.set_text(Label::Fw, "164")?;
        r.set_text(Label::SerialNumber, "HQ2601SIM01")?;
        r.set_battery_voltage(s.voltage)?;
        r.set_battery_current(s.current)?;
        match self.kind {
            VeDirectKind::Mppt => {
                let on = s.panel_power.0 > 0;
                r.set_panel_voltage(mv(s.panel_voltage, 10))?;
                r.set_panel_power(s.panel_power)?;
                r.set_int(Label::Cs, if on { 3 } else { 0 })?; // bulk / off
                r.set_int(Label::Mppt, if on { 2 } else { 0 })?; // MPPT active / off
                r.set_int(Label::Or, i64::from(!on))?; // 0x01: no input power
                r.set_int(Label::Err, 0)?;
                let total = (self.yield_wh / 10.0).round() as i64 * 10;
                r.set_int(Label::H19, total)?;
                r.set_int(Label::H20, total)?;
                r.set_int(Label::H21, i64::from(s.panel_power.0))?;
                r.set_int(Label::H22, 0)?;
                r.set_int(Label::H23, 0)?;
                r.set_int(Label::Hsds, 0)?;
            }
            VeDirectKind::SmartShunt => {
                r.set_power(s.power)?;
                r.set_consumed(s.consumed)?;
                r.set_soc(s.soc)?;
                r.set_int(Label::Ttg, s.ttg_minutes.map_or(-1, i64::from))?;
                r.set_on_off(Label::Alarm, s.alarm_reason != 0)?;
                r.set_int(Label::Ar, i64::from(s.alarm_reason))?;
                r.set_int(Label::Mon, 0)?;
                r.set_battery_temperature(s.temperature)?;
            }
        }
        Ok(r)
    }

    /// The live value of `register`, as raw wire integer, if this device has it.
    fn live(&self, register: u16, s: &Snapshot) -> Live {
        let mppt = self.kind == VeDirectKind::Mppt;
        Live::Known(match register {
            id::DC_CHANNEL1_VOLTAGE => Some(i64::from(s.voltage.0 / 10)),
            id::DC_CHANNEL1_CURRENT => Some(i64::from(s.current.0 / 100)),
            id::DC_CHANNEL1_CURRENT_MA if !mppt => Some(i64::from(s.current.0)),
            id::DC_CHANNEL1_POWER if !mppt => Some(i64::from(s.power.0)),
            id::SOC if !mppt => Some(i64::from(s.soc.0) * 10),
            id::TTG if !mppt => s.ttg_minutes.map(i64::from),
            id::PANEL_VOLTAGE if mppt => Some(i64::from(s.panel_voltage.0 / 10)),
            id::PANEL_POWER if mppt => Some(i64::from(s.panel_power.0) * 100),
            id::DEVICE_STATE if mppt => Some(if s.panel_power.0 > 0 { 3 } else { 0 }),
            id::BATTERY_TEMPERATURE if !mppt => Some(i64::from(s.temperature.0) * 10 + 27_315),
            _ => return Live::NotHere,
        })
    }

    fn hex_answer(&mut self, req: &hex::Request, s: &Snapshot) -> Response {
        let fw = FIRMWARE.to_le_bytes();
        match req {
            hex::Request::Ping => Response::Ping(FirmwareVersion(FIRMWARE)),
            hex::Request::AppVersion => {
                Response::Done(hex::Payload::from_slice(&fw).unwrap_or_default())
            }
            hex::Request::ProductId => Response::Done(
                hex::Payload::from_slice(&self.kind.product_id().to_le_bytes()).unwrap_or_default(),
            ),
            hex::Request::Get { register, .. } => {
                let r = *register;
                let value = if let Live::Known(live) = self.live(r, s) {
                    hex::lookup(r).and_then(|info| {
                        let v = live.map_or(RegisterValue::NotAvailable, |raw| {
                            RegisterValue::Number(Reading {
                                raw,
                                unit: info.unit,
                            })
                        });
                        v.encode(info).ok()
                    })
                } else {
                    self.settings.get(&r).cloned()
                };
                Response::Get(match value {
                    Some(value) => RegisterData {
                        register: r,
                        flags: Flags::OK,
                        value,
                    },
                    None => RegisterData {
                        register: r,
                        flags: Flags::UNKNOWN_ID,
                        value: ValueBytes::new(),
                    },
                })
            }
            hex::Request::Set(d) => {
                let ok = self.settings.contains_key(&d.register) && d.decode().is_ok();
                if ok {
                    self.settings.insert(d.register, d.value.clone());
                    Response::Set(RegisterData {
                        flags: Flags::OK,
                        ..d.clone()
                    })
                } else {
                    let flags = if self.settings.contains_key(&d.register) {
                        Flags::PARAMETER_ERROR
                    } else {
                        Flags::UNKNOWN_ID
                    };
                    Response::Set(RegisterData { flags, ..d.clone() })
                }
            }
            _ => Response::UnknownCommand(hex::Payload::new()),
        }
    }
}

impl SerialResponder for VeDirect {
    fn on_bytes(&mut self, input: &[u8], _now: Duration, plant: &Plant, out: &mut Vec<u8>) {
        let mut requests = Vec::new();
        let mut rest = input;
        loop {
            let p = self.decoder.feed(rest);
            rest = rest.get(p.consumed..).unwrap_or_default();
            match p.item.map(|i| i.value) {
                Some(Event::Hex(Ok(frame))) => {
                    if let Ok(r) = hex::Request::from_frame(&frame) {
                        requests.push(r);
                    }
                }
                None if rest.is_empty() || p.consumed == 0 => break,
                _ => {}
            }
        }
        if requests.is_empty() {
            return;
        }
        let s = self.snapshot(plant);
        for req in &requests {
            let answer = self.hex_answer(req, &s);
            let Ok(frame) = answer.to_frame() else {
                continue;
            };
            let mut line = frame.to_line().to_vec();
            let at = line.len().saturating_sub(2);
            push_reply(
                &self.faults,
                &mut self.garbage,
                &mut line,
                |b| flip_hex_digit(b, at),
                out,
            );
        }
    }

    fn tick(&mut self, now: Duration, plant: &Plant, out: &mut Vec<u8>) {
        if let Some(last) = self.last_tick {
            let dt = now.saturating_sub(last).as_secs_f64();
            self.yield_wh += f64::from(self.pv(plant)) * dt / 3600.0;
        }
        self.last_tick = Some(now);
        if !self.every.due(now) {
            return;
        }
        let s = self.snapshot(plant);
        let Ok(record) = self.record(&s) else {
            return;
        };
        let mut buf = vec![0u8; record.buffer_len()];
        let Ok(n) = record.emit(&mut buf) else {
            return;
        };
        buf.truncate(n);
        push_reply(
            &self.faults,
            &mut self.garbage,
            &mut buf,
            |b| {
                if let Some(c) = b.last_mut() {
                    *c = c.wrapping_add(1);
                }
            },
            out,
        );
    }

    fn faults(&self) -> &Faults {
        &self.faults
    }

    fn faults_mut(&mut self) -> &mut Faults {
        &mut self.faults
    }
}
