//! The Pylontech low-voltage **CAN** protocol (the BMS side of a Pylontech-protocol battery)
//! and the SMA Sunny Island / Victron extensions, both directions.
//!
//! ```text
//!  500 kbit/s, 11-bit ids, little-endian payloads, one burst per ~0.5-1 s:
//!
//!  BMS -> inverter   0x359 alarms  0x351 limits  0x355 SOC/SOH  0x356 V/I/T
//!                    0x35C request flags  0x35E manufacturer  [0x35A 0x35F 0x370-0x381]
//!  inverter -> BMS   0x305 keep-alive / sync request      0x307 Victron GX handshake
//! ```
//!
//! Every message type implements [`CanMessage`]: a `const ID`, `parse(data)`, `emit()` and
//! the generic [`CanMessage::from_frame`] / [`CanMessage::to_frame`] over any
//! [`embedded_can::Frame`] (`SocketCAN` frames, MCU driver frames, [`RawFrame`]).
//! [`Message::from_frame`] dispatches on the id and checks `is_extended()`, remote frames and
//! the DLC explicitly; short DLCs that real BMSes send (0x351 with 6 bytes, 0x355 with 4,
//! 0x359 with 7, 0x35C with 1 or 2) are accepted and survive a round trip.
//!
//! [`Assembler`] collects one complete set of BMS frames (a *telegram*), reports what is
//! missing and how old each part is (the caller injects the time), and hands out a complete
//! [`Telegram`] that can be emitted again in burst order.
//!
//! Panic contract: no function in this module panics on any input. `parse` fails with a
//! [`ParseError`]; `emit` fails with [`EncodeError`] only when a value cannot be carried
//! exactly by the wire field (e.g. a voltage that is not a multiple of 10 mV).
//!
//! Disputed points (0x359 system-error bit, 0x351 signedness) are settled in
//! `docs/protocols/pylontech-can.md`.

mod flags;
mod messages;
pub mod reference;
#[cfg(feature = "serde")]
mod serde_impl;
mod telegram;

pub use flags::{AlarmCondition, PairState, Protection, RequestFlags, Warning};
pub use messages::{
    Alarms, BatteryInfo, BatteryName, BmsName, CellExtremes, ChargeLimits, Energy,
    InstalledCapacity, InverterHandshake, InverterRequest, Manufacturer, MaxCellTemperatureId,
    MaxCellVoltageId, Measurements, MinCellTemperatureId, MinCellVoltageId, ModuleCounts, Request,
    SerialPart1, SerialPart2, SmaAlarms, SocSoh,
};
pub use telegram::{Assembler, Incomplete, Part, PartSet, Telegram};

use embedded_can::{Frame, Id, StandardId};
use voltwire_core::{EncodeError, ErrorKind};

/// Why a CAN frame is not a valid message of this protocol.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The frame's data length is not one the message is sent with.
    #[error("CAN id 0x{id:03X}: {len} data bytes is not a length this frame is sent with")]
    Length {
        /// The 11-bit id.
        id: u16,
        /// Data bytes received.
        len: usize,
    },
    /// A 29-bit (extended) id: this protocol uses 11-bit ids only.
    #[error("extended (29-bit) id 0x{0:08X}; the BMS protocol uses 11-bit ids")]
    ExtendedId(u32),
    /// A remote (RTR) frame: the protocol sends data frames only.
    #[error("remote frame with id 0x{0:03X}; the BMS protocol sends data frames only")]
    Remote(u16),
    /// A message type's `from_frame` was given a frame with another id.
    #[error("CAN id 0x{got:03X} where 0x{expected:03X} was expected")]
    WrongId {
        /// The message type's id.
        expected: u16,
        /// The frame's id.
        got: u16,
    },
    /// A field holds a value that cannot be represented in its canonical unit.
    #[error("CAN id 0x{id:03X}: `{field}` is out of range")]
    OutOfRange {
        /// The 11-bit id.
        id: u16,
        /// The field.
        field: &'static str,
    },
}

impl ParseError {
    /// Coarse classification shared by every voltwire protocol.
    pub const fn kind(&self) -> ErrorKind {
        match self {
            Self::Length { .. } => ErrorKind::Framing,
            Self::ExtendedId(_) | Self::Remote(_) => ErrorKind::Unsupported,
            Self::WrongId { .. } | Self::OutOfRange { .. } => ErrorKind::Invalid,
        }
    }

    /// A short, stable `snake_case` code for logs and JSON.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Length { .. } => "bad_length",
            Self::ExtendedId(_) => "extended_id",
            Self::Remote(_) => "remote_frame",
            Self::WrongId { .. } => "wrong_id",
            Self::OutOfRange { .. } => "out_of_range",
        }
    }
}

/// Up to 8 data bytes with their length: the part of a frame a message keeps verbatim
/// (ASCII names, inverter frames, padding after a flag byte).
///
/// The shared [`voltwire_core::ShortBytes`]: equal exactly when the bytes are; `as_text`
/// removes trailing NUL and space padding.
pub type Payload = voltwire_core::ShortBytes<8>;

/// A plain classic CAN frame implementing [`embedded_can::Frame`], for callers without a
/// driver type of their own (tests, simulators, log replays): the shared
/// [`voltwire_core::can::CanFrame`].
pub use voltwire_core::can::CanFrame as RawFrame;

/// The 11-bit id of a standard data frame, after the checks every message does.
fn standard_data_id<F: Frame>(frame: &F) -> Result<u16, ParseError> {
    let id = match frame.id() {
        Id::Standard(s) => s.as_raw(),
        Id::Extended(e) => return Err(ParseError::ExtendedId(e.as_raw())),
    };
    if frame.is_extended() {
        return Err(ParseError::ExtendedId(u32::from(id)));
    }
    if frame.is_remote_frame() {
        return Err(ParseError::Remote(id));
    }
    // The DLC is the length that counts; a driver whose `data()` disagrees is not trusted.
    if frame.dlc() != frame.data().len() {
        return Err(ParseError::Length {
            id,
            len: frame.dlc(),
        });
    }
    Ok(id)
}

/// One message of the protocol: a `const ID`, `parse`, `emit` and conversions from and to
/// any [`embedded_can::Frame`].
pub trait CanMessage: Sized {
    /// The 11-bit CAN id.
    const ID: u16;

    /// Decode the data bytes of a frame with id [`CanMessage::ID`].
    ///
    /// # Errors
    /// [`ParseError::Length`] when the length is not one the frame is sent with;
    /// [`ParseError::OutOfRange`] when a field cannot be held in its canonical unit.
    fn parse(data: &[u8]) -> Result<Self, ParseError>;

    /// Encode the data bytes: the array and the number of bytes used (the DLC).
    ///
    /// # Errors
    /// [`EncodeError::Precision`] or [`EncodeError::OutOfRange`] when a field cannot be
    /// carried exactly by its wire encoding.
    fn emit(&self) -> Result<([u8; 8], usize), EncodeError>;

    /// Decode a frame, checking id, id length, remote flag and DLC.
    ///
    /// # Errors
    /// [`ParseError::WrongId`] for another id, [`ParseError::ExtendedId`] or
    /// [`ParseError::Remote`] for the wrong kind of frame, else as [`CanMessage::parse`].
    fn from_frame<F: Frame>(frame: &F) -> Result<Self, ParseError> {
        let id = standard_data_id(frame)?;
        if id != Self::ID {
            return Err(ParseError::WrongId {
                expected: Self::ID,
                got: id,
            });
        }
        Self::parse(frame.data())
    }

    /// Encode into a frame of the caller's type.
    ///
    /// # Errors
    /// As [`CanMessage::emit`]; [`EncodeError::OutOfRange`] (field `frame`) if the frame type
    /// refuses a standard id with up to 8 bytes.
    fn to_frame<F: Frame>(&self) -> Result<F, EncodeError> {
        let (data, len) = self.emit()?;
        let id = StandardId::new(Self::ID).ok_or(EncodeError::OutOfRange { field: "id" })?;
        data.get(..len)
            .and_then(|d| F::new(id, d))
            .ok_or(EncodeError::OutOfRange { field: "frame" })
    }
}

macro_rules! message_enum {
    ($( $(#[$doc:meta])* $variant:ident($ty:ty), )*) => {
        /// Any frame of the protocol, in both directions.
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize), serde(untagged))]
        #[non_exhaustive]
        pub enum Message {
            $( $(#[$doc])* $variant($ty), )*
            /// A standard data frame whose id this crate does not model; kept verbatim.
            Unknown {
                /// The 11-bit id.
                #[cfg_attr(feature = "serde", serde(skip))]
                id: u16,
                /// The data bytes.
                #[cfg_attr(feature = "serde", serde(rename = "hex"))]
                data: Payload,
            },
        }

        impl Message {
            /// Decode the data of a standard frame with the given id. Unknown ids give
            /// [`Message::Unknown`] (or an error if the id does not fit 11 bits).
            ///
            /// # Errors
            /// As the message type's `parse`; [`ParseError::Length`] for more than 8 bytes;
            /// [`ParseError::OutOfRange`] (field `id`) for an id above 0x7FF.
            pub fn parse(id: u16, data: &[u8]) -> Result<Self, ParseError> {
                if id > 0x7FF {
                    return Err(ParseError::OutOfRange { id, field: "id" });
                }
                match id {
                    $( <$ty>::ID => <$ty>::parse(data).map(Self::$variant), )*
                    _ => Payload::new(data)
                        .map(|data| Self::Unknown { id, data })
                        .ok_or(ParseError::Length { id, len: data.len() }),
                }
            }

            /// The 11-bit CAN id.
            pub const fn id(&self) -> u16 {
                match self {
                    $( Self::$variant(_) => <$ty>::ID, )*
                    Self::Unknown { id, .. } => *id,
                }
            }

            /// Encode the data bytes and their count.
            ///
            /// # Errors
            /// As the message type's `emit`.
            pub fn emit(&self) -> Result<([u8; 8], usize), EncodeError> {
                match self {
                    $( Self::$variant(m) => m.emit(), )*
                    Self::Unknown { data, .. } => {
                        let mut out = [0u8; 8];
                        if let Some(dst) = out.get_mut(..data.len()) {
                            dst.copy_from_slice(data.as_bytes());
                        }
                        Ok((out, data.len()))
                    }
                }
            }

            /// A short `snake_case` name of the message type (JSON `type`).
            pub const fn name(&self) -> &'static str {
                match self {
                    $( Self::$variant(_) => <$ty>::NAME, )*
                    Self::Unknown { .. } => "unknown",
                }
            }
        }
    };
}

message_enum! {
    /// 0x351: charge voltage and current limits.
    Limits(ChargeLimits),
    /// 0x355: state of charge and health.
    SocSoh(SocSoh),
    /// 0x356: voltage, current, temperature.
    Measurements(Measurements),
    /// 0x359: Pylontech protection and warning flags, module count.
    Alarms(Alarms),
    /// 0x35A: SMA/Victron alarms and warnings (2-bit pairs).
    SmaAlarms(SmaAlarms),
    /// 0x35C: charge/discharge enable and request flags.
    Request(Request),
    /// 0x35E: manufacturer name.
    Manufacturer(Manufacturer),
    /// 0x35F: battery info (capacity).
    BatteryInfo(BatteryInfo),
    /// 0x370: BMS name, first part (Victron dialect).
    BmsName(BmsName),
    /// 0x371: BMS name, second part.
    BatteryName(BatteryName),
    /// 0x372: module counts.
    ModuleCounts(ModuleCounts),
    /// 0x373: minimum/maximum cell voltage and temperature.
    CellExtremes(CellExtremes),
    /// 0x374: name of the cell with the lowest voltage.
    MinCellVoltageId(MinCellVoltageId),
    /// 0x375: name of the cell with the highest voltage.
    MaxCellVoltageId(MaxCellVoltageId),
    /// 0x376: name of the cell with the lowest temperature.
    MinCellTemperatureId(MinCellTemperatureId),
    /// 0x377: name of the cell with the highest temperature.
    MaxCellTemperatureId(MaxCellTemperatureId),
    /// 0x378: charged and discharged energy.
    Energy(Energy),
    /// 0x379: installed capacity.
    InstalledCapacity(InstalledCapacity),
    /// 0x380: serial number, first part.
    SerialPart1(SerialPart1),
    /// 0x381: serial number, second part.
    SerialPart2(SerialPart2),
    /// 0x305: inverter -> BMS keep-alive / sync request.
    InverterRequest(InverterRequest),
    /// 0x307: Victron GX -> BMS handshake.
    InverterHandshake(InverterHandshake),
}

impl Message {
    /// Decode any frame: checks `is_extended()`, the remote flag and the DLC, then
    /// dispatches on the id.
    ///
    /// # Errors
    /// [`ParseError::ExtendedId`] for a 29-bit id, [`ParseError::Remote`] for a remote frame,
    /// else as [`Message::parse`].
    pub fn from_frame<F: Frame>(frame: &F) -> Result<Self, ParseError> {
        let id = standard_data_id(frame)?;
        Self::parse(id, frame.data())
    }

    /// Encode into a frame of the caller's type.
    ///
    /// # Errors
    /// As [`Message::emit`]; [`EncodeError::OutOfRange`] for an id above 0x7FF or a frame
    /// type that refuses the frame.
    pub fn to_frame<F: Frame>(&self) -> Result<F, EncodeError> {
        let (data, len) = self.emit()?;
        let id = StandardId::new(self.id()).ok_or(EncodeError::OutOfRange { field: "id" })?;
        data.get(..len)
            .and_then(|d| F::new(id, d))
            .ok_or(EncodeError::OutOfRange { field: "frame" })
    }

    /// Whether the BMS sends this message (as opposed to the inverter).
    pub const fn is_from_bms(&self) -> bool {
        !matches!(self, Self::InverterRequest(_) | Self::InverterHandshake(_))
    }
}
