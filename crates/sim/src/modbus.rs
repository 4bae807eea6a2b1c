//! Modbus devices: register maps over the plant, sans-IO at the register level.
//!
//! Modbus framing (RTU CRC, TCP headers) is left to the I/O layer (`voltwire sim` uses
//! `tokio-modbus`); a [`ModbusResponder`] turns one decoded request into one reply, or none
//! (another slave's request, a broadcast, the `silent` fault).

use core::time::Duration;

use voltwire_core::{
    DeciCelsius, MilliampHours, Milliamps, Millivolts, Permille, Rounding, Scale, Watts,
};
use voltwire_modbus::coulomb_meter::{self, SetChargeLevel, Settings, State};
use voltwire_modbus::lumentree::{self, Model, SetOutputPower};
use voltwire_modbus::rtu::ExceptionCode;

use crate::{Faults, Plant, PlantCommand};

mod trucki;
pub use trucki::Trucki;

/// One decoded Modbus request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModbusRequest<'a> {
    /// Function 0x03: `count` holding registers from `start`.
    ReadHolding {
        /// First register.
        start: u16,
        /// Registers.
        count: u16,
    },
    /// Function 0x04: `count` input registers from `start`.
    ReadInput {
        /// First register.
        start: u16,
        /// Registers.
        count: u16,
    },
    /// Function 0x06 or 0x10: write `values` from `start`.
    Write {
        /// First register.
        start: u16,
        /// The values.
        values: &'a [u16],
    },
    /// The coulomb meter's custom function 0x6F.
    SetChargeLevel(SetChargeLevel),
}

/// What a device answers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModbusReply {
    /// The registers read.
    Registers(Vec<u16>),
    /// The write was applied.
    Written,
    /// An exception response.
    Exception(ExceptionCode),
}

/// A Modbus slave over the plant.
pub trait ModbusResponder {
    /// The slave address it answers to.
    fn address(&self) -> u8;

    /// Handle one request addressed to `address` at sim time `now`. `None`: no reply (another
    /// slave, a broadcast to address 0 — which is still executed —, or the `silent` fault).
    fn handle(
        &mut self,
        address: u8,
        request: ModbusRequest<'_>,
        now: Duration,
        plant: &Plant,
    ) -> Option<ModbusReply>;

    /// The faults in effect.
    fn faults(&self) -> &Faults;

    /// The faults, to change them.
    fn faults_mut(&mut self) -> &mut Faults;

    /// Move the plant changes asked for since the last call into `out`.
    fn drain_commands(&mut self, out: &mut Vec<PlantCommand>);
}

/// Registers `start..start + count` of a map `0..map.len()`, or `IllegalDataAddress`.
fn slice_of(map: &[u16], start: u16, count: u16) -> ModbusReply {
    let s = usize::from(start);
    match map.get(s..s.saturating_add(usize::from(count))) {
        Some(r) if count > 0 => ModbusReply::Registers(r.to_vec()),
        _ => ModbusReply::Exception(ExceptionCode::IllegalDataAddress),
    }
}

/// Whether to answer a request for `address` as slave `own`; a broadcast is executed silently.
fn route(own: u8, address: u8) -> Option<bool> {
    if address == own {
        Some(true)
    } else if address == 0 {
        Some(false)
    } else {
        None
    }
}

/// Reads the whole register map of a device.
type ReadMap<D> = fn(&D, &Plant) -> Vec<u16>;
/// Writes `values` from `start` into a device.
type WriteMap<D> = fn(&mut D, u16, &[u16], &Plant) -> ModbusReply;

/// The answer of a device with holding registers only (Lumentree, Trucki): 0x03 reads from
/// `read`'s map, 0x06/0x10 writes through `write`, any other function `IllegalFunction`;
/// `None` for another slave, a broadcast (still executed) or while `silent` (`own`, `silent`).
fn holding_only<D>(
    device: &mut D,
    (own, silent): (u8, bool),
    address: u8,
    request: ModbusRequest<'_>,
    plant: &Plant,
    read: ReadMap<D>,
    write: WriteMap<D>,
) -> Option<ModbusReply> {
    let answer = route(own, address)?;
    let reply = match request {
        ModbusRequest::ReadHolding { start, count } => slice_of(&read(device, plant), start, count),
        ModbusRequest::Write { start, values } => write(device, start, values, plant),
        _ => ModbusReply::Exception(ExceptionCode::IllegalFunction),
    };
    (answer && !silent).then_some(reply)
}

/// A Lumentree SUN grid-tie inverter discharging the batteries into the house.
///
/// Serves holding registers 0..=127 (function 0x03; registers the map does not name, and
/// the write-only set point 40, read as 0) and takes the output power set point on
/// register 40 (0x10 or 0x06): values above the protocol's 2000 W get `IllegalDataValue`,
/// the rest is clamped to the model's rating and sets the plant's discharge flow
/// ([`PlantCommand::ConverterPower`], the charge flow kept). The output power it reports is
/// the plant's discharge flow while a pack can deliver it, else 0; the grid reads a fixed
/// 230.0 V; the temperature rises with the output power.
#[derive(Debug)]
pub struct Lumentree {
    model: Model,
    address: u8,
    faults: Faults,
    commands: Vec<PlantCommand>,
}

/// Registers the Lumentree simulator serves (0..=127).
const LUMENTREE_REGISTERS: usize = 128;

impl Lumentree {
    /// An LT1000 at address 1.
    pub fn new() -> Self {
        Self {
            model: Model::Lt1000,
            address: lumentree::DEFAULT_ADDRESS,
            faults: Faults::default(),
            commands: Vec::new(),
        }
    }

    /// The same inverter at another address.
    #[must_use]
    pub fn with_address(mut self, address: u8) -> Self {
        self.address = address;
        self
    }

    /// The same inverter as another model.
    #[must_use]
    pub fn with_model(mut self, model: Model) -> Self {
        self.model = model;
        self
    }

    /// What the inverter reports now.
    pub fn status(&self, plant: &Plant) -> lumentree::Status {
        let can_deliver = plant
            .packs()
            .iter()
            .any(|p| p.discharge_enabled && p.soc().0 > 0);
        let watts = if can_deliver {
            plant.flows.discharge.0.clamp(0, self.model.rated_power().0)
        } else {
            0
        };
        let temperature = if self.faults.over_temperature {
            Faults::OVER_TEMPERATURE
        } else {
            i16::try_from(250 + watts / 20).unwrap_or(i16::MAX)
        };
        lumentree::Status {
            grid_voltage: Millivolts(230_000),
            temperature: DeciCelsius(temperature),
            output_power_deciwatts: u16::try_from(watts * 10).unwrap_or(u16::MAX),
            battery_voltage: plant
                .bus_voltage()
                .round_to(Scale::new(100, 0), Rounding::Nearest),
        }
    }

    fn registers(&self, plant: &Plant) -> Vec<u16> {
        let mut map = vec![0u16; LUMENTREE_REGISTERS];
        let regs = self.status(plant).to_registers().unwrap_or_default();
        for (r, v) in lumentree::STATUS_REGISTERS.into_iter().zip(regs) {
            if let Some(slot) = map.get_mut(usize::from(r)) {
                *slot = v;
            }
        }
        map
    }

    fn write(&mut self, start: u16, values: &[u16], plant: &Plant) -> ModbusReply {
        let (SetOutputPower::REGISTER, [raw]) = (start, values) else {
            return ModbusReply::Exception(ExceptionCode::IllegalDataAddress);
        };
        match SetOutputPower::from_register(*raw) {
            Ok(set) => {
                let power = Watts(set.power().0.min(self.model.rated_power().0));
                self.commands.push(PlantCommand::ConverterPower {
                    charge: plant.flows.charge,
                    discharge: power,
                });
                ModbusReply::Written
            }
            Err(_) => ModbusReply::Exception(ExceptionCode::IllegalDataValue),
        }
    }
}

impl Default for Lumentree {
    fn default() -> Self {
        Self::new()
    }
}

impl ModbusResponder for Lumentree {
    fn address(&self) -> u8 {
        self.address
    }

    fn handle(
        &mut self,
        address: u8,
        request: ModbusRequest<'_>,
        _now: Duration,
        plant: &Plant,
    ) -> Option<ModbusReply> {
        let (own, silent) = (self.address, self.faults.silent);
        holding_only(
            self,
            (own, silent),
            address,
            request,
            plant,
            Self::registers,
            Self::write,
        )
    }

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

/// An Eco-Worthy 200 A coulomb meter on the battery bank (all packs of the plant).
///
/// Input registers 0..=11 (function 0x04) report the bank: SOC (capacity-weighted), the
/// temperature of pack 0's first sensor, the bus voltage, the total current (magnitude and
/// state), |V × I|, the stored energy (remaining × voltage; the register's meaning is not
/// confirmed) and the remaining capacity. Holding registers 0..=9 (0x03 / 0x10) are the
/// settings; a write of register 0 moves the meter to the new address after the reply.
/// 0x6F sets every pack full or empty ([`PlantCommand::SetSoc`]).
#[derive(Debug)]
pub struct CoulombMeter {
    address: u8,
    settings: Settings,
    faults: Faults,
    commands: Vec<PlantCommand>,
}

#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "values clamped to the register range before the cast"
)]
impl CoulombMeter {
    /// A meter at address 1 with settings for `plant`'s bank (its total capacity; alarm
    /// voltages for its cell count).
    pub fn new(plant: &Plant) -> Self {
        let capacity: i64 = plant.packs().iter().map(|p| p.config().capacity.0).sum();
        let cells = plant
            .pack(0)
            .map_or(16, |p| i32::try_from(p.config().cells).unwrap_or(16));
        Self {
            address: coulomb_meter::DEFAULT_ADDRESS,
            settings: Settings {
                address: u16::from(coulomb_meter::DEFAULT_ADDRESS),
                capacity: MilliampHours(capacity),
                full_voltage: Millivolts(cells * 3_450),
                empty_voltage: Millivolts(cells * 2_800),
                over_voltage: Millivolts(cells * 3_650),
                over_current: Milliamps(200_000),
                over_temperature: DeciCelsius(600),
                under_voltage: Millivolts(cells * 2_700),
                low_soc: Permille(100),
            },
            faults: Faults::default(),
            commands: Vec::new(),
        }
    }

    /// The same meter at another address.
    #[must_use]
    pub fn with_address(mut self, address: u8) -> Self {
        self.address = address;
        self.settings.address = u16::from(address);
        self
    }

    /// The settings now.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// What the meter reports now.
    pub fn status(&self, plant: &Plant) -> coulomb_meter::Status {
        let capacity: i64 = plant.packs().iter().map(|p| p.config().capacity.0).sum();
        let remaining: i64 = plant.packs().iter().map(|p| p.remaining().0).sum();
        let soc = if capacity > 0 {
            (remaining * 100 + capacity / 2) / capacity
        } else {
            0
        };
        let voltage = plant
            .bus_voltage()
            .round_to(Scale::new(10, 0), Rounding::Nearest);
        let current = plant
            .total_current()
            .round_to(Scale::new(10, 0), Rounding::Nearest);
        let temperature = if self.faults.over_temperature {
            Faults::OVER_TEMPERATURE / 10
        } else {
            plant
                .pack(0)
                .and_then(|p| p.temperatures().first().copied())
                .map_or(25, |t| (t.0 + 5) / 10)
        };
        // 0.1 W = mV × mA / 1e5; 0.01 Wh = mAh × mV / 1e4.
        let power = i64::from(voltage.0) * i64::from(current.0).abs() / 100_000;
        let energy = remaining * i64::from(voltage.0) / 10_000;
        coulomb_meter::Status {
            soc: Permille((soc.clamp(0, 100) * 10) as i16),
            temperature: DeciCelsius(temperature * 10),
            voltage,
            current,
            power_deciwatts: power.clamp(0, i64::from(u32::MAX)) as u32,
            energy_centiwatt_hours: energy.clamp(0, i64::from(u32::MAX)) as u32,
            remaining: MilliampHours(remaining.clamp(0, i64::from(u32::MAX))),
            flags: 0,
            state: State::of_current(current),
        }
    }

    fn write(&mut self, start: u16, values: &[u16]) -> ModbusReply {
        let Ok(mut regs) = self.settings.to_registers() else {
            return ModbusReply::Exception(ExceptionCode::ServerDeviceFailure);
        };
        let s = usize::from(start);
        let Some(slots) = regs.get_mut(s..s.saturating_add(values.len())) else {
            return ModbusReply::Exception(ExceptionCode::IllegalDataAddress);
        };
        slots.copy_from_slice(values);
        match Settings::from_registers(&regs) {
            Ok(new) if (1..=247).contains(&new.address) => {
                self.settings = new;
                ModbusReply::Written
            }
            _ => ModbusReply::Exception(ExceptionCode::IllegalDataValue),
        }
    }

    fn set_level(&mut self, plant: &Plant, level: SetChargeLevel) -> ModbusReply {
        let soc = match level {
            SetChargeLevel::Full => Permille(1000),
            SetChargeLevel::Empty => Permille(0),
            SetChargeLevel::Other(_) => {
                return ModbusReply::Exception(ExceptionCode::IllegalDataValue);
            }
        };
        for pack in 0..plant.packs().len() {
            self.commands.push(PlantCommand::SetSoc { pack, soc });
        }
        ModbusReply::Written
    }
}

impl ModbusResponder for CoulombMeter {
    fn address(&self) -> u8 {
        self.address
    }

    fn handle(
        &mut self,
        address: u8,
        request: ModbusRequest<'_>,
        _now: Duration,
        plant: &Plant,
    ) -> Option<ModbusReply> {
        let answer = route(self.address, address)?;
        let reply = match request {
            ModbusRequest::ReadInput { start, count } => {
                let regs = self.status(plant).to_registers().unwrap_or_default();
                slice_of(&regs, start, count)
            }
            ModbusRequest::ReadHolding { start, count } => {
                let regs = self.settings.to_registers().unwrap_or_default();
                slice_of(&regs, start, count)
            }
            ModbusRequest::Write { start, values } => self.write(start, values),
            ModbusRequest::SetChargeLevel(level) => self.set_level(plant, level),
        };
        // The new address takes effect after the reply.
        self.address = u8::try_from(self.settings.address).unwrap_or(self.address);
        (answer && !self.faults.silent).then_some(reply)
    }

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
