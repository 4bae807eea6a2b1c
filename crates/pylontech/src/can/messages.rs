//! The message types, each with `parse` and `emit` side by side.

use voltwire_core::{
    DeciCelsius, DeciKelvin, EncodeError, MilliampHours, Milliamps, Millivolts, Permille, Scale,
    WattHours,
};

use super::flags::{AlarmCondition, PairState, Protection, RequestFlags, Warning};
use super::{CanMessage, ParseError, Payload};

/// 0.1 V per step, into millivolts.
const DECIVOLT: Scale = Scale::new(100, 0);
/// 0.01 V per step, into millivolts.
const CENTIVOLT: Scale = Scale::new(10, 0);
/// 0.1 A per step, into milliamps.
const DECIAMP: Scale = Scale::new(100, 0);
/// 1 % per step, into 0.1 %.
const PERCENT: Scale = Scale::new(10, 0);
/// 1 K per step, into 0.1 K.
const KELVIN: Scale = Scale::new(10, 0);
/// 1 Ah per step, into mAh.
const AMP_HOUR: Scale = Scale::new(1000, 0);
/// 0.1 kWh per step, into Wh.
const DECI_KWH: Scale = Scale::new(100, 0);

fn u16_at(d: &[u8], at: usize) -> u16 {
    match d.get(at..at + 2) {
        Some(&[a, b]) => u16::from_le_bytes([a, b]),
        _ => 0,
    }
}

fn i16_at(d: &[u8], at: usize) -> i16 {
    match d.get(at..at + 2) {
        Some(&[a, b]) => i16::from_le_bytes([a, b]),
        _ => 0,
    }
}

fn u32_at(d: &[u8], at: usize) -> u32 {
    match d.get(at..at + 4) {
        Some(&[b0, b1, b2, b3]) => u32::from_le_bytes([b0, b1, b2, b3]),
        _ => 0,
    }
}

fn put(out: &mut [u8; 8], at: usize, bytes: &[u8]) {
    if let Some(dst) = out.get_mut(at..at + bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

fn check_len(id: u16, data: &[u8], allowed: &[usize]) -> Result<(), ParseError> {
    if allowed.contains(&data.len()) {
        Ok(())
    } else {
        Err(ParseError::Length {
            id,
            len: data.len(),
        })
    }
}

fn out_of_range(id: u16, field: &'static str) -> ParseError {
    ParseError::OutOfRange { id, field }
}

/// 0x351, BMS -> inverter: charge and discharge limits. Sent with 8 bytes, or 6 (no DVL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChargeLimits {
    /// Charge voltage limit (CVL). Wire: u16 LE @ 0, 0.1 V.
    pub charge_voltage: Millivolts,
    /// Charge current limit (CCL), a magnitude. Wire: i16 LE @ 2, 0.1 A (signed, see
    /// `docs/protocols/pylontech-can.md`).
    pub charge_current: Milliamps,
    /// Discharge current limit (DCL), a magnitude (positive in every real capture). Wire:
    /// i16 LE @ 4, 0.1 A.
    pub discharge_current: Milliamps,
    /// Discharge voltage limit (DVL); `None` in a 6-byte frame. Wire: u16 LE @ 6, 0.1 V.
    pub discharge_voltage: Option<Millivolts>,
}

impl ChargeLimits {
    /// JSON / log name.
    pub const NAME: &'static str = "charge_limits";
}

impl CanMessage for ChargeLimits {
    const ID: u16 = 0x351;

    fn parse(data: &[u8]) -> Result<Self, ParseError> {
        check_len(Self::ID, data, &[6, 8])?;
        let mv = |raw: u16| Millivolts::from_wire(i64::from(raw), DECIVOLT);
        let ma = |raw: i16| Milliamps::from_wire(i64::from(raw), DECIAMP);
        Ok(Self {
            charge_voltage: mv(u16_at(data, 0)).ok_or(out_of_range(Self::ID, "cvl"))?,
            charge_current: ma(i16_at(data, 2)).ok_or(out_of_range(Self::ID, "ccl"))?,
            discharge_current: ma(i16_at(data, 4)).ok_or(out_of_range(Self::ID, "dcl"))?,
            discharge_voltage: if data.len() == 8 {
                Some(mv(u16_at(data, 6)).ok_or(out_of_range(Self::ID, "dvl"))?)
            } else {
                None
            },
        })
    }

    fn emit(&self) -> Result<([u8; 8], usize), EncodeError> {
        let mut out = [0u8; 8];
        put(
            &mut out,
            0,
            &self
                .charge_voltage
                .to_wire_as::<u16>(DECIVOLT, "cvl")?
                .to_le_bytes(),
        );
        put(
            &mut out,
            2,
            &self
                .charge_current
                .to_wire_as::<i16>(DECIAMP, "ccl")?
                .to_le_bytes(),
        );
        put(
            &mut out,
            4,
            &self
                .discharge_current
                .to_wire_as::<i16>(DECIAMP, "dcl")?
                .to_le_bytes(),
        );
        let len = if let Some(dvl) = self.discharge_voltage {
            put(
                &mut out,
                6,
                &dvl.to_wire_as::<u16>(DECIVOLT, "dvl")?.to_le_bytes(),
            );
            8
        } else {
            6
        };
        Ok((out, len))
    }
}

/// 0x355, BMS -> inverter: state of charge and health. Sent with 4, 6 or 8 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SocSoh {
    /// State of charge. Wire: u16 LE @ 0, 1 %.
    pub soc: Permille,
    /// State of health. Wire: u16 LE @ 2, 1 %.
    pub soh: Permille,
    /// High-resolution SOC (SMA extension), in 0.01 % steps (no canonical unit is that fine);
    /// `None` in a 4-byte frame. Wire: u16 LE @ 4, 0.01 %.
    pub soc_high_res: Option<u16>,
    /// Bytes 6-7 (unused); `None` unless the frame has 8 bytes. Wire: u16 LE @ 6.
    pub reserved: Option<u16>,
}

impl SocSoh {
    /// JSON / log name.
    pub const NAME: &'static str = "soc_soh";
}

impl CanMessage for SocSoh {
    const ID: u16 = 0x355;

    fn parse(data: &[u8]) -> Result<Self, ParseError> {
        check_len(Self::ID, data, &[4, 6, 8])?;
        let pct = |raw: u16| Permille::from_wire(i64::from(raw), PERCENT);
        Ok(Self {
            soc: pct(u16_at(data, 0)).ok_or(out_of_range(Self::ID, "soc"))?,
            soh: pct(u16_at(data, 2)).ok_or(out_of_range(Self::ID, "soh"))?,
            soc_high_res: (data.len() >= 6).then(|| u16_at(data, 4)),
            reserved: (data.len() == 8).then(|| u16_at(data, 6)),
        })
    }

    fn emit(&self) -> Result<([u8; 8], usize), EncodeError> {
        let mut out = [0u8; 8];
        put(
            &mut out,
            0,
            &self.soc.to_wire_as::<u16>(PERCENT, "soc")?.to_le_bytes(),
        );
        put(
            &mut out,
            2,
            &self.soh.to_wire_as::<u16>(PERCENT, "soh")?.to_le_bytes(),
        );
        let len = match (self.soc_high_res, self.reserved) {
            (None, None) => 4,
            (Some(h), None) => {
                put(&mut out, 4, &h.to_le_bytes());
                6
            }
            (h, Some(r)) => {
                put(&mut out, 4, &h.unwrap_or(0).to_le_bytes());
                put(&mut out, 6, &r.to_le_bytes());
                8
            }
        };
        Ok((out, len))
    }
}

/// 0x356, BMS -> inverter: battery voltage, current and temperature. 6 or 8 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Measurements {
    /// Battery voltage. Wire: i16 LE @ 0, 0.01 V.
    pub voltage: Millivolts,
    /// Battery current, positive = charging. Wire: i16 LE @ 2, 0.1 A.
    pub current: Milliamps,
    /// Battery temperature. Wire: i16 LE @ 4, 0.1 °C.
    pub temperature: DeciCelsius,
    /// Bytes 6-7, meaning unverified (0x001A in the Victron capture; a Lua emitter puts the
    /// cycle count there); `None` in a 6-byte frame. Wire: u16 LE @ 6.
    pub extra: Option<u16>,
}

impl Measurements {
    /// JSON / log name.
    pub const NAME: &'static str = "measurements";
}

impl CanMessage for Measurements {
    const ID: u16 = 0x356;

    fn parse(data: &[u8]) -> Result<Self, ParseError> {
        check_len(Self::ID, data, &[6, 8])?;
        Ok(Self {
            voltage: Millivolts::from_wire(i64::from(i16_at(data, 0)), CENTIVOLT)
                .ok_or(out_of_range(Self::ID, "voltage"))?,
            current: Milliamps::from_wire(i64::from(i16_at(data, 2)), DECIAMP)
                .ok_or(out_of_range(Self::ID, "current"))?,
            temperature: DeciCelsius(i16_at(data, 4)),
            extra: (data.len() == 8).then(|| u16_at(data, 6)),
        })
    }

    fn emit(&self) -> Result<([u8; 8], usize), EncodeError> {
        let mut out = [0u8; 8];
        put(
            &mut out,
            0,
            &self
                .voltage
                .to_wire_as::<i16>(CENTIVOLT, "voltage")?
                .to_le_bytes(),
        );
        put(
            &mut out,
            2,
            &self
                .current
                .to_wire_as::<i16>(DECIAMP, "current")?
                .to_le_bytes(),
        );
        put(&mut out, 4, &self.temperature.0.to_le_bytes());
        let len = if let Some(x) = self.extra {
            put(&mut out, 6, &x.to_le_bytes());
            8
        } else {
            6
        };
        Ok((out, len))
    }
}

/// 0x359, BMS -> inverter (Pylontech dialect): protection and warning flags, module count
/// and the `PN` tag. 7 or 8 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Alarms {
    /// Protection bits. Wire: bytes 0 (low) and 1 (high).
    pub protection: Protection,
    /// Warning bits. Wire: bytes 2 (low) and 3 (high).
    pub warning: Warning,
    /// Number of modules. Wire: u8 @ 4.
    pub module_count: u8,
    /// Bytes 5-6, ASCII `PN` in every real frame (Pytes sends `PY`). Kept verbatim.
    pub tag: [u8; 2],
    /// Byte 7; `None` in a 7-byte frame.
    pub reserved: Option<u8>,
}

impl Alarms {
    /// JSON / log name.
    pub const NAME: &'static str = "alarms";
}

impl CanMessage for Alarms {
    const ID: u16 = 0x359;

    fn parse(data: &[u8]) -> Result<Self, ParseError> {
        check_len(Self::ID, data, &[7, 8])?;
        match *data {
            [p0, p1, w0, w1, n, t0, t1, ref rest @ ..] => Ok(Self {
                protection: Protection(u16::from_le_bytes([p0, p1])),
                warning: Warning(u16::from_le_bytes([w0, w1])),
                module_count: n,
                tag: [t0, t1],
                reserved: rest.first().copied(),
            }),
            _ => Err(ParseError::Length {
                id: Self::ID,
                len: data.len(),
            }),
        }
    }

    fn emit(&self) -> Result<([u8; 8], usize), EncodeError> {
        let [p0, p1] = self.protection.0.to_le_bytes();
        let [w0, w1] = self.warning.0.to_le_bytes();
        let [t0, t1] = self.tag;
        let out = [
            p0,
            p1,
            w0,
            w1,
            self.module_count,
            t0,
            t1,
            self.reserved.unwrap_or(0),
        ];
        Ok((out, if self.reserved.is_some() { 8 } else { 7 }))
    }
}

/// 0x35A, BMS -> inverter (SMA/Victron dialect): alarms (bytes 0-3) and warnings (bytes
/// 4-7) as 2-bit pairs (`01` active, `10` OK, `11` not supported, `00` unused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SmaAlarms {
    /// Alarm pairs. Wire: bytes 0-3.
    pub alarms: [u8; 4],
    /// Warning pairs. Wire: bytes 4-7.
    pub warnings: [u8; 4],
}

impl SmaAlarms {
    /// JSON / log name.
    pub const NAME: &'static str = "sma_alarms";

    fn pair(bytes: [u8; 4], c: AlarmCondition) -> PairState {
        let (byte, shift) = c.position();
        PairState::from_bits(bytes.get(byte).copied().unwrap_or(0) >> shift)
    }

    /// State of an alarm.
    pub fn alarm(&self, c: AlarmCondition) -> PairState {
        Self::pair(self.alarms, c)
    }

    /// State of a warning.
    pub fn warning(&self, c: AlarmCondition) -> PairState {
        Self::pair(self.warnings, c)
    }

    /// Names of the active alarms.
    pub fn active_alarms(&self) -> impl Iterator<Item = &'static str> + '_ {
        AlarmCondition::ALL
            .into_iter()
            .filter(|c| self.alarm(*c) == PairState::Active)
            .map(AlarmCondition::name)
    }

    /// Names of the active warnings.
    pub fn active_warnings(&self) -> impl Iterator<Item = &'static str> + '_ {
        AlarmCondition::ALL
            .into_iter()
            .filter(|c| self.warning(*c) == PairState::Active)
            .map(AlarmCondition::name)
    }
}

impl CanMessage for SmaAlarms {
    const ID: u16 = 0x35A;

    fn parse(data: &[u8]) -> Result<Self, ParseError> {
        match *data {
            [a0, a1, a2, a3, w0, w1, w2, w3] => Ok(Self {
                alarms: [a0, a1, a2, a3],
                warnings: [w0, w1, w2, w3],
            }),
            _ => Err(ParseError::Length {
                id: Self::ID,
                len: data.len(),
            }),
        }
    }

    fn emit(&self) -> Result<([u8; 8], usize), EncodeError> {
        let [a0, a1, a2, a3] = self.alarms;
        let [w0, w1, w2, w3] = self.warnings;
        Ok(([a0, a1, a2, a3, w0, w1, w2, w3], 8))
    }
}

/// 0x35C, BMS -> inverter: request flags in byte 0; 1, 2 or 8 bytes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Request {
    /// The flags. Wire: u8 @ 0.
    pub flags: RequestFlags,
    /// Bytes 1.. as sent (zero padding in every real frame), kept for a lossless round trip.
    pub padding: Payload,
}

impl Request {
    /// JSON / log name.
    pub const NAME: &'static str = "request";

    /// The flags in the 2-byte form most BMSes send.
    pub fn new(flags: RequestFlags) -> Self {
        Self {
            flags,
            padding: Payload::new(&[0]).unwrap_or_default(),
        }
    }
}

impl CanMessage for Request {
    const ID: u16 = 0x35C;

    fn parse(data: &[u8]) -> Result<Self, ParseError> {
        match data.split_first() {
            Some((&f, rest)) if rest.len() <= 7 => Ok(Self {
                flags: RequestFlags(f),
                padding: Payload::new(rest).unwrap_or_default(),
            }),
            _ => Err(ParseError::Length {
                id: Self::ID,
                len: data.len(),
            }),
        }
    }

    fn emit(&self) -> Result<([u8; 8], usize), EncodeError> {
        if self.padding.len() > 7 {
            return Err(EncodeError::OutOfRange { field: "padding" });
        }
        let mut out = [0u8; 8];
        put(&mut out, 0, &[self.flags.0]);
        put(&mut out, 1, self.padding.as_bytes());
        Ok((out, 1 + self.padding.len()))
    }
}

macro_rules! verbatim_message {
    ($(#[$doc:meta])* $name:ident, $id:literal, $json:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name(pub Payload);

        impl $name {
            /// JSON / log name.
            pub const NAME: &'static str = $json;

            /// The bytes as text (ASCII, NUL/space padding removed), if printable.
            pub fn text(&self) -> Option<&str> {
                self.0.as_text()
            }
        }

        impl CanMessage for $name {
            const ID: u16 = $id;

            fn parse(data: &[u8]) -> Result<Self, ParseError> {
                Payload::new(data).map(Self).ok_or(ParseError::Length {
                    id: Self::ID,
                    len: data.len(),
                })
            }

            fn emit(&self) -> Result<([u8; 8], usize), EncodeError> {
                let mut out = [0u8; 8];
                put(&mut out, 0, self.0.as_bytes());
                Ok((out, self.0.len()))
            }
        }
    };
}

verbatim_message!(
    /// 0x35E, BMS -> inverter: manufacturer name, ASCII, up to 8 bytes ("PYLON" + NUL
    /// padding in the real capture; others pad with spaces).
    Manufacturer, 0x35E, "manufacturer"
);
verbatim_message!(
    /// 0x370 (SMA/Victron dialect): BMS name, first 8 ASCII bytes ("CAN-SMAR" in the real
    /// capture). bms-to-inverter reads min/max values here instead; see `docs/protocols/pylontech-can.md`.
    BmsName, 0x370, "bms_name"
);
verbatim_message!(
    /// 0x371 (SMA/Victron dialect): BMS name, next 8 ASCII bytes ("TBMS-BAT").
    BatteryName, 0x371, "battery_name"
);
verbatim_message!(
    /// 0x374: ASCII name of the cell with the lowest voltage ("Pack-01#").
    MinCellVoltageId, 0x374, "min_cell_voltage_id"
);
verbatim_message!(
    /// 0x375: ASCII name of the cell with the highest voltage.
    MaxCellVoltageId, 0x375, "max_cell_voltage_id"
);
verbatim_message!(
    /// 0x376: ASCII name of the cell with the lowest temperature.
    MinCellTemperatureId, 0x376, "min_cell_temperature_id"
);
verbatim_message!(
    /// 0x377: ASCII name of the cell with the highest temperature.
    MaxCellTemperatureId, 0x377, "max_cell_temperature_id"
);
verbatim_message!(
    /// 0x380: serial number, first ASCII part.
    SerialPart1, 0x380, "serial_part_1"
);
verbatim_message!(
    /// 0x381: serial number, second ASCII part.
    SerialPart2, 0x381, "serial_part_2"
);
verbatim_message!(
    /// 0x305, inverter -> BMS: keep-alive / acknowledge / sync request. All zeros in the
    /// real captures; `ArminJo`'s sample starts with 0x21. Kept verbatim.
    InverterRequest, 0x305, "inverter_request"
);
verbatim_message!(
    /// 0x307, Victron GX -> BMS: handshake (`12 34 56 78 56 49 43 00` in the real capture;
    /// bytes 4-6 are "VIC").
    InverterHandshake, 0x307, "inverter_handshake"
);

impl InverterRequest {
    /// The all-zero 8-byte request `bms_gateway` and the Victron capture show.
    pub fn zeros() -> Self {
        Self(Payload::new(&[0; 8]).unwrap_or_default())
    }
}

impl InverterHandshake {
    /// Whether bytes 4-6 read "VIC" (a Victron GX).
    pub fn is_victron(&self) -> bool {
        self.0.as_bytes().get(4..7) == Some(b"VIC")
    }
}

/// 0x35F (SMA/Victron dialect): battery info. Only the capacity (bytes 4-5) means the same
/// in every source; bytes 0-3 are model/chemistry and firmware/hardware version depending on
/// the source, so they are kept raw. 6 or 8 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BatteryInfo {
    /// Bytes 0-1: battery model (`diyBMS`) or cell chemistry (`ArminJo`). Wire: u16 LE @ 0.
    pub bytes_0_1: u16,
    /// Bytes 2-3: firmware version (`diyBMS`, `OpenDTU`: two u8) or hardware version (`ArminJo`).
    /// Wire: u16 LE @ 2.
    pub bytes_2_3: u16,
    /// Available capacity. Wire: u16 LE @ 4, 1 Ah.
    pub capacity: MilliampHours,
    /// Bytes 6-7 (software version in `ArminJo`); `None` in a 6-byte frame. Wire: u16 LE @ 6.
    pub bytes_6_7: Option<u16>,
}

impl BatteryInfo {
    /// JSON / log name.
    pub const NAME: &'static str = "battery_info";
}

impl CanMessage for BatteryInfo {
    const ID: u16 = 0x35F;

    fn parse(data: &[u8]) -> Result<Self, ParseError> {
        check_len(Self::ID, data, &[6, 8])?;
        Ok(Self {
            bytes_0_1: u16_at(data, 0),
            bytes_2_3: u16_at(data, 2),
            capacity: MilliampHours::from_wire(i64::from(u16_at(data, 4)), AMP_HOUR)
                .ok_or(out_of_range(Self::ID, "capacity"))?,
            bytes_6_7: (data.len() == 8).then(|| u16_at(data, 6)),
        })
    }

    fn emit(&self) -> Result<([u8; 8], usize), EncodeError> {
        let mut out = [0u8; 8];
        put(&mut out, 0, &self.bytes_0_1.to_le_bytes());
        put(&mut out, 2, &self.bytes_2_3.to_le_bytes());
        put(
            &mut out,
            4,
            &self
                .capacity
                .to_wire_as::<u16>(AMP_HOUR, "capacity")?
                .to_le_bytes(),
        );
        let len = if let Some(x) = self.bytes_6_7 {
            put(&mut out, 6, &x.to_le_bytes());
            8
        } else {
            6
        };
        Ok((out, len))
    }
}

/// 0x372: module counts. 8 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ModuleCounts {
    /// Modules online. Wire: u16 LE @ 0.
    pub online: u16,
    /// Modules blocking charge. Wire: u16 LE @ 2.
    pub blocking_charge: u16,
    /// Modules blocking discharge. Wire: u16 LE @ 4.
    pub blocking_discharge: u16,
    /// Modules offline. Wire: u16 LE @ 6.
    pub offline: u16,
}

impl ModuleCounts {
    /// JSON / log name.
    pub const NAME: &'static str = "module_counts";
}

impl CanMessage for ModuleCounts {
    const ID: u16 = 0x372;

    fn parse(data: &[u8]) -> Result<Self, ParseError> {
        check_len(Self::ID, data, &[8])?;
        Ok(Self {
            online: u16_at(data, 0),
            blocking_charge: u16_at(data, 2),
            blocking_discharge: u16_at(data, 4),
            offline: u16_at(data, 6),
        })
    }

    fn emit(&self) -> Result<([u8; 8], usize), EncodeError> {
        let mut out = [0u8; 8];
        put(&mut out, 0, &self.online.to_le_bytes());
        put(&mut out, 2, &self.blocking_charge.to_le_bytes());
        put(&mut out, 4, &self.blocking_discharge.to_le_bytes());
        put(&mut out, 6, &self.offline.to_le_bytes());
        Ok((out, 8))
    }
}

/// 0x373: lowest/highest cell voltage and temperature. 8 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CellExtremes {
    /// Lowest cell voltage. Wire: u16 LE @ 0, 1 mV.
    pub min_cell_voltage: Millivolts,
    /// Highest cell voltage. Wire: u16 LE @ 2, 1 mV.
    pub max_cell_voltage: Millivolts,
    /// Lowest cell temperature. Wire: u16 LE @ 4, 1 K.
    pub min_cell_temperature: DeciKelvin,
    /// Highest cell temperature. Wire: u16 LE @ 6, 1 K.
    pub max_cell_temperature: DeciKelvin,
}

impl CellExtremes {
    /// JSON / log name.
    pub const NAME: &'static str = "cell_extremes";
}

impl CanMessage for CellExtremes {
    const ID: u16 = 0x373;

    fn parse(data: &[u8]) -> Result<Self, ParseError> {
        check_len(Self::ID, data, &[8])?;
        let k = |raw: u16| DeciKelvin::from_wire(i64::from(raw), KELVIN);
        Ok(Self {
            min_cell_voltage: Millivolts(i32::from(u16_at(data, 0))),
            max_cell_voltage: Millivolts(i32::from(u16_at(data, 2))),
            min_cell_temperature: k(u16_at(data, 4)).ok_or(out_of_range(Self::ID, "min_t"))?,
            max_cell_temperature: k(u16_at(data, 6)).ok_or(out_of_range(Self::ID, "max_t"))?,
        })
    }

    fn emit(&self) -> Result<([u8; 8], usize), EncodeError> {
        let mut out = [0u8; 8];
        let id = Scale::IDENTITY;
        put(
            &mut out,
            0,
            &self
                .min_cell_voltage
                .to_wire_as::<u16>(id, "min_cell_voltage")?
                .to_le_bytes(),
        );
        put(
            &mut out,
            2,
            &self
                .max_cell_voltage
                .to_wire_as::<u16>(id, "max_cell_voltage")?
                .to_le_bytes(),
        );
        put(
            &mut out,
            4,
            &self
                .min_cell_temperature
                .to_wire_as::<u16>(KELVIN, "min_cell_temperature")?
                .to_le_bytes(),
        );
        put(
            &mut out,
            6,
            &self
                .max_cell_temperature
                .to_wire_as::<u16>(KELVIN, "max_cell_temperature")?
                .to_le_bytes(),
        );
        Ok((out, 8))
    }
}

/// 0x378: charged and discharged energy. 8 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Energy {
    /// Energy charged. Wire: u32 LE @ 0, 0.1 kWh.
    pub charged: WattHours,
    /// Energy discharged. Wire: u32 LE @ 4, 0.1 kWh.
    pub discharged: WattHours,
}

impl Energy {
    /// JSON / log name.
    pub const NAME: &'static str = "energy";
}

impl CanMessage for Energy {
    const ID: u16 = 0x378;

    fn parse(data: &[u8]) -> Result<Self, ParseError> {
        check_len(Self::ID, data, &[8])?;
        let wh = |raw: u32| WattHours::from_wire(i64::from(raw), DECI_KWH);
        Ok(Self {
            charged: wh(u32_at(data, 0)).ok_or(out_of_range(Self::ID, "charged"))?,
            discharged: wh(u32_at(data, 4)).ok_or(out_of_range(Self::ID, "discharged"))?,
        })
    }

    fn emit(&self) -> Result<([u8; 8], usize), EncodeError> {
        let mut out = [0u8; 8];
        put(
            &mut out,
            0,
            &self
                .charged
                .to_wire_as::<u32>(DECI_KWH, "charged")?
                .to_le_bytes(),
        );
        put(
            &mut out,
            4,
            &self
                .discharged
                .to_wire_as::<u32>(DECI_KWH, "discharged")?
                .to_le_bytes(),
        );
        Ok((out, 8))
    }
}

/// 0x379: installed capacity in bytes 0-1; 2 to 8 bytes, the rest kept verbatim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InstalledCapacity {
    /// Installed capacity. Wire: u16 LE @ 0, 1 Ah.
    pub capacity: MilliampHours,
    /// Bytes 2.. as sent.
    pub rest: Payload,
}

impl InstalledCapacity {
    /// JSON / log name.
    pub const NAME: &'static str = "installed_capacity";
}

impl CanMessage for InstalledCapacity {
    const ID: u16 = 0x379;

    fn parse(data: &[u8]) -> Result<Self, ParseError> {
        match data {
            [a, b, rest @ ..] if rest.len() <= 6 => Ok(Self {
                capacity: MilliampHours::from_wire(
                    i64::from(u16::from_le_bytes([*a, *b])),
                    AMP_HOUR,
                )
                .ok_or(out_of_range(Self::ID, "capacity"))?,
                rest: Payload::new(rest).unwrap_or_default(),
            }),
            _ => Err(ParseError::Length {
                id: Self::ID,
                len: data.len(),
            }),
        }
    }

    fn emit(&self) -> Result<([u8; 8], usize), EncodeError> {
        if self.rest.len() > 6 {
            return Err(EncodeError::OutOfRange { field: "rest" });
        }
        let mut out = [0u8; 8];
        put(
            &mut out,
            0,
            &self
                .capacity
                .to_wire_as::<u16>(AMP_HOUR, "capacity")?
                .to_le_bytes(),
        );
        put(&mut out, 2, self.rest.as_bytes());
        Ok((out, 2 + self.rest.len()))
    }
}

#[cfg(test)]
#[allow(
    clippy::many_single_char_names,
    clippy::std_instead_of_alloc,
    clippy::cast_possible_truncation,
    reason = "test code"
)]
mod tests {
    //! Annotated real frames: parse, then emit gives the same bytes back.
    use super::*;

    fn rt<M: CanMessage + core::fmt::Debug + PartialEq>(data: &[u8]) -> M {
        let m = M::parse(data).unwrap();
        let (out, len) = m.emit().unwrap();
        assert_eq!(&out[..len], data);
        m
    }

    #[test]
    fn limits_bms_gateway() {
        // 33 02 = 563 -> 56.3 V | 09 24 = 9225 -> 922.5 A | 09 24 | D5 01 = 469 -> 46.9 V
        let m: ChargeLimits = rt(&[0x33, 0x02, 0x09, 0x24, 0x09, 0x24, 0xD5, 0x01]);
        assert_eq!(m.charge_voltage, Millivolts(56_300));
        assert_eq!(m.charge_current, Milliamps(922_500));
        assert_eq!(m.discharge_voltage, Some(Millivolts(46_900)));
        // 6-byte form (bms_gateway's output)
        let m: ChargeLimits = rt(&[0x33, 0x02, 0x09, 0x24, 0x09, 0x24]);
        assert_eq!(m.discharge_voltage, None);
        // negative DCL (0xFF9C = -100 -> -10.0 A) as diyBMS emitted it
        let m: ChargeLimits = rt(&[0x44, 0x02, 0x64, 0x00, 0x9C, 0xFF, 0x3F, 0x02]);
        assert_eq!(m.discharge_current, Milliamps(-10_000));
        assert!(ChargeLimits::parse(&[0; 7]).is_err());
    }

    #[test]
    fn measurements_inverter_dump() {
        // A6 14 = 5286 -> 52.86 V | 4E FC = -946 -> -94.6 A | D2 00 = 210 -> 21.0 °C | 00 00
        let m: Measurements = rt(&[0xA6, 0x14, 0x4E, 0xFC, 0xD2, 0x00, 0x00, 0x00]);
        assert_eq!(m.voltage, Millivolts(52_860));
        assert_eq!(m.current, Milliamps(-94_600));
        assert_eq!(m.temperature, DeciCelsius(210));
        assert_eq!(m.extra, Some(0));
    }

    #[test]
    fn soc_alarms_request() {
        let m: SocSoh = rt(&[0x50, 0, 0x64, 0, 0, 0, 0, 0]);
        assert_eq!((m.soc, m.soh), (Permille(800), Permille(1000)));
        let m: SocSoh = rt(&[0x1A, 0, 0x64, 0]);
        assert_eq!(m.soc_high_res, None);
        let a: Alarms = rt(&[0, 0, 0, 0, 5, b'P', b'N', 0]);
        assert_eq!((a.module_count, &a.tag), (5, b"PN"));
        let a: Alarms = rt(&[0, 0, 0, 0, 0x0A, b'P', b'N']);
        assert_eq!(a.reserved, None);
        let r: Request = rt(&[0xC0, 0]);
        assert!(r.flags.charge_enable() && r.flags.discharge_enable());
        let _: Request = rt(&[0xC0, 0, 0, 0, 0, 0, 0, 0]);
        assert!(Request::parse(&[]).is_err());
    }

    #[test]
    fn victron_extensions() {
        let c: CellExtremes = rt(&[0xD8, 0x0C, 0xF1, 0x0C, 0x22, 0x01, 0x2A, 0x01]);
        assert_eq!(c.min_cell_voltage, Millivolts(3288));
        assert_eq!(c.min_cell_temperature, DeciKelvin(2900));
        let s: SmaAlarms = rt(&[0xAA, 0xAA, 0xAA, 0x02, 0xAA, 0xAA, 0xAA, 0x02]);
        assert_eq!(s.alarm(AlarmCondition::General), PairState::Ok);
        assert_eq!(s.alarm(AlarmCondition::CellImbalance), PairState::Ok);
        assert_eq!(s.active_alarms().count(), 0);
        let b: BatteryInfo = rt(&[0, 0, 0x10, 0x04, 0x30, 0x01, 0, 0]);
        assert_eq!(b.capacity, MilliampHours(304_000));
        let n: BmsName = rt(b"CAN-SMAR");
        assert_eq!(n.text(), Some("CAN-SMAR"));
        let m: Manufacturer = rt(b"PYLON\0\0\0");
        assert_eq!(m.text(), Some("PYLON"));
        let h: InverterHandshake = rt(&[0x12, 0x34, 0x56, 0x78, 0x56, 0x49, 0x43, 0]);
        assert!(h.is_victron());
        let e: Energy = rt(&[10, 0, 0, 0, 20, 0, 0, 0]);
        assert_eq!(e.charged, WattHours(1000));
        let i: InstalledCapacity = rt(&[0x30, 0x01]);
        assert_eq!(i.capacity, MilliampHours(304_000));
    }

    #[test]
    fn emit_checks_precision() {
        let m = ChargeLimits {
            charge_voltage: Millivolts(56_301),
            charge_current: Milliamps(0),
            discharge_current: Milliamps(0),
            discharge_voltage: None,
        };
        assert_eq!(m.emit(), Err(EncodeError::Precision { field: "cvl" }));
    }
}
