//! The device-information block (type 0x03).

use super::block::{get, set, u32le};
use super::{BLOCK_LEN, Block, BlockKind};

/// The device-information block (type 0x03, trigger 0x161C, register area 0x1400). Text
/// fields are NUL-padded ASCII, kept byte for byte.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct About {
    /// Model / vendor ID. Wire: 16 bytes @ 6.
    pub vendor_id: crate::Text<16>,
    /// Hardware version. Wire: 8 bytes @ 22.
    pub hardware_version: crate::Text<8>,
    /// Software version. Wire: 8 bytes @ 30.
    pub software_version: crate::Text<8>,
    /// Runtime, s. Wire: u32 LE @ 38, 1 s.
    pub runtime_s: u32,
    /// Power-on count. Wire: u32 LE @ 42.
    pub power_on_count: u32,
    /// Serial number. Wire: 16 bytes @ 46.
    pub serial_number: crate::Text<16>,
    /// User data. Wire: 16 bytes @ 102.
    pub user_data: crate::Text<16>,
    /// Setup PIN. Wire: 16 bytes @ 118.
    pub pin: crate::Text<16>,
    /// User data 2. Wire: 16 bytes @ 134.
    pub user_data_2: crate::Text<16>,
}

impl About {
    pub(super) fn read(b: &[u8; BLOCK_LEN]) -> Self {
        Self {
            vendor_id: crate::Text(get(b, 6)),
            hardware_version: crate::Text(get(b, 22)),
            software_version: crate::Text(get(b, 30)),
            runtime_s: u32le(b, 38),
            power_on_count: u32le(b, 42),
            serial_number: crate::Text(get(b, 46)),
            user_data: crate::Text(get(b, 102)),
            pin: crate::Text(get(b, 118)),
            user_data_2: crate::Text(get(b, 134)),
        }
    }

    /// Write these fields into `block` (checksum not updated).
    pub fn write_to(&self, block: &mut Block) {
        let b = &mut block.0;
        set(b, 6, &self.vendor_id.0);
        set(b, 22, &self.hardware_version.0);
        set(b, 30, &self.software_version.0);
        set(b, 38, &self.runtime_s.to_le_bytes());
        set(b, 42, &self.power_on_count.to_le_bytes());
        set(b, 46, &self.serial_number.0);
        set(b, 102, &self.user_data.0);
        set(b, 118, &self.pin.0);
        set(b, 134, &self.user_data_2.0);
    }

    /// A complete about block (zeros elsewhere, checksum set).
    pub fn to_block(&self) -> Block {
        let mut block = Block::new(BlockKind::About);
        self.write_to(&mut block);
        block.fix_checksum();
        block
    }
}
