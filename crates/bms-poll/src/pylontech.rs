//! Pylontech RS485 (ASCII-hex protocol 0x20): 0x42 analog of one module and, when asked,
//! its 0x92 charge management (the module's own limits and enable flags).

use voltwire_asciihex::{Decoder, Frame};
use voltwire_pylontech::rs485::{
    ChargeManagement, ManagementStatus as S, ModuleAnalog, Request, RequestBody, Response,
    ResponseBody, Target,
};

use crate::{Limits, PackReading, Plan, Reading, RequestBytes, extremes, range, soc_of};

/// What one Pylontech poll read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PylontechPoll {
    /// 0x42 (the first block of the reply).
    pub analog: ModuleAnalog,
    /// 0x92, when read.
    pub management: Option<ChargeManagement>,
}

impl Reading for PylontechPoll {
    /// Cells are required. The first temperature is the BMS board's (the other probe) when
    /// there are several, the rest the cells'. Capacities and SOC use the wide fields when
    /// the block carries them. With 0x92: its limits (charge current ≥ 0, discharge as a
    /// magnitude) and a cleared enable flag stops its direction.
    fn reading(&self) -> Option<PackReading> {
        let a = &self.analog;
        let (cell_min, cell_max) = extremes(a.cells.iter().copied())?;
        let first_cell = usize::from(a.temperatures.len() > 1);
        let m = self.management;
        Some(PackReading {
            voltage: a.voltage,
            current: a.current,
            soc: soc_of(a.remaining(), a.total()),
            remaining: Some(a.remaining()),
            full: Some(a.total()),
            design: None,
            cycles: Some(u32::from(a.cycles)),
            cell_min,
            cell_max,
            cell_temperatures: range(
                (first_cell..a.temperatures.len()).filter_map(|i| a.temperature_celsius(i)),
            ),
            other_temperatures: range((0..first_cell).filter_map(|i| a.temperature_celsius(i))),
            charge_mosfet: None,
            discharge_mosfet: None,
            charge_stop: m.is_some_and(|m| !m.status.contains(S::CHARGE_ENABLE)),
            discharge_stop: m.is_some_and(|m| !m.status.contains(S::DISCHARGE_ENABLE)),
            limits: m.map(|m| Limits {
                charge_voltage: m.charge_voltage_limit,
                charge_current: voltwire_core::Milliamps(m.charge_current_limit.0.max(0)),
                discharge_current: m.discharge_current_magnitude(),
            }),
        })
    }
}

type Frames = Result<Frame, voltwire_asciihex::Error>;

/// The Pylontech plan: 0x42 and, with limits, 0x92; every reply required.
#[derive(Debug, Clone)]
pub struct PylontechPlan {
    address: u8,
    limits: bool,
    step: u8,
    failed: bool,
    analog: Option<ModuleAnalog>,
    management: Option<ChargeManagement>,
}

impl PylontechPlan {
    /// A plan for the module at `address` (2 for the first); `limits`: read 0x92 too.
    pub const fn new(address: u8, limits: bool) -> Self {
        Self {
            address,
            limits,
            step: 0,
            failed: false,
            analog: None,
            management: None,
        }
    }

    fn current(&self) -> Option<Request> {
        let adr = self.address;
        let body = match (self.failed, self.step, self.limits) {
            (false, 0, _) => RequestBody::Analog(Target::Module(adr)),
            (false, 1, true) => RequestBody::Management(adr),
            _ => return None,
        };
        Some(Request::new(adr, body))
    }
}

impl Plan for PylontechPlan {
    type Decoder = Decoder;
    type Output = PylontechPoll;

    fn start(&mut self) {
        *self = Self::new(self.address, self.limits);
    }

    fn request(&self) -> Option<RequestBytes> {
        let req = self.current()?;
        RequestBytes::from_slice(&req.to_frame().ok()?.to_bytes()).ok()
    }

    fn matches(&self, item: &Frames) -> bool {
        self.current().is_some_and(|req| {
            item.as_ref()
                .is_ok_and(|f| Response::from_frame(f, req.command()).answers(&req))
        })
    }

    fn reply(&mut self, item: Option<Frames>) {
        let Some(req) = self.current() else {
            return;
        };
        let body = item.and_then(Result::ok).and_then(|f| {
            let r = Response::from_frame(&f, req.command());
            (r.answers(&req) && r.rtn.is_ok()).then_some(r.body)
        });
        match body {
            Some(ResponseBody::Analog(mut a)) if self.step == 0 && !a.modules.is_empty() => {
                self.analog = Some(a.modules.swap_remove(0));
            }
            Some(ResponseBody::Management { management, .. }) if self.step == 1 => {
                self.management = Some(management);
            }
            _ => self.failed = true,
        }
        self.step += 1;
    }

    fn finish(&mut self) -> Option<PylontechPoll> {
        if self.failed || self.current().is_some() {
            return None;
        }
        Some(PylontechPoll {
            analog: self.analog.take()?,
            management: self.management,
        })
    }
}
