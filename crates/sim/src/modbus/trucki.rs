//! Trucki's RS485 board on a SUN-GTIL2 grid-tie inverter, discharging the batteries into the
//! house.

use core::time::Duration;

use voltwire_core::{Millivolts, Rounding, Scale, Watts};
use voltwire_modbus::rtu::ExceptionCode;
use voltwire_modbus::trucki::{self, SetPower};

use super::{ModbusReply, ModbusRequest, ModbusResponder, ReadMap, holding_only};
use crate::{Faults, Plant, PlantCommand};

/// A Trucki board on a SUN-GTIL2 of `rated` power (2000 W by default).
///
/// Serves holding registers 0..=7 (function 0x03) and takes the set point on register 0
/// (0x10 or 0x06; any other register written gets `IllegalDataAddress`). A set point is
/// kept as written (register 0 and its mirror, register 6) and sets the plant's discharge
/// flow, clamped to the rating ([`PlantCommand::ConverterPower`], the charge flow kept). The
/// displayed power is the plant's discharge flow while a pack can deliver it, else 0; the
/// grid reads a fixed 230.0 V. It starts at 0 W.
#[derive(Debug)]
pub struct Trucki {
    address: u8,
    rated: Watts,
    set: SetPower,
    faults: Faults,
    commands: Vec<PlantCommand>,
}

impl Trucki {
    /// A 2000 W unit at address 1, at 0 W.
    pub fn new() -> Self {
        Self {
            address: trucki::DEFAULT_ADDRESS,
            rated: Watts(2000),
            set: SetPower::OFF,
            faults: Faults::default(),
            commands: Vec::new(),
        }
    }

    /// The same unit at another address.
    #[must_use]
    pub fn with_address(mut self, address: u8) -> Self {
        self.address = address;
        self
    }

    /// What the board reports now.
    pub fn status(&self, plant: &Plant) -> trucki::Status {
        let can_deliver = plant
            .packs()
            .iter()
            .any(|p| p.discharge_enabled && p.soc().0 > 0);
        let watts = if can_deliver {
            plant.flows.discharge.0.clamp(0, self.rated.0)
        } else {
            0
        };
        trucki::Status {
            set_point_deciwatts: self.set.to_register(),
            output_power_deciwatts: u16::try_from(watts * 10).unwrap_or(u16::MAX),
            grid_voltage: Millivolts(230_000),
            battery_voltage: plant
                .bus_voltage()
                .round_to(Scale::new(100, 0), Rounding::Nearest),
            dac: 0,
            calibration: 0,
            mirror_deciwatts: self.set.to_register(),
            temperature_raw: 25,
        }
    }

    fn write(&mut self, start: u16, values: &[u16], plant: &Plant) -> ModbusReply {
        let (SetPower::REGISTER, [raw]) = (start, values) else {
            return ModbusReply::Exception(ExceptionCode::IllegalDataAddress);
        };
        self.set = SetPower::from_register(*raw);
        self.commands.push(PlantCommand::ConverterPower {
            charge: plant.flows.charge,
            discharge: Watts(self.set.power().0.min(self.rated.0)),
        });
        ModbusReply::Written
    }
}

impl Default for Trucki {
    fn default() -> Self {
        Self::new()
    }
}

impl ModbusResponder for Trucki {
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
        let read: ReadMap<Self> =
            |t, plant| t.status(plant).to_registers().unwrap_or_default().to_vec();
        holding_only(
            self,
            (own, silent),
            address,
            request,
            plant,
            read,
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "test code")]
mod tests {
    use super::*;

    #[test]
    fn a_set_point_moves_the_plant_and_reads_back_with_its_mirror() {
        let mut plant = Plant::single(16, 0.6);
        let mut t = Trucki::new();
        let read = |t: &mut Trucki, plant: &Plant| match t.handle(
            1,
            ModbusRequest::ReadHolding { start: 0, count: 8 },
            Duration::ZERO,
            plant,
        ) {
            Some(ModbusReply::Registers(r)) => r,
            other => panic!("{other:?}"),
        };
        assert_eq!(read(&mut t, &plant)[..2], [0, 0], "starts at 0 W");
        let w = t.handle(
            1,
            ModbusRequest::Write {
                start: 0,
                values: &[3000],
            },
            Duration::ZERO,
            &plant,
        );
        assert_eq!(w, Some(ModbusReply::Written));
        let mut cmds = Vec::new();
        t.drain_commands(&mut cmds);
        plant.apply(cmds);
        let r = read(&mut t, &plant);
        assert_eq!((r[0], r[1], r[6]), (3000, 3000, 3000));
        // Another register, another slave, a silent unit.
        let bad = t.handle(
            1,
            ModbusRequest::Write {
                start: 5,
                values: &[1],
            },
            Duration::ZERO,
            &plant,
        );
        assert_eq!(
            bad,
            Some(ModbusReply::Exception(ExceptionCode::IllegalDataAddress))
        );
        let other = ModbusRequest::ReadHolding { start: 0, count: 8 };
        assert_eq!(t.handle(2, other, Duration::ZERO, &plant), None);
        t.faults_mut().silent = true;
        assert_eq!(t.handle(1, other, Duration::ZERO, &plant), None);
    }
}
