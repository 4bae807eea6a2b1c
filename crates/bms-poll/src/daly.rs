//! Daly (0xA5 frames, UART or RS485 board): 0x90 pack status, 0x91 cell range, 0x92
//! temperature range, 0x93 MOSFETs and, in [`DalyReads::Full`], 0x98 failures.

use voltwire_daly::{
    CellVoltageRange, Command, Decoder, Failure, FailureFlags, MosfetStatus, PackStatus, RawFrame,
    Request, Response, TemperatureRange, Variant,
};

use crate::{Extreme, Need, PackReading, Plan, Reading, RequestBytes};

/// Which reads a Daly poll needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DalyReads {
    /// 0x90 and 0x91 required, 0x92 and 0x93 optional (no failures read).
    Status,
    /// 0x90, 0x91, 0x92, 0x93 and 0x98, every one required.
    Full,
}

/// What one Daly poll read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DalyPoll {
    /// 0x90.
    pub pack: PackStatus,
    /// 0x91.
    pub cells: CellVoltageRange,
    /// 0x92, when read.
    pub temperatures: Option<TemperatureRange>,
    /// 0x93, when read.
    pub mosfets: Option<MosfetStatus>,
    /// 0x98, when read.
    pub failures: Option<FailureFlags>,
}

/// Level-2 faults (and the short circuit) that stop charging.
const CHARGE_STOP: [Failure; 8] = [
    Failure::ShortCircuitProtectFault,
    Failure::CellVoltageHighL2,
    Failure::PackVoltageHighL2,
    Failure::ChargeOvercurrentL2,
    Failure::ChargeTemperatureHighL2,
    Failure::ChargeTemperatureLowL2,
    Failure::ChargeMosOverTemperature,
    Failure::LowVoltageChargeForbidden,
];

/// Level-2 faults (and the short circuit) that stop discharging.
const DISCHARGE_STOP: [Failure; 7] = [
    Failure::ShortCircuitProtectFault,
    Failure::CellVoltageLowL2,
    Failure::PackVoltageLowL2,
    Failure::DischargeOvercurrentL2,
    Failure::DischargeTemperatureHighL2,
    Failure::DischargeTemperatureLowL2,
    Failure::DischargeMosOverTemperature,
];

impl Reading for DalyPoll {
    /// Cells from 0x91 (numbers as the BMS gives them), temperatures from 0x92 (cell
    /// probes), MOSFETs and remaining capacity from 0x93; the level-2 faults of 0x98 stop
    /// their direction (level-1 warnings stop nothing). The SOC is the BMS's, as sent.
    fn reading(&self) -> Option<PackReading> {
        let has = |f: &Failure| self.failures.is_some_and(|w| w.contains(*f));
        Some(PackReading {
            voltage: self.pack.voltage,
            current: self.pack.current,
            soc: Some(self.pack.soc),
            remaining: self.mosfets.map(|m| m.remaining_capacity),
            full: None,
            design: None,
            cycles: None,
            cell_min: Extreme {
                value: self.cells.min,
                number: self.cells.min_cell,
            },
            cell_max: Extreme {
                value: self.cells.max,
                number: self.cells.max_cell,
            },
            cell_temperatures: self.temperatures.map(|t| (t.min, t.max)),
            other_temperatures: None,
            charge_mosfet: self.mosfets.map(|m| m.charge_mosfet.0 != 0),
            discharge_mosfet: self.mosfets.map(|m| m.discharge_mosfet.0 != 0),
            charge_stop: CHARGE_STOP.iter().any(has),
            discharge_stop: DISCHARGE_STOP.iter().any(has),
            limits: None,
        })
    }
}

/// The Daly poll plan.
#[derive(Debug, Clone)]
pub struct DalyPlan {
    variant: Variant,
    reads: DalyReads,
    step: usize,
    failed: bool,
    pack: Option<PackStatus>,
    cells: Option<CellVoltageRange>,
    temperatures: Option<TemperatureRange>,
    mosfets: Option<MosfetStatus>,
    failures: Option<FailureFlags>,
}

impl DalyPlan {
    /// A plan for a board of `variant` (host address, current sign).
    pub const fn new(variant: Variant, reads: DalyReads) -> Self {
        Self {
            variant,
            reads,
            step: 0,
            failed: false,
            pack: None,
            cells: None,
            temperatures: None,
            mosfets: None,
            failures: None,
        }
    }

    /// The steps: command and need.
    const fn steps(&self) -> &'static [(Command, Need)] {
        match self.reads {
            DalyReads::Status => &[
                (Command::PACK_STATUS, Need::Required),
                (Command::CELL_VOLTAGE_RANGE, Need::Required),
                (Command::TEMPERATURE_RANGE, Need::Optional),
                (Command::MOSFET_STATUS, Need::Optional),
            ],
            DalyReads::Full => &[
                (Command::PACK_STATUS, Need::Required),
                (Command::CELL_VOLTAGE_RANGE, Need::Required),
                (Command::TEMPERATURE_RANGE, Need::Required),
                (Command::MOSFET_STATUS, Need::Required),
                (Command::FAILURES, Need::Required),
            ],
        }
    }

    fn current(&self) -> Option<(Command, Need)> {
        if self.failed {
            return None;
        }
        self.steps().get(self.step).copied()
    }
}

impl Plan for DalyPlan {
    type Decoder = Decoder;
    type Output = DalyPoll;

    fn start(&mut self) {
        *self = Self::new(self.variant, self.reads);
    }

    fn request(&self) -> Option<RequestBytes> {
        let (command, _) = self.current()?;
        let mut buf = [0u8; voltwire_daly::FRAME_LEN];
        let n = Request::read(command)
            .emit(self.variant.host_address, &mut buf)
            .ok()?;
        RequestBytes::from_slice(buf.get(..n)?).ok()
    }

    fn matches(&self, item: &Result<RawFrame, voltwire_daly::Error>) -> bool {
        self.current()
            .is_some_and(|(c, _)| item.as_ref().is_ok_and(|f| f.command == c.0))
    }

    fn reply(&mut self, item: Option<Result<RawFrame, voltwire_daly::Error>>) {
        let Some((_, need)) = self.current() else {
            return;
        };
        let parsed = item
            .and_then(Result::ok)
            .and_then(|f| Response::parse(&f, &self.variant).ok());
        let got = match parsed {
            Some(Response::PackStatus(p)) => self.pack.replace(p).is_none(),
            Some(Response::CellVoltageRange(c)) => self.cells.replace(c).is_none(),
            Some(Response::TemperatureRange(t)) => self.temperatures.replace(t).is_none(),
            Some(Response::MosfetStatus(m)) => self.mosfets.replace(m).is_none(),
            Some(Response::Failures(f)) => self.failures.replace(f.flags).is_none(),
            _ => false,
        };
        if !got && need == Need::Required {
            self.failed = true;
        }
        self.step += 1;
    }

    fn finish(&mut self) -> Option<DalyPoll> {
        if self.failed || self.current().is_some() {
            return None;
        }
        Some(DalyPoll {
            pack: self.pack?,
            cells: self.cells?,
            temperatures: self.temperatures,
            mosfets: self.mosfets,
            failures: self.failures,
        })
    }
}
