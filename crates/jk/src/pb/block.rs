//! The 300-byte data block and the little-endian field helpers its readers share.

use voltwire_core::EncodeError;
use voltwire_core::checksum::sum8;

use super::{About, BLOCK_LEN, BLOCK_START, BlockKind, Settings, Status};

/// A 300-byte data block, kept byte for byte (so every field, known or not, survives a round
/// trip). Read it with [`Block::status`], [`Block::settings`], [`Block::about`].
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Block(pub [u8; BLOCK_LEN]);

pub(super) fn get<const N: usize>(b: &[u8; BLOCK_LEN], at: usize) -> [u8; N] {
    b.get(at..at + N)
        .and_then(|s| s.try_into().ok())
        .unwrap_or([0; N])
}

pub(super) fn set(b: &mut [u8; BLOCK_LEN], at: usize, bytes: &[u8]) {
    if let Some(d) = b.get_mut(at..at + bytes.len()) {
        d.copy_from_slice(bytes);
    }
}

pub(super) fn u16le(b: &[u8; BLOCK_LEN], at: usize) -> u16 {
    u16::from_le_bytes(get(b, at))
}
pub(super) fn i16le(b: &[u8; BLOCK_LEN], at: usize) -> i16 {
    i16::from_le_bytes(get(b, at))
}
pub(super) fn u32le(b: &[u8; BLOCK_LEN], at: usize) -> u32 {
    u32::from_le_bytes(get(b, at))
}
pub(super) fn i32le(b: &[u8; BLOCK_LEN], at: usize) -> i32 {
    i32::from_le_bytes(get(b, at))
}
pub(super) fn sat_i32(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}
pub(super) fn sat_i16(v: i32) -> i16 {
    i16::try_from(v).unwrap_or(if v < 0 { i16::MIN } else { i16::MAX })
}
pub(super) fn to_u32(v: i32, field: &'static str) -> Result<[u8; 4], EncodeError> {
    u32::try_from(v)
        .map(u32::to_le_bytes)
        .map_err(|_| EncodeError::OutOfRange { field })
}
pub(super) fn to_u16(v: i32, field: &'static str) -> Result<[u8; 2], EncodeError> {
    u16::try_from(v)
        .map(u16::to_le_bytes)
        .map_err(|_| EncodeError::OutOfRange { field })
}
pub(super) fn to_i16(v: i32, field: &'static str) -> Result<[u8; 2], EncodeError> {
    i16::try_from(v)
        .map(i16::to_le_bytes)
        .map_err(|_| EncodeError::OutOfRange { field })
}
pub(super) fn to_i32(v: i64, field: &'static str) -> Result<[u8; 4], EncodeError> {
    i32::try_from(v)
        .map(i32::to_le_bytes)
        .map_err(|_| EncodeError::OutOfRange { field })
}

impl Block {
    /// A zeroed block of `kind` (start marker set, checksum not yet computed).
    pub fn new(kind: BlockKind) -> Self {
        let mut b = [0; BLOCK_LEN];
        set(&mut b, 0, &BLOCK_START);
        set(&mut b, 4, &[kind.into()]);
        Self(b)
    }

    /// The block from exactly [`BLOCK_LEN`] bytes; the checksum is not checked (see
    /// [`check`](super::check)).
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    /// Block type. Wire: u8 @ 4.
    pub fn kind(&self) -> BlockKind {
        BlockKind::from(get::<1>(&self.0, 4)[0])
    }

    /// Byte 5: 0x00 or 0x05 on RS485 depending on firmware, a frame counter over Bluetooth.
    pub fn counter(&self) -> u8 {
        get::<1>(&self.0, 5)[0]
    }

    /// Whether byte 299 is the sum8 of bytes 0..299.
    pub fn checksum_ok(&self) -> bool {
        self.0
            .split_last()
            .is_some_and(|(s, body)| sum8(body) == *s)
    }

    /// Set byte 299 to the sum8 of bytes 0..299.
    pub fn fix_checksum(&mut self) {
        if let Some((s, body)) = self.0.split_last_mut() {
            *s = sum8(body);
        }
    }

    /// The status fields, when this is a status block.
    pub fn status(&self) -> Option<Status> {
        (self.kind() == BlockKind::Status).then(|| Status::read(&self.0))
    }

    /// The settings fields, when this is a settings block.
    pub fn settings(&self) -> Option<Settings> {
        (self.kind() == BlockKind::Settings).then(|| Settings::read(&self.0))
    }

    /// The device information, when this is an about block.
    pub fn about(&self) -> Option<About> {
        (self.kind() == BlockKind::About).then(|| About::read(&self.0))
    }
}
