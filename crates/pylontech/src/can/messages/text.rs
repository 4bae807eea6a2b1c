//! Messages kept verbatim (ASCII names, serial parts, inverter frames).

use voltwire_core::EncodeError;
use voltwire_core::field::{Bytes, write_tail};

use crate::can::{CanMessage, ParseError, Payload};

macro_rules! verbatim_message {
    ($(#[$doc:meta])* $name:ident, $id:literal, $json:literal) => {
        $(#[$doc])*
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
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
                write_tail(&mut out, 0, self.0.as_bytes())?;
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
    /// The vendor tag: bytes 4-6 ("VIC" from a Victron GX).
    pub const VENDOR: Bytes<3> = Bytes::at(4);

    /// Whether [`Self::VENDOR`] reads "VIC" (a Victron GX).
    pub fn is_victron(&self) -> bool {
        Self::VENDOR.read(self.0.as_bytes()) == Some(*b"VIC")
    }
}
