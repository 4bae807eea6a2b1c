//! JK-PB (inverter BMS, Modbus-framed blocks) at its DIP address: the status block, by the
//! status trigger (FC 0x10 to 0x1620) or by four FC 0x03 reads of the status table.

use voltwire_core::DeciCelsius;
use voltwire_jk::pb::{Block, BlockKind, Message, PbDecoder, Status, Trigger};
use voltwire_jk::pb_map;

use crate::{
    Item, PackReading, Plan, Reading, RequestBytes, emitted, extremes, range, soc_percent,
};

/// Alarm bits (`voltwire_jk::pb::ALARM_NAMES`) that stop charging: cell / battery over
/// voltage, charge over current, charge short circuit, charge over / under temperature.
pub const CHARGE_STOP: u32 = (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 9);
/// … that stop discharging: cell / battery under voltage, discharge over current,
/// discharge short circuit, discharge over temperature.
pub const DISCHARGE_STOP: u32 = (1 << 11) | (1 << 12) | (1 << 13) | (1 << 14) | (1 << 15);
/// … that stop both: MOSFET over temperature, battery over temperature.
pub const BOTH_STOP: u32 = (1 << 1) | (1 << 21);

/// Registers per status-table read (64 bytes).
const CHUNK_REGISTERS: u16 = 32;
/// Status-table reads.
const CHUNKS: u16 = 4;

impl Reading for Status {
    /// Fitted cells are required. T1 and T2 always and T3 / T4 when fitted (0x10 / 0x20 of
    /// the sensors-present byte) are the cell probes, each within −40.0…120.0 °C; the
    /// MOSFET probe is the other. The SOC is the whole percentage the block carries;
    /// remaining and full capacity and cycles are reported too.
    fn reading(&self) -> Option<PackReading> {
        let (cell_min, cell_max) = extremes(self.cells())?;
        let plausible = |t: &DeciCelsius| (-400..=1200).contains(&t.0);
        let a = self.alarms.0;
        Some(PackReading {
            voltage: self.pack_voltage,
            current: self.current,
            soc: Some(soc_percent(self.soc_percent)),
            remaining: Some(self.remaining_capacity),
            full: Some(self.full_charge_capacity),
            design: None,
            cycles: Some(self.cycle_count),
            cell_min,
            cell_max,
            cell_temperatures: range(
                [
                    Some(self.temperature_1),
                    Some(self.temperature_2),
                    (self.sensors_present & 0x10 != 0).then_some(self.temperature_3),
                    (self.sensors_present & 0x20 != 0).then_some(self.temperature_4),
                ]
                .into_iter()
                .flatten()
                .filter(plausible),
            ),
            other_temperatures: Some(self.mosfet_temperature)
                .filter(plausible)
                .map(|t| (t, t)),
            charge_mosfet: Some(self.charge_mos != 0),
            discharge_mosfet: Some(self.discharge_mos != 0),
            charge_stop: a & (CHARGE_STOP | BOTH_STOP) != 0,
            discharge_stop: a & (DISCHARGE_STOP | BOTH_STOP) != 0,
            limits: None,
        })
    }
}

/// How the status block is fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetch {
    /// The status trigger, answered by the 300-byte status block.
    Trigger,
    /// Four FC 0x03 reads of 32 registers from the status table, put back together as a
    /// status block.
    Registers,
}

/// The JK-PB plan.
#[derive(Debug, Clone)]
pub struct JkPbPlan {
    address: u8,
    fetch: Fetch,
    step: u16,
    failed: bool,
    block: Block,
}

impl JkPbPlan {
    /// A plan for the BMS at DIP `address`.
    pub fn new(address: u8, fetch: Fetch) -> Self {
        Self {
            address,
            fetch,
            step: 0,
            failed: false,
            block: Block::new(BlockKind::Status),
        }
    }

    const fn steps(&self) -> u16 {
        match self.fetch {
            Fetch::Trigger => 1,
            Fetch::Registers => CHUNKS,
        }
    }
}

impl Plan for JkPbPlan {
    type Decoder = PbDecoder;
    type Output = Status;

    fn start(&mut self) {
        *self = Self::new(self.address, self.fetch);
    }

    fn request(&self) -> Option<RequestBytes> {
        if self.failed || self.step >= self.steps() {
            return None;
        }
        match self.fetch {
            Fetch::Trigger => emitted(&Message::trigger(self.address, Trigger::Status)),
            Fetch::Registers => {
                let base = pb_map::table_register(BlockKind::Status)?;
                emitted(&Message::ReadRequest {
                    address: self.address,
                    register: base + 64 * self.step,
                    quantity: CHUNK_REGISTERS,
                })
            }
        }
    }

    fn matches(&self, item: &Item<Self>) -> bool {
        match (self.fetch, item) {
            (Fetch::Trigger, Ok(Message::Block(b))) => b.kind() == BlockKind::Status,
            (Fetch::Registers, Ok(Message::ReadResponse { address, .. })) => {
                *address == self.address
            }
            _ => false,
        }
    }

    fn reply(&mut self, item: Option<Item<Self>>) {
        let ok = match (self.fetch, item) {
            (Fetch::Trigger, Some(Ok(Message::Block(b)))) => {
                self.block = b;
                true
            }
            (Fetch::Registers, Some(Ok(Message::ReadResponse { data, .. }))) => {
                let at = pb_map::PAYLOAD_OFFSET + 64 * usize::from(self.step);
                match self.block.0.get_mut(at..at + data.len()) {
                    Some(slot) => {
                        slot.copy_from_slice(&data);
                        true
                    }
                    None => false,
                }
            }
            _ => false,
        };
        self.failed |= !ok;
        self.step += 1;
    }

    fn finish(&mut self) -> Option<Status> {
        if self.failed || self.step < self.steps() {
            return None;
        }
        if self.fetch == Fetch::Registers {
            pb_map::swap_fields(&mut self.block);
        }
        self.block.status()
    }
}
