//! Host → BMS requests.

use voltwire_core::{EncodeError, Permille};

use crate::{Command, RawFrame};

/// What a read request carries in its 8 unused data bytes.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Padding {
    /// 0x00 × 8, as the protocol documents.
    #[default]
    Zero,
    /// 0xAA × 8: dbus-serialbattery sends this so the BMS UART can synchronise ("reduces
    /// read errors dramatically").
    Aa,
}

impl Padding {
    /// The 8 data bytes.
    pub const fn bytes(self) -> [u8; 8] {
        match self {
            Self::Zero => [0; 8],
            Self::Aa => [0xAA; 8],
        }
    }
}

/// The BMS clock as 0x21 carries it, raw (all zero = "not set", as python-daly-bms sends).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Clock {
    /// Year − 2000. Wire: u8 @ 0.
    pub years_since_2000: u8,
    /// Month 1–12. Wire: u8 @ 1.
    pub month: u8,
    /// Day 1–31. Wire: u8 @ 2.
    pub day: u8,
    /// Hour. Wire: u8 @ 3.
    pub hour: u8,
    /// Minute. Wire: u8 @ 4.
    pub minute: u8,
    /// Second. Wire: u8 @ 5.
    pub second: u8,
}

impl Clock {
    /// Whether every field is zero (the clock is not to be set).
    pub const fn is_unset(&self) -> bool {
        matches!(
            self,
            Self {
                years_since_2000: 0,
                month: 0,
                day: 0,
                hour: 0,
                minute: 0,
                second: 0
            }
        )
    }
}

/// A request from the host.
///
/// Every checksum-valid frame is some `Request`: one we cannot interpret is [`Request::Other`].
/// `Request::parse(&r.to_frame(a)?) == r` for every request `to_frame` accepts.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Request {
    /// A read of `command` (one of [`Command::is_read`]).
    Read {
        /// The data ID to read.
        command: Command,
        /// The unused data bytes.
        padding: Padding,
    },
    /// 0xD9: switch the discharge MOSFET. Wire: byte 0 = 1 on / 0 off, rest 0.
    DischargeMosfet {
        /// On (true) or off.
        on: bool,
    },
    /// 0xDA: switch the charge MOSFET. Wire: byte 0 = 1 on / 0 off, rest 0.
    ChargeMosfet {
        /// On (true) or off.
        on: bool,
    },
    /// 0x21: set the SOC (and the BMS clock unless it is all zero).
    SetSoc {
        /// The clock. Wire: bytes 0–5.
        clock: Clock,
        /// The new SOC. Wire: u16 BE @ 6, 0.1 %.
        soc: Permille,
    },
    /// 0x00: reset the BMS. Wire: all data bytes 0.
    Reset,
    /// Any other frame, kept as it came.
    Other {
        /// Command byte.
        command: Command,
        /// Data bytes.
        data: [u8; 8],
    },
}

impl Request {
    /// A read of `command` with zero padding.
    pub const fn read(command: Command) -> Self {
        Self::Read {
            command,
            padding: Padding::Zero,
        }
    }

    /// Give a checksum-verified frame its meaning as a request (the address is the frame's).
    pub fn parse(frame: &RawFrame) -> Self {
        let command = Command(frame.command);
        let data = frame.data;
        let other = Self::Other { command, data };
        match (command, data) {
            (c, d) if c.is_read() && d == [0; 8] => Self::read(c),
            (c, d) if c.is_read() && d == [0xAA; 8] => Self::Read {
                command: c,
                padding: Padding::Aa,
            },
            (Command::DISCHARGE_MOSFET, [b @ (0 | 1), 0, 0, 0, 0, 0, 0, 0]) => {
                Self::DischargeMosfet { on: b == 1 }
            }
            (Command::CHARGE_MOSFET, [b @ (0 | 1), 0, 0, 0, 0, 0, 0, 0]) => {
                Self::ChargeMosfet { on: b == 1 }
            }
            (Command::SET_SOC, [y, mo, d, h, mi, s, hi, lo]) => {
                match i16::try_from(u16::from_be_bytes([hi, lo])) {
                    Ok(soc) => Self::SetSoc {
                        clock: Clock {
                            years_since_2000: y,
                            month: mo,
                            day: d,
                            hour: h,
                            minute: mi,
                            second: s,
                        },
                        soc: Permille(soc),
                    },
                    Err(_) => other,
                }
            }
            (Command::RESET, [0, 0, 0, 0, 0, 0, 0, 0]) => Self::Reset,
            _ => other,
        }
    }

    /// The command byte.
    pub const fn command(&self) -> Command {
        match self {
            Self::Read { command, .. } | Self::Other { command, .. } => *command,
            Self::DischargeMosfet { .. } => Command::DISCHARGE_MOSFET,
            Self::ChargeMosfet { .. } => Command::CHARGE_MOSFET,
            Self::SetSoc { .. } => Command::SET_SOC,
            Self::Reset => Command::RESET,
        }
    }

    /// The 8 data bytes.
    ///
    /// # Errors
    /// [`EncodeError::OutOfRange`] for a negative SOC.
    pub fn data(&self) -> Result<[u8; 8], EncodeError> {
        Ok(match *self {
            Self::Read { padding, .. } => padding.bytes(),
            Self::DischargeMosfet { on } | Self::ChargeMosfet { on } => {
                [u8::from(on), 0, 0, 0, 0, 0, 0, 0]
            }
            Self::SetSoc { clock, soc } => {
                let [hi, lo] = u16::try_from(soc.0)
                    .map_err(|_| EncodeError::OutOfRange { field: "soc" })?
                    .to_be_bytes();
                [
                    clock.years_since_2000,
                    clock.month,
                    clock.day,
                    clock.hour,
                    clock.minute,
                    clock.second,
                    hi,
                    lo,
                ]
            }
            Self::Reset => [0; 8],
            Self::Other { data, .. } => data,
        })
    }

    /// The frame this request is, from host `address` (see [`crate::Variant::host_address`]).
    ///
    /// # Errors
    /// As [`Request::data`].
    pub fn to_frame(&self, address: u8) -> Result<RawFrame, EncodeError> {
        Ok(RawFrame {
            address,
            command: self.command().0,
            data: self.data()?,
        })
    }

    /// Write the 13 wire bytes from host `address` into `out`; returns 13.
    ///
    /// # Errors
    /// As [`Request::data`], and [`EncodeError::BufferTooSmall`].
    pub fn emit(&self, address: u8, out: &mut [u8]) -> Result<usize, EncodeError> {
        self.to_frame(address)?.emit(out)
    }

    /// The `snake_case` name of the request (`pack_status`, `set_soc`, …; `request` for an
    /// unknown command).
    pub const fn name(&self) -> &'static str {
        match self.command().name() {
            Some(n) => n,
            None => "request",
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::std_instead_of_alloc,
    clippy::many_single_char_names,
    clippy::trivially_copy_pass_by_ref,
    reason = "test code"
)]
mod tests {
    use super::*;

    #[test]
    fn parse_real_requests() {
        // esphome issue 12445 TX log: A5 40 91 08 00×8 7E
        let f = RawFrame::parse(&[0xA5, 0x40, 0x91, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0x7E]).unwrap();
        assert!(f.is_request());
        assert_eq!(
            Request::parse(&f),
            Request::read(Command::CELL_VOLTAGE_RANGE)
        );
        assert_eq!(Request::parse(&f).to_frame(0x40).unwrap(), f);
    }

    #[test]
    fn emit_writes() {
        let mut out = [0; 13];
        Request::ChargeMosfet { on: true }
            .emit(0x40, &mut out)
            .unwrap();
        assert_eq!(out, [0xA5, 0x40, 0xDA, 8, 1, 0, 0, 0, 0, 0, 0, 0, 0xC8]);
        let soc = Request::SetSoc {
            clock: Clock::default(),
            soc: Permille(1000),
        };
        let f = soc.to_frame(0x40).unwrap();
        assert_eq!(f.data, [0, 0, 0, 0, 0, 0, 0x03, 0xE8]);
        assert_eq!(Request::parse(&f), soc);
        assert!(
            Request::SetSoc {
                clock: Clock::default(),
                soc: Permille(-1)
            }
            .to_frame(0x40)
            .is_err()
        );
        let aa = Request::Read {
            command: Command::PACK_STATUS,
            padding: Padding::Aa,
        };
        assert_eq!(Request::parse(&aa.to_frame(0x80).unwrap()), aa);
    }
}
