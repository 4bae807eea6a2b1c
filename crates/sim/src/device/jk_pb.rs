//! A JK-PB (inverter BMS, PB series) on its RS485 bus.

use core::time::Duration;

use voltwire_core::{
    DeciCelsius, Emit as _, MilliampHours, Milliamps, Millivolts, StreamDecoder as _,
};
use voltwire_jk::pb::{
    About, BLOCK_LEN, Block, BlockKind, Message, PbDecoder, Settings, Status, Trigger,
};
use voltwire_jk::pb_map;

use crate::faults::{Garbage, push_reply};
use crate::{BmsView, Faults, Plant, PlantCommand, SerialResponder};

/// Modbus exception: illegal data address (what the PB answers to any read it refuses).
const ILLEGAL_ADDRESS: u8 = 2;

/// A JK-PB at DIP address `address` watching pack `pack` of the plant.
///
/// It answers the two ways a real PB is read on RS485 (see `voltwire_jk::pb` and
/// `voltwire_jk::pb_map`):
///
/// - the **trigger** writes (FC 0x10 of 0x0000 to 0x1620 / 0x161E / 0x161C) with the 300-byte
///   little-endian status / settings / about block, one padding byte, the 8-byte FC 0x10
///   acknowledgement and one trailing byte, all in one write;
/// - **register reads** (FC 0x03) of the three tables, byte-addressed and big-endian,
///   refusing with exception 2 what the device refuses (more than 122 registers, an odd
///   offset, a read past the 293-byte payload, an address outside the tables);
///
/// and applies **FC 0x10 writes** to the settings table (acknowledged; the charge and
/// discharge enables at 0x1070 / 0x1074 switch the MOSFETs and ask the plant to follow) and
/// to the action area (acknowledged, nothing happens). Frames for other addresses are
/// ignored, as on a shared bus. Values are the plant's, exact to the wire grid (1 mV, 1 mA,
/// 0.1 °C, 1 mAh); cell indices in the status block count from 0.
#[derive(Debug)]
pub struct JkPb {
    address: u8,
    pack: usize,
    faults: Faults,
    decoder: PbDecoder,
    garbage: Garbage,
    settings: Option<Block>,
    commands: Vec<PlantCommand>,
}

/// The model the simulator reports (a 16S, 200 A PB; the cell count comes from the plant).
const MODEL: &str = "JK_PB2A16S20P";

impl JkPb {
    /// A PB at `address` for pack `pack`, charging and discharging enabled.
    pub fn new(address: u8, pack: usize) -> Self {
        Self {
            address,
            pack,
            faults: Faults::default(),
            decoder: PbDecoder::new(),
            garbage: Garbage::default(),
            settings: None,
            commands: Vec::new(),
        }
    }

    /// The DIP address it answers on.
    pub fn address(&self) -> u8 {
        self.address
    }

    /// The settings table as it stands (created from the plant on first use).
    fn settings_block(&mut self, plant: &Plant) -> Block {
        if let Some(b) = &self.settings {
            return b.clone();
        }
        let cells = plant.pack(self.pack).map_or(16, |p| p.config().cells);
        let capacity = plant
            .pack(self.pack)
            .map_or(MilliampHours(100_000), |p| p.config().capacity);
        let s = Settings {
            smart_sleep_voltage: Millivolts(3_200),
            cell_under_voltage: Millivolts(BmsView::CELL_UNDER_VOLTAGE),
            cell_under_voltage_recovery: Millivolts(3_000),
            cell_over_voltage: Millivolts(BmsView::CELL_OVER_VOLTAGE),
            cell_over_voltage_recovery: Millivolts(3_400),
            balance_trigger_delta: Millivolts(10),
            soc_100_voltage: Millivolts(3_450),
            soc_0_voltage: Millivolts(2_900),
            request_charge_voltage: Millivolts(3_450),
            request_float_voltage: Millivolts(3_375),
            power_off_voltage: Millivolts(2_600),
            charge_over_current: Milliamps(150_000),
            charge_over_current_delay_s: 30,
            charge_over_current_recovery_s: 60,
            discharge_over_current: Milliamps(200_000),
            discharge_over_current_delay_s: 30,
            discharge_over_current_recovery_s: 60,
            short_circuit_recovery_s: 5,
            max_balance_current: Milliamps(2_000),
            charge_over_temperature: DeciCelsius(BmsView::OVER_TEMPERATURE),
            charge_over_temperature_recovery: DeciCelsius(BmsView::OVER_TEMPERATURE - 50),
            discharge_over_temperature: DeciCelsius(BmsView::OVER_TEMPERATURE),
            discharge_over_temperature_recovery: DeciCelsius(BmsView::OVER_TEMPERATURE - 50),
            charge_under_temperature: DeciCelsius(0),
            charge_under_temperature_recovery: DeciCelsius(30),
            mosfet_over_temperature: DeciCelsius(900),
            mosfet_over_temperature_recovery: DeciCelsius(800),
            cell_count: i32::try_from(cells).unwrap_or(16),
            charge_enabled: 1,
            discharge_enabled: 1,
            balance_enabled: 1,
            capacity,
            short_circuit_delay_us: 1_500,
            balance_start_voltage: Millivolts(3_400),
            device_address: i32::from(self.address),
            precharge_time: 5,
            control_bits: 0x0001,
            heating_start_celsius: 0,
            heating_stop_celsius: 10,
            smart_sleep_time: 24,
        };
        let mut b = Block::new(BlockKind::Settings);
        let _ = s.write_to(&mut b);
        b.fix_checksum();
        self.settings = Some(b.clone());
        b
    }

    fn enables(&mut self, plant: &Plant) -> (bool, bool) {
        self.settings_block(plant)
            .settings()
            .map_or((true, true), |s| {
                (s.charge_enabled != 0, s.discharge_enabled != 0)
            })
    }

    fn status_block(&mut self, now: Duration, plant: &Plant, v: &BmsView) -> Block {
        let (charge_on, discharge_on) = self.enables(plant);
        let mut s = Status::default();
        let mut mask = 0_u32;
        for (i, (slot, c)) in s.cell_voltages.iter_mut().zip(&v.cells).enumerate() {
            *slot = *c;
            mask |= 1 << i;
        }
        s.cell_mask = mask;
        let n = i32::try_from(v.cells.len()).unwrap_or(1).max(1);
        s.average_cell_voltage = Millivolts(v.voltage.0 / n);
        let ((hi, hv), (lo, lv)) = (v.max_cell(), v.min_cell());
        s.cell_voltage_delta = Millivolts(hv.0 - lv.0);
        s.max_cell_index = u8::try_from(hi.saturating_sub(1)).unwrap_or(0);
        s.min_cell_index = u8::try_from(lo.saturating_sub(1)).unwrap_or(0);
        s.cell_resistances_milliohm = [0; 32];
        for r in s.cell_resistances_milliohm.iter_mut().take(v.cells.len()) {
            *r = 150;
        }
        let temp = |i: usize| v.temperatures.get(i).copied().unwrap_or(DeciCelsius(250));
        s.mosfet_temperature = temp(0);
        s.temperature_1 = temp(1);
        s.temperature_2 = temp(2);
        s.temperature_3 = temp(3);
        s.pack_voltage = v.voltage;
        s.current = v.current;
        let mut alarms = 0_u32;
        let bit = |name: &str| {
            voltwire_jk::pb::ALARM_NAMES
                .iter()
                .position(|n| *n == name)
                .map_or(0, |i| 1_u32 << i)
        };
        if v.cell_over_voltage() {
            alarms |= bit("cell_over_voltage");
        }
        if v.cell_under_voltage() {
            alarms |= bit("cell_under_voltage");
        }
        if v.over_temperature() {
            alarms |= bit("charge_over_temperature") | bit("discharge_over_temperature");
        }
        s.alarms = voltwire_jk::pb::Alarms(alarms);
        s.soc_percent = u8::try_from((i32::from(v.soc.0) + 5) / 10).unwrap_or(0);
        s.remaining_capacity = v.remaining.round_to(
            voltwire_core::Scale::new(1, 0),
            voltwire_core::Rounding::Nearest,
        );
        s.full_charge_capacity = v.capacity;
        s.cycle_count = u32::from(v.cycles);
        s.soh_percent = 100;
        s.runtime_s = u32::try_from(now.as_secs()).unwrap_or(u32::MAX);
        s.charge_mos = u8::from(charge_on && v.may_charge());
        s.discharge_mos = u8::from(discharge_on && v.may_discharge());
        // Bit 0 the MOSFET probe, bits 1.. the battery probes.
        s.sensors_present = u8::try_from((1_u32 << v.temperatures.len().min(5)) - 1).unwrap_or(0);
        let mut b = Block::new(BlockKind::Status);
        let _ = s.write_to(&mut b);
        // Power, |V·I| in mW (u32 LE @ 154; not a field of `Status`).
        let mw = i64::from(v.voltage.0) * i64::from(v.current.0) / 1000;
        if let Some(p) = b.0.get_mut(154..158) {
            p.copy_from_slice(
                &u32::try_from(mw.unsigned_abs())
                    .unwrap_or(u32::MAX)
                    .to_le_bytes(),
            );
        }
        b.fix_checksum();
        b
    }

    fn about_block(plant: &Plant) -> Block {
        let a = About {
            vendor_id: voltwire_jk::Text::new(MODEL).unwrap_or_default(),
            hardware_version: voltwire_jk::Text::new("15A").unwrap_or_default(),
            software_version: voltwire_jk::Text::new("15.41").unwrap_or_default(),
            runtime_s: u32::try_from(plant.time().as_secs()).unwrap_or(u32::MAX),
            power_on_count: 1,
            serial_number: voltwire_jk::Text::new("VWSIM-PB").unwrap_or_default(),
            ..About::default()
        };
        let mut b = Block::new(BlockKind::About);
        a.write_to(&mut b);
        // Byte 21: the largest cell count the model takes (16 for a "16S" part).
        if let Some(m) = b.0.get_mut(21) {
            *m = 16;
        }
        b.fix_checksum();
        b
    }

    fn block(&mut self, kind: BlockKind, now: Duration, plant: &Plant) -> Option<Block> {
        match kind {
            BlockKind::Status => {
                let v = BmsView::of(plant, self.pack, &self.faults)?;
                Some(self.status_block(now, plant, &v))
            }
            BlockKind::Settings => Some(self.settings_block(plant)),
            BlockKind::About => Some(Self::about_block(plant)),
            BlockKind::Unknown(_) => None,
        }
    }

    fn push(&mut self, bytes: &mut [u8], out: &mut Vec<u8>) {
        push_reply(
            &self.faults,
            &mut self.garbage,
            bytes,
            |b| {
                if let Some(c) = b.last_mut() {
                    *c ^= 0x5A;
                }
            },
            out,
        );
    }

    fn send(&mut self, m: &Message, out: &mut Vec<u8>) {
        let mut buf = [0_u8; BLOCK_LEN];
        if let Some(bytes) = m.emit(&mut buf).ok().and_then(|n| buf.get_mut(..n)) {
            self.push(bytes, out);
        }
    }

    fn exception(&mut self, function: u8, code: u8, out: &mut Vec<u8>) {
        let m = Message::Exception {
            address: self.address,
            function: function | 0x80,
            code,
        };
        self.send(&m, out);
    }

    fn ack(register: u16, quantity: u16, address: u8) -> Message {
        Message::WriteAck {
            address,
            register,
            quantity,
        }
    }

    fn answer_trigger(
        &mut self,
        trigger: Trigger,
        now: Duration,
        plant: &Plant,
        out: &mut Vec<u8>,
    ) {
        let kind = match trigger {
            Trigger::Status => BlockKind::Status,
            Trigger::Settings => BlockKind::Settings,
            Trigger::About => BlockKind::About,
        };
        let Some(block) = self.block(kind, now, plant) else {
            return;
        };
        // Block, padding, ACK, trailing byte: one write, as the real PB sends it.
        let mut reply = Vec::with_capacity(BLOCK_LEN + 10);
        reply.extend_from_slice(&block.0);
        reply.push(0);
        let mut ack = [0_u8; 8];
        if Self::ack(trigger.register(), 1, self.address)
            .emit(&mut ack)
            .is_ok()
        {
            reply.extend_from_slice(&ack);
        }
        reply.push(0);
        // A corrupted reply breaks the block's sum8 (byte 299), not only the ACK's CRC.
        if self.faults.bad_checksum {
            if let Some(s) = reply.get_mut(BLOCK_LEN - 1) {
                *s = s.wrapping_add(1);
            }
        }
        if self.faults.silent {
            return;
        }
        if self.faults.garbage {
            self.garbage.fill(reply.len(), out);
            return;
        }
        out.extend_from_slice(&reply);
    }

    fn answer_read(
        &mut self,
        register: u16,
        quantity: u16,
        now: Duration,
        plant: &Plant,
        out: &mut Vec<u8>,
    ) {
        let (kind, range) = match pb_map::check_read(register, quantity) {
            Ok(r) => r,
            Err(e) => return self.exception(0x03, e.exception_code(), out),
        };
        let Some(mut image) = self.block(kind, now, plant) else {
            return self.exception(0x03, ILLEGAL_ADDRESS, out);
        };
        pb_map::swap_fields(&mut image);
        let at = range.start + pb_map::PAYLOAD_OFFSET..range.end + pb_map::PAYLOAD_OFFSET;
        let Some(data) = image.0.get(at) else {
            return self.exception(0x03, ILLEGAL_ADDRESS, out);
        };
        let mut d = voltwire_jk::heapless::Vec::new();
        if d.extend_from_slice(data).is_err() {
            return self.exception(0x03, ILLEGAL_ADDRESS, out);
        }
        let m = Message::ReadResponse {
            address: self.address,
            data: d,
        };
        self.send(&m, out);
    }

    fn answer_write(&mut self, register: u16, values: &[u16], plant: &Plant, out: &mut Vec<u8>) {
        let quantity = u16::try_from(values.len()).unwrap_or(u16::MAX);
        if (pb_map::ACTION_BASE..pb_map::ACTION_BASE + pb_map::AREA_LEN).contains(&register) {
            let m = Self::ack(register, quantity, self.address);
            return self.send(&m, out);
        }
        let Some((BlockKind::Settings, offset)) = pb_map::locate(register) else {
            return self.exception(0x10, ILLEGAL_ADDRESS, out);
        };
        let end = offset + 2 * values.len();
        if offset % 2 != 0 || end > pb_map::PAYLOAD_LEN {
            return self.exception(0x10, ILLEGAL_ADDRESS, out);
        }
        let before = self.enables(plant);
        let mut image = self.settings_block(plant);
        pb_map::swap_fields(&mut image);
        for (i, v) in values.iter().enumerate() {
            let at = pb_map::PAYLOAD_OFFSET + offset + 2 * i;
            if let Some(d) = image.0.get_mut(at..at + 2) {
                d.copy_from_slice(&v.to_be_bytes());
            }
        }
        pb_map::swap_fields(&mut image);
        image.fix_checksum();
        self.settings = Some(image);
        let after = self.enables(plant);
        if after.0 != before.0 {
            self.commands.push(PlantCommand::ChargeEnabled {
                pack: self.pack,
                on: after.0,
            });
        }
        if after.1 != before.1 {
            self.commands.push(PlantCommand::DischargeEnabled {
                pack: self.pack,
                on: after.1,
            });
        }
        let m = Self::ack(register, quantity, self.address);
        self.send(&m, out);
    }
}

impl SerialResponder for JkPb {
    fn on_bytes(&mut self, input: &[u8], now: Duration, plant: &Plant, out: &mut Vec<u8>) {
        let mut requests = Vec::new();
        self.decoder.feed_all(input, |item| {
            if let Ok(m) = item.value {
                requests.push(m);
            }
        });
        for m in requests {
            match m {
                Message::WriteRequest {
                    address,
                    register,
                    ref values,
                } if address == self.address => {
                    if let Some(t) = m.as_trigger() {
                        self.answer_trigger(t, now, plant, out);
                    } else {
                        self.answer_write(register, values, plant, out);
                    }
                }
                Message::ReadRequest {
                    address,
                    register,
                    quantity,
                } if address == self.address => {
                    self.answer_read(register, quantity, now, plant, out);
                }
                _ => {}
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
