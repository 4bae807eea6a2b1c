//! Pace BMS packs (protocol v25) on RS485, BMS side.

use voltwire_asciihex::Frame;
use voltwire_core::{DeciCelsius, MilliampHours, Rounding, Scale};
use voltwire_pace::flags::{Protect1, Protect2, System, Warn1, Warn2};
use voltwire_pace::{
    CID1_LIFEPO4, ManufacturerInfo, MosfetSwitch, Pace, PackAnalog, PackStatus, Request,
    RequestBody, Requests, Response, ResponseBody, SystemParameters, VER,
};

use super::asciihex::{self, Port, Stack, count_u8, fault_bits, kelvin, port_field};
use crate::{BmsView, PlantCommand};

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
    port: Port<Requests>,
    /// Per pack: (charge MOSFET, discharge MOSFET) as switched over the bus.
    mosfets: Vec<(bool, bool)>,
    commands: Vec<PlantCommand>,
}

impl Default for PaceStack {
    fn default() -> Self {
        Self::new()
    }
}

fn mah10(c: MilliampHours) -> MilliampHours {
    c.round_to(Scale::new(10, 0), Rounding::Nearest)
}

impl PaceStack {
    /// Packs over every plant pack, the first at address 1.
    pub fn new() -> Self {
        Self {
            first: 1,
            port: Port::default(),
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

    /// Cell sensors, then MOSFET and environment (16S packs: 4 + 2).
    fn temperatures(v: &BmsView) -> Vec<DeciCelsius> {
        let mut t: Vec<DeciCelsius> = v
            .temperatures
            .iter()
            .take(voltwire_pace::MAX_TEMPERATURES - 2)
            .copied()
            .collect();
        t.extend([v.max_temperature().1, v.mean_temperature()]);
        t
    }

    fn analog(v: &BmsView) -> PackAnalog {
        let mut p = asciihex::analog::<Pace>(v, &Self::temperatures(v));
        p.remaining_capacity = mah10(v.remaining);
        p.user_defined = 3;
        p.full_capacity = mah10(v.capacity);
        p.extension = Some(mah10(v.capacity));
        p
    }

    fn status(v: &BmsView, mosfets: (bool, bool)) -> PackStatus {
        let mut s = asciihex::status::<Pace>(v, &Self::temperatures(v));
        let st = &mut s.state;
        // Cell OV / UV in protect 1 and warn 1, charge and discharge OT in protect 2 and warn 2.
        (st.protect_1, st.protect_2) = (
            Protect1(fault_bits(v, [0x01, 0x02, 0])),
            Protect2(fault_bits(v, [0, 0, 0x03])),
        );
        (st.warn_1, st.warn_2) = (Warn1(st.protect_1.0), Warn2(st.protect_2.0));
        if v.soc.0 >= 1000 {
            st.protect_2.0 |= Protect2::FULLY_CHARGED;
        }
        if mosfets.0 && v.may_charge() {
            st.system.0 |= System::CHARGE_FET_ON;
        }
        if mosfets.1 && v.may_discharge() {
            st.system.0 |= System::DISCHARGE_FET_ON;
        }
        s
    }

    fn system_parameters(v: &BmsView) -> SystemParameters {
        let cells = u16::try_from(v.cells.len()).unwrap_or(0);
        let mv16 = |x: i32| u16::try_from(x).unwrap_or(u16::MAX);
        let k16 = |t: i16| u16::try_from(kelvin::<Pace>(DeciCelsius(t)).0).unwrap_or(0);
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
}

impl Stack for PaceStack {
    type Requests = Requests;

    port_field!();

    fn answer(&mut self, req: &Request, views: &[BmsView]) -> Option<Frame> {
        let adr = req.adr;
        let own = self.index(adr, views.len())?;
        let pick = |t: voltwire_pace::Target| {
            asciihex::select(t.pack(), own, views.len(), |p| self.index(p, views.len()))
        };
        let body = match &req.body {
            RequestBody::Analog(t) => {
                let (command, which) = pick(*t)?;
                let make = |i: usize| views.get(i).map(Self::analog);
                ResponseBody::Analog(asciihex::reply(0, command, &which, make))
            }
            RequestBody::Status(t) => {
                let (command, which) = pick(*t)?;
                let make = |i: usize| Some(Self::status(views.get(i)?, self.mosfet(i)));
                ResponseBody::Status(asciihex::reply(0, command, &which, make))
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
            RequestBody::PackCount => {
                ResponseBody::PackCount(count_u8(views.len().min(voltwire_pace::MAX_PACKS)))
            }
            RequestBody::ChargeMosfet(s) | RequestBody::DischargeMosfet(s) => {
                let on = match s {
                    MosfetSwitch::On => true,
                    MosfetSwitch::Off => false,
                    MosfetSwitch::Other(_) => return asciihex::refusal(VER, adr, CID1_LIFEPO4),
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
                    state: Self::status(views.get(own)?, self.mosfet(own))
                        .state
                        .system
                        .0,
                }
            }
            _ => return asciihex::refusal(VER, adr, CID1_LIFEPO4),
        };
        Response::ok(adr, body).to_frame().ok()
    }

    fn drain(&mut self, out: &mut Vec<PlantCommand>) {
        out.append(&mut self.commands);
    }
}
