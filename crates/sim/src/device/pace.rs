//! Pace BMS packs (protocol v25) on RS485, BMS side.

use core::time::Duration;

use heapless::Vec as HVec;
use voltwire_core::{
    DeciCelsius, DeciKelvin, Emit as _, MilliampHours, Rounding, Scale, ScanDecoder,
    StreamDecoder as _,
};
use voltwire_pace::flags::warning;
use voltwire_pace::{
    AnalogReply, Frame, Info, ManufacturerInfo, MosfetSwitch, PackAnalog, PackStatus, Request,
    RequestBody, Requests, Response, ResponseBody, Rtn, StatusReply, SystemParameters, Target,
    ZERO_CELSIUS,
};

use super::{ma, mv};
use crate::faults::{Garbage, flip_hex_digit, push_reply};
use crate::{BmsView, Faults, Plant, PlantCommand, SerialResponder};

/// Pace packs on one RS485 bus: plant pack `i` answers at address `first + i` (default
/// `first` = 1) and is pack number `first + i` in 0x42/0x44 requests.
///
/// Answers 0x42 (analog) and 0x44 (warning/status) for one pack or all (`0xFF`: at the first
/// address every pack, INFO carrying the pack count; at another address that pack alone), 0x47 (system parameters, v20 layout), 0x4F
/// (protocol version), 0x51 (manufacturer), 0x90 (pack count) and the MOSFET switches
/// 0x9A/0x9B (which ask the plant to follow, [`PlantCommand`], and answer with the system
/// state byte); other commands get RTN 0x04 (invalid CID2). Requests to other addresses are
/// ignored. Values are rounded to the wire grid (10 mA, 10 mAh, 0.1 K).
#[derive(Debug)]
pub struct PaceStack {
    first: u8,
    faults: Faults,
    decoder: ScanDecoder<Requests, { voltwire_asciihex::MAX_FRAME_LEN }>,
    garbage: Garbage,
    /// Per pack: (charge MOSFET, discharge MOSFET) as switched over the bus.
    mosfets: Vec<(bool, bool)>,
    commands: Vec<PlantCommand>,
}

impl Default for PaceStack {
    fn default() -> Self {
        Self::new()
    }
}

/// System-state bits (see [`voltwire_pace::flags::SYSTEM`]).
const SYSTEM_CHARGE_FET: u8 = 0x02;
const SYSTEM_DISCHARGE_FET: u8 = 0x04;

fn kelvin(t: DeciCelsius) -> DeciKelvin {
    DeciKelvin(i32::from(t.0) + ZERO_CELSIUS)
}

fn mah10(c: MilliampHours) -> MilliampHours {
    c.round_to(Scale::new(10, 0), Rounding::Nearest)
}

fn count_u8(n: usize) -> u8 {
    u8::try_from(n).unwrap_or(u8::MAX)
}

impl PaceStack {
    /// Packs over every plant pack, the first at address 1.
    pub fn new() -> Self {
        Self {
            first: 1,
            faults: Faults::default(),
            decoder: ScanDecoder::new(),
            garbage: Garbage::default(),
            mosfets: Vec::new(),
            commands: Vec::new(),
        }
    }

    /// The same packs with the first at address `first` (0–15).
    #[must_use]
    pub fn with_first_address(mut self, first: u8) -> Self {
        self.first = first;
        self
    }

    fn index(&self, adr: u8, packs: usize) -> Option<usize> {
        usize::from(adr)
            .checked_sub(usize::from(self.first))
            .filter(|i| *i < packs)
    }

    fn mosfet(&self, i: usize) -> (bool, bool) {
        self.mosfets.get(i).copied().unwrap_or((true, true))
    }

    fn analog(v: &BmsView) -> PackAnalog {
        let mut p = PackAnalog::default();
        for c in v.cells.iter().take(voltwire_pace::MAX_CELLS) {
            let _ = p.cells.push(*c);
        }
        // Cell sensors, then MOSFET and environment (16S packs: 4 + 2).
        for t in v
            .temperatures
            .iter()
            .take(voltwire_pace::MAX_TEMPERATURES - 2)
        {
            let _ = p.temperatures.push(kelvin(*t));
        }
        let _ = p.temperatures.push(kelvin(v.max_temperature().1));
        let _ = p.temperatures.push(kelvin(v.mean_temperature()));
        p.current = ma(v.current, 10);
        p.voltage = mv(v.voltage, 1);
        p.remaining_capacity = mah10(v.remaining);
        p.user_defined = 3;
        p.full_capacity = mah10(v.capacity);
        p.cycles = v.cycles;
        p.design_capacity = Some(mah10(v.capacity));
        p
    }

    fn status(v: &BmsView, mosfets: (bool, bool)) -> PackStatus {
        let mut s = PackStatus::default();
        for c in v.cells.iter().take(voltwire_pace::MAX_CELLS) {
            let w = if c.0 > BmsView::CELL_OVER_VOLTAGE {
                warning::ABOVE
            } else if c.0 < BmsView::CELL_UNDER_VOLTAGE {
                warning::BELOW
            } else {
                warning::NORMAL
            };
            let _ = s.cells.push(w);
        }
        let temps = Self::analog(v).temperatures;
        for t in &temps {
            let hot = t.0 > kelvin(DeciCelsius(BmsView::OVER_TEMPERATURE)).0;
            let _ = s
                .temperatures
                .push(if hot { warning::ABOVE } else { warning::NORMAL });
        }
        if v.cell_over_voltage() {
            s.protect_1 |= 0x01;
            s.warn_1 |= 0x01;
        }
        if v.cell_under_voltage() {
            s.protect_1 |= 0x02;
            s.warn_1 |= 0x02;
        }
        if v.over_temperature() {
            s.protect_2 |= 0x01 | 0x02;
            s.warn_2 |= 0x01 | 0x02;
        }
        if v.soc.0 >= 1000 {
            s.protect_2 |= 0x80;
        }
        if mosfets.0 && v.may_charge() {
            s.system |= SYSTEM_CHARGE_FET;
        }
        if mosfets.1 && v.may_discharge() {
            s.system |= SYSTEM_DISCHARGE_FET;
        }
        s
    }

    fn system_parameters(v: &BmsView) -> SystemParameters {
        let cells = u16::try_from(v.cells.len()).unwrap_or(0);
        let mv16 = |x: i32| u16::try_from(x).unwrap_or(u16::MAX);
        let k16 = |t: i16| u16::try_from(kelvin(DeciCelsius(t)).0).unwrap_or(0);
        let amps = u16::try_from(v.capacity.0 / 1000).unwrap_or(u16::MAX);
        SystemParameters {
            info_flag: 0,
            // v20 layout: cell high / low / under voltage (mV), charge high / low
            // temperature (0.1 K), charge current limit (A), module high / low / under
            // voltage (10 mV), discharge high / low temperature (0.1 K), discharge current (A).
            values: [
                mv16(BmsView::CELL_OVER_VOLTAGE),
                3_050,
                mv16(BmsView::CELL_UNDER_VOLTAGE),
                k16(BmsView::OVER_TEMPERATURE),
                k16(0),
                amps,
                mv16(BmsView::CELL_OVER_VOLTAGE / 10).saturating_mul(cells),
                305_u16.saturating_mul(cells),
                mv16(BmsView::CELL_UNDER_VOLTAGE / 10).saturating_mul(cells),
                k16(BmsView::OVER_TEMPERATURE),
                k16(-200),
                amps,
            ],
        }
    }

    /// The answer to `req`, or `None` to stay silent.
    fn answer(&mut self, req: &Request, views: &[BmsView]) -> Option<Response> {
        let adr = req.adr;
        let own = self.index(adr, views.len())?;
        let master = own == 0;
        let all: Vec<usize> = (0..views.len().min(voltwire_pace::MAX_PACKS)).collect();
        let count = count_u8(all.len());
        let analog = |command: u8, which: &[usize]| {
            let mut r = AnalogReply {
                info_flag: 0,
                command,
                packs: HVec::new(),
            };
            for &i in which {
                if let Some(v) = views.get(i) {
                    let _ = r.packs.push(Self::analog(v));
                }
            }
            r
        };
        let status = |this: &Self, command: u8, which: &[usize]| {
            let mut r = StatusReply {
                info_flag: 0,
                command,
                ..StatusReply::default()
            };
            for &i in which {
                if let Some(v) = views.get(i) {
                    let _ = r.packs.push(Self::status(v, this.mosfet(i)));
                }
            }
            r
        };
        let body = match &req.body {
            RequestBody::Analog(Target::All) if master => ResponseBody::Analog(analog(count, &all)),
            RequestBody::Analog(Target::All) => ResponseBody::Analog(analog(1, &[own])),
            RequestBody::Analog(Target::Pack(p)) => {
                ResponseBody::Analog(analog(*p, &[self.index(*p, views.len())?]))
            }
            RequestBody::Status(Target::All) if master => {
                ResponseBody::Status(status(self, count, &all))
            }
            RequestBody::Status(Target::All) => ResponseBody::Status(status(self, 1, &[own])),
            RequestBody::Status(Target::Pack(p)) => {
                ResponseBody::Status(status(self, *p, &[self.index(*p, views.len())?]))
            }
            RequestBody::SystemParameters => {
                ResponseBody::SystemParameters(Self::system_parameters(views.get(own)?))
            }
            RequestBody::ProtocolVersion => ResponseBody::ProtocolVersion,
            RequestBody::Manufacturer => ResponseBody::Manufacturer(ManufacturerInfo {
                device_name: *b"VW-SIM-PAC",
                software_version: [0x01, 0x00],
                manufacturer: *b"VOLTWIRE SIM PACE   ",
            }),
            RequestBody::PackCount => ResponseBody::PackCount(count),
            RequestBody::ChargeMosfet(s) | RequestBody::DischargeMosfet(s) => {
                let on = match s {
                    MosfetSwitch::On => true,
                    MosfetSwitch::Off => false,
                    MosfetSwitch::Other(_) => return Some(refuse(adr, req.command())),
                };
                if self.mosfets.len() < views.len() {
                    self.mosfets.resize(views.len(), (true, true));
                }
                let charge = matches!(req.body, RequestBody::ChargeMosfet(_));
                if let Some(m) = self.mosfets.get_mut(own) {
                    if charge {
                        m.0 = on;
                    } else {
                        m.1 = on;
                    }
                }
                self.commands.push(if charge {
                    PlantCommand::ChargeEnabled { pack: own, on }
                } else {
                    PlantCommand::DischargeEnabled { pack: own, on }
                });
                ResponseBody::ControlState {
                    command: req.command(),
                    state: Self::status(views.get(own)?, self.mosfet(own)).system,
                }
            }
            _ => return Some(refuse(adr, req.command())),
        };
        Some(Response::ok(adr, body))
    }

    fn send(&mut self, frame: &Frame, out: &mut Vec<u8>) {
        let mut buf = vec![0u8; frame.buffer_len()];
        let Ok(n) = frame.emit(&mut buf) else {
            return;
        };
        buf.truncate(n);
        // CHKSUM is the 4 hex digits before the CR: break its last digit.
        let at = n.saturating_sub(2);
        push_reply(
            &self.faults,
            &mut self.garbage,
            &mut buf,
            |b| flip_hex_digit(b, at),
            out,
        );
    }
}

/// RTN 0x04 (invalid CID2) for `command`.
fn refuse(adr: u8, command: u8) -> Response {
    let mut r = Response::ok(
        adr,
        ResponseBody::Undecoded {
            command,
            info: Info::new(),
        },
    );
    r.rtn = Rtn::InvalidCid2;
    r
}

impl SerialResponder for PaceStack {
    fn on_bytes(&mut self, input: &[u8], _now: Duration, plant: &Plant, out: &mut Vec<u8>) {
        let mut requests = Vec::new();
        self.decoder.feed_all(input, |item| {
            if let Ok(r) = item.value {
                requests.push(r);
            }
        });
        if requests.is_empty() {
            return;
        }
        let views: Vec<BmsView> = (0..plant.packs().len())
            .filter_map(|i| BmsView::of(plant, i, &self.faults))
            .collect();
        for req in &requests {
            if let Some(frame) = self.answer(req, &views).and_then(|r| r.to_frame().ok()) {
                self.send(&frame, out);
            }
        }
    }

    fn tick(&mut self, _now: Duration, _plant: &Plant, _out: &mut Vec<u8>) {}

    fn faults(&self) -> &Faults {
        &self.faults
    }

    fn faults_mut(&mut self) -> &mut Faults {
        &mut self.faults
    }

    fn drain_commands(&mut self, out: &mut Vec<PlantCommand>) {
        out.append(&mut self.commands);
    }
}
