//! Pace (RS485, ASCII-hex protocol v25): 0x42 analog and 0x44 status of one pack, and any
//! single request (configuration reads, MOSFET switches) as a [`PaceExchange`].

use voltwire_asciihex::{Decoder, Frame};
use voltwire_pace::flags::{Protect1 as P1, Protect2 as P2, System};
use voltwire_pace::{PackAnalog, PackStatus, Request, RequestBody, Response, ResponseBody, Target};

use crate::{Need, PackReading, Plan, Reading, RequestBytes, extremes, range, soc_of};

/// Protections that stop both directions: short circuit; MOSFET and environment over
/// temperature, environment under temperature.
const BOTH_STOP: (u8, u8) = (
    P1::SHORT_CIRCUIT,
    P2::MOSFET_OVER_TEMPERATURE
        | P2::ENVIRONMENT_OVER_TEMPERATURE
        | P2::ENVIRONMENT_UNDER_TEMPERATURE,
);
/// … charging: cell / pack over voltage, charge over current, charge over / under
/// temperature, fully charged.
const CHARGE_STOP: (u8, u8) = (
    P1::CELL_OVER_VOLTAGE | P1::PACK_OVER_VOLTAGE | P1::CHARGE_OVER_CURRENT,
    P2::CHARGE_OVER_TEMPERATURE | P2::CHARGE_UNDER_TEMPERATURE | P2::FULLY_CHARGED,
);
/// … discharging: cell / pack under voltage, discharge over current, discharge over /
/// under temperature.
const DISCHARGE_STOP: (u8, u8) = (
    P1::CELL_UNDER_VOLTAGE | P1::PACK_UNDER_VOLTAGE | P1::DISCHARGE_OVER_CURRENT,
    P2::DISCHARGE_OVER_TEMPERATURE | P2::DISCHARGE_UNDER_TEMPERATURE,
);

/// What one Pace poll read: the pack's analog block and, when read, its status block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacePoll {
    /// 0x42 (the first block of the reply).
    pub analog: PackAnalog,
    /// 0x44 (the first block of the reply), when read.
    pub status: Option<PackStatus>,
}

impl PacePoll {
    /// The number of temperatures that are the cells' probes: all but the last two (the
    /// MOSFET's and the environment's), at least one.
    pub fn cell_probes(&self) -> usize {
        self.analog.temperatures.len().saturating_sub(2).max(1)
    }
}

impl Reading for PacePoll {
    /// Cells are required. SOC = remaining / full capacity; the analog extension is the
    /// design capacity. The status block's system flags give the MOSFETs and its protect
    /// bytes stop their direction (no status: not reported, nothing stops).
    fn reading(&self) -> Option<PackReading> {
        let a = &self.analog;
        let (cell_min, cell_max) = extremes(a.cells.iter().copied())?;
        let split = self.cell_probes().min(a.temperatures.len());
        let (cells, others) = a.temperatures.split_at(split);
        let celsius = |t: &voltwire_core::DeciKelvin| t.to_celsius(voltwire_pace::ZERO_CELSIUS);
        let state = self.status.as_ref().map(|s| s.state);
        let stops = |(p1, p2): (u8, u8)| {
            state.is_some_and(|s| s.protect_1.0 & p1 != 0 || s.protect_2.0 & p2 != 0)
        };
        let both = stops(BOTH_STOP);
        Some(PackReading {
            voltage: a.voltage,
            current: a.current,
            soc: soc_of(a.remaining(), a.total()),
            remaining: Some(a.remaining_capacity),
            full: Some(a.full_capacity),
            design: a.extension,
            cycles: Some(u32::from(a.cycles)),
            cell_min,
            cell_max,
            cell_temperatures: range(cells.iter().filter_map(celsius)),
            other_temperatures: range(others.iter().filter_map(celsius)),
            charge_mosfet: state.map(|s| s.system.contains(System::CHARGE_FET_ON)),
            discharge_mosfet: state.map(|s| s.system.contains(System::DISCHARGE_FET_ON)),
            charge_stop: both || stops(CHARGE_STOP),
            discharge_stop: both || stops(DISCHARGE_STOP),
            limits: None,
        })
    }
}

type Frames = Result<Frame, voltwire_asciihex::Error>;

/// The body of `item` when it answers `req` with RTN 0; `None` otherwise.
fn answer(req: &Request, item: Option<Frames>) -> Option<ResponseBody> {
    let f = item?.ok()?;
    let r = Response::from_frame(&f, req.command());
    (r.answers(req) && r.rtn.is_ok()).then_some(r.body)
}

/// Whether `item` answers `req` (any RTN).
fn answers(req: &Request, item: &Frames) -> bool {
    item.as_ref()
        .is_ok_and(|f| Response::from_frame(f, req.command()).answers(req))
}

/// The request's frame bytes.
fn request_bytes(req: &Request) -> Option<RequestBytes> {
    RequestBytes::from_slice(&req.to_frame().ok()?.to_bytes()).ok()
}

/// The Pace poll plan: 0x42 (required) then 0x44.
#[derive(Debug, Clone)]
pub struct PacePlan {
    address: u8,
    target: Target,
    status_need: Need,
    step: u8,
    failed: bool,
    analog: Option<PackAnalog>,
    status: Option<PackStatus>,
}

impl PacePlan {
    /// A plan for the pack at `address`, asking for `target` (`Target::All` for a pack
    /// alone on its port, `Target::Pack(address)` on a shared bus).
    pub const fn new(address: u8, target: Target, status: Need) -> Self {
        Self {
            address,
            target,
            status_need: status,
            step: 0,
            failed: false,
            analog: None,
            status: None,
        }
    }

    fn current(&self) -> Option<Request> {
        let body = match (self.failed, self.step) {
            (false, 0) => RequestBody::Analog(self.target),
            (false, 1) => RequestBody::Status(self.target),
            _ => return None,
        };
        Some(Request::new(self.address, body))
    }
}

impl Plan for PacePlan {
    type Decoder = Decoder;
    type Output = PacePoll;

    fn start(&mut self) {
        *self = Self::new(self.address, self.target, self.status_need);
    }

    fn request(&self) -> Option<RequestBytes> {
        request_bytes(&self.current()?)
    }

    fn matches(&self, item: &Frames) -> bool {
        self.current().is_some_and(|req| answers(&req, item))
    }

    fn reply(&mut self, item: Option<Frames>) {
        let Some(req) = self.current() else {
            return;
        };
        match (self.step, answer(&req, item)) {
            (0, Some(ResponseBody::Analog(mut a))) if !a.modules.is_empty() => {
                self.analog = Some(a.modules.swap_remove(0));
            }
            (1, Some(ResponseBody::Status(mut s))) if !s.modules.is_empty() => {
                self.status = Some(s.modules.swap_remove(0));
            }
            (1, _) if self.status_need == Need::Optional => {}
            _ => self.failed = true,
        }
        self.step += 1;
    }

    fn finish(&mut self) -> Option<PacePoll> {
        if self.failed || self.current().is_some() {
            return None;
        }
        Some(PacePoll {
            analog: self.analog.take()?,
            status: self.status.take(),
        })
    }
}

/// One Pace request and its answer (RTN 0), e.g. a configuration read or a MOSFET switch.
#[derive(Debug, Clone)]
pub struct PaceExchange {
    request: Request,
    sent: bool,
    body: Option<ResponseBody>,
}

impl PaceExchange {
    /// The exchange of `body` with the pack at `address`.
    pub const fn new(address: u8, body: RequestBody) -> Self {
        Self {
            request: Request::new(address, body),
            sent: false,
            body: None,
        }
    }
}

impl Plan for PaceExchange {
    type Decoder = Decoder;
    type Output = ResponseBody;

    fn start(&mut self) {
        self.sent = false;
        self.body = None;
    }

    fn request(&self) -> Option<RequestBytes> {
        if self.sent {
            return None;
        }
        request_bytes(&self.request)
    }

    fn matches(&self, item: &Frames) -> bool {
        answers(&self.request, item)
    }

    fn reply(&mut self, item: Option<Frames>) {
        self.sent = true;
        self.body = answer(&self.request, item);
    }

    fn finish(&mut self) -> Option<ResponseBody> {
        self.body.take()
    }
}
