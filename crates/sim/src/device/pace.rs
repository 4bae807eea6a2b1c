//! Pace BMS packs (protocol v25) on RS485, BMS side.

use voltwire_asciihex::Frame;
use voltwire_core::{DeciCelsius, MilliampHours, Milliamps, Millivolts, Rounding, Scale};
use voltwire_pace::flags::{Protect1, Protect2, System, Warn1, Warn2};
use voltwire_pace::{
    BalanceConfig, CID1_LIFEPO4, Capacity, ConfigRead, CurrentProtection, DateTime,
    FullChargeConfig, ManufacturerInfo, MosfetSwitch, Pace, PackAnalog, PackStatus, Request,
    RequestBody, Requests, Response, ResponseBody, SystemParameters, VER, VoltageKind,
    VoltageProtection,
};

use super::asciihex::{self, Port, Stack, count_u8, fault_bits, kelvin, port_field};
use crate::{BmsView, PlantCommand};

/// Pace packs on one RS485 bus: plant pack `i` answers at address `first + i` (default
/// `first` = 1) and is pack number `first + i` in 0x42/0x44 requests. A stack of one pack
/// also answers at address 0x00, as a lone pack on its RS232 port does (it has no pack id
/// there).
///
/// Answers 0x42 (analog) and 0x44 (warning/status) for one pack or all (`0xFF`: at the first
/// address every pack, INFO carrying the pack count; at another address that pack alone),
/// 0x47 (system parameters, v20 layout), 0x4F (protocol version), 0x51 (manufacturer),
/// 0x90 (pack count), 0xA6 (capacity), 0xB1 (date and time), 0xC1 (software version), 0xC2
/// (product info), the configuration reads 0xD1/0xD3/0xD5/0xD7 (cell and pack over/under
/// voltage), 0xD9/0xDB (charge/discharge over-current, discharge read back negative),
/// 0xB6 (balancing) and 0xAF (full charge) from its [`PaceSettings`], the matching writes
/// (0xD0…0xDA, 0xB5, 0xAE: the settings change, an empty OK answers) and the MOSFET switches
/// 0x9A/0x9B (which ask the plant to follow, [`PlantCommand`], and answer with the system
/// state byte); other commands get RTN 0x04 (invalid CID2). Requests to other addresses are
/// ignored. Values are rounded to the wire grid (10 mA, 10 mAh, 0.1 K).
#[derive(Debug)]
pub struct PaceStack {
    first: u8,
    settings: Option<PaceSettings>,
    /// The date and time last written (0xB2), read back by 0xB1; it does not run.
    clock: DateTime,
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
            settings: None,
            clock: DateTime {
                year_since_2000: 26,
                month: 1,
                day: 1,
                hour: 0,
                minute: 0,
                second: 0,
            },
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

    /// The same packs with these protection settings (default: [`PaceSettings::for_pack`]
    /// of the first pack's cells and capacity).
    #[must_use]
    pub fn with_settings(mut self, settings: PaceSettings) -> Self {
        self.settings = Some(settings);
        self
    }

    /// A stack made of the plant packs `first..first + count` only (in a scene, one pack
    /// on its own port: `with_packs(k, 1)`); its pack `i` is plant pack `first + i`.
    #[must_use]
    pub fn with_packs(mut self, first: usize, count: usize) -> Self {
        self.port.select_packs(first, count);
        self
    }

    /// The settings the configuration reads answer with, for packs like `v`.
    pub fn settings(&self, v: &BmsView) -> PaceSettings {
        self.settings
            .unwrap_or_else(|| PaceSettings::for_pack(v.cells.len(), v.capacity))
    }

    /// Take `set` as the settings (of every pack: one BMS configuration per stack); the
    /// empty OK answering the write of `command`.
    fn write(&mut self, set: PaceSettings, command: u8) -> ResponseBody {
        self.settings = Some(set);
        ResponseBody::Accepted { command }
    }

    /// A configuration read or write (of the pack seen as `v`); `None` for another body.
    fn config(&mut self, body: &RequestBody, view: &BmsView) -> Option<ResponseBody> {
        Some(match body {
            RequestBody::ReadConfig(read) => {
                let set = self.settings(view);
                match *read {
                    ConfigRead::Voltage(k) => ResponseBody::Voltage(k, set.voltage(k)),
                    ConfigRead::ChargeOverCurrent => {
                        ResponseBody::ChargeOverCurrent(set.charge_over_current)
                    }
                    ConfigRead::DischargeOverCurrent => {
                        let c = set.discharge_over_current;
                        ResponseBody::DischargeOverCurrent(CurrentProtection {
                            alarm: Milliamps(-c.alarm.0.abs()),
                            protect: Milliamps(-c.protect.0.abs()),
                            ..c
                        })
                    }
                    ConfigRead::Balancing => ResponseBody::Balancing(set.balancing),
                    ConfigRead::FullCharge => ResponseBody::FullCharge(set.full_charge),
                }
            }
            RequestBody::WriteVoltage(k, new) => {
                let mut set = self.settings(view);
                *set.voltage_mut(*k) = *new;
                self.write(set, body.command())
            }
            RequestBody::WriteChargeOverCurrent(c) => {
                let mut set = self.settings(view);
                set.charge_over_current = *c;
                self.write(set, body.command())
            }
            RequestBody::WriteDischargeOverCurrent(c) => {
                let mut set = self.settings(view);
                set.discharge_over_current = *c;
                self.write(set, body.command())
            }
            RequestBody::WriteBalancing(b) => {
                let mut set = self.settings(view);
                set.balancing = *b;
                self.write(set, body.command())
            }
            RequestBody::WriteFullCharge(f) => {
                let mut set = self.settings(view);
                set.full_charge = *f;
                self.write(set, body.command())
            }
            _ => return None,
        })
    }

    fn index(&self, adr: u8, packs: usize) -> Option<usize> {
        if adr == 0 && packs == 1 {
            return Some(0);
        }
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
            RequestBody::Capacity => {
                let v = views.get(own)?;
                ResponseBody::Capacity(Capacity {
                    remaining: mah10(v.remaining),
                    full: mah10(v.capacity),
                    design: mah10(v.capacity),
                })
            }
            RequestBody::ReadDateTime => ResponseBody::DateTime(self.clock),
            RequestBody::WriteDateTime(t) => {
                self.clock = *t;
                ResponseBody::Accepted {
                    command: req.command(),
                }
            }
            RequestBody::SoftwareVersion => ResponseBody::SoftwareVersion(*b"VW-SIM-PACE 1.0     "),
            RequestBody::ProductInfo => {
                let mut info = heapless::Vec::new();
                let _ = info.extend_from_slice(b"VWSIMPACE");
                let _ = info.push(b'0'.saturating_add(count_u8(own % 10)));
                let _ = info.extend_from_slice(b"          ");
                ResponseBody::ProductInfo(info)
            }
            body @ (RequestBody::ReadConfig(_)
            | RequestBody::WriteVoltage(..)
            | RequestBody::WriteChargeOverCurrent(_)
            | RequestBody::WriteDischargeOverCurrent(_)
            | RequestBody::WriteBalancing(_)
            | RequestBody::WriteFullCharge(_)) => self.config(body, views.get(own)?)?,
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
                let plant_pack = self.port.plant_index(own);
                self.commands.push(if charge {
                    PlantCommand::ChargeEnabled {
                        pack: plant_pack,
                        on,
                    }
                } else {
                    PlantCommand::DischargeEnabled {
                        pack: plant_pack,
                        on,
                    }
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

/// The protection settings of a Pace pack, as its configuration reads (0xD1…0xDB, 0xB6,
/// 0xAF) report them and its writes change them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaceSettings {
    /// Cell over-voltage (0xD1).
    pub cell_over: VoltageProtection,
    /// Cell under-voltage (0xD3).
    pub cell_under: VoltageProtection,
    /// Pack over-voltage (0xD5).
    pub pack_over: VoltageProtection,
    /// Pack under-voltage (0xD7).
    pub pack_under: VoltageProtection,
    /// Charge over-current (0xD9), positive.
    pub charge_over_current: CurrentProtection,
    /// Discharge over-current (0xDB), positive here (read back negative on the wire).
    pub discharge_over_current: CurrentProtection,
    /// Balancing (0xB6).
    pub balancing: BalanceConfig,
    /// Full charge detection (0xAF).
    pub full_charge: FullChargeConfig,
}

impl PaceSettings {
    /// Factory-like settings for a pack of `cells` LFP cells of `capacity`: cell limits at
    /// the simulator's protection thresholds ([`BmsView::CELL_OVER_VOLTAGE`],
    /// [`BmsView::CELL_UNDER_VOLTAGE`]), pack limits `cells` times the cell's, over-current
    /// alarm at 1 C and protection at 1.05 C (at least 1 A), delays 1 s.
    pub fn for_pack(cells: usize, capacity: MilliampHours) -> Self {
        let n = i32::try_from(cells).unwrap_or(16);
        let v = |alarm: i32, protect: i32, release: i32, k: i32| VoltageProtection {
            lead: 1,
            alarm: Millivolts(alarm.saturating_mul(k)),
            protect: Millivolts(protect.saturating_mul(k)),
            release: Millivolts(release.saturating_mul(k)),
            delay_100ms: 10,
        };
        let over = (
            BmsView::CELL_OVER_VOLTAGE - 50,
            BmsView::CELL_OVER_VOLTAGE,
            3_400,
        );
        let under = (
            BmsView::CELL_UNDER_VOLTAGE + 100,
            BmsView::CELL_UNDER_VOLTAGE,
            3_000,
        );
        // 1 C in whole amps (the wire's step), at least 1 A.
        let amps = i32::try_from(capacity.0 / 1000).unwrap_or(100).max(1);
        let current = CurrentProtection {
            lead: 1,
            alarm: Milliamps(amps.saturating_mul(1000)),
            protect: Milliamps(amps.saturating_mul(1050) / 1000 * 1000),
            delay_100ms: 10,
        };
        Self {
            cell_over: v(over.0, over.1, over.2, 1),
            cell_under: v(under.0, under.1, under.2, 1),
            pack_over: v(over.0, over.1, over.2, n),
            pack_under: v(under.0, under.1, under.2, n),
            charge_over_current: current,
            discharge_over_current: current,
            balancing: BalanceConfig {
                threshold: Millivolts(3_400),
                delta: Millivolts(30),
            },
            full_charge: FullChargeConfig {
                voltage: Millivolts(3_450_i32.saturating_mul(n)),
                current: Milliamps(2_000),
                low_soc_percent: 10,
            },
        }
    }

    /// The voltage setting of `kind`.
    pub fn voltage(&self, kind: VoltageKind) -> VoltageProtection {
        match kind {
            VoltageKind::CellOver => self.cell_over,
            VoltageKind::CellUnder => self.cell_under,
            VoltageKind::PackOver => self.pack_over,
            VoltageKind::PackUnder => self.pack_under,
        }
    }

    /// The voltage setting of `kind`, to change it.
    pub fn voltage_mut(&mut self, kind: VoltageKind) -> &mut VoltageProtection {
        match kind {
            VoltageKind::CellOver => &mut self.cell_over,
            VoltageKind::CellUnder => &mut self.cell_under,
            VoltageKind::PackOver => &mut self.pack_over,
            VoltageKind::PackUnder => &mut self.pack_under,
        }
    }
}
