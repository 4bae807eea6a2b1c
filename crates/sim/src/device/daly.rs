//! A Daly BMS on its UART/RS485 port.

use core::time::Duration;

use voltwire_core::{Millivolts, StreamDecoder as _};
use voltwire_daly::{
    BalanceState, BatteryInfo, CellVoltageFrame, CellVoltageRange, ChargeState, Command, Decoder,
    Dio, FRAME_LEN, Failure, FailureFlags, Failures, MosfetStatus, PackStatus, RatedParameters,
    Request, Response, StatusInfo, Switch, TemperatureFrame, TemperatureRange, TextFrame, Variant,
    WriteAck,
};

use super::{dc, ma, mv};
use crate::faults::{Garbage, push_reply};
use crate::{BmsView, Faults, Plant, PlantCommand, SerialResponder};

/// A Daly BMS watching pack `pack` of the plant.
///
/// Answers every read (0x90–0x98, 0x50, 0x53, 0x57, 0x62, 0x63; 0x95/0x96/0x57/0x62/0x63 as
/// several frames) from any host address, as BMS number `address`; the MOSFET writes
/// (0xD9/0xDA) switch its MOSFETs and ask the plant to follow ([`PlantCommand`]), 0x21 sets
/// the SOC, 0x00 is acknowledged. Values are rounded to the wire grid (0.1 V, 0.1 A, 1 °C).
#[derive(Debug)]
pub struct DalyBms {
    pack: usize,
    address: u8,
    variant: Variant,
    faults: Faults,
    decoder: Decoder,
    garbage: Garbage,
    charge_mosfet: bool,
    discharge_mosfet: bool,
    commands: Vec<PlantCommand>,
}

/// Text the BMS answers to 0x57 / 0x62 / 0x63.
const BATTERY_CODE: &[u8] = b"VOLTWIRE-SIM-DALY";
const SOFTWARE_VERSION: &[u8] = b"20260101-1.0.0";
const HARDWARE_VERSION: &[u8] = b"VW-SIM-HW1";

impl DalyBms {
    /// A BMS for pack `pack`, BMS number 0x01, [`Variant::RS485`] sign conventions.
    pub fn new(pack: usize) -> Self {
        Self {
            pack,
            address: voltwire_daly::BMS_FIRST,
            variant: Variant::RS485,
            faults: Faults::default(),
            decoder: Decoder::new(),
            garbage: Garbage::default(),
            charge_mosfet: true,
            discharge_mosfet: true,
            commands: Vec::new(),
        }
    }

    /// The same BMS with another board variant (current sign, bit order).
    #[must_use]
    pub fn with_variant(mut self, variant: Variant) -> Self {
        self.variant = variant;
        self
    }

    /// Whether the charge MOSFET is on.
    pub fn charge_mosfet(&self) -> bool {
        self.charge_mosfet
    }

    /// Whether the discharge MOSFET is on.
    pub fn discharge_mosfet(&self) -> bool {
        self.discharge_mosfet
    }

    fn send(&mut self, r: &Response, out: &mut Vec<u8>) {
        let mut buf = [0u8; FRAME_LEN];
        if r.emit(self.address, &self.variant, &mut buf).is_ok() {
            push_reply(
                &self.faults,
                &mut self.garbage,
                &mut buf,
                |b| {
                    // Off by one, never onto 0xA5 (which a decoder would take for a new
                    // frame start rather than a corrupted checksum).
                    if let Some(c) = b.last_mut() {
                        *c = c.wrapping_add(if *c == 0xA4 { 2 } else { 1 });
                    }
                },
                out,
            );
        }
    }

    fn text(&mut self, make: fn(TextFrame) -> Response, text: &[u8], out: &mut Vec<u8>) {
        for (i, chunk) in text.chunks(7).enumerate() {
            let mut t = [0u8; 7];
            for (d, s) in t.iter_mut().zip(chunk) {
                *d = *s;
            }
            let frame = u8::try_from(i + 1).unwrap_or(u8::MAX);
            self.send(&make(TextFrame { frame, text: t }), out);
        }
    }

    #[allow(
        clippy::too_many_lines,
        reason = "one arm per command; splitting hides the table"
    )]
    fn answer(&mut self, req: Request, v: &BmsView, out: &mut Vec<u8>) {
        let (max_i, max_v) = v.max_cell();
        let (min_i, min_v) = v.min_cell();
        let (tmax_i, tmax) = v.max_temperature();
        let (tmin_i, tmin) = v.min_temperature();
        let idx = |i: usize| u8::try_from(i).unwrap_or(u8::MAX);
        let charge_on = self.charge_mosfet && v.may_charge();
        let discharge_on = self.discharge_mosfet && v.may_discharge();
        match req {
            Request::Read { command, .. } => match command {
                Command::PACK_STATUS => {
                    let voltage = mv(v.voltage, 100);
                    self.send(
                        &Response::PackStatus(PackStatus {
                            voltage,
                            acquired_voltage: voltage,
                            current: ma(v.current, 100),
                            soc: v.soc,
                        }),
                        out,
                    );
                }
                Command::CELL_VOLTAGE_RANGE => self.send(
                    &Response::CellVoltageRange(CellVoltageRange {
                        max: max_v,
                        max_cell: idx(max_i),
                        min: min_v,
                        min_cell: idx(min_i),
                        reserved: [0; 2],
                    }),
                    out,
                ),
                Command::TEMPERATURE_RANGE => self.send(
                    &Response::TemperatureRange(TemperatureRange {
                        max: dc(tmax, 10),
                        max_sensor: idx(tmax_i),
                        min: dc(tmin, 10),
                        min_sensor: idx(tmin_i),
                        reserved: [0; 4],
                    }),
                    out,
                ),
                Command::MOSFET_STATUS => {
                    let state = match v.current.0 {
                        c if c > 0 => ChargeState::CHARGING,
                        c if c < 0 => ChargeState::DISCHARGING,
                        _ => ChargeState::IDLE,
                    };
                    self.send(
                        &Response::MosfetStatus(MosfetStatus {
                            state,
                            charge_mosfet: if charge_on { Switch::ON } else { Switch::OFF },
                            discharge_mosfet: if discharge_on {
                                Switch::ON
                            } else {
                                Switch::OFF
                            },
                            bms_life: 0,
                            remaining_capacity: v.remaining,
                        }),
                        out,
                    );
                }
                Command::STATUS_INFO => self.send(
                    &Response::StatusInfo(StatusInfo {
                        cell_count: idx(v.cells.len()),
                        temperature_sensor_count: idx(v.temperatures.len()),
                        charger: if v.current.0 > 0 {
                            Switch::ON
                        } else {
                            Switch::OFF
                        },
                        load: if v.current.0 < 0 {
                            Switch::ON
                        } else {
                            Switch::OFF
                        },
                        dio: Dio(0),
                        cycles: v.cycles,
                        reserved: 0,
                    }),
                    out,
                ),
                Command::CELL_VOLTAGES => {
                    for (i, chunk) in v.cells.chunks(3).enumerate() {
                        let mut voltages = [Millivolts(0); 3];
                        for (d, s) in voltages.iter_mut().zip(chunk) {
                            *d = *s;
                        }
                        let r = Response::CellVoltages(CellVoltageFrame {
                            frame: idx(i + 1),
                            voltages,
                            reserved: 0,
                        });
                        self.send(&r, out);
                    }
                }
                Command::TEMPERATURES => {
                    for (i, chunk) in v.temperatures.chunks(7).enumerate() {
                        // Unused slots read as 0 °C... wire raw 40; a full frame is sent.
                        let mut temperatures = [voltwire_core::DeciCelsius(0); 7];
                        for (d, s) in temperatures.iter_mut().zip(chunk) {
                            *d = dc(*s, 10);
                        }
                        let r = Response::Temperatures(TemperatureFrame {
                            frame: idx(i + 1),
                            temperatures,
                        });
                        self.send(&r, out);
                    }
                }
                Command::BALANCE_STATE => {
                    self.send(&Response::BalanceState(BalanceState([0; 8])), out);
                }
                Command::FAILURES => {
                    let mut flags = FailureFlags::default();
                    flags.set(Failure::CellVoltageHighL1, v.cell_over_voltage());
                    flags.set(Failure::CellVoltageHighL2, v.cell_over_voltage());
                    flags.set(Failure::CellVoltageLowL2, v.cell_under_voltage());
                    let hot = v.over_temperature();
                    flags.set(Failure::ChargeTemperatureHighL2, hot);
                    flags.set(Failure::DischargeTemperatureHighL2, hot);
                    self.send(
                        &Response::Failures(Failures {
                            flags,
                            fault_code: 0,
                        }),
                        out,
                    );
                }
                Command::RATED_PARAMETERS => self.send(
                    &Response::RatedParameters(RatedParameters {
                        rated_capacity: v.capacity,
                        nominal_cell_voltage: Millivolts(3_200),
                    }),
                    out,
                ),
                Command::BATTERY_INFO => self.send(
                    &Response::BatteryInfo(BatteryInfo {
                        head: [0; 2],
                        production_years_since_2000: 26,
                        production_month: 1,
                        production_day: 1,
                        tail: [0; 3],
                    }),
                    out,
                ),
                Command::BATTERY_CODE => self.text(Response::BatteryCode, BATTERY_CODE, out),
                Command::SOFTWARE_VERSION => {
                    self.text(Response::SoftwareVersion, SOFTWARE_VERSION, out);
                }
                Command::HARDWARE_VERSION => {
                    self.text(Response::HardwareVersion, HARDWARE_VERSION, out);
                }
                _ => {}
            },
            Request::ChargeMosfet { on } => {
                self.charge_mosfet = on;
                self.commands.push(PlantCommand::ChargeEnabled {
                    pack: self.pack,
                    on,
                });
                self.send(&Response::ChargeMosfet(ack(on)), out);
            }
            Request::DischargeMosfet { on } => {
                self.discharge_mosfet = on;
                self.commands.push(PlantCommand::DischargeEnabled {
                    pack: self.pack,
                    on,
                });
                self.send(&Response::DischargeMosfet(ack(on)), out);
            }
            Request::SetSoc { soc, .. } => {
                self.commands.push(PlantCommand::SetSoc {
                    pack: self.pack,
                    soc,
                });
                self.send(&Response::SetSoc(ack(true)), out);
            }
            Request::Reset => self.send(&Response::Reset(ack(true)), out),
            _ => {}
        }
    }
}

fn ack(on: bool) -> WriteAck {
    WriteAck {
        status: u8::from(on),
        rest: [0; 7],
    }
}

impl SerialResponder for DalyBms {
    fn on_bytes(&mut self, input: &[u8], _now: Duration, plant: &Plant, out: &mut Vec<u8>) {
        let mut requests = Vec::new();
        self.decoder.feed_all(input, |item| {
            if let Ok(f) = item.value.as_ref() {
                if f.is_request() {
                    requests.push(Request::parse(f));
                }
            }
        });
        let Some(view) = BmsView::of(plant, self.pack, &self.faults) else {
            return;
        };
        for r in requests {
            self.answer(r, &view, out);
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
