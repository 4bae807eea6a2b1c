//! Commands (host -> adapter) and responses (adapter -> host).

use voltwire_core::{Emit, EncodeError, ShortBytes};

use crate::frame::{FrameLine, Writer, hex_num, hex_val};
use crate::{Error, MAX_LINE};

/// A line kept verbatim (without its CR): unknown commands, detailed version text.
///
/// Invariant: at most [`MAX_LINE`] bytes, every one printable ASCII.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Line(ShortBytes<MAX_LINE>);

impl Line {
    /// `text`, or `None` when longer than [`MAX_LINE`] or when a byte is not printable
    /// ASCII (0x20-0x7E).
    pub fn new(text: &[u8]) -> Option<Self> {
        if !text.iter().all(|c| (0x20..=0x7E).contains(c)) {
            return None;
        }
        ShortBytes::new(text).map(Self)
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// Which firmware's meaning of the dialect's ambiguous commands applies.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dialect {
    /// Lawicel `CAN232/CANUSB` and `CanHacker`: `S7` = 800 kbit/s; replies CR / BEL.
    Lawicel,
    /// `CANable` `canable-fw` and python-can: `S7` = 750 kbit/s; `M0`/`M1` = normal/silent;
    /// the `CANable` firmware sends no replies and no timestamps.
    Canable,
}

/// Bit rate of `S0`-`S9` in bit/s (`S9` = 83.3k is python-can's extension).
pub const fn bitrate_bps(code: u8, dialect: Dialect) -> Option<u32> {
    Some(match code {
        0 => 10_000,
        1 => 20_000,
        2 => 50_000,
        3 => 100_000,
        4 => 125_000,
        5 => 250_000,
        6 => 500_000,
        7 => match dialect {
            Dialect::Lawicel => 800_000,
            Dialect::Canable => 750_000,
        },
        8 => 1_000_000,
        9 => 83_300,
        _ => return None,
    })
}

/// The `Sn` code of a bit rate, if the dialect has one.
pub fn bitrate_code(bps: u32, dialect: Dialect) -> Option<u8> {
    (0..=9).find(|&c| bitrate_bps(c, dialect) == Some(bps))
}

/// A line from the host to the adapter.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Command {
    /// A bare CR (python-can sends one to flush the adapter's input).
    Empty,
    /// `Sn`: preset bit rate (see [`bitrate_bps`]).
    Bitrate(u8),
    /// `sxxyy`: SJA1000 BTR0/BTR1.
    Btr(u8, u8),
    /// `O`: open the channel.
    Open,
    /// `L`: open listen-only.
    ListenOnly,
    /// `C`: close.
    Close,
    /// `Mxxxxxxxx`: acceptance code (Lawicel).
    AcceptanceCode(u32),
    /// `mxxxxxxxx`: acceptance mask (Lawicel).
    AcceptanceMask(u32),
    /// `M0`/`M1`: normal / silent mode (`CANable`'s reuse of `M`).
    Mode(u8),
    /// `A0`/`A1`: auto-retransmit off / on (`CANable`).
    AutoRetransmit(bool),
    /// `V`: version.
    Version,
    /// `v`: detailed version.
    DetailedVersion,
    /// `N`: serial number.
    SerialNumber,
    /// `F`: status flags.
    Status,
    /// `Zn`: timestamps off (0) / on (1) (Seeed: 2 = 4-byte).
    Timestamps(u8),
    /// `Yn`: CAN FD data rate (`CANable` 2.0 dialect).
    FdDataRate(u8),
    /// `t`/`T`/`r`/`R`: transmit a frame.
    Transmit(FrameLine),
    /// Any other line, verbatim.
    Unknown(Line),
}

/// A line (or BEL) from the adapter to the host.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Response {
    /// CR: the last command succeeded.
    Ok,
    /// BEL (0x07): the last command failed.
    Error,
    /// `t`/`T`/`r`/`R`: a received frame.
    Frame(FrameLine),
    /// `z` / `Z` (Lawicel): a `t` / `T` transmit was queued (`extended` for `Z`).
    TransmitAck {
        /// `Z` (after `T`) rather than `z` (after `t`).
        extended: bool,
    },
    /// `Vhhss`: hardware and software version, 4 characters verbatim.
    Version([u8; 4]),
    /// `v…`: detailed version text.
    DetailedVersion(Line),
    /// `Nxxxx`: serial number, 4 characters verbatim.
    Serial([u8; 4]),
    /// `Fxx`: status flags.
    Status(u8),
    /// Any other line, verbatim.
    Unknown(Line),
}

fn four(rest: &[u8]) -> Option<[u8; 4]> {
    match *rest {
        [a, b, c, d] if rest.iter().all(u8::is_ascii_graphic) => Some([a, b, c, d]),
        _ => None,
    }
}

fn unknown(line: &[u8]) -> Result<Line, Error> {
    Line::new(line).ok_or(Error::TooLong)
}

impl Command {
    /// Parse one line from the host (without its CR).
    ///
    /// # Errors
    /// [`Error::BadFrame`] for a malformed frame line, [`Error::BadCommand`] for a known
    /// command letter with malformed arguments, [`Error::TooLong`] above [`MAX_LINE`].
    pub fn parse(line: &[u8]) -> Result<Self, Error> {
        let Some((&c, rest)) = line.split_first() else {
            return Ok(Self::Empty);
        };
        let bad = Error::BadCommand(c);
        let digit = || match *rest {
            [d] => hex_val(d).ok_or(bad),
            _ => Err(bad),
        };
        let none = |v: Self| if rest.is_empty() { Ok(v) } else { Err(bad) };
        match c {
            b't' | b'T' | b'r' | b'R' => FrameLine::parse(line).map(Self::Transmit),
            b'S' => digit().and_then(|d| {
                if d <= 9 {
                    Ok(Self::Bitrate(d))
                } else {
                    Err(bad)
                }
            }),
            b's' => match rest {
                [_, _, _, _] => {
                    let [_, _, hi, lo] = hex_num(rest).ok_or(bad)?.to_be_bytes();
                    Ok(Self::Btr(hi, lo))
                }
                _ => Err(bad),
            },
            b'O' => none(Self::Open),
            b'L' => none(Self::ListenOnly),
            b'C' => none(Self::Close),
            b'V' => none(Self::Version),
            b'v' => none(Self::DetailedVersion),
            b'N' => none(Self::SerialNumber),
            b'F' => none(Self::Status),
            b'M' if rest.len() == 1 => digit().map(Self::Mode),
            b'M' | b'm' if rest.len() == 8 => {
                let v = hex_num(rest).ok_or(bad)?;
                Ok(if c == b'M' {
                    Self::AcceptanceCode(v)
                } else {
                    Self::AcceptanceMask(v)
                })
            }
            b'M' | b'm' => Err(bad),
            b'A' => match rest {
                b"0" => Ok(Self::AutoRetransmit(false)),
                b"1" => Ok(Self::AutoRetransmit(true)),
                _ => Err(bad),
            },
            b'Z' => digit().map(Self::Timestamps),
            b'Y' => digit().map(Self::FdDataRate),
            _ => unknown(line).map(Self::Unknown),
        }
    }

    fn write(&self, w: &mut Writer<'_>) {
        match *self {
            Self::Empty | Self::Transmit(_) => {}
            Self::Bitrate(d) => {
                w.byte(b'S');
                w.hex(u32::from(d), 1);
            }
            Self::Btr(a, b) => {
                w.byte(b's');
                w.hex(u32::from(a), 2);
                w.hex(u32::from(b), 2);
            }
            Self::Open => w.byte(b'O'),
            Self::ListenOnly => w.byte(b'L'),
            Self::Close => w.byte(b'C'),
            Self::AcceptanceCode(v) => {
                w.byte(b'M');
                w.hex(v, 8);
            }
            Self::AcceptanceMask(v) => {
                w.byte(b'm');
                w.hex(v, 8);
            }
            Self::Mode(d) => {
                w.byte(b'M');
                w.hex(u32::from(d), 1);
            }
            Self::AutoRetransmit(on) => w.bytes(if on { b"A1" } else { b"A0" }),
            Self::Version => w.byte(b'V'),
            Self::DetailedVersion => w.byte(b'v'),
            Self::SerialNumber => w.byte(b'N'),
            Self::Status => w.byte(b'F'),
            Self::Timestamps(d) => {
                w.byte(b'Z');
                w.hex(u32::from(d), 1);
            }
            Self::FdDataRate(d) => {
                w.byte(b'Y');
                w.hex(u32::from(d), 1);
            }
            Self::Unknown(l) => w.bytes(l.as_bytes()),
        }
    }

    fn body_len(&self) -> usize {
        match self {
            Self::Empty => 0,
            Self::Open
            | Self::ListenOnly
            | Self::Close
            | Self::Version
            | Self::DetailedVersion
            | Self::SerialNumber
            | Self::Status => 1,
            Self::Bitrate(_)
            | Self::Mode(_)
            | Self::AutoRetransmit(_)
            | Self::Timestamps(_)
            | Self::FdDataRate(_) => 2,
            Self::Btr(..) => 5,
            Self::AcceptanceCode(_) | Self::AcceptanceMask(_) => 9,
            Self::Transmit(f) => f.buffer_len().saturating_sub(1),
            Self::Unknown(l) => l.as_bytes().len(),
        }
    }
}

fn check_digit(field: &'static str, d: u8, max: u8) -> Result<(), EncodeError> {
    if d > max {
        Err(EncodeError::OutOfRange { field })
    } else {
        Ok(())
    }
}

impl Emit for Command {
    fn buffer_len(&self) -> usize {
        self.body_len() + 1
    }

    fn emit(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        match *self {
            Self::Transmit(f) => return f.emit(out),
            Self::Bitrate(d) => check_digit("bitrate", d, 9)?,
            Self::Mode(d) | Self::Timestamps(d) | Self::FdDataRate(d) => {
                check_digit("digit", d, 15)?;
            }
            // An unknown line must not parse back as something else.
            Self::Unknown(l) if Self::parse(l.as_bytes()) != Ok(*self) => {
                return Err(EncodeError::InvalidText { field: "unknown" });
            }
            _ => {}
        }
        let mut w = Writer::new(out, self.buffer_len())?;
        self.write(&mut w);
        w.byte(b'\r');
        Ok(w.done())
    }
}

impl Response {
    /// Parse one CR-terminated line from the adapter (without its CR). A BEL is not a line;
    /// the decoder turns it into [`Response::Error`].
    ///
    /// # Errors
    /// [`Error::BadFrame`] for a malformed frame line, [`Error::TooLong`] above [`MAX_LINE`].
    pub fn parse(line: &[u8]) -> Result<Self, Error> {
        let Some((&c, rest)) = line.split_first() else {
            return Ok(Self::Ok);
        };
        Ok(match (c, rest) {
            (b't' | b'T' | b'r' | b'R', _) => Self::Frame(FrameLine::parse(line)?),
            (b'z', []) => Self::TransmitAck { extended: false },
            (b'Z', []) => Self::TransmitAck { extended: true },
            (b'V', _) if four(rest).is_some() => Self::Version(four(rest).unwrap_or_default()),
            (b'N', _) if four(rest).is_some() => Self::Serial(four(rest).unwrap_or_default()),
            (b'F', [_, _]) if hex_num(rest).is_some() => {
                Self::Status(u8::try_from(hex_num(rest).unwrap_or(0)).unwrap_or(0))
            }
            (b'v', _) => Self::DetailedVersion(unknown(line)?),
            _ => Self::Unknown(unknown(line)?),
        })
    }
}

impl Emit for Response {
    fn buffer_len(&self) -> usize {
        match self {
            Self::Ok | Self::Error => 1,
            Self::Frame(f) => f.buffer_len(),
            Self::TransmitAck { .. } => 2,
            Self::Version(_) | Self::Serial(_) => 6,
            Self::Status(_) => 4,
            Self::DetailedVersion(l) | Self::Unknown(l) => l.as_bytes().len() + 1,
        }
    }

    fn emit(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        if let Self::Frame(f) = self {
            return f.emit(out);
        }
        match self {
            Self::Version(v) | Self::Serial(v) if four(v).is_none() => {
                return Err(EncodeError::InvalidText { field: "version" });
            }
            Self::DetailedVersion(l) | Self::Unknown(l)
                if Self::parse(l.as_bytes()) != Ok(*self) =>
            {
                return Err(EncodeError::InvalidText { field: "line" });
            }
            _ => {}
        }
        let mut w = Writer::new(out, self.buffer_len())?;
        match *self {
            Self::Error => {
                w.byte(0x07);
                return Ok(w.done());
            }
            Self::TransmitAck { extended } => w.byte(if extended { b'Z' } else { b'z' }),
            Self::Version(v) => {
                w.byte(b'V');
                w.bytes(&v);
            }
            Self::Serial(v) => {
                w.byte(b'N');
                w.bytes(&v);
            }
            Self::Status(s) => {
                w.byte(b'F');
                w.hex(u32::from(s), 2);
            }
            Self::DetailedVersion(l) | Self::Unknown(l) => w.bytes(l.as_bytes()),
            Self::Ok | Self::Frame(_) => {}
        }
        w.byte(b'\r');
        Ok(w.done())
    }
}
