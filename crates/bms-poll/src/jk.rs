//! JK ("4E 57" frames, RS485 adapter or GPS-port UART): the read-all request (0x06) and the
//! record of its reply.

use voltwire_jk::{
    Command, JkDecoder, Message, Record, SensorTemperature, Transport, Warnings as W,
};

use crate::{
    Item, PackReading, Plan, Reading, RequestBytes, emitted, extremes, range, soc_percent,
};

/// Warnings that stop both directions: MOSFET, battery or box over temperature.
const BOTH_STOP: [u16; 3] = [
    W::MOSFET_OVER_TEMPERATURE,
    W::BATTERY_OVER_TEMPERATURE,
    W::BOX_OVER_TEMPERATURE,
];
/// Warnings that stop charging: charge / cell over voltage, charge over current, battery
/// low temperature.
const CHARGE_STOP: [u16; 4] = [
    W::CHARGE_OVER_VOLTAGE,
    W::CELL_OVER_VOLTAGE,
    W::CHARGE_OVER_CURRENT,
    W::BATTERY_LOW_TEMPERATURE,
];
/// Warnings that stop discharging: discharge / cell under voltage, discharge over current.
const DISCHARGE_STOP: [u16; 3] = [
    W::DISCHARGE_UNDER_VOLTAGE,
    W::CELL_UNDER_VOLTAGE,
    W::DISCHARGE_OVER_CURRENT,
];

impl Reading for Record {
    /// Cells, pack voltage, current and SOC are required. Box (T1) and battery (T2) probes
    /// are the cells'; the MOSFET probe is the other. The status word gives the MOSFETs
    /// (absent: not reported); the warnings stop their direction.
    fn reading(&self) -> Option<PackReading> {
        let (cell_min, cell_max) = extremes(self.cell_voltages())?;
        let w = self.warnings.unwrap_or(W(0));
        let any = |masks: &[u16]| masks.iter().any(|m| w.contains(*m));
        let both = any(&BOTH_STOP);
        Some(PackReading {
            voltage: self.pack_voltage?,
            current: self.current()?,
            soc: Some(soc_percent(self.soc_percent?)),
            remaining: None,
            full: None,
            design: None,
            cycles: self.cycle_count.map(u32::from),
            cell_min,
            cell_max,
            cell_temperatures: range(
                [self.box_temperature, self.battery_temperature]
                    .into_iter()
                    .flatten()
                    .filter_map(SensorTemperature::deci_celsius),
            ),
            other_temperatures: self
                .mosfet_temperature
                .and_then(SensorTemperature::deci_celsius)
                .map(|t| (t, t)),
            charge_mosfet: self.status.map(voltwire_jk::Status::charge_mos_on),
            discharge_mosfet: self.status.map(voltwire_jk::Status::discharge_mos_on),
            charge_stop: both || any(&CHARGE_STOP),
            discharge_stop: both || any(&DISCHARGE_STOP),
            limits: None,
        })
    }
}

/// The JK plan: one read-all request, answered by a reply (or read) frame whose record
/// carries cells.
#[derive(Debug, Clone, Default)]
pub struct JkPlan {
    sent: bool,
    record: Option<Record>,
}

impl JkPlan {
    /// A plan.
    pub const fn new() -> Self {
        Self {
            sent: false,
            record: None,
        }
    }
}

impl Plan for JkPlan {
    type Decoder = JkDecoder;
    type Output = Record;

    fn start(&mut self) {
        *self = Self::new();
    }

    fn request(&self) -> Option<RequestBytes> {
        if self.sent {
            return None;
        }
        emitted(&Message::read_all())
    }

    fn matches(&self, item: &Item<Self>) -> bool {
        item.as_ref().is_ok_and(|m| {
            m.header.transport != Transport::Request
                && matches!(m.header.command, Command::ReadAll | Command::Read)
                && m.record().is_some_and(|r| r.cells.is_some())
        })
    }

    fn reply(&mut self, item: Option<Item<Self>>) {
        self.sent = true;
        self.record = item.and_then(Result::ok).and_then(|m| m.record().cloned());
    }

    fn finish(&mut self) -> Option<Record> {
        self.record.take()
    }
}
