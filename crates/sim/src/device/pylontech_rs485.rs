//! A Pylontech battery stack on RS485 (protocol 0x20), slave side.

use heapless::Vec as HVec;
use voltwire_asciihex::Frame;
use voltwire_core::{DeciCelsius, MilliampHours, Milliamps, Millivolts};
use voltwire_pylontech::rs485::{
    Body as _, CID1_BATTERY, ChargeManagement, DischargeSign, ManagementStatus, ManufacturerInfo,
    ModuleAlarm, ModuleAnalog, Pylontech, Request, RequestBody, Requests, Response, ResponseBody,
    SerialNumber, SystemAlarm, SystemAnalog, SystemInfo, SystemParameters, VER,
};

use super::asciihex::{self, Port, Stack, count_u8, fault_bits, port_field};
use super::{ma, mv};
use crate::BmsView;

/// A stack of Pylontech modules: plant pack `i` is the module at address `2 + i` (2 is the
/// master). Answers 0x42/0x44 (one module or all, `0xFF`), 0x47, 0x4F, 0x51, 0x60–0x63,
/// 0x92 and 0x93; the stack commands (0x60–0x63, and the all-module reads) at the master
/// only; other commands get RTN 0x04 (invalid CID2). Requests to other addresses are ignored.
#[derive(Debug, Default)]
pub struct PylontechStack {
    port: Port<Requests>,
}

/// Charge voltage limit per cell, mV.
const CELL_CHARGE_LIMIT: i32 = 3_550;
/// Discharge voltage limit per cell, mV.
const CELL_DISCHARGE_LIMIT: i32 = 3_000;

fn kelvin(t: DeciCelsius) -> voltwire_core::DeciKelvin {
    asciihex::kelvin::<Pylontech>(t)
}

fn count_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl PylontechStack {
    /// A stack over every pack of the plant.
    pub fn new() -> Self {
        Self::default()
    }

    /// A stack made of the plant packs `first..first + count` only (a scene's stack on its
    /// own port); its module `i` is plant pack `first + i`.
    #[must_use]
    pub fn with_packs(mut self, first: usize, count: usize) -> Self {
        self.port.select_packs(first, count);
        self
    }

    fn address(i: usize) -> u8 {
        u8::try_from(i + 2).unwrap_or(u8::MAX)
    }

    fn module(v: &BmsView) -> ModuleAnalog {
        let mut m = asciihex::analog::<Pylontech>(v, &v.temperatures);
        if v.capacity.0 > 65_000 {
            m.remaining_capacity = MilliampHours(0xFFFF);
            m.full_capacity = MilliampHours(0xFFFF);
            m.user_defined = 4;
            m.extension = Some((v.remaining, v.capacity));
        } else {
            m.remaining_capacity = v.remaining;
            m.full_capacity = v.capacity;
            m.user_defined = 2;
        }
        m
    }

    fn alarm(v: &BmsView) -> ModuleAlarm {
        let mut a = asciihex::status::<Pylontech>(v, &v.temperatures);
        // Module OV, cell UV, discharge and charge OT.
        let s1 = fault_bits(v, [0x01, 0x02, 0x20 | 0x40]);
        let mut s2 = 0u8;
        if v.may_charge() {
            s2 |= 0x02;
        }
        if v.may_discharge() {
            s2 |= 0x04;
        }
        if v.current.0 < 0 {
            s2 |= 0x08;
        }
        let mut s3 = 0u8;
        if v.soc.0 >= 1000 {
            s3 |= 0x08;
        }
        if v.current.0 < 0 {
            s3 |= 0x40;
        }
        if v.current.0 > 0 {
            s3 |= 0x80;
        }
        a.state = [s1, s2, s3, 0, 0];
        a
    }

    fn management(v: &BmsView) -> ChargeManagement {
        let cells = count_i32(v.cells.len());
        let half_c = Milliamps(i32::try_from(v.capacity.0 / 2).unwrap_or(i32::MAX));
        let mut status = ManagementStatus(0);
        if v.may_charge() {
            status.0 |= ManagementStatus::CHARGE_ENABLE;
        }
        if v.may_discharge() {
            status.0 |= ManagementStatus::DISCHARGE_ENABLE;
        }
        ChargeManagement::new(
            Millivolts(cells * CELL_CHARGE_LIMIT),
            Millivolts(cells * CELL_DISCHARGE_LIMIT),
            if v.may_charge() {
                ma(half_c, 100)
            } else {
                Milliamps(0)
            },
            if v.may_discharge() {
                ma(half_c, 100)
            } else {
                Milliamps(0)
            },
            DischargeSign::Negative,
            status,
        )
    }

    /// The stack as one: worst-case limits, summed current.
    fn stack_management(views: &[BmsView]) -> Option<ChargeManagement> {
        let first = views.first()?;
        let mut m = Self::management(first);
        for v in views.iter().skip(1) {
            let o = Self::management(v);
            m.charge_current_limit = Milliamps(m.charge_current_limit.0 + o.charge_current_limit.0);
            m.discharge_current_limit =
                Milliamps(m.discharge_current_limit.0 + o.discharge_current_limit.0);
            m.status.0 &= o.status.0;
        }
        Some(m)
    }

    fn serial(adr: u8) -> [u8; 16] {
        let mut s = *b"VWSIM00000000000";
        if let Some(last) = s.last_mut() {
            *last = b'0' + adr % 10;
        }
        if let Some(d) = s.get_mut(14) {
            *d = b'0' + adr / 10 % 10;
        }
        s
    }

    fn system_analog(views: &[BmsView]) -> Option<SystemAnalog> {
        let n = count_i32(views.len()).max(1);
        let first = views.first()?;
        let id = |module: usize, item: usize| -> u16 {
            u16::from(Self::address(module)) << 8 | u16::try_from(item).unwrap_or(0xFF)
        };
        let mut max_c = (0, first.max_cell());
        let mut min_c = (0, first.min_cell());
        let mut max_t = (0, first.max_temperature());
        let mut min_t = (0, first.min_temperature());
        for (i, v) in views.iter().enumerate() {
            if v.max_cell().1 > max_c.1.1 {
                max_c = (i, v.max_cell());
            }
            if v.min_cell().1 < min_c.1.1 {
                min_c = (i, v.min_cell());
            }
            if v.max_temperature().1 > max_t.1.1 {
                max_t = (i, v.max_temperature());
            }
            if v.min_temperature().1 < min_t.1.1 {
                min_t = (i, v.min_temperature());
            }
        }
        let mean_t = DeciCelsius(
            i16::try_from(
                views
                    .iter()
                    .map(|v| i32::from(v.mean_temperature().0))
                    .sum::<i32>()
                    / n,
            )
            .unwrap_or(250),
        );
        let soc_sum: i32 = views.iter().map(|v| i32::from(v.soc.0)).sum();
        let cycles: Vec<u16> = views.iter().map(|v| v.cycles).collect();
        let avg_cycles =
            u16::try_from(cycles.iter().map(|c| i32::from(*c)).sum::<i32>() / n).unwrap_or(0);
        Some(SystemAnalog {
            voltage: mv(
                Millivolts(views.iter().map(|v| v.voltage.0).sum::<i32>() / n),
                1,
            ),
            current: ma(Milliamps(views.iter().map(|v| v.current.0).sum()), 10),
            soc_percent: u8::try_from((soc_sum / n + 5) / 10).unwrap_or(0),
            average_cycles: avg_cycles,
            max_cycles: cycles.iter().copied().max().unwrap_or(0),
            average_soh_percent: 100,
            min_soh_percent: 100,
            max_cell_voltage: max_c.1.1,
            max_cell_voltage_id: id(max_c.0, max_c.1.0),
            min_cell_voltage: min_c.1.1,
            min_cell_voltage_id: id(min_c.0, min_c.1.0),
            average_cell_temperature: kelvin(mean_t),
            max_cell_temperature: kelvin(max_t.1.1),
            max_cell_temperature_id: id(max_t.0, max_t.1.0),
            min_cell_temperature: kelvin(min_t.1.1),
            min_cell_temperature_id: id(min_t.0, min_t.1.0),
            average_mosfet_temperature: kelvin(mean_t),
            max_mosfet_temperature: kelvin(mean_t),
            max_mosfet_temperature_id: id(0, 1),
            min_mosfet_temperature: kelvin(mean_t),
            min_mosfet_temperature_id: id(0, 1),
            average_bms_temperature: kelvin(mean_t),
            max_bms_temperature: kelvin(mean_t),
            max_bms_temperature_id: id(0, 1),
            min_bms_temperature: kelvin(mean_t),
            min_bms_temperature_id: id(0, 1),
        })
    }

    fn system_alarm(views: &[BmsView]) -> SystemAlarm {
        let mut a = SystemAlarm::default();
        for v in views {
            a.warning_1 |= fault_bits(v, [0x20, 0x10, 0x08]);
        }
        a.protection_1 = a.warning_1;
        a
    }

    fn system_parameters(v: &BmsView) -> SystemParameters {
        let cells = count_i32(v.cells.len());
        let limit = ma(
            Milliamps(i32::try_from(v.capacity.0).unwrap_or(i32::MAX)),
            100,
        );
        SystemParameters {
            info_flag: 0x11,
            cell_high_voltage: Millivolts(BmsView::CELL_OVER_VOLTAGE),
            cell_low_voltage: Millivolts(3_050),
            cell_under_voltage: Millivolts(BmsView::CELL_UNDER_VOLTAGE),
            charge_high_temperature: kelvin(DeciCelsius(BmsView::OVER_TEMPERATURE)),
            charge_low_temperature: kelvin(DeciCelsius(0)),
            charge_current_limit: limit,
            module_high_voltage: Millivolts(cells * BmsView::CELL_OVER_VOLTAGE),
            module_low_voltage: Millivolts(cells * 3_050),
            module_under_voltage: Millivolts(cells * BmsView::CELL_UNDER_VOLTAGE),
            discharge_high_temperature: kelvin(DeciCelsius(BmsView::OVER_TEMPERATURE)),
            discharge_low_temperature: kelvin(DeciCelsius(-100)),
            discharge_current_limit: Milliamps(-limit.0),
        }
    }
}

impl Stack for PylontechStack {
    type Requests = Requests;

    port_field!();

    fn answer(&mut self, req: &Request, views: &[BmsView]) -> Option<Frame> {
        let adr = req.adr;
        let index = |a: u8| usize::from(a).checked_sub(2).filter(|i| *i < views.len());
        let own = index(adr)?;
        let master = own == 0;
        let pick = |t: Option<u8>| asciihex::select(t, own, views.len(), index);
        let count = count_u8(views.len().min(voltwire_pylontech::rs485::MAX_MODULES));
        let two_byte = two_byte_info(&req.body);
        let body = match two_byte.as_ref().unwrap_or(&req.body) {
            RequestBody::ProtocolVersion => ResponseBody::ProtocolVersion,
            RequestBody::Manufacturer => ResponseBody::Manufacturer(
                ManufacturerInfo::new("US5000", [0x01, 0x00], "PYLON").ok()?,
            ),
            RequestBody::Analog(t) if master || t.module().is_some() => {
                let (command, which) = pick(t.module())?;
                let make = |i: usize| views.get(i).map(Self::module);
                ResponseBody::Analog(asciihex::reply(0x11, command, &which, make))
            }
            RequestBody::Alarm(t) if master || t.module().is_some() => {
                let (command, which) = pick(t.module())?;
                let make = |i: usize| views.get(i).map(Self::alarm);
                ResponseBody::Alarm(asciihex::reply(0, command, &which, make))
            }
            RequestBody::SystemParameters(_) => {
                ResponseBody::SystemParameters(Self::system_parameters(views.get(own)?))
            }
            RequestBody::SystemInfo if master => {
                let mut s = SystemInfo {
                    device_name: *b"US5000\0\0\0\0",
                    manufacturer: *b"PYLON\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
                    software_version: [0x01, 0x00],
                    module_count: count,
                    serials: HVec::new(),
                };
                for i in 0..usize::from(count) {
                    let _ = s.serials.push(Self::serial(Self::address(i)));
                }
                ResponseBody::SystemInfo(s)
            }
            RequestBody::SystemAnalog if master => {
                ResponseBody::SystemAnalog(Self::system_analog(views)?)
            }
            RequestBody::SystemAlarm if master => {
                ResponseBody::SystemAlarm(Self::system_alarm(views))
            }
            RequestBody::SystemManagement if master => {
                ResponseBody::SystemManagement(Self::stack_management(views)?)
            }
            RequestBody::Management(a) => ResponseBody::Management {
                command: *a,
                management: Self::management(views.get(index(*a)?)?),
            },
            RequestBody::Serial(a) => {
                let m = a.unwrap_or(adr);
                index(m)?;
                ResponseBody::Serial(SerialNumber {
                    command: m,
                    serial: Self::serial(m),
                })
            }
            _ => return asciihex::refusal(VER, adr, CID1_BATTERY),
        };
        Response::ok(adr, body).to_frame().ok()
    }
}

/// pylontech 0.1.3 sends two INFO bytes for 0x42/0x44/0x92: the address, then the 1-based
/// pack number (0xFF = all). Such a request is answered as the one-byte form of the address.
fn two_byte_info(body: &RequestBody) -> Option<RequestBody> {
    match body {
        RequestBody::Other { cid2, info } => match info.as_slice() {
            [a, _] if matches!(*cid2, 0x42 | 0x44 | 0x92) => Some(RequestBody::parse(*cid2, &[*a])),
            _ => None,
        },
        _ => None,
    }
}
