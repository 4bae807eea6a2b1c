//! JK-PB register access: the same three tables as the data blocks, read with FC 0x03 and
//! written with FC 0x10, byte-addressed and big-endian.
//!
//! Facts (jkctl 0.2.0, measured on a `JK_PB2A16S20P` and recovered from JK's own monitor; the
//! vendor document `BMS RS485 Modbus V1.1` lists byte offsets as addresses):
//!
//! - **Byte-addressed.** A register address is `0x1000 + area + n` where `n` is the *byte*
//!   offset in the table's payload (block byte `6 + n`): an FC 0x03 read at `0x1200 + n` of
//!   `c` registers returns payload bytes `n .. n + 2c`. Areas: settings `0x000`, status
//!   `0x200`, about `0x400`; actions (the trigger registers among them) from `0x600`.
//! - **Big-endian fields.** The 55 AA EB 90 blocks are little-endian; over FC 0x03 every
//!   multi-byte number (u16, i16, u32, i32, the bitmaps, the f32) comes most significant
//!   byte first. Text and single bytes are as in the block. [`swap_fields`] turns one order
//!   into the other (it is its own inverse), using the field widths of [`STATUS_FIELDS`],
//!   [`SETTINGS_FIELDS`] and [`ABOUT_FIELDS`].
//! - **Refusals** (exception 2, illegal data address): a read of more than
//!   [`MAX_READ_REGISTERS`] registers, a read at an odd offset, a read past the payload.

use crate::pb::{BLOCK_LEN, Block, BlockKind};

/// First register of the settings area (`frameAddrOffset`).
pub const REGISTER_BASE: u16 = 0x1000;
/// Registers (= bytes) per area.
pub const AREA_LEN: u16 = 0x200;
/// First register of the action area (trigger registers 0x161C/0x161E/0x1620 are in it).
pub const ACTION_BASE: u16 = REGISTER_BASE + 0x600;
/// Payload bytes of a table (block bytes 6 .. 299).
pub const PAYLOAD_LEN: usize = BLOCK_LEN - 7;
/// Most registers one FC 0x03 read may ask for (jkctl measured 122 accepted, 124 refused).
pub const MAX_READ_REGISTERS: u16 = 122;
/// Offset of the payload in a block.
pub const PAYLOAD_OFFSET: usize = 6;

/// A run of multi-byte numbers in a block: `(block offset, width in bytes, count)`.
pub type FieldRun = (usize, usize, usize);

/// Multi-byte numbers of the status block (type 0x02), as block offsets.
pub const STATUS_FIELDS: &[FieldRun] = &[
    (6, 2, 32),  // cell voltages
    (70, 4, 1),  // cell mask
    (74, 2, 2),  // average, delta
    (80, 2, 32), // wire resistances
    (144, 2, 1), // MOSFET temperature
    (146, 4, 4), // wire-resistance state, pack voltage, power, current
    (162, 2, 2), // T1, T2
    (166, 4, 1), // alarms
    (170, 2, 1), // balance current
    (174, 4, 4), // remaining, full, cycles, cycle capacity
    (192, 2, 1), // user alarm
    (194, 4, 1), // runtime
    (200, 2, 7), // user alarm 2, protection release timers
    (218, 2, 4), // emergency, current correction, charge / discharge current voltages
    (226, 4, 1), // voltage correction (f32)
    (230, 2, 4), // PWM duty, total voltage, heater current
    (246, 4, 2), // ticks, timestamps
    (254, 2, 4), // T3, T4, T5, current correction
    (262, 4, 3), // RTC, log count, sleep timer
    (278, 2, 1), // charge status time
];

/// Multi-byte numbers of the settings block (type 0x01): 32-bit words from 6 to 281, then
/// the switch word.
pub const SETTINGS_FIELDS: &[FieldRun] = &[(6, 4, 69), (282, 2, 1)];

/// Multi-byte numbers of the about block (type 0x03).
pub const ABOUT_FIELDS: &[FieldRun] = &[
    (38, 4, 2),  // runtime, power-on count
    (182, 2, 1), // agency id
    (238, 4, 7), // buzzer and dry-contact thresholds, storage period
];

/// The field runs of a block kind (empty for kinds without a register table).
pub fn fields(kind: BlockKind) -> &'static [FieldRun] {
    match kind {
        BlockKind::Status => STATUS_FIELDS,
        BlockKind::Settings => SETTINGS_FIELDS,
        BlockKind::About => ABOUT_FIELDS,
        BlockKind::Unknown(_) => &[],
    }
}

/// The table a register falls in and the payload offset it addresses; `None` outside the
/// three tables.
pub fn locate(register: u16) -> Option<(BlockKind, usize)> {
    let rel = register.checked_sub(REGISTER_BASE)?;
    let kind = match rel / AREA_LEN {
        0 => BlockKind::Settings,
        1 => BlockKind::Status,
        2 => BlockKind::About,
        _ => return None,
    };
    Some((kind, usize::from(rel % AREA_LEN)))
}

/// The first register of a table.
pub fn table_register(kind: BlockKind) -> Option<u16> {
    match kind {
        BlockKind::Settings => Some(REGISTER_BASE),
        BlockKind::Status => Some(REGISTER_BASE + AREA_LEN),
        BlockKind::About => Some(REGISTER_BASE + 2 * AREA_LEN),
        BlockKind::Unknown(_) => None,
    }
}

/// Reverse the bytes of every multi-byte number of `block` (by its kind): a block's
/// little-endian fields become the register image's big-endian ones and back. The start
/// marker, type, counter and checksum bytes are not touched (call
/// [`Block::fix_checksum`] when the result is to be sent as a block).
pub fn swap_fields(block: &mut Block) {
    for &(at, width, count) in fields(block.kind()) {
        for i in 0..count {
            let start = at + i * width;
            if let Some(f) = block.0.get_mut(start..start + width) {
                f.reverse();
            }
        }
    }
}

/// Why a register read is refused (the Modbus exception code is 2 for all of them).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReadRefusal {
    /// More than [`MAX_READ_REGISTERS`] registers (or none).
    Quantity,
    /// Outside the three tables.
    Address,
    /// An odd payload offset.
    Odd,
    /// The read runs past the payload.
    PastEnd,
}

impl ReadRefusal {
    /// The Modbus exception code a JK-PB answers with.
    pub const fn exception_code(self) -> u8 {
        2
    }
}

/// Check an FC 0x03 read of `quantity` registers at `register`; on success the table and
/// the payload byte range it returns.
///
/// # Errors
/// The [`ReadRefusal`] the device answers with exception 2.
pub fn check_read(
    register: u16,
    quantity: u16,
) -> Result<(BlockKind, core::ops::Range<usize>), ReadRefusal> {
    if quantity == 0 || quantity > MAX_READ_REGISTERS {
        return Err(ReadRefusal::Quantity);
    }
    let (kind, offset) = locate(register).ok_or(ReadRefusal::Address)?;
    if offset % 2 != 0 {
        return Err(ReadRefusal::Odd);
    }
    let end = offset + 2 * usize::from(quantity);
    if end > PAYLOAD_LEN {
        return Err(ReadRefusal::PastEnd);
    }
    Ok((kind, offset..end))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "test code")]
mod tests {
    use super::*;
    use crate::pb::Status;
    use voltwire_core::Millivolts;

    #[test]
    fn registers_are_byte_offsets() {
        assert_eq!(locate(0x1200), Some((BlockKind::Status, 0)));
        assert_eq!(locate(0x1240), Some((BlockKind::Status, 0x40)));
        assert_eq!(locate(0x1000), Some((BlockKind::Settings, 0)));
        assert_eq!(locate(0x1420), Some((BlockKind::About, 0x20)));
        assert_eq!(locate(0x1620), None);
        assert_eq!(locate(0x0FFF), None);
        assert_eq!(table_register(BlockKind::About), Some(0x1400));
    }

    #[test]
    fn reads_refused_like_the_device() {
        assert_eq!(check_read(0x1200, 32), Ok((BlockKind::Status, 0..64)));
        assert_eq!(check_read(0x1200, 123), Err(ReadRefusal::Quantity));
        assert_eq!(check_read(0x1201, 1), Err(ReadRefusal::Odd));
        assert_eq!(check_read(0x1300, 19), Err(ReadRefusal::PastEnd));
        assert!(check_read(0x1300, 18).is_ok());
        assert_eq!(check_read(0x1700, 1), Err(ReadRefusal::Address));
    }

    #[test]
    fn swap_is_big_endian_and_involutive() {
        let mut s = Status::default();
        s.cell_voltages[0] = Millivolts(3301);
        s.pack_voltage = Millivolts(52_800);
        s.cell_mask = 0xFFFF;
        s.soc_percent = 87;
        let block = s.to_block().unwrap();
        let mut image = block.clone();
        swap_fields(&mut image);
        // As jkctl's trace of the register reads shows them.
        assert_eq!(&image.0[6..8], &[0x0C, 0xE5]);
        assert_eq!(&image.0[70..74], &[0x00, 0x00, 0xFF, 0xFF]);
        assert_eq!(&image.0[150..154], &52_800_u32.to_be_bytes());
        assert_eq!(image.0[173], 87);
        swap_fields(&mut image);
        assert_eq!(image, block);
    }
}
