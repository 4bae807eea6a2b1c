//! A JK BMS on its RS485/UART ("4E 57") port.

use core::time::Duration;

use voltwire_core::{
    DeciCelsius, Emit as _, MilliampHours, Milliamps, Rounding, Scale, StreamDecoder as _,
};
use voltwire_jk::frame::MAX_FRAME_LEN;
use voltwire_jk::heapless::Vec as HVec;
use voltwire_jk::{
    BatteryType, Cell, Command, Current, CurrentEncoding, Header, Info, JkDecoder, Message, Record,
    SensorTemperature, Status, Text, Transport, Warnings,
};

use super::{dc, ma, mv};
use crate::faults::{Garbage, push_reply};
use crate::{BmsView, Faults, Plant, PlantCommand, SerialResponder};

/// A JK BMS watching pack `pack` of the plant.
///
/// Answers the read-all request (command 0x06) and a read of ID 0x00 (0x03, as mpp-solar
/// sends it) with the whole record, a read of another ID with that field alone (none for an
/// ID it has not), as a JK BMS does. The record: the cell block, the three temperatures
/// (MOSFET, box, battery — the plant's first three sensors), pack voltage, current
/// (protocol version 1: sign bit set = charging), SOC, cycles, warnings (from the plant
/// faults), status (MOSFETs), then the settings. A write (0x02) of the charge or discharge
/// MOSFET switch (IDs 0xAB / 0xAC) switches the MOSFET, asks the plant to follow
/// ([`PlantCommand`]) and is echoed back. Values are rounded to the wire grid (10 mV pack
/// voltage, 10 mA current, 1 °C, 1 %).
#[derive(Debug)]
pub struct JkBms {
    pack: usize,
    faults: Faults,
    decoder: JkDecoder,
    garbage: Garbage,
    charge_mosfet: bool,
    discharge_mosfet: bool,
    commands: Vec<PlantCommand>,
}

const DEVICE_ID: &str = "VWSIMJK1";
const SOFTWARE_VERSION: &str = "11.XW_S11.26___";
const MANUFACTURER_ID: &str = "VOLTWIRE-SIM-JK";

impl JkBms {
    /// A BMS for pack `pack`, both MOSFETs on.
    pub fn new(pack: usize) -> Self {
        Self {
            pack,
            faults: Faults::default(),
            decoder: JkDecoder::new(),
            garbage: Garbage::default(),
            charge_mosfet: true,
            discharge_mosfet: true,
            commands: Vec::new(),
        }
    }

    /// Whether the charge MOSFET is on.
    pub fn charge_mosfet(&self) -> bool {
        self.charge_mosfet
    }

    /// Whether the discharge MOSFET is on.
    pub fn discharge_mosfet(&self) -> bool {
        self.discharge_mosfet
    }

    /// The read-all record for `v`.
    fn record(&self, v: &BmsView) -> Record {
        let mut r = Record::new();
        let mut cells = HVec::new();
        for (i, c) in v.cells.iter().enumerate() {
            let index = u8::try_from(i + 1).unwrap_or(u8::MAX);
            if cells.push(Cell { index, voltage: *c }).is_err() {
                break;
            }
        }
        r.cells = Some(cells);
        let temp = |i: usize| {
            let t = v.temperatures.get(i).copied().unwrap_or(DeciCelsius(250));
            SensorTemperature::from_celsius(i32::from(dc(t, 10).0) / 10)
        };
        r.mosfet_temperature = temp(0);
        r.box_temperature = temp(1);
        r.battery_temperature = temp(2);
        r.pack_voltage = Some(mv(v.voltage, 10));
        r.protocol_version = Some(1);
        r.current_raw = Current::encode(ma(v.current, 10), CurrentEncoding::SignBit).ok();
        r.soc_percent = u8::try_from((i32::from(v.soc.0) + 5) / 10).ok();
        r.temperature_sensor_count = u8::try_from(v.temperatures.len().min(3)).ok();
        r.cycle_count = Some(v.cycles);
        r.total_cycle_capacity = Some(ah(MilliampHours(
            v.capacity.0.saturating_mul(i64::from(v.cycles)),
        )));
        r.cell_count = u16::try_from(v.cells.len()).ok();
        let mut w = 0u16;
        if v.cell_over_voltage() {
            w |= Warnings::CELL_OVER_VOLTAGE | Warnings::CHARGE_OVER_VOLTAGE;
        }
        if v.cell_under_voltage() {
            w |= Warnings::CELL_UNDER_VOLTAGE | Warnings::DISCHARGE_UNDER_VOLTAGE;
        }
        if v.over_temperature() {
            w |= Warnings::BATTERY_OVER_TEMPERATURE;
        }
        r.warnings = Some(Warnings(w));
        let charge_on = self.charge_mosfet && v.may_charge();
        let discharge_on = self.discharge_mosfet && v.may_discharge();
        r.status = Some(Status(
            u16::from(charge_on) | (u16::from(discharge_on) << 1),
        ));
        let n = i32::try_from(v.cells.len()).unwrap_or(0);
        r.pack_over_voltage_protection = Some(voltwire_core::Millivolts(3_650 * n));
        r.pack_under_voltage_protection = Some(voltwire_core::Millivolts(2_800 * n));
        r.cell_over_voltage_protection =
            Some(voltwire_core::Millivolts(BmsView::CELL_OVER_VOLTAGE));
        r.cell_over_voltage_recovery = Some(voltwire_core::Millivolts(3_400));
        r.cell_over_voltage_delay_s = Some(5);
        r.cell_under_voltage_protection =
            Some(voltwire_core::Millivolts(BmsView::CELL_UNDER_VOLTAGE));
        r.cell_under_voltage_recovery = Some(voltwire_core::Millivolts(3_000));
        r.cell_under_voltage_delay_s = Some(5);
        r.cell_difference_protection = Some(voltwire_core::Millivolts(300));
        r.discharge_over_current_protection = Some(Milliamps(200_000));
        r.discharge_over_current_delay_s = Some(30);
        r.charge_over_current_protection = Some(Milliamps(150_000));
        r.charge_over_current_delay_s = Some(30);
        r.balance_start_voltage = Some(voltwire_core::Millivolts(3_400));
        r.balance_trigger_difference = Some(voltwire_core::Millivolts(10));
        r.balancer_switch = Some(1);
        r.mosfet_over_temperature_celsius = Some(80);
        r.mosfet_over_temperature_recovery_celsius = Some(70);
        r.box_over_temperature_celsius = Some(70);
        r.box_over_temperature_recovery_celsius = Some(60);
        r.temperature_difference_celsius = Some(20);
        r.charge_over_temperature_celsius = Some(BmsView::OVER_TEMPERATURE / 10);
        r.discharge_over_temperature_celsius = Some(BmsView::OVER_TEMPERATURE / 10);
        r.charge_low_temperature_celsius = Some(0);
        r.charge_low_temperature_recovery_celsius = Some(5);
        r.discharge_low_temperature_celsius = Some(-20);
        r.discharge_low_temperature_recovery_celsius = Some(-10);
        r.cell_count_setting = u8::try_from(v.cells.len()).ok();
        r.capacity_setting = Some(ah(v.capacity));
        r.charge_mos_switch = Some(u8::from(self.charge_mosfet));
        r.discharge_mos_switch = Some(u8::from(self.discharge_mosfet));
        r.current_calibration = Some(Milliamps(1_000));
        r.board_address = Some(1);
        r.battery_type = Some(BatteryType::from(0));
        r.sleep_wait_s = Some(10);
        r.low_capacity_alarm_percent = Some(20);
        r.dedicated_charger_switch = Some(0);
        r.device_id = Text::new(DEVICE_ID).ok();
        r.production_date = Text::new("2601").ok();
        r.runtime_minutes = Some(0);
        r.software_version = Text::new(SOFTWARE_VERSION).ok();
        r.start_current_calibration = Some(0);
        r.actual_capacity = Some(ah(v.capacity));
        r.manufacturer_id = Text::new(MANUFACTURER_ID).ok();
        r
    }

    fn send(&mut self, m: &Message, out: &mut Vec<u8>) {
        let mut buf = [0u8; MAX_FRAME_LEN];
        if let Some(reply) = m.emit(&mut buf).ok().and_then(|n| buf.get_mut(..n)) {
            push_reply(
                &self.faults,
                &mut self.garbage,
                reply,
                |b| {
                    if let Some(c) = b.last_mut() {
                        *c = c.wrapping_add(1);
                    }
                },
                out,
            );
        }
    }

    fn answer(&mut self, m: &Message, v: &BmsView, out: &mut Vec<u8>) {
        match (m.header.command, &m.info) {
            (Command::ReadAll | Command::Read, Info::Id(id)) => {
                let all = self.record(v);
                let record = match (m.header.command, *id) {
                    (Command::Read, id) if id != 0 => match only(&all, id) {
                        Some(r) => r,
                        // An ID the BMS does not have: no answer, as a real one.
                        None => return,
                    },
                    _ => all,
                };
                let reply = Message {
                    header: Header::reply(m.header.command),
                    info: Info::Records(record),
                };
                self.send(&reply, out);
            }
            (Command::Write, Info::Records(r)) => {
                if let Some(on) = r.charge_mos_switch {
                    self.charge_mosfet = on != 0;
                    self.commands.push(PlantCommand::ChargeEnabled {
                        pack: self.pack,
                        on: on != 0,
                    });
                }
                if let Some(on) = r.discharge_mos_switch {
                    self.discharge_mosfet = on != 0;
                    self.commands.push(PlantCommand::DischargeEnabled {
                        pack: self.pack,
                        on: on != 0,
                    });
                }
                let reply = Message {
                    header: Header::reply(Command::Write),
                    info: Info::Records(r.clone()),
                };
                self.send(&reply, out);
            }
            _ => {}
        }
    }
}

/// The record holding only data ID `id` of `all` (a read of one ID), or `None` when `all`
/// has no such field.
fn only(all: &Record, id: u8) -> Option<Record> {
    let mut info = vec![0u8; all.info_len()];
    let n = all.emit_info(&mut info).ok()?;
    let mut rest = info.get(..n)?;
    while let Some((&this, after)) = rest.split_first() {
        // The cell block carries its byte count; every other ID has a fixed size.
        let len = if this == 0x79 {
            1 + usize::from(*after.first()?)
        } else {
            Record::value_len(this)?
        };
        let entry = rest.get(..=len)?;
        if this == id {
            return Some(Record::parse_info(entry));
        }
        rest = rest.get(1 + len..)?;
    }
    None
}

/// `c` on the whole-Ah grid, nearest.
fn ah(c: MilliampHours) -> MilliampHours {
    c.round_to(Scale::new(1000, 0), Rounding::Nearest)
}

impl SerialResponder for JkBms {
    fn on_bytes(&mut self, input: &[u8], _now: Duration, plant: &Plant, out: &mut Vec<u8>) {
        let mut requests = Vec::new();
        self.decoder.feed_all(input, |item| {
            if let Ok(m) = item.value {
                if m.header.transport == Transport::Request {
                    requests.push(m);
                }
            }
        });
        let Some(view) = BmsView::of(plant, self.pack, &self.faults) else {
            return;
        };
        for m in &requests {
            self.answer(m, &view, out);
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
