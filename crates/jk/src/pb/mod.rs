//! JK-PB (the "inverter BMS", PB series) on its RS485 bus.
//!
//! The PB speaks Modbus RTU framing (CRC-16/MODBUS, low byte first) with one twist that every
//! working client uses: the host (or the BMS at DIP address 0, the bus master) *writes 0x0000
//! to a trigger register* with function 0x10, and the addressed BMS answers with a 300-byte
//! little-endian data block that starts `55 AA EB 90` and ends with a sum8, followed by one
//! padding byte, the ordinary 8-byte FC 0x10 acknowledgement and one trailing byte.
//!
//! | trigger register | block type | content | register area |
//! |---|---|---|---|
//! | 0x161E | 0x01 | settings ([`Settings`]) | 0x1000 |
//! | 0x1620 | 0x02 | live status ([`Status`]) | 0x1200 |
//! | 0x161C | 0x03 | device info ([`About`]) | 0x1400 |
//!
//! A block's byte `6 + n` is the byte at offset `n` of its register area, so the register map
//! of the vendor document (`BMS RS485 Modbus V1.1`) and the block offsets used by the
//! drivers agree: the alarm register 0x12A0 is block offset 166.
//!
//! [`PbDecoder`] follows such a bus: it yields [`Message::Block`]s, the Modbus requests
//! ([`Message::WriteRequest`], [`Message::ReadRequest`]), the acknowledgements and read
//! responses, and drops the padding bytes as noise. Plain FC 0x03 reads work on some
//! firmware (mr-manuel found about half of them fail), so their frames are decoded too.

use voltwire_core::ErrorKind;

/// Length of a data block.
pub const BLOCK_LEN: usize = 300;
/// The first four bytes of a data block.
pub const BLOCK_START: [u8; 4] = [0x55, 0xAA, 0xEB, 0x90];
/// The longest frame on the bus (a data block; a Modbus frame is at most 260 bytes).
pub const MAX_FRAME_LEN: usize = BLOCK_LEN;
/// Modbus function: read holding registers.
pub const FC_READ: u8 = 0x03;
/// Modbus function: write multiple registers.
pub const FC_WRITE: u8 = 0x10;

/// A streaming decoder for the JK-PB RS485 bus (512-byte buffer).
pub type PbDecoder = voltwire_core::ScanDecoder<PbFraming, 512>;

/// A `tokio_util::codec::Decoder` over [`PbDecoder`].
#[cfg(feature = "tokio-codec")]
pub type PbCodec = voltwire_core::codec::StreamCodec<PbDecoder>;

/// Why bytes are not a JK-PB frame (returned by [`check`]; the stream decoder counts such
/// bytes as noise).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// More bytes could complete the candidate.
    #[error("frame cut off: need {needed} bytes, have {have}")]
    Truncated {
        /// Bytes the candidate needs.
        needed: usize,
        /// Bytes available.
        have: usize,
    },
    /// A `55 AA EB 90` block whose sum8 does not match byte 299.
    #[error("block checksum 0x{found:02X}, computed 0x{computed:02X}")]
    Checksum {
        /// sum8 of bytes 0..299.
        computed: u8,
        /// Byte 299.
        found: u8,
    },
    /// Not a block and no Modbus frame whose CRC verifies.
    #[error("not a JK-PB frame")]
    NotAFrame,
}

impl Error {
    /// Coarse classification.
    pub const fn kind(self) -> ErrorKind {
        match self {
            Self::Checksum { .. } => ErrorKind::Checksum,
            _ => ErrorKind::Framing,
        }
    }

    /// A short, stable `snake_case` code.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Truncated { .. } => "truncated",
            Self::Checksum { .. } => "checksum",
            Self::NotAFrame => "not_a_frame",
        }
    }
}

/// The trigger registers.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trigger {
    /// 0x161E: answer with the settings block (type 0x01).
    Settings,
    /// 0x1620: answer with the status block (type 0x02).
    Status,
    /// 0x161C: answer with the device-info block (type 0x03).
    About,
}

impl Trigger {
    /// The register address.
    pub const fn register(self) -> u16 {
        match self {
            Self::Settings => 0x161E,
            Self::Status => 0x1620,
            Self::About => 0x161C,
        }
    }

    /// The trigger a register address stands for.
    pub const fn from_register(register: u16) -> Option<Self> {
        match register {
            0x161E => Some(Self::Settings),
            0x1620 => Some(Self::Status),
            0x161C => Some(Self::About),
            _ => None,
        }
    }
}

voltwire_core::code_enum! {
    /// Block type (byte 4).
    pub enum BlockKind(u8) {
        /// 0x01: settings.
        Settings = 1 => "settings",
        /// 0x02: live status.
        Status = 2 => "status",
        /// 0x03: device information.
        About = 3 => "about",
    }
}

mod about;
mod block;
mod framing;
mod message;
#[cfg(feature = "serde")]
mod serde_impl;
mod settings;
mod status;
#[cfg(test)]
mod tests;

pub use about::About;
pub use block::Block;
pub use framing::{PbFraming, check, scan_final};
pub use message::{MAX_READ_BYTES, MAX_WRITE_REGISTERS, Message};
pub use settings::Settings;
pub use status::{ALARM_NAMES, Alarms, Status};
