//! A Mean Well BIC-2200 (bidirectional) or NPB (charger) on CAN.

use core::time::Duration;

use voltwire_core::{DeciCelsius, Milliamps, Millivolts, Watts};
use voltwire_meanwell::bits::{FaultStatus, SystemConfig, SystemStatus};
use voltwire_meanwell::{Body, Bytes6, Command, Family, LimitError, Message, Model, Target, Value};

use super::{ma, mv};
use crate::faults::Garbage;
use crate::{CanFrame, CanResponder, Faults, Plant, PlantCommand};

/// A Mean Well charger (NPB) or bidirectional converter (BIC-2200) of model `model` with
/// jumper id `id`, connected to pack 0 of the plant.
///
/// Answers every read its family has, addressed to its id: `READ_VOUT` (the pack voltage),
/// `READ_IOUT` (the plant's charger power over the pack voltage, capped at `IOUT_SET`; on
/// the BIC the discharger power as a negative current, capped at `REVERSE_IOUT_SET`; 0 while
/// `OPERATION` is off), `READ_TEMPERATURE_1` (35.0 °C, or [`Faults::OVER_TEMPERATURE`]
/// with the over-temperature fault, which also sets the OTP bit of `FAULT_STATUS`),
/// `READ_VIN`, `FAULT_STATUS`, `SYSTEM_STATUS` (DC OK, initialised, in the family's
/// polarity), the manufacturer fields and every set point. Reads on the broadcast id are not
/// answered (the NPB-1700 does not either).
///
/// Writes (to its id or broadcast) of a set point within the model's limits
/// ([`Model::check`]) are applied and read back; out-of-range ones change nothing (writes
/// are not acknowledged on the wire, as on the real unit) and are recorded in
/// [`MeanwellPsu::refused`].
///
/// The set points drive the plant through [`PlantCommand::ConverterPower`] (drained with
/// [`CanResponder::drain_commands`] after each frame and tick, whenever the power changes):
/// while `OPERATION` is on, the charger delivers pack voltage × its charge current set point
/// as long as the pack is below its voltage set point (NPB, a charger: `CURVE_CC` and
/// `CURVE_CV`; BIC in direction 0: `IOUT_SET` and `VOUT_SET`); the BIC in direction 1 draws pack voltage × |`REVERSE_IOUT_SET`|
/// as long as the pack is above `REVERSE_VOUT_SET`. Set points are always within the
/// model's limits ([`Model::check`]), so the power is too. A caller that does not apply the
/// commands keeps setting the flows itself (`READ_IOUT` always follows the plant's flows).
///
/// Faults: `silent` answers nothing; `garbage` answers each read with a 1-byte frame (too
/// short for any Mean Well message); CAN has no checksum at this layer, so `bad_checksum`
/// changes nothing.
#[derive(Debug)]
pub struct MeanwellPsu {
    model: Model,
    id: u8,
    faults: Faults,
    garbage: Garbage,
    settings: Vec<Value>,
    refused: Vec<LimitError>,
    /// The converter power last asked of the plant.
    sent: Option<(Watts, Watts)>,
    /// The command not drained yet.
    pending: Option<PlantCommand>,
}

/// Device temperature reported while healthy, 0.1 °C.
const TEMPERATURE: i16 = 350;
/// AC input voltage reported, mV.
const VIN: i32 = 230_000;

fn text(command: Command, s: &[u8]) -> Value {
    Value::Text(command, Bytes6::new(s).unwrap_or_default())
}

impl MeanwellPsu {
    /// A unit of `model` with jumper id `id`, output on, set points at their defaults
    /// (VOUT in the middle of the range, charge and discharge current at the maximum).
    pub fn new(model: Model, id: u8) -> Self {
        let l = model.limits();
        let mid = mv(
            Millivolts(l.vout_min.0 + (l.vout_max.0 - l.vout_min.0) / 2),
            10,
        );
        let mut settings = vec![
            Value::Operation(1),
            Value::VoutSet(mid),
            Value::IoutSet(l.charge_current_max),
            Value::SystemConfig(SystemConfig(SystemConfig::CAN_CONTROL)),
        ];
        match model.family() {
            Family::Bic2200 => settings.extend([
                Value::Direction(0),
                Value::ReverseVoutSet(l.vout_min),
                Value::ReverseIoutSet(l.discharge_current.map_or(Milliamps(0), |(_, max)| max)),
                Value::BidirectionalConfig(1),
            ]),
            Family::Npb => settings.extend([
                Value::CurveCc(l.charge_current_max),
                Value::CurveCv(mid),
                Value::CurveFv(mv(Millivolts(mid.0 - (mid.0 - l.vout_min.0) / 4), 10)),
                Value::CurveTc(ma(Milliamps(l.charge_current_max.0 / 10), 10)),
                Value::ChgRstVbat(l.vout_min),
            ]),
            // A family this simulator does not know yet: the common set points only.
            _ => {}
        }
        Self {
            model,
            id,
            faults: Faults::default(),
            garbage: Garbage::default(),
            settings,
            refused: Vec::new(),
            sent: None,
            pending: None,
        }
    }

    /// The model.
    pub fn model(&self) -> Model {
        self.model
    }

    /// The current value of set point `command` (e.g. [`Command::VOUT_SET`]), if the unit
    /// has it.
    pub fn setting(&self, command: Command) -> Option<Value> {
        self.settings
            .iter()
            .find(|v| v.command() == command)
            .copied()
    }

    /// The out-of-range writes refused so far, oldest first.
    pub fn refused(&self) -> &[LimitError] {
        &self.refused
    }

    fn family(&self) -> Family {
        self.model.family()
    }

    fn operating(&self) -> bool {
        !matches!(self.setting(Command::OPERATION), Some(Value::Operation(0)))
    }

    fn current_setting(&self, command: Command) -> Option<i32> {
        match self.setting(command)? {
            Value::IoutSet(a) | Value::ReverseIoutSet(a) | Value::CurveCc(a) => {
                Some(a.0.saturating_abs())
            }
            _ => None,
        }
    }

    /// The current into the battery: the plant's charger (or, on the BIC, discharger)
    /// power over the pack voltage, capped at the set point.
    fn iout(&self, plant: &Plant) -> Milliamps {
        let Some(pack) = plant.pack(0) else {
            return Milliamps(0);
        };
        let v = i64::from(pack.voltage().0.max(1));
        let amps = |w: i32| i32::try_from(i64::from(w) * 1_000_000 / v).unwrap_or(i32::MAX);
        if !self.operating() {
            return Milliamps(0);
        }
        let charge_cap = self
            .current_setting(match self.family() {
                Family::Npb => Command::CURVE_CC,
                // BIC and any newer family: the standard IOUT set point.
                _ => Command::IOUT_SET,
            })
            .unwrap_or(0);
        let charge = amps(plant.flows.charge.0).min(charge_cap);
        let a = if charge > 0 {
            charge
        } else if self.family() == Family::Bic2200 {
            let cap = self.current_setting(Command::REVERSE_IOUT_SET).unwrap_or(0);
            -amps(plant.flows.discharge.0).min(cap)
        } else {
            0
        };
        ma(Milliamps(a), 10)
    }

    fn voltage_setting(&self, command: Command) -> Option<i32> {
        match self.setting(command)? {
            Value::VoutSet(v) | Value::ReverseVoutSet(v) | Value::CurveCv(v) => Some(v.0),
            _ => None,
        }
    }

    /// The charger and discharger power the set points ask for at the plant's pack voltage.
    pub fn converter_power(&self, plant: &Plant) -> (Watts, Watts) {
        let none = (Watts(0), Watts(0));
        let Some(pack) = plant.pack(0) else {
            return none;
        };
        if !self.operating() {
            return none;
        }
        let v = pack.voltage().0;
        let watts = |ma: i32| {
            Watts(
                i32::try_from(i64::from(v.max(0)) * i64::from(ma.max(0)) / 1_000_000).unwrap_or(0),
            )
        };
        let (vout, charge_current) = match self.family() {
            Family::Npb => (
                self.voltage_setting(Command::CURVE_CV).unwrap_or(0),
                self.current_setting(Command::CURVE_CC).unwrap_or(0),
            ),
            // BIC and any newer family: the standard VOUT/IOUT set points.
            _ => (
                self.voltage_setting(Command::VOUT_SET).unwrap_or(0),
                self.current_setting(Command::IOUT_SET).unwrap_or(0),
            ),
        };
        let discharging = matches!(
            self.setting(Command::DIRECTION_CTRL),
            Some(Value::Direction(1))
        );
        if self.family() == Family::Bic2200 && discharging {
            let floor = self
                .voltage_setting(Command::REVERSE_VOUT_SET)
                .unwrap_or(i32::MAX);
            if v > floor {
                let i = self.current_setting(Command::REVERSE_IOUT_SET).unwrap_or(0);
                return (Watts(0), watts(i));
            }
            return none;
        }
        if v < vout {
            return (watts(charge_current), Watts(0));
        }
        none
    }

    /// Queue a [`PlantCommand::ConverterPower`] if the power asked for changed.
    fn update_power(&mut self, plant: &Plant) {
        let p = self.converter_power(plant);
        if self.sent != Some(p) {
            self.sent = Some(p);
            self.pending = Some(PlantCommand::ConverterPower {
                charge: p.0,
                discharge: p.1,
            });
        }
    }

    fn read(&self, command: Command, plant: &Plant) -> Option<Value> {
        let hot = self.faults.over_temperature;
        let v = match command {
            Command::READ_VOUT => Value::Vout(mv(plant.pack(0)?.voltage(), 10)),
            Command::READ_IOUT => Value::Iout(self.iout(plant)),
            Command::READ_TEMPERATURE_1 => Value::Temperature(DeciCelsius(if hot {
                Faults::OVER_TEMPERATURE
            } else {
                TEMPERATURE
            })),
            Command::READ_VIN => Value::Vin(Millivolts(VIN)),
            Command::READ_FAN_SPEED_1 => Value::FanSpeed1(2_400),
            Command::READ_FAN_SPEED_2 => Value::FanSpeed2(2_400),
            Command::FAULT_STATUS => {
                let mut f = 0u16;
                if hot {
                    f |= 0x02 | 0x80;
                }
                if !self.operating() {
                    f |= 0x40;
                }
                Value::FaultStatus(FaultStatus(f))
            }
            Command::SYSTEM_STATUS => Value::SystemStatus(SystemStatus(match self.family() {
                // BIC: bit 1 DC OK, bit 5 initialised.
                Family::Bic2200 => 0x22,
                // NPB: bit 1 DC output low, bit 5 initialising: both clear. A newer family: none set.
                _ => 0,
            })),
            Command::CHG_STATUS => Value::ChargeStatus(voltwire_meanwell::bits::ChargeStatus(
                if self.iout(plant).0 > 0 { 0x02 } else { 0x08 },
            )),
            Command::MFR_ID_B0B5 => text(command, b"MEANWE"),
            Command::MFR_ID_B6B11 => text(command, b"LL    "),
            Command::MFR_MODEL_B0B5 | Command::MFR_MODEL_B6B11 => {
                let mut name = [b' '; 12];
                for (d, s) in name.iter_mut().zip(self.model.name().bytes()) {
                    *d = s;
                }
                let (a, b) = name.split_at(6);
                text(
                    command,
                    if command == Command::MFR_MODEL_B0B5 {
                        a
                    } else {
                        b
                    },
                )
            }
            Command::MFR_REVISION => text(command, &[0x01, 0x00, 0xFF, 0xFF, 0xFF, 0xFF]),
            Command::MFR_LOCATION => text(command, b"SIM"),
            Command::MFR_DATE => text(command, b"260101"),
            Command::MFR_SERIAL_B0B5 => text(command, b"VWSIM0"),
            Command::MFR_SERIAL_B6B11 => {
                let mut s = *b"000000";
                if let Some(last) = s.last_mut() {
                    *last = b'0' + self.id % 10;
                }
                text(command, &s)
            }
            c => self.setting(c)?,
        };
        Some(v)
    }

    fn write(&mut self, value: Value) {
        if !matches!(
            value,
            Value::Operation(_)
                | Value::VoutSet(_)
                | Value::IoutSet(_)
                | Value::CurveCc(_)
                | Value::CurveCv(_)
                | Value::CurveFv(_)
                | Value::CurveTc(_)
                | Value::CurveConfig(_)
                | Value::CurveCcTimeout(_)
                | Value::CurveCvTimeout(_)
                | Value::CurveFvTimeout(_)
                | Value::ChgRstVbat(_)
                | Value::SystemConfig(_)
                | Value::Direction(_)
                | Value::ReverseVoutSet(_)
                | Value::ReverseIoutSet(_)
                | Value::BidirectionalConfig(_)
        ) {
            return;
        }
        if let Err(e) = self.model.check(&value) {
            self.refused.push(e);
            return;
        }
        let command = value.command();
        if let Some(slot) = self.settings.iter_mut().find(|v| v.command() == command) {
            *slot = value;
        } else {
            self.settings.push(value);
        }
    }
}

impl CanResponder for MeanwellPsu {
    fn on_frame(
        &mut self,
        frame: &CanFrame,
        _now: Duration,
        plant: &Plant,
        out: &mut Vec<CanFrame>,
    ) {
        let Ok(m) = Message::from_frame(frame) else {
            return;
        };
        if m.family != self.family() {
            return;
        }
        let mine = m.target == Target::Device(self.id);
        match m.body {
            Body::Read(command) if mine => {
                if self.faults.silent || !command.supported_by(self.family()) {
                    return;
                }
                let Some(value) = self.read(command, plant) else {
                    return;
                };
                let reply = Message {
                    family: self.family(),
                    target: Target::Device(self.id),
                    body: Body::Reply(value),
                };
                let Ok(f) = reply.to_frame::<CanFrame>() else {
                    return;
                };
                if self.faults.garbage {
                    let b = self.garbage.next_byte();
                    if let Some(g) = CanFrame::data_frame(f.id(), true, &[b]) {
                        out.push(g);
                    }
                } else {
                    out.push(f);
                }
            }
            Body::Write(value) if mine || m.target == Target::Broadcast => {
                self.write(value);
                self.update_power(plant);
            }
            _ => {}
        }
    }

    fn tick(&mut self, _now: Duration, plant: &Plant, _out: &mut Vec<CanFrame>) {
        self.update_power(plant);
    }

    fn drain_commands(&mut self, out: &mut Vec<PlantCommand>) {
        out.extend(self.pending.take());
    }

    fn faults(&self) -> &Faults {
        &self.faults
    }

    fn faults_mut(&mut self) -> &mut Faults {
        &mut self.faults
    }
}
