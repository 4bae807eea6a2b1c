//! Layouts both protocols share.

use voltwire_core::EncodeError;

use crate::layout::{Bytes, padded, text};

crate::info_layout! {
    /// A 0x51 reply (the v20 layout, PYL33 §3.2; Pace packs that still answer it send the
    /// same): ASCII fields, NUL or space padded, kept as sent.
    #[derive(Copy)]
    pub struct ManufacturerInfo {
        /// Device name. Wire: 10 ASCII bytes.
        pub device_name: [u8; 10] = Bytes,
        /// Software version. Wire: 2 bytes.
        pub software_version: [u8; 2] = Bytes,
        /// Manufacturer name. Wire: 20 ASCII bytes.
        pub manufacturer: [u8; 20] = Bytes,
    }
}

impl ManufacturerInfo {
    /// Fields from text (NUL padded).
    ///
    /// # Errors
    /// [`EncodeError::OutOfRange`] when a text is longer than its field.
    pub fn new(
        device_name: &str,
        software_version: [u8; 2],
        manufacturer: &str,
    ) -> Result<Self, EncodeError> {
        Ok(Self {
            device_name: padded(device_name, "device_name")?,
            software_version,
            manufacturer: padded(manufacturer, "manufacturer")?,
        })
    }

    /// The device name without padding.
    pub fn device_name(&self) -> Option<&str> {
        text(&self.device_name)
    }

    /// The manufacturer name without padding.
    pub fn manufacturer(&self) -> Option<&str> {
        text(&self.manufacturer)
    }
}
